//! The change log as the queue's source: every entry past the cursor
//! (`log_cursor` in `sync_state`) is waiting for the cloud, so a write adds
//! nothing to the queue on the write path.
//!
//! A batch reads the entries after the cursor in `seq` order and takes each
//! record it meets once (its latest entry in the range decides how far its push
//! goes). A record whose push is under way, or that has an open item (a RETRY
//! not yet due, or a PENDING one the batch did not take), is passed over: its
//! entries become a PENDING item when the batch is marked ([`LogRead::folds`]),
//! so it is pushed after what it waits for, in order. The cursor moves to the
//! end of the range in the same writer job as the batch's marks, never before:
//! a batch that does not reach the cloud leaves the cursor where it was, and
//! the same range is read again.

use rusqlite::{params, Connection, OptionalExtension};
use std::collections::{HashMap, HashSet};

use crate::domain::TableId;
use crate::store::StoreError;

/// A record's place in the queue: its table and id.
pub(super) type Key = (String, String);

/// What a batch read from the change log, marked with the batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRead {
    /// The cursor the range starts after.
    pub from: i64,
    /// The last entry of the range: the cursor once the batch is marked.
    pub upto: i64,
    /// Records met in the range but not in this batch's push.
    pub folds: Vec<Met>,
}

impl LogRead {
    /// Whether marking it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.upto <= self.from && self.folds.is_empty()
    }
}

/// A record as the range shows it: its entries folded into one.
#[derive(Debug, Clone, PartialEq)]
pub struct Met {
    pub shop_id: String,
    pub table_name: String,
    pub record_id: String,
    /// CREATE, UPDATE or DELETE, coalesced as the queue coalesces items.
    pub operation: String,
    /// Its latest entry in the range.
    pub seq: i64,
    /// Its first entry in the range.
    pub first: i64,
    /// When its first entry in the range was written.
    pub created_at: String,
    /// Its pushed watermark (`sync_pushed.change_seq`, 0 when none) as the
    /// read saw it: the push carries its changes after this one.
    pub pushed: i64,
}

impl Met {
    fn merge(&mut self, op: &str, seq: i64) {
        self.operation = coalesce(&self.operation, op).to_string();
        self.seq = self.seq.max(seq);
    }
}

/// The queue's operation for a change-log op.
fn queue_op(op: &str) -> &'static str {
    match op {
        "create" => "CREATE",
        "delete" => "DELETE",
        _ => "UPDATE",
    }
}

/// The operation of an item after a later change: a delete wins, a create stays
/// a create, anything else is the later change.
fn coalesce<'a>(earlier: &'a str, later: &'a str) -> &'a str {
    if later == "DELETE" {
        later
    } else if earlier == "CREATE" || earlier == "BULK_CREATE" {
        earlier
    } else {
        later
    }
}

/// The change log's cursor, or `None` before sync was ever switched on.
pub(super) fn cursor(c: &Connection) -> rusqlite::Result<Option<i64>> {
    Ok(super::get_state_tx(c, "log_cursor")?.and_then(|v| v.parse().ok()))
}

