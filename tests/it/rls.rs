//! The cloud's row level security, run the way PostgREST runs a request: in a
//! transaction, `SET LOCAL ROLE authenticated` and the JWT claims in
//! `request.jwt.claims`. Every cell of tests/matrix.tsv is checked against the
//! policies, then the hub's confinement to its shop, anon, and the special rules.
//!
//! Fixtures are seeded as superuser: two shops (A and B), a user per role in
//! each, a row of every table in each, and a labor entry and time-clock row owned
//! by each user. Every case runs in its own transaction and is rolled back.

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
    /// The hash of one crdt_changes row.
    pub(crate) change_hash: String,
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

pub(crate) fn change_row(shop: Uuid, hash: &str) -> Map<String, Value> {
    let v = json!({
        "change_hash": hash,
        "shop_id": shop.to_string(),
        "table_name": "customers",
        "record_id": Uuid::new_v4().to_string(),
        "seq": COUNTER.fetch_add(1, Ordering::Relaxed),
        "actor": "hub-actor",
        "author_id": null,
        "bytes": "\\x00ff",
        "created_at": TS,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

pub(crate) fn new_hash() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub(crate) async fn seed_shop(client: &Client) -> Shop {
    let mut shop = Shop {
        id: Uuid::new_v4(),
        users: BTreeMap::new(),
        rows: BTreeMap::new(),
        own: BTreeMap::new(),
        approved_labor: Uuid::nil(),
        change_hash: new_hash(),
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
    seed(client, CHANGES_TABLE, &change_row(id, &shop.change_hash)).await;
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

// -------------------------------------------------------------------- matrix

use crate::matrix_file::{cases as matrix_cases, Case};

fn owner_table(name: &str) -> Option<&'static str> {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| t.owner_column.map(|_| t.name))
}

/// Checks one cell; returns what went wrong, if anything.
async fn check_case(client: &mut Client, fx: &Fixtures, c: &Case) -> Vec<String> {
    let (a, b) = (&fx.a, &fx.b);
    let t = table(&c.table);
    let me = staff(a, c.role);
    let mut errs = Vec::new();
    let mut expect = |what: &str, got: Outcome, ok: bool| {
        if !ok {
            errs.push(format!(
                "{} {} as {} [{}]: {what}: got {got:?}",
                c.table, c.verb, c.role, c.cell
            ));
        }
    };
    let base_a = a.row(t.name);
    let base_b = b.row(t.name);
    match (c.verb.as_str(), c.cell) {
        ("read", 'A') => {
            // Every user's profile is read through the view without the hourly
            // rate (the column rules: tests/columns.tsv, tests/it/columns_rls.rs).
            let readable = if t.name == "users" {
                "user_profiles"
            } else {
                t.name
            };
            let got = count_by_id(client, &me, readable, base_a).await;
            expect(
                "sees a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = count_by_id(client, &me, readable, base_b).await;
            expect("does not see shop B", got.clone(), nothing(&got));
        }
        ("read", '-') => {
            let sql = format!("SELECT count(*) FROM public.{}", t.name);
            let got = run(client, &me, &sql, &[], true).await;
            expect("sees no row at all", got.clone(), nothing(&got));
        }
        ("read", 'O') => {
            let name = owner_table(t.name).expect("O on a table without owner column");
            let got = count_by_id(client, &me, name, a.own(name, c.role)).await;
            expect("sees own row", got.clone(), got == Outcome::Rows(1));
            let got = count_by_id(client, &me, name, base_a).await;
            expect("does not see another's row", got.clone(), nothing(&got));
        }
        ("insert", 'A') => {
            let got = insert(client, &me, t.name, &fresh(t, a)).await;
            expect(
                "inserts into own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = insert(client, &me, t.name, &fresh(t, b)).await;
            expect(
                "cannot insert into shop B",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("insert", '-') => {
            let got = insert(client, &me, t.name, &fresh(t, a)).await;
            expect(
                "insert refused (42501)",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("insert", 'O') => {
            let owner = t.owner_column.expect("O on a table without owner column");
            let mut mine = fresh(t, a);
            mine.insert(owner.into(), json!(a.user(c.role).to_string()));
            let got = insert(client, &me, t.name, &mine).await;
            expect("inserts own row", got.clone(), got == Outcome::Rows(1));
            let mut theirs = fresh(t, a);
            theirs.insert(owner.into(), json!(a.user("owner").to_string()));
            let got = insert(client, &me, t.name, &theirs).await;
            expect(
                "cannot insert another's row",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("update", 'A') => {
            let got = touch(client, &me, t.name, base_a).await;
            expect(
                "updates a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = touch(client, &me, t.name, base_b).await;
            expect("cannot update shop B", got.clone(), nothing(&got));
        }
        ("update", '-') => {
            let got = touch(client, &me, t.name, base_a).await;
            expect("updates nothing", got.clone(), nothing(&got));
        }
        ("update", 'O') => {
            let got = touch(client, &me, t.name, a.own(t.name, c.role)).await;
            expect("updates own row", got.clone(), got == Outcome::Rows(1));
            let got = touch(client, &me, t.name, base_a).await;
            expect("cannot update another's row", got.clone(), nothing(&got));
            if t.name == "labor_entries" && c.role == "technician" {
                let got = touch(client, &me, t.name, a.approved_labor).await;
                expect(
                    "cannot update own approved entry",
                    got.clone(),
                    nothing(&got),
                );
            }
        }
        ("update", 'S') => {
            let mine = a.user(c.role);
            let got = update(client, &me, "users", "display_name = 'Renamed'", mine).await;
            expect(
                "edits own display_name",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = update(client, &me, "users", "role = 'owner'", mine).await;
            expect(
                "cannot change own role (42501)",
                got.clone(),
                got == Outcome::Denied,
            );
            let got = update(client, &me, "users", "display_name = 'X'", a.user("owner")).await;
            expect("cannot edit another user", got.clone(), nothing(&got));
        }
        ("delete", 'A') => {
            let got = delete(client, &me, t.name, base_a).await;
            expect(
                "deletes a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = delete(client, &me, t.name, base_b).await;
            expect("cannot delete in shop B", got.clone(), nothing(&got));
        }
        ("delete", '-') => {
            let got = delete(client, &me, t.name, base_a).await;
            expect("deletes nothing", got.clone(), nothing(&got));
        }
        ("delete", 'O') => {
            let got = delete(client, &me, t.name, a.own(t.name, c.role)).await;
            expect("deletes own row", got.clone(), got == Outcome::Rows(1));
            let got = delete(client, &me, t.name, base_a).await;
            expect("cannot delete another's row", got.clone(), nothing(&got));
        }
        (verb, cell) => expect(
            &format!("unknown verb/cell {verb}/{cell} in matrix.tsv"),
            Outcome::Failed(String::new()),
            false,
        ),
    }
    errs
}

/// A new row of `t` in `shop`, unlike any fixture (fresh id, numbers, codes).
pub(crate) fn fresh(t: &Table, shop: &Shop) -> Map<String, Value> {
    let mut r = row(t, shop, Uuid::new_v4());
    if t.name == "users" {
        r.insert("role".into(), json!("technician"));
    }
    r
}

#[tokio::test]
async fn every_cell_of_the_role_matrix_holds_in_postgres() {
    let mut fx = fixtures("matrix").await;
    let cases = matrix_cases();
    let tables: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.table.as_str()).collect();
    let catalog: std::collections::BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    assert_eq!(
        tables, catalog,
        "matrix.tsv covers exactly the catalog's tables"
    );
    assert_eq!(cases.len(), TABLES.len() * 4 * ROLES.len());

    // The client is moved out for the &mut borrows and put back at the end.
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let mut failures = Vec::new();
    for c in &cases {
        failures.extend(check_case(&mut client, &fx, c).await);
    }
    assert!(
        failures.is_empty(),
        "{} of {} matrix cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    drop(client);
    fx.db.drop_db().await;
}

// ---------------------------------------------------------------- cross-shop

pub(crate) fn cloud_tables() -> Vec<&'static str> {
    TABLES
        .iter()
        .map(|t| t.name)
        .chain([CHANGES_TABLE])
        .collect()
}

#[tokio::test]
async fn a_hub_is_confined_to_its_own_shop() {
    let mut fx = fixtures("cross_shop").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let (a, b) = (&fx.a, &fx.b);
    let me = hub(a);
    let mut failures = Vec::new();
    let mut expect = |what: String, got: Outcome, ok: bool| {
        if !ok {
            failures.push(format!("{what}: got {got:?}"));
        }
    };
    for name in cloud_tables() {
        let count = |shop: Uuid| {
            (
                format!("SELECT count(*) FROM public.{name} WHERE shop_id = $1::text::uuid"),
                shop.to_string(),
            )
        };
        let (sql, p) = count(b.id);
        let got = run(&mut client, &me, &sql, &[&p], true).await;
        expect(
            format!("{name}: hub A reads nothing of B"),
            got.clone(),
            got == Outcome::Rows(0),
        );
        let (sql, p) = count(a.id);
        let got = run(&mut client, &me, &sql, &[&p], true).await;
        expect(
            format!("{name}: hub A reads its own rows"),
            got.clone(),
            matches!(got, Outcome::Rows(n) if n >= 1),
        );

        if name == CHANGES_TABLE {
            let key = "ON CONFLICT (change_hash)";
            let ins = |row: Map<String, Value>, tail: &str| {
                (
                    format!("{} {tail}", insert_sql(name)),
                    Value::Object(row).to_string(),
                )
            };
            let (sql, p) = ins(change_row(b.id, &new_hash()), "");
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert into B"),
                got.clone(),
                got == Outcome::Denied,
            );
            let (sql, p) = ins(change_row(a.id, &new_hash()), "");
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert own"),
                got.clone(),
                got == Outcome::Rows(1),
            );
            let (sql, p) = ins(
                change_row(a.id, &b.change_hash),
                &format!("{key} DO UPDATE SET seq = EXCLUDED.seq"),
            );
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: upsert onto B's key"),
                got.clone(),
                got == Outcome::Denied,
            );
            let (sql, p) = ins(
                change_row(a.id, &b.change_hash),
                &format!("{key} DO NOTHING"),
            );
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert-or-ignore onto B's key changes nothing"),
                got.clone(),
                got == Outcome::Rows(0),
            );
            let (sql, p) = ins(
                change_row(a.id, &a.change_hash),
                &format!("{key} DO NOTHING"),
            );
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: re-upload of own change is a no-op"),
                got.clone(),
                got == Outcome::Rows(0),
            );
            let sql =
                format!("UPDATE public.{name} SET shop_id = $1::text::uuid WHERE change_hash = $2");
            let got = run(
                &mut client,
                &me,
                &sql,
                &[&b.id.to_string(), &a.change_hash],
                false,
            )
            .await;
            expect(
                format!("{name}: move own change to B"),
                got.clone(),
                nothing(&got),
            );
            let sql = format!("DELETE FROM public.{name} WHERE change_hash = $1");
            let got = run(&mut client, &me, &sql, &[&b.change_hash], false).await;
            expect(
                format!("{name}: delete B's change"),
                got.clone(),
                nothing(&got),
            );
            continue;
        }

        let t = table(name);
        // Writes into B, however they are spelled.
        let got = insert(&mut client, &me, name, &fresh(t, b)).await;
        expect(
            format!("{name}: insert into B"),
            got.clone(),
            got == Outcome::Denied,
        );
        let got = update(
            &mut client,
            &me,
            name,
            &format!("shop_id = '{}'", b.id),
            a.row(name),
        )
        .await;
        expect(
            format!("{name}: move own row into B"),
            got.clone(),
            got == Outcome::Denied,
        );
        let upsert = format!(
            "{} ON CONFLICT (id) DO UPDATE SET updated_at = EXCLUDED.updated_at",
            insert_sql(name)
        );
        // (A shops row is its own shop: shop_id = id, so only the B spelling is a valid row.)
        let claims: &[(&str, &Shop)] = if name == "shops" {
            &[("claiming shop B", b)]
        } else {
            &[("claiming shop A", a), ("claiming shop B", b)]
        };
        for &(label, shop_of_row) in claims {
            let mut r = fresh(t, shop_of_row);
            r.insert("id".into(), json!(b.row(name).to_string()));
            if name == "shops" {
                r.insert("shop_id".into(), json!(shop_of_row.id.to_string()));
            }
            let json = Value::Object(r).to_string();
            let got = run(&mut client, &me, &upsert, &[&json], false).await;
            expect(
                format!("{name}: upsert onto B's primary key {label}"),
                got.clone(),
                got == Outcome::Denied,
            );
        }
        let got = delete(&mut client, &me, name, b.row(name)).await;
        expect(
            format!("{name}: delete B's row"),
            got.clone(),
            got == Outcome::Rows(0),
        );
        let got = touch(&mut client, &me, name, b.row(name)).await;
        expect(
            format!("{name}: update B's row"),
            got.clone(),
            got == Outcome::Rows(0),
        );

        // Its own shop it may write entirely (insert, update, upsert, delete).
        if name != "shops" {
            let got = insert(&mut client, &me, name, &fresh(t, a)).await;
            expect(
                format!("{name}: hub inserts own"),
                got.clone(),
                got == Outcome::Rows(1),
            );
        }
        let got = touch(&mut client, &me, name, a.row(name)).await;
        expect(
            format!("{name}: hub updates own"),
            got.clone(),
            got == Outcome::Rows(1),
        );
        let mut mine = row(t, a, a.row(name));
        if name == "users" {
            mine.insert("role".into(), json!("owner"));
        }
        let json = Value::Object(mine).to_string();
        let got = run(&mut client, &me, &upsert, &[&json], false).await;
        expect(
            format!("{name}: hub upserts own"),
            got.clone(),
            got == Outcome::Rows(1),
        );
        let got = delete(&mut client, &me, name, a.row(name)).await;
        expect(
            format!("{name}: hub deletes own"),
            got.clone(),
            got == Outcome::Rows(1),
        );
    }
    // The hub can create its own shop row (first upload) but no other shop.
    let t = table("shops");
    let mut own_shop = row(t, a, a.id);
    own_shop.insert("name".into(), json!("again"));
    let json = Value::Object(own_shop).to_string();
    let sql = format!(
        "{} ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
        insert_sql("shops")
    );
    let got = run(&mut client, &me, &sql, &[&json], false).await;
    expect(
        "shops: hub upserts its own shop row".into(),
        got.clone(),
        got == Outcome::Rows(1),
    );
    let got = insert(&mut client, &me, "shops", &row(t, a, Uuid::new_v4())).await;
    expect(
        "shops: hub cannot create another shop".into(),
        got.clone(),
        got == Outcome::Denied,
    );

    assert!(
        failures.is_empty(),
        "{} failures:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    drop(client);
    fx.db.drop_db().await;
}

#[tokio::test]
async fn anon_and_callers_without_a_valid_app_role_get_nothing() {
    let mut fx = fixtures("anon").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let owner_claims = staff(a, "owner").claims;
    let anon = Caller {
        pg_role: "anon",
        claims: owner_claims.clone(),
        label: "anon".into(),
    };
    let nobody = |label: &str, claims: Value| Caller {
        pg_role: "authenticated",
        claims: claims.to_string(),
        label: label.into(),
    };
    let strangers = [
        nobody("no claims", json!({})),
        nobody(
            "unknown user_role",
            json!({"sub": a.user("owner").to_string(), "role": "authenticated",
                   "shop_id": a.id.to_string(), "user_role": "superuser"}),
        ),
        // `role` is the Postgres role; an app role there must grant nothing.
        nobody(
            "app role in the role claim",
            json!({"sub": a.user("owner").to_string(), "role": "owner",
                   "shop_id": a.id.to_string()}),
        ),
        nobody(
            "malformed shop_id",
            json!({"sub": a.user("owner").to_string(), "role": "authenticated",
                   "shop_id": "not-a-uuid", "user_role": "owner"}),
        ),
    ];
    let mut failures = Vec::new();
    for name in cloud_tables() {
        let read = format!("SELECT count(*) FROM public.{name}");
        let got = run(&mut client, &anon, &read, &[], true).await;
        if got != Outcome::Denied {
            failures.push(format!("anon reads {name}: {got:?}"));
        }
        for who in &strangers {
            let got = run(&mut client, who, &read, &[], true).await;
            if got != Outcome::Rows(0) {
                failures.push(format!("{} reads {name}: {got:?}", who.label));
            }
        }
        let row = if name == CHANGES_TABLE {
            change_row(a.id, &new_hash())
        } else {
            fresh(table(name), a)
        };
        for who in std::iter::once(&anon).chain(strangers.iter()) {
            let got = insert(&mut client, who, name, &row).await;
            if got != Outcome::Denied {
                failures.push(format!("{} inserts into {name}: {got:?}", who.label));
            }
        }
        if name != CHANGES_TABLE {
            for who in std::iter::once(&anon).chain(strangers.iter()) {
                let got = touch(&mut client, who, name, a.row(name)).await;
                if !nothing(&got) {
                    failures.push(format!("{} updates {name}: {got:?}", who.label));
                }
                let got = delete(&mut client, who, name, a.row(name)).await;
                if !nothing(&got) {
                    failures.push(format!("{} deletes from {name}: {got:?}", who.label));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    drop(client);
    fx.db.drop_db().await;
}

// ------------------------------------------------------------- special rules

#[tokio::test]
async fn own_role_approvals_and_payments_cannot_be_tampered_with() {
    let mut fx = fixtures("special").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let tech = staff(a, "technician");
    let me = a.user("technician");

    // A technician edits their own name, but never their role, email, active
    // flag, rate or shop.
    assert_eq!(
        update(&mut client, &tech, "users", "display_name = 'Sam'", me).await,
        Outcome::Rows(1)
    );
    for set in [
        "role = 'owner'".to_string(),
        "role = 'manager', display_name = 'Boss'".to_string(),
        "email = 'new@example.test'".to_string(),
        "active = NOT active".to_string(),
        "hourly_rate_cents = 999999".to_string(),
        format!("shop_id = '{}'", fx.b.id),
    ] {
        assert_eq!(
            update(&mut client, &tech, "users", &set, me).await,
            Outcome::Denied,
            "technician: SET {set} on own user row"
        );
    }

    // A technician never approves their own labor.
    let own = a.own("labor_entries", "technician");
    for set in [
        "approved = true".to_string(),
        format!("approved_by = '{me}'"),
        format!("approved = true, approved_by = '{me}'"),
    ] {
        assert_eq!(
            update(&mut client, &tech, "labor_entries", &set, own).await,
            Outcome::Denied,
            "technician: SET {set} on own labor entry"
        );
    }
    assert_eq!(
        update(&mut client, &tech, "labor_entries", "minutes = 90", own).await,
        Outcome::Rows(1),
        "technician edits own unapproved entry"
    );
    assert_eq!(
        update(
            &mut client,
            &tech,
            "labor_entries",
            "minutes = 90",
            a.approved_labor
        )
        .await,
        Outcome::Rows(0),
        "technician cannot edit an approved entry"
    );
    let mut pre_approved = fresh(table("labor_entries"), a);
    pre_approved.insert("technician_id".into(), json!(me.to_string()));
    pre_approved.insert("approved".into(), json!(true));
    assert_eq!(
        insert(&mut client, &tech, "labor_entries", &pre_approved).await,
        Outcome::Denied,
        "technician inserts an approved entry"
    );
    let manager = staff(a, "manager");
    let approve = format!("approved = true, approved_by = '{}'", a.user("manager"));
    assert_eq!(
        update(&mut client, &manager, "labor_entries", &approve, own).await,
        Outcome::Rows(1),
        "a manager approves"
    );

    // A receptionist records payments but never changes or deletes one.
    let desk = staff(a, "receptionist");
    let payment = a.row("payments");
    assert_eq!(
        count_by_id(&mut client, &desk, "payments", payment).await,
        Outcome::Rows(1)
    );
    for set in ["amount_cents = 1", "payment_status = 'refunded'"] {
        let got = update(&mut client, &desk, "payments", set, payment).await;
        assert!(
            nothing(&got),
            "receptionist: SET {set} on a payment: {got:?}"
        );
    }
    let got = delete(&mut client, &desk, "payments", payment).await;
    assert!(nothing(&got), "receptionist deletes a payment: {got:?}");
    let amount: i64 = client
        .query_one(
            "SELECT amount_cents FROM public.payments WHERE id = $1::text::uuid",
            &[&payment.to_string()],
        )
        .await
        .expect("payment still there")
        .get(0);
    assert!(amount > 1, "payment unchanged");

    drop(client);
    fx.db.drop_db().await;
}

#[tokio::test]
async fn account_guards_agree_with_the_api() {
    let mut fx = fixtures("accounts").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let (owner, admin) = (staff(a, "owner"), staff(a, "admin"));

    // Nobody changes their own role or active flag, an owner included.
    for (who, role) in [(&owner, "owner"), (&admin, "admin")] {
        for set in ["role = 'manager'", "active = NOT active"] {
            assert_eq!(
                update(&mut client, who, "users", set, a.user(role)).await,
                Outcome::Denied,
                "{role}: SET {set} on own row"
            );
        }
    }
    // An admin neither grants the owner role nor touches an owner's account.
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "role = 'owner'",
            a.user("manager")
        )
        .await,
        Outcome::Denied
    );
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "display_name = 'X'",
            a.user("owner")
        )
        .await,
        Outcome::Denied
    );
    let mut new_owner = fresh(table("users"), a);
    new_owner.insert("role".into(), json!("owner"));
    assert_eq!(
        insert(&mut client, &admin, "users", &new_owner).await,
        Outcome::Denied
    );
    // An admin manages other staff; an owner does all of it.
    assert_eq!(
        update(
            &mut client,
            &admin,
            "users",
            "role = 'estimator'",
            a.user("technician")
        )
        .await,
        Outcome::Rows(1)
    );
    assert_eq!(
        update(
            &mut client,
            &owner,
            "users",
            "role = 'owner'",
            a.user("manager")
        )
        .await,
        Outcome::Rows(1)
    );
    assert_eq!(
        insert(&mut client, &owner, "users", &new_owner).await,
        Outcome::Rows(1)
    );
    // The hub writes what its API allowed.
    assert_eq!(
        update(
            &mut client,
            &hub(a),
            "users",
            "role = 'admin'",
            a.user("owner")
        )
        .await,
        Outcome::Rows(1)
    );
    drop(client);
    fx.db.drop_db().await;
}
