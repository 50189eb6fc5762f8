//! Reading a batch: the due records, each with its state and unpushed changes.

use super::log::{self, Key, Met};
use super::{Batch, ChangeEntry, DueRecord, ItemRef, Queue, RowState};
use crate::domain::TableId;
use crate::store::records::{read_row, sql, Record};
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{HashMap, HashSet};

/// The change-log columns a [`ChangeEntry`] is read from, in
/// [`change_entry`]'s order.
pub const CHANGE_COLUMNS: &str =
    "seq, shop_id, table_name, record_id, author_id, bytes, created_at";

/// A change-log row selected as [`CHANGE_COLUMNS`]: the entry pushed to the
/// cloud, with the hash its bytes say, or (`Err`) the seq of one whose bytes
/// are not a change (damaged on disk).
pub fn change_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<ChangeEntry, i64>> {
    let (seq, bytes): (i64, Vec<u8>) = (r.get(0)?, r.get(5)?);
    let Some(ids) = crate::store::logged::change_ids(&bytes) else {
        return Ok(Err(seq));
    };
    Ok(Ok(ChangeEntry {
        seq,
        shop_id: r.get(1)?,
        table_name: r.get(2)?,
        record_id: r.get(3)?,
        change_hash: ids.hash,
        author_id: r.get(4)?,
        bytes,
        created_at: r.get(6)?,
    }))
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
    // ------------------------------------------------------------ the batch

    /// Up to `limit` records due at `now` (an instant as the store writes
    /// them), each with its state and unpushed changes: those with items due,
    /// oldest first, then those of the change log past the cursor (or past
    /// `log_from`, the end of the range of a batch read before and not marked
    /// yet). Records in `busy` (their push is under way) are left out.
    pub async fn due(
        &self,
        now: String,
        limit: usize,
        busy: HashSet<(TableId, String)>,
        log_from: Option<i64>,
    ) -> Result<Batch, StoreError> {
        self.with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let out = gather_due(&tx, &now, limit, &busy, log_from)?;
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
                (Some(r), _) => r.shop_id.to_string(),
                (None, Some(i)) => i.shop_id.clone(),
                (None, None) => return Ok(None),
            };
            let last: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(max(seq), 0) FROM change_log WHERE table_name = ?1 AND record_id = ?2",
                )?
                .query_row(params![table.name(), record_id], |r| r.get(0))?;
            let rec = build(&tx, table, record_id, shop_id, items, Some(last), row, None)?;
            tx.commit()?;
            Ok(Some(rec))
        })
        .await
    }
}

fn load_row(c: &Connection, table: TableId, id: &str) -> rusqlite::Result<Option<Record>> {
    c.prepare_cached(&format!("{} WHERE t.id = ?1", sql(table).select))?
        .query_row([id], |r| read_row(table, r))
        .optional()
}

/// Builds the push of one record from its open items and from the change
/// log's `log` entries if it was read there: the record's row as it is now,
/// and every change of it past its pushed watermark (`seq_floor` at least).
///
/// Every change, not only those up to the entry or item that brought the
/// record into the batch: the row pushed is the latest, and its changes are
/// what it is made of. The record's later entries in the log then find nothing
/// past the watermark and are passed over, so a backlog (an outage, the cloud
/// switched off for a while) pushes each record once however often it changed,
/// as the queue's coalescing did before the change log was the queue, and
/// the cloud's row is upserted once, not once per change.
#[allow(clippy::too_many_arguments)]
fn build(
    c: &Connection,
    table: TableId,
    record_id: String,
    shop_id: String,
    items: Vec<Open>,
    seq_floor: Option<i64>,
    row: Option<Record>,
    log: Option<Met>,
) -> Result<DueRecord, StoreError> {
    // The changes after the record's pushed watermark (one statement): a log
    // record's as the log read saw it (?3, in this transaction), anyone
    // else's read here.
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {CHANGE_COLUMNS}
               FROM change_log WHERE table_name = ?1 AND record_id = ?2
                AND seq > coalesce(?3, (SELECT change_seq FROM sync_pushed
                                         WHERE table_name = ?1 AND record_id = ?2), 0)
              ORDER BY seq"
        )
    });
    let mut stmt = c.prepare_cached(&SQL)?;
    let rows = stmt.query_map(
        params![table.name(), record_id, log.as_ref().map(|m| m.pushed)],
        change_entry,
    )?;
    // A damaged change holds back its record alone, never the whole queue,
    // and is never sent under a made-up hash: the record goes to FAILED
    // saying which change it is.
    let mut changes = Vec::new();
    let mut damaged = None;
    let mut last_seq = None;
    for row in rows {
        match row? {
            Ok(entry) => {
                last_seq = Some(entry.seq);
                changes.push(entry);
            }
            Err(seq) => {
                last_seq = Some(seq);
                damaged.get_or_insert_with(|| {
                    format!(
                        "change {seq} of this record in the hub's change log is damaged (its \
                         bytes are not an Automerge change), so the record was not sent; the \
                         hub keeps it as it is: restore the hub from a backup to repair it"
                    )
                });
            }
        }
    }
    if damaged.is_some() {
        changes.clear();
    }
    let seq = items
        .iter()
        .map(|i| i.change_seq)
        .chain(seq_floor)
        .chain(last_seq)
        .max()
        .unwrap_or(0);
    let operation = if row.is_none() {
        "DELETE".into() // whatever brought it here, the push is its delete
    } else {
        items
            .iter()
            .max_by_key(|i| i.change_seq)
            .map(|i| i.operation.clone())
            .or_else(|| log.as_ref().map(|m| m.operation.clone()))
            .unwrap_or_else(|| "UPDATE".into())
    };
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
        logged_at: log.map(|m| m.created_at),
        damaged,
    })
}

