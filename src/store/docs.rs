//! A record's stored Automerge document: its last snapshot (`crdt_docs.doc`)
//! followed by the change-log bytes written since (`seq > log_after`).
//!
//! The change log keeps every change's bytes anyway (they are exported), so the
//! document row keeps only what the log cannot give: a compacted snapshot, once
//! a record has had [`COMPACT_AFTER`](crate::store::writer) changes since the
//! last one. A fresh record's row holds no document bytes at all: its one change
//! is in the log. A new repair order's `crdt_docs` row went from 833 to 190
//! bytes (its document had been a second copy of its change), and the writer
//! is spared a `save()` per create and a blob rewrite per update.
//!
//! Rows written before migration 0005 have `log_after` NULL: their `doc` is the
//! whole document, as it was then.

use rusqlite::{params, Connection, OptionalExtension};

/// What `crdt_docs` holds for one record.
pub struct StoredDoc {
    pub shop_id: String,
    pub deleted: bool,
    /// The snapshot and, after it, every change since: loads as the document.
    pub bytes: Vec<u8>,
}

/// The record's document as Automerge loads it, or `None` when `crdt_docs` has
/// no row for it. Reads the snapshot, then the log's tail through
/// `change_log_by_record`.
pub fn stored(conn: &Connection, table: &str, id: &str) -> rusqlite::Result<Option<StoredDoc>> {
    let row: Option<(Vec<u8>, Option<i64>, String, bool)> = conn
        .prepare_cached(
            "SELECT doc, log_after, shop_id, deleted FROM crdt_docs
             WHERE table_name = ?1 AND record_id = ?2",
        )?
        .query_row(params![table, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((mut bytes, log_after, shop_id, deleted)) = row else {
        return Ok(None);
    };
    if let Some(after) = log_after {
        let mut tail = conn.prepare_cached(
            "SELECT bytes FROM change_log
             WHERE table_name = ?1 AND record_id = ?2 AND seq > ?3 ORDER BY seq",
        )?;
        let mut rows = tail.query(params![table, id, after])?;
        while let Some(r) = rows.next()? {
            if let rusqlite::types::ValueRef::Blob(b) = r.get_ref(0)? {
                bytes.extend_from_slice(b);
            }
        }
    }
    Ok(Some(StoredDoc {
        shop_id,
        deleted,
        bytes,
    }))
}
