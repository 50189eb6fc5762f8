//! The first enable uploads everything that already exists: 100,000 records
//! written while sync was off, enabled through the API, the hub killed with
//! SIGKILL half-way through the upload and restarted; every record arrives,
//! once, and the status reports the progress throughout. A first enable
//! stopped while it was still queuing finishes its queuing at the next start.

use crate::pg::fresh_db;
use crate::sync_support::cloud_count;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";
const RECORDS: usize = 100_000;

fn start(data: &Path) -> (Child, String) {
    let mut cmd = crate::binary::serve_command(data);
    cmd.stderr(std::process::Stdio::null());
    crate::binary::start(cmd)
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn login(url: &str) -> Client {
        let http = reqwest::Client::new();
        let res: Value = http
            .post(format!("{url}/api/auth/login"))
            .json(&json!({ "email": "owner@upload.test", "password": PASSWORD }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        Client {
            http,
            url: url.to_string(),
            token: res["token"].as_str().expect("token").to_string(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .expect("the hub answers");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn progress(&self) -> (i64, i64, Value) {
        let (_, st) = self
            .send(reqwest::Method::GET, "/api/sync/status", Value::Null)
            .await;
        (
            st["initialUpload"]["done"].as_i64().expect("done"),
            st["initialUpload"]["total"].as_i64().expect("total"),
            st,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_upload_of_100000_records_survives_a_restart_half_way() {
    let db = fresh_db("sync_upload").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    crate::binary::init(&data, "Upload Shop", "owner@upload.test", PASSWORD);

    // Sync off: 100,000 records exist before the first enable.
    let (mut hub, url) = start(&data);
    let c = Client::login(&url).await;
    for chunk in 0..RECORDS / 1000 {
        let records: Vec<Value> = (0..1000)
            .map(|i| json!({ "first_name": format!("U {chunk}-{i}"), "last_name": "Upload" }))
            .collect();
        let (s, b) = c
            .send(
                reqwest::Method::POST,
                "/api/customers/bulk",
                json!({ "records": records }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            "/api/sync/config",
            json!({ "credentials": { "dbUrl": db.url }, "batchSize": 500 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = c
        .send(reqwest::Method::POST, "/api/sync/enable", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (done, total, st) = c.progress().await;
    assert!(
        total >= RECORDS as i64,
        "every existing record is in the upload: {st}"
    );
    assert!(done < total, "{st}");

    // Watch the progress; kill the hub half-way.
    let mut seen = vec![done];
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (done, t, st) = c.progress().await;
        assert_eq!(t, total, "{st}");
        assert!(
            done >= *seen.last().unwrap_or(&0),
            "progress went back: {seen:?} then {done}"
        );
        seen.push(done);
        if done >= total / 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upload stalled at {done}/{total}: {st}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reap");
    let before_restart = *seen.last().unwrap_or(&0);

    // Restarted: sync is still on, the upload resumes, progress keeps counting.
    let (mut hub, url) = start(&data);
    let c = Client::login(&url).await;
    let (done, t, st) = c.progress().await;
    assert_eq!(t, total, "{st}");
    assert!(done >= before_restart, "{done} < {before_restart}: {st}");
    assert_eq!(st["syncEnabled"], true, "{st}");
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let (done, _, st) = c.progress().await;
        assert!(
            done >= *seen.last().unwrap_or(&0),
            "progress went back: {done}"
        );
        seen.push(done);
        if done == total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upload stalled at {done}/{total}: {st}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, _, st) = c.progress().await;
    assert_eq!(st["queue"]["failed"], 0, "{st}");
    assert_eq!(st["initialUpload"]["state"], "done", "{st}");
    hub.kill().expect("stop");
    hub.wait().expect("reap");
    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Upload'"
        )
        .await,
        RECORDS as i64,
        "every record present once (progress seen: {} samples)",
        seen.len()
    );
    db.drop_db().await;
}

/// A hub stopped while the first enable was still queuing what exists (its
/// state as the crash left it: writes already wait for the cloud, the upload
/// marked "queuing", sync not yet on) finishes the queuing at the next start:
/// the status shows the whole upload queued, sync stays off as the enable
/// never answered, and enabling again sends everything once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_enable_stopped_while_queuing_finishes_at_the_next_start() {
    let db = fresh_db("sync_queuing").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    crate::binary::init(&data, "Queuing Shop", "owner@upload.test", PASSWORD);
    let (mut hub, url) = start(&data);
    let c = Client::login(&url).await;
    let records: Vec<Value> = (0..1000)
        .map(|i| json!({ "first_name": format!("Q {i}"), "last_name": "Queuing" }))
        .collect();
    let (s, b) = c
        .send(
            reqwest::Method::POST,
            "/api/customers/bulk",
            json!({ "records": records }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = c
        .send(
            reqwest::Method::PUT,
            "/api/sync/config",
            json!({ "credentials": { "dbUrl": db.url } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reap");
    {
        let conn = rusqlite::Connection::open(data.join(collisionos::store::DB_FILE))
            .expect("open the hub's database");
        conn.execute_batch(
            "INSERT INTO sync_state (key, value)
               SELECT 'log_cursor', CAST(max(seq) AS TEXT) FROM change_log;
             INSERT INTO sync_state (key, value)
               SELECT 'shop_id', id FROM shops;
             INSERT INTO sync_state (key, value) VALUES ('initial_upload', 'queuing');",
        )
        .expect("the state a crash in the first enable leaves");
    }

    let (mut hub, url) = start(&data);
    let c = Client::login(&url).await;
    let (done, total, st) = c.progress().await;
    assert_eq!(st["syncEnabled"], false, "{st}");
    assert_eq!(st["initialUpload"]["state"], "queued", "{st}");
    assert!(total >= 1000, "every existing record is queued: {st}");
    assert_eq!(done, 0, "{st}");
    let (s, b) = c
        .send(reqwest::Method::POST, "/api/sync/enable", json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (done, t, st) = c.progress().await;
        assert_eq!(t, total, "{st}");
        if st["initialUpload"]["state"] == "done" {
            assert_eq!(done, total, "{st}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the upload stalled at {done}/{total}: {st}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hub.kill().expect("stop");
    hub.wait().expect("reap");
    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Queuing'"
        )
        .await,
        1000
    );
    db.drop_db().await;
}
