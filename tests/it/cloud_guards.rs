//! The cloud's guard triggers beyond the matrix: the account guard judges the
//! stored row (changing one's own id in the same UPDATE gets nothing past it),
//! guards DELETE, and never lets a shop lose its last active owner; nobody
//! changes id, shop_id or created_at of a row (the hub writes back equal
//! values); and the hub's sync upsert keeps working on users (hourly rate
//! included) and repair orders, while the rate is read only by FIN and the user.
//!
//! Fixtures and callers are those of `rls/mod.rs`. Each case runs in a transaction
//! that is rolled back; deferred checks are fired first (`SET CONSTRAINTS ALL
//! IMMEDIATE`), so what a COMMIT would refuse is refused here too.

use crate::rls::{fixtures, hub, insert_sql, staff, table, Caller, Shop};
use serde_json::{json, Value};
use tokio_postgres::Client;
use uuid::Uuid;

/// Runs `statements` as `who`, then fires deferred checks; rolls back. Ok with
/// the rows the last statement touched, or Err with `SQLSTATE: message`.
pub(crate) async fn exec(
    client: &mut Client,
    who: &Caller,
    statements: &[String],
) -> Result<u64, String> {
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
    let mut result = Ok(0);
    for sql in statements {
        match tx.execute(sql.as_str(), &[]).await {
            Ok(n) => result = Ok(n),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        if let Err(e) = tx.batch_execute("SET CONSTRAINTS ALL IMMEDIATE").await {
            result = Err(e);
        }
    }
    tx.rollback().await.expect("ROLLBACK");
    result.map_err(|e| match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    })
}

/// Refused with SQLSTATE 42501, the message starting with `field:`.
fn refused(got: &Result<u64, String>, field: &str) -> bool {
    matches!(got, Err(m) if m.starts_with(&format!("42501: {field}:")))
}

/// `INSERT` of one row, the row inlined as a JSON literal.
fn insert_row(name: &str, row: &serde_json::Map<String, Value>) -> String {
    insert_sql(name).replace(
        "$1::text::jsonb",
        &format!(
            "'{}'::jsonb",
            Value::Object(row.clone()).to_string().replace('\'', "''")
        ),
    )
}

fn set(table: &str, set: &str, id: Uuid) -> String {
    format!("UPDATE public.{table} SET {set} WHERE id = '{id}'")
}