fn gather_due(
    c: &Connection,
    now: &str,
    limit: usize,
    busy: &HashSet<(TableId, String)>,
    log_from: Option<i64>,
) -> Result<Batch, StoreError> {
    if limit == 0 {
        return Ok(Batch::default());
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
    // The PENDING item of each picked record, as the scan read it.
    let mut pending_of: HashMap<(String, String), Open> = HashMap::new();
    // Records in flight count as seen: never picked.
    let mut seen: HashSet<(String, String)> = busy
        .iter()
        .map(|(t, r)| (t.name().to_string(), r.clone()))
        .collect();
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
        let pending: Vec<Open> = c
            .prepare_cached(&format!(
                "SELECT {OPEN_COLUMNS} FROM sync_queue
                  WHERE status = 'PENDING' AND id > ?1 ORDER BY id LIMIT ?2"
            ))?
            .query_map(params![after, chunk], open_row)?
            .collect::<rusqlite::Result<_>>()?;
        let exhausted = (pending.len() as i64) < chunk;
        for item in pending {
            let id = item.id;
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
            let k = (item.table_name.clone(), item.record_id.clone());
            if seen.contains(&k) {
                // Already picked (a due RETRY item): its PENDING item joins it.
                if picked.contains(&k) {
                    pending_of.insert(k, item);
                }
                continue;
            }
            if retries.get(&k).is_some_and(|items| !is_due(items)) {
                continue; // held behind its own earlier, not yet due, item
            }
            seen.insert(k.clone());
            pending_of.insert(k.clone(), item);
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
    // The change log past the cursor fills the rest of the batch.
    let mut found = None;
    if let (Some(cursor), true) = (log::cursor(c)?, picked.len() < limit) {
        let from = cursor.max(log_from.unwrap_or(0));
        let picked_set: HashSet<Key> = picked.iter().cloned().collect();
        // The scan above read every PENDING item (the log is read only when it
        // ran out before the limit): each one's record is picked, in flight
        // (`seen`) or held behind a RETRY item (`retries`), so these two sets
        // say which records of the log have an open item not in this batch.
        let held = |k: &Key| seen.contains(k) || retries.contains_key(k);
        found = Some(log::read(
            c,
            from,
            limit - picked.len(),
            &picked_set,
            &held,
        )?);
    }
    let full = picked.len() + found.as_ref().map_or(0, |f| f.records.len()) >= limit;
    let mut out = Vec::with_capacity(limit);
    for (t, r) in picked {
        let Some(table) = TableId::by_name(&t) else {
            continue; // not a table of this build: nothing to push
        };
        let key = (t.clone(), r.clone());
        let mut items = retries.remove(&key).unwrap_or_default();
        match pending_of.remove(&key) {
            Some(p) => items.push(p),
            // A due RETRY record whose PENDING item (if any) the scan did not reach.
            None => {
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
            }
        }
        let Some(shop_id) = items.first().map(|i| i.shop_id.clone()) else {
            continue;
        };
        let floor = found.as_ref().and_then(|f| f.floors.get(&key).copied());
        let row = load_row(c, table, &r)?;
        out.push(build(c, table, r, shop_id, items, floor, row, None)?);
    }
    let Some(found) = found else {
        return Ok(Batch {
            records: out,
            log: None,
            full,
        });
    };
    for met in found.records {
        let Some(table) = TableId::by_name(&met.table_name) else {
            continue;
        };
        let row = load_row(c, table, &met.record_id)?;
        let (r, shop, seq) = (met.record_id.clone(), met.shop_id.clone(), met.seq);
        let first = met.first;
        let mut rec = build(c, table, r, shop, Vec::new(), Some(seq), row, Some(met))?;
        match rec.changes.first() {
            // Damaged: not pushed, but marked FAILED with the range, so the
            // range never passes over it.
            None if rec.damaged.is_some() => {}
            // No change past the record's pushed watermark: the cloud has it
            // already (pushed on request, or written by the cloud itself).
            None => continue,
            // The cloud has its first changes in the range: not a create there.
            Some(c) if c.seq > first && rec.operation == "CREATE" => {
                rec.operation = "UPDATE".into();
            }
            Some(_) => {}
        }
        out.push(rec);
    }
    Ok(Batch {
        records: out,
        log: Some(found.read),
        full,
    })
}
