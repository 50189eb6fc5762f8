//! The writer thread: owns the only read-write connection. Writes arrive over a
//! channel; each wake-up takes every job waiting, and those that arrive while it
//! runs them (up to `MAX_BATCH`), all inside one `BEGIN IMMEDIATE` transaction,
//! commits once (one fsync for the whole group), and only then answers each job. A job that fails cannot disturb
//! the others in its group: the group first runs without savepoints (they cost a
//! copy of every page each job touches); if a job fails, the whole transaction
//! rolls back and the group runs again with each job in its own savepoint, so
//! only the failing job is refused.

use super::error::StoreError;
use super::records::{read_row, row_params, sql, Record};
use crate::crdt::{self, Applied, ChangeMeta, Doc};
use crate::domain::catalog::{ColType, STAGES};
use crate::domain::policy::{check_row, Principal, Refusal, Verb};
use crate::domain::value::{format_timestamp, FieldError, Fields, Value};
use crate::domain::TableId;
use automerge::ActorId;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::collections::{HashMap, VecDeque};
use tokio::sync::{mpsc, oneshot, watch};

/// Most jobs committed together under one fsync.
const MAX_BATCH: usize = 512;
/// Documents kept loaded between writes (a repair order's is ~21 KB in memory).
const DOC_CACHE: usize = 4096;

#[derive(Debug, Clone)]
pub enum WriteOp {
    Create {
        id: Option<uuid::Uuid>,
        fields: Fields,
    },
    /// Many creates of one table, all or none.
    BulkCreate(Vec<(Option<uuid::Uuid>, Fields)>),
    Update {
        id: String,
        fields: Fields,
        base: Option<Vec<String>>,
    },
    Delete {
        id: String,
    },
    /// Sets a user's password hash (hub-only; not a record change, never synced).
    SetPassword {
        user_id: String,
        hash: String,
    },
}

#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub who: Principal,
    pub table: TableId,
    pub op: WriteOp,
    /// Leave the sync-queue entry out (records that came from the cloud).
    pub skip_sync: bool,
    /// For a create or an update of a user: the password hash to store beside it,
    /// in the same transaction.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    pub records: Vec<Record>,
    /// The change-log sequence of the last change written (0 when none was:
    /// SetPassword, or an update that changed nothing).
    pub seq: i64,
}

pub(super) struct Job {
    pub req: WriteRequest,
    pub reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

pub(super) fn run(
    mut conn: Connection,
    actor: ActorId,
    mut rx: mpsc::Receiver<Job>,
    committed: watch::Sender<i64>,
) {
    let mut w = Writer {
        actor,
        docs: DocCache::default(),
        committed,
    };
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        w.commit_group(&mut conn, batch, || rx.try_recv().ok());
    }
    tracing::debug!("writer thread stopping: every sender is gone");
}

type DocKey = (TableId, String);

struct Writer {
    actor: ActorId,
    docs: DocCache,
    /// The highest change-log sequence committed so far, published after each
    /// commit (never before): the sync worker and the tablets wake on it.
    committed: watch::Sender<i64>,
}

/// Documents kept loaded between writes, evicted oldest-inserted first, one at a
/// time: never thousands dropped at once in the middle of a group.
#[derive(Default)]
struct DocCache {
    docs: HashMap<DocKey, Doc>,
    /// Keys in insertion order; may still name keys since removed or inserted again.
    order: VecDeque<DocKey>,
}

impl DocCache {
    fn remove(&mut self, key: &DocKey) -> Option<Doc> {
        self.docs.remove(key)
    }

    fn insert(&mut self, key: DocKey, doc: Doc) {
        self.order.push_back(key.clone());
        self.docs.insert(key, doc);
        while self.docs.len() > DOC_CACHE || self.order.len() > 2 * DOC_CACHE {
            match self.order.pop_front() {
                Some(old) => {
                    self.docs.remove(&old);
                }
                None => break,
            }
        }
    }
}

