//! The store side of cloud sync: reading due `sync_queue` items with what to push
//! (the record's current row, or its deletion, and the change bytes not yet
//! pushed), marking them, history and counts, hub-only secrets and sync state.
//!
//! The sync worker owns its own read-write connection ([`Queue`]), separate from
//! the writer thread's: its transactions are short (one per batch) and commit with
//! `synchronous=NORMAL`. Losing a mark to a power cut only means the batch is
//! pushed again, which the cloud's idempotent upserts absorb; the queue entries
//! themselves are written by the writer thread with the row (invariant 2).
//!
//! Rules kept here:
//! - Items are grouped per record: one push of the record's current state covers
//!   every open item of it. A record whose RETRY item is not yet due is held
//!   entirely, so a later write never overtakes an earlier one.
//! - An item is completed only if its `change_seq` is still the one that was read:
//!   a write that coalesced into it meanwhile keeps it PENDING.
//! - Marking RETRY or FAILED folds the record's other read items into one; it
//!   deletes an item only when another item of the same record covers it.
//! - Completed history is bounded ([`HISTORY_KEEP`]); PENDING, RETRY and FAILED
//!   items are never removed by marking or by the history bound.

use super::records::{read_row, sql, Record};
use super::{Store, StoreError};
use crate::domain::TableId;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Completed items kept as history.
pub const HISTORY_KEEP: i64 = 1000;

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
    pub actor: String,
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

/// The sync worker's connection to the store.
#[derive(Clone)]
pub struct Queue {
    conn: Arc<Mutex<Connection>>,
}

const ITEM_COLUMNS: &str = "id, shop_id, table_name, record_id, operation, status, attempts, \
     last_error, change_seq, next_attempt_at, created_at, updated_at";

