//! What a shop's monitor and its owner see: health, Prometheus metrics that
//! move with traffic, a request id on every answer, automatic backups, and
//! login attempts limited per account and per address.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The samples of `/metrics`, parsed by a Prometheus text parser.
async fn scrape(hub: &TestHub) -> Vec<prometheus_parse::Sample> {
    let res = hub
        .client
        .get(format!("{}/metrics", hub.base_url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = res.text().await.expect("body");
    let lines = text.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines)
        .expect("valid Prometheus text")
        .samples
}

fn value(samples: &[prometheus_parse::Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let want: HashMap<&str, &str> = labels.iter().copied().collect();
    samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| want.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(ref h) => {
                h.iter().map(|b| b.count).fold(0.0, f64::max)
            }
            prometheus_parse::Value::Summary(_) => f64::NAN,
        })
        .sum()
}

#[tokio::test]
async fn metrics_parse_and_move_with_traffic() {
    let hub = TestHub::spawn().await;
    let before = scrape(&hub).await;
    let route = [
        ("route", "/api/:table"),
        ("method", "POST"),
        ("status", "201"),
    ];
    let created = value(&before, "collisionos_http_requests_total", &route);
    let writes = value(&before, "collisionos_writes_total", &[("outcome", "ok")]);
    for i in 0..5 {
        hub.create(
            "customers",
            &hub.owner.token,
            &json!({"first_name": "Metric", "last_name": format!("{i}")}),
        )
        .await;
    }
    let after = scrape(&hub).await;
    assert_eq!(
        value(&after, "collisionos_http_requests_total", &route),
        created + 5.0
    );
    assert_eq!(
        value(&after, "collisionos_writes_total", &[("outcome", "ok")]),
        writes + 5.0
    );
    assert!(value(&after, "collisionos_commit_group_writes", &[]) >= writes + 5.0);
    assert!(value(&after, "collisionos_sync_queue_waiting", &[]) >= 5.0);
    assert!(
        value(
            &after,
            "collisionos_http_request_seconds",
            &[("route", "/api/:table")]
        ) >= 5.0
    );
    // Ids in paths never become labels.
    assert!(after
        .iter()
        .all(|s| s.labels.get("route").is_none_or(|r| !r.contains('-'))));
}

#[tokio::test]
async fn health_says_what_a_monitor_needs_and_backups_show_in_it() {
    let hub = TestHub::spawn().await;
    let (status, h) = hub
        .request(reqwest::Method::GET, "/api/health", None, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{h}");
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["database"]["writable"], true);
    assert!(
        h["sync_queue"]["waiting"].as_i64().expect("waiting") >= 2,
        "{h}"
    );
    assert!(h["sync_queue"]["lag_seconds"].as_f64().is_some(), "{h}");
    assert_eq!(h["backup"]["automatic"], true);
    assert_eq!(h["cloud"]["mode"], "local-only", "{h}");
    assert!(h["cloud"]["reachable"].is_null(), "sync off: not asked");
    assert_eq!(h["tablets"], 0);
    assert!(h["backup"]["last"].is_null(), "no backup yet: {h}");

    // A scheduled backup, run now: written, pruned to `keep`, shown by health
    // and metrics.
    let keep = hub.state.backups.plan().keep;
    for _ in 0..keep + 2 {
        hub.state.backups.run_once().await.expect("a backup");
    }
    let dir = hub.state.backups.plan().dir.clone();
    let files: Vec<_> = std::fs::read_dir(&dir).expect("backup dir").collect();
    assert_eq!(files.len(), keep, "the oldest are removed");
    let (_, h) = hub
        .request(reqwest::Method::GET, "/api/health", None, None)
        .await;
    let last = &h["backup"]["last"];
    assert!(
        last["file"].as_str().is_some_and(|f| f.ends_with(".db")),
        "{h}"
    );
    assert!(last["error"].is_null());
    assert!(h["backup"]["age_seconds"].as_f64().expect("age") < 60.0);
    let copy = rusqlite::Connection::open(last["file"].as_str().expect("file")).expect("opens");
    let ok: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ok, "ok");
    let samples = scrape(&hub).await;
    let age = value(&samples, "collisionos_backup_age_seconds", &[]);
    assert!((0.0..60.0).contains(&age), "{age}");
}

