//! `collisionos backup` and `collisionos restore` on the real binary: a copy
//! taken while clients write holds every write acknowledged before it began;
//! a mistyped data dir is an error that creates nothing; restore refuses while
//! a hub runs, keeps the replaced database aside, and gives the hub a new actor.

use crate::cli::{run, text};
use crate::crash::start_hub;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "backup test password";

fn init(data: &Path) {
    let ok = run(
        &[
            "init",
            "--shop-name",
            "Backup Body",
            "--owner-email",
            "b@b.test",
        ],
        data,
        Some(PASSWORD),
    );
    assert!(ok.status.success(), "{}", text(&ok));
    crate::binary::queue_writes(data);
}

async fn login(http: &reqwest::Client, url: &str) -> String {
    crate::binary::login(http, url, "b@b.test", PASSWORD).await
}

async fn create(http: &reqwest::Client, url: &str, token: &str, name: String) -> Option<String> {
    let res = http
        .post(format!("{url}/api/customers"))
        .bearer_auth(token)
        .json(&json!({"first_name": "Backed", "last_name": name}))
        .send()
        .await
        .ok()?;
    if res.status() != 201 {
        return None;
    }
    let rec: Value = res.json().await.ok()?;
    Some(rec["id"].as_str()?.to_string())
}

/// A hub process that is killed when the test ends, whatever way it ends.
struct Running(std::process::Child);

impl Running {
    fn stop(&mut self) {
        self.0.kill().expect("stop the hub");
        self.0.wait().expect("reap the hub");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_ten_clients_write_then_restore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init(&data);
    let (hub, url) = start_hub(&data);
    let mut hub = Running(hub);
    let http = reqwest::Client::new();
    let token = login(&http, &url).await;

    // Ten clients write until told to stop; each acknowledged id is remembered
    // with whether it was acknowledged before the backup began.
    let acked: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let began = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (first_tx, mut first_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut clients = Vec::new();
    for c in 0..10 {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        let (acked, began, stop, first_tx) =
            (acked.clone(), began.clone(), stop.clone(), first_tx.clone());
        clients.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(id) = create(&http, &url, &token, format!("c{c} #{i}")).await {
                    // Acknowledged before the backup began: seen before `began` was set.
                    let before = !began.load(std::sync::atomic::Ordering::SeqCst);
                    acked.lock().expect("lock").push((id, before));
                    let _ = first_tx.send(());
                }
                i += 1;
            }
        }));
    }
    // Every client has had writes acknowledged before the backup starts.
    for _ in 0..50 {
        first_rx.recv().await.expect("a write");
    }
    began.store(true, std::sync::atomic::Ordering::SeqCst);
    let copy = dir.path().join("copy.db");
    let out = tokio::task::spawn_blocking({
        let (copy, data) = (copy.clone(), data.clone());
        move || run(&["backup", copy.to_str().expect("utf-8")], &data, None)
    })
    .await
    .expect("join");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for c in clients {
        c.await.expect("client");
    }
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("integrity ok"), "{}", text(&out));
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));

    let db =
        rusqlite::Connection::open_with_flags(&copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("the copy opens");
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let mut before = 0;
    for (id, acked_before) in &acked {
        let n: i64 = db
            .query_row("SELECT count(*) FROM customers WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .expect("count");
        if *acked_before {
            before += 1;
            assert_eq!(
                n, 1,
                "customer {id}, acknowledged before the backup, is in the copy"
            );
        }
    }
    assert!(before >= 50);
    crate::invariants::assert_holds(&db, true);
    let copied: i64 = db
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    let old_actor: String = db
        .query_row("SELECT value FROM meta WHERE key = 'hub_actor'", [], |r| {
            r.get(0)
        })
        .expect("actor");
    drop(db);
    assert_eq!(mode(&copy), 0o600, "the copy holds password hashes");

    // Restore refuses while the hub runs, and changes nothing.
    let out = run(&["restore", copy.to_str().expect("utf-8")], &data, None);
    assert!(!out.status.success());
    assert!(text(&out).contains("a hub is running"), "{}", text(&out));

    hub.stop();
    let out = run(&["restore", copy.to_str().expect("utf-8")], &data, None);
    assert!(out.status.success(), "{}", text(&out));
    let aside: Vec<_> = std::fs::read_dir(&data)
        .expect("read data dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("before-restore"))
        .collect();
    assert_eq!(aside.len(), 1, "the replaced database is kept aside");
    let kept = rusqlite::Connection::open(aside[0].path()).expect("the aside copy opens");
    let kept_rows: i64 = kept
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(
        kept_rows as usize,
        acked.len(),
        "the aside copy holds every write"
    );
    drop(kept);

    // The restored hub has the copy's records and a new actor, and its next
    // change is signed by that actor.
    let (hub, url) = start_hub(&data);
    let mut hub = Running(hub);
    let token = login(&http, &url).await;
    let page: Value = http
        .get(format!("{url}/api/customers?limit=500"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("body");
    assert!(page["data"].as_array().expect("data").len() as i64 >= copied.min(500));
    let id = create(&http, &url, &token, "after restore".into())
        .await
        .expect("a write after restore");
    hub.stop();
    let db = rusqlite::Connection::open(data.join("collisionos.db")).expect("open");
    let new_actor: String = db
        .query_row("SELECT value FROM meta WHERE key = 'hub_actor'", [], |r| {
            r.get(0)
        })
        .expect("actor");
    assert_ne!(
        new_actor, old_actor,
        "a restored hub signs with a new actor"
    );
    let signed = db
        .query_row(
            "SELECT bytes FROM change_log WHERE record_id = ?1",
            [&id],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .map(|b| {
            collisionos::crdt::chunk::change_ids(&b)
                .expect("a change")
                .actor
        })
        .expect("the change of the write after restore");
    assert_eq!(signed, new_actor);
    let total: i64 = db
        .query_row("SELECT count(*) FROM customers", [], |r| r.get(0))
        .expect("count");
    assert_eq!(total, copied + 1);
    crate::invariants::assert_holds(&db, true);
}

#[test]
fn backup_of_a_missing_data_dir_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("no-such-data");
    let copy = dir.path().join("copy.db");
    let out = run(&["backup", copy.to_str().expect("utf-8")], &data, None);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("no hub database") && msg.contains("--data-dir"),
        "{msg}"
    );
    assert!(!data.exists(), "the data dir was not created");
    assert!(!copy.exists(), "no copy was written");
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert!(left.is_empty(), "nothing at all was written: {left:?}");
}

#[test]
fn backup_into_a_folder_that_does_not_exist_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init(&data);
    let copy = dir.path().join("no-such-folder").join("copy.db");
    let out = run(&["backup", copy.to_str().expect("utf-8")], &data, None);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("no-such-folder does not exist") && !msg.contains("internal"),
        "{msg}"
    );
}

#[test]
fn restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    init(&data);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"this is not a database").expect("write");
    let before = std::fs::read(data.join("collisionos.db")).expect("read");
    let out = run(&["restore", junk.to_str().expect("utf-8")], &data, None);
    assert!(!out.status.success());
    assert!(text(&out).contains("junk.db"), "{}", text(&out));
    assert_eq!(
        std::fs::read(data.join("collisionos.db")).expect("read"),
        before
    );
}
