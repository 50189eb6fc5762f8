//! Transport 1: the Postgres wire (`tokio-postgres`).
//!
//! Each push is one transaction that sets `role` to `authenticated` and
//! `request.jwt.claims` to the hub's claims (as PostgREST does), so the cloud's
//! RLS confines the hub to its shop. Rows go per table as one multi-row
//! `INSERT … SELECT … FROM unnest(…) ON CONFLICT (id) DO UPDATE`, one binary
//! array per column (no JSON to build or parse), deletes as one
//! `DELETE … WHERE id = ANY($1)`, change bytes as one `INSERT … SELECT … FROM
//! unnest(…)` likewise (the bytes and hashes as `bytea[]`, no hex) with `ON
//! CONFLICT (record_id, change_hash) DO NOTHING`. Every statement is sent unnamed
//! (`execute_typed`, or the simple protocol), so no prepared statement outlives
//! its transaction and a transaction-mode pooler (pgbouncer, Supavisor) works.

use super::config::Secret;
use super::sink::{BoxFut, CheckOutcome, CheckStep, Claims, CloudSink, RowBatch, SinkError};
use super::tls::RustlsConnect;
use crate::domain::catalog::SYSTEM_COLUMNS;
use crate::domain::ddl::postgres_type;
use crate::domain::value::Value;
use crate::domain::ColType;
use crate::domain::TableId;
use crate::store::queue::ChangeEntry;
use crate::store::Record;
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A push that takes longer is abandoned as "no answer" (and retried, idempotently).
const PUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// The parameters of a statement, borrowed from the batch being pushed.
enum Param<'a> {
    TextArray(&'a [String]),
    /// A table's upsert: one text array per column ([`upsert_sql`]).
    Rows(Vec<Vec<Option<Cow<'a, str>>>>),
    /// The change-bytes insert's columns ([`CHANGES_SQL`]).
    Changes(ChangeColumns<'a>),
    /// One change's record id and hash ([`HAS_CHANGE_SQL`]).
    Change(&'a str, Vec<u8>),
}

/// A batch of change-log entries as one array per column of [`CHANGES_SQL`].
#[derive(Default)]
struct ChangeColumns<'a> {
    /// The hashes as their 32 bytes (the cloud's `bytea` key).
    hash: Vec<Vec<u8>>,
    shop: Vec<&'a str>,
    table: Vec<&'a str>,
    record: Vec<&'a str>,
    seq: Vec<i64>,
    author: Vec<Option<&'a str>>,
    bytes: Vec<&'a [u8]>,
    created_at: Vec<&'a str>,
}

impl<'a> ChangeColumns<'a> {
    fn of(changes: &[&'a ChangeEntry]) -> ChangeColumns<'a> {
        let mut c = ChangeColumns::default();
        for e in changes {
            // 64 hex digits by construction (`crdt::chunk::change_ids`);
            // anything else would become empty bytes, which the cloud's CHECK
            // refuses (the item FAILED), never a wrong key.
            c.hash.push(hex::decode(&e.change_hash).unwrap_or_default());
            c.shop.push(&e.shop_id);
            c.table.push(&e.table_name);
            c.record.push(&e.record_id);
            c.seq.push(e.seq);
            c.author.push(e.author_id.as_deref());
            c.bytes.push(&e.bytes);
            c.created_at.push(&e.created_at);
        }
        c
    }

    /// The statement's parameters, in `$1 … $8` order.
    fn params(&self) -> [(&(dyn ToSql + Sync), Type); 8] {
        [
            (&self.hash, Type::BYTEA_ARRAY),
            (&self.shop, Type::TEXT_ARRAY),
            (&self.table, Type::TEXT_ARRAY),
            (&self.record, Type::TEXT_ARRAY),
            (&self.seq, Type::INT8_ARRAY),
            (&self.author, Type::TEXT_ARRAY),
            (&self.bytes, Type::BYTEA_ARRAY),
            (&self.created_at, Type::TEXT_ARRAY),
        ]
    }
}

pub struct PgSink {
    url: Secret,
    /// TLS for the connection (`None`: plain, only to this machine).
    tls: Option<RustlsConnect>,
    client: Mutex<Option<Client>>,
}

impl PgSink {
    /// A sink to `url`, without TLS (a database on this machine).
    pub fn new(url: Secret) -> PgSink {
        PgSink::with_tls(url, None)
    }

    pub fn with_tls(url: Secret, tls: Option<RustlsConnect>) -> PgSink {
        PgSink {
            url,
            tls,
            client: Mutex::new(None),
        }
    }

    /// A new connection (TLS as configured), its connection task spawned.
    pub(crate) async fn connect(&self) -> Result<Client, SinkError> {
        let mut cfg = tokio_postgres::Config::from_str(self.url.expose())
            .map_err(|_| SinkError::permanent("the database URL is not a valid postgres:// URL"))?;
        cfg.connect_timeout(CONNECT_TIMEOUT);
        cfg.application_name("collisionos-hub");
        let context = "connecting to the cloud database";
        match &self.tls {
            None => {
                let (client, connection) = cfg
                    .connect(NoTls)
                    .await
                    .map_err(|e| classify(&e, context))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "cloud connection ended");
                    }
                });
                Ok(client)
            }
            Some(tls) => {
                cfg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let (client, connection) = cfg
                    .connect(tls.clone())
                    .await
                    .map_err(|e| classify(&e, context))?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!(error = %e, "cloud connection ended");
                    }
                });
                Ok(client)
            }
        }
    }

    /// Runs `statements` in one transaction with the hub's claims, on the kept
    /// connection (made again when it is gone); the rows each one touched or
    /// returned.
    async fn in_tx(
        &self,
        claims: &Claims,
        statements: &[(String, Param<'_>)],
    ) -> Result<Vec<u64>, SinkError> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(|c| c.is_closed()) {
            *guard = Some(self.connect().await?);
        }
        let Some(client) = guard.as_mut() else {
            return Err(SinkError::unreachable("no connection to the cloud"));
        };
        let claims = claims.to_json_string();
        let run = async {
            let tx = client.transaction().await?;
            // Every statement is sent before the first answer is read (tokio-postgres
            // pipelines requests polled together): one round trip for the batch,
            // not one per statement. They run in order; after a failure the rest
            // answer "transaction aborted", so the first error is the cause.
            let setup = tx
                .batch_execute("SET LOCAL ROLE authenticated; SET LOCAL statement_timeout = '30s'");
            let claims_param = [(
                &claims as &(dyn tokio_postgres::types::ToSql + Sync),
                Type::TEXT,
            )];
            let claims_set = tx.execute_typed(
                "SELECT set_config('request.jwt.claims', $1, true)",
                &claims_param,
            );
            let work = futures_util::future::join_all(statements.iter().map(|(sql, param)| {
                let tx = &tx;
                async move {
                    match param {
                        Param::Rows(columns) => {
                            let params: Vec<(&(dyn ToSql + Sync), Type)> = columns
                                .iter()
                                .map(|c| (c as &(dyn ToSql + Sync), Type::TEXT_ARRAY))
                                .collect();
                            tx.execute_typed(sql, &params).await
                        }
                        Param::TextArray(a) => {
                            tx.execute_typed(sql, &[(a, Type::TEXT_ARRAY)]).await
                        }
                        Param::Changes(c) => tx.execute_typed(sql, &c.params()).await,
                        Param::Change(record, hash) => {
                            tx.execute_typed(sql, &[(record, Type::TEXT), (hash, Type::BYTEA)])
                                .await
                        }
                    }
                }
            }));
            let (setup, claims_set, work) = tokio::join!(setup, claims_set, work);
            setup?;
            claims_set?;
            let counts = work.into_iter().collect::<Result<Vec<u64>, _>>()?;
            tx.commit().await?;
            Ok(counts)
        };
        let out = match tokio::time::timeout(PUSH_TIMEOUT, run).await {
            Ok(Ok(counts)) => Ok(counts),
            Ok(Err(e)) => Err(classify(&e, "")),
            Err(_) => {
                *guard = None;
                return Err(SinkError::unreachable(
                    "the cloud database did not answer within 60 s",
                ));
            }
        };
        if out.as_ref().is_err_and(|e| e.kind.holds()) {
            *guard = None;
        }
        out
    }
}

