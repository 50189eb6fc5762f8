//! The sync configuration: bad input refused naming the field with nothing
//! changed, and enable refusing (and staying off) when the connection test
//! fails.

use super::stored_settings;
use crate::common::TestHub;
use crate::pg::empty_db;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
    crate::sync_support::set_db_url(&hub, &url).await;
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
