//! Issue 6, the API's own defects: instants past the end of the calendar, every
//! rejection in our error body, `_base: []`, the hub's columns a PATCH may not
//! touch, history paging, and a user's fields and password written as one.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Sends a request and returns the status, the `Content-Type` and the body
/// (JSON, or the text as a JSON string).
async fn send(
    hub: &TestHub,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, String, Value) {
    let mut req = hub
        .client
        .request(method, format!("{}{path}", hub.base_url));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: the hub answers: {e}"));
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.bytes().await.expect("the body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, ctype, body)
}

#[tokio::test]
async fn instants_past_the_calendar_are_refused_naming_the_field_and_nothing_panics() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let body = |clock_in: &str| json!({ "technician_id": hub.owner.id, "clock_in": clock_in });
    let before = hub.snapshot();
    for instant in [
        // Valid RFC 3339, but 10000-01-01T00:59:59Z in UTC.
        "9999-12-31T23:59:59-01:00",
        // Valid RFC 3339, but in the year 0 (or before) in UTC.
        "0000-01-01T00:30:00+01:00",
        "0001-01-01T00:30:00+01:00",
    ] {
        let got = hub.post(&api("time_clock"), &token, &body(instant)).await;
        let field = assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("create with clock_in {instant}"),
        );
        assert_eq!(field.as_deref(), Some("clock_in"), "{instant}");
        let got = hub
            .post(
                &format!("{}/bulk", api("time_clock")),
                &token,
                &json!({ "records": [body("2026-01-16T08:00:00Z"), body(instant)] }),
            )
            .await;
        let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", instant);
        assert_eq!(field.as_deref(), Some("records[1].clock_in"), "{instant}");
        let query = instant.replace('+', "%2B");
        let got = hub
            .get(&format!("{}?clock_in={query}", api("time_clock")), &token)
            .await;
        let field = assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("list filtered by clock_in {instant}"),
        );
        assert_eq!(field.as_deref(), Some("clock_in"), "{instant}");
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // The ends of the range itself are fine, and the hub still answers.
    for (sent, stored) in [
        ("9999-12-31T23:59:59+01:00", "9999-12-31T22:59:59.000000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"),
    ] {
        let rec = hub.create("time_clock", &token, &body(sent)).await;
        assert_eq!(rec["clock_in"], json!(stored), "{sent}");
    }
}

