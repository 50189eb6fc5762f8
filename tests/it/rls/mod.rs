//! The cloud's row level security, run the way PostgREST runs a request: in a
//! transaction, `SET LOCAL ROLE authenticated` and the JWT claims in
//! `request.jwt.claims`. Every cell of tests/matrix.tsv is checked against the
//! policies (`matrix.rs`), then the hub's confinement to its shop and anon
//! (`confinement.rs`), and the special rules (`special.rs`).
//!
//! This file is their shared harness (also used by `cloud_guards.rs` and
//! `columns_rls.rs`): the fixtures and the callers. Fixtures are seeded as
//! superuser: two shops (A and B), a user per role in each, a row of every table
//! in each, and a labor entry and time-clock row owned by each user. Every case
//! runs in its own transaction and is rolled back.

use crate::pg::{fresh_db, TestDb};
use collisionos::cloud::expected::CHANGES_TABLE;
use collisionos::domain::catalog::{ColType, Table, TABLES};
use collisionos::domain::policy::APPROVAL_FIELDS;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;
use uuid::Uuid;

mod confinement;
mod matrix;
mod special;

const TS: &str = "2026-01-01T00:00:00Z";
const LATER: &str = "2026-02-02T00:00:00Z";
pub use collisionos::domain::catalog::ROLES;

// ------------------------------------------------------------------ fixtures

pub(crate) struct Shop {
    pub(crate) id: Uuid,
    /// The user of each role.
    pub(crate) users: BTreeMap<&'static str, Uuid>,
    /// One row of every table (owned rows belong to the owner user).
    pub(crate) rows: BTreeMap<&'static str, Uuid>,
    /// Rows of owner-column tables owned by each role's user: (table, role) -> id.
    pub(crate) own: BTreeMap<(&'static str, &'static str), Uuid>,
    /// An approved labor entry of the technician.
    pub(crate) approved_labor: Uuid,
    /// The key of one crdt_changes row.
    pub(crate) change: ChangeKey,
}

impl Shop {
    pub(crate) fn user(&self, role: &str) -> Uuid {
        *self
            .users
            .get(role)
            .unwrap_or_else(|| panic!("no {role} user"))
    }
    pub(crate) fn row(&self, table: &str) -> Uuid {
        *self
            .rows
            .get(table)
            .unwrap_or_else(|| panic!("no {table} row"))
    }
    pub(crate) fn own(&self, table: &'static str, role: &'static str) -> Uuid {
        *self
            .own
            .get(&(table, role))
            .unwrap_or_else(|| panic!("no {table} row of {role}"))
    }
}

static COUNTER: AtomicI64 = AtomicI64::new(1);

pub(crate) fn table(name: &str) -> &'static Table {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} is not in the catalog"))
}

/// A valid row of `t` in `shop` with the given id; references point at the
/// shop's fixture rows, business numbers and unique columns are fresh.
pub(crate) fn row(t: &Table, shop: &Shop, id: Uuid) -> Map<String, Value> {
    let mut m = Map::new();
    let sid = if t.name == "shops" { id } else { shop.id };
    m.insert("id".into(), json!(id.to_string()));
    m.insert("shop_id".into(), json!(sid.to_string()));
    m.insert("created_at".into(), json!(TS));
    m.insert("updated_at".into(), json!(TS));
    let hex = id.simple().to_string();
    for c in t.columns {
        let v = match c.ty {
            _ if APPROVAL_FIELDS.contains(&c.name) && c.ty == ColType::Bool => json!(false),
            _ if APPROVAL_FIELDS.contains(&c.name) => Value::Null,
            ColType::Text => json!(format!("{}-{hex}", c.name)),
            ColType::Email => json!(format!("{hex}@example.test")),
            ColType::Uuid => json!(Uuid::new_v4().to_string()),
            ColType::Ref(target) => json!(shop.row(target).to_string()),
            ColType::Int | ColType::Cents => json!(COUNTER.fetch_add(1, Ordering::Relaxed)),
            ColType::Bool => json!(false),
            ColType::Timestamp => json!(TS),
            ColType::Date => json!("2026-01-01"),
            ColType::Decimal => json!("1.5"),
            ColType::Json => json!({}),
            ColType::Enum(values) => json!(values[0]),
            ColType::Vin => json!(hex[..17].to_ascii_uppercase()),
            ColType::Stage => json!(format!("s{}", &hex[..20])),
        };
        m.insert(c.name.into(), v);
    }
    m
}

