//! What each tablet receives: only its own shop's changes, and only what its
//! user's role may read (a technician gets no invoice, no payment, and no
//! other user's hourly rate).

use crate::common::*;
use crate::ws_support::*;
use serde_json::{json, Value};

/// The last change-log sequence of a shop.
fn last_seq(hub: &TestHub, shop_id: &str) -> i64 {
    hub.db()
        .query_row(
            "SELECT max(seq) FROM change_log WHERE shop_id = ?1",
            [shop_id],
            |r| r.get(0),
        )
        .expect("a sequence")
}

#[tokio::test]
async fn tablets_get_only_their_shop_and_what_their_role_may_read() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let tech = hub.user("technician").await;
    let acct = hub.user("accountant").await;
    let shop_b = hub.second_shop("Shop B Body").await;
    let mut bay = Tablet::connect(&hub.base_url, &tech.token, "bay-1", 0).await;
    let mut books = Tablet::connect(&hub.base_url, &acct.token, "office-1", 0).await;
    let mut other = Tablet::connect(&hub.base_url, &shop_b.owner.token, "b-desk", 0).await;

    // Live: every table's record (invoices and payments among them), wages.
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    for (user, rate) in [(&tech.id, 4200), (&acct.id, 5100)] {
        let (s, body) = hub
            .patch(
                &api_id("users", user),
                &owner.token,
                &json!({ "hourly_rate_cents": rate }),
            )
            .await;
        assert!(s.is_success(), "{body}");
    }
    let (s, _) = hub
        .patch(
            &api_id("invoices", refs.id("invoices")),
            &owner.token,
            &json!({ "invoice_status": "sent" }),
        )
        .await;
    assert!(s.is_success());
    hub.create(
        "customers",
        &shop_b.owner.token,
        &json!({ "first_name": "B", "last_name": "Only" }),
    )
    .await;
    // A last change every tablet of the shop may read marks the end.
    let (s, _) = hub
        .patch(
            &api_id("customers", refs.id("customers")),
            &owner.token,
            &json!({ "notes": "the end" }),
        )
        .await;
    assert!(s.is_success());
    let a_last = last_seq(&hub, &hub.shop_id);
    let b_last = last_seq(&hub, &shop_b.shop_id);
    bay.until_seq(a_last).await;
    books.until_seq(a_last).await;
    other.until_seq(b_last).await;

    // And again after a reconnect (the replay takes the same filter).
    let bay2 = Tablet::connect(&hub.base_url, &tech.token, "bay-1", 0).await;

    for t in [&bay, &bay2] {
        let tables: Vec<&Value> = t.changes().iter().map(|m| &m["table"]).collect();
        assert!(!tables.contains(&&json!("invoices")), "{tables:?}");
        assert!(!tables.contains(&&json!("payments")), "{tables:?}");
        assert!(tables.contains(&&json!("repair_orders")), "{tables:?}");
        for m in t.changes().iter().filter(|m| m["table"] == "users") {
            let mine = m["id"] == json!(tech.id);
            assert_eq!(
                m["fields"].get("hourly_rate_cents").is_some(),
                mine,
                "a technician sees only their own rate: {m}"
            );
            if !mine {
                assert!(!m["changed"].to_string().contains("hourly_rate"), "{m}");
            }
        }
        // Only the technician's own rate change reached them, no one else's.
        let rate_changes = t
            .changes()
            .iter()
            .filter(|m| m["changed"] == json!(["hourly_rate_cents"]))
            .count();
        assert_eq!(rate_changes, 1);
    }
    // The accountant (FIN) sees money and every rate.
    let tables: Vec<&Value> = books.changes().iter().map(|m| &m["table"]).collect();
    assert!(tables.contains(&&json!("invoices")) && tables.contains(&&json!("payments")));
    assert!(books
        .changes()
        .iter()
        .any(|m| m["id"] == json!(tech.id) && m["fields"]["hourly_rate_cents"] == 4200));

    // Shops never mix.
    for t in [&bay, &books] {
        assert!(t
            .changes()
            .iter()
            .all(|m| m["fields"]["shop_id"] == json!(hub.shop_id)));
    }
    assert!(!other.changes().is_empty());
    assert!(other
        .changes()
        .iter()
        .all(|m| m["fields"]["shop_id"] == json!(shop_b.shop_id)));
}

/// The HTTP status a tablet's answer stands for.
fn status_of(answer: &Value) -> u16 {
    match (answer["type"].as_str(), answer["code"].as_str()) {
        (Some("ack"), _) => 200,
        (_, Some("forbidden")) => 403,
        (_, Some("not_found")) => 404,
        (_, Some("invalid_field")) => 400,
        (_, Some("invalid_reference")) => 422,
        (_, Some("conflict")) => 409,
        _ => panic!("an answer with no status: {answer}"),
    }
}

#[tokio::test]
async fn tablet_writes_get_the_same_answers_as_http() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let mut compared = 0;
    let mut refused = 0;
    for role in ["technician", "receptionist", "accountant", "estimator"] {
        let user = hub.user(role).await;
        let mut t = Tablet::connect(&hub.base_url, &user.token, &format!("{role}-tab"), 0).await;
        for table in table_names() {
            let id = refs.id(table).to_string();
            let (field, value) = patch_for(table);
            // The tablet first; then HTTP sends the same change (a no-op if the
            // tablet's applied, still answered 200).
            let answer = t
                .write(
                    json!({ "op_id": format!("{role}-{table}"), "table": table, "id": id,
                               "fields": { field: value } }),
                )
                .await;
            let (s, body) = hub
                .patch(&api_id(table, &id), &user.token, &json!({ field: value }))
                .await;
            assert_eq!(
                status_of(&answer),
                s.as_u16(),
                "{role} {table}.{field}: tablet {answer}, HTTP {body}"
            );
            compared += 1;
            if s.as_u16() != 200 {
                refused += 1;
            }
        }
    }
    assert!(
        refused > 0 && refused < compared,
        "both kinds of answer were compared"
    );
}
