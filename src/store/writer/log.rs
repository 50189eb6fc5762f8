//! The change log and the sync queue: one change-log entry per change (with its
//! bytes and a monotonic `seq`) and, unless skipped, the record's sync-queue
//! entry, coalesced into its pending item. The queue fills only once cloud sync
//! has first been switched on (`queue_writes` in `sync_state`, see
//! `Queue::start_queueing`): before that, the first upload covers every record.

use super::checks::Ctx;
use crate::crdt::Applied;
use crate::store::error::StoreError;
use rusqlite::params;

impl Ctx<'_> {
    /// Writes the change-log entry (with the change bytes) and, unless skipped or
    /// before sync was ever on, the sync-queue entry, coalescing into the record's
    /// pending item. Returns the seq.
    pub(super) fn log(
        &self,
        id: &str,
        op: &str,
        applied: &Applied,
        changed: &[&str],
        queue_op: &str,
        conflicts: Option<&serde_json::Value>,
    ) -> Result<i64, StoreError> {
        let who = &self.req.who;
        let table = self.req.table.name();
        let fields = serde_json::to_string(changed).unwrap_or_else(|_| "[]".into());
        let seq: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO change_log
                   (shop_id, table_name, record_id, op, change_hash, actor, author_id, fields, bytes,
                    created_at, device_id, conflicts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING seq",
            )?
            .query_row(
                params![
                    who.shop_id,
                    table,
                    id,
                    op,
                    applied.change_hash,
                    applied.actor,
                    who.user_id,
                    fields,
                    applied.change_bytes,
                    self.now,
                    self.device,
                    conflicts.map(|c| c.to_string())
                ],
                |r| r.get(0),
            )?;
        if !self.req.skip_sync {
            self.conn
                .prepare_cached(
                    "INSERT INTO sync_queue
                       (shop_id, table_name, record_id, operation, status, change_seq, created_at, updated_at)
                     SELECT ?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?6
                      WHERE EXISTS (SELECT 1 FROM sync_state WHERE key = 'queue_writes')
                     ON CONFLICT (table_name, record_id) WHERE status = 'PENDING' DO UPDATE SET
                       operation = CASE
                         WHEN excluded.operation = 'DELETE' THEN 'DELETE'
                         WHEN sync_queue.operation IN ('CREATE', 'BULK_CREATE') THEN sync_queue.operation
                         ELSE excluded.operation END,
                       change_seq = excluded.change_seq,
                       updated_at = excluded.updated_at",
                )?
                .execute(params![who.shop_id, table, id, queue_op, seq, self.now])?;
        }
        Ok(seq)
    }
}
