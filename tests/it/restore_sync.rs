//! A restored hub keeps syncing without a duplicate change: after a restore
//! from a backup older than what the cloud already has, the hub's next change
//! is signed by its new actor, reaches the cloud, and every change the cloud
//! holds for the record loads into one Automerge document (no actor and
//! sequence number used twice), the lost edit and the new one side by side.

use crate::cli::{run, text};
use crate::pg::fresh_db;
use crate::sync_support::cloud_count;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Stdio};

const PASSWORD: &str = "restore sync password";

struct Hub(Child, String);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data: &Path, db_url: &str) -> Hub {
    let mut cmd = crate::binary::serve_command(data);
    cmd.env("SYNC_ENABLED", "true")
        .env("SUPABASE_DB_URL", db_url)
        .stderr(Stdio::null());
    let (child, url) = crate::binary::start(cmd);
    Hub(child, url)
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> Value {
    let mut req = http.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("answer");
    assert!(res.status().is_success(), "{}", res.status());
    res.json().await.expect("json")
}

/// "Sync now" until nothing is pending; nothing may fail.
async fn sync_all(http: &reqwest::Client, url: &str, token: &str) {
    for _ in 0..100 {
        call(
            http,
            reqwest::Method::POST,
            format!("{url}/api/sync/trigger"),
            Some(token),
            None,
        )
        .await;
        let st = call(
            http,
            reqwest::Method::GET,
            format!("{url}/api/sync/status"),
            Some(token),
            None,
        )
        .await;
        assert_eq!(st["queue"]["failed"], 0, "{st}");
        if st["pendingOperations"] == 0 {
            return;
        }
    }
    panic!("the queue did not drain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_after_restore_syncs_and_merges_without_a_duplicate_change() {
    let db = fresh_db("restore_sync").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = run(
        &[
            "init",
            "--shop-name",
            "Restore Body",
            "--owner-email",
            "r@r.test",
        ],
        &data,
        Some(PASSWORD),
    );
    assert!(init.status.success(), "{}", text(&init));
    let http = reqwest::Client::new();
    let login = json!({"email": "r@r.test", "password": PASSWORD});

    let hub = start(&data, &db.url);
    let token = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/auth/login", hub.1),
        None,
        Some(login.clone()),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_string();
    let rec = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/customers", hub.1),
        Some(&token),
        Some(json!({"first_name": "Restored", "last_name": "Customer"})),
    )
    .await;
    let id = rec["id"].as_str().expect("id").to_string();
    sync_all(&http, &hub.1, &token).await;
    let copy = dir.path().join("copy.db");
    let out = run(&["backup", copy.to_str().expect("utf-8")], &data, None);
    assert!(out.status.success(), "{}", text(&out));
    // An edit the backup does not have reaches the cloud, then the hub is restored.
    call(
        &http,
        reqwest::Method::PATCH,
        format!("{}/api/customers/{id}", hub.1),
        Some(&token),
        Some(json!({"notes": "after the backup"})),
    )
    .await;
    sync_all(&http, &hub.1, &token).await;
    drop(hub);
    let out = run(&["restore", copy.to_str().expect("utf-8")], &data, None);
    assert!(out.status.success(), "{}", text(&out));

    let hub = start(&data, &db.url);
    let token = call(
        &http,
        reqwest::Method::POST,
        format!("{}/api/auth/login", hub.1),
        None,
        Some(login),
    )
    .await["token"]
        .as_str()
        .expect("token")
        .to_string();
    call(
        &http,
        reqwest::Method::PATCH,
        format!("{}/api/customers/{id}", hub.1),
        Some(&token),
        Some(json!({"notes": "after the restore"})),
    )
    .await;
    sync_all(&http, &hub.1, &token).await;
    drop(hub);

    // Every change the cloud holds for the record: distinct (actor, seq) pairs,
    // and all of them load into one document.
    let rows = db
        .client
        .query(
            "SELECT bytes FROM public.crdt_changes WHERE record_id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("cloud changes");
    assert_eq!(
        rows.len(),
        3,
        "create, the edit after the backup, the edit after the restore"
    );
    let mut seen = HashSet::new();
    let mut doc = automerge::AutoCommit::new();
    for row in rows {
        let bytes: Vec<u8> = row.get(0);
        let change = automerge::Change::from_bytes(bytes).expect("change bytes");
        assert!(
            seen.insert((change.actor_id().to_hex_string(), change.seq())),
            "an actor and sequence number used twice: {}",
            change.actor_id()
        );
        doc.apply_changes([change]).expect("the change applies");
    }
    let notes: Vec<String> = automerge::ReadDoc::get_all(&doc, automerge::ROOT, "notes")
        .expect("notes")
        .into_iter()
        .map(|(v, _)| v.to_string())
        .collect();
    assert_eq!(notes.len(), 2, "both edits kept, as a conflict: {notes:?}");
    assert!(cloud_count(&db, "SELECT count(*) FROM public.customers").await >= 1);
    db.drop_db().await;
}