/// The SQLSTATE classes that mean "not reached" and "try again later".
pub fn classify(e: &tokio_postgres::Error, context: &str) -> SinkError {
    let Some(db) = e.as_db_error() else {
        // No answer from the server: refused, reset, closed, timed out, or a
        // TLS handshake that failed. The causes say which.
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(e);
        while let Some(c) = cause {
            let c_text = c.to_string();
            if !text.contains(&c_text) {
                text.push_str(&format!(": {c_text}"));
            }
            cause = c.source();
        }
        let m = if context.is_empty() {
            format!("the cloud database did not answer: {text}")
        } else {
            format!("{context}: {text}")
        };
        return SinkError::unreachable(m);
    };
    let code = db.code().code();
    let mut message = format!("{} (SQLSTATE {code})", db.message());
    if let Some(d) = db.detail() {
        message.push_str(&format!(": {d}"));
    }
    SinkError {
        kind: super::sink::FailureKind::of_sqlstate(code),
        message,
        retry_after: None,
    }
}

/// A table's columns with their cloud types, in `all_column_names` order: the
/// system columns, then the catalog's.
fn columns(table: TableId) -> Vec<(&'static str, &'static str)> {
    const SYSTEM_TYPES: [&str; 4] = ["uuid", "uuid", "timestamptz", "timestamptz"];
    SYSTEM_COLUMNS
        .into_iter()
        .zip(SYSTEM_TYPES)
        .chain(
            table
                .def()
                .columns
                .iter()
                .map(|c| (c.name, postgres_type(c.ty))),
        )
        .collect()
}

