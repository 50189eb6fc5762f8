//! The first upload's queuing, the API's reads, hub-only secrets and sync state.

use super::{get_state_tx, open_up_to, set_state_tx, Queue, QueueCounts, QueueItem};
use crate::domain::TableId;
use crate::store::StoreError;
use rusqlite::{params, Connection};
use std::collections::{BTreeMap, HashMap};

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

/// Queues the next `chunk` records of `table` after the kept position (see
/// [`Queue::enqueue_existing`]); -1 when the table has no more. `deleted`:
/// the records deleted on the hub instead of those that exist, each queued as
/// its DELETE (its whole history, and the delete of a row the cloud may have).
fn enqueue_chunk(
    tx: &Connection,
    table: TableId,
    deleted: bool,
    chunk: usize,
    now: &str,
) -> Result<i64, StoreError> {
    // The deleted are read from the documents, `chunk` of them at a time
    // whether deleted or not, so no job scans a whole table for a few. The
    // table's name is a catalog name, never input.
    let (key, sql, operation) = match deleted {
        false => (
            format!("initial_upload_after:{}", table.name()),
            format!(
                "SELECT id, shop_id, 1 FROM {} WHERE id > ?1 ORDER BY id LIMIT ?2",
                table.name()
            ),
            "BULK_CREATE",
        ),
        true => (
            format!("initial_upload_after:{}:deleted", table.name()),
            format!(
                "SELECT record_id, shop_id, deleted FROM crdt_docs
                  WHERE table_name = '{}' AND record_id > ?1
                  ORDER BY record_id LIMIT ?2",
                table.name()
            ),
            "DELETE",
        ),
    };
    let after = get_state_tx(tx, &key)?.unwrap_or_default();
    if after == "done" {
        return Ok(-1);
    }
    let ids: Vec<(String, String, bool)> = tx
        .prepare(&sql)?
        .query_map(params![after, chunk as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let Some((last, _, _)) = ids.last().cloned() else {
        set_state_tx(tx, &key, "done")?;
        return Ok(-1);
    };
    let mut n_chunk = 0i64;
    for (id, shop, _) in ids.iter().filter(|(_, _, wanted)| *wanted) {
        let seq: i64 = tx
            .prepare_cached(
                "SELECT coalesce(max(seq), 0) FROM change_log
                  WHERE table_name = ?1 AND record_id = ?2",
            )?
            .query_row(params![table.name(), id], |r| r.get(0))?;
        n_chunk +=
            tx.prepare_cached(
                "INSERT INTO sync_queue (shop_id, table_name, record_id, operation,
                   status, change_seq, created_at, updated_at)
                 SELECT ?1, ?2, ?3, ?6, 'PENDING', ?4, ?5, ?5
                  WHERE NOT EXISTS (SELECT 1 FROM sync_queue WHERE table_name = ?2
                          AND record_id = ?3 AND status = 'PENDING')
                    AND NOT EXISTS (SELECT 1 FROM sync_queue WHERE status = 'RETRY'
                          AND table_name = ?2 AND record_id = ?3)
                    AND NOT EXISTS (SELECT 1 FROM sync_queue WHERE status = 'FAILED'
                          AND table_name = ?2 AND record_id = ?3)",
            )?
            .execute(params![shop, table.name(), id, seq, now, operation])? as i64;
    }
    set_state_tx(tx, &key, &last)?;
    Ok(n_chunk)
}

/// Why the first upload ran again, when the cloud is another one.
pub const ANOTHER_CLOUD: &str = "this is not the cloud the first upload went to";

/// Forgets every record's pushed watermark (its next push carries all its
/// changes), undoes the first upload so it runs again, and makes FAILED or
/// RETRY items due now with no attempt spent (their failures were the other
/// cloud's, or the lost one's). When and `because` are kept for the status
/// (`upload_restarted_at`, `upload_restarted_because`).
fn start_over_tx(tx: &Connection, because: &str, now: &str) -> Result<(), StoreError> {
    tx.execute("DELETE FROM sync_pushed", [])?;
    tx.execute(
        "DELETE FROM sync_state WHERE key IN ('initial_upload', 'initial_upload_last_id',
           'initial_upload_total', 'last_error', 'last_error_at', ?1)
            OR key LIKE 'initial_upload_after:%'",
        [super::DELIVERED],
    )?;
    tx.execute(
        "UPDATE sync_queue SET status = 'RETRY', attempts = 0, next_attempt_at = NULL,
                last_error = NULL
          WHERE status IN ('FAILED', 'RETRY')",
        [],
    )?;
    set_state_tx(tx, "upload_restarted_at", now)?;
    set_state_tx(tx, "upload_restarted_because", because)?;
    Ok(())
}

