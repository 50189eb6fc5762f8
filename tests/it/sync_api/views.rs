//! The sync views and actions answering: status, cost estimate,
//! test-connection, the initial upload's progress, force-sync of one record,
//! history, queue filters and stats.

use super::stored_settings;
use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_support::{cloud_row, drain, enable_sync, force_sync};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn the_views_and_force_sync_answer() {
    let db = fresh_db("sync_views").await;
    let hub = TestHub::spawn().await;
    let (s, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(st["mode"], "local-only");
    assert_eq!(st["syncEnabled"], false);
    for key in [
        "pendingOperations",
        "lastSync",
        "queue",
        "lastError",
        "lag",
        "initialUpload",
    ] {
        assert!(st.get(key).is_some(), "status has {key}: {st}");
    }
    for key in ["queueSize", "totalProcessed", "totalFailed"] {
        assert!(
            st["queue"].get(key).is_some(),
            "status.queue has {key}: {st}"
        );
    }
    // The cost follows the feature switches.
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "features": { "mobileSync": true, "realtimeUpdates": true } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["monthlyCostUsd"], 45);
    let (_, cost) = hub.get("/api/sync/cost-estimate", hub.owner_token()).await;
    assert_eq!(cost["totalMonthlyUsd"], 45, "{cost}");
    assert_eq!(cost["features"].as_array().map(Vec::len), Some(5));
    // The stored settings are the shop's (and hold no credential).
    assert!(stored_settings(&hub).contains("\"mobileSync\":true"));

    // Existing records are uploaded on the first enable, with progress.
    enable_sync(&hub, &db.url).await;
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["initialUpload"]["state"], "queued", "{st}");
    assert!(
        st["initialUpload"]["total"].as_i64().unwrap_or(0) >= 2,
        "shop and owner: {st}"
    );
    drain(&hub).await;
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(
        st["initialUpload"]["done"], st["initialUpload"]["total"],
        "{st}"
    );
    assert!(cloud_row(&db, "shops", &hub.shop_id).await.is_some());
    assert!(cloud_row(&db, "users", &hub.owner.id).await.is_some());

    let (s, t) = hub
        .post("/api/sync/test-connection", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["ok"], true, "{t}");
    let names: Vec<&str> = t["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["reachable", "credentials", "schema"]);

    // Force-sync puts back a row removed from the cloud behind the hub's back.
    let id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "last_name": "Forced" }),
        )
        .await;
    drain(&hub).await;
    db.client
        .execute(
            "DELETE FROM public.customers WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("remove in the cloud");
    let (s, b) = force_sync(&hub, "customers", &id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["outcome"]["pushed"], 1, "{b}");
    assert!(cloud_row(&db, "customers", &id).await.is_some());
    for (body, field) in [
        (json!({ "table": "nope", "id": id }), "table"),
        (json!({ "table": "customers", "id": "x" }), "id"),
        (json!({ "table": "customers", "id": id, "more": 1 }), "more"),
    ] {
        let (s, b) = hub
            .post("/api/sync/force-sync-record", hub.owner_token(), &body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(b["error"]["field"], field, "{b}");
    }
    let (s, _) = force_sync(&hub, "customers", "01a227b1-0000-7000-8000-000000000000").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, h) = hub
        .get("/api/sync/history?limit=5", hub.owner_token())
        .await;
    let items = h["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.len() <= 5, "{h}");
    assert!(items.iter().all(|i| i["status"] == "COMPLETED"));
    let (s, b) = hub
        .get("/api/sync/history?limit=abc", hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["field"], "limit");
    let (s, b) = hub
        .get("/api/sync/queue?state=failed", hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["field"], "state");
    let (_, stats) = hub.get("/api/sync/stats", hub.owner_token()).await;
    assert!(
        stats["totalProcessed"].as_i64().unwrap_or(0) >= 3,
        "{stats}"
    );

    let (s, b) = hub
        .post("/api/sync/disable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["mode"], "local-only");
    db.drop_db().await;
}
