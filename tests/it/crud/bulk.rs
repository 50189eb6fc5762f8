//! Bulk creates: every table's batch is stored all or nothing (a bad field, a
//! duplicate id or a dangling reference stores none and moves no counter), and
//! identical records in one batch each get their own change.

use super::{assert_record, change_log, next_push, number_of, ops, str_of};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[tokio::test]
async fn bulk_create_stores_all_or_nothing() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;

    for table in table_names() {
        let bulk = format!("{}/bulk", api(table));
        if table == "shops" || table == "users" {
            let before = hub.snapshot();
            let got = hub
                .post(
                    &bulk,
                    &owner.token,
                    &json!({ "records": [valid_body(table, &refs)] }),
                )
                .await;
            let (status, code) = if table == "shops" {
                (StatusCode::FORBIDDEN, "forbidden")
            } else {
                (StatusCode::BAD_REQUEST, "bad_request")
            };
            assert_error(&got, status, code, &bulk);
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            continue;
        }

        // Three valid records: all stored, each waiting for the cloud as a CREATE.
        let records: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        let (s, out) = hub
            .post(&bulk, &owner.token, &json!({ "records": records }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{bulk}: {out}");
        let data = out["data"].as_array().expect("data");
        assert_eq!(data.len(), 3, "{bulk}");
        for (rec, sent) in data.iter().zip(&records) {
            assert_record(table, rec, sent, &hub.shop_id);
            let id = str_of(rec, "id");
            let log = change_log(&hub, table, id);
            assert_eq!(ops(&log), ["create"], "{table}");
            assert_eq!(
                next_push(&hub, table, id).await,
                Some(("CREATE".to_string(), log[0].3))
            );
        }
        if let Some((col, prefix)) = number_of(table) {
            let numbers: Vec<&Value> = data.iter().map(|r| &r[col]).collect();
            assert_eq!(
                numbers,
                [2, 3, 4]
                    .iter()
                    .map(|i| json!(format!("{prefix}{i:05}")))
                    .collect::<Vec<_>>()
                    .iter()
                    .collect::<Vec<_>>(),
                "{table}"
            );
        }

        // One bad record (caught when parsing): none stored.
        let before = hub.snapshot();
        let mut bad: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        bad[2]["no_such_column"] = json!("x");
        let got = hub
            .post(&bulk, &owner.token, &json!({ "records": bad }))
            .await;
        let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", &bulk);
        assert_eq!(field.as_deref(), Some("records[2].no_such_column"));
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new()
        );

        // One bad record only the store can tell (an id used twice): none stored,
        // and the business-number counter did not move.
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let mut dup: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        dup[0]["id"] = json!(id);
        dup[2]["id"] = json!(id);
        let got = hub
            .post(&bulk, &owner.token, &json!({ "records": dup }))
            .await;
        assert_error(&got, StatusCode::CONFLICT, "conflict", &bulk);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new()
        );
        let rec = hub
            .create(table, &owner.token, &valid_body(table, &refs))
            .await;
        if let Some((col, prefix)) = number_of(table) {
            assert_eq!(rec[col], json!(format!("{prefix}00005")), "{table}");
        }
    }

    // A reference to a record that does not exist, in the middle of a batch.
    let before = hub.snapshot();
    let mut records: Vec<Value> = (0..3).map(|_| valid_body("vehicles", &refs)).collect();
    records[1]["customer_id"] = json!(uuid::Uuid::now_v7().hyphenated().to_string());
    let got = hub
        .post(
            "/api/vehicles/bulk",
            &owner.token,
            &json!({ "records": records }),
        )
        .await;
    let field = assert_error(
        &got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        "bulk with a dangling reference",
    );
    assert_eq!(field.as_deref(), Some("records[1].customer_id"));
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn identical_records_created_together_get_distinct_changes() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let same = json!({ "make": "Ford", "model": "F-150", "year": 2021 });
    let (s, out) = hub
        .post(
            "/api/vehicles/bulk",
            &token,
            &json!({ "records": [same, same, same] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let ids: Vec<&str> = out["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| str_of(r, "id"))
        .collect();
    let hashes: BTreeSet<String> = ids
        .iter()
        .map(|id| {
            hub.db()
                .query_row(
                    "SELECT bytes FROM change_log WHERE record_id = ?1",
                    [id],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .map(|b| {
                    collisionos::crdt::chunk::change_ids(&b)
                        .expect("a change")
                        .hash
                })
                .expect("a change per record")
        })
        .collect();
    assert_eq!(hashes.len(), 3, "each record has its own change");
}