impl Queue {
    /// The first upload, once per hub: from here on every write queues itself
    /// ([`Queue::start_queueing`]), then every record that exists is queued
    /// ([`Queue::enqueue_existing`], resumably) and the upload's scope sealed.
    /// In this order, each record is either queued by its write or seen by the
    /// scan. A no-op once it has completed.
    pub async fn queue_first_upload(&self, now: String) -> Result<(), StoreError> {
        let state = self.state().await?;
        if state.get("initial_upload").map(String::as_str) == Some("queued") {
            return Ok(());
        }
        self.start_queueing().await?;
        self.set_state("initial_upload".into(), Some("queuing".into()))
            .await?;
        self.enqueue_existing(2000, now).await?;
        self.seal_initial_upload().await?;
        self.set_state("initial_upload".into(), Some("queued".into()))
            .await
    }

    /// Notes the cloud the hub pushes to (`target`, [`crate::sync::config::cloud_target`]).
    /// When it is not the cloud the first upload went to, everything starts
    /// again for the new one, in one transaction: every record's pushed
    /// watermark is forgotten (its push carries all its changes), the first
    /// upload is undone so it runs again, and FAILED or RETRY items are due
    /// now with no attempt spent (their failures were the other cloud's).
    /// The change log's cursor stays: entries past it are still waiting, and
    /// the upload covers those before it. Returns whether it started again.
    pub async fn retarget(&self, target: String, now: String) -> Result<bool, StoreError> {
        self.write(move |tx| {
            let before = get_state_tx(tx, "cloud_target")?;
            if before.as_deref() == Some(target.as_str()) {
                return Ok(0);
            }
            set_state_tx(tx, "cloud_target", &target)?;
            // The first cloud, or one named before the hub kept its target.
            if before.is_none() || get_state_tx(tx, "initial_upload")?.is_none() {
                return Ok(0);
            }
            start_over_tx(tx, ANOTHER_CLOUD, &now)?;
            Ok(1)
        })
        .await
        .map(|n| n == 1)
    }

    /// The same cloud lost what the hub sent it (restored in place from an
    /// older backup): everything starts again for it, as for a new cloud
    /// ([`Queue::retarget`]), and [`Queue::queue_first_upload`] then queues
    /// every record again.
    pub async fn start_over(&self, because: &'static str, now: String) -> Result<(), StoreError> {
        self.write(move |tx| {
            start_over_tx(tx, because, &now)?;
            Ok(0)
        })
        .await
        .map(drop)
    }

    /// The newest change a push delivered ([`super::DELIVERED`]): its record
    /// id and hash, or `None` before the first push to this cloud.
    pub async fn delivered(&self) -> Result<Option<(String, String)>, StoreError> {
        let value = self
            .with(|c| Ok(get_state_tx(c, super::DELIVERED)?))
            .await?;
        Ok(value.and_then(|v| {
            v.split_once(' ')
                .map(|(id, hash)| (id.to_string(), hash.to_string()))
        }))
    }

    /// Queues every record that exists now and has no open item, as BULK_CREATE
    /// (the first upload), then every record deleted on the hub, as its DELETE
    /// (so its history reaches the cloud, and a row the cloud still has of it
    /// goes), `chunk` records per transaction so the writer is never
    /// held up long. Resumes from the position kept in `sync_state`. Returns the
    /// number queued by this call.
    pub async fn enqueue_existing(&self, chunk: usize, now: String) -> Result<i64, StoreError> {
        let mut queued = 0i64;
        for (table, deleted) in TableId::all().flat_map(|t| [(t, false), (t, true)]) {
            loop {
                let now = now.clone();
                // One writer job per chunk: -1 once the table is done.
                let n = self
                    .write(move |tx| enqueue_chunk(tx, table, deleted, chunk, &now))
                    .await?;
                if n < 0 {
                    break;
                }
                queued += n;
            }
        }
        Ok(queued)
    }

    // ------------------------------------------------------------ reads for the API