pub(crate) fn insert_sql(table: &str) -> String {
    format!(
        "INSERT INTO public.{table} SELECT * FROM jsonb_populate_record(NULL::public.{table}, $1::text::jsonb)"
    )
}

pub(crate) async fn seed(client: &Client, table: &str, row: &Map<String, Value>) {
    let json = Value::Object(row.clone()).to_string();
    client
        .execute(&insert_sql(table), &[&json])
        .await
        .unwrap_or_else(|e| panic!("seeding {table} {json}: {e}"));
}

/// A `crdt_changes` row's primary key: its record and its hash (hex).
#[derive(Debug, Clone)]
pub(crate) struct ChangeKey {
    pub(crate) record_id: Uuid,
    pub(crate) hash: String,
}

impl ChangeKey {
    pub(crate) fn new() -> ChangeKey {
        ChangeKey {
            record_id: Uuid::new_v4(),
            hash: format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()),
        }
    }
}

pub(crate) fn change_row(shop: Uuid, key: &ChangeKey) -> Map<String, Value> {
    let v = json!({
        "change_hash": format!("\\x{}", key.hash),
        "shop_id": shop.to_string(),
        "table_name": "customers",
        "record_id": key.record_id.to_string(),
        "seq": COUNTER.fetch_add(1, Ordering::Relaxed),
        "author_id": null,
        "bytes": "\\x00ff",
        "created_at": TS,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

pub(crate) async fn seed_shop(client: &Client) -> Shop {
    let mut shop = Shop {
        id: Uuid::new_v4(),
        users: BTreeMap::new(),
        rows: BTreeMap::new(),
        own: BTreeMap::new(),
        approved_labor: Uuid::nil(),
        change: ChangeKey::new(),
    };
    let id = shop.id;
    seed(client, "shops", &row(table("shops"), &shop, id)).await;
    shop.rows.insert("shops", id);
    for role in ROLES {
        let uid = Uuid::new_v4();
        let mut r = row(table("users"), &shop, uid);
        r.insert("role".into(), json!(role));
        seed(client, "users", &r).await;
        shop.users.insert(role, uid);
    }
    // The users row the matrix cases act on is nobody's own and not an owner's:
    // changing an owner's account is owner-only (the account guards), a rule
    // beside the matrix, tested on its own below.
    let staff_row = Uuid::new_v4();
    let mut r = row(table("users"), &shop, staff_row);
    r.insert("role".into(), json!("estimator"));
    seed(client, "users", &r).await;
    shop.rows.insert("users", staff_row);
    for t in TABLES
        .iter()
        .filter(|t| !matches!(t.name, "shops" | "users"))
    {
        let rid = Uuid::new_v4();
        let mut r = row(t, &shop, rid);
        if let Some(owner) = t.owner_column {
            r.insert(owner.into(), json!(shop.user("owner").to_string()));
        }
        seed(client, t.name, &r).await;
        shop.rows.insert(t.name, rid);
        if let Some(owner) = t.owner_column {
            for role in ROLES {
                let oid = Uuid::new_v4();
                let mut r = row(t, &shop, oid);
                r.insert(owner.into(), json!(shop.user(role).to_string()));
                seed(client, t.name, &r).await;
                shop.own.insert((t.name, role), oid);
            }
        }
    }
    let approved = Uuid::new_v4();
    let mut r = row(table("labor_entries"), &shop, approved);
    r.insert(
        "technician_id".into(),
        json!(shop.user("technician").to_string()),
    );
    r.insert("approved".into(), json!(true));
    r.insert(
        "approved_by".into(),
        json!(shop.user("manager").to_string()),
    );
    seed(client, "labor_entries", &r).await;
    shop.approved_labor = approved;
    seed(client, CHANGES_TABLE, &change_row(id, &shop.change)).await;
    shop
}

pub(crate) struct Fixtures {
    pub(crate) db: TestDb,
    pub(crate) a: Shop,
    pub(crate) b: Shop,
}

pub(crate) async fn fixtures(tag: &str) -> Fixtures {
    let db = fresh_db(tag).await;
    let a = seed_shop(&db.client).await;
    let b = seed_shop(&db.client).await;
    Fixtures { db, a, b }
}

// ------------------------------------------------------------------- callers

/// Who runs a statement: the Postgres role and the JWT claims.
pub(crate) struct Caller {
    pub(crate) pg_role: &'static str,
    pub(crate) claims: String,
    pub(crate) label: String,
}

pub(crate) fn staff(shop: &Shop, role: &str) -> Caller {
    Caller {
        pg_role: "authenticated",
        claims: json!({
            "sub": shop.user(role).to_string(),
            "role": "authenticated",
            "shop_id": shop.id.to_string(),
            "user_role": role,
        })
        .to_string(),
        label: role.to_string(),
    }
}

pub(crate) fn hub(shop: &Shop) -> Caller {
    Caller {
        pg_role: "authenticated",
        claims: json!({
            "sub": Uuid::new_v4().to_string(),
            "role": "authenticated",
            "shop_id": shop.id.to_string(),
            "user_role": "hub",
        })
        .to_string(),
        label: "hub".into(),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Rows(u64),
    /// SQLSTATE 42501: insufficient privilege / RLS violation.
    Denied,
    Failed(String),
}

pub(crate) fn outcome(r: Result<u64, tokio_postgres::Error>) -> Outcome {
    match r {
        Ok(n) => Outcome::Rows(n),
        Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) => Outcome::Denied,
        Err(e) => Outcome::Failed(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        }),
    }
}

/// Runs one statement as `who` in a transaction that is rolled back.
pub(crate) async fn run(
    client: &mut Client,
    who: &Caller,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    count: bool,
) -> Outcome {
    let tx = client.transaction().await.expect("BEGIN");
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&who.claims],
    )
    .await
    .expect("set claims");
    tx.batch_execute(&format!("SET LOCAL ROLE {}", who.pg_role))
        .await
        .expect("SET LOCAL ROLE");
    let r = if count {
        tx.query_one(sql, params)
            .await
            .map(|row| row.get::<_, i64>(0) as u64)
    } else {
        tx.execute(sql, params).await
    };
    tx.rollback().await.expect("ROLLBACK");
    outcome(r)
}

