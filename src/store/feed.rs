//! The change feed the bay tablets read: change-log entries after a sequence,
//! in order, each with the record's current row (the winners), so a tablet's
//! board converges whatever it missed.

use super::records::{read_row, sql, Record};
use super::{Store, StoreError};
use crate::domain::ShopId;
use crate::domain::TableId;
use rusqlite::{params, OptionalExtension};

/// One committed change, as the feed hands it on (before any role filter).
#[derive(Debug, Clone)]
pub struct FeedEntry {
    pub seq: i64,
    pub shop_id: String,
    pub table: TableId,
    pub record_id: String,
    pub op: String,
    pub author_id: Option<String>,
    pub device_id: Option<String>,
    /// The fields whose values the change set.
    pub fields: Vec<String>,
    pub at: String,
    /// The record's open conflicts after this change, when the change altered
    /// them (a conflict appeared, changed or was resolved); `None` otherwise.
    pub conflicts: Option<serde_json::Value>,
    /// The record as it is now; `None` once deleted.
    pub row: Option<Record>,
}

impl Store {
    /// Up to `limit` change-log entries after `after`, oldest first; of one shop
    /// when `shop_id` is given.
    pub async fn feed_after(
        &self,
        after: i64,
        shop_id: Option<ShopId>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, shop_id, table_name, record_id, op, author_id, device_id, fields,
                        created_at, conflicts,
                        CASE WHEN op = 'create' AND fields = '[]' THEN bytes END
                 FROM change_log
                 WHERE seq > ?1 AND (?2 IS NULL OR shop_id = ?2)
                 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![after, shop_id, limit as i64], |r| {
                let table: String = r.get(2)?;
                let op: String = r.get(4)?;
                // Only a create that lists no fields needs its bytes (to read
                // them from); the feed leaves every other change's bytes unread.
                let bytes = r.get_ref(10)?.as_blob_or_null()?.unwrap_or_default();
                let fields = super::logged::fields(&op, r.get_ref(7)?.as_str()?, bytes);
                let conflicts: Option<String> = r.get(9)?;
                Ok((
                    FeedEntry {
                        seq: r.get(0)?,
                        shop_id: r.get(1)?,
                        table: TableId::USERS,
                        record_id: r.get(3)?,
                        op,
                        author_id: r.get(5)?,
                        device_id: r.get(6)?,
                        fields,
                        at: r.get(8)?,
                        conflicts: conflicts.and_then(|s| serde_json::from_str(&s).ok()),
                        row: None,
                    },
                    table,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (mut e, table) = row?;
                // A table this build does not know (a newer hub's) is left out.
                let Some(t) = TableId::by_name(&table) else {
                    continue;
                };
                e.table = t;
                e.row = c
                    .prepare_cached(&format!(
                        "{} WHERE t.id = ?1 AND t.shop_id = ?2",
                        sql(t).select
                    ))?
                    .query_row(params![e.record_id, e.shop_id], |r| read_row(t, r))
                    .optional()?;
                out.push(e);
            }
            Ok(out)
        })
        .await
    }

    /// The record's Automerge document, as saved (`None`: no such record in this shop).
    pub async fn document(
        &self,
        table: TableId,
        shop_id: &ShopId,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (shop_id, id) = (shop_id.as_str().to_string(), id.to_string());
        self.read(move |c| {
            Ok(super::docs::stored(c, table.name(), &id)?
                .filter(|d| d.shop_id == shop_id && !d.deleted)
                .map(|d| d.bytes))
        })
        .await
    }
}
