//! `GET /api/{table}/{id}/automerge`: the record's document in Automerge's
//! binary format loads in the automerge crate and shows the fields and the
//! conflicts; the same role and column rules as reading the record, a document
//! carrying a column the caller may not read refused (403), not trimmed.

use crate::common::*;
use crate::ws_support::*;
use automerge::{AutoCommit, ReadDoc, ROOT};
use reqwest::StatusCode;
use serde_json::json;

async fn download(hub: &TestHub, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let resp = hub
        .client
        .get(format!("{}{path}", hub.base_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    let status = resp.status();
    (status, resp.bytes().await.expect("a body").to_vec())
}

fn text(doc: &AutoCommit, field: &str) -> Option<String> {
    match doc.get(ROOT, field).expect("a read") {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test]
async fn a_downloaded_document_loads_with_its_fields_and_conflicts() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let ro = refs.id("repair_orders").to_string();
    let (_, rec) = hub.get(&api_id("repair_orders", &ro), &owner.token).await;
    let base = heads_of(&rec);
    let mut a = Tablet::connect(&hub.base_url, &owner.token, "tab-a", 0).await;
    let mut b = Tablet::connect(&hub.base_url, &owner.token, "tab-b", 0).await;
    a.write_ok(json!({ "op_id": "a1", "table": "repair_orders", "id": ro,
                       "fields": { "notes": "from a" }, "base": base }))
        .await;
    b.write_ok(json!({ "op_id": "b1", "table": "repair_orders", "id": ro,
                       "fields": { "notes": "from b" }, "base": base }))
        .await;
    let (_, row) = hub.get(&api_id("repair_orders", &ro), &owner.token).await;

    let (s, bytes) = download(
        &hub,
        &format!("/api/repair_orders/{ro}/automerge"),
        &owner.token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut doc = AutoCommit::load(&bytes).expect("Automerge loads the document");
    assert_eq!(
        text(&doc, "ro_number").as_deref(),
        row["ro_number"].as_str()
    );
    assert_eq!(
        text(&doc, "notes").as_deref(),
        row["notes"].as_str(),
        "the same winner"
    );
    let all: Vec<String> = doc
        .get_all(ROOT, "notes")
        .expect("all values")
        .into_iter()
        .map(|(v, _)| v.to_string())
        .collect();
    assert_eq!(all.len(), 2, "the conflict is in the document: {all:?}");
    let heads: Vec<String> = doc.get_heads().iter().map(ToString::to_string).collect();
    let mut want: Vec<String> = row["_heads"]
        .as_array()
        .expect("heads")
        .iter()
        .map(|h| h.as_str().expect("hex").to_string())
        .collect();
    want.sort();
    let mut heads = heads;
    heads.sort();
    assert_eq!(heads, want);
    // The tablets' actors signed their changes.
    let actors: Vec<String> = doc
        .get_changes(&[])
        .iter()
        .map(|c| c.actor_id().to_hex_string())
        .collect();
    assert!(actors.contains(&a.actor) && actors.contains(&b.actor));
}

#[tokio::test]
async fn a_document_with_a_column_the_caller_may_not_read_is_refused() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let tech = hub.user("technician").await;
    let acct = hub.user("accountant").await;
    let other = hub.user("estimator").await;
    let users_doc = |id: &str| format!("/api/users/{id}/automerge");

    // An account created without a rate never carried hourly_rate_cents (a
    // new record's change puts only the fields that have a value): served.
    let (s, bytes) = download(&hub, &users_doc(&other.id), &tech.token).await;
    assert_eq!(s, StatusCode::OK);
    let doc = AutoCommit::load(&bytes).expect("loads");
    assert!(doc
        .get(ROOT, "hourly_rate_cents")
        .expect("a read")
        .is_none());
    // Once it has one, the document carries it: refused to a technician.
    let (s, _) = hub
        .patch(
            &format!("/api/users/{}", other.id),
            &owner.token,
            &json!({ "hourly_rate_cents": 4250 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = download(&hub, &users_doc(&other.id), &tech.token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Their own, and anyone's to FIN, is allowed.
    let (s, bytes) = download(&hub, &users_doc(&tech.id), &tech.token).await;
    assert_eq!(s, StatusCode::OK);
    AutoCommit::load(&bytes).expect("loads");
    let (s, _) = download(&hub, &users_doc(&other.id), &acct.token).await;
    assert_eq!(s, StatusCode::OK);
    // A table the role may not read at all, and a record that does not exist.
    let (s, _) = download(
        &hub,
        &format!("/api/invoices/{}/automerge", refs.id("invoices")),
        &tech.token,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = download(
        &hub,
        &format!("/api/customers/{}/automerge", uuid::Uuid::now_v7()),
        &owner.token,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another shop's record is not found.
    let shop_b = hub.second_shop("Shop B Body").await;
    let (s, _) = download(
        &hub,
        &format!("/api/customers/{}/automerge", refs.id("customers")),
        &shop_b.owner.token,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
