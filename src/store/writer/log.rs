//! The change log: one entry per change, with its bytes and a monotonic `seq`.
//! A change's hash and actor are in its bytes (`crdt::chunk::change_ids`), so
//! the entry does not repeat them (migration 0012).
//! It is also the sync queue's source: once cloud sync has first been switched
//! on, the sync worker pushes every entry past its cursor (see
//! `store::queue::log`), so a write adds nothing to the queue itself.

use super::checks::Ctx;
use crate::crdt::Applied;
use crate::store::error::StoreError;
use rusqlite::params;

impl Ctx<'_> {
    /// Writes the change-log entry (with the change bytes). `changed` lists the
    /// fields the change set; a create passes none and its entry stores `[]`:
    /// its fields are the keys its change puts, read back from the bytes
    /// (`crdt::created_fields`). A change that came from the cloud
    /// (`skip_sync`) is marked as pushed, so the sync worker passes it over.
    /// Returns the seq.
    pub(super) fn log(
        &self,
        id: &str,
        op: &str,
        applied: &Applied,
        changed: &[&str],
        conflicts: Option<&serde_json::Value>,
    ) -> Result<i64, StoreError> {
        let who = &self.req.who;
        let table = self.req.table.name();
        let fields = serde_json::to_string(changed).unwrap_or_else(|_| "[]".into());
        let seq: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO change_log
                   (shop_id, table_name, record_id, op, author_id, fields, bytes,
                    created_at, device_id, conflicts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq",
            )?
            .query_row(
                params![
                    who.shop_id,
                    table,
                    id,
                    op,
                    who.user_id,
                    fields,
                    applied.change_bytes,
                    self.now,
                    self.device,
                    conflicts.map(|c| c.to_string())
                ],
                |r| r.get(0),
            )?;
        if self.req.skip_sync {
            self.conn
                .prepare_cached(
                    "INSERT INTO sync_pushed (table_name, record_id, change_seq) VALUES (?1, ?2, ?3)
                     ON CONFLICT (table_name, record_id) DO UPDATE
                       SET change_seq = max(change_seq, excluded.change_seq)",
                )?
                .execute(params![table, id, seq])?;
        }
        Ok(seq)
    }
}
