//! What a write is checked against inside its transaction: the role matrix's
//! row half, references within the shop, the shop's board stages; and how a
//! constraint failure becomes an answer the client can act on.

use super::WriteRequest;
use crate::crdt::ChangeMeta;
use crate::domain::catalog::{ColType, Numbering, STAGES};
use crate::domain::policy::{check_row, Refusal, Verb};
use crate::domain::value::{FieldError, Fields, Value};
use crate::domain::TableId;
use crate::store::error::StoreError;
use crate::store::records::{read_row, sql, Record};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) struct Ctx<'a> {
    pub(super) conn: &'a Connection,
    pub(super) req: &'a WriteRequest,
    pub(super) now: String,
    pub(super) unix: i64,
    /// The device a tablet's write comes from (recorded in the change log).
    pub(super) device: Option<String>,
}

impl Ctx<'_> {
    pub(super) fn meta(&self, op: &'static str) -> ChangeMeta<'_> {
        ChangeMeta {
            author: self.req.who.user_id.as_deref(),
            op,
            unix_time: self.unix,
        }
    }

    /// The role matrix's row-level half. The hub acting for itself (`init`) has no
    /// user and is not subject to it.
    pub(super) fn check(
        &self,
        verb: Verb,
        id: &str,
        current: Option<&Fields>,
        changes: &Fields,
    ) -> Result<(), StoreError> {
        if self.req.who.user_id.is_none() {
            return Ok(());
        }
        check_row(self.req.table, verb, &self.req.who, id, current, changes).map_err(|r| match r {
            Refusal::NotFound => StoreError::NotFound,
            Refusal::Forbidden(m) => StoreError::Forbidden(m),
        })
    }

    /// A person's update of the shop never changes `settings.sync`: sync is
    /// configured and switched only through the sync endpoints, which validate
    /// the settings and test the connection before turning it on (the hub writes
    /// them as itself). Other settings change as before.
    pub(super) fn check_sync_settings(
        &self,
        current: &Fields,
        changes: &Fields,
    ) -> Result<(), StoreError> {
        if self.req.table != TableId::SHOPS || self.req.who.user_id.is_none() {
            return Ok(());
        }
        let Some(new) = changes.get("settings") else {
            return Ok(());
        };
        let sync_of = |v: Option<&Value>| match v {
            Some(Value::Text(t)) => serde_json::from_str::<serde_json::Value>(t)
                .ok()
                .and_then(|j| j.get("sync").cloned()),
            _ => None,
        };
        if sync_of(Some(new)) != sync_of(current.get("settings")) {
            return Err(StoreError::Refused(FieldError::new(
                "settings.sync",
                "is changed only through the sync settings (PUT /api/sync/config, POST \
                 /api/sync/enable and /api/sync/disable), which check it first",
            )));
        }
        Ok(())
    }

    /// The row as stored, if it exists in the caller's shop.
    pub(super) fn current(&self, id: &str) -> Result<Record, StoreError> {
        let table = self.req.table;
        self.conn
            .prepare_cached(&format!(
                "{} WHERE t.id = ?1 AND t.shop_id = ?2",
                sql(table).select
            ))?
            .query_row(params![id, self.req.who.shop_id], |r| read_row(table, r))
            .optional()?
            .ok_or(StoreError::NotFound)
    }

    /// A client-minted id must not name a record that exists or existed. Ids are
    /// global (one primary key across shops), so an id used by another shop
    /// cannot be taken either; the answer says so without telling whose it is,
    /// and is the same as for a record of this shop that was deleted.
    pub(super) fn check_id_unused(&self, id: &str) -> Result<(), StoreError> {
        let table = self.req.table.name();
        let owner: Option<(String, bool)> = self
            .conn
            .prepare_cached(
                "SELECT shop_id, deleted FROM crdt_docs WHERE table_name = ?1 AND record_id = ?2",
            )?
            .query_row(params![table, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match owner {
            None => Ok(()),
            Some((shop, false)) if self.req.who.shop_id == shop => Err(StoreError::Conflict(
                format!("id: {id} is already used by a {table} record of this shop"),
            )),
            Some(_) => Err(StoreError::Conflict(format!(
                "id: {id} cannot be used for a new {table} record (ids are never reused); leave id out or mint a new UUID"
            ))),
        }
    }

    /// The shop's next business number for `n` (`RO-00001`). The counter is
    /// bumped past numbers already taken: a shop that imported its existing
    /// numbers in the hub's format, or a client that set one ahead of the
    /// counter, never blocks the numbers after them.
    pub(super) fn next_number(&self, n: &Numbering) -> Result<String, StoreError> {
        let table = self.req.table.name();
        let shop = &self.req.who.shop_id;
        loop {
            let next: i64 = self
                .conn
                .prepare_cached(
                    "INSERT INTO counters (shop_id, name, last) VALUES (?1, ?2, 1)
                     ON CONFLICT (shop_id, name) DO UPDATE SET last = last + 1
                     RETURNING last",
                )?
                .query_row(params![shop, n.column], |r| r.get(0))?;
            let number = format!("{}{next:05}", n.prefix);
            let taken: Option<i64> = self
                .conn
                .prepare_cached(&format!(
                    "SELECT 1 FROM {table} WHERE shop_id = ?1 AND {} = ?2",
                    n.column
                ))?
                .query_row(params![shop, number], |r| r.get(0))
                .optional()?;
            if taken.is_none() {
                return Ok(number);
            }
        }
    }

    /// After a change to an account: the shop still has an active owner. Two
    /// owners demoting or deactivating each other at once would otherwise
    /// lock the shop out of its own hub.
    pub(super) fn keep_an_owner(&self) -> Result<(), StoreError> {
        if self.req.table != TableId::USERS {
            return Ok(());
        }
        let owners: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM users WHERE shop_id = ?1 AND role = 'owner' AND active = 1",
            )?
            .query_row(params![self.req.who.shop_id], |r| r.get(0))?;
        if owners == 0 {
            return Err(StoreError::Forbidden(
                "role: a shop keeps at least one active owner; make another owner first".into(),
            ));
        }
        Ok(())
    }

    /// Checks what only the database can: references name a record of this shop,
    /// and a repair order's stage (and a stage-history row's) is one of the
    /// shop's board.
    pub(super) fn check_values(&self, fields: &Fields) -> Result<(), StoreError> {
        let def = self.req.table.def();
        for col in def.columns {
            let Some(Value::Text(v)) = fields.get(col.name) else {
                continue;
            };
            if let ColType::Ref(target) = col.ty {
                let found: Option<i64> = self
                    .conn
                    .prepare_cached(&format!(
                        "SELECT 1 FROM {target} WHERE id = ?1 AND shop_id = ?2"
                    ))?
                    .query_row(params![v, self.req.who.shop_id], |r| r.get(0))
                    .optional()?;
                if found.is_none() {
                    return Err(FieldError::new(
                        col.name,
                        format!("no {target} record has the id {v}"),
                    )
                    .into());
                }
            }
            // A repair order moves only to a column of the board as it is now;
            // a stage-history row names stages the board has (or had: a column
            // since made inactive is still a stage an order was in).
            let active_only = match (self.req.table, col.name) {
                (TableId::REPAIR_ORDERS, "stage") => true,
                (TableId::RO_STAGE_HISTORY, "from_stage" | "to_stage") => false,
                _ => continue,
            };
            if STAGES.contains(&v.as_str()) {
                continue;
            }
            let found: Option<i64> = self
                .conn
                .prepare_cached(
                    "SELECT 1 FROM production_stages
                     WHERE shop_id = ?1 AND code = ?2 AND (active = 1 OR NOT ?3)",
                )?
                .query_row(params![self.req.who.shop_id, v, active_only], |r| r.get(0))
                .optional()?;
            if found.is_none() {
                let which = if active_only { "an active" } else { "a" };
                return Err(FieldError::new(
                    col.name,
                    format!(
                        "'{v}' is neither a default stage ({}) nor {which} production stage of this shop",
                        STAGES.join(", ")
                    ),
                )
                .into());
            }
        }
        Ok(())
    }
}

/// Turns a constraint failure into the answer a client can act on.
pub(super) fn constraint_error(e: rusqlite::Error, table: &str) -> StoreError {
    use rusqlite::ffi;
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let msg = msg.clone().unwrap_or_default();
        match f.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                let field = msg
                    .rsplit(", ")
                    .next()
                    .and_then(|c| c.rsplit('.').next())
                    .unwrap_or("value");
                return StoreError::Conflict(format!(
                    "{field}: another {table} record of this shop already has this value"
                ));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                return StoreError::Conflict(format!(
                    "this {table} record is still referenced by other records; change or delete those first"
                ));
            }
            ffi::SQLITE_CONSTRAINT_CHECK | ffi::SQLITE_CONSTRAINT_NOTNULL => {
                return StoreError::Refused(FieldError::new("body", msg));
            }
            _ => {}
        }
    }
    StoreError::Internal(e.to_string())
}
