//! Who cannot reach a shop's rows: a hub is confined to its own shop (reads,
//! inserts, upserts, moves and deletes of another shop's rows and changes all
//! fail), and anon or callers without a valid app role get nothing.

use super::{
    change_row, cloud_tables, delete, fixtures, fresh, hub, insert, insert_sql, nothing, row, run,
    staff, table, touch, update, Caller, ChangeKey, Outcome, Shop,
};
use collisionos::cloud::expected::CHANGES_TABLE;
use serde_json::{json, Map, Value};
use uuid::Uuid;

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
            let key = "ON CONFLICT (record_id, change_hash)";
            let ins = |row: Map<String, Value>, tail: &str| {
                (
                    format!("{} {tail}", insert_sql(name)),
                    Value::Object(row).to_string(),
                )
            };
            let (sql, p) = ins(change_row(b.id, &ChangeKey::new()), "");
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert into B"),
                got.clone(),
                got == Outcome::Denied,
            );
            let (sql, p) = ins(change_row(a.id, &ChangeKey::new()), "");
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert own"),
                got.clone(),
                got == Outcome::Rows(1),
            );
            let (sql, p) = ins(
                change_row(a.id, &b.change),
                &format!("{key} DO UPDATE SET seq = EXCLUDED.seq"),
            );
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: upsert onto B's key"),
                got.clone(),
                got == Outcome::Denied,
            );
            let (sql, p) = ins(change_row(a.id, &b.change), &format!("{key} DO NOTHING"));
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: insert-or-ignore onto B's key changes nothing"),
                got.clone(),
                got == Outcome::Rows(0),
            );
            let (sql, p) = ins(change_row(a.id, &a.change), &format!("{key} DO NOTHING"));
            let got = run(&mut client, &me, &sql, &[&p], false).await;
            expect(
                format!("{name}: re-upload of own change is a no-op"),
                got.clone(),
                got == Outcome::Rows(0),
            );
            let sql = format!(
                "UPDATE public.{name} SET shop_id = $1::text::uuid
                  WHERE change_hash = decode($2, 'hex')"
            );
            let got = run(
                &mut client,
                &me,
                &sql,
                &[&b.id.to_string(), &a.change.hash],
                false,
            )
            .await;
            expect(
                format!("{name}: move own change to B"),
                got.clone(),
                nothing(&got),
            );
            let sql = format!("DELETE FROM public.{name} WHERE change_hash = decode($1, 'hex')");
            let got = run(&mut client, &me, &sql, &[&b.change.hash], false).await;
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
            change_row(a.id, &ChangeKey::new())
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
