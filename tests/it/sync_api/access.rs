//! Who may call which sync endpoint: the role matrix over all 13, and 401
//! without a token.

use crate::common::TestHub;
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

/// A hub holding a second shop syncs only its own: that shop's owner gets 403
/// from all 13 endpoints (the queue, its errors and the settings are the hub
/// shop's), and nothing of the hub shop's sync changes.
#[tokio::test]
async fn another_shops_owner_gets_403_from_every_sync_endpoint() {
    let hub = TestHub::spawn().await;
    let other = hub.second_shop("Other Body Works").await;
    let (_, config_before) = hub.get("/api/sync/config", hub.owner_token()).await;
    for (method, path, body, _) in endpoints() {
        let (s, b) = hub
            .request(
                method.clone(),
                path,
                Some(&other.owner.token),
                body.as_ref(),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {b}");
        let msg = b["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("another shop"), "{method} {path}: {b}");
    }
    let (s, config_after) = hub.get("/api/sync/config", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(config_after, config_before);
    // The hub shop's owner is still served.
    let (s, b) = hub.get("/api/sync/queue", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