fn item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QueueItem> {
    Ok(QueueItem {
        id: r.get(0)?,
        shop_id: r.get(1)?,
        table_name: r.get(2)?,
        record_id: r.get(3)?,
        operation: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        change_seq: r.get(8)?,
        next_attempt_at: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

/// One open item while a batch is being gathered.
struct Open {
    id: i64,
    shop_id: String,
    table_name: String,
    record_id: String,
    operation: String,
    status: String,
    attempts: i64,
    change_seq: i64,
    next_attempt_at: Option<String>,
}

fn open_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Open> {
    Ok(Open {
        id: r.get(0)?,
        shop_id: r.get(1)?,
        table_name: r.get(2)?,
        record_id: r.get(3)?,
        operation: r.get(4)?,
        status: r.get(5)?,
        attempts: r.get(6)?,
        change_seq: r.get(7)?,
        next_attempt_at: r.get(8)?,
    })
}

const OPEN_COLUMNS: &str =
    "id, shop_id, table_name, record_id, operation, status, attempts, change_seq, next_attempt_at";

impl Queue {
    /// Opens the sync worker's connection to `store`'s database.
    pub fn open(store: &Store) -> Result<Queue, StoreError> {
        let conn = Connection::open(store.path())?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok(Queue {
            conn: Arc::new(Mutex::new(conn)),
        })
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

    // ------------------------------------------------------------ the batch

    /// Up to `limit` records with items due at `now` (an instant as the store
    /// writes them), oldest first, each with its state and unpushed changes.
    pub async fn due(&self, now: String, limit: usize) -> Result<Vec<DueRecord>, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = gather_due(&tx, &now, limit)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    /// The given record now, whatever its items' status (force-sync), or `None`
    /// when the hub has neither the record nor any item of it.
    pub async fn record(
        &self,
        table: TableId,
        record_id: String,
    ) -> Result<Option<DueRecord>, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            // One query per status, so each uses an index (the PENDING one the
            // partial unique index; the others the status index, few rows).
            let mut items: Vec<Open> = Vec::new();
            for status in ["PENDING", "RETRY", "FAILED", "PROCESSING"] {
                items.extend(
                    tx.prepare_cached(&format!(
                        "SELECT {OPEN_COLUMNS} FROM sync_queue WHERE table_name = ?1 AND record_id = ?2
                           AND status = '{status}'"
                    ))?
                    .query_map(params![table.name(), record_id], open_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                );
            }
            items.sort_by_key(|i| i.id);
            let row = load_row(&tx, table, &record_id)?;
            let shop_id = match (&row, items.first()) {
                (Some(r), _) => r.shop_id.clone(),
                (None, Some(i)) => i.shop_id.clone(),
                (None, None) => return Ok(None),
            };
            let last: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(max(seq), 0) FROM change_log WHERE table_name = ?1 AND record_id = ?2",
                )?
                .query_row(params![table.name(), record_id], |r| r.get(0))?;
            let rec = build(&tx, table, record_id, shop_id, items, Some(last), row)?;
            tx.commit()?;
            Ok(Some(rec))
        })
        .await
    }

    /// Marks records whose push reached the cloud: their read items COMPLETED (a
    /// PENDING item only if no write coalesced into it meanwhile), older RETRY and
    /// FAILED items of the record that the push covers too, and the record's
    /// pushed watermark.
    pub async fn complete(&self, done: Vec<DueRecord>, now: String) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut n = 0i64;
            for rec in &done {
                for it in &rec.items {
                    n += tx
                        .prepare_cached(
                            "UPDATE sync_queue SET status = 'COMPLETED', last_error = NULL,
                                    next_attempt_at = NULL, updated_at = ?3
                              WHERE id = ?1 AND change_seq = ?2 AND status <> 'COMPLETED'",
                        )?
                        .execute(params![it.id, it.change_seq, now])?
                        as i64;
                }
                n += tx
                    .prepare_cached(
                        "UPDATE sync_queue SET status = 'COMPLETED', updated_at = ?4
                          WHERE table_name = ?1 AND record_id = ?2 AND change_seq <= ?3
                            AND status IN ('RETRY', 'FAILED')",
                    )?
                    .execute(params![rec.table.name(), rec.record_id, rec.seq, now])?
                    as i64;
                tx.prepare_cached(
                    "INSERT INTO sync_pushed (table_name, record_id, change_seq) VALUES (?1, ?2, ?3)
                     ON CONFLICT (table_name, record_id) DO UPDATE
                       SET change_seq = max(change_seq, excluded.change_seq)",
                )?
                .execute(params![rec.table.name(), rec.record_id, rec.seq])?;
            }
            add_state(&tx, "total_processed", n)?;
            set_state_tx(&tx, "last_sync", &now)?;
            prune_history(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
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
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
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
                    add_state(&tx, "total_failed", 1)?;
                }
                tx.commit()?;
                return Ok(());
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
                add_state(&tx, "total_failed", 1)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    /// Makes FAILED items (all, or those of `ids`) due again with fresh attempts.
    /// Returns how many.
    pub async fn retry_failed(
        &self,
        ids: Option<Vec<i64>>,
        now: String,
    ) -> Result<usize, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let sql =
                "UPDATE sync_queue SET status = 'RETRY', attempts = 0, next_attempt_at = NULL,
                              updated_at = ?1
                        WHERE status = 'FAILED'";
            let n = match ids {
                None => tx.execute(sql, params![now])?,
                Some(ids) => {
                    let mut n = 0;
                    for id in ids {
                        n += tx.execute(&format!("{sql} AND id = ?2"), params![now, id])?;
                    }
                    n
                }
            };
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Removes COMPLETED or FAILED items (all of that status, or only those of
    /// `ids` that have it). PENDING and RETRY items are never removed; the change
    /// log and the records are never touched. Returns how many were removed.
    pub async fn clear(
        &self,
        which: Clearable,
        ids: Option<Vec<i64>>,
    ) -> Result<usize, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let n = match ids {
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
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Queues every record that exists now and has no open item, as BULK_CREATE
    /// (the first upload), `chunk` records per transaction so the writer is never
    /// held up long. Resumes from the position kept in `sync_state`. Returns the
    /// number queued by this call.
    pub async fn enqueue_existing(&self, chunk: usize, now: String) -> Result<i64, StoreError> {
        self.with(move |c| {
            let mut queued = 0i64;
            for table in TableId::all() {
                loop {
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let key = format!("initial_upload_after:{}", table.name());
                    let after = get_state_tx(&tx, &key)?.unwrap_or_default();
                    if after == "done" {
                        break;
                    }
                    let ids: Vec<(String, String)> = tx
                        .prepare(&format!(
                            "SELECT id, shop_id FROM {} WHERE id > ?1 ORDER BY id LIMIT ?2",
                            table.name()
                        ))?
                        .query_map(params![after, chunk as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect::<rusqlite::Result<_>>()?;
                    let Some((last, _)) = ids.last().cloned() else {
                        set_state_tx(&tx, &key, "done")?;
                        tx.commit()?;
                        break;
                    };
                    let mut n_chunk = 0i64;
                    for (id, shop) in &ids {
                        let seq: i64 = tx
                            .prepare_cached(
                                "SELECT coalesce(max(seq), 0) FROM change_log
                                  WHERE table_name = ?1 AND record_id = ?2",
                            )?
                            .query_row(params![table.name(), id], |r| r.get(0))?;
                        let n = tx
                            .prepare_cached(
                                "INSERT INTO sync_queue (shop_id, table_name, record_id, operation,
                                   status, change_seq, created_at, updated_at)
                                 SELECT ?1, ?2, ?3, 'BULK_CREATE', 'PENDING', ?4, ?5, ?5
                                  WHERE NOT EXISTS (SELECT 1 FROM sync_queue WHERE table_name = ?2
                                          AND record_id = ?3 AND status = 'PENDING')
                                    AND NOT EXISTS (SELECT 1 FROM sync_queue WHERE status = 'RETRY'
                                          AND table_name = ?2 AND record_id = ?3)
                                    AND NOT EXISTS (SELECT 1 FROM sync_queue WHERE status = 'FAILED'
                                          AND table_name = ?2 AND record_id = ?3)",
                            )?
                            .execute(params![shop, table.name(), id, seq, now])?
                            as i64;
                        n_chunk += n;
                    }
                    queued += n_chunk;
                    set_state_tx(&tx, &key, &last)?;
                    tx.commit()?;
                }
            }
            Ok(queued)
        })
        .await
    }

    // ------------------------------------------------------------ reads for the API

    /// Items, newest first, optionally of one status.
    pub async fn items(
        &self,
        status: Option<String>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        self.with(move |c| {
            let rows = match status {
                Some(s) => c
                    .prepare_cached(&format!(
                        "SELECT {ITEM_COLUMNS} FROM sync_queue WHERE status = ?1
                          ORDER BY id DESC LIMIT ?2 OFFSET ?3"
                    ))?
                    .query_map(params![s, limit as i64, offset as i64], item_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                None => c
                    .prepare_cached(&format!(
                        "SELECT {ITEM_COLUMNS} FROM sync_queue ORDER BY id DESC LIMIT ?1 OFFSET ?2"
                    ))?
                    .query_map(params![limit as i64, offset as i64], item_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
            };
            Ok(rows)
        })
        .await
    }

    pub async fn counts(&self) -> Result<QueueCounts, StoreError> {
        self.with(|c| {
            let mut out = QueueCounts::default();
            let mut stmt = c.prepare_cached(
                "SELECT status, count(*) FROM sync_queue INDEXED BY sync_queue_by_status GROUP BY status",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (status, n) = row?;
                match status.as_str() {
                    "PENDING" => out.pending = n,
                    "PROCESSING" => out.processing = n,
                    "RETRY" => out.retry = n,
                    "FAILED" => out.failed = n,
                    "COMPLETED" => out.completed = n,
                    _ => {}
                }
            }
            out.oldest_open = c
                .prepare_cached(
                    "SELECT min(created_at) FROM (
                       SELECT created_at FROM sync_queue WHERE status = 'PENDING'
                       UNION ALL SELECT created_at FROM sync_queue WHERE status = 'RETRY')",
                )?
                .query_row([], |r| r.get(0))?;
            Ok(out)
        })
        .await
    }

    /// Marks the end of the first upload's scope: every item queued so far (the
    /// records that existed, and earlier writes not yet pushed). Its total is
    /// the number of those items still open now.
    pub async fn seal_initial_upload(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let last: i64 =
                tx.query_row("SELECT coalesce(max(id), 0) FROM sync_queue", [], |r| {
                    r.get(0)
                })?;
            let total = open_up_to(&tx, last)?;
            set_state_tx(&tx, "initial_upload_last_id", &last.to_string())?;
            set_state_tx(&tx, "initial_upload_total", &total.to_string())?;
            tx.commit()?;
            Ok(total)
        })
        .await
    }

    /// Items of the first upload's scope not yet in the cloud.
    pub async fn initial_upload_left(&self) -> Result<i64, StoreError> {
        self.with(|c| match get_state_tx(c, "initial_upload_last_id")? {
            Some(last) => Ok(open_up_to(c, last.parse().unwrap_or(0))?),
            None => Ok(0),
        })
        .await
    }

    /// When the earliest RETRY item comes due.
    pub async fn next_retry(&self) -> Result<Option<String>, StoreError> {
        self.with(|c| {
            Ok(c.prepare_cached(
                "SELECT min(coalesce(next_attempt_at, '')) FROM sync_queue WHERE status = 'RETRY'",
            )?
            .query_row([], |r| r.get(0))?)
        })
        .await
    }

    // ------------------------------------------------------------ secrets and state

    pub async fn secrets(&self) -> Result<BTreeMap<String, String>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached("SELECT name, value FROM hub_secrets")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<BTreeMap<String, String>>>()?)
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) each named secret, all in one transaction.
    pub async fn set_secrets(
        &self,
        changes: Vec<(String, Option<String>)>,
        now: String,
    ) -> Result<(), StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for (name, value) in changes {
                match value {
                    Some(v) => tx.execute(
                        "INSERT INTO hub_secrets (name, value, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        params![name, v, now],
                    )?,
                    None => tx.execute("DELETE FROM hub_secrets WHERE name = ?1", params![name])?,
                };
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub async fn state(&self) -> Result<HashMap<String, String>, StoreError> {
        self.with(|c| {
            let mut stmt = c.prepare_cached("SELECT key, value FROM sync_state")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<HashMap<String, String>>>()?)
        })
        .await
    }

    /// Sets (`Some`) or removes (`None`) a sync-state value.
    pub async fn set_state(&self, key: String, value: Option<String>) -> Result<(), StoreError> {
        self.with(move |c| {
            match value {
                Some(v) => set_state_tx(c, &key, &v)?,
                None => {
                    c.execute("DELETE FROM sync_state WHERE key = ?1", params![key])?;
                }
            }
            Ok(())
        })
        .await
    }

    /// The value of `key`, made and kept with `make` the first time.
    pub async fn state_or_init(
        &self,
        key: String,
        make: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let v = match get_state_tx(&tx, &key)? {
                Some(v) => v,
                None => {
                    let v = make();
                    set_state_tx(&tx, &key, &v)?;
                    v
                }
            };
            tx.commit()?;
            Ok(v)
        })
        .await
    }
}

