//! One record's life in every table as the owner: create, get, list, patch,
//! filter and delete, each checked against the answers, the change log and the
//! queue; the immutable tables and the shop refuse what they must; no password or
//! hash is ever a column or an answer; a referenced record cannot be deleted.

use super::{assert_record, change_log, heads, next_push, number_of, ops, str_of, IMMUTABLE};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn no_password_or_hash_is_ever_a_column_or_an_answer() {
    let hub = TestHub::spawn().await;
    let db = hub.db();
    for table in table_names() {
        let mut stmt = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("prepare");
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("columns");
        assert!(!cols.is_empty(), "{table} has no columns");
        assert!(
            cols.iter()
                .all(|c| !c.contains("password") && !c.contains("hash")),
            "{table} has a secret column: {cols:?}"
        );
    }
    let (s, body) = hub.try_login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = hub.get("/api/auth/me", hub.owner_token()).await;
    let (_, list) = hub.get("/api/users", hub.owner_token()).await;
    for answer in [&body, &me, &list] {
        let text = answer.to_string();
        assert!(!text.contains("argon2"), "a hash leaked: {text}");
        assert!(!text.contains(PASSWORD), "a password leaked: {text}");
    }
    assert_eq!(me["id"], json!(hub.owner.id));
}

#[tokio::test]
async fn every_table_creates_reads_updates_and_deletes_as_owner() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;

    for table in table_names() {
        let (col, value) = match table {
            // A stage change appends a history row, which (append-only) would then
            // keep this repair order from being deleted below; moves have their
            // own test (stage_history.rs).
            "repair_orders" => ("priority", json!("high")),
            _ => patch_for(table),
        };

        if table == "shops" {
            let path = api_id(table, &hub.shop_id);
            let (s, shop) = hub.get(&path, &owner.token).await;
            assert_eq!(s, StatusCode::OK, "{shop}");
            assert_eq!(str_of(&shop, "id"), hub.shop_id);
            assert_eq!(str_of(&shop, "shop_id"), hub.shop_id);
            let (s, list) = hub.get(&api(table), &owner.token).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
            let (s, patched) = hub.patch(&path, &owner.token, &json!({ col: value })).await;
            assert_eq!(s, StatusCode::OK, "{patched}");
            assert_eq!(patched[col], value);
            assert_ne!(heads(&patched), heads(&shop));
            assert!(str_of(&patched, "updated_at") >= str_of(&shop, "updated_at"));
            let before = hub.snapshot();
            let got = hub
                .post(&api(table), &owner.token, &valid_body(table, &refs))
                .await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", "insert a shop");
            let got = hub.delete(&path, &owner.token).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", "delete the shop");
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            continue;
        }

        // Create.
        let body = valid_body(table, &refs);
        let (s, rec) = hub.post(&api(table), &owner.token, &body).await;
        assert_eq!(s, StatusCode::CREATED, "create {table}: {rec}");
        assert_record(table, &rec, &body, &hub.shop_id);
        let id = str_of(&rec, "id").to_string();
        if let Some((col, prefix)) = number_of(table) {
            // The fixture was this shop's first; this is its second.
            let (_, first) = hub.read_as_owner(table, refs.id(table)).await;
            assert_eq!(first[col], json!(format!("{prefix}00001")), "{table}");
            assert_eq!(rec[col], json!(format!("{prefix}00002")), "{table}");
        }

        // Get: the same record as the create answered.
        let path = api_id(table, &id);
        let (s, got) = hub.get(&path, &owner.token).await;
        assert_eq!(s, StatusCode::OK, "get {table}: {got}");
        assert_eq!(got, rec, "{table}: get differs from the create's answer");

        // List: it is there, and every row is this shop's.
        let (s, list) = hub.get(&api(table), &owner.token).await;
        assert_eq!(s, StatusCode::OK, "list {table}: {list}");
        let rows = list["data"].as_array().expect("data");
        assert!(rows.iter().any(|r| r["id"] == json!(id)), "{table}: {list}");
        assert!(rows.iter().all(|r| r["shop_id"] == json!(hub.shop_id)));

        let log = change_log(&hub, table, &id);
        assert_eq!(ops(&log), ["create"], "{table}");
        assert!(log[0].1 > 0, "{table}: the change bytes are empty");
        assert_eq!(
            log[0].2.as_deref(),
            Some(owner.id.as_str()),
            "{table}: author"
        );
        assert_eq!(
            next_push(&hub, table, &id).await,
            Some(("CREATE".to_string(), log[0].3)),
            "{table}"
        );

        if IMMUTABLE.contains(&table) {
            let before = hub.snapshot();
            let got = hub.patch(&path, &owner.token, &json!({ col: value })).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", table);
            let got = hub.delete(&path, &owner.token).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", table);
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            assert_eq!(hub.get(&path, &owner.token).await, (StatusCode::OK, rec));
            continue;
        }

        // Patch: the field changes, so do the heads; updated_at does not go back.
        let (s, patched) = hub.patch(&path, &owner.token, &json!({ col: value })).await;
        assert_eq!(s, StatusCode::OK, "patch {table}: {patched}");
        assert_eq!(patched[col], value, "{table}.{col}");
        assert_ne!(
            heads(&patched),
            heads(&rec),
            "{table}: heads did not change"
        );
        assert!(str_of(&patched, "updated_at") >= str_of(&rec, "updated_at"));
        assert_eq!(patched["created_at"], rec["created_at"]);
        let (_, reread) = hub.get(&path, &owner.token).await;
        assert_eq!(reread, patched, "{table}: get after patch");
        for (k, v) in rec.as_object().expect("object") {
            if !["updated_at", "_heads", col].contains(&k.as_str()) {
                assert_eq!(
                    &patched[k.as_str()],
                    v,
                    "{table}.{k} changed by a patch of {col}"
                );
            }
        }

        // Filter by the patched column: exactly this record.
        let (s, found) = hub
            .get(
                &format!("{}?{col}={}", api(table), query_value(&value)),
                &owner.token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "filter {table}: {found}");
        let found: Vec<&Value> = found["data"].as_array().expect("data").iter().collect();
        assert_eq!(found.len(), 1, "{table}?{col}: {found:?}");
        assert_eq!(found[0]["id"], json!(id));

        // Delete: gone from get and list; its history stays.
        let (s, deleted) = hub.delete(&path, &owner.token).await;
        assert_eq!(s, StatusCode::OK, "delete {table}: {deleted}");
        assert_eq!(deleted["id"], json!(id));
        assert_eq!(deleted["deleted"], json!(true));
        let got = hub.get(&path, &owner.token).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found", "get after delete");
        let (_, list) = hub.get(&api(table), &owner.token).await;
        assert!(
            list["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|r| r["id"] != json!(id)),
            "{table}: a deleted record is still listed"
        );
        assert_eq!(hub.count(table, &hub.shop_id), {
            // The fixture (and for users, the owner) remain.
            if table == "users" {
                2
            } else {
                1
            }
        });

        let log = change_log(&hub, table, &id);
        assert_eq!(ops(&log), ["create", "update", "delete"], "{table}");
        assert!(log.iter().all(|(_, bytes, ..)| *bytes > 0), "{table}");
        assert!(log.windows(2).all(|w| w[0].3 < w[1].3), "{table}: seqs");
        assert_eq!(
            next_push(&hub, table, &id).await,
            Some(("DELETE".to_string(), log[2].3)),
            "{table}: one coalesced push"
        );
        let (s, history) = hub.get(&format!("{path}/history"), &owner.token).await;
        assert_eq!(s, StatusCode::OK, "{history}");
        assert_eq!(history["data"].as_array().map(Vec::len), Some(3));
    }
}

#[tokio::test]
async fn deleting_a_record_still_referenced_is_refused_and_changes_nothing() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let cust = hub.create("customers", &token, &json!({})).await;
    let cust_id = str_of(&cust, "id").to_string();
    let veh = hub
        .create("vehicles", &token, &json!({ "customer_id": cust_id }))
        .await;
    let before = hub.snapshot();
    let got = hub.delete(&api_id("customers", &cust_id), &token).await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "delete a referenced customer",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    assert_eq!(
        hub.read_as_owner("customers", &cust_id).await,
        (StatusCode::OK, cust)
    );
    // Once nothing points at it, it goes.
    let (s, _) = hub
        .delete(&api_id("vehicles", str_of(&veh, "id")), &token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = hub.delete(&api_id("customers", &cust_id), &token).await;
    assert_eq!(s, StatusCode::OK);
}