/// Entries past the cursor: how many, and when the oldest was written.
pub(super) fn unread(c: &Connection) -> rusqlite::Result<(i64, Option<String>)> {
    let Some(from) = cursor(c)? else {
        return Ok((0, None));
    };
    c.prepare_cached(
        "SELECT count(*),
                (SELECT created_at FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT 1)
           FROM change_log WHERE seq > ?1",
    )?
    .query_row([from], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// The changes past the cursor as PENDING items, newest first (`limit` from
/// `offset`), each with `-seq` as its id.
pub(super) fn waiting(
    c: &Connection,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Vec<super::QueueItem>> {
    let Some(from) = cursor(c)? else {
        return Ok(Vec::new());
    };
    c.prepare_cached(
        "SELECT seq, shop_id, table_name, record_id, op, created_at FROM change_log
          WHERE seq > ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3",
    )?
    .query_map(params![from, limit, offset], Entry::read)?
    .map(|e| {
        let e = e?;
        Ok(super::QueueItem {
            id: -e.seq,
            shop_id: e.shop_id,
            table_name: e.table_name,
            record_id: e.record_id,
            operation: queue_op(&e.op).to_string(),
            status: "PENDING".into(),
            attempts: 0,
            last_error: None,
            change_seq: e.seq,
            next_attempt_at: None,
            updated_at: e.created_at.clone(),
            created_at: e.created_at,
        })
    })
    .collect()
}

/// A change-log entry as the queue reads it: both statements that read
/// entries select these six columns, in this order.
struct Entry {
    seq: i64,
    shop_id: String,
    table_name: String,
    record_id: String,
    op: String,
    created_at: String,
}

impl Entry {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
        Ok(Entry {
            seq: r.get(0)?,
            shop_id: r.get(1)?,
            table_name: r.get(2)?,
            record_id: r.get(3)?,
            op: r.get(4)?,
            created_at: r.get(5)?,
        })
    }
}

/// What [`read`] found: the records to push, the records already picked
/// through their items that the range reaches further (their latest seq), and
/// the range itself.
pub(super) struct Found {
    pub records: Vec<Met>,
    pub floors: HashMap<Key, i64>,
    pub read: LogRead,
}

/// Reads the entries after `from`, taking up to `room` records to push.
/// `picked` are the records the batch took through their items; `held` says
/// whether a record must be passed over (in flight, or behind an item).
pub(super) fn read(
    c: &Connection,
    from: i64,
    room: usize,
    picked: &HashSet<Key>,
    held: &dyn Fn(&Key) -> bool,
) -> Result<Found, StoreError> {
    let mut records: Vec<Met> = Vec::new();
    let mut taken: HashMap<Key, usize> = HashMap::new();
    let mut folds: Vec<Met> = Vec::new();
    let mut folded: HashMap<Key, usize> = HashMap::new();
    let mut floors: HashMap<Key, i64> = HashMap::new();
    let mut watermarks: HashMap<Key, i64> = HashMap::new();
    let mut upto = from;
    let chunk = (room * 2).max(64) as i64;
    'outer: loop {
        let entries: Vec<Entry> = c
            .prepare_cached(
                "SELECT seq, shop_id, table_name, record_id, op, created_at FROM change_log
                  WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?
            .query_map(params![upto, chunk], Entry::read)?
            .collect::<rusqlite::Result<_>>()?;
        let exhausted = (entries.len() as i64) < chunk;
        for Entry {
            seq,
            shop_id,
            table_name,
            record_id,
            op,
            created_at,
        } in entries
        {
            let op = queue_op(&op);
            let key = (table_name, record_id);
            if picked.contains(&key) {
                floors.insert(key, seq);
            } else if let Some(&i) = taken.get(&key) {
                records[i].merge(op, seq);
            } else if let Some(&i) = folded.get(&key) {
                folds[i].merge(op, seq);
            } else if TableId::by_name(&key.0).is_none() {
                // Not a table of this build: nothing to push.
            } else if covered(c, &mut watermarks, &key, seq)? {
                // Pushed already, with a later change of its record (a batch
                // pushes every change of a record it takes): nothing to push,
                // and no room taken in the batch.
            } else {
                let held = held(&key);
                if !held && records.len() >= room {
                    break 'outer; // the batch is full: the range ends before it
                }
                let met = Met {
                    shop_id,
                    table_name: key.0.clone(),
                    record_id: key.1.clone(),
                    operation: op.to_string(),
                    seq,
                    first: seq,
                    created_at,
                    // `covered` has just read it.
                    pushed: watermarks.get(&key).copied().unwrap_or(0),
                };
                if held {
                    folded.insert(key, folds.len());
                    folds.push(met);
                } else {
                    taken.insert(key, records.len());
                    records.push(met);
                }
            }
            upto = seq;
        }
        if exhausted {
            break;
        }
    }
    Ok(Found {
        records,
        floors,
        read: LogRead { from, upto, folds },
    })
}

/// Whether the record's change `seq` has reached the cloud: its pushed
/// watermark (`sync_pushed`, read once per record per range) is at or past it.
fn covered(
    c: &Connection,
    watermarks: &mut HashMap<Key, i64>,
    key: &Key,
    seq: i64,
) -> rusqlite::Result<bool> {
    let pushed = match watermarks.get(key) {
        Some(&w) => w,
        None => {
            let w: i64 = c
                .prepare_cached(
                    "SELECT change_seq FROM sync_pushed WHERE table_name = ?1 AND record_id = ?2",
                )?
                .query_row(params![key.0, key.1], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            watermarks.insert(key.clone(), w);
            w
        }
    };
    Ok(seq <= pushed)
}

/// A batch's range as its mark job needs it: the passed-over records as JSON
/// (built before the job, off the writer thread) and the range's end.
pub(super) struct Marks {
    folds: Option<String>,
    upto: i64,
}

impl Marks {
    pub(super) fn of(read: LogRead) -> Marks {
        let folds = (!read.folds.is_empty()).then(|| {
            rows_json(read.folds.iter().map(|m| {
                (
                    m.shop_id.as_str(),
                    m.table_name.as_str(),
                    m.record_id.as_str(),
                    m.operation.as_str(),
                    m.seq,
                    m.created_at.as_str(),
                )
            }))
        });
        Marks {
            folds,
            upto: read.upto,
        }
    }

    /// Marks the range: its passed-over records fold into their PENDING
    /// items, then the cursor moves to the range's end (never back).
    pub(super) fn mark(&self, tx: &Connection, now: &str) -> Result<(), StoreError> {
        if let Some(folds) = &self.folds {
            tx.prepare_cached(
                "INSERT INTO sync_queue
                   (shop_id, table_name, record_id, operation, status, change_seq, created_at, updated_at)
                 SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'PENDING', value ->> 4,
                        value ->> 5, ?2
                   FROM json_each(?1) WHERE true
                 ON CONFLICT (table_name, record_id) WHERE status = 'PENDING' DO UPDATE SET
                   operation = CASE
                     WHEN excluded.operation = 'DELETE' THEN 'DELETE'
                     WHEN sync_queue.operation IN ('CREATE', 'BULK_CREATE') THEN sync_queue.operation
                     ELSE excluded.operation END,
                   change_seq = max(sync_queue.change_seq, excluded.change_seq),
                   updated_at = excluded.updated_at",
            )?
            .execute(params![folds, now])?;
        }
        tx.prepare_cached(
            "UPDATE sync_state SET value = CAST(max(CAST(value AS INTEGER), ?1) AS TEXT)
              WHERE key = 'log_cursor'",
        )?
        .execute([self.upto])?;
        Ok(())
    }
}

/// Queue rows (shop, table, record, operation, change seq, created at) as one
/// JSON array, read back with `json_each`: one statement per batch, not one per
/// record, on the writer thread.
pub(super) fn rows_json<'a>(
    rows: impl Iterator<Item = (&'a str, &'a str, &'a str, &'a str, i64, &'a str)>,
) -> String {
    serde_json::Value::from(
        rows.map(|(shop, table, record, op, seq, at)| {
            serde_json::json!([shop, table, record, op, seq, at])
        })
        .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Writes the COMPLETED history of records pushed from the log (they had no
/// item to mark), `rows` as [`rows_json`] made them. Returns how many.
pub(super) fn history(tx: &Connection, rows: &str, now: &str) -> Result<i64, StoreError> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO sync_queue
               (shop_id, table_name, record_id, operation, status, change_seq, created_at, updated_at)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, 'COMPLETED', value ->> 4,
                    value ->> 5, ?2
               FROM json_each(?1)",
        )?
        .execute(params![rows, now])? as i64)
}

/// Sets the cursor at the last entry, unless it is set: from now on every
/// write waits for the cloud (the first upload covers what came before).
pub(super) fn start(tx: &Connection) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO sync_state (key, value)
         SELECT 'log_cursor', CAST(coalesce(max(seq), 0) AS TEXT) FROM change_log WHERE true
         ON CONFLICT (key) DO NOTHING",
    )?
    .execute([])?;
    Ok(())
}