fn open_up_to(c: &Connection, last: i64) -> rusqlite::Result<i64> {
    c.prepare_cached(
        "SELECT count(*) FROM sync_queue WHERE id <= ?1 AND status IN ('PENDING', 'RETRY', 'FAILED')",
    )?
    .query_row([last], |r| r.get(0))
}

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

/// Keeps the newest [`HISTORY_KEEP`] completed items.
fn prune_history(c: &Connection) -> rusqlite::Result<()> {
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

fn load_row(c: &Connection, table: TableId, id: &str) -> rusqlite::Result<Option<Record>> {
    c.prepare_cached(&format!("{} WHERE t.id = ?1", sql(table).select))?
        .query_row([id], |r| read_row(table, r))
        .optional()
}

/// Builds the push of one record from its open items.
fn build(
    c: &Connection,
    table: TableId,
    record_id: String,
    shop_id: String,
    items: Vec<Open>,
    seq_floor: Option<i64>,
    row: Option<Record>,
) -> Result<DueRecord, StoreError> {
    let seq = items
        .iter()
        .map(|i| i.change_seq)
        .chain(seq_floor)
        .max()
        .unwrap_or(0);
    let pushed: i64 = c
        .prepare_cached(
            "SELECT change_seq FROM sync_pushed WHERE table_name = ?1 AND record_id = ?2",
        )?
        .query_row(params![table.name(), record_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    let changes = c
        .prepare_cached(
            "SELECT seq, shop_id, table_name, record_id, change_hash, actor, author_id, bytes, created_at
               FROM change_log WHERE table_name = ?1 AND record_id = ?2 AND seq > ?3 AND seq <= ?4
              ORDER BY seq",
        )?
        .query_map(params![table.name(), record_id, pushed, seq], |r| {
            Ok(ChangeEntry {
                seq: r.get(0)?,
                shop_id: r.get(1)?,
                table_name: r.get(2)?,
                record_id: r.get(3)?,
                change_hash: r.get(4)?,
                actor: r.get(5)?,
                author_id: r.get(6)?,
                bytes: r.get(7)?,
                created_at: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let operation = items
        .iter()
        .max_by_key(|i| i.change_seq)
        .map(|i| i.operation.clone())
        .unwrap_or_else(|| if row.is_some() { "UPDATE" } else { "DELETE" }.into());
    Ok(DueRecord {
        table,
        record_id,
        shop_id,
        operation,
        items: items
            .into_iter()
            .map(|i| ItemRef {
                id: i.id,
                status: i.status,
                change_seq: i.change_seq,
                attempts: i.attempts,
            })
            .collect(),
        seq,
        state: match row {
            Some(r) => RowState::Upsert(r),
            None => RowState::Delete,
        },
        changes,
    })
}

fn gather_due(c: &Connection, now: &str, limit: usize) -> Result<Vec<DueRecord>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    // Every RETRY item (few: only records whose push failed), by record.
    let mut retries: HashMap<(String, String), Vec<Open>> = HashMap::new();
    {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT {OPEN_COLUMNS} FROM sync_queue WHERE status = 'RETRY' ORDER BY id"
        ))?;
        for o in stmt.query_map([], open_row)? {
            let o = o?;
            retries
                .entry((o.table_name.clone(), o.record_id.clone()))
                .or_default()
                .push(o);
        }
    }
    let is_due = |items: &[Open]| {
        items
            .iter()
            .all(|i| i.next_attempt_at.as_deref().is_none_or(|t| t <= now))
    };
    // Candidates in queue order: PENDING items (by the status index) and due
    // RETRY items, merged by id.
    let mut picked: Vec<(String, String)> = Vec::new();
    let mut seen: std::collections::HashSet<(String, String)> = Default::default();
    let mut retry_heads: Vec<(i64, (String, String))> = retries
        .iter()
        .filter(|(_, items)| is_due(items))
        .filter_map(|(k, items)| items.iter().map(|i| i.id).min().map(|id| (id, k.clone())))
        .collect();
    retry_heads.sort();
    let mut retry_heads = retry_heads.into_iter().peekable();
    let mut after = 0i64;
    let chunk = (limit * 2).max(64) as i64;
    'outer: loop {
        let pending: Vec<(i64, String, String)> = c
            .prepare_cached(
                "SELECT id, table_name, record_id FROM sync_queue
                  WHERE status = 'PENDING' AND id > ?1 ORDER BY id LIMIT ?2",
            )?
            .query_map(params![after, chunk], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let exhausted = (pending.len() as i64) < chunk;
        for (id, t, r) in pending {
            after = id;
            while let Some((rid, _)) = retry_heads.peek() {
                if *rid > id {
                    break;
                }
                if let Some((_, k)) = retry_heads.next() {
                    if seen.insert(k.clone()) {
                        picked.push(k);
                    }
                }
                if picked.len() >= limit {
                    break 'outer;
                }
            }
            let k = (t, r);
            if seen.contains(&k) {
                continue;
            }
            if retries.get(&k).is_some_and(|items| !is_due(items)) {
                continue; // held behind its own earlier, not yet due, item
            }
            seen.insert(k.clone());
            picked.push(k);
            if picked.len() >= limit {
                break 'outer;
            }
        }
        if exhausted {
            for (_, k) in retry_heads.by_ref() {
                if picked.len() >= limit {
                    break;
                }
                if seen.insert(k.clone()) {
                    picked.push(k);
                }
            }
            break;
        }
    }
    let mut out = Vec::with_capacity(picked.len());
    for (t, r) in picked {
        let Some(table) = TableId::by_name(&t) else {
            continue; // not a table of this build: nothing to push
        };
        let mut items = retries.remove(&(t.clone(), r.clone())).unwrap_or_default();
        if let Some(p) = c
            .prepare_cached(&format!(
                "SELECT {OPEN_COLUMNS} FROM sync_queue WHERE table_name = ?1 AND record_id = ?2
                   AND status = 'PENDING'"
            ))?
            .query_row(params![t, r], open_row)
            .optional()?
        {
            items.push(p);
        }
        let Some(shop_id) = items.first().map(|i| i.shop_id.clone()) else {
            continue;
        };
        let row = load_row(c, table, &r)?;
        out.push(build(c, table, r, shop_id, items, None, row)?);
    }
    Ok(out)
}