/// What, method, path, body, expected status and code.
type Case = (
    &'static str,
    Method,
    String,
    Option<String>,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn every_rejection_answers_the_error_body_with_its_4xx() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let t = Some(token.as_str());
    let cust = hub
        .create("customers", &token, &json!({ "first_name": "Ada" }))
        .await;
    let cust = api_id("customers", cust["id"].as_str().expect("id"));
    let big = json!({ "notes": "x".repeat(300 * 1024) }).to_string();
    let bad = StatusCode::BAD_REQUEST;
    let cases: Vec<Case> = vec![
        // Path segments that are not UTF-8 once decoded.
        (
            "a bad record id",
            Method::GET,
            "/api/customers/%FF".into(),
            None,
            bad,
            "bad_request",
        ),
        (
            "a bad table",
            Method::GET,
            "/api/%FF".into(),
            None,
            bad,
            "bad_request",
        ),
        (
            "a bad table and id",
            Method::GET,
            "/api/%FF/%FE".into(),
            None,
            bad,
            "bad_request",
        ),
        (
            "a bad id to patch",
            Method::PATCH,
            "/api/customers/%FF".into(),
            Some("{}".into()),
            bad,
            "bad_request",
        ),
        (
            "a bad id to delete",
            Method::DELETE,
            "/api/customers/%FF".into(),
            None,
            bad,
            "bad_request",
        ),
        (
            "a bad history id",
            Method::GET,
            "/api/customers/%C3%28/history".into(),
            None,
            bad,
            "bad_request",
        ),
        (
            "a bad bulk table",
            Method::POST,
            "/api/%FF/bulk".into(),
            Some("{}".into()),
            bad,
            "bad_request",
        ),
        (
            "a bad conflict path",
            Method::POST,
            "/api/conflicts/customers/%FF/resolve".into(),
            Some(r#"{"field":"notes","value":"x"}"#.into()),
            bad,
            "bad_request",
        ),
        // Query strings.
        (
            "a bad limit",
            Method::GET,
            "/api/customers?limit=%FF".into(),
            None,
            bad,
            "invalid_field",
        ),
        (
            "a bad filter name",
            Method::GET,
            "/api/customers?%FF=1".into(),
            None,
            bad,
            "invalid_field",
        ),
        (
            "a bad cursor",
            Method::GET,
            "/api/customers?cursor=nope".into(),
            None,
            bad,
            "invalid_field",
        ),
        // Methods.
        (
            "PUT on a table",
            Method::PUT,
            "/api/customers".into(),
            Some("{}".into()),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "POST on health",
            Method::POST,
            "/api/health".into(),
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        // Bodies.
        (
            "a body that is not JSON",
            Method::PATCH,
            cust.clone(),
            Some("{notes:".into()),
            bad,
            "malformed_json",
        ),
        (
            "an empty body",
            Method::PATCH,
            cust.clone(),
            Some(String::new()),
            bad,
            "malformed_json",
        ),
        (
            "a JSON list",
            Method::PATCH,
            cust.clone(),
            Some("[1]".into()),
            bad,
            "invalid_field",
        ),
        (
            "a body over the cap",
            Method::PATCH,
            cust.clone(),
            Some(big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
        // Routes that do not exist, inside and outside /api.
        (
            "no such route",
            Method::GET,
            "/api/customers/a/b/c".into(),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a missing file of the web UI",
            Method::GET,
            "/no-such-file.js".into(),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a bad path outside /api",
            Method::GET,
            "/%FF".into(),
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (what, method, path, body, status, code) in cases {
        let (s, ctype, got) = send(&hub, method.clone(), &path, t, body).await;
        assert!(
            ctype.starts_with("application/json"),
            "{what} ({method} {path}): answered {s} {ctype}: {got}"
        );
        assert_error(
            &(s, got),
            status,
            code,
            &format!("{what} ({method} {path})"),
        );
    }
}

#[tokio::test]
async fn an_empty_base_is_refused_and_makes_no_conflict() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Ada", "notes": "one" }),
        )
        .await;
    let path = api_id("customers", rec["id"].as_str().expect("id"));
    let before = hub.snapshot();
    let got = hub
        .patch(&path, &token, &json!({ "notes": "two", "_base": [] }))
        .await;
    let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", "_base: []");
    assert_eq!(field.as_deref(), Some("_base"));
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    let (_, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(conflicts["data"], json!([]), "{conflicts}");
}

#[tokio::test]
async fn a_patch_never_changes_a_records_id_shop_or_creation_time() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let other = hub.second_shop("Shop B").await;
    let rec = hub
        .create("customers", &token, &json!({ "first_name": "Ada" }))
        .await;
    let path = api_id("customers", rec["id"].as_str().expect("id"));
    let before = hub.snapshot();
    for (field, value) in [
        ("id", json!(uuid::Uuid::now_v7().to_string())),
        ("id", rec["id"].clone()),
        ("shop_id", json!(other.shop_id)),
        ("shop_id", json!(uuid::Uuid::now_v7().to_string())),
        ("created_at", json!("2020-01-01T00:00:00.000000Z")),
        ("created_at", rec["created_at"].clone()),
    ] {
        for body in [
            json!({ field: value }),
            json!({ field: value, "notes": "x" }),
        ] {
            let got = hub.patch(&path, &token, &body).await;
            let named = assert_error(
                &got,
                StatusCode::BAD_REQUEST,
                "invalid_field",
                &body.to_string(),
            );
            assert_eq!(named.as_deref(), Some(field), "{body}");
        }
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // Its own shop's id, unchanged, is accepted (a client may send back what it read).
    let (s, got) = hub
        .patch(
            &path,
            &token,
            &json!({ "shop_id": hub.shop_id, "notes": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["shop_id"], json!(hub.shop_id));
    assert_eq!(got["created_at"], rec["created_at"]);
}

#[tokio::test]
async fn history_pages_with_limit_and_cursor() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create("customers", &token, &json!({ "first_name": "Ada" }))
        .await;
    let path = api_id("customers", rec["id"].as_str().expect("id"));
    for n in 0..4 {
        let (s, _) = hub
            .patch(&path, &token, &json!({ "notes": format!("note {n}") }))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, all) = hub.get(&format!("{path}/history"), &token).await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let all = all["data"].as_array().expect("data").clone();
    assert_eq!(all.len(), 5);
    let mut paged = Vec::new();
    let mut sizes = Vec::new();
    let mut url = format!("{path}/history?limit=2");
    loop {
        let (s, page) = hub.get(&url, &token).await;
        assert_eq!(s, StatusCode::OK, "{url}: {page}");
        let data = page["data"].as_array().expect("data");
        sizes.push(data.len());
        paged.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{path}/history?limit=2&cursor={c}"),
            None => {
                assert_eq!(page["next_cursor"], Value::Null, "{page}");
                break;
            }
        }
        assert!(sizes.len() < 10, "the pages never end");
    }
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(paged, all, "the pages, in order, are the whole history");
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=two", "limit"),
        ("cursor=nope", "cursor"),
        ("cursor=-1", "cursor"),
        ("colour=red", "colour"),
    ] {
        let got = hub.get(&format!("{path}/history?{q}"), &token).await;
        let named = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", q);
        assert_eq!(named.as_deref(), Some(field), "{q}");
    }
}

#[tokio::test]
async fn a_users_fields_and_new_password_are_written_together() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let path = api_id("users", &tech.id);
    let new_password = "a brand new password";
    let (s, got) = hub
        .patch(
            &path,
            hub.owner_token(),
            &json!({ "display_name": "Renamed Tech", "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["display_name"], json!("Renamed Tech"));
    // One transaction, one clock reading: the row's update time is the
    // credential's change time to the microsecond.
    let (updated_at, changed_at): (String, String) = hub
        .db()
        .query_row(
            "SELECT u.updated_at, c.changed_at FROM users u
             JOIN user_credentials c ON c.user_id = u.id WHERE u.id = ?1",
            [&tech.id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the user and their credential");
    assert_eq!(updated_at, changed_at, "one write, not two");
    hub.login(&tech.email, new_password).await;
    let (s, _) = hub.try_login(&tech.email, PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // A password alone is still a write of its own, and still works.
    let (s, got) = hub
        .patch(&path, hub.owner_token(), &json!({ "password": PASSWORD }))
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["display_name"], json!("Renamed Tech"));
    hub.login(&tech.email, PASSWORD).await;
}

const BIN: &str = env!("CARGO_BIN_EXE_collisionos");

fn collisionos(args: &[&str], data: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(args)
        .arg("--data-dir")
        .arg(data)
        .env("COLLISIONOS_OWNER_PASSWORD", PASSWORD)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn init(data: &std::path::Path) -> std::process::Output {
    collisionos(
        &["init", "--shop-name", "Shop", "--owner-email", OWNER_EMAIL],
        data,
    )
    .output()
    .expect("run collisionos init")
}

#[cfg(unix)]
#[test]
fn the_signing_secret_survives_a_crash_and_is_refused_when_others_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a data dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    let secret = data.join("jwt_secret");
    // What a crash between creating the file and writing it used to leave.
    std::fs::write(&secret, b"").expect("an empty secret");
    let out = init(&data);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "init over an empty secret: {text}");
    assert_eq!(std::fs::read(&secret).expect("the secret").len(), 64);
    let mode = std::fs::metadata(&secret)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Readable by others: `serve` refuses to start, naming the file and the fix.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let serve = collisionos(&["serve", "--listen", "127.0.0.1:0"], &data)
        .spawn()
        .expect("start serve");
    let pid = serve.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(serve.wait_with_output());
    });
    let out = match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(out) => out.expect("serve's output"),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("serve started with a secret file others can read");
        }
    };
    let status = out.status;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!status.success(), "{text}");
    assert!(text.contains(&secret.display().to_string()), "{text}");
    assert!(text.contains("chmod 600"), "{text}");
}