/// A table's upsert: `$1 … $n` are one text array per column (binary arrays,
/// nothing to parse but each value), cast to the column's type as
/// `jsonb_populate_recordset` would.
fn upsert_sql(table: TableId) -> String {
    let t = table.name();
    let cols = columns(table);
    let list = cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let arrays = (1..=cols.len())
        .map(|i| format!("${i}::text[]"))
        .collect::<Vec<_>>()
        .join(", ");
    let casts = cols
        .iter()
        .map(|(c, ty)| format!("u.{c}::{ty}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = cols
        .iter()
        .filter(|(c, _)| *c != "id")
        .map(|(c, _)| format!("{c} = EXCLUDED.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO public.{t} ({list}) SELECT {casts} \
         FROM unnest({arrays}) AS u({list}) \
         ON CONFLICT (id) DO UPDATE SET {sets}"
    )
}

/// The rows' values, one text array per column of [`columns`] (NULL for a
/// null value; a boolean as `true`/`false`; a JSON column as its stored text,
/// which the cast to `jsonb` parses), read straight from the records.
fn row_columns<'a>(table: TableId, rows: &[&'a Record]) -> Vec<Vec<Option<Cow<'a, str>>>> {
    let system: [fn(&'a Record) -> &'a str; 4] = [
        |r| r.id.as_str(),
        |r| r.shop_id.as_str(),
        |r| r.created_at.as_str(),
        |r| r.updated_at.as_str(),
    ];
    let mut out: Vec<Vec<Option<Cow<'a, str>>>> = system
        .iter()
        .map(|get| rows.iter().map(|r| Some(Cow::Borrowed(get(r)))).collect())
        .collect();
    for col in table.def().columns {
        out.push(
            rows.iter()
                .map(|r| match r.fields.get(col.name) {
                    None | Some(Value::Null) => None,
                    Some(Value::Text(s)) => Some(Cow::Borrowed(s.as_str())),
                    Some(Value::Int(i)) if col.ty == ColType::Bool => {
                        Some(Cow::Borrowed(if *i != 0 { "true" } else { "false" }))
                    }
                    Some(Value::Int(i)) => Some(Cow::Owned(i.to_string())),
                    Some(Value::Bool(b)) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
                })
                .collect(),
        );
    }
    out
}

const CHANGES_SQL: &str = "INSERT INTO public.crdt_changes
    (change_hash, shop_id, table_name, record_id, seq, author_id, bytes, created_at)
  SELECT * FROM unnest($1::bytea[], $2::text[]::uuid[], $3::text[], $4::text[]::uuid[],
         $5::int8[], $6::text[]::uuid[], $7::bytea[], $8::text[]::timestamptz[])
  ON CONFLICT (record_id, change_hash) DO NOTHING";

/// One change of one record, found by the change table's primary key.
const HAS_CHANGE_SQL: &str = "SELECT 1 FROM public.crdt_changes
  WHERE record_id = $1::text::uuid AND change_hash = $2";

/// The upserts (per table) and deletes of a batch's rows.
fn row_statements<'a>(rows: &'a RowBatch<'a>) -> Vec<(String, Param<'a>)> {
    let mut statements = Vec::new();
    for (table, ups) in &rows.upserts {
        statements.push((upsert_sql(*table), Param::Rows(row_columns(*table, ups))));
    }
    for (table, ids) in &rows.deletes {
        statements.push((
            format!(
                "DELETE FROM public.{} WHERE id = ANY($1::text[]::uuid[])",
                table.name()
            ),
            Param::TextArray(ids),
        ));
    }
    statements
}