    /// Items, newest first, optionally of one status. The changes past the
    /// change log's cursor come first, as PENDING items of their own (each
    /// with the negated `seq` as its id, never an item's): they are the
    /// newest, and they wait as PENDING items do.
    pub async fn items(
        &self,
        status: Option<String>,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<QueueItem>, StoreError> {
        self.with(move |c| {
            let mut rows = Vec::new();
            let mut offset = offset as i64;
            if status.as_deref().is_none_or(|s| s == "PENDING") {
                rows = super::log::waiting(c, limit as i64, offset)?;
                // Items follow the log's changes: from the first item when this
                // page holds changes, else past the changes the offset skips.
                offset = if rows.is_empty() && offset > 0 {
                    (offset - super::log::unread(c)?.0).max(0)
                } else {
                    0
                };
            }
            let limit = (limit - rows.len()) as i64;
            if limit == 0 {
                return Ok(rows);
            }
            match status {
                Some(s) => rows.extend(
                    c.prepare_cached(&format!(
                        "SELECT {ITEM_COLUMNS} FROM sync_queue WHERE status = ?1
                          ORDER BY id DESC LIMIT ?2 OFFSET ?3"
                    ))?
                    .query_map(params![s, limit, offset], item_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                ),
                None => rows.extend(
                    c.prepare_cached(&format!(
                        "SELECT {ITEM_COLUMNS} FROM sync_queue ORDER BY id DESC LIMIT ?1 OFFSET ?2"
                    ))?
                    .query_map(params![limit, offset], item_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?,
                ),
            }
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
            let oldest_item: Option<String> = c
                .prepare_cached(
                    "SELECT min(created_at) FROM (
                       SELECT created_at FROM sync_queue WHERE status = 'PENDING'
                       UNION ALL SELECT created_at FROM sync_queue WHERE status = 'RETRY')",
                )?
                .query_row([], |r| r.get(0))?;
            // Changes past the change log's cursor wait as PENDING ones do.
            let (unread, oldest_unread) = super::log::unread(c)?;
            out.pending += unread;
            out.oldest_open = match (oldest_item, oldest_unread) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            Ok(out)
        })
        .await
    }

    /// Marks the end of the first upload's scope: every item queued so far (the
    /// records that existed, and earlier writes not yet pushed). Its total is
    /// the number of those items still open now.
    pub async fn seal_initial_upload(&self) -> Result<i64, StoreError> {
        self.write(|tx| {
            let last: i64 =
                tx.query_row("SELECT coalesce(max(id), 0) FROM sync_queue", [], |r| {
                    r.get(0)
                })?;
            let total = open_up_to(tx, last)?;
            set_state_tx(tx, "initial_upload_last_id", &last.to_string())?;
            set_state_tx(tx, "initial_upload_total", &total.to_string())?;
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
        self.write(move |tx| {
            for (name, value) in &changes {
                match value {
                    Some(v) => tx.execute(
                        "INSERT INTO hub_secrets (name, value, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                        params![name, v, now],
                    )?,
                    None => tx.execute("DELETE FROM hub_secrets WHERE name = ?1", params![name])?,
                };
            }
            Ok(0)
        })
        .await?;
        Ok(())
    }

    /// From now on, every write waits for the cloud: the change log's cursor
    /// is set at its last entry (before, the first upload covers them). The
    /// first thing turning sync on does; never undone.
    pub async fn start_queueing(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            super::log::start(tx)?;
            Ok(0)
        })
        .await?;
        Ok(())
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
        self.set_states(vec![(key, value)]).await
    }

    /// Sets (`Some`) or removes (`None`) several sync-state values in one writer job.
    pub async fn set_states(
        &self,
        changes: Vec<(String, Option<String>)>,
    ) -> Result<(), StoreError> {
        self.write(move |c| {
            for (key, value) in &changes {
                match value {
                    Some(v) => set_state_tx(c, key, v)?,
                    None => {
                        c.execute("DELETE FROM sync_state WHERE key = ?1", params![key])?;
                    }
                }
            }
            Ok(0)
        })
        .await?;
        Ok(())
    }

    /// The value of `key`, made and kept with `make` the first time.
    pub async fn state_or_init(
        &self,
        key: String,
        make: impl FnOnce() -> String + Send + 'static,
    ) -> Result<String, StoreError> {
        let k = key.clone();
        if let Some(v) = self.with(move |c| Ok(get_state_tx(c, &k)?)).await? {
            return Ok(v);
        }
        let made = make();
        let k = key.clone();
        // Kept only if nobody set it meanwhile; the stored value is the answer.
        self.write(move |c| {
            c.prepare_cached(
                "INSERT INTO sync_state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            )?
            .execute(params![k, made])?;
            Ok(0)
        })
        .await?;
        self.with(move |c| {
            get_state_tx(c, &key)?
                .ok_or_else(|| StoreError::Internal(format!("sync state {key} was not kept")))
        })
        .await
    }
}
