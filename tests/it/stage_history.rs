//! Moving a repair order on the board leaves its trace: the hub appends the
//! `ro_stage_history` row (from, to, who, when) in the same transaction as the
//! stage change, whichever path moved it (the API, a bay tablet); a change that
//! does not move the card appends nothing.

use crate::common::*;
use crate::ws_support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn moves_of(hub: &TestHub, ro: &str) -> Vec<Value> {
    let (s, body) = hub
        .get(
            &format!("/api/ro_stage_history?repair_order_id={ro}&limit=500"),
            hub.owner_token(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let mut rows = body["data"].as_array().expect("data").clone();
    rows.sort_by_key(|r| r["created_at"].as_str().unwrap_or_default().to_string());
    rows
}

#[tokio::test]
async fn each_stage_change_appends_one_history_row_with_who_moved_it() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let ro = refs.id("repair_orders").to_string();
    let path = api_id("repair_orders", &ro);
    let (_, rec) = hub.get(&path, &owner.token).await;
    let first = rec["stage"].clone();
    let before = moves_of(&hub, &ro).await.len();

    // Not a move: another field, and the stage it already has.
    let (s, body) = hub
        .patch(
            &path,
            &owner.token,
            &json!({ "notes": "waiting on bumper" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = hub
        .patch(&path, &owner.token, &json!({ "stage": first }))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(moves_of(&hub, &ro).await.len(), before);

    // The API moves it.
    let (s, body) = hub
        .patch(&path, &owner.token, &json!({ "stage": "paint_prep" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let moves = moves_of(&hub, &ro).await;
    assert_eq!(moves.len(), before + 1, "{moves:?}");
    let m = &moves[before];
    assert_eq!(m["from_stage"], first, "{m}");
    assert_eq!(m["to_stage"], "paint_prep", "{m}");
    assert_eq!(m["moved_by"], owner.id.as_str(), "{m}");
    assert_eq!(m["moved_at"], body["updated_at"], "{m} vs {body}");

    // A technician's bay tablet moves it over the WebSocket.
    let tech = hub.user("technician").await;
    let mut bay = Tablet::connect(&hub.base_url, &tech.token, "paint-bay-1", 0).await;
    let (_, rec) = hub.get(&path, &owner.token).await;
    bay.write_ok(
        json!({ "op_id": "move-1", "table": "repair_orders", "id": ro,
                         "fields": { "stage": "paint_booth" }, "base": heads_of(&rec) }),
    )
    .await;
    // The tablet sees the history row arrive like any other change.
    bay.until(|m| m["type"] == "change" && m["table"] == "ro_stage_history")
        .await;
    let moves = moves_of(&hub, &ro).await;
    assert_eq!(moves.len(), before + 2, "{moves:?}");
    let m = &moves[before + 1];
    assert_eq!(
        (&m["from_stage"], &m["to_stage"], &m["moved_by"]),
        (&json!("paint_prep"), &json!("paint_booth"), &json!(tech.id)),
        "{m}"
    );

    // The same operation id sent again is a replay: no second row.
    bay.write_ok(
        json!({ "op_id": "move-1", "table": "repair_orders", "id": ro,
                         "fields": { "stage": "paint_booth" }, "base": heads_of(&rec) }),
    )
    .await;
    assert_eq!(moves_of(&hub, &ro).await.len(), before + 2);
}
