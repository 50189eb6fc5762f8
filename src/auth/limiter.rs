//! Login attempts limited per account and per address, with a growing delay:
//! a few wrong passwords are free; after that each one makes the next wait
//! longer (1 s, 2 s, 4 s … up to a minute), and from the 20th in a minute the
//! key is refused until the minute is over. A refused attempt costs no
//! password check (argon2 is what an attacker would make the hub spend).
//!
//! The limiter remembers at most `capacity` keys: when full, keys whose window
//! has passed go first, then the oldest. A good login clears its account's key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures counted together.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failures in a window after which a key is refused for the rest of it.
pub const REFUSE_AFTER: u32 = 20;
const MAX_DELAY: Duration = Duration::from_secs(60);

/// How one kind of key is limited.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Failures in a window that cost nothing.
    pub free: u32,
}

/// An account: five wrong passwords are free.
pub const ACCOUNT: Rule = Rule { free: 5 };
/// An address: more, since one address may be several people's tablet or PC.
pub const ADDRESS: Rule = Rule { free: 10 };

#[derive(Debug, Clone)]
struct Entry {
    window_start: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

pub struct LoginLimiter {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(10_000)
    }
}

impl LoginLimiter {
    pub fn new(capacity: usize) -> LoginLimiter {
        LoginLimiter {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Err(wait)` when any of `keys` must wait before another attempt.
    pub fn check(&self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let map = self.map();
        let wait = keys
            .iter()
            .filter_map(|k| map.get(*k)?.blocked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        match wait {
            Some(w) => Err(w.max(Duration::from_secs(1))),
            None => Ok(()),
        }
    }

    /// Counts a wrong password against each key with its rule.
    pub fn failed(&self, keys: &[(&str, Rule)], now: Instant) {
        let mut map = self.map();
        for (key, rule) in keys {
            if !map.contains_key(*key) && map.len() >= self.capacity {
                make_room(&mut map, now, self.capacity);
            }
            let e = map.entry((*key).to_string()).or_insert(Entry {
                window_start: now,
                failures: 0,
                blocked_until: None,
            });
            if now.duration_since(e.window_start) >= WINDOW {
                e.window_start = now;
                e.failures = 0;
            }
            e.failures += 1;
            e.blocked_until = if e.failures >= REFUSE_AFTER {
                Some(e.window_start + WINDOW)
            } else if e.failures > rule.free {
                let step = (e.failures - rule.free - 1).min(6);
                Some(now + Duration::from_secs(1 << step).min(MAX_DELAY))
            } else {
                None
            };
        }
    }

    /// A good login: the account starts afresh.
    pub fn succeeded(&self, key: &str) {
        self.map().remove(key);
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn make_room(map: &mut HashMap<String, Entry>, now: Instant, capacity: usize) {
    map.retain(|_, e| {
        now.duration_since(e.window_start) < WINDOW || e.blocked_until.is_some_and(|u| u > now)
    });
    while map.len() >= capacity {
        let oldest = map
            .iter()
            .min_by_key(|(_, e)| e.window_start)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => {
                map.remove(&k);
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_grows_and_the_twentieth_failure_is_refused_for_the_window() {
        let l = LoginLimiter::default();
        let t0 = Instant::now();
        let key = [("acct:a@b.test", ACCOUNT)];
        for i in 1..=5 {
            assert!(l.check(&["acct:a@b.test"], t0).is_ok(), "free failure {i}");
            l.failed(&key, t0);
        }
        assert!(l.check(&["acct:a@b.test"], t0).is_ok(), "five are free");
        l.failed(&key, t0);
        assert_eq!(l.check(&["acct:a@b.test"], t0), Err(Duration::from_secs(1)));
        l.failed(&key, t0);
        assert_eq!(l.check(&["acct:a@b.test"], t0), Err(Duration::from_secs(2)));
        for _ in 8..REFUSE_AFTER {
            l.failed(&key, t0);
        }
        let later = t0 + Duration::from_secs(59);
        assert!(
            l.check(&["acct:a@b.test"], later).is_err(),
            "refused for the minute"
        );
        assert!(l.check(&["acct:a@b.test"], t0 + WINDOW).is_ok());
        assert!(
            l.check(&["acct:other@b.test"], t0).is_ok(),
            "other keys are untouched"
        );
        l.succeeded("acct:a@b.test");
        assert!(l.check(&["acct:a@b.test"], t0).is_ok());
    }

    #[test]
    fn memory_stays_bounded() {
        let l = LoginLimiter::new(100);
        let t0 = Instant::now();
        for i in 0..1000 {
            l.failed(
                &[(&format!("ip:10.0.{}.{}", i / 256, i % 256), ADDRESS)],
                t0,
            );
        }
        assert!(l.len() <= 100);
    }
}