impl Writer {
    /// Commits `batch`, and with it the jobs `more` hands over while it runs (up
    /// to `MAX_BATCH`), then answers them all.
    fn commit_group(
        &mut self,
        conn: &mut Connection,
        mut batch: Vec<Job>,
        more: impl FnMut() -> Option<Job>,
    ) {
        let mut touched: Vec<DocKey> = Vec::new();
        let outcome = match self.run_optimistic(conn, &mut batch, more, &mut touched) {
            Ok(Some(results)) => Ok(results),
            // A job failed and the whole transaction rolled back: run the group
            // again with a savepoint per job, so only the failing job is refused.
            Ok(None) => self.run_isolated(conn, &batch, &mut touched),
            Err(e) => Err(e),
        };
        let results = match outcome {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
                for k in &touched {
                    self.docs.remove(k);
                }
                for job in batch {
                    let _ = job
                        .reply
                        .send(Err(StoreError::Internal(format!("commit failed: {e}"))));
                }
                return;
            }
        };
        let top = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|o| o.seq))
            .max()
            .unwrap_or(0);
        if top > 0 {
            self.committed.send_if_modified(|last| {
                let newer = top > *last;
                if newer {
                    *last = top;
                }
                newer
            });
        }
        for (job, res) in batch.into_iter().zip(results) {
            let _ = job.reply.send(res);
        }
    }

    /// Runs every job of `batch` in one transaction without savepoints (each
    /// costs a copy of every page its job touches) and commits it. Jobs that
    /// arrive meanwhile (`more`) join the batch, so writers that queue while a
    /// group runs share its commit instead of waiting for the next one.
    /// `Ok(None)`: a job failed, so the whole transaction was rolled back and the
    /// documents it touched forgotten; nothing was written.
    fn run_optimistic(
        &mut self,
        conn: &mut Connection,
        batch: &mut Vec<Job>,
        mut more: impl FnMut() -> Option<Job>,
        touched: &mut Vec<DocKey>,
    ) -> Result<Option<Vec<Result<WriteOutcome, StoreError>>>, rusqlite::Error> {
        let mut results = Vec::with_capacity(batch.len());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut next = 0;
        loop {
            if next == batch.len() {
                match (batch.len() < MAX_BATCH).then(&mut more).flatten() {
                    Some(job) => batch.push(job),
                    None => break,
                }
            }
            let job = &batch[next];
            next += 1;
            let mut keys = Vec::new();
            match self.apply(&tx, &job.req, &mut keys) {
                Ok(out) => {
                    touched.extend(keys);
                    results.push(Ok(out));
                }
                Err(e) => {
                    drop(tx); // rolls back everything this group wrote
                    touched.extend(keys);
                    for k in touched.drain(..) {
                        self.docs.remove(&k);
                    }
                    if batch.len() == 1 {
                        // Alone in its group: rolled back, as its savepoint would be.
                        return Ok(Some(vec![Err(e)]));
                    }
                    return Ok(None);
                }
            }
        }
        tx.commit()?;
        Ok(Some(results))
    }

    /// Runs each job of `batch` in its own savepoint inside one transaction, so a
    /// job that fails rolls back alone, and commits it.
    fn run_isolated(
        &mut self,
        conn: &mut Connection,
        batch: &[Job],
        touched: &mut Vec<DocKey>,
    ) -> Result<Vec<Result<WriteOutcome, StoreError>>, rusqlite::Error> {
        let mut results = Vec::with_capacity(batch.len());
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in batch {
            let sp = tx.savepoint()?;
            let mut keys = Vec::new();
            match self.apply(&sp, &job.req, &mut keys) {
                Ok(out) => {
                    sp.commit()?;
                    touched.extend(keys);
                    results.push(Ok(out));
                }
                Err(e) => {
                    drop(sp); // rolls back to the savepoint
                    for k in &keys {
                        self.docs.remove(k);
                    }
                    results.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(results)
    }

    fn apply(
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
        let taken: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT 1 FROM crdt_docs WHERE table_name = ?1 AND record_id = ?2")?
            .query_row(params![def.name, id], |r| r.get(0))
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "id: {id} is already used by a {} record",
                def.name
            )));
        }
        ctx.check(Verb::Insert, &id, None, &fields)?;
        if let Some(n) = def.numbering {
            if !fields.contains_key(n.column) {
                let next: i64 = ctx
                    .conn
                    .prepare_cached(
                        "INSERT INTO counters (shop_id, name, last) VALUES (?1, ?2, 1)
                         ON CONFLICT (shop_id, name) DO UPDATE SET last = last + 1
                         RETURNING last",
                    )?
                    .query_row(params![shop, n.column], |r| r.get(0))?;
                fields.insert(n.column, Value::Text(format!("{}{next:05}", n.prefix)));
            }
        }
        ctx.check_values(&fields)?;

        let mut doc = crdt::new_doc(&self.actor);
        let mut all = fields.clone();
        // The id makes every record's first change unique: without it, two records
        // with the same fields created together (a bulk) made byte-identical changes
        // with one hash, and the change log refused the second.
        all.insert("id", Value::Text(id.clone()));
        all.insert("shop_id", Value::Text(shop.clone()));
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

struct Ctx<'a> {
    conn: &'a Connection,
    req: &'a WriteRequest,
    now: String,
    unix: i64,
}

