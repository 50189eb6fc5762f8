//! The store's guards: business numbers that skip what is taken, a reader pool
//! that cannot run dry, a shop that keeps an active owner, ids of another shop,
//! private files, the durability settings, and the writer's group bound.

use crate::common::*;
use collisionos::domain::catalog::TABLES;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{Role, TableId};
use collisionos::store::{Store, StoreError, WriteOp, WriteRequest, DB_FILE};
use reqwest::StatusCode;
use serde_json::json;

fn number_of(rec: &serde_json::Value, column: &str) -> String {
    rec[column]
        .as_str()
        .unwrap_or_else(|| panic!("no {column} in {rec}"))
        .to_string()
}

/// An import of a shop's existing customer numbers, in the hub's own format and
/// ahead of the counter, never blocks the auto-numbered creates after it.
#[tokio::test]
async fn auto_numbers_skip_an_imported_block() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let body = |n: Option<String>| {
        let mut b = json!({ "first_name": "Imported", "last_name": "Customer" });
        if let Some(n) = n {
            b["customer_number"] = json!(n);
        }
        b
    };
    let first = hub.create("customers", &token, &body(None)).await;
    let second = hub.create("customers", &token, &body(None)).await;
    assert_eq!(number_of(&first, "customer_number"), "CUST-00001");
    assert_eq!(number_of(&second, "customer_number"), "CUST-00002");
    // The shop's old numbers, CUST-00003 to CUST-00012, imported in one bulk.
    let imported: Vec<_> = (3..=12)
        .map(|i| body(Some(format!("CUST-{i:05}"))))
        .collect();
    let (status, res) = hub
        .post(
            "/api/customers/bulk",
            &token,
            &json!({ "records": imported }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{res}");
    // And one set by a client far ahead of the counter.
    hub.create("customers", &token, &body(Some("CUST-00014".into())))
        .await;
    let mut next = Vec::new();
    for _ in 0..3 {
        let rec = hub.create("customers", &token, &body(None)).await;
        next.push(number_of(&rec, "customer_number"));
    }
    assert_eq!(next, ["CUST-00013", "CUST-00015", "CUST-00016"]);
}

/// The same for every numbered table: a number taken ahead of the counter is
/// skipped, not answered with 409 for ever after.
#[tokio::test]
async fn every_numbered_table_skips_a_taken_number() {
    let hub = TestHub::spawn().await;
    let refs = hub.fixtures(&hub.owner, &hub.shop_id).await;
    let token = hub.owner.token.clone();
    let mut seen = 0;
    for t in TABLES {
        let Some(n) = t.numbering else { continue };
        seen += 1;
        let fresh = || {
            let mut b = valid_body(t.name, &refs);
            if let Some(o) = b.as_object_mut() {
                o.remove(n.column);
            }
            b
        };
        let auto = hub.create(t.name, &token, &fresh()).await;
        let have = number_of(&auto, n.column);
        let k: u32 = have[n.prefix.len()..].parse().expect("a number");
        let mut ahead = fresh();
        ahead[n.column] = json!(format!("{}{:05}", n.prefix, k + 1));
        hub.create(t.name, &token, &ahead).await;
        let after = hub.create(t.name, &token, &fresh()).await;
        assert_eq!(
            number_of(&after, n.column),
            format!("{}{:05}", n.prefix, k + 2),
            "{}",
            t.name
        );
    }
    assert_eq!(seen, 6, "six numbered tables");
}

fn owner_write(store_shop: &str, user: &str, table: TableId, op: WriteOp) -> WriteRequest {
    WriteRequest {
        who: Principal {
            shop_id: collisionos::domain::ShopId::new(store_shop),
            user_id: Some(user.to_string()),
            role: Role::Owner,
        },
        table,
        op,
        skip_sync: false,
        password_hash: None,
    }
}

/// Two owners who deactivate (or delete) each other at the same moment both
/// pass the API's checks; the second write must still be refused, or the shop
/// has no active owner left.
#[tokio::test]
async fn a_shop_keeps_its_last_active_owner() {
    let hub = TestHub::spawn().await;
    let second = hub.user("owner").await;
    let store = &hub.state.store;
    let users = TableId::USERS;
    let deactivate = |by: &str, whom: &str| {
        let fields = parse_object(users.def(), &json!({ "active": false }), Mode::Update)
            .expect("fields")
            .1;
        owner_write(
            &hub.shop_id,
            by,
            users,
            WriteOp::Update {
                id: whom.to_string(),
                fields,
                base: None,
            },
        )
    };
    store
        .write(deactivate(&hub.owner.id, &second.id))
        .await
        .expect("one owner deactivates the other");
    let refused = store.write(deactivate(&second.id, &hub.owner.id)).await;
    assert!(
        matches!(&refused, Err(StoreError::Forbidden(m)) if m.contains("active owner")),
        "{refused:?}"
    );
    let delete = owner_write(
        &hub.shop_id,
        &second.id,
        users,
        WriteOp::Delete {
            id: hub.owner.id.clone(),
        },
    );
    let refused = store.write(delete).await;
    assert!(
        matches!(&refused, Err(StoreError::Forbidden(_))),
        "{refused:?}"
    );
    let active: i64 = hub
        .db()
        .query_row(
            "SELECT count(*) FROM users WHERE role = 'owner' AND active = 1",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(active, 1);
    // The refused writes left nothing behind.
    crate::invariants::assert_holds(&hub.db(), true);
}

/// Creating a record with an id another shop uses reveals nothing about it: the
/// answer is the one for an id of this shop's own deleted record.
#[tokio::test]
async fn another_shops_id_is_refused_without_saying_whose() {
    let hub = TestHub::spawn().await;
    let other = hub.second_shop("Shop B Collision").await;
    let theirs = hub
        .create(
            "customers",
            &other.owner.token,
            &json!({ "first_name": "B", "last_name": "Customer" }),
        )
        .await;
    let theirs = theirs["id"].as_str().expect("id").to_string();
    let token = hub.owner.token.clone();
    let (status, body) = hub
        .post(
            "/api/customers",
            &token,
            &json!({ "id": theirs, "first_name": "A", "last_name": "Customer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let msg_other = body["error"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(!msg_other.contains("already used"), "{msg_other}");

    let mine = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Gone", "last_name": "Soon" }),
        )
        .await;
    let mine = mine["id"].as_str().expect("id").to_string();
    let (status, _) = hub.delete(&api_id("customers", &mine), &token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = hub
        .post(
            "/api/customers",
            &token,
            &json!({ "id": mine, "first_name": "A", "last_name": "Again" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let msg_deleted = body["error"]["message"].as_str().expect("message");
    assert_eq!(
        msg_other.replace(&theirs, "ID"),
        msg_deleted.replace(&mine, "ID")
    );
    // The other shop's record is untouched.
    let (status, rec) = hub
        .get(&api_id("customers", &theirs), &other.owner.token)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rec["first_name"], "B");
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    {
        let store = tokio::task::spawn_blocking({
            let data = data.clone();
            move || Store::open(&data)
        })
        .await
        .expect("join")
        .expect("open");
        assert_eq!(mode(&data), 0o700, "data dir");
        for f in [
            DB_FILE.to_string(),
            format!("{DB_FILE}-wal"),
            format!("{DB_FILE}-shm"),
        ] {
            assert_eq!(mode(&data.join(&f)), 0o600, "{f}");
        }
        drop(store);
    }
    // A data dir left open to others by an older version is tightened.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(data.join(DB_FILE), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let store = tokio::task::spawn_blocking({
        let data = data.clone();
        move || Store::open(&data)
    })
    .await
    .expect("join")
    .expect("reopen");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(DB_FILE)), 0o600);
    // And the writer's connection is durable as configured, read back from SQLite.
    let d = store.durability();
    assert_eq!(
        (
            d.journal_mode.as_str(),
            d.synchronous.as_str(),
            d.foreign_keys
        ),
        ("wal", "full", true)
    );
}

/// A read whose caller stops waiting (the client went away), and a read that
/// panics, both give their connection back: the next reads all find one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_pool_cannot_run_dry() {
    let hub = TestHub::spawn().await;
    let store = hub.state.store.clone();

    // A read that blocks until told, whose caller gives up waiting.
    let (release_stuck, stuck_rx) = std::sync::mpsc::channel::<()>();
    let (stuck_started, started_rx) = tokio::sync::oneshot::channel::<()>();
    let stuck = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .read(move |_conn| {
                    let _ = stuck_started.send(());
                    let _ = stuck_rx.recv();
                    Ok(())
                })
                .await
        })
    };
    started_rx.await.expect("the stuck read started");
    stuck.abort();
    let _ = stuck.await;
    // The connection is still in use, so its permit must be too.
    assert_eq!(
        store.reader_pool(),
        (3, 3),
        "(permits free, connections idle)"
    );

    // Four reads, each holding its connection until released: three find one at
    // once; the fourth must wait for the stuck read, not fail.
    #[derive(Debug)]
    enum Event {
        Started,
        Failed(String),
    }
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let mut releases = Vec::new();
    let mut reads = Vec::new();
    for _ in 0..4 {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        releases.push(release);
        let events_tx = events_tx.clone();
        let store = store.clone();
        reads.push(tokio::spawn(async move {
            let started = events_tx.clone();
            let res = store
                .read(move |conn| {
                    let _ = started.send(Event::Started);
                    let _ = wait.recv();
                    let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
                    Ok(n)
                })
                .await;
            if let Err(e) = &res {
                let _ = events_tx.send(Event::Failed(e.to_string()));
            }
            res
        }));
    }
    for _ in 0..3 {
        match events.recv().await.expect("an event") {
            Event::Started => {}
            Event::Failed(e) => panic!("a read failed while others held connections: {e}"),
        }
    }
    let _ = release_stuck.send(());
    match events.recv().await.expect("an event") {
        Event::Started => {}
        Event::Failed(e) => panic!("the fourth read failed instead of waiting: {e}"),
    }
    for r in &releases {
        let _ = r.send(());
    }
    for r in reads {
        let n = r.await.expect("join").expect("every read succeeds");
        assert_eq!(n, 1);
    }
    assert_eq!(store.reader_pool(), (4, 4));

    // A panicking read answers an error and loses no connection.
    let panicked = store
        .read(|_conn| -> Result<(), StoreError> { panic!("a bug in a read") })
        .await;
    assert!(
        matches!(panicked, Err(StoreError::Internal(_))),
        "{panicked:?}"
    );
    assert_eq!(
        store.reader_pool(),
        (4, 4),
        "the panicking read gave its connection back"
    );
    let all = futures_join(
        (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                        .await
                })
            })
            .collect(),
    )
    .await;
    assert!(all.iter().all(|r| matches!(r, Ok(1))), "{all:?}");
}

async fn futures_join<T: std::fmt::Debug>(
    handles: Vec<tokio::task::JoinHandle<Result<T, StoreError>>>,
) -> Vec<Result<T, StoreError>> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("join"));
    }
    out
}
