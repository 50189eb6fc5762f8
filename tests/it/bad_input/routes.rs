//! Requests for what is not there: unknown tables, endpoints, records and ids
//! (404), unknown columns and bad list queries (named 400), and methods a route
//! does not take (405).

use super::{Setup, BAD, JSON};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn unknown_tables_columns_and_records_are_refused() {
    let s = Setup::new().await;
    let cust = s.refs.id("customers").to_string();
    let missing = uuid::Uuid::now_v7().hyphenated().to_string();
    let nf = StatusCode::NOT_FOUND;
    for (case, method, path, body) in [
        (
            "create in an unknown table",
            Method::POST,
            "/api/spaceships".to_string(),
            json!({}),
        ),
        (
            "bulk into an unknown table",
            Method::POST,
            "/api/spaceships/bulk".into(),
            json!({ "records": [{}] }),
        ),
        (
            "patch in an unknown table",
            Method::PATCH,
            format!("/api/spaceships/{cust}"),
            json!({ "name": "x" }),
        ),
        (
            "patch a missing record",
            Method::PATCH,
            api_id("customers", &missing),
            json!({ "notes": "x" }),
        ),
        (
            "patch a malformed id",
            Method::PATCH,
            "/api/customers/42".into(),
            json!({ "notes": "x" }),
        ),
        (
            "patch under the wrong table",
            Method::PATCH,
            api_id("vehicles", &cust),
            json!({ "color": "x" }),
        ),
        (
            "a table that is not a shop table",
            Method::POST,
            "/api/change_log".into(),
            json!({}),
        ),
        (
            "the queue is not a table of the API",
            Method::POST,
            "/api/sync_queue".into(),
            json!({}),
        ),
        (
            "credentials are not a table of the API",
            Method::POST,
            "/api/user_credentials".into(),
            json!({}),
        ),
        (
            "no such endpoint",
            Method::POST,
            "/api/customers/a/b/c".into(),
            json!({}),
        ),
    ] {
        s.json(case, method, &path, body, nf, "not_found", None)
            .await;
    }
    for (case, path) in [
        ("delete a missing record", api_id("customers", &missing)),
        (
            "delete in an unknown table",
            format!("/api/spaceships/{cust}"),
        ),
        (
            "delete a malformed id",
            "/api/customers/not-a-uuid".to_string(),
        ),
    ] {
        let token = s.hub.owner.token.clone();
        s.refused(case, s.hub.delete(&path, &token), nf, "not_found", None)
            .await;
    }
    for (case, path) in [
        ("get an unknown table", "/api/spaceships".to_string()),
        ("get a missing record", api_id("customers", &missing)),
        (
            "get a malformed id",
            "/api/customers/%27%20OR%201%3D1".to_string(),
        ),
    ] {
        let token = s.hub.owner.token.clone();
        s.refused(case, s.hub.get(&path, &token), nf, "not_found", None)
            .await;
    }

    // Unknown columns are named, on create, update and list.
    let token = s.hub.owner.token.clone();
    s.json(
        "create with an unknown column",
        Method::POST,
        "/api/customers",
        json!({ "first_name": "Ada", "favourite_colour": "red" }),
        BAD,
        "invalid_field",
        Some("favourite_colour"),
    )
    .await;
    s.json(
        "patch an unknown column",
        Method::PATCH,
        &api_id("customers", &cust),
        json!({ "favourite_colour": "red" }),
        BAD,
        "invalid_field",
        Some("favourite_colour"),
    )
    .await;
    s.json(
        "a column of another table",
        Method::PATCH,
        &api_id("customers", &cust),
        json!({ "vin": "1HGCM82633A004352" }),
        BAD,
        "invalid_field",
        Some("vin"),
    )
    .await;
    s.json(
        "a password hash is not a column",
        Method::PATCH,
        &api_id("users", s.refs.id("users")),
        json!({ "password_hash": "$argon2id$..." }),
        BAD,
        "invalid_field",
        Some("password_hash"),
    )
    .await;
    let many_filters = format!("/api/customers?{}", vec!["first_name=a"; 1000].join("&"));
    let cust = api_id("customers", s.refs.id("customers"));
    let history_twice = format!("{cust}/history?limit=1&limit=2");
    let document_param = format!("{cust}/automerge?x=1");
    for (case, path, field) in [
        // Every paged read takes each parameter once, as the lists do.
        ("a history's limit twice", history_twice.as_str(), "limit"),
        (
            "conflicts' limit twice",
            "/api/conflicts?limit=1&limit=2",
            "limit",
        ),
        (
            "the sync queue's limit twice",
            "/api/sync/queue?limit=1&limit=2",
            "limit",
        ),
        (
            "the sync history's offset twice",
            "/api/sync/history?offset=1&offset=2",
            "offset",
        ),
        (
            "a document download takes no parameter",
            &document_param,
            "x",
        ),
        (
            "filter by an unknown column",
            "/api/customers?favourite_colour=red",
            "favourite_colour",
        ),
        (
            "filter by a mistyped value",
            "/api/vehicles?year=nineteen",
            "year",
        ),
        (
            "filter by a bad status",
            "/api/repair_orders?ro_status=flying",
            "ro_status",
        ),
        ("limit zero", "/api/customers?limit=0", "limit"),
        ("limit past the cap", "/api/customers?limit=501", "limit"),
        ("limit not a number", "/api/customers?limit=ten", "limit"),
        (
            "a cursor the hub never gave",
            "/api/customers?cursor=abc",
            "cursor",
        ),
        (
            "a column given twice",
            "/api/customers?first_name=a&first_name=b",
            "first_name",
        ),
        (
            "limit given twice",
            "/api/customers?limit=5&limit=6",
            "limit",
        ),
        (
            "filter by a JSON column",
            "/api/shops?settings=%7B%7D",
            "settings",
        ),
        // A thousand repeats once reached SQLite's expression-depth limit: a 500.
        ("a column a thousand times", &many_filters, "first_name"),
    ] {
        s.refused(
            case,
            s.hub.get(path, &token),
            BAD,
            "invalid_field",
            Some(field),
        )
        .await;
    }
    // `/api/` is an API path: the JSON 404, not the web app's page.
    for path in ["/api", "/api/"] {
        s.refused(
            path,
            s.hub.get(path, &token),
            StatusCode::NOT_FOUND,
            "not_found",
            None,
        )
        .await;
    }
    // The tablets' address opened as a page: it says what it is and what the
    // request lacked, not only "bad request".
    let (status, body) = s.hub.get("/api/ws", &token).await;
    assert_eq!(status, BAD, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("tablets' WebSocket") && message.contains("upgrade"),
        "{body}"
    );
}

