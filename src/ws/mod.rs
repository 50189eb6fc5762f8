//! Bay tablets over WebSocket: `GET /api/ws`.
//!
//! One task per socket ([`socket`]) owns the socket's sink through a bounded
//! outgoing queue; one feed task per hub wakes on [`Store::commits`] (published
//! by the writer after each commit, never before), reads the new change-log
//! entries and publishes each once on its shop's `tokio::sync::broadcast`. A
//! socket whose broadcast receiver lags, or whose outgoing queue is full, is
//! sent `resync` and dropped: a slow tablet never slows the hub or the others.
//!
//! # Protocol (version 1)
//!
//! JSON text frames, each an object with a `type`. The first message must be
//! `hello`; anything else first closes the socket (1008, with the reason).
//!
//! Tablet → hub:
//!
//! - `hello`: the user's JWT (browsers cannot set headers on a WebSocket), the
//!   device id the tablet chose (1–64 of `A-Z a-z 0-9 - _ . :`), and the last
//!   change sequence it has (0 for none).
//!   `{"type":"hello","v":1,"token":"eyJ…","device_id":"bay-3-tablet","since":1204}`
//! - `write`: one record write, applied at most once per `op_id` (the tablet's
//!   idempotency key, remembered 30 days and across restarts). `op` is
//!   `update` (the default), `create` or `delete`; `base` the heads the tablet
//!   last saw (the write then applies on a fork at `base`, signed with the
//!   device's actor, and merges).
//!   `{"type":"write","op_id":"bay3-000017","table":"repair_orders","id":"0190…","fields":{"stage":"paint_booth"},"base":["9f2c…"]}`
//! - `ping`: `{"type":"ping"}` (answered `pong`).
//!
//! Hub → tablet:
//!
//! - `welcome`: the device's Automerge actor (assigned on first contact, kept)
//!   and the hub's latest sequence.
//!   `{"type":"welcome","v":1,"device_id":"bay-3-tablet","actor":"5be1…","seq":1290}`
//! - `change`: one committed change the tablet may read, in `seq` order: the
//!   record as it is now (`fields`, with `_heads`; `null` once deleted), the
//!   fields the change set (`changed`), who made it (`author`, `device`) and when.
//!   Columns the tablet's user may not read are left out; a change of only such
//!   columns is not sent.
//!   `{"type":"change","seq":1205,"table":"repair_orders","id":"0190…","op":"update","changed":["stage"],"fields":{"id":"0190…","stage":"paint_booth","_heads":["ab12…"],…},"author":"0190…","device":"bay-3-tablet","at":"2026-11-29T14:02:11.120Z"}`
//! - `conflict`: after a `change` that made, altered or resolved a conflict:
//!   the record's open conflicts (empty: all resolved), each with its winner and
//!   every candidate's value, author, device and time.
//!   `{"type":"conflict","seq":1206,"table":"repair_orders","id":"0190…","conflicts":[{"field":"stage","winner":"detail","candidates":[{"value":"detail","author":"0190…","device":"bay-3-tablet","actor":"5be1…","at":"2026-11-29T14:02:11.000Z","change_hash":"77aa…"},{"value":"paint_booth","author":"0190…","device":"front-desk","actor":"91c0…","at":"…","change_hash":"…"}]}]}`
//! - `caught_up`: the replay after `since` is complete; live changes follow.
//!   `{"type":"caught_up","seq":1290}`
//! - `ack`: a write was applied (or had been: `replayed`), with its sequence and
//!   the record's new heads. A write that changed nothing (every field already
//!   held its value) logs no change: its `seq` is 0 and `heads` the record's
//!   current heads (resume from `caught_up`'s and `change` sequences, not an
//!   ack's).
//!   `{"type":"ack","op_id":"bay3-000017","id":"0190…","seq":1291,"heads":["c0de…"],"replayed":false}`
//! - `error`: a message was refused; `field` names the field at fault, `op_id`
//!   the write. The codes are the HTTP API's (`invalid_field`, `forbidden`,
//!   `not_found`, …) plus `malformed_json`, `unknown_type`, `invalid_message`,
//!   `binary_frame`.
//!   `{"type":"error","op_id":"bay3-000017","code":"invalid_field","field":"stage","message":"stage: …"}`
//! - `resync`: the tablet must reload from the HTTP API and reconnect with `seq`:
//!   its `since` is too old to replay (or unknown to this hub) — the socket
//!   stays open and streams from `seq` — or it fell behind (its queue overflowed)
//!   — the socket then closes.
//!   `{"type":"resync","reason":"too_far_behind","seq":1290}`
//! - `pong`: `{"type":"pong"}`.
//!
//! Closes carry a reason: 1008 (before hello, bad token, revoked device), 1009
//! (a message over 64 KiB), 1011 (fell behind), 1001 (the hub is stopping).
//! The hub pings every 10 s; a socket with frames waiting that took none in a
//! whole interval is sent `resync` and dropped, and one that sent nothing (not
//! even a pong) through three intervals is dropped.

