//! The sync queue: clearing removes only the completed or failed items the
//! owner confirms, and a hub that never had sync on keeps no queue until its
//! first enable uploads everything.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_support::{cloud_count, cloud_row, drain, enable_sync, queue};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// `POST /api/sync/queue/clear` as the owner.
async fn clear(hub: &TestHub, body: &Value) -> (StatusCode, Value) {
    hub.post("/api/sync/queue/clear", hub.owner_token(), body)
        .await
}

#[tokio::test]
async fn clear_removes_only_the_completed_or_failed_items_the_owner_confirms() {
    let db = fresh_db("sync_clear").await;
    db.client
        .batch_execute(
            "ALTER TABLE public.customers ADD CONSTRAINT no_zed CHECK (last_name IS DISTINCT FROM 'Zed')",
        )
        .await
        .expect("constraint");
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    hub.create(
        "customers",
        hub.owner_token(),
        &json!({ "last_name": "Zed" }),
    )
    .await;
    hub.create(
        "customers",
        hub.owner_token(),
        &json!({ "last_name": "Fine" }),
    )
    .await;
    drain(&hub).await;
    // Sync off: new writes stay PENDING.
    let (s, _) = hub
        .post("/api/sync/disable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // A step of the hub's own loop that began before the disable may still
    // be running (it read the settings when sync was on) and would push the
    // next write; a step waits for it and then finds sync off.
    let after = drain(&hub).await;
    assert!(after.disabled, "{after:?}");
    hub.create(
        "customers",
        hub.owner_token(),
        &json!({ "last_name": "Later" }),
    )
    .await;
    let counts = |b: &Value| b["counts"].clone();
    let (_, q) = hub.get("/api/sync/queue", hub.owner_token()).await;
    let c = counts(&q);
    assert_eq!(c["failed"], 1, "{q}");
    assert!(c["pending"].as_i64().unwrap_or(0) >= 1, "{q}");
    assert!(c["completed"].as_i64().unwrap_or(0) >= 2, "{q}");

    for (body, field) in [
        (json!({ "status": "completed" }), "confirm"),
        (
            json!({ "status": "completed", "confirm": "yes" }),
            "confirm",
        ),
        (json!({ "status": "pending", "confirm": true }), "status"),
        (json!({ "status": "retry", "confirm": true }), "status"),
        (json!({ "confirm": true }), "status"),
        (
            json!({ "status": "failed", "confirm": true, "ids": "all" }),
            "ids",
        ),
        (
            json!({ "status": "failed", "confirm": true, "everything": true }),
            "everything",
        ),
    ] {
        let (s, b) = clear(&hub, &body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["error"]["field"], field, "{body}: {b}");
    }
    let (_, q2) = hub.get("/api/sync/queue", hub.owner_token()).await;
    assert_eq!(counts(&q2), c, "a refused clear removed something");

    // A pending item's id named under "completed" is not removed.
    let pending_id = queue(&hub, "pending").await[0]["id"].clone();
    let (s, b) = clear(
        &hub,
        &json!({ "status": "completed", "confirm": true, "ids": [pending_id] }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cleared"], 0);
    // (The status in any case.)
    let (s, b) = clear(&hub, &json!({ "status": "Completed", "confirm": true })).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cleared"], c["completed"]);
    let (_, q3) = hub.get("/api/sync/queue", hub.owner_token()).await;
    assert_eq!(q3["counts"]["completed"], 0);
    assert_eq!(q3["counts"]["pending"], c["pending"], "pending untouched");
    assert_eq!(q3["counts"]["failed"], 1, "failed untouched");
    let failed_id = queue(&hub, "failed").await[0]["id"].clone();
    let (s, b) = clear(
        &hub,
        &json!({ "status": "failed", "confirm": true, "ids": [failed_id] }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cleared"], 1);
    // The change log is never touched by a clear.
    let changes: i64 = hub
        .db()
        .query_row(
            "SELECT count(*) FROM change_log WHERE table_name = 'customers'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(changes, 3);
    db.drop_db().await;
}

/// A hub that has never had sync on keeps no queue: its writes (creates,
/// updates, a delete) leave `sync_queue` empty and the status shows nothing
/// pending. The first enable then queues every record that exists (and only
/// those), and every one reaches the cloud with its latest values.
#[tokio::test]
async fn a_local_only_hub_keeps_no_queue_and_its_first_enable_uploads_everything() {
    let db = fresh_db("sync_local_only").await;
    let hub = TestHub::spawn_local_only().await;
    let token = hub.owner_token().to_string();
    let mut ids = Vec::new();
    for i in 0..3 {
        let c = hub
            .create(
                "customers",
                &token,
                &json!({ "first_name": "Local", "last_name": format!("Only {i}") }),
            )
            .await;
        ids.push(c["id"].as_str().expect("id").to_string());
    }
    let (s, b) = hub
        .patch(
            &format!("/api/customers/{}", ids[0]),
            &token,
            &json!({ "last_name": "Renamed" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = hub
        .delete(&format!("/api/customers/{}", ids[2]), &token)
        .await;
    assert!(s.is_success(), "{s} {b}");
    let queued = |hub: &TestHub| -> i64 {
        hub.db()
            .query_row("SELECT count(*) FROM sync_queue", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(queued(&hub), 0, "nothing queued before sync was ever on");
    let (_, st) = hub.get("/api/sync/status", &token).await;
    assert_eq!(st["pendingOperations"], 0, "{st}");

    enable_sync(&hub, &db.url).await;
    // The shop, its owner and the two customers that exist, and the deleted
    // one as its delete (its history): one item each.
    let (_, st) = hub.get("/api/sync/status", &token).await;
    assert_eq!(st["initialUpload"]["total"], 5, "{st}");
    assert_eq!(queued(&hub), 5);
    drain(&hub).await;
    let history = format!(
        "SELECT count(*) FROM public.crdt_changes WHERE record_id = '{}'",
        ids[2]
    );
    assert_eq!(
        cloud_count(&db, &history).await,
        2,
        "the deleted customer's create and delete"
    );
    let renamed = cloud_row(&db, "customers", &ids[0])
        .await
        .expect("in the cloud");
    assert_eq!(renamed["last_name"], "Renamed");
    assert!(cloud_row(&db, "customers", &ids[1]).await.is_some());
    assert!(cloud_row(&db, "customers", &ids[2]).await.is_none());
    assert!(cloud_row(&db, "shops", &hub.shop_id).await.is_some());

    // From now on, writes queue themselves, even with sync off again.
    let (s, b) = hub.post("/api/sync/disable", &token, &json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // (Turning sync off is itself a change of the shop's settings.)
    let (_, st) = hub.get("/api/sync/status", &token).await;
    let before = st["pendingOperations"].as_i64().expect("pending");
    let after = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "After", "last_name": "Enable" }),
        )
        .await;
    let (_, st) = hub.get("/api/sync/status", &token).await;
    assert_eq!(st["pendingOperations"], before + 1, "{st}");
    let (_, q) = hub.get("/api/sync/queue?status=pending", &token).await;
    let items = q["items"].as_array().expect("items");
    assert_eq!(items.len() as i64, before + 1, "{q}");
    assert_eq!(items[0]["recordId"], after["id"], "{q}");
    assert_eq!(items[0]["operation"], "CREATE", "{q}");
    db.drop_db().await;
}