fn changes_statement<'a>(changes: &[&'a ChangeEntry]) -> (String, Param<'a>) {
    (
        CHANGES_SQL.to_string(),
        Param::Changes(ChangeColumns::of(changes)),
    )
}

impl CloudSink for PgSink {
    /// Rows and change bytes in one transaction (one commit, one round trip).
    fn push<'a>(
        &'a self,
        claims: &'a Claims,
        rows: &'a RowBatch<'a>,
        changes: &'a [&'a ChangeEntry],
    ) -> BoxFut<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut statements = row_statements(rows);
            for chunk in changes.chunks(super::sink::CHANGES_PER_CALL) {
                statements.push(changes_statement(chunk));
            }
            if statements.is_empty() {
                return Ok(());
            }
            self.in_tx(claims, &statements).await.map(drop)
        })
    }

    fn has_change<'a>(
        &'a self,
        claims: &'a Claims,
        record_id: &'a str,
        hash: &'a str,
    ) -> BoxFut<'a, Result<bool, SinkError>> {
        Box::pin(async move {
            let hash = super::sink::change_hash_bytes(hash)?;
            let probe = [(HAS_CHANGE_SQL.to_string(), Param::Change(record_id, hash))];
            Ok(self.in_tx(claims, &probe).await?.first() == Some(&1))
        })
    }

    fn check<'a>(&'a self, claims: &'a Claims) -> BoxFut<'a, CheckOutcome> {
        Box::pin(async move {
            let mut steps = Vec::new();
            let client = match self.connect().await {
                Ok(c) => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: true,
                        message: "the cloud database answered".into(),
                    });
                    c
                }
                Err(e) if e.kind == super::sink::FailureKind::Refused => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: true,
                        message: "the cloud database answered".into(),
                    });
                    steps.push(CheckStep {
                        name: "credentials",
                        ok: false,
                        message: format!("the cloud database refused the hub's login: {e}"),
                    });
                    return CheckOutcome::from_steps(steps);
                }
                Err(e) => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: false,
                        message: format!("could not reach the cloud database: {e}"),
                    });
                    return CheckOutcome::from_steps(steps);
                }
            };
            let claims_json = claims.to_json_string();
            let creds = async {
                client
                    .batch_execute("BEGIN; SET LOCAL ROLE authenticated")
                    .await?;
                client
                    .execute_typed(
                        "SELECT set_config('request.jwt.claims', $1, true)",
                        &[(&claims_json, Type::TEXT)],
                    )
                    .await?;
                let rows = client
                    .query_typed("SELECT count(*) FROM public.shops", &[])
                    .await;
                client.batch_execute("ROLLBACK").await?;
                rows
            }
            .await;
            match creds {
                Ok(_) => steps.push(CheckStep {
                    name: "credentials",
                    ok: true,
                    message: "signed in, and may act as the shop's hub (role authenticated)".into(),
                }),
                Err(e) => {
                    steps.push(CheckStep {
                        name: "credentials",
                        ok: false,
                        message: format!(
                            "connected, but could not act as the shop's hub: {}",
                            classify(&e, "")
                        ),
                    });
                    return CheckOutcome::from_steps(steps);
                }
            }
            // In a transaction, so a transaction-mode pooler keeps the check's
            // statements (prepared by the schema reader) on one server connection.
            let report = match client.batch_execute("BEGIN READ ONLY").await {
                Ok(()) => {
                    let r = crate::cloud::check::check_client(&client).await;
                    let _ = client.batch_execute("COMMIT").await;
                    r
                }
                Err(e) => Err(anyhow::anyhow!("{}", classify(&e, ""))),
            };
            match report {
                Ok(report) if report.is_ok() => steps.push(CheckStep {
                    name: "schema",
                    ok: true,
                    message: format!(
                        "the cloud has every table ({}) and policy ({}) this hub expects",
                        report.tables_checked, report.policies_checked
                    ),
                }),
                Ok(report) => steps.push(CheckStep {
                    name: "schema",
                    ok: false,
                    message: format!(
                        "the cloud's tables or policies differ from what this hub expects; apply \
                         the supabase/ and rls/ files. {}",
                        report.to_string().trim()
                    ),
                }),
                Err(e) => steps.push(CheckStep {
                    name: "schema",
                    ok: false,
                    message: format!("could not read the cloud's schema: {e:#}"),
                }),
            }
            CheckOutcome::from_steps(steps)
        })
    }
}