mod protocol;
mod session;
mod socket;
pub mod visibility;
mod write;

use crate::api::AppState;
use crate::store::feed::FeedEntry;
use crate::store::Store;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, watch};

/// Largest message a tablet may send; a larger one closes the socket (1009).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The bounds a tablet's socket lives within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Messages queued for one tablet before it counts as fallen behind.
    pub outgoing: usize,
    /// Changes one shop's broadcast holds for its slowest tablet.
    pub broadcast: usize,
    /// Most changes replayed after `since`; an older `since` gets `resync`.
    pub max_replay: i64,
    /// How often the hub pings; a socket silent for three of these is dropped.
    pub ping_every: Duration,
    /// Longest a single frame may take to leave; a tablet slower is dropped.
    pub send_timeout: Duration,
    /// How long a new socket has to say hello.
    pub hello_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            outgoing: 1024,
            broadcast: 4096,
            max_replay: 10_000,
            ping_every: Duration::from_secs(10),
            send_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
        }
    }
}

/// One committed change as the shop's tablets get it, with its messages for a
/// reader who may see all of it rendered once for every such tablet (most of
/// them: one serialization per change, not one per tablet).
pub(crate) struct Published {
    pub(crate) entry: FeedEntry,
    pub(crate) whole: std::sync::OnceLock<Vec<axum::extract::ws::Utf8Bytes>>,
}

/// The hub's tablets: the per-shop broadcasts, the open sockets (to close a
/// revoked device's), the feed task. Cheap to clone.
#[derive(Clone, Default)]
pub struct Tablets {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    shops: Mutex<HashMap<String, broadcast::Sender<Arc<Published>>>>,
    sockets: Mutex<HashMap<u64, SocketEntry>>,
    next_socket: AtomicU64,
    limits: Mutex<Limits>,
    feed_started: std::sync::OnceLock<()>,
    closing: Closing,
    count: CountWatch,
}

struct Closing(watch::Sender<bool>);
impl Default for Closing {
    fn default() -> Self {
        Closing(watch::channel(false).0)
    }
}

struct CountWatch(watch::Sender<usize>);
impl Default for CountWatch {
    fn default() -> Self {
        CountWatch(watch::channel(0).0)
    }
}

