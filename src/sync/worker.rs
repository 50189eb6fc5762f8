//! The sync worker: [`Engine::run_once`] pushes one batch and marks it (tests
//! drive it directly, without sleeping); [`Engine::run`] is the thin loop that
//! calls it when new queue entries commit (after a short debounce), on the
//! interval, when a retry comes due, and when asked.
//!
//! - A batch is up to `batchSize` records (their items coalesced), pushed as one
//!   `CloudSink::push` (rows, then change bytes). If the cloud refuses the batch
//!   permanently, it is split in halves until the refused records are alone, so
//!   every other record still arrives (the same for a transient refusal, so one
//!   record's trouble never spends its neighbours' attempts).
//! - Unreachable (no connection, no answer): nothing is marked and no attempt
//!   is spent; the loop backs off and tries again.
//! - Transient (the cloud answered "try later", or named a parent it does not
//!   have yet: a foreign key): RETRY with exponential backoff and jitter from
//!   `retryDelay`; after `retryAttempts` such failures, FAILED.
//! - Permanent (constraint, permission/RLS, schema): FAILED with the cloud's text.

use super::config::{self, Credentials, EnvConfig, Settings};
use super::live::Live;
use super::push::push_batch;
pub use super::push::{backoff, compress_changes, MAX_BACKOFF};
use super::sink::{FailureKind, SinkError};
use crate::domain::value::format_timestamp;
use crate::domain::TableId;
use crate::store::queue::{Batch, DueRecord, Queue};
use crate::store::{Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;

/// New queue entries are gathered this long before a push.
pub const DEBOUNCE: Duration = Duration::from_millis(200);
/// Batches one call of the loop pushes before it looks at shutdown again.
const BATCHES_PER_RUN: usize = 64;

/// The worker's clock: the system's, plus an offset tests may advance to make
/// retries due without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }
    pub fn advance(&self, d: Duration) {
        self.offset_ms
            .fetch_add(d.as_millis() as i64, Ordering::Relaxed);
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Sync is off: nothing was read.
    pub disabled: bool,
    /// Sync is on but cannot run (the reason), e.g. no credentials.
    pub not_ready: Option<String>,
    /// Records pushed and marked COMPLETED.
    pub pushed: usize,
    /// Records marked RETRY.
    pub retried: usize,
    /// Records marked FAILED.
    pub failed: usize,
    /// The cloud was not reached: nothing marked, no attempt spent.
    pub unreachable: Option<String>,
    /// The batch was full: more may be due now.
    pub more: bool,
    /// After full batches, a partial one was due and left to gather for a
    /// debounce ([`DEBOUNCE`]) rather than pushed at once.
    pub left: bool,
}

type Landed = (Batch, Vec<Result<(), SinkError>>);

/// The sync engine: cheap to clone; one per hub.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub store: Store,
    pub queue: Queue,
    pub env: EnvConfig,
    pub clock: Clock,
    pub live: RwLock<Arc<Live>>,
    /// One step at a time (the loop, "sync now" and tests share it).
    pub step: tokio::sync::Mutex<()>,
    pub wake: tokio::sync::Notify,
    /// When the cloud was last asked for the newest change delivered.
    pub probe: super::restored::Probe,
}

pub(super) fn sync_error(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("sync store: {e}")
}

impl Engine {
    /// Opens the engine on `store` with the environment's configuration.
    pub async fn open(store: Store, env: EnvConfig) -> anyhow::Result<Engine> {
        let s2 = store.clone();
        let queue = tokio::task::spawn_blocking(move || Queue::open(&s2))
            .await?
            .map_err(sync_error)?;
        let hub_id = queue
            .state_or_init("hub_id".into(), || {
                uuid::Uuid::new_v4().hyphenated().to_string()
            })
            .await
            .map_err(sync_error)?;
        let engine = Engine {
            inner: Arc::new(Inner {
                store,
                queue,
                env,
                clock: Clock::default(),
                live: RwLock::new(Arc::new(Live {
                    shop_id: None,
                    hub_id,
                    settings: Settings::default(),
                    credentials: Credentials::default(),
                    transport: Err(config::ConfigError::new("sync", "not loaded")),
                    sink: None,
                })),
                step: tokio::sync::Mutex::new(()),
                wake: tokio::sync::Notify::new(),
                probe: super::restored::Probe::default(),
            }),
        };
        engine.reload().await?;
        Ok(engine)
    }

