//! Kill -9 under concurrent writes: every acknowledged write survives, with its
//! Automerge change, change-log entry and sync-queue entry.

use automerge::Change;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

pub const BIN: &str = env!("CARGO_BIN_EXE_collisionos");
const PASSWORD: &str = "crash-test-password";

/// Starts `collisionos serve` on a free port and returns it with its base URL,
/// read from the line the hub prints once it listens.
pub fn start_hub(data: &Path) -> (Child, String) {
    crate::binary::start(crate::binary::serve_command(data))
}

async fn login(http: &reqwest::Client, url: &str) -> String {
    crate::binary::login(http, url, "owner@crash.test", PASSWORD).await
}

#[derive(Default)]
struct Acked {
    /// Repair orders whose create was answered 201.
    created: Vec<String>,
    /// Repair orders whose patch (notes = "patched") was answered 200.
    patched: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = Command::new(BIN)
        .args([
            "init",
            "--shop-name",
            "Crash Body Shop",
            "--owner-email",
            "owner@crash.test",
        ])
        .arg("--data-dir")
        .arg(&data)
        .env("COLLISIONOS_OWNER_PASSWORD", PASSWORD)
        .output()
        .expect("run init");
    assert!(init.status.success(), "init failed: {init:?}");
    crate::binary::queue_writes(&data);

    let (mut hub, url) = start_hub(&data);
    let http = reqwest::Client::new();
    // The kill below cannot tell synchronous=FULL from OFF (the OS page cache
    // survives a killed process): the running binary reports what SQLite has.
    let health: Value = http
        .get(format!("{url}/api/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("health body");
    assert_eq!(health["durability"]["journal_mode"], "wal", "{health}");
    assert_eq!(health["durability"]["synchronous"], "full", "{health}");
    let token = login(&http, &url).await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let progress = Arc::new(tokio::sync::Notify::new());
    let target = 400;

    let mut tasks = Vec::new();
    for client in 0..16 {
        let (http, url, token, acked) = (http.clone(), url.clone(), token.clone(), acked.clone());
        let progress = progress.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let res = http
                    .post(format!("{url}/api/repair_orders"))
                    .bearer_auth(&token)
                    .json(&json!({"priority": "high", "notes": format!("client {client} #{i}")}))
                    .send()
                    .await;
                let Ok(res) = res else { return };
                if res.status() != StatusCode::CREATED {
                    return;
                }
                let Ok(body) = res.json::<Value>().await else {
                    return;
                };
                let id = body["id"].as_str().expect("id").to_string();
                acked.lock().expect("lock").created.push(id.clone());
                progress.notify_one();
                if i % 2 == 0 {
                    let res = http
                        .patch(format!("{url}/api/repair_orders/{id}"))
                        .bearer_auth(&token)
                        .json(&json!({"notes": "patched", "stage": "paint_booth"}))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == StatusCode::OK => {
                            acked.lock().expect("lock").patched.push(id)
                        }
                        _ => return,
                    }
                }
            }
        }));
    }
    // Kill the hub once enough writes are acknowledged, while the clients are
    // still writing as fast as they can.
    loop {
        let n = acked.lock().expect("lock").created.len();
        if n >= target {
            break;
        }
        if tasks.iter().all(|t| t.is_finished()) {
            panic!("the clients stopped before the kill, with {n} acknowledged creates");
        }
        // Woken by the next acknowledgement; a stalled run fails instead of hanging.
        tokio::time::timeout(std::time::Duration::from_secs(60), progress.notified())
            .await
            .expect("writes stalled before the kill");
    }
    hub.kill().expect("SIGKILL the hub");
    hub.wait().expect("reap the hub");
    for t in tasks {
        t.await.expect("client task");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(acked.created.len() >= target);

    // Restart on the same data dir: every acknowledged write is there.
    let (mut hub, url) = start_hub(&data);
    let token = login(&http, &url).await;
    for id in &acked.created {
        let res = http
            .get(format!("{url}/api/repair_orders/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "acknowledged create {id} lost"
        );
        let body: Value = res.json().await.expect("body");
        if acked.patched.contains(id) {
            assert_eq!(body["notes"], "patched", "acknowledged patch of {id} lost");
            assert_eq!(body["stage"], "paint_booth");
        }
    }
    hub.kill().expect("stop the hub");
    hub.wait().expect("reap");

    // And each has its Automerge change, change-log entry and sync-queue entry.
    let db = rusqlite::Connection::open_with_flags(
        data.join("collisionos.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open db");
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
    // Every record in the database, not only the acknowledged ones (a write
    // cut off by the kill either landed whole or not at all).
    crate::invariants::assert_holds(&db, true);
    let mut changes = db
        .prepare(
            "SELECT op, bytes FROM change_log
             WHERE table_name = 'repair_orders' AND record_id = ?1 ORDER BY seq",
        )
        .expect("prepare");
    for id in &acked.created {
        let rows: Vec<(String, Vec<u8>)> = changes
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let want = if acked.patched.contains(id) { 2 } else { 1 };
        assert!(
            rows.len() >= want,
            "{id}: {} change-log entries",
            rows.len()
        );
        assert_eq!(rows[0].0, "create");
        let mut last = String::new();
        for (_, bytes) in &rows {
            let change = Change::from_bytes(bytes.clone()).expect("change bytes decode");
            last = change.hash().to_string();
        }
        let doc = collisionos::store::docs::stored(&db, "repair_orders", id)
            .expect("read the document")
            .expect("document");
        let mut doc = automerge::AutoCommit::load(&doc.bytes).expect("document loads");
        assert!(
            doc.get_heads().iter().any(|h| h.to_string() == last),
            "{id}: the saved document includes its last logged change"
        );
        // Every change of it waits for the cloud: past the change log's cursor.
        let waiting: i64 = db
            .query_row(
                "SELECT count(*) FROM change_log WHERE table_name = 'repair_orders'
                 AND record_id = ?1 AND seq > (SELECT CAST(value AS INTEGER) FROM sync_state
                                                WHERE key = 'log_cursor')",
                [id],
                |r| r.get(0),
            )
            .expect("the log past the cursor");
        assert_eq!(
            waiting as usize,
            rows.len(),
            "{id}: every change waits for the cloud"
        );
    }
}
