//! The operations on one record, inside the group's transaction: each writes
//! the row, the record's Automerge document and (through [`super::log`]) the
//! change-log and sync-queue entries.

use super::checks::{constraint_error, Ctx};
use super::{DeviceWrite, DocKey, WriteOp, WriteOutcome, WriteRequest, Writer};
use crate::crdt::{self, Applied, Doc};
use crate::domain::catalog::ColType;
use crate::domain::policy::Verb;
use crate::domain::value::{format_timestamp, Fields, Value};
use crate::domain::TableId;
use crate::store::devices::{self, AppliedOp};
use crate::store::error::StoreError;
use crate::store::records::{row_params, sql, Record};
use automerge::ActorId;
use rusqlite::{params, Connection};

/// Changes after a document's snapshot before it is saved whole again. A long
/// history then costs a write only its change-log entry, and a load at most
/// this many change-log rows after the snapshot.
pub(super) const COMPACT_AFTER: i64 = 64;

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
            device: None,
        };
        match &req.op {
            WriteOp::Create { id, fields } => {
                let (rec, seq) = self.create(&ctx, *id, fields.clone(), None, keys)?;
                if let Some(hash) = &req.password_hash {
                    set_password(conn, &rec.id, hash, &ctx.now)?;
                }
                Ok(WriteOutcome::of(vec![rec], seq))
            }
            WriteOp::BulkCreate(items) => {
                let mut records = Vec::with_capacity(items.len());
                let mut seq = 0;
                for (i, (id, fields)) in items.iter().enumerate() {
                    let (rec, s) = self.create(&ctx, *id, fields.clone(), None, keys).map_err(
                        |e| match e {
                            StoreError::Invalid(f) => StoreError::Invalid(f.at_index(i)),
                            StoreError::Refused(f) => StoreError::Refused(f.at_index(i)),
                            StoreError::Conflict(m) => {
                                StoreError::Conflict(format!("records[{i}]: {m}"))
                            }
                            StoreError::Forbidden(m) => {
                                StoreError::Forbidden(format!("records[{i}]: {m}"))
                            }
                            other => other,
                        },
                    )?;
                    records.push(rec);
                    seq = s;
                }
                Ok(WriteOutcome::of(records, seq))
            }
            WriteOp::Update { id, fields, base } => {
                let (rec, seq) = self.update(&ctx, id, fields, base.as_deref(), None, keys)?;
                // A user's fields and a new password: one write, all or nothing.
                if let Some(hash) = &req.password_hash {
                    set_password(conn, id, hash, &ctx.now)?;
                }
                Ok(WriteOutcome::of(vec![rec], seq))
            }
            WriteOp::Delete { id } => {
                let (rec, seq) = self.delete(&ctx, id, None, keys)?;
                Ok(WriteOutcome::of(vec![rec], seq))
            }
            WriteOp::Device { device, op } => self.device_write(ctx, device, op, keys),
            WriteOp::RegisterDevice { device_id } => {
                let user = req.who.user_id.as_deref().ok_or_else(|| {
                    StoreError::Forbidden("a device is paired by a signed-in user".into())
                })?;
                let d = devices::register(conn, &req.who.shop_id, user, device_id, now)?;
                Ok(WriteOutcome {
                    device: Some(d),
                    ..WriteOutcome::of(vec![], 0)
                })
            }
            WriteOp::RevokeDevice { device_id } => {
                use crate::domain::Role;
                if req.who.user_id.is_some() && !matches!(req.who.role, Role::Owner | Role::Admin) {
                    return Err(StoreError::Forbidden(format!(
                        "{} may not revoke a device",
                        req.who.role.with_article()
                    )));
                }
                let d = devices::revoke(conn, &req.who.shop_id, device_id, &ctx.now)?;
                Ok(WriteOutcome {
                    device: Some(d),
                    ..WriteOutcome::of(vec![], 0)
                })
            }
            WriteOp::SetPassword { user_id, hash } => {
                // Setting a password changes the account: the same row checks as an
                // update of it (only an owner touches an owner's account).
                let current = ctx.current(user_id)?;
                ctx.check(Verb::Update, user_id, Some(&current.fields), &Fields::new())?;
                set_password(conn, user_id, hash, &ctx.now)?;
                Ok(WriteOutcome::of(vec![], 0))
            }
        }
    }

    /// A tablet's write: once per operation id, signed with the device's actor,
    /// the id recorded in the same transaction as the write.
    fn device_write(
        &mut self,
        mut ctx: Ctx<'_>,
        device: &DeviceWrite,
        op: &WriteOp,
        keys: &mut Vec<DocKey>,
    ) -> Result<WriteOutcome, StoreError> {
        let who = &ctx.req.who;
        let dev = devices::writer_device(
            ctx.conn,
            &who.shop_id,
            who.user_id.as_deref(),
            &device.device_id,
        )?;
        if !devices::valid_id(&device.op_id) {
            return Err(StoreError::Refused(crate::domain::value::FieldError::new(
                "op_id",
                format!(
                    "must be 1 to {} letters, digits or - _ . :",
                    devices::MAX_ID_CHARS
                ),
            )));
        }
        if let Some(prev) = devices::applied_op(ctx.conn, &device.device_id, &device.op_id)? {
            // A retry is the same user's same write; anything else reusing the
            // id hears nothing of what the id answered before.
            if !devices::is_retry_of(&prev, who.user_id.as_deref(), ctx.req.table.name(), op) {
                return Err(StoreError::Conflict(format!(
                    "op_id {} was already used on this device for another write: give each \
                     write its own op_id",
                    device.op_id
                )));
            }
            return Ok(WriteOutcome {
                seq: prev.seq,
                replayed: Some(prev),
                ..WriteOutcome::of(vec![], 0)
            });
        }
        let actor = crdt::actor_from_hex(&dev.actor)
            .ok_or_else(|| StoreError::Internal(format!("device {} has a bad actor", dev.id)))?;
        ctx.device = Some(dev.id);
        let (rec, seq) = match op {
            WriteOp::Create { id, fields } => {
                self.create(&ctx, *id, fields.clone(), Some(&actor), keys)?
            }
            WriteOp::Update { id, fields, base } => {
                self.update(&ctx, id, fields, base.as_deref(), Some(&actor), keys)?
            }
            WriteOp::Delete { id } => self.delete(&ctx, id, Some(&actor), keys)?,
            _ => {
                return Err(StoreError::Internal(
                    "a device writes one record at a time".into(),
                ))
            }
        };
        let applied = AppliedOp {
            user_id: ctx.req.who.user_id.clone(),
            table: ctx.req.table.name().to_string(),
            record_id: rec.id.clone(),
            seq,
            heads: rec.heads.clone(),
        };
        devices::record_op(
            ctx.conn,
            &device.device_id,
            &device.op_id,
            &ctx.req.who.shop_id,
            &applied,
            &ctx.now,
        )?;
        Ok(WriteOutcome::of(vec![rec], seq))
    }

    fn create(
        &mut self,
        ctx: &Ctx<'_>,
        id: Option<uuid::Uuid>,
        mut fields: Fields,
        actor: Option<&ActorId>,
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

        let mut all = fields.clone();
        // The id makes every record's first change unique: without it, two records
        // with the same fields created together (a bulk) made byte-identical changes
        // with one hash, and the change log refused the second.
        all.insert("id", Value::Text(id.clone()));
        all.insert("shop_id", Value::Text(shop.to_string()));
        all.insert("created_at", Value::Text(ctx.now.clone()));
        // Built directly (`crdt::create`): a new record's document is this one
        // change, so no document is made only to be dropped.
        let applied = crdt::create(actor.unwrap_or(&self.actor), &all, &ctx.meta("create"));
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
                "INSERT INTO crdt_docs (table_name, record_id, shop_id, heads, doc, chunks, log_after)
                 VALUES (?1, ?2, ?3, ?4, X'', 1, 0)",
            )?
            .execute(params![def.name, id, shop, applied.heads.join(",")])?;
        // A create's entry lists no fields: they are the keys its change puts
        // (every field with a value), which readers take from the change
        // (`crdt::created_fields`) rather than every record storing them twice.
        let seq = ctx.log(&id, "create", &applied, &[], None)?;
        // The document row holds no bytes: the record's one change is in the
        // change log, and that is the whole document (see `store::docs`).
        // A new document is not cached: caching each one costs an eviction (a
        // cold document dropped) per create and, for a bulk create, flushes the
        // documents being edited. Its first update loads it from the store.
        keys.push((table, id));
        Ok((rec, seq))
    }

    fn load_doc(&mut self, conn: &Connection, key: &DocKey) -> Result<Doc, StoreError> {
        if let Some(doc) = self.docs.remove(key) {
            return Ok(doc);
        }
        let stored = crate::store::docs::stored(conn, key.0.name(), &key.1)?
            .ok_or_else(|| StoreError::Internal(format!("{} {} has no document", key.0, key.1)))?;
        crdt::load(&stored.bytes, &self.actor).map_err(|e| StoreError::damaged(key.0, &key.1, &e))
    }

    fn update(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        fields: &Fields,
        base: Option<&[String]>,
        actor: Option<&ActorId>,
        keys: &mut Vec<DocKey>,
    ) -> Result<(Record, i64), StoreError> {
        let table = ctx.req.table;
        let def = table.def();
        let current = ctx.current(id)?;
        ctx.check(Verb::Update, id, Some(&current.fields), fields)?;
        ctx.check_sync_settings(&current.fields, fields)?;
        let stage_before = current.fields.get("stage").cloned();
        ctx.check_values(fields)?;

        let key = (table, id.to_string());
        let mut doc = self.load_doc(ctx.conn, &key)?;
        keys.push(key.clone());
        let applied = match crdt::apply_as(&mut doc, fields, base, actor, &ctx.meta("update")) {
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
        // Exactly the fields whose values the change set (a put of the value a
        // field already held is not in the change).
        let changed: Vec<&str> = applied.fields.iter().map(String::as_str).collect();
        let conflicts = self.record_conflicts(ctx, id, &mut doc)?;
        let seq = ctx.log(id, "update", &applied, &changed, conflicts.as_ref())?;
        self.save_doc(ctx, &key, &mut doc, &applied, false, seq)?;
        self.docs.insert(key, doc);
        let moved = table == TableId::REPAIR_ORDERS
            && !ctx.req.skip_sync
            && applied.fields.iter().any(|f| f == "stage")
            && rec.fields.get("stage") != stage_before.as_ref();
        if moved {
            let to = rec.fields.get("stage").cloned().unwrap_or(Value::Null);
            let seq = self.record_move(ctx, id, stage_before, to, actor, keys)?;
            return Ok((rec, seq));
        }
        Ok((rec, seq))
    }

    /// A repair order changed stage: its `ro_stage_history` row, written by the
    /// hub in the same transaction, so every path that moves a card (the API, a
    /// tablet, a merge of a device's change) leaves the same trace. Records that
    /// came from the cloud (`skip_sync`) bring their own history row.
    fn record_move(
        &mut self,
        ctx: &Ctx<'_>,
        ro_id: &str,
        from: Option<Value>,
        to: Value,
        actor: Option<&ActorId>,
        keys: &mut Vec<DocKey>,
    ) -> Result<i64, StoreError> {
        let mut fields = Fields::new();
        fields.insert("repair_order_id", Value::Text(ro_id.to_string()));
        if let Some(from) = from {
            fields.insert("from_stage", from);
        }
        fields.insert("to_stage", to);
        if let Some(user) = &ctx.req.who.user_id {
            fields.insert("moved_by", Value::Text(user.clone()));
        }
        fields.insert("moved_at", Value::Text(ctx.now.clone()));
        let req = WriteRequest {
            who: ctx.req.who.clone(),
            table: TableId::RO_STAGE_HISTORY,
            op: WriteOp::Create {
                id: None,
                fields: Fields::new(),
            },
            skip_sync: false,
            password_hash: None,
        };
        let history = Ctx {
            conn: ctx.conn,
            req: &req,
            now: ctx.now.clone(),
            unix: ctx.unix,
            device: ctx.device.clone(),
        };
        let (_, seq) = self.create(&history, None, fields, actor, keys)?;
        Ok(seq)
    }

    fn delete(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        actor: Option<&ActorId>,
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
        let applied = crdt::tombstone_as(&mut doc, actor, &ctx.meta("delete"))?;
        let seq = ctx.log(id, "delete", &applied, &[], None)?;
        self.save_doc(ctx, &key, &mut doc, &applied, true, seq)?;
        ctx.conn
            .prepare_cached("DELETE FROM conflicts WHERE table_name = ?1 AND record_id = ?2")?
            .execute(params![def.name, id])?;
        self.docs.insert(key, doc);
        current.heads = applied.heads;
        Ok((current, seq))
    }

    /// Records `applied` (logged as `seq`) in the document's row. The change's
    /// bytes are in the change log already: the row only counts it, until
    /// COMPACT_AFTER are waiting after the snapshot; then the document is saved
    /// whole again (compacted) as the new snapshot, covering the log up to `seq`.
    /// A row from before migration 0005 (no `log_after`: its `doc` is the whole
    /// document) is compacted at its first write.
    fn save_doc(
        &self,
        ctx: &Ctx<'_>,
        key: &DocKey,
        doc: &mut Doc,
        applied: &Applied,
        deleted: bool,
        seq: i64,
    ) -> Result<(), StoreError> {
        let counted = ctx
            .conn
            .prepare_cached(
                "UPDATE crdt_docs SET heads = ?3, deleted = ?4, chunks = chunks + 1
                 WHERE table_name = ?1 AND record_id = ?2 AND log_after IS NOT NULL AND chunks < ?5",
            )?
            .execute(params![
                key.0.name(),
                key.1,
                applied.heads.join(","),
                deleted,
                COMPACT_AFTER
            ])?;
        if counted == 0 {
            ctx.conn
                .prepare_cached(
                    "UPDATE crdt_docs SET heads = ?3, doc = ?4, deleted = ?5, chunks = 0, log_after = ?6
                     WHERE table_name = ?1 AND record_id = ?2",
                )?
                .execute(params![
                    key.0.name(),
                    key.1,
                    applied.heads.join(","),
                    doc.save(),
                    deleted,
                    seq
                ])?;
        }
        Ok(())
    }

    /// Lists the record's conflicts (concurrent different values of one field)
    /// with every candidate's author, device and time. Answers the new list when
    /// it differs from the one stored (a conflict appeared, changed or was
    /// resolved), for the change log's `conflicts` (the tablets' event).
    fn record_conflicts(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        doc: &mut Doc,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        use crate::domain::value::to_json;
        let table = ctx.req.table.name();
        let found = crdt::conflicts(doc);
        let mut all_actors: Vec<String> = found
            .iter()
            .flat_map(|c| c.candidates.iter().map(|k| k.actor.clone()))
            .collect();
        all_actors.sort();
        all_actors.dedup();
        let actor_refs: Vec<&str> = all_actors.iter().map(String::as_str).collect();
        let device_of: std::collections::HashMap<String, String> =
            devices::devices_of_actors(ctx.conn, &actor_refs)?
                .into_iter()
                .collect();
        let mut details: Vec<(String, Vec<serde_json::Value>, serde_json::Value)> = Vec::new();
        for c in &found {
            let col_ty = ctx
                .req
                .table
                .def()
                .column(&c.field)
                .map_or(ColType::Text, |col| col.ty);
            let mut values: Vec<serde_json::Value> = Vec::new();
            for k in &c.candidates {
                let v = to_json(col_ty, &k.value);
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            let candidates: Vec<serde_json::Value> = c
                .candidates
                .iter()
                .map(|k| {
                    let at = time::OffsetDateTime::from_unix_timestamp(k.unix_time)
                        .map(format_timestamp)
                        .unwrap_or_default();
                    serde_json::json!({
                        "value": to_json(col_ty, &k.value),
                        "author": k.author,
                        "device": device_of.get(&k.actor),
                        "actor": k.actor,
                        "at": at,
                        "change_hash": k.change_hash,
                    })
                })
                .collect();
            let detail = serde_json::json!({
                "field": c.field,
                "winner": to_json(col_ty, &c.winner),
                "candidates": candidates,
            });
            details.push((c.field.clone(), values, detail));
        }
        let before: Vec<(String, Option<String>)> = {
            let mut stmt = ctx.conn.prepare_cached(
                "SELECT field, detail FROM conflicts WHERE table_name = ?1 AND record_id = ?2
                 ORDER BY field",
            )?;
            let rows = stmt.query_map(params![table, id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        details.sort_by(|a, b| a.0.cmp(&b.0));
        let after: Vec<(String, Option<String>)> = details
            .iter()
            .map(|(f, _, d)| (f.clone(), Some(d.to_string())))
            .collect();
        if before == after {
            return Ok(None);
        }
        ctx.conn
            .prepare_cached("DELETE FROM conflicts WHERE table_name = ?1 AND record_id = ?2")?
            .execute(params![table, id])?;
        for (field, values, detail) in &details {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO conflicts (shop_id, table_name, record_id, field, candidates, detected_at, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    ctx.req.who.shop_id,
                    table,
                    id,
                    field,
                    serde_json::Value::Array(values.clone()).to_string(),
                    ctx.now,
                    detail.to_string()
                ])?;
        }
        Ok(Some(serde_json::Value::Array(
            details.into_iter().map(|(_, _, d)| d).collect(),
        )))
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
