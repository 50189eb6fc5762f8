//! Every case of `tests/columns.tsv` against the cloud's policies and guard
//! triggers, run as PostgREST runs a request (`rls/mod.rs` has the fixtures and
//! callers). Each case runs in its own transaction, rolled back: the `given`
//! fields are set as superuser first, then the caller reads or writes.

use crate::columns_file::{cases, ColumnCase, Op, RowKind};
use crate::rls::{fixtures, staff, Fixtures};
use serde_json::{Map, Value};
use tokio_postgres::Client;

/// `UPDATE ... SET (cols) = (values from the JSON object)` of one row.
fn set_from_json(table: &str, fields: &Map<String, Value>) -> String {
    let cols: Vec<&str> = fields.keys().map(String::as_str).collect();
    let cols = cols.join(", ");
    format!(
        "UPDATE public.{table} SET ({cols}) = (SELECT {cols} FROM jsonb_populate_record(NULL::public.{table}, $1::text::jsonb))
         WHERE id = $2::text::uuid"
    )
}

/// Runs one case; returns what went wrong, if anything.
async fn check(client: &mut Client, fx: &Fixtures, c: &ColumnCase) -> Option<String> {
    let a = &fx.a;
    let id = match c.row {
        RowKind::Fixture => a.row(c.table),
        RowKind::OwnUser => a.user(c.role),
    }
    .to_string();
    let me = staff(a, c.role);
    let tx = client.transaction().await.expect("BEGIN");
    if !c.given.is_empty() {
        let given = Value::Object(c.given.clone()).to_string();
        tx.execute(set_from_json(c.table, &c.given).as_str(), &[&given, &id])
            .await
            .unwrap_or_else(|e| panic!("{}: setting the given fields: {e}", c.label()));
    }
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&me.claims],
    )
    .await
    .expect("claims");
    tx.batch_execute("SET LOCAL ROLE authenticated")
        .await
        .expect("SET ROLE");
    let problem = match &c.op {
        Op::Read(col) => {
            let sql = format!(
                "SELECT ({col})::text FROM public.{} WHERE id = $1::text::uuid",
                c.table
            );
            let seen: Option<Option<String>> = tx
                .query_opt(sql.as_str(), &[&id])
                .await
                .ok()
                .flatten()
                .map(|r| r.get(0));
            let want = c.given.get(col).map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            match (c.allowed, seen) {
                (true, Some(v)) if v == want => None,
                (false, None) => None,
                (_, seen) => Some(format!("{}: saw {seen:?}", c.label())),
            }
        }
        Op::Update(fields) => {
            let json = Value::Object(fields.clone()).to_string();
            let got = tx
                .execute(set_from_json(c.table, fields).as_str(), &[&json, &id])
                .await;
            let field = c.field.as_deref().unwrap_or("?");
            match (c.allowed, got) {
                (true, Ok(1)) => None,
                (false, Err(e))
                    if e.as_db_error().is_some_and(|d| {
                        d.code().code() == "42501" && d.message().starts_with(&format!("{field}:"))
                    }) =>
                {
                    None
                }
                (_, got) => Some(format!(
                    "{}: got {:?}",
                    c.label(),
                    got.map_err(|e| e.as_db_error().map(|d| d.message().to_string()))
                )),
            }
        }
    };
    tx.rollback().await.expect("ROLLBACK");
    problem
}

#[tokio::test]
async fn every_column_case_holds_in_postgres() {
    let mut fx = fixtures("columns").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        if let Some(p) = check(&mut client, &fx, c).await {
            failures.push(p);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} column cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    drop(client);
    fx.db.drop_db().await;
}