    pub fn queue(&self) -> &Queue {
        &self.inner.queue
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The next batch (records in `busy` left out: their push is under way;
    /// the change log read past `log_from` when a batch before it is not
    /// marked yet), its change bytes compressed, read on a blocking thread.
    async fn next_batch(
        &self,
        batch: usize,
        busy: HashSet<(TableId, String)>,
        log_from: Option<i64>,
    ) -> anyhow::Result<Batch> {
        let now = format_timestamp(self.inner.clock.now());
        let mut due = self
            .inner
            .queue
            .due(now, batch, busy, log_from)
            .await
            .map_err(sync_error)?;
        if !due.records.is_empty() {
            due = tokio::task::spawn_blocking(move || {
                compress_changes(&mut due.records);
                due
            })
            .await?;
        }
        Ok(due)
    }

    /// One step: reads a batch of due records, pushes it, marks it.
    pub async fn run_once(&self) -> anyhow::Result<Outcome> {
        self.run_batches(1).await
    }

    /// Up to `max_batches` batches, pipelined: while one batch is in the cloud's
    /// hands, the previous one is marked and the next one read (without the
    /// records in flight, so a record is never in two pushes at once, and a
    /// later write of it waits for its earlier push to be marked). Only a full
    /// batch is followed by another; a partial one read after full ones is left
    /// for the next run ([`Outcome::left`]). Stops at the first unreachable
    /// push, leaving that batch unmarked.
    pub async fn run_batches(&self, max_batches: usize) -> anyhow::Result<Outcome> {
        let _step = self.inner.step.lock().await;
        let live = self.live();
        let (sink, claims) = match Self::ready(&live) {
            Ok(r) => r,
            Err(o) => return Ok(o),
        };
        if let Some(held) = self.check_delivered(sink.as_ref(), &claims).await? {
            return Ok(held);
        }
        let batch = live.settings.batch_size;
        let mut total = Outcome::default();
        let mut cur = self.next_batch(batch, HashSet::new(), None).await?;
        let mut landed: Option<Landed> = None;
        let mut pushes = 0;
        while !cur.is_empty() && pushes < max_batches {
            pushes += 1;
            let full = cur.full;
            let busy: HashSet<(TableId, String)> = cur
                .records
                .iter()
                .map(|r| (r.table, r.record_id.clone()))
                .collect();
            // The next read starts after this batch's range of the change log.
            let log_from = cur.log.as_ref().map(|l| l.upto);
            let refs: Vec<&DueRecord> = cur.records.iter().collect();
            let behind = async {
                if let Some((due, results)) = landed.take() {
                    self.mark(&live.settings, due, results, &mut total).await?;
                }
                // A partial batch took everything that was due: nothing to read.
                if pushes < max_batches && full {
                    self.next_batch(batch, busy, log_from).await
                } else {
                    Ok(Batch::default())
                }
            };
            let push = async {
                if refs.is_empty() {
                    // Only a range of the change log to mark (every record in
                    // it passed over): nothing for the cloud.
                    Ok(Vec::new())
                } else {
                    push_batch(sink.as_ref(), &claims, &refs).await
                }
            };
            let (pushed, next) = tokio::join!(push, behind);
            let mut next = next?;
            match pushed {
                Ok(results) => landed = Some((cur, results)),
                Err(e) => {
                    let u = self.unreachable(e).await;
                    total.unreachable = u.unreachable;
                    return Ok(total);
                }
            }
            // At the last push allowed, a full batch means more may be due.
            total.more = if pushes >= max_batches {
                full
            } else {
                next.full
            };
            // A partial batch after full ones: the backlog is gone and what is
            // left is the trickle of writes since. Pushed now it would go in
            // pushes of a few records each, chasing every write (a transaction
            // in the cloud and a mark on the writer each); left to gather for
            // one debounce, it goes in full batches (and its range of the
            // change log is read again).
            if !next.is_empty() && !next.full {
                total.left = true;
                next = Batch::default();
            }
            cur = next;
        }
        if let Some((due, results)) = landed.take() {
            self.mark(&live.settings, due, results, &mut total).await?;
        }
        Ok(total)
    }

    pub(super) async fn unreachable(&self, e: SinkError) -> Outcome {
        // A restore takes the cloud away for a while: ask again once it is back.
        self.inner.probe.soon();
        self.note_error(&e.message).await;
        let what = match e.kind {
            FailureKind::Refused => "the cloud refused the hub's credentials",
            _ => "cloud unreachable",
        };
        tracing::warn!(reason = %e.message, "{what}: holding the queue");
        Outcome {
            unreachable: Some(e.message),
            ..Outcome::default()
        }
    }

    /// Pushes one record now, whatever its items' state (force-sync).
    /// `None` when the record (of `shop_id`) is unknown to the hub.
    pub async fn push_record(
        &self,
        shop_id: &str,
        table: crate::domain::TableId,
        id: String,
    ) -> anyhow::Result<Option<Outcome>> {
        let _step = self.inner.step.lock().await;
        let live = self.live();
        // Sync off means local-only: nothing leaves the hub, not even on request.
        let (sink, claims) = match Self::ready(&live) {
            Ok(r) => r,
            Err(o) => return Ok(Some(o)),
        };
        let Some(rec) = self
            .inner
            .queue
            .record(table, id)
            .await
            .map_err(sync_error)?
        else {
            return Ok(None);
        };
        if rec.shop_id != shop_id {
            return Ok(None);
        }
        let mut out = Outcome::default();
        match push_batch(sink.as_ref(), &claims, &[&rec]).await {
            Ok(results) => {
                let batch = Batch {
                    records: vec![rec],
                    ..Batch::default()
                };
                self.mark(&live.settings, batch, results, &mut out).await?
            }
            Err(e) => {
                self.note_error(&e.message).await;
                out.unreachable = Some(e.message);
            }
        }
        Ok(Some(out))
    }

    pub(super) async fn note_error(&self, message: &str) {
        let at = format_timestamp(self.inner.clock.now());
        let _ = self
            .inner
            .queue
            .set_states(vec![
                ("last_error".into(), Some(message.to_string())),
                ("last_error_at".into(), Some(at)),
            ])
            .await;
    }

    /// Marks a batch the cloud answered: first each failed record (RETRY or
    /// FAILED, an item that covers its changes), then in one writer job the
    /// pushed records and the batch's range of the change log. In this order,
    /// a crash between the two leaves the range to be read again, never a
    /// change passed over without an item.
    async fn mark(
        &self,
        settings: &Settings,
        due: Batch,
        results: Vec<Result<(), SinkError>>,
        out: &mut Outcome,
    ) -> anyhow::Result<()> {
        let now = &format_timestamp(self.inner.clock.now());
        let mut done = Vec::new();
        let mut last_error = None;
        for (rec, res) in due.records.into_iter().zip(results) {
            match res {
                Ok(()) => done.push(rec),
                Err(e) => {
                    let attempts = rec.attempts() + 1;
                    let permanent = e.kind == FailureKind::Permanent
                        || attempts >= i64::from(settings.retry_attempts);
                    let next = (!permanent).then(|| {
                        let mut wait = backoff(settings.retry_delay_ms, attempts);
                        if let Some(asked) =
                            e.retry_after.and_then(|d| time::Duration::try_from(d).ok())
                        {
                            wait = wait.max(asked);
                        }
                        format_timestamp(self.inner.clock.now() + wait)
                    });
                    if permanent {
                        out.failed += 1;
                        tracing::warn!(table = %rec.table, "a sync item FAILED: {}", e.message);
                    } else {
                        out.retried += 1;
                    }
                    let msg = format!("{}/{}: {}", rec.table, rec.record_id, e.message);
                    last_error = Some(msg);
                    self.inner
                        .queue
                        .mark_failed(rec, attempts, next, e.message, now.to_string())
                        .await
                        .map_err(sync_error)?;
                }
            }
        }
        out.pushed += done.len();
        // A push without failures forgets the last error in the same writer job
        // as its marks (not a second job, and a second commit, per batch).
        let clear_error = last_error.is_none() && out.pushed > 0;
        self.inner
            .queue
            .complete(done, due.log, now.to_string(), clear_error)
            .await
            .map_err(sync_error)?;
        if let Some(m) = last_error {
            self.note_error(&m).await;
        }
        Ok(())
    }

    /// Runs [`Engine::run_batches`] until nothing more is due (at most
    /// `max_steps` runs); the totals.
    pub async fn drain(&self, max_steps: usize) -> anyhow::Result<Outcome> {
        let mut total = Outcome::default();
        for _ in 0..max_steps {
            let o = self.run_batches(BATCHES_PER_RUN).await?;
            total.pushed += o.pushed;
            total.retried += o.retried;
            total.failed += o.failed;
            total.disabled = o.disabled;
            total.not_ready = o.not_ready.clone();
            total.unreachable = o.unreachable.clone();
            total.more = o.more;
            total.left = o.left;
            if !(o.more || o.left) || o.unreachable.is_some() {
                break;
            }
        }
        Ok(total)
    }

    /// Wakes the loop now ("sync now").
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// The loop: runs until `shutdown` resolves.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut commits = self.inner.store.commits();
        let mut unreachable_for: u32 = 0;
        loop {
            let live = self.live();
            let wait = match self.run_batches(BATCHES_PER_RUN).await {
                Err(e) => {
                    tracing::error!(error = %e, "sync step failed");
                    Duration::from_millis(live.settings.retry_delay_ms.max(1000))
                }
                Ok(o) if o.unreachable.is_some() => {
                    unreachable_for = unreachable_for.saturating_add(1);
                    Duration::try_from(backoff(
                        live.settings.retry_delay_ms,
                        i64::from(unreachable_for),
                    ))
                    .unwrap_or(Duration::from_secs(30))
                    .min(Duration::from_millis(live.settings.interval_ms))
                }
                Ok(o) if o.more => {
                    unreachable_for = 0;
                    continue;
                }
                Ok(o) if o.left => {
                    unreachable_for = 0;
                    DEBOUNCE
                }
                Ok(_) => {
                    unreachable_for = 0;
                    self.until_next_retry(live.settings.interval_ms).await
                }
            };
            let holding = unreachable_for > 0;
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.inner.wake.notified() => {}
                changed = commits.changed(), if !holding => {
                    if changed.is_err() {
                        break;
                    }
                    tokio::time::sleep(DEBOUNCE).await;
                }
            }
        }
    }

    /// How long until the interval passes or the next RETRY item is due.
    async fn until_next_retry(&self, interval_ms: u64) -> Duration {
        let interval = Duration::from_millis(interval_ms);
        let Ok(Some(next)) = self.inner.queue.next_retry().await else {
            return interval;
        };
        let Ok(at) = OffsetDateTime::parse(&next, &time::format_description::well_known::Rfc3339)
        else {
            // A RETRY item without a time is due now (made due from the API).
            return interval.min(Duration::from_secs(1));
        };
        let left = at - self.inner.clock.now();
        Duration::try_from(left)
            .unwrap_or(Duration::ZERO)
            .min(interval)
    }
}