#[tokio::test]
async fn every_answer_names_its_request() {
    let hub = TestHub::spawn().await;
    for path in ["/api/health", "/api/no_such_table", "/metrics", "/nowhere"] {
        let res = hub
            .client
            .get(format!("{}{path}", hub.base_url))
            .send()
            .await
            .expect("answer");
        let id = res.headers().get("x-request-id");
        assert!(id.is_some_and(|v| !v.is_empty()), "{path}");
    }
    let res = hub
        .client
        .get(format!("{}/api/health", hub.base_url))
        .header("x-request-id", "from-the-client-42")
        .send()
        .await
        .expect("answer");
    assert_eq!(
        res.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("from-the-client-42")
    );
}

async fn login_from(
    client: &reqwest::Client,
    hub: &TestHub,
    email: &str,
    password: &str,
) -> (StatusCode, Option<String>, Value) {
    let res = client
        .post(format!("{}/api/auth/login", hub.base_url))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("answer");
    let status = res.status();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    (status, retry, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn login_attempts_are_limited_per_account_and_address() {
    let hub = TestHub::spawn().await;
    let other = hub.user("technician").await;
    let checks =
        |s: &[prometheus_parse::Sample]| value(s, "collisionos_password_checks_total", &[]);
    let before = checks(&scrape(&hub).await);
    let here = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let (status, retry, body) = login_from(&here, &hub, OWNER_EMAIL, "not the password").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)));
            assert_eq!(body["error"]["code"], "rate_limited");
        }
        statuses.push(status.as_u16());
    }
    // Five free, the sixth counted and answered, then refused while waiting.
    assert_eq!(&statuses[..6], &[401; 6]);
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    let spent = checks(&scrape(&hub).await) - before;
    assert_eq!(spent, 6.0, "refused attempts run no password check");
    // The right password for that account waits too, from any address.
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client on 127.0.0.2");
    let (status, _, _) = login_from(&elsewhere, &hub, OWNER_EMAIL, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another account logs in, from another address and from this one.
    let (status, _, body) = login_from(&elsewhere, &hub, &other.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = login_from(&here, &hub, &other.email, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Guessing the current password through `POST /api/auth/password` (with a
/// session, say a tablet left logged in) counts against the same limit as
/// the login's: five free, then refused, and the login waits too.
#[tokio::test]
async fn password_change_guesses_count_with_the_logins_limit() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let other = hub.user("estimator").await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let (status, body) = hub
            .post(
                "/api/auth/password",
                &tech.token,
                &json!({"current_password": format!("guess {i}"), "new_password": "a new long password"}),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        }
        statuses.push(status.as_u16());
    }
    assert_eq!(&statuses[..6], &[403; 6], "{statuses:?}");
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    let here = reqwest::Client::new();
    let (status, _, _) = login_from(&here, &hub, &tech.email, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the login shares it");
    // Another account is not held back.
    let (status, body) = hub
        .post(
            "/api/auth/password",
            &other.token,
            &json!({"current_password": PASSWORD, "new_password": "a new long password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn security_headers_on_every_answer_and_cors_stays_closed() {
    let hub = TestHub::spawn().await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/health"),
        (reqwest::Method::GET, "/api/customers"),
        (reqwest::Method::OPTIONS, "/api/customers"),
        (reqwest::Method::GET, "/nowhere"),
    ] {
        let res = hub
            .client
            .request(method.clone(), format!("{}{path}", hub.base_url))
            .header("origin", "http://evil.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .expect("answer");
        let h = res.headers();
        assert_eq!(
            h.get("x-content-type-options").map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{method} {path}"
        );
        assert_eq!(
            h.get("x-frame-options").map(|v| v.as_bytes()),
            Some(&b"DENY"[..])
        );
        assert_eq!(
            h.get("referrer-policy").map(|v| v.as_bytes()),
            Some(&b"no-referrer"[..])
        );
        assert!(h.get("content-security-policy").is_some());
        assert!(
            h.get("access-control-allow-origin").is_none(),
            "{method} {path}: no other origin is ever allowed"
        );
    }
}
