//! The store side of cloud sync: reading what is due (the change log past its
//! cursor, and the `sync_queue` items) with what to push (the record's current
//! row, or its deletion, and the change bytes not yet pushed), marking it,
//! history and counts, hub-only secrets and sync state.
//!
//! The sync worker reads its batches on its own read-only connection; every
//! change it makes (marks, state, secrets, the first upload's queuing) is a job
//! of the writer thread ([`Store::exec`]), inside a group commit with
//! `synchronous=FULL` like any write: the database has one writer (invariant 1),
//! and a mark never waits on a lock the writer holds. A write adds nothing to
//! the queue: its change-log entry, written with the row (invariant 2), is what
//! the worker reads (see `log.rs`).
//!
//! Rules kept here:
//! - Items and log entries are grouped per record: one push of the record's
//!   current state covers them all. A record whose RETRY item is not yet due is
//!   held entirely, so a later write never overtakes an earlier one.
//! - An item is completed only if its `change_seq` is still the one that was
//!   read: a change folded into it meanwhile keeps it PENDING.
//! - The change log's cursor moves only when a batch is marked, after the
//!   batch's failed records have their items, and past a record only when its
//!   entries were pushed or folded into an item.
//! - Marking RETRY or FAILED folds the record's other read items into one; it
//!   deletes an item only when another item of the same record covers it.
//! - Completed history is bounded ([`HISTORY_KEEP`], pruned every
//!   [`PRUNE_EVERY`]); PENDING, RETRY and FAILED items are never removed by
//!   marking or by the history bound.

mod due;
mod log;
mod state;

pub use due::{change_entry, CHANGE_COLUMNS};
pub use log::{LogRead, Met};
pub use state::ANOTHER_CLOUD;

use super::records::Record;
use super::{Store, StoreError};
use crate::domain::TableId;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::{Arc, Mutex};

/// Completed items kept as history (up to [`PRUNE_EVERY`] more between prunes).
pub const HISTORY_KEEP: i64 = 1000;

/// Completed items between two prunes of the history.
const PRUNE_EVERY: i64 = 500;

/// What the cloud must hold for one record.
#[derive(Debug, Clone, PartialEq)]
pub enum RowState {
    /// The record's current row.
    Upsert(Record),
    /// The record no longer exists on the hub.
    Delete,
}

/// One change-log entry whose bytes have not reached the cloud.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEntry {
    pub seq: i64,
    pub shop_id: String,
    pub table_name: String,
    pub record_id: String,
    pub change_hash: String,
    pub author_id: Option<String>,
    pub bytes: Vec<u8>,
    pub created_at: String,
}

/// An open queue item as it was read (for conditional marking).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRef {
    pub id: i64,
    pub status: String,
    pub change_seq: i64,
    pub attempts: i64,
}

/// A record to push: its open items, its state and its unpushed changes.
#[derive(Debug, Clone, PartialEq)]
pub struct DueRecord {
    pub table: TableId,
    pub record_id: String,
    /// The shop of the queue item (the row's shop, as the hub wrote it).
    pub shop_id: String,
    pub operation: String,
    pub items: Vec<ItemRef>,
    /// The highest change seq this push covers.
    pub seq: i64,
    pub state: RowState,
    pub changes: Vec<ChangeEntry>,
    /// Read from the change log (it has no item): when its first change in
    /// the range was written. Its COMPLETED history row is written at the mark.
    pub logged_at: Option<String>,
    /// Why it must not be pushed: one of its changes in the log has bytes that
    /// are not an Automerge change (`changes` is then empty). The worker marks
    /// it FAILED with this text instead of pushing it, and the rest of the
    /// batch goes on; the hub keeps everything as it is.
    pub damaged: Option<String>,
}

/// What one read of the queue gives: the records to push, and the change-log
/// range read, marked with them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub records: Vec<DueRecord>,
    pub log: Option<LogRead>,
    /// The read stopped at its limit: more may be due.
    pub full: bool,
}

impl Batch {
    /// Nothing to push and nothing to mark.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.log.as_ref().is_none_or(LogRead::is_empty)
    }
}

impl DueRecord {
    /// The most failed attempts any of its items has spent.
    pub fn attempts(&self) -> i64 {
        self.items.iter().map(|i| i.attempts).max().unwrap_or(0)
    }
}

