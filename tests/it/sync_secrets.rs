//! No secret leaves the hub: the real binary syncs with credentials from the
//! environment and from the API, logging at trace level; then every API
//! response, `shops.settings` (and the change log and documents that carry it),
//! the logs and every cloud table are searched for each secret.

use crate::pg::fresh_db;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_collisionos");
const PASSWORD: &str = "correct horse battery";

const DB_PASSWORD: &str = "dbpw-Qx7-unique-4821-zz";
const ANON_KEY: &str = "sb_publishable_anonkey-unique-7731-qq";
const SERVICE_KEY: &str = "sb_secret_service-unique-9911-rr";
const JWT_SECRET: &str = "jwt-secret-unique-value-0123456789abcdef-ss";
const PRIVATE_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIuniqueprivatekeybody5555tt\n-----END PRIVATE KEY-----";
const PRIVATE_KEY_BODY: &str = "MIIuniqueprivatekeybody5555tt";
const API_JWT_SECRET: &str = "api-set-jwt-secret-unique-44444444-uu";

fn secrets() -> Vec<&'static str> {
    vec![
        DB_PASSWORD,
        ANON_KEY,
        SERVICE_KEY,
        JWT_SECRET,
        PRIVATE_KEY_BODY,
        API_JWT_SECRET,
    ]
}

fn leaks(what: &str, haystack: &[u8], found: &mut Vec<String>) {
    for s in secrets() {
        if haystack.windows(s.len()).any(|w| w == s.as_bytes()) {
            found.push(format!("{s} in {what}"));
        }
    }
}

struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path, log: &Path, db_url: &str) -> Served {
    let err = std::fs::File::create(log).expect("log file");
    let mut cmd = crate::binary::serve_command(data);
    cmd.env("RUST_LOG", "trace")
        .env("SYNC_ENABLED", "true")
        .env("SYNC_INTERVAL_MS", "1000")
        .env("SUPABASE_DB_URL", db_url)
        .env("SUPABASE_ANON_KEY", ANON_KEY)
        .env("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY)
        .env("SUPABASE_JWT_SECRET", JWT_SECRET)
        .env("SUPABASE_JWT_PRIVATE_KEY", PRIVATE_KEY)
        .stderr(err);
    let (child, base) = crate::binary::start(cmd);
    Served { child, base }
}

#[tokio::test]
async fn no_secret_in_responses_settings_logs_or_the_cloud() {
    let db = fresh_db("sync_secrets").await;
    db.client
        .batch_execute(
            "ALTER TABLE public.customers ADD CONSTRAINT no_zed CHECK (last_name IS DISTINCT FROM 'Zed')",
        )
        .await
        .expect("a constraint, so an error path runs too");
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    let init = Command::new(BIN)
        .args([
            "init",
            "--shop-name",
            "Secret Shop",
            "--owner-email",
            "owner@secret.test",
            "--data-dir",
        ])
        .arg(&data)
        .env("COLLISIONOS_OWNER_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .expect("run init");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // Trust authentication ignores the password, so it can be any secret.
    let mut u = url::Url::parse(&db.url).expect("url");
    u.set_password(Some(DB_PASSWORD)).expect("password");
    let log = dir.path().join("hub.log");
    let hub = serve(&data, &log, u.as_str());
    let http = reqwest::Client::new();
    let mut bodies: Vec<(String, String)> = Vec::new();
    let call = |m: Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut req = http.request(m, format!("{}{path}", hub.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("the hub answers");
            let status = resp.status();
            (status, resp.text().await.expect("a body"))
        }
    };
    let (s, login) = call(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({ "email": "owner@secret.test", "password": PASSWORD })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{login}");
    let token: String = serde_json::from_str::<Value>(&login).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let t = Some(token.as_str());
    // A credential set through the API too.
    let (s, b) = call(
        Method::PUT,
        "/api/sync/config",
        t,
        Some(json!({ "credentials": { "jwtSecret": API_JWT_SECRET }, "batchSize": 20 })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b.contains("\"jwtSecret\":\"set (…4-uu)\""),
        "shown only as set: {b}"
    );
    bodies.push(("PUT config".into(), b));
    for (first, last) in [("Ann", "Ok"), ("Zed", "Zed"), ("Bob", "Ok")] {
        let (s, b) = call(
            Method::POST,
            "/api/customers",
            t,
            Some(json!({ "first_name": first, "last_name": last })),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        bodies.push(("create".into(), b));
    }
    let (s, b) = call(Method::POST, "/api/sync/trigger", t, Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    bodies.push(("trigger".into(), b));
    assert_eq!(
        crate::sync_support::cloud_count(&db, "SELECT count(*) FROM public.customers").await,
        2,
        "the two acceptable customers arrived"
    );
    for (m, path, body) in [
        (Method::GET, "/api/sync/status", None),
        (Method::GET, "/api/sync/config", None),
        (Method::GET, "/api/sync/queue", None),
        (Method::GET, "/api/sync/history", None),
        (Method::GET, "/api/sync/stats", None),
        (Method::GET, "/api/sync/cost-estimate", None),
        (Method::POST, "/api/sync/test-connection", Some(json!({}))),
        (
            Method::POST,
            "/api/sync/trigger",
            Some(json!({ "retryFailed": true })),
        ),
        (
            Method::POST,
            "/api/sync/queue/clear",
            Some(json!({ "status": "completed", "confirm": true })),
        ),
        (
            Method::POST,
            "/api/sync/force-sync-record",
            Some(json!({ "table": "shops", "id": "00000000-0000-4000-8000-000000000000" })),
        ),
        (
            Method::PUT,
            "/api/sync/config",
            Some(json!({ "credentials": { "anonKey": SERVICE_KEY } })),
        ),
        (Method::POST, "/api/sync/disable", Some(json!({}))),
        (Method::POST, "/api/sync/enable", Some(json!({}))),
        (Method::GET, "/api/shops", None),
    ] {
        let (s, b) = call(m.clone(), path, t, body).await;
        assert!(s.as_u16() < 500, "{m} {path}: {s} {b}");
        bodies.push((format!("{m} {path}"), b));
    }
    let mut found = Vec::new();
    for (what, b) in &bodies {
        leaks(&format!("the response of {what}"), b.as_bytes(), &mut found);
    }
    // The hub's SQLite: shops.settings, and the change log and documents that carry it.
    {
        let conn = rusqlite::Connection::open_with_flags(
            data.join(collisionos::store::DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the hub's db");
        conn.busy_timeout(Duration::from_secs(10)).expect("timeout");
        for (what, sql) in [
            ("shops.settings", "SELECT settings FROM shops"),
            ("change_log", "SELECT bytes FROM change_log"),
            ("crdt_docs", "SELECT doc FROM crdt_docs"),
            (
                "sync_queue",
                "SELECT coalesce(last_error, '') FROM sync_queue",
            ),
            ("sync_state", "SELECT value FROM sync_state"),
        ] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let rows: Vec<Vec<u8>> = stmt
                .query_map([], |r| {
                    let v: rusqlite::types::Value = r.get(0)?;
                    Ok(match v {
                        rusqlite::types::Value::Text(t) => t.into_bytes(),
                        rusqlite::types::Value::Blob(b) => b,
                        _ => Vec::new(),
                    })
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            for r in rows {
                leaks(what, &r, &mut found);
            }
        }
    }
    // Every cloud table, rows and change bytes.
    let tables: Vec<String> = db
        .client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .expect("tables")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(tables.len() > 20, "{tables:?}");
    for t in tables {
        let row = db
            .client
            .query_one(
                &format!(
                    "SELECT coalesce(string_agg(to_jsonb(x)::text, ','), '') FROM public.{t} x"
                ),
                &[],
            )
            .await
            .expect("dump");
        leaks(
            &format!("cloud table {t}"),
            row.get::<_, &str>(0).as_bytes(),
            &mut found,
        );
    }
    for r in db
        .client
        .query("SELECT bytes FROM public.crdt_changes", &[])
        .await
        .expect("changes")
    {
        leaks("cloud change bytes", r.get::<_, &[u8]>(0), &mut found);
    }
    drop(hub);
    let logs = std::fs::read(&log).expect("the logs");
    assert!(logs.len() > 1000, "trace logging ran");
    leaks("the logs", &logs, &mut found);
    assert!(found.is_empty(), "secrets leaked:\n{}", found.join("\n"));
    db.drop_db().await;
}
