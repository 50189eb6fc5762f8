//! What only the sync endpoints may do: a person's update of the shop cannot
//! switch sync on or change its settings behind the checks of
//! `PUT /api/sync/config` and `POST /api/sync/enable`, and while sync is off
//! (local-only) nothing leaves the hub, not even a forced push.

use crate::common::*;
use crate::pg::fresh_db;
use crate::sync_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn stored_settings(hub: &TestHub) -> Value {
    let text: String = hub
        .db()
        .query_row(
            "SELECT settings FROM shops WHERE id = ?1",
            [&hub.shop_id],
            |r| r.get(0),
        )
        .expect("the shop's settings");
    serde_json::from_str(&text).expect("settings are JSON")
}

#[tokio::test]
async fn a_shop_update_cannot_switch_sync_on_or_change_its_settings() {
    let hub = TestHub::spawn().await;
    let path = api_id("shops", &hub.shop_id);
    let before = stored_settings(&hub);
    for sync in [
        json!({ "enabled": true }),
        json!({ "batchSize": 0 }),
        json!({ "enabled": false, "intervalMs": 1000 }),
    ] {
        let (s, b) = hub
            .patch(
                &path,
                hub.owner_token(),
                &json!({ "settings": { "sync": sync } }),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{sync}: {b}");
        assert_eq!(b["error"]["field"], "settings.sync", "{b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("/api/sync/enable"),
            "{b}"
        );
    }
    assert_eq!(stored_settings(&hub), before, "nothing changed");
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["syncEnabled"], false, "{st}");

    // Through the sync endpoint the same setting is checked and kept; the shop's
    // other settings still change through the shop, keeping the sync ones.
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "batchSize": 200 })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let mut settings = stored_settings(&hub);
    assert_eq!(settings["sync"]["batchSize"], 200, "{settings}");
    settings["theme"] = json!("dark");
    let (s, b) = hub
        .patch(&path, hub.owner_token(), &json!({ "settings": settings }))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let after = stored_settings(&hub);
    assert_eq!(after["theme"], "dark", "{after}");
    assert_eq!(after["sync"]["batchSize"], 200, "{after}");
}

#[tokio::test]
async fn force_sync_is_refused_while_sync_is_off_and_nothing_leaves_the_hub() {
    let db = fresh_db("sync_guards_off").await;
    let hub = TestHub::spawn().await;
    // Configured for the cloud, but never enabled: local-only.
    crate::sync_support::put_config(&hub, &pg_config(&db.url)).await;
    let id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "last_name": "Local" }),
        )
        .await;
    let (s, b) = force_sync(&hub, "customers", &id).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("sync is off"),
        "{b}"
    );
    assert!(drain(&hub).await.disabled, "sync is off");
    assert!(cloud_row(&db, "customers", &id).await.is_none());
    assert_eq!(
        cloud_count(&db, "SELECT count(*) FROM public.crdt_changes").await,
        0
    );

    // Once on, it is pushed, and forcing it again is accepted.
    enable_sync(&hub, &db.url).await;
    drain(&hub).await;
    assert!(cloud_row(&db, "customers", &id).await.is_some());
    let (s, b) = force_sync(&hub, "customers", &id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["outcome"]["failed"], 0, "{b}");
    db.drop_db().await;
}