/// A queue item as the API shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueItem {
    pub id: i64,
    pub shop_id: String,
    pub table_name: String,
    pub record_id: String,
    pub operation: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub change_seq: i64,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// Item counts by status, and the age of the oldest open item.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueCounts {
    pub pending: i64,
    pub processing: i64,
    pub retry: i64,
    pub failed: i64,
    pub completed: i64,
    /// `created_at` of the oldest PENDING or RETRY item.
    pub oldest_open: Option<String>,
}

impl QueueCounts {
    /// Items not yet in the cloud: PENDING, PROCESSING and RETRY.
    pub fn waiting(&self) -> i64 {
        self.pending + self.processing + self.retry
    }
}

/// Which items `clear` may remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearable {
    Completed,
    Failed,
}

impl Clearable {
    fn status(self) -> &'static str {
        match self {
            Clearable::Completed => "COMPLETED",
            Clearable::Failed => "FAILED",
        }
    }
}

/// The sync worker's access to the store: its own read-only connection for the
/// batch and the API's reads; every change (marks, state, secrets) is a job of
/// the writer thread ([`Store::exec`]), so the database keeps one writer and a
/// mark is as durable as a write.
#[derive(Clone)]
pub struct Queue {
    conn: Arc<Mutex<Connection>>,
    store: Store,
}

/// A record FAILED again (a later change, refused too) keeps one FAILED item,
/// `keep`: its earlier ones are covered by it, and a person reads one failure
/// per record, the latest.
fn fold_failed(tx: &Connection, rec: &DueRecord, keep: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "DELETE FROM sync_queue WHERE table_name = ?1 AND record_id = ?2 AND status = 'FAILED'
            AND id <> ?3 AND change_seq <= ?4",
    )?
    .execute(params![rec.table.name(), rec.record_id, keep, rec.seq])
}

impl Queue {
    /// Opens the sync worker's connection to `store`'s database.
    pub fn open(store: &Store) -> Result<Queue, StoreError> {
        let conn = Connection::open(store.path())?;
        super::configure(&conn)?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(Queue {
            conn: Arc::new(Mutex::new(conn)),
            store: store.clone(),
        })
    }

    /// Runs `f` on the writer's connection, in its next group commit.
    async fn write(
        &self,
        f: impl Fn(&Connection) -> Result<i64, StoreError> + Send + Sync + 'static,
    ) -> Result<i64, StoreError> {
        self.store.exec(f).await
    }

    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Internal("sync connection poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("sync store task failed: {e}")))?
    }