#[tokio::test]
async fn the_account_guard_judges_the_stored_row_guards_delete_and_keeps_an_owner() {
    let mut fx = fixtures("account_guard").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    // The fixtures' accounts start inactive; here they are active, so shop A's
    // owner is its one active owner.
    client
        .execute(
            "UPDATE public.users SET active = true WHERE shop_id = $1::text::uuid",
            &[&fx.a.id.to_string()],
        )
        .await
        .expect("activate shop A's accounts");
    let a = &fx.a;
    let mut failures = Vec::new();
    let mut expect = |what: &str, got: Result<u64, String>, ok: bool| {
        if !ok {
            failures.push(format!("{what}: got {got:?}"));
        }
    };

    // Changing one's own id in the same UPDATE gets nothing past the guard.
    for role in ["owner", "admin"] {
        let me = a.user(role);
        for change in ["role = 'manager'", "active = false"] {
            let sql = set("users", &format!("id = gen_random_uuid(), {change}"), me);
            let got = exec(&mut client, &staff(a, role), &[sql]).await;
            expect(
                &format!("{role}: SET id = new, {change} on own row"),
                got.clone(),
                matches!(&got, Err(m) if m.starts_with("42501")),
            );
        }
        // Nobody deletes their own account (an admin deletes no account at all).
        let sql = format!("DELETE FROM public.users WHERE id = '{me}'");
        let got = exec(&mut client, &staff(a, role), &[sql]).await;
        expect(
            &format!("{role} deletes own account"),
            got.clone(),
            if role == "owner" {
                refused(&got, "id")
            } else {
                matches!(&got, Ok(0) | Err(_))
            },
        );
    }
    // The last active owner is never demoted, deactivated or deleted: not by the
    // hub (which is not held to the self rules), not by another owner.
    let owner = a.user("owner");
    // (The fixture owner's rows reference it, so the deletion is of a new owner
    // that took over in the same transaction.)
    let heir = Uuid::new_v4();
    let mut heir_row = crate::rls::row(table("users"), a, heir);
    heir_row.insert("role".into(), json!("owner"));
    heir_row.insert("active".into(), json!(true));
    for (what, sql) in [
        ("hub demotes", vec![set("users", "role = 'admin'", owner)]),
        (
            "hub deactivates",
            vec![set("users", "active = false", owner)],
        ),
        (
            "hub deletes",
            vec![
                insert_row("users", &heir_row),
                set("users", "role = 'admin'", owner),
                format!("DELETE FROM public.users WHERE id = '{heir}'"),
            ],
        ),
    ] {
        let got = exec(&mut client, &hub(a), &sql).await;
        expect(
            &format!("{what} the last active owner"),
            got.clone(),
            refused(&got, "role"),
        );
    }
    // A second, inactive owner does not count.
    let second = Uuid::new_v4();
    let mut row = crate::rls::row(table("users"), a, second);
    row.insert("role".into(), json!("owner"));
    row.insert("active".into(), json!(false));
    let add_inactive = insert_row("users", &row);
    let got = exec(
        &mut client,
        &hub(a),
        &[add_inactive, set("users", "role = 'manager'", owner)],
    )
    .await;
    expect(
        "hub demotes the last active owner beside an inactive one",
        got.clone(),
        refused(&got, "role"),
    );
    // Handing over works in either order inside one transaction.
    let manager = a.user("manager");
    for (what, order) in [
        (
            "promote first",
            [
                set("users", "role = 'owner'", manager),
                set("users", "role = 'admin'", owner),
            ],
        ),
        (
            "demote first",
            [
                set("users", "role = 'admin'", owner),
                set("users", "role = 'owner'", manager),
            ],
        ),
    ] {
        let got = exec(&mut client, &hub(a), &order).await;
        expect(
            &format!("hub hands over ({what})"),
            got.clone(),
            got == Ok(1),
        );
    }
    // With a second active owner, an owner may demote or delete the first.
    row.insert("active".into(), json!(true));
    let add_active = insert_row("users", &row);
    let got = exec(
        &mut client,
        &staff(a, "owner"),
        &[
            add_active,
            format!("DELETE FROM public.users WHERE id = '{second}'"),
        ],
    )
    .await;
    expect(
        "owner adds and deletes a second owner",
        got.clone(),
        got == Ok(1),
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
async fn id_shop_id_and_created_at_never_change_and_the_hub_writes_back_equal_values() {
    let mut fx = fixtures("immutable").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a = &fx.a;
    let mut failures = Vec::new();
    for name in crate::rls::cloud_tables() {
        if name == collisionos::cloud::expected::CHANGES_TABLE {
            continue;
        }
        let id = a.row(name);
        // The owner may update every table but ro_stage_history and signatures
        // (append-only) and shops' insert; the hub may update every one.
        let callers: Vec<Caller> = if matches!(name, "ro_stage_history" | "signatures") {
            vec![hub(a)]
        } else {
            vec![staff(a, "owner"), hub(a)]
        };
        for who in &callers {
            for (field, change) in [
                ("id", "id = gen_random_uuid()".to_string()),
                (
                    "created_at",
                    "created_at = created_at + interval '1 day'".to_string(),
                ),
                // Within the shop's own id space: the row stays visible, only the
                // guard can stop it (shops: shop_id = id is a CHECK too).
                ("shop_id", format!("shop_id = '{}'", Uuid::new_v4())),
            ] {
                if name == "shops" && field == "shop_id" {
                    continue;
                }
                let got = exec(&mut client, who, &[set(name, &change, id)]).await;
                let ok = match field {
                    // A new shop_id fails the policy's WITH CHECK or the guard.
                    "shop_id" => matches!(&got, Err(m) if m.starts_with("42501")),
                    _ => refused(&got, field),
                };
                if !ok {
                    failures.push(format!("{} SET {change} on {name}: got {got:?}", who.label));
                }
            }
        }
        // The hub's upsert writes back what it holds: equal values pass.
        let upsert = format!(
            "INSERT INTO public.{name} SELECT * FROM public.{name} WHERE id = '{id}'
             ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id, shop_id = EXCLUDED.shop_id,
                 created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at"
        );
        let got = exec(&mut client, &hub(a), &[upsert]).await;
        if got != Ok(1) {
            failures.push(format!("hub upserts {name} with equal values: got {got:?}"));
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

/// The hub's upsert of one row, every column set from EXCLUDED, as the sync
/// worker sends it.
fn hub_upsert(name: &str, row: &serde_json::Map<String, Value>) -> String {
    let t = table(name);
    let sets: Vec<String> = t
        .all_column_names()
        .filter(|c| *c != "id")
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    format!(
        "INSERT INTO public.{name} SELECT * FROM jsonb_populate_record(NULL::public.{name}, '{}'::jsonb)
         ON CONFLICT (id) DO UPDATE SET {}",
        Value::Object(row.clone()).to_string().replace('\'', "''"),
        sets.join(", ")
    )
}

async fn rate_seen(client: &mut Client, who: &Caller, user: Uuid) -> Result<Option<i64>, String> {
    let tx = client.transaction().await.expect("BEGIN");
    tx.execute(
        "SELECT set_config('request.jwt.claims', $1, true)",
        &[&who.claims],
    )
    .await
    .expect("claims");
    tx.batch_execute(&format!("SET LOCAL ROLE {}", who.pg_role))
        .await
        .expect("SET ROLE");
    let got = tx
        .query_opt(
            &format!("SELECT hourly_rate_cents FROM public.users WHERE id = '{user}'"),
            &[],
        )
        .await
        .map(|r| r.and_then(|r| r.get::<_, Option<i64>>(0)))
        .map_err(|e| e.to_string());
    tx.rollback().await.expect("ROLLBACK");
    got
}

#[tokio::test]
async fn the_hub_upserts_users_and_repair_orders_and_only_fin_and_the_user_read_the_rate() {
    let mut fx = fixtures("hub_upsert").await;
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let a: &Shop = &fx.a;
    let tech = a.user("technician");

    // The hub's upserts, committed: an existing user (new rate), a new user, an
    // existing repair order (money and status), a new repair order.
    let mut existing = crate::rls::row(table("users"), a, tech);
    existing.insert("role".into(), json!("technician"));
    existing.insert("hourly_rate_cents".into(), json!(4250));
    let newcomer = Uuid::new_v4();
    let mut new_user = crate::rls::row(table("users"), a, newcomer);
    new_user.insert("role".into(), json!("estimator"));
    new_user.insert("hourly_rate_cents".into(), json!(3100));
    let mut ro = crate::rls::row(table("repair_orders"), a, a.row("repair_orders"));
    ro.insert("ro_status".into(), json!("invoiced"));
    ro.insert("total_cents".into(), json!(123_456));
    let new_ro = crate::rls::fresh(table("repair_orders"), a);
    let claims = hub(a).claims;
    for (name, r) in [
        ("users", &existing),
        ("users", &new_user),
        ("repair_orders", &ro),
        ("repair_orders", &new_ro),
    ] {
        let tx = client.transaction().await.expect("BEGIN");
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims],
        )
        .await
        .expect("claims");
        tx.batch_execute("SET LOCAL ROLE authenticated")
            .await
            .expect("SET ROLE");
        let n = tx
            .execute(hub_upsert(name, r).as_str(), &[])
            .await
            .unwrap_or_else(|e| panic!("hub upsert of {name}: {e:?}"));
        assert_eq!(n, 1, "hub upsert of {name}");
        tx.commit()
            .await
            .unwrap_or_else(|e| panic!("commit hub upsert of {name}: {e:?}"));
    }
    let stored: i64 = client
        .query_one(
            &format!(
                "SELECT total_cents FROM public.repair_orders WHERE id = '{}'",
                a.row("repair_orders")
            ),
            &[],
        )
        .await
        .expect("repair order")
        .get(0);
    assert_eq!(stored, 123_456);

    // The rate: FIN and the user themself read it; nobody else sees it at all.
    for role in ["owner", "admin", "manager", "accountant", "technician"] {
        let got = rate_seen(&mut client, &staff(a, role), tech).await;
        assert_eq!(got, Ok(Some(4250)), "{role} reads the technician's rate");
    }
    assert_eq!(
        rate_seen(&mut client, &hub(a), newcomer).await,
        Ok(Some(3100)),
        "the hub reads a rate"
    );
    for role in [
        "service_advisor",
        "estimator",
        "parts_manager",
        "receptionist",
    ] {
        let got = rate_seen(&mut client, &staff(a, role), tech).await;
        assert_eq!(got, Ok(None), "{role} reads the technician's rate");
    }
    // Everyone reads every profile, without the rate, through the view; anon
    // reads nothing; another shop's staff see none of this shop's profiles.
    for role in crate::rls::ROLES {
        let who = staff(a, role);
        let sql = format!("SELECT count(*) FROM public.user_profiles WHERE id = '{tech}'");
        let got = crate::rls::run(&mut client, &who, &sql, &[], true).await;
        assert_eq!(
            got,
            crate::rls::Outcome::Rows(1),
            "{role} reads the profile"
        );
        let sql = "SELECT count(*) FROM public.user_profiles WHERE hourly_rate_cents > 0";
        let got = crate::rls::run(&mut client, &who, sql, &[], true).await;
        assert!(
            matches!(got, crate::rls::Outcome::Failed(ref m) if m.starts_with("42703")),
            "{role}: the view has no hourly_rate_cents: {got:?}"
        );
    }
    let sql = format!("SELECT count(*) FROM public.user_profiles WHERE id = '{tech}'");
    let other = staff(&fx.b, "owner");
    let got = crate::rls::run(&mut client, &other, &sql, &[], true).await;
    assert_eq!(
        got,
        crate::rls::Outcome::Rows(0),
        "shop B reads A's profiles"
    );
    let anon = Caller {
        pg_role: "anon",
        claims: staff(a, "owner").claims,
        label: "anon".into(),
    };
    let got = crate::rls::run(&mut client, &anon, &sql, &[], true).await;
    assert_eq!(got, crate::rls::Outcome::Denied, "anon reads profiles");

    drop(client);
    fx.db.drop_db().await;
}
