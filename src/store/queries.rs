//! The reads. Every one is confined to one shop by its `WHERE shop_id = ?`.

use super::records::{read_row, sql, Record};
use super::{Store, StoreError};
use crate::domain::value::Value;
use crate::domain::{ShopId, TableId};
use rusqlite::{params, params_from_iter, OptionalExtension};
use serde::Serialize;

/// A list request, checked: column names come from the catalog.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filters: Vec<(&'static str, Value)>,
    /// Rows where any of these text columns contains this text (case-insensitive
    /// for ASCII, as SQLite's `LIKE`; `%`, `_` and `\` match themselves).
    pub search: Option<(Vec<&'static str>, String)>,
    /// Return only rows after this id in the list's order (ids are UUID v7,
    /// so time-ordered).
    pub after: Option<String>,
    /// Newest first (descending id) instead of oldest first.
    pub newest_first: bool,
    pub limit: usize,
}

/// `text` as a `LIKE … ESCAPE '\'` pattern matching it anywhere.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// One change of a record's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub seq: i64,
    pub op: String,
    /// The change's hash and actor, read from its bytes; `None` (null) for an
    /// entry whose bytes are damaged (not an Automerge change), which is still
    /// listed with what the log itself says.
    pub change_hash: Option<String>,
    pub actor: Option<String>,
    pub author: Option<Author>,
    /// The bay tablet that made the change (`None`: the hub or an HTTP client).
    pub device: Option<String>,
    /// Exactly the fields whose values the change set.
    pub fields: Vec<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Author {
    pub id: String,
    pub display_name: Option<String>,
}

/// What the hub needs to know about a user to authenticate a request.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub shop_id: ShopId,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub password_hash: Option<String>,
    /// When the account was last deactivated (Unix milliseconds): its sessions
    /// issued at or before it stay ended after a reactivation.
    pub sessions_from: Option<i64>,
    /// Issue times (Unix milliseconds) of its sessions logged out and not yet
    /// expired: a token issued at one of them is refused.
    pub ended: Vec<i64>,
}

