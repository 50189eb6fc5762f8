//! Who names a record: a client-minted id is kept and never reused, and business
//! numbers are sequential per shop (even when twenty creates race), for exactly
//! the tables the catalog numbers.

use crate::common::*;
use collisionos::domain::TABLES;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[test]
fn the_numbered_tables_are_the_catalogs() {
    let catalog: BTreeSet<(&str, &str, &str)> = TABLES
        .iter()
        .filter_map(|t| t.numbering.map(|n| (t.name, n.column, n.prefix)))
        .collect();
    let ours: BTreeSet<(&str, &str, &str)> = NUMBERED.iter().copied().collect();
    assert_eq!(catalog, ours);
}

#[tokio::test]
async fn a_client_minted_id_is_kept_and_cannot_be_reused() {
    let hub = TestHub::spawn().await;
    let id = uuid::Uuid::now_v7().hyphenated().to_string();
    let rec = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "id": id, "first_name": "Mina" }),
        )
        .await;
    assert_eq!(rec["id"], json!(id));
    let before = hub.snapshot();
    let got = hub
        .post(&api("customers"), hub.owner_token(), &json!({ "id": id }))
        .await;
    assert_error(&got, StatusCode::CONFLICT, "conflict", "the same id twice");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // Deleted, the id stays taken: its document (and history) lives on.
    let (s, _) = hub
        .delete(&api_id("customers", &id), hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::OK);
    let got = hub
        .post(&api("customers"), hub.owner_token(), &json!({ "id": id }))
        .await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "a deleted record's id",
    );
}

#[tokio::test]
async fn business_numbers_are_sequential_per_shop_even_when_raced() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    for i in 1..=3 {
        let ro = hub.create("repair_orders", &token, &json!({})).await;
        assert_eq!(ro["ro_number"], json!(format!("RO-{i:05}")));
    }

    // Twenty creates at once: twenty distinct numbers, no gaps.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = hub.client.clone();
        let url = format!("{}/api/repair_orders", hub.base_url);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("the hub answers");
            assert_eq!(resp.status(), StatusCode::CREATED);
            let rec: Value = resp.json().await.expect("a record");
            rec["ro_number"].as_str().expect("a number").to_string()
        }));
    }
    let mut numbers = BTreeSet::new();
    for t in tasks {
        numbers.insert(t.await.expect("the task finishes"));
    }
    let want: BTreeSet<String> = (4..=23).map(|i| format!("RO-{i:05}")).collect();
    assert_eq!(numbers, want);

    // A second shop counts from one, and does not move the first shop's counter.
    let b = hub.second_shop("Shop B Auto Body").await;
    let ro = hub
        .create("repair_orders", &b.owner.token, &json!({}))
        .await;
    assert_eq!(ro["ro_number"], json!("RO-00001"));
    assert_eq!(ro["shop_id"], json!(b.shop_id));
    let cust = hub.create("customers", &b.owner.token, &json!({})).await;
    assert_eq!(cust["customer_number"], json!("CUST-00001"));
    let ro = hub.create("repair_orders", &token, &json!({})).await;
    assert_eq!(ro["ro_number"], json!("RO-00024"));
    let ro = hub
        .create("repair_orders", &b.owner.token, &json!({}))
        .await;
    assert_eq!(ro["ro_number"], json!("RO-00002"));

    // A number given by the client is kept; the same number twice in one shop is
    // refused, while the other shop may use it.
    let ro = hub
        .create("repair_orders", &token, &json!({ "ro_number": "LEGACY-7" }))
        .await;
    assert_eq!(ro["ro_number"], json!("LEGACY-7"));
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/repair_orders",
            &token,
            &json!({ "ro_number": "LEGACY-7" }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "a duplicate RO number",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    hub.create(
        "repair_orders",
        &b.owner.token,
        &json!({ "ro_number": "LEGACY-7" }),
    )
    .await;
}
