//! The 13 sync endpoints: the role matrix, bad input refused naming the field
//! with nothing changed, enable refusing when the connection test fails,
//! clearing only what the owner confirms, and the views.

use crate::common::TestHub;
use crate::pg::{empty_db, fresh_db};
use crate::sync_support::{cloud_row, drain, enable_sync, force_sync};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// (method, path, body) of each endpoint; `view` when managers may use it.
fn endpoints() -> Vec<(Method, &'static str, Option<Value>, bool)> {
    vec![
        (Method::GET, "/api/sync/status", None, true),
        (Method::GET, "/api/sync/config", None, false),
        (
            Method::PUT,
            "/api/sync/config",
            Some(json!({ "batchSize": 60 })),
            false,
        ),
        (Method::GET, "/api/sync/queue", None, true),
        (Method::POST, "/api/sync/trigger", Some(json!({})), false),
        (
            Method::POST,
            "/api/sync/queue/clear",
            Some(json!({ "status": "completed", "confirm": true })),
            false,
        ),
        (Method::GET, "/api/sync/history", None, true),
        (
            Method::POST,
            "/api/sync/test-connection",
            Some(json!({})),
            false,
        ),
        (
            Method::POST,
            "/api/sync/force-sync-record",
            Some(json!({ "table": "customers", "id": "01a227b1-0000-7000-8000-000000000000" })),
            false,
        ),
        (Method::GET, "/api/sync/cost-estimate", None, true),
        (Method::GET, "/api/sync/stats", None, true),
        (Method::POST, "/api/sync/enable", Some(json!({})), false),
        (Method::POST, "/api/sync/disable", Some(json!({})), false),
    ]
}

#[tokio::test]
async fn every_sync_endpoint_follows_the_role_matrix() {
    let hub = TestHub::spawn().await;
    let admin = hub.user("admin").await;
    let manager = hub.user("manager").await;
    let tech = hub.user("technician").await;
    let clerk = hub.user("receptionist").await;
    assert_eq!(endpoints().len(), 13);
    for (method, path, body, view) in endpoints() {
        for (who, token, may) in [
            ("owner", hub.owner_token(), true),
            ("admin", admin.token.as_str(), true),
            ("manager", manager.token.as_str(), view),
            ("technician", tech.token.as_str(), false),
            ("receptionist", clerk.token.as_str(), false),
        ] {
            let (s, b) = hub
                .request(method.clone(), path, Some(token), body.as_ref())
                .await;
            if may {
                assert_ne!(s, StatusCode::FORBIDDEN, "{who} {method} {path}: {b}");
                assert!(s.as_u16() < 500, "{who} {method} {path}: {s} {b}");
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{who} {method} {path}: {b}");
                assert_eq!(b["error"]["code"], "forbidden", "{b}");
            }
        }
        let (s, _) = hub.request(method.clone(), path, None, body.as_ref()).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
    }
}

/// The shop's stored settings text, straight from SQLite.
fn stored_settings(hub: &TestHub) -> String {
    hub.db()
        .query_row(
            "SELECT settings FROM shops WHERE id = ?1",
            [&hub.shop_id],
            |r| r.get(0),
        )
        .expect("the shop's settings")
}

