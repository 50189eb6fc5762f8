//! SIGTERM under load, on the real binary: the hub exits within its shutdown
//! timeout, every acknowledged write is there afterwards, and the WAL was
//! checkpointed into the database (the `-wal` file is empty or gone).

use crate::crash::start_hub;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_writes_and_checkpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = crate::cli::run(
        &[
            "init",
            "--shop-name",
            "Term Body",
            "--owner-email",
            "t@t.test",
        ],
        &data,
        Some("shutdown test password"),
    );
    assert!(init.status.success(), "{}", crate::cli::text(&init));
    crate::binary::queue_writes(&data);
    let (mut hub, url) = start_hub(&data);
    let http = reqwest::Client::new();
    let token = crate::binary::login(&http, &url, "t@t.test", "shutdown test password").await;

    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (http, url, token, acked, ack_tx) = (
            http.clone(),
            url.clone(),
            token.clone(),
            acked.clone(),
            ack_tx.clone(),
        );
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let res = http
                    .post(format!("{url}/api/repair_orders"))
                    .bearer_auth(&token)
                    .json(&json!({"notes": format!("client {c} #{i}")}))
                    .send()
                    .await;
                let Ok(res) = res else { return };
                if res.status() != 201 {
                    return;
                }
                let Ok(rec) = res.json::<Value>().await else {
                    return;
                };
                acked
                    .lock()
                    .expect("lock")
                    .push(rec["id"].as_str().expect("id").to_string());
                let _ = ack_tx.send(());
            }
        }));
    }
    drop(ack_tx);
    for _ in 0..200 {
        ack_rx.recv().await.expect("writes are acknowledged");
    }
    let term = std::process::Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    // The default shutdown timeout is 10 s; the hub must be gone well within
    // it plus a margin for a loaded machine.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = hub.wait();
        let _ = done_tx.send(());
        status
    });
    let in_time =
        tokio::task::spawn_blocking(move || done_rx.recv_timeout(Duration::from_secs(15)))
            .await
            .expect("join");
    assert!(
        in_time.is_ok(),
        "the hub did not exit within its shutdown timeout"
    );
    let status = waiter.join().expect("waiter").expect("wait");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    for c in clients {
        c.await.expect("client");
    }
    let wal = data.join("collisionos.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was checkpointed before exit");

    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(acked.len() >= 200);
    let db = rusqlite::Connection::open(data.join("collisionos.db")).expect("open");
    for id in &acked {
        let n: i64 = db
            .query_row(
                "SELECT count(*) FROM repair_orders WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(n, 1, "acknowledged write {id} is there after the stop");
    }
    crate::invariants::assert_holds(&db, true);
}