impl Store {
    pub async fn get(
        &self,
        table: TableId,
        shop_id: &ShopId,
        id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let (shop_id, id) = (shop_id.as_str().to_string(), id.to_string());
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "{} WHERE t.id = ?1 AND t.shop_id = ?2",
                sql(table).select
            ))?
            .query_row(params![id, shop_id], |r| read_row(table, r))
            .optional()?)
        })
        .await
    }

    pub async fn list(
        &self,
        table: TableId,
        shop_id: &ShopId,
        q: ListQuery,
    ) -> Result<Vec<Record>, StoreError> {
        let shop_id = shop_id.as_str().to_string();
        self.read(move |c| {
            let mut where_sql = String::from(" WHERE t.shop_id = ?1");
            let mut args: Vec<Value> = vec![Value::Text(shop_id)];
            for (col, v) in q.filters {
                args.push(v);
                where_sql.push_str(&format!(" AND t.{col} = ?{}", args.len()));
            }
            if let Some((cols, text)) = q.search {
                args.push(Value::Text(contains_pattern(&text)));
                let n = args.len();
                let any = cols
                    .iter()
                    .map(|c| format!("t.{c} LIKE ?{n} ESCAPE '\\'"))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                // No searchable column: nothing can match.
                where_sql.push_str(&if any.is_empty() {
                    " AND 0".to_string()
                } else {
                    format!(" AND ({any})")
                });
            }
            let (after_op, order) = if q.newest_first {
                ("<", "DESC")
            } else {
                (">", "ASC")
            };
            if let Some(after) = q.after {
                args.push(Value::Text(after));
                where_sql.push_str(&format!(" AND t.id {after_op} ?{}", args.len()));
            }
            args.push(Value::Int(q.limit as i64));
            let stmt_sql = format!(
                "{}{where_sql} ORDER BY t.id {order} LIMIT ?{}",
                sql(table).select,
                args.len()
            );
            let mut stmt = c.prepare_cached(&stmt_sql)?;
            let rows = stmt.query_map(params_from_iter(args.iter()), |r| read_row(table, r))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The record's changes, oldest first, with their authors: at most `limit`,
    /// those after change-log sequence `after` when it is given.
    pub async fn history(
        &self,
        table: TableId,
        shop_id: &ShopId,
        id: &str,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let (shop_id, id) = (shop_id.as_str().to_string(), id.to_string());
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT l.seq, l.op, l.bytes, l.author_id, u.display_name, l.fields, l.created_at,
                        l.device_id
                 FROM change_log l LEFT JOIN users u ON u.id = l.author_id
                 WHERE l.table_name = ?1 AND l.record_id = ?2 AND l.shop_id = ?3 AND l.seq > ?4
                 ORDER BY l.seq LIMIT ?5",
            )?;
            let after = after.unwrap_or(0);
            let rows = stmt.query_map(
                params![table.name(), id, shop_id, after, limit as i64],
                |r| {
                    let author_id: Option<String> = r.get(3)?;
                    let op: String = r.get(1)?;
                    let (bytes, fields) = (r.get_ref(2)?.as_blob()?, r.get_ref(5)?.as_str()?);
                    let ids = super::logged::change_ids(bytes);
                    let fields = super::logged::fields(&op, fields, bytes);
                    Ok(HistoryEntry {
                        seq: r.get(0)?,
                        op,
                        change_hash: ids.as_ref().map(|i| i.hash.clone()),
                        actor: ids.map(|i| i.actor),
                        author: author_id.map(|id| Author {
                            id,
                            display_name: r.get(4).ok().flatten(),
                        }),
                        device: r.get(7)?,
                        fields,
                        at: r.get(6)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Accounts with this e-mail (one per shop that has it).
    pub async fn accounts_by_email(&self, email: &str) -> Result<Vec<Account>, StoreError> {
        let email = email.trim().to_lowercase();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE u.email = ?1"))?;
            let rows = stmt.query_map([email], account_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Logs out one session of `user_id`: its token (issued at `issued_ms`,
    /// expiring at `expires_at`, Unix seconds) is refused from now on. Entries
    /// of tokens expired by `now` (Unix seconds) are dropped in passing.
    pub async fn end_session(
        &self,
        user_id: &str,
        issued_ms: i64,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let user_id = user_id.to_string();
        self.exec(move |tx| {
            tx.prepare_cached("DELETE FROM ended_sessions WHERE expires_at < ?1")?
                .execute([now])?;
            Ok(tx
                .prepare_cached(
                    "INSERT INTO ended_sessions (user_id, issued_ms, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(rusqlite::params![user_id, issued_ms, expires_at])? as i64)
        })
        .await?;
        Ok(())
    }

    pub async fn account(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
        let user_id = user_id.to_string();
        self.read(move |c| {
            Ok(
                c.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE u.id = ?1"))?
                    .query_row([user_id], account_row)
                    .optional()?,
            )
        })
        .await
    }

    /// The id of the shop this hub serves, if `init` has made one.
    pub async fn shop_ids(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id FROM shops ORDER BY created_at")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })
        .await
    }

    /// Whether this hub's first setup is done: a shop and a user exist. The
    /// shop is written before its owner, so a shop with no user is a setup
    /// that stopped half-way (refused owner fields, a crash), which the next
    /// setup finishes ([`Store::unfinished_shop`]).
    pub async fn is_set_up(&self) -> Result<bool, StoreError> {
        self.read(|c| Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))?))
            .await
    }

    /// The shop of a setup that stopped before its owner was written: the
    /// only shop, when no user exists.
    pub async fn unfinished_shop(&self) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT CASE WHEN count(*) = 1 AND NOT EXISTS (SELECT 1 FROM users)
                             THEN min(id) END
                   FROM shops",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// The schema version of the open database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .await
    }
}

const ACCOUNT_SELECT: &str = "SELECT u.id, u.shop_id, u.email, u.role, u.active, c.password_hash,
            c.sessions_from,
            (SELECT json_group_array(issued_ms) FROM ended_sessions e WHERE e.user_id = u.id)
     FROM users u LEFT JOIN user_credentials c ON c.user_id = u.id";

fn account_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        shop_id: ShopId::new(r.get::<_, String>(1)?),
        email: r.get(2)?,
        role: r.get(3)?,
        active: r.get::<_, i64>(4)? != 0,
        password_hash: r.get(5)?,
        sessions_from: r.get(6)?,
        ended: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
    })
}

/// A field with concurrent values, listed until someone resolves it.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictRow {
    pub table: String,
    pub record_id: String,
    pub field: String,
    /// Every value, the current winner first.
    pub candidates: serde_json::Value,
    pub detected_at: String,
    /// The value the row holds (Automerge's deterministic pick).
    pub winner: serde_json::Value,
    /// Every candidate with its value, author, device, actor and time.
    pub details: serde_json::Value,
}

/// Where a page of conflicts ends: the sort key of its last row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConflictKey {
    pub detected_at: String,
    pub table: String,
    pub record_id: String,
    pub field: String,
}

impl ConflictRow {
    pub fn key(&self) -> ConflictKey {
        ConflictKey {
            detected_at: self.detected_at.clone(),
            table: self.table.clone(),
            record_id: self.record_id.clone(),
            field: self.field.clone(),
        }
    }
}

const CONFLICT_SELECT: &str =
    "SELECT table_name, record_id, field, candidates, detected_at, detail FROM conflicts";

fn conflict_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ConflictRow> {
    let candidates: String = r.get(3)?;
    let detail: Option<String> = r.get(5)?;
    let detail: serde_json::Value = detail
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or_default();
    Ok(ConflictRow {
        winner: detail["winner"].clone(),
        details: detail["candidates"].clone(),
        table: r.get(0)?,
        record_id: r.get(1)?,
        field: r.get(2)?,
        candidates: serde_json::from_str(&candidates).unwrap_or_default(),
        detected_at: r.get(4)?,
    })
}

impl Store {
    /// A page of the shop's open conflicts on `tables`, oldest first (by
    /// detection time, then table, record and field): at most `limit`, those
    /// after `after` when it is given.
    pub async fn conflicts(
        &self,
        shop_id: &ShopId,
        tables: Vec<&'static str>,
        after: Option<ConflictKey>,
        limit: usize,
    ) -> Result<Vec<ConflictRow>, StoreError> {
        let shop_id = shop_id.as_str().to_string();
        let tables = serde_json::to_string(&tables)
            .map_err(|e| StoreError::Internal(format!("table list: {e}")))?;
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "{CONFLICT_SELECT}
                 WHERE shop_id = ?1 AND table_name IN (SELECT value FROM json_each(?2))
                   AND (?3 IS NULL OR (detected_at, table_name, record_id, field) > (?3, ?4, ?5, ?6))
                 ORDER BY detected_at, table_name, record_id, field LIMIT ?7"
            ))?;
            let k = after.as_ref();
            let rows = stmt.query_map(
                params![
                    shop_id,
                    tables,
                    k.map(|k| &k.detected_at),
                    k.map(|k| &k.table),
                    k.map(|k| &k.record_id),
                    k.map(|k| &k.field),
                    limit as i64
                ],
                conflict_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The open conflict on one field of one record of the shop, if there is one.
    pub async fn conflict(
        &self,
        shop_id: &ShopId,
        table: TableId,
        record_id: &str,
        field: &str,
    ) -> Result<Option<ConflictRow>, StoreError> {
        let (shop_id, record_id, field) = (
            shop_id.as_str().to_string(),
            record_id.to_string(),
            field.to_string(),
        );
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "{CONFLICT_SELECT}
                 WHERE table_name = ?1 AND record_id = ?2 AND field = ?3 AND shop_id = ?4"
            ))?
            .query_row(
                params![table.name(), record_id, field, shop_id],
                conflict_row,
            )
            .optional()?)
        })
        .await
    }
}
