//! The queue survives SIGKILL: 1,000 writes made while the cloud is unreachable
//! are still queued after the hub is killed; the restarted hub starts pushing
//! them, is killed again mid-way, and the third run delivers the rest. Every
//! record arrives, once.

use crate::pg::fresh_db;
use crate::sync_support::cloud_count;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

fn start(data: &Path, db_url: &str) -> (Child, String) {
    let mut cmd = crate::binary::serve_command(data);
    cmd.env("SYNC_ENABLED", "true")
        .env("SYNC_BATCH_SIZE", "25")
        .env("SUPABASE_DB_URL", db_url)
        .stderr(Stdio::null());
    crate::binary::start(cmd)
}

async fn login(http: &reqwest::Client, url: &str) -> String {
    crate::binary::login(http, url, "owner@restart.test", PASSWORD).await
}

async fn status(http: &reqwest::Client, url: &str, token: &str) -> Value {
    http.get(format!("{url}/api/sync/status"))
        .bearer_auth(token)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("status body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_entries_survive_sigkill_and_arrive_once() {
    let db = fresh_db("sync_restart").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    crate::binary::init(&data, "Restart Shop", "owner@restart.test", PASSWORD);
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let unreachable = crate::sync_support::with_port(&db.url, dead_port);
    let http = reqwest::Client::new();

    // 1. The cloud is unreachable: 1,000 writes queue up; then SIGKILL.
    let (mut hub, url) = start(&data, &unreachable);
    let token = login(&http, &url).await;
    for chunk in 0..4 {
        let records: Vec<Value> = (0..250)
            .map(|i| json!({ "first_name": format!("R {chunk}-{i}"), "last_name": "Restart" }))
            .collect();
        let res = http
            .post(format!("{url}/api/customers/bulk"))
            .bearer_auth(&token)
            .json(&json!({ "records": records }))
            .send()
            .await
            .expect("bulk create");
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let st = status(&http, &url, &token).await;
    assert!(
        st["pendingOperations"].as_i64().unwrap_or(0) >= 1000,
        "{st}"
    );
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reap");

    // 2. Restarted with the cloud back: it starts pushing; killed mid-way.
    let (mut hub, url) = start(&data, &db.url);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = cloud_count(&db, "SELECT count(*) FROM public.customers").await;
        if n > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nothing arrived after the restart"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hub.kill().expect("SIGKILL");
    hub.wait().expect("reap");
    let _ = url;
    let partial = cloud_count(&db, "SELECT count(*) FROM public.customers").await;

    // 3. Third run: "sync now" until nothing is pending.
    let (mut hub, url) = start(&data, &db.url);
    let token = login(&http, &url).await;
    for _ in 0..100 {
        let res = http
            .post(format!("{url}/api/sync/trigger"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("trigger");
        assert_eq!(res.status(), StatusCode::OK);
        if status(&http, &url, &token).await["pendingOperations"] == 0 {
            break;
        }
    }
    let st = status(&http, &url, &token).await;
    assert_eq!(st["pendingOperations"], 0, "{st}");
    assert_eq!(st["queue"]["failed"], 0, "{st}");
    hub.kill().expect("stop");
    hub.wait().expect("reap");

    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Restart'"
        )
        .await,
        1000,
        "all 1,000 arrived, once each (killed mid-way with {partial} in the cloud)"
    );
    let hub_changes: i64 = rusqlite::Connection::open_with_flags(
        data.join(collisionos::store::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open")
    .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))
    .expect("count");
    assert_eq!(
        cloud_count(&db, "SELECT count(*) FROM public.crdt_changes").await,
        hub_changes,
        "every change once"
    );
    db.drop_db().await;
}

/// A setting stored by an older hub that this one refuses (its checks grew:
/// here a first retry with no delay) is left out alone at start, with a
/// warning naming it; the others still apply, sync stays on, the records
/// still arrive, and the owner's next change of the settings is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_setting_refused_after_an_upgrade_is_ignored_alone() {
    let db = fresh_db("sync_upgrade").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    crate::binary::init(&data, "Upgrade Shop", "owner@restart.test", PASSWORD);
    rusqlite::Connection::open(data.join(collisionos::store::DB_FILE))
        .expect("open the hub's database")
        .execute(
            "UPDATE shops SET settings = json_set(settings, '$.sync',
               json('{\"enabled\": true, \"batchSize\": 7, \"retryDelayMs\": 0}'))",
            [],
        )
        .expect("settings as an older hub stored them");
    let log = dir.path().join("stderr.log");
    let mut cmd = crate::binary::serve_command(&data);
    cmd.env("SUPABASE_DB_URL", &db.url)
        .stderr(std::fs::File::create(&log).expect("log file"));
    let (mut hub, url) = crate::binary::start(cmd);
    let http = reqwest::Client::new();
    let token = login(&http, &url).await;
    let st = status(&http, &url, &token).await;
    assert_eq!(st["syncEnabled"], true, "{st}");
    let cfg: Value = http
        .get(format!("{url}/api/sync/config"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("config")
        .json()
        .await
        .expect("config body");
    assert_eq!(cfg["batchSize"], 7, "{cfg}");
    assert_eq!(cfg["retryDelayMs"], 5000, "the default instead: {cfg}");
    // The owner's next change is not refused for the setting they did not send.
    let res = http
        .put(format!("{url}/api/sync/config"))
        .bearer_auth(&token)
        .json(&json!({ "batchSize": 8 }))
        .send()
        .await
        .expect("config");
    assert_eq!(res.status(), StatusCode::OK);
    let cfg: Value = res.json().await.expect("config body");
    assert_eq!(
        (cfg["batchSize"].as_i64(), cfg["retryDelayMs"].as_i64()),
        (Some(8), Some(5000))
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while cloud_count(&db, "SELECT count(*) FROM public.shops").await == 0 {
        assert!(Instant::now() < deadline, "the shop never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hub.kill().expect("stop");
    hub.wait().expect("reap");
    let logged = std::fs::read_to_string(&log).expect("read the log");
    assert!(
        logged.contains("retryDelayMs") && logged.contains("is ignored"),
        "{logged}"
    );
    db.drop_db().await;
}
