//! The operations on one record, inside the group's transaction: each writes
//! the row, the record's Automerge document and (through [`super::log`]) the
//! change-log and sync-queue entries.

use super::checks::{constraint_error, Ctx};
use super::{DocKey, WriteOp, WriteOutcome, WriteRequest, Writer};
use crate::crdt::{self, Applied, Doc};
use crate::domain::catalog::ColType;
use crate::domain::policy::Verb;
use crate::domain::value::{format_timestamp, Fields, Value};
use crate::store::error::StoreError;
use crate::store::records::{row_params, sql, Record};
use rusqlite::{params, Connection, OptionalExtension};

impl Writer {
    pub(super) fn apply(
        &mut self,
        conn: &Connection,
        req: &WriteRequest,
        keys: &mut Vec<DocKey>,
    ) -> Result<WriteOutcome, StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let ctx = Ctx {
            conn,
            req,
            now: format_timestamp(now),
            unix: now.unix_timestamp(),
        };
        match &req.op {
            WriteOp::Create { id, fields } => {
                let (rec, seq) = self.create(&ctx, *id, fields.clone(), "CREATE", keys)?;
                if let Some(hash) = &req.password_hash {
                    set_password(conn, &rec.id, hash, &ctx.now)?;
                }
                Ok(WriteOutcome {
                    records: vec![rec],
                    seq,
                })
            }
            WriteOp::BulkCreate(items) => {
                let mut records = Vec::with_capacity(items.len());
                let mut seq = 0;
                for (i, (id, fields)) in items.iter().enumerate() {
                    let (rec, s) = self
                        .create(&ctx, *id, fields.clone(), "BULK_CREATE", keys)
                        .map_err(|e| match e {
                            StoreError::Invalid(f) => StoreError::Invalid(f.at_index(i)),
                            StoreError::Conflict(m) => {
                                StoreError::Conflict(format!("records[{i}]: {m}"))
                            }
                            StoreError::Forbidden(m) => {
                                StoreError::Forbidden(format!("records[{i}]: {m}"))
                            }
                            other => other,
                        })?;
                    records.push(rec);
                    seq = s;
                }
                Ok(WriteOutcome { records, seq })
            }
            WriteOp::Update { id, fields, base } => {
                let (rec, seq) = self.update(&ctx, id, fields, base.as_deref(), keys)?;
                // A user's fields and a new password: one write, all or nothing.
                if let Some(hash) = &req.password_hash {
                    set_password(conn, id, hash, &ctx.now)?;
                }
                Ok(WriteOutcome {
                    records: vec![rec],
                    seq,
                })
            }
            WriteOp::Delete { id } => {
                let (rec, seq) = self.delete(&ctx, id, keys)?;
                Ok(WriteOutcome {
                    records: vec![rec],
                    seq,
                })
            }
            WriteOp::SetPassword { user_id, hash } => {
                // Setting a password changes the account: the same row checks as an
                // update of it (only an owner touches an owner's account).
                let current = ctx.current(user_id)?;
                ctx.check(Verb::Update, user_id, Some(&current.fields), &Fields::new())?;
                set_password(conn, user_id, hash, &ctx.now)?;
                Ok(WriteOutcome {
                    records: vec![],
                    seq: 0,
                })
            }
        }
    }

    fn create(
        &mut self,
        ctx: &Ctx<'_>,
        id: Option<uuid::Uuid>,
        mut fields: Fields,
        queue_op: &str,
        keys: &mut Vec<DocKey>,
    ) -> Result<(Record, i64), StoreError> {
        let table = ctx.req.table;
        let def = table.def();
        let shop = &ctx.req.who.shop_id;
        let id = id
            .unwrap_or_else(uuid::Uuid::now_v7)
            .hyphenated()
            .to_string();
        ctx.check_id_unused(&id)?;
        ctx.check(Verb::Insert, &id, None, &fields)?;
        if let Some(n) = def.numbering {
            if !fields.contains_key(n.column) {
                let number = ctx.next_number(&n)?;
                fields.insert(n.column, Value::Text(number));
            }
        }
        ctx.check_values(&fields)?;

        let mut doc = crdt::new_doc(&self.actor);
        let mut all = fields.clone();
        // The id makes every record's first change unique: without it, two records
        // with the same fields created together (a bulk) made byte-identical changes
        // with one hash, and the change log refused the second.
        all.insert("id", Value::Text(id.clone()));
        all.insert("shop_id", Value::Text(shop.to_string()));
        all.insert("created_at", Value::Text(ctx.now.clone()));
        let applied = crdt::apply(&mut doc, &all, None, &ctx.meta("create"))?;
        let rec = Record {
            table,
            id: id.clone(),
            shop_id: shop.clone(),
            created_at: ctx.now.clone(),
            updated_at: ctx.now.clone(),
            fields,
            heads: applied.heads.clone(),
        };
        let params = row_params(&rec);
        ctx.conn
            .prepare_cached(&sql(table).insert)?
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| constraint_error(e, def.name))?;
        ctx.conn
            .prepare_cached(
                "INSERT INTO crdt_docs (table_name, record_id, shop_id, heads, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![def.name, id, shop, applied.heads.join(","), doc.save()])?;
        let changed: Vec<&str> = rec
            .fields
            .iter()
            .filter(|(_, v)| **v != Value::Null)
            .map(|(k, _)| *k)
            .collect();
        let seq = ctx.log(&id, "create", &applied, &changed, queue_op)?;
        // A new document is not cached: caching each one costs an eviction (a
        // cold document dropped) per create and, for a bulk create, flushes the
        // documents being edited. Its first update loads it from crdt_docs.
        drop(doc);
        keys.push((table, id));
        Ok((rec, seq))
    }

    fn load_doc(&mut self, conn: &Connection, key: &DocKey) -> Result<Doc, StoreError> {
        if let Some(doc) = self.docs.remove(key) {
            return Ok(doc);
        }
        let bytes: Vec<u8> = conn
            .prepare_cached("SELECT doc FROM crdt_docs WHERE table_name = ?1 AND record_id = ?2")?
            .query_row(params![key.0.name(), key.1], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::Internal(format!("{} {} has no document", key.0, key.1)))?;
        Ok(crdt::load(&bytes, &self.actor)?)
    }

    fn update(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        fields: &Fields,
        base: Option<&[String]>,
        keys: &mut Vec<DocKey>,
    ) -> Result<(Record, i64), StoreError> {
        let table = ctx.req.table;
        let def = table.def();
        let current = ctx.current(id)?;
        ctx.check(Verb::Update, id, Some(&current.fields), fields)?;
        ctx.check_values(fields)?;

        let key = (table, id.to_string());
        let mut doc = self.load_doc(ctx.conn, &key)?;
        keys.push(key.clone());
        let applied = match crdt::apply(&mut doc, fields, base, &ctx.meta("update")) {
            // Every field already held the value written (Automerge skips such
            // puts): nothing changed, so nothing is logged or queued.
            Err(crdt::CrdtError::Empty) => {
                self.docs.insert(key, doc);
                return Ok((current, 0));
            }
            other => other?,
        };
        let mut rec = current;
        for (name, v) in crdt::materialize(&doc, def) {
            rec.fields.insert(name, v);
        }
        rec.updated_at = ctx.now.clone().max(rec.updated_at);
        rec.heads = applied.heads.clone();
        let params = row_params(&rec);
        ctx.conn
            .prepare_cached(&sql(table).update)?
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| constraint_error(e, def.name))?;
        ctx.keep_an_owner()?;
        self.save_doc(ctx, &key, &mut doc, &applied, false)?;
        let changed: Vec<&str> = fields.keys().copied().collect();
        let seq = ctx.log(id, "update", &applied, &changed, "UPDATE")?;
        self.record_conflicts(ctx, id, &doc)?;
        self.docs.insert(key, doc);
        Ok((rec, seq))
    }

    fn delete(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        keys: &mut Vec<DocKey>,
    ) -> Result<(Record, i64), StoreError> {
        let table = ctx.req.table;
        let def = table.def();
        let mut current = ctx.current(id)?;
        ctx.check(Verb::Delete, id, Some(&current.fields), &Fields::new())?;
        ctx.conn
            .prepare_cached(&sql(table).delete)?
            .execute(params![id, ctx.req.who.shop_id])
            .map_err(|e| constraint_error(e, def.name))?;
        ctx.keep_an_owner()?;
        let key = (table, id.to_string());
        let mut doc = self.load_doc(ctx.conn, &key)?;
        keys.push(key.clone());
        let applied = crdt::tombstone(&mut doc, &ctx.meta("delete"))?;
        self.save_doc(ctx, &key, &mut doc, &applied, true)?;
        let seq = ctx.log(id, "delete", &applied, &[], "DELETE")?;
        ctx.conn
            .prepare_cached("DELETE FROM conflicts WHERE table_name = ?1 AND record_id = ?2")?
            .execute(params![def.name, id])?;
        self.docs.insert(key, doc);
        current.heads = applied.heads;
        Ok((current, seq))
    }

    fn save_doc(
        &self,
        ctx: &Ctx<'_>,
        key: &DocKey,
        doc: &mut Doc,
        applied: &Applied,
        deleted: bool,
    ) -> Result<(), StoreError> {
        ctx.conn
            .prepare_cached(
                "UPDATE crdt_docs SET heads = ?3, doc = ?4, deleted = ?5
                 WHERE table_name = ?1 AND record_id = ?2",
            )?
            .execute(params![
                key.0.name(),
                key.1,
                applied.heads.join(","),
                doc.save(),
                deleted
            ])?;
        Ok(())
    }

    fn record_conflicts(&self, ctx: &Ctx<'_>, id: &str, doc: &Doc) -> Result<(), StoreError> {
        let table = ctx.req.table.name();
        ctx.conn
            .prepare_cached("DELETE FROM conflicts WHERE table_name = ?1 AND record_id = ?2")?
            .execute(params![table, id])?;
        for (field, values) in crdt::conflicts(doc) {
            let col_ty = ctx
                .req
                .table
                .def()
                .column(&field)
                .map_or(ColType::Text, |c| c.ty);
            let candidates: Vec<serde_json::Value> = values
                .iter()
                .map(|v| crate::domain::value::to_json(col_ty, v))
                .collect();
            ctx.conn
                .prepare_cached(
                    "INSERT INTO conflicts (shop_id, table_name, record_id, field, candidates, detected_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    ctx.req.who.shop_id,
                    table,
                    id,
                    field,
                    serde_json::Value::Array(candidates).to_string(),
                    ctx.now
                ])?;
        }
        Ok(())
    }
}

fn set_password(conn: &Connection, user_id: &str, hash: &str, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO user_credentials (user_id, password_hash, changed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, changed_at = excluded.changed_at",
    )?
    .execute(params![user_id, hash, now])?;
    Ok(())
}