pub(crate) async fn count_by_id(
    client: &mut Client,
    who: &Caller,
    table: &str,
    id: Uuid,
) -> Outcome {
    let sql = format!("SELECT count(*) FROM public.{table} WHERE id = $1::text::uuid");
    run(client, who, &sql, &[&id.to_string()], true).await
}

pub(crate) async fn insert(
    client: &mut Client,
    who: &Caller,
    table: &str,
    row: &Map<String, Value>,
) -> Outcome {
    let json = Value::Object(row.clone()).to_string();
    run(client, who, &insert_sql(table), &[&json], false).await
}

pub(crate) async fn update(
    client: &mut Client,
    who: &Caller,
    table: &str,
    set: &str,
    id: Uuid,
) -> Outcome {
    let sql = format!("UPDATE public.{table} SET {set} WHERE id = $1::text::uuid");
    run(client, who, &sql, &[&id.to_string()], false).await
}

pub(crate) async fn touch(client: &mut Client, who: &Caller, table: &str, id: Uuid) -> Outcome {
    update(client, who, table, &format!("updated_at = '{LATER}'"), id).await
}

pub(crate) async fn delete(client: &mut Client, who: &Caller, table: &str, id: Uuid) -> Outcome {
    let sql = format!("DELETE FROM public.{table} WHERE id = $1::text::uuid");
    run(client, who, &sql, &[&id.to_string()], false).await
}

/// Nothing happened: zero rows, or refused outright.
pub(crate) fn nothing(o: &Outcome) -> bool {
    matches!(o, Outcome::Rows(0) | Outcome::Denied)
}

// ------------------------------------------------- shared by the test files

/// A new row of `t` in `shop`, unlike any fixture (fresh id, numbers, codes).
pub(crate) fn fresh(t: &Table, shop: &Shop) -> Map<String, Value> {
    let mut r = row(t, shop, Uuid::new_v4());
    if t.name == "users" {
        r.insert("role".into(), json!("technician"));
    }
    r
}

pub(crate) fn cloud_tables() -> Vec<&'static str> {
    TABLES
        .iter()
        .map(|t| t.name)
        .chain([CHANGES_TABLE])
        .collect()
}