impl Ctx<'_> {
    fn meta(&self, op: &'static str) -> ChangeMeta<'_> {
        ChangeMeta {
            author: self.req.who.user_id.as_deref(),
            op,
            unix_time: self.unix,
        }
    }

    /// The role matrix's row-level half. The hub acting for itself (`init`) has no
    /// user and is not subject to it.
    fn check(
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

    /// The row as stored, if it exists in the caller's shop.
    fn current(&self, id: &str) -> Result<Record, StoreError> {
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

    /// Checks what only the database can: references name a record of this shop,
    /// and a repair order's stage is one of the shop's board.
    fn check_values(&self, fields: &Fields) -> Result<(), StoreError> {
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
            if def.name == "repair_orders" && col.name == "stage" && !STAGES.contains(&v.as_str()) {
                let found: Option<i64> = self
                    .conn
                    .prepare_cached(
                        "SELECT 1 FROM production_stages WHERE shop_id = ?1 AND code = ?2 AND active = 1",
                    )?
                    .query_row(params![self.req.who.shop_id, v], |r| r.get(0))
                    .optional()?;
                if found.is_none() {
                    return Err(FieldError::new(
                        "stage",
                        format!(
                            "'{v}' is neither a default stage ({}) nor an active production stage of this shop",
                            STAGES.join(", ")
                        ),
                    )
                    .into());
                }
            }
        }
        Ok(())
    }

    /// Writes the change-log entry (with the change bytes) and, unless skipped, the
    /// sync-queue entry, coalescing into the record's pending item. Returns the seq.
    fn log(
        &self,
        id: &str,
        op: &str,
        applied: &Applied,
        changed: &[&str],
        queue_op: &str,
    ) -> Result<i64, StoreError> {
        let who = &self.req.who;
        let table = self.req.table.name();
        let fields = serde_json::to_string(changed).unwrap_or_else(|_| "[]".into());
        let seq: i64 = self
            .conn
            .prepare_cached(
                "INSERT INTO change_log
                   (shop_id, table_name, record_id, op, change_hash, actor, author_id, fields, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING seq",
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
                    self.now
                ],
                |r| r.get(0),
            )?;
        if !self.req.skip_sync {
            self.conn
                .prepare_cached(
                    "INSERT INTO sync_queue
                       (shop_id, table_name, record_id, operation, status, change_seq, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, 'PENDING', ?5, ?6, ?6)
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

fn set_password(conn: &Connection, user_id: &str, hash: &str, now: &str) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO user_credentials (user_id, password_hash, changed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, changed_at = excluded.changed_at",
    )?
    .execute(params![user_id, hash, now])?;
    Ok(())
}

/// Turns a constraint failure into the answer a client can act on.
fn constraint_error(e: rusqlite::Error, table: &str) -> StoreError {
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
                return StoreError::Invalid(FieldError::new("body", msg));
            }
            _ => {}
        }
    }
    StoreError::Internal(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::value::{parse_object, Mode};

    struct Fixture {
        conn: Connection,
        w: Writer,
        who: Principal,
        _dir: tempfile::TempDir,
    }

    fn table(name: &str) -> TableId {
        TableId::by_name(name).expect("table")
    }

    fn fields(t: TableId, body: serde_json::Value, mode: Mode) -> Fields {
        parse_object(t.def(), &body, mode).expect("valid fields").1
    }

    fn req(f: &Fixture, t: TableId, op: WriteOp) -> WriteRequest {
        WriteRequest {
            who: f.who.clone(),
            table: t,
            op,
            skip_sync: false,
            password_hash: None,
        }
    }

    /// Runs `reqs` as one group, as the writer thread would; returns the answers.
    fn group(f: &mut Fixture, reqs: Vec<WriteRequest>) -> Vec<Result<WriteOutcome, StoreError>> {
        let mut answers = Vec::new();
        let batch = reqs
            .into_iter()
            .map(|req| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Job { req, reply }
            })
            .collect();
        f.w.commit_group(&mut f.conn, batch, || None);
        answers
            .into_iter()
            .map(|mut a| a.try_recv().expect("every job is answered"))
            .collect()
    }

    fn count(f: &Fixture, sql: &str) -> i64 {
        f.conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = Connection::open(dir.path().join("t.db")).expect("open");
        conn.pragma_update(None, "foreign_keys", "ON")
            .expect("pragma");
        super::super::migrations::apply(&mut conn).expect("migrate");
        let shop = uuid::Uuid::now_v7();
        let mut f = Fixture {
            conn,
            w: Writer {
                actor: ActorId::random(),
                docs: DocCache::default(),
                committed: watch::channel(0).0,
            },
            who: Principal::system(shop.hyphenated().to_string()),
            _dir: dir,
        };
        let shops = table("shops");
        let shop_fields = fields(shops, serde_json::json!({ "name": "T" }), Mode::Create);
        let r = req(
            &f,
            shops,
            WriteOp::Create {
                id: Some(shop),
                fields: shop_fields,
            },
        );
        let out = group(&mut f, vec![r]);
        assert!(out[0].is_ok());
        f
    }

    fn create_ro(f: &Fixture, id: Option<uuid::Uuid>) -> WriteRequest {
        let ro = table("repair_orders");
        let body = serde_json::json!({ "stage": "intake" });
        req(
            f,
            ro,
            WriteOp::Create {
                id,
                fields: fields(ro, body, Mode::Create),
            },
        )
    }

    fn set_stage(f: &Fixture, id: &str, stage: &str) -> WriteRequest {
        let ro = table("repair_orders");
        req(
            f,
            ro,
            WriteOp::Update {
                id: id.into(),
                fields: fields(ro, serde_json::json!({ "stage": stage }), Mode::Update),
                base: None,
            },
        )
    }

    #[test]
    fn the_document_cache_stays_bounded_and_evicts_the_oldest() {
        let actor = ActorId::random();
        let ro = table("repair_orders");
        let key = |i: usize| (ro, format!("{i}"));
        let mut c = DocCache::default();
        for i in 0..DOC_CACHE + 10 {
            c.insert(key(i), crdt::new_doc(&actor));
        }
        assert_eq!(c.docs.len(), DOC_CACHE);
        assert!(c.remove(&key(0)).is_none());
        assert!(c.remove(&key(DOC_CACHE + 9)).is_some());
        // One hot document taken and put back over and over: the order stays bounded.
        for _ in 0..3 * DOC_CACHE {
            let doc = c.remove(&key(20)).unwrap_or_else(|| crdt::new_doc(&actor));
            c.insert(key(20), doc);
        }
        assert!(c.order.len() <= 2 * DOC_CACHE);
        assert!(c.docs.len() <= DOC_CACHE);
    }

    #[test]
    fn a_failing_job_is_refused_alone_and_leaves_no_trace() {
        let mut f = fixture();
        let taken = uuid::Uuid::now_v7();
        let reqs = vec![
            create_ro(&f, None),
            create_ro(&f, Some(taken)),
            create_ro(&f, Some(taken)),
            create_ro(&f, None),
        ];
        let out = group(&mut f, reqs);
        assert!(out[0].is_ok() && out[1].is_ok() && out[3].is_ok());
        assert!(
            matches!(out[2], Err(StoreError::Conflict(_))),
            "{:?}",
            out[2]
        );
        let numbers: Vec<String> = out
            .iter()
            .flatten()
            .map(|o| match o.records[0].fields.get("ro_number") {
                Some(Value::Text(n)) => n.clone(),
                other => panic!("no ro_number: {other:?}"),
            })
            .collect();
        assert_eq!(numbers, ["RO-00001", "RO-00002", "RO-00003"]);
        for (sql, n) in [
            ("SELECT count(*) FROM repair_orders", 3),
            (
                "SELECT count(*) FROM crdt_docs WHERE table_name = 'repair_orders'",
                3,
            ),
            (
                "SELECT count(*) FROM change_log WHERE table_name = 'repair_orders'",
                3,
            ),
            (
                "SELECT count(*) FROM sync_queue WHERE table_name = 'repair_orders'",
                3,
            ),
        ] {
            assert_eq!(count(&f, sql), n, "{sql}");
        }

        // An update rolled back with its group leaves the cached document as stored.
        let a = out[0].as_ref().expect("created").records[0].id.clone();
        let missing = uuid::Uuid::now_v7().hyphenated().to_string();
        let reqs = vec![
            set_stage(&f, &a, "paint_booth"),
            set_stage(&f, &missing, "detail"),
        ];
        let out = group(&mut f, reqs);
        assert!(out[0].is_ok());
        assert!(matches!(out[1], Err(StoreError::NotFound)));
        let reqs = vec![set_stage(&f, &missing, "detail")];
        let out = group(&mut f, reqs);
        assert!(matches!(out[0], Err(StoreError::NotFound)));
        let reqs = vec![set_stage(&f, &a, "detail")];
        let out = group(&mut f, reqs);
        let heads = &out[0].as_ref().expect("updated").records[0].heads;
        assert_eq!(heads.len(), 1);
        let changes: i64 = f
            .conn
            .query_row(
                "SELECT count(*) FROM change_log WHERE record_id = ?1",
                [&a],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(
            changes, 3,
            "create and two updates, nothing from the rolled-back run"
        );
        let stored: Vec<u8> = f
            .conn
            .query_row(
                "SELECT doc FROM crdt_docs WHERE record_id = ?1",
                [&a],
                |r| r.get(0),
            )
            .expect("doc");
        let mut doc = crdt::load(&stored, &f.w.actor).expect("load");
        assert_eq!(crdt::get(&doc, "stage"), Some(Value::Text("detail".into())));
        assert_eq!(crdt::heads_hex(&mut doc), *heads);
    }
}