#[tokio::test]
async fn methods_a_route_does_not_take_get_405_with_the_error_body() {
    let s = Setup::new().await;
    let auth = s.bearer();
    let headers = [JSON, ("authorization", auth.as_str())];
    let cust = api_id("customers", s.refs.id("customers"));
    for (method, path) in [
        (Method::PUT, api("customers")),
        (Method::DELETE, api("customers")),
        (Method::PUT, cust.clone()),
        (Method::POST, cust.clone()),
        (Method::GET, "/api/customers/bulk".to_string()),
        (Method::PATCH, format!("{cust}/history")),
        (Method::GET, "/api/auth/login".to_string()),
    ] {
        let what = format!("{method} {path}");
        s.refused(
            &what,
            s.hub.raw(method.clone(), &path, &headers, "{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        )
        .await;
    }
}

/// Routes that take no parameters and no fields refuse one given anyway (400,
/// naming it) instead of ignoring it, and change nothing: a refused logout
/// leaves the session open, a refused disable leaves sync as it was.
#[tokio::test]
async fn routes_that_take_nothing_refuse_a_parameter_or_a_field() {
    let s = Setup::new().await;
    let device = "/api/devices/front-desk/revoke";
    let cust = api_id("customers", s.refs.id("customers"));
    for (method, path) in [
        (Method::GET, cust.as_str()),
        (Method::DELETE, cust.as_str()),
        (Method::GET, "/api/devices"),
        (Method::POST, device),
        (Method::GET, "/api/ui/catalog"),
        (Method::GET, "/api/auth/me"),
        (Method::POST, "/api/auth/logout"),
        (Method::GET, "/api/sync/status"),
        (Method::GET, "/api/sync/config"),
        (Method::GET, "/api/sync/stats"),
        (Method::GET, "/api/sync/cost-estimate"),
        (Method::POST, "/api/sync/test-connection"),
        (Method::POST, "/api/sync/enable"),
        (Method::POST, "/api/sync/disable"),
    ] {
        s.raw(
            &format!("{method} {path}?limit=5"),
            method.clone(),
            &format!("{path}?limit=5"),
            Vec::new(),
            BAD,
            "invalid_field",
            Some("limit"),
        )
        .await;
        s.json(
            &format!("{method} {path} with a field"),
            method.clone(),
            path,
            json!({ "force": true }),
            BAD,
            "invalid_field",
            Some("force"),
        )
        .await;
        s.json(
            &format!("{method} {path} with a list"),
            method.clone(),
            path,
            json!([1]),
            BAD,
            "invalid_field",
            Some("body"),
        )
        .await;
    }
    // A route that reads a body reads no query string either.
    for (method, path, body) in [
        (Method::POST, "/api/customers", json!({ "first_name": "Q" })),
        (Method::PATCH, cust.as_str(), json!({ "notes": "q" })),
        (Method::POST, "/api/sync/trigger", json!({})),
    ] {
        s.json(
            &format!("{method} {path}?dry_run=1"),
            method,
            &format!("{path}?dry_run=1"),
            body,
            BAD,
            "invalid_field",
            Some("dry_run"),
        )
        .await;
    }
    // Nothing, or an empty object, is what these routes take.
    let token = s.hub.owner_token();
    let (status, body) = s.hub.post("/api/sync/disable", token, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, me) = s.hub.get("/api/auth/me", token).await;
    assert_eq!(status, StatusCode::OK, "the session is still open: {me}");
}