#[tokio::test]
async fn bad_config_is_refused_naming_the_field_and_changes_nothing() {
    use base64::Engine;
    let hub = TestHub::spawn().await;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let service_jwt = format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({ "alg": "HS256", "typ": "JWT" })),
        b64(json!({ "iss": "supabase", "role": "service_role" }))
    );
    let (s, _) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "batchSize": 75, "credentials": { "jwtSecret": "a-jwt-secret-that-is-long-enough-1234" } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, before) = hub.get("/api/sync/config", hub.owner_token()).await;
    let settings_before = stored_settings(&hub);
    assert_eq!(before["batchSize"], 75);
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "batchSize": 0 }), "batchSize"),
        (json!({ "batchSize": 1001 }), "batchSize"),
        (json!({ "batchSize": "50" }), "batchSize"),
        (json!({ "intervalMs": 999 }), "intervalMs"),
        (json!({ "retryAttempts": 0 }), "retryAttempts"),
        (
            json!({ "supabaseUrl": "http://abc.supabase.co" }),
            "supabaseUrl",
        ),
        (json!({ "supabaseUrl": 42 }), "supabaseUrl"),
        (json!({ "colour": "blue" }), "colour"),
        (
            json!({ "features": { "teleport": true } }),
            "features.teleport",
        ),
        (
            json!({ "features": { "mobileSync": "on" } }),
            "features.mobileSync",
        ),
        (json!({ "enabled": true }), "enabled"),
        (
            json!({ "credentials": { "anonKey": service_jwt } }),
            "credentials.anonKey",
        ),
        (
            json!({ "credentials": { "anonKey": "sb_secret_0123456789abcdef" } }),
            "credentials.anonKey",
        ),
        (
            json!({ "credentials": { "anonKey": "postgres://u:p@h/db" } }),
            "credentials.anonKey",
        ),
        (
            json!({ "credentials": { "dbUrl": "mysql://u:p@h/db" } }),
            "credentials.dbUrl",
        ),
        (
            json!({ "credentials": { "jwtSecret": "short" } }),
            "credentials.jwtSecret",
        ),
        (
            json!({ "credentials": { "jwtPrivateKey": "not a key" } }),
            "credentials.jwtPrivateKey",
        ),
        (
            json!({ "credentials": { "password": "x" } }),
            "credentials.password",
        ),
        (
            json!({ "credentials": { "dbUrl": 5 } }),
            "credentials.dbUrl",
        ),
        (json!({ "credentials": "postgres://x" }), "credentials"),
        // A valid change beside a bad one: neither lands.
        (json!({ "batchSize": 100, "intervalMs": 10 }), "intervalMs"),
        (
            json!({ "batchSize": 100, "credentials": { "jwtSecret": null, "anonKey": "sb_secret_x" } }),
            "credentials.anonKey",
        ),
        (json!([1, 2]), "body"),
        (json!({}), "body"),
    ];
    for (body, field) in cases {
        let (s, b) = hub
            .request(
                Method::PUT,
                "/api/sync/config",
                Some(hub.owner_token()),
                Some(&body),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["error"]["field"], field, "{body}: {b}");
        assert!(b["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
        let (_, now) = hub.get("/api/sync/config", hub.owner_token()).await;
        assert_eq!(now, before, "{body} changed the configuration");
        assert_eq!(
            stored_settings(&hub),
            settings_before,
            "{body} changed shops.settings"
        );
    }
    // Malformed JSON too.
    let (s, b) = hub
        .raw(
            Method::PUT,
            "/api/sync/config",
            &[
                ("authorization", &format!("Bearer {}", hub.owner_token())),
                ("content-type", "application/json"),
            ],
            "{\"batchSize\": ",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["code"], "malformed_json");
}

#[tokio::test]
async fn enable_refuses_and_stays_off_when_the_connection_test_fails() {
    let hub = TestHub::spawn().await;
    // Not configured at all.
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["error"]["field"], "credentials.dbUrl", "{b}");
    // Nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "credentials": { "dbUrl": format!("postgres://postgres:pw@127.0.0.1:{port}/x") } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["error"]["code"], "connection_test_failed");
    assert_eq!(b["error"]["check"]["steps"][0]["name"], "reachable", "{b}");
    assert_eq!(b["error"]["check"]["steps"][0]["ok"], false, "{b}");
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["syncEnabled"], false, "{st}");
    assert_eq!(st["mode"], "local-only");
    assert!(!stored_settings(&hub).contains("\"enabled\":true"));

    // Reachable, but without the cloud schema: the schema step says so.
    let (url, name) = empty_db("sync_noschema").await;
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(&json!({ "credentials": { "dbUrl": url } })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = hub
        .post("/api/sync/test-connection", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["ok"], false, "{b}");
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let failing: Vec<&Value> = b["error"]["check"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["ok"] == false)
        .collect();
    assert!(!failing.is_empty(), "{b}");
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["syncEnabled"], false, "{st}");
    let admin = crate::pg::connect(&crate::pg::admin_url()).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop");
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
        let (s, b) = hub
            .post("/api/sync/queue/clear", hub.owner_token(), &body)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {b}");
        assert_eq!(b["error"]["field"], field, "{body}: {b}");
    }
    let (_, q2) = hub.get("/api/sync/queue", hub.owner_token()).await;
    assert_eq!(counts(&q2), c, "a refused clear removed something");

    // A pending item's id named under "completed" is not removed.
    let pending_id = hub
        .get("/api/sync/queue?status=pending", hub.owner_token())
        .await
        .1["items"][0]["id"]
        .clone();
    let (s, b) = hub
        .post(
            "/api/sync/queue/clear",
            hub.owner_token(),
            &json!({ "status": "completed", "confirm": true, "ids": [pending_id] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cleared"], 0);
    let (s, b) = hub
        .post(
            "/api/sync/queue/clear",
            hub.owner_token(),
            &json!({ "status": "completed", "confirm": true }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cleared"], c["completed"]);
    let (_, q3) = hub.get("/api/sync/queue", hub.owner_token()).await;
    assert_eq!(q3["counts"]["completed"], 0);
    assert_eq!(q3["counts"]["pending"], c["pending"], "pending untouched");
    assert_eq!(q3["counts"]["failed"], 1, "failed untouched");
    let failed_id = hub
        .get("/api/sync/queue?status=failed", hub.owner_token())
        .await
        .1["items"][0]["id"]
        .clone();
    let (s, b) = hub
        .post(
            "/api/sync/queue/clear",
            hub.owner_token(),
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
    let c = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "last_name": "Forced" }),
        )
        .await;
    let id = c["id"].as_str().expect("id").to_string();
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
    // The shop, its owner and the two customers that exist: one item each.
    let (_, st) = hub.get("/api/sync/status", &token).await;
    assert_eq!(st["initialUpload"]["total"], 4, "{st}");
    assert_eq!(queued(&hub), 4);
    drain(&hub).await;
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