struct SocketEntry {
    device_id: String,
    close: watch::Sender<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Tablets {
    pub fn limits(&self) -> Limits {
        *lock(&self.inner.limits)
    }

    /// Sets the bounds new sockets get (tests narrow them).
    pub fn set_limits(&self, limits: Limits) {
        *lock(&self.inner.limits) = limits;
    }

    /// The number of open (greeted) sockets, as it changes.
    pub fn connections(&self) -> watch::Receiver<usize> {
        self.inner.count.0.subscribe()
    }

    /// Closes every open socket of this device (it was revoked).
    pub fn disconnect_device(&self, device_id: &str) {
        for s in lock(&self.inner.sockets).values() {
            if s.device_id == device_id {
                let _ = s.close.send(Some("this device was revoked".into()));
            }
        }
    }

    /// Stops the feed and closes every socket (the hub is stopping).
    pub fn close(&self) {
        let _ = self.inner.closing.0.send(true);
    }

    fn closing(&self) -> watch::Receiver<bool> {
        self.inner.closing.0.subscribe()
    }

    fn subscribe(&self, shop_id: &str) -> broadcast::Receiver<Arc<Published>> {
        let capacity = self.limits().broadcast.max(1);
        lock(&self.inner.shops)
            .entry(shop_id.to_string())
            .or_insert_with(|| broadcast::channel(capacity).0)
            .subscribe()
    }

    fn register(&self, device_id: &str) -> (u64, watch::Receiver<Option<String>>) {
        let id = self.inner.next_socket.fetch_add(1, Ordering::Relaxed);
        let (close, rx) = watch::channel(None);
        let mut sockets = lock(&self.inner.sockets);
        sockets.insert(
            id,
            SocketEntry {
                device_id: device_id.to_string(),
                close,
            },
        );
        let _ = self.inner.count.0.send(sockets.len());
        (id, rx)
    }

    fn unregister(&self, id: u64) {
        let mut sockets = lock(&self.inner.sockets);
        sockets.remove(&id);
        let _ = self.inner.count.0.send(sockets.len());
    }

    /// Starts the feed task once (on the first socket).
    fn start_feed(&self, store: &Store) {
        self.inner.feed_started.get_or_init(|| {
            let weak = Arc::downgrade(&self.inner);
            let store = store.clone();
            let closing = self.closing();
            // The starting point is taken now, before the first socket
            // subscribes and replays: every later commit is published.
            let mut commits = store.commits();
            let last = *commits.borrow_and_update();
            tokio::spawn(feed(store, commits, last, weak, closing));
        });
    }
}

impl Inner {
    fn publish(&self, entry: Arc<Published>) {
        let shops = lock(&self.shops);
        if let Some(tx) = shops.get(&entry.entry.shop_id) {
            // No receiver (every tablet of the shop gone) is not an error.
            let _ = tx.send(entry);
        }
    }
}

/// Reads each newly committed change once and publishes it to its shop.
async fn feed(
    store: Store,
    mut commits: watch::Receiver<i64>,
    mut last: i64,
    tablets: Weak<Inner>,
    mut closing: watch::Receiver<bool>,
) {
    const PAGE: usize = 512;
    loop {
        loop {
            let page = match store.feed_after(last, None, PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "the tablets' feed could not read the change log");
                    break;
                }
            };
            let Some(inner) = tablets.upgrade() else {
                return;
            };
            let n = page.len();
            for e in page {
                last = e.seq;
                inner.publish(Arc::new(Published {
                    entry: e,
                    whole: std::sync::OnceLock::new(),
                }));
            }
            if n < PAGE {
                break;
            }
        }
        if *closing.borrow() {
            return;
        }
        tokio::select! {
            changed = commits.changed() => if changed.is_err() { return },
            _ = closing.changed() => return,
        }
    }
}

/// `GET /api/ws`: upgrades to a WebSocket; authentication is the first message.
/// A request that is not an upgrade (a browser opening the address, a client
/// missing a header) hears what the address is and which part was missing.
pub async fn upgrade(
    State(st): State<AppState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(why) => {
            let message = format!(
                "GET /api/ws is the tablets' WebSocket and this request is not a WebSocket upgrade: {}",
                why.body_text()
            );
            return crate::api::error::ApiError::Status(why.status(), message).into_response();
        }
    };
    ws.max_message_size(16 * MAX_MESSAGE)
        .max_frame_size(16 * MAX_MESSAGE)
        .on_upgrade(move |socket| socket::run(socket, st))
}