    /// Marks records whose push reached the cloud: their read items COMPLETED (a
    /// PENDING item only if no change folded into it meanwhile), older RETRY and
    /// FAILED items of the record that the push covers too, a COMPLETED history
    /// item for each record read from the change log, and the record's pushed
    /// watermark; then the batch's change-log range (`log`, see
    /// [`LogRead`]). `clear_error`: the push had no failure, so the last error
    /// is forgotten in the same writer job.
    pub async fn complete(
        &self,
        done: Vec<DueRecord>,
        log: Option<LogRead>,
        now: String,
        clear_error: bool,
    ) -> Result<(), StoreError> {
        if done.is_empty() && log.is_none() && !clear_error {
            return Ok(());
        }
        // One statement per kind for the whole batch (the items and records as
        // JSON, read with json_each), not three per record: a mark runs on the
        // writer thread, between the writes.
        let items = serde_json::Value::from(
            done.iter()
                .flat_map(|r| r.items.iter().map(|it| vec![it.id, it.change_seq]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        let records = serde_json::Value::from(
            done.iter()
                .map(|r| serde_json::json!([r.table.name(), r.record_id, r.seq]))
                .collect::<Vec<_>>(),
        )
        .to_string();
        // Records read from the log have no item: a history row each.
        let history = done.iter().any(|r| r.logged_at.is_some()).then(|| {
            log::rows_json(done.iter().filter_map(|r| {
                r.logged_at.as_deref().map(|at| {
                    (
                        r.shop_id.as_str(),
                        r.table.name(),
                        r.record_id.as_str(),
                        r.operation.as_str(),
                        r.seq,
                        at,
                    )
                })
            }))
        });
        let log = log.map(log::Marks::of);
        // The newest change this push delivered, which the worker later asks
        // the cloud for ([`DELIVERED`]).
        let delivered = done
            .iter()
            .rev()
            .find_map(|r| r.changes.last())
            .map(|c| format!("{} {}", c.record_id, c.change_hash));
        // The job holds only what its statements read: the pushed records (rows
        // and change bytes) are freed here, not on the writer thread.
        let any = !done.is_empty();
        drop(done);
        self.write(move |tx| {
            if clear_error {
                tx.prepare_cached("DELETE FROM sync_state WHERE key = 'last_error'")?
                    .execute([])?;
            }
            if let Some(d) = &delivered {
                set_state_tx(tx, DELIVERED, d)?;
            }
            if any {
                complete_records(tx, &items, &records, history.as_deref(), &now)?;
            }
            if let Some(marks) = &log {
                marks.mark(tx, &now)?;
            }
            Ok(0)
        })
        .await?;
        Ok(())
    }

    /// Marks a record's push as failed: RETRY due at `next_attempt_at` with
    /// `attempts` spent, or FAILED (`next_attempt_at` None) waiting for a person.
    /// The record's read items fold into its oldest one.
    pub async fn mark_failed(
        &self,
        rec: DueRecord,
        attempts: i64,
        next_attempt_at: Option<String>,
        error: String,
        now: String,
    ) -> Result<(), StoreError> {
        self.write(move |tx| {
            let status = if next_attempt_at.is_some() {
                "RETRY"
            } else {
                "FAILED"
            };
            let Some(keep) = rec.items.iter().map(|i| i.id).min() else {
                // Force-sync of a record with no item: remember the failure as one.
                tx.prepare_cached(
                    "INSERT INTO sync_queue (shop_id, table_name, record_id, operation, status,
                       attempts, last_error, change_seq, next_attempt_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                )?
                .execute(params![
                    rec.shop_id,
                    rec.table.name(),
                    rec.record_id,
                    rec.operation,
                    status,
                    attempts,
                    error,
                    rec.seq,
                    next_attempt_at,
                    now
                ])?;
                if status == "FAILED" {
                    add_state(tx, "total_failed", 1)?;
                    fold_failed(tx, &rec, tx.last_insert_rowid())?;
                }
                return Ok(1);
            };
            for it in rec.items.iter().filter(|i| i.id != keep) {
                // Covered by `keep` (which takes the highest seq): a PENDING item
                // only if no write coalesced into it since it was read.
                tx.prepare_cached(
                    "DELETE FROM sync_queue WHERE id = ?1 AND change_seq = ?2
                       AND status IN ('PENDING', 'RETRY', 'FAILED')",
                )?
                .execute(params![it.id, it.change_seq])?;
            }
            tx.prepare_cached(
                "UPDATE sync_queue SET status = ?2, attempts = ?3, next_attempt_at = ?4,
                        last_error = ?5, change_seq = max(change_seq, ?6), operation = ?7,
                        updated_at = ?8
                  WHERE id = ?1",
            )?
            .execute(params![
                keep,
                status,
                attempts,
                next_attempt_at,
                error,
                rec.seq,
                rec.operation,
                now
            ])?;
            if status == "FAILED" {
                add_state(tx, "total_failed", 1)?;
                fold_failed(tx, &rec, keep)?;
            }
            Ok(1)
        })
        .await?;
        Ok(())
    }

    /// Makes FAILED items (all, or those of `ids`) due again with fresh attempts.
    /// Returns how many.
    pub async fn retry_failed(
        &self,
        ids: Option<Vec<i64>>,
        now: String,
    ) -> Result<usize, StoreError> {
        let n = self
            .write(move |tx| {
                let sql =
                    "UPDATE sync_queue SET status = 'RETRY', attempts = 0, next_attempt_at = NULL,
                              updated_at = ?1
                        WHERE status = 'FAILED'";
                let n = match &ids {
                    None => tx.execute(sql, params![now])?,
                    Some(ids) => {
                        let mut n = 0;
                        for id in ids {
                            n += tx.execute(&format!("{sql} AND id = ?2"), params![now, id])?;
                        }
                        n
                    }
                };
                Ok(n as i64)
            })
            .await?;
        Ok(n as usize)
    }

    /// Removes COMPLETED or FAILED items (all of that status, or only those of
    /// `ids` that have it). PENDING and RETRY items are never removed; the change
    /// log and the records are never touched. Returns how many were removed.
    pub async fn clear(
        &self,
        which: Clearable,
        ids: Option<Vec<i64>>,
    ) -> Result<usize, StoreError> {
        let n = self
            .write(move |tx| {
                let n = match &ids {
                    None => tx.execute(
                        "DELETE FROM sync_queue WHERE status = ?1",
                        params![which.status()],
                    )?,
                    Some(ids) => {
                        let mut n = 0;
                        for id in ids {
                            n += tx.execute(
                                "DELETE FROM sync_queue WHERE status = ?1 AND id = ?2",
                                params![which.status(), id],
                            )?;
                        }
                        n
                    }
                };
                Ok(n as i64)
            })
            .await?;
        Ok(n as usize)
    }
}

/// The marks of [`Queue::complete`] for the records pushed.
fn complete_records(
    tx: &Connection,
    items: &str,
    records: &str,
    history: Option<&str>,
    now: &str,
) -> Result<(), StoreError> {
    // The read items, unless a change folded into one meanwhile.
    let mut n = tx
        .prepare_cached(
            "UPDATE sync_queue SET status = 'COMPLETED', last_error = NULL,
                    next_attempt_at = NULL, updated_at = ?2
               FROM (SELECT value ->> 0 AS id, value ->> 1 AS seq FROM json_each(?1)) AS d
              WHERE sync_queue.id = d.id AND sync_queue.change_seq = d.seq
                AND sync_queue.status <> 'COMPLETED'",
        )?
        .execute(params![items, now])? as i64;
    // Older RETRY and FAILED items of the records, covered by this push.
    n += tx
        .prepare_cached(
            "UPDATE sync_queue SET status = 'COMPLETED', updated_at = ?2
               FROM (SELECT value ->> 0 AS t, value ->> 1 AS r, value ->> 2 AS seq
                       FROM json_each(?1)) AS d
              WHERE sync_queue.status IN ('RETRY', 'FAILED')
                AND sync_queue.table_name = d.t AND sync_queue.record_id = d.r
                AND sync_queue.change_seq <= d.seq",
        )?
        .execute(params![records, now])? as i64;
    if let Some(rows) = history {
        n += log::history(tx, rows, now)?;
    }
    tx.prepare_cached(
        "INSERT INTO sync_pushed (table_name, record_id, change_seq)
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true
         ON CONFLICT (table_name, record_id) DO UPDATE
           SET change_seq = max(change_seq, excluded.change_seq)",
    )?
    .execute(params![records])?;
    add_state(tx, "total_processed", n)?;
    set_state_tx(tx, "last_sync", now)?;
    prune_history(tx, n)?;
    Ok(())
}

fn open_up_to(c: &Connection, last: i64) -> rusqlite::Result<i64> {
    c.prepare_cached(
        "SELECT count(*) FROM sync_queue WHERE id <= ?1 AND status IN ('PENDING', 'RETRY', 'FAILED')",
    )?
    .query_row([last], |r| r.get(0))
}

/// The `sync_state` key of the newest change a push delivered, as `"<record
/// id> <hash>"`. The cloud never deletes a change row, so when it no longer has
/// this one it was restored from a backup taken before the push
/// ([`Queue::delivered`], [`Queue::start_over`]).
pub const DELIVERED: &str = "delivered_change";

fn get_state_tx(c: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    c.prepare_cached("SELECT value FROM sync_state WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()
}

fn set_state_tx(c: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

fn add_state(c: &Connection, key: &str, n: i64) -> rusqlite::Result<()> {
    if n == 0 {
        return Ok(());
    }
    c.prepare_cached(
        "INSERT INTO sync_state (key, value) VALUES (?1, CAST(?2 AS TEXT))
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + ?2 AS TEXT)",
    )?
    .execute(params![key, n])?;
    Ok(())
}

/// Keeps the newest [`HISTORY_KEEP`] completed items, give or take
/// [`PRUNE_EVERY`]: finding the cut-off steps over `HISTORY_KEEP` index
/// entries, so it runs when the running total of completed items passes a
/// multiple of `PRUNE_EVERY` (`completed` were just added), not on every batch.
fn prune_history(c: &Connection, completed: i64) -> rusqlite::Result<()> {
    let total: i64 = get_state_tx(c, "total_processed")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if completed <= 0 || total / PRUNE_EVERY == (total - completed) / PRUNE_EVERY {
        return Ok(());
    }
    let cutoff: Option<i64> = c
        .prepare_cached(
            "SELECT id FROM sync_queue WHERE status = 'COMPLETED' ORDER BY id DESC LIMIT 1 OFFSET ?1",
        )?
        .query_row([HISTORY_KEEP], |r| r.get(0))
        .optional()?;
    if let Some(cutoff) = cutoff {
        c.prepare_cached("DELETE FROM sync_queue WHERE status = 'COMPLETED' AND id <= ?1")?
            .execute([cutoff])?;
    }
    Ok(())
}
