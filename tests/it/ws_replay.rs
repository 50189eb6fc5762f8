//! Retries and reconnects over real WebSockets: an operation id sent twice
//! (also across a hub restart) is applied once; a tablet reconnecting with its
//! sequence gets exactly what it missed, in order, then live changes; a
//! sequence too old (or unknown) gets `resync`.

use crate::common::*;
use crate::ws_support::*;
use collisionos::api::AppState;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::ws::Limits;
use serde_json::{json, Value};
use std::path::Path;

fn changes_of(db: &rusqlite::Connection, id: &str) -> i64 {
    db.query_row(
        "SELECT count(*) FROM change_log WHERE record_id = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("count changes")
}

#[tokio::test]
async fn the_same_op_id_sent_twice_is_applied_once() {
    let hub = TestHub::spawn().await;
    let token = hub.owner_token().to_string();
    let id = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "Ada", "last_name": "Byron" }),
        )
        .await;
    let mut t = Tablet::connect(&hub.base_url, &token, "desk-7", 0).await;
    let w = json!({ "op_id": "desk7-0001", "table": "customers", "id": id,
                    "fields": { "notes": "called back" } });
    let first = t.write_ok(w.clone()).await;
    assert_eq!(first["replayed"], false);
    let before = changes_of(&hub.db(), &id);
    let snapshot = hub.snapshot();

    // The ack was lost; the tablet sends the same operation again.
    let again = t.write_ok(w.clone()).await;
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(again["heads"], first["heads"]);
    assert_eq!(changes_of(&hub.db(), &id), before, "applied once");
    assert_eq!(
        snapshot_diff(&snapshot, &hub.snapshot()),
        Vec::<String>::new()
    );

    // Another operation id is another write.
    let other = t
        .write_ok(
            json!({ "op_id": "desk7-0002", "table": "customers", "id": id,
                          "fields": { "notes": "called twice" } }),
        )
        .await;
    assert_eq!(other["replayed"], false);
    assert_eq!(changes_of(&hub.db(), &id), before + 1);
}

/// A hub on a data dir of the test's choosing, stopped and started again.
struct OwnHub {
    base_url: String,
    _state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
}

async fn start(dir: &Path, first: bool) -> OwnHub {
    let config = Config::new(
        "127.0.0.1:0".parse().expect("an address"),
        dir.to_path_buf(),
    );
    let app = App::build(&config).await.expect("the app builds");
    if first {
        init_shop(
            app.store(),
            NewShop {
                shop_name: "Restart Collision",
                owner_email: OWNER_EMAIL,
                owner_name: OWNER_NAME,
                password: PASSWORD.to_string(),
            },
        )
        .await
        .expect("init");
    }
    let state = app.state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        app.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .expect("serves");
    });
    OwnHub {
        base_url: format!("http://{addr}"),
        _state: state,
        stop,
        served,
    }
}

impl OwnHub {
    async fn shut_down(self) {
        let _ = self.stop.send(());
        self.served.await.expect("the server task ends");
    }
}

async fn post(base_url: &str, path: &str, token: Option<&str>, body: &Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{base_url}{path}"))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("the request is answered");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("JSON")
}

#[tokio::test]
async fn an_op_id_is_remembered_across_a_hub_restart() {
    let dir = tempfile::tempdir().expect("a data dir");
    let hub = start(dir.path(), true).await;
    let login = json!({ "email": OWNER_EMAIL, "password": PASSWORD });
    let token = post(&hub.base_url, "/api/auth/login", None, &login).await["token"]
        .as_str()
        .expect("a token")
        .to_string();
    let rec = post(
        &hub.base_url,
        "/api/customers",
        Some(&token),
        &json!({ "first_name": "Grace", "last_name": "Hopper" }),
    )
    .await;
    let id = rec["id"].as_str().expect("an id").to_string();
    let w = json!({ "op_id": "bay9-0042", "table": "customers", "id": id,
                    "fields": { "notes": "before the restart" } });
    let mut t = Tablet::connect(&hub.base_url, &token, "bay-9", 0).await;
    let first = t.write_ok(w.clone()).await;
    drop(t);
    hub.shut_down().await;

    let hub = start(dir.path(), false).await;
    let db = rusqlite::Connection::open_with_flags(
        dir.path().join(collisionos::store::DB_FILE),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open the database");
    let before = changes_of(&db, &id);
    let seq = first["seq"].as_i64().expect("seq");
    let mut t = Tablet::connect(&hub.base_url, &token, "bay-9", seq).await;
    let again = t.write_ok(w).await;
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(changes_of(&db, &id), before, "not applied a second time");
    let other = t
        .write_ok(
            json!({ "op_id": "bay9-0043", "table": "customers", "id": id,
                          "fields": { "notes": "after the restart" } }),
        )
        .await;
    assert_eq!(other["replayed"], false);
    assert_eq!(changes_of(&db, &id), before + 1);
    drop(t);
    hub.shut_down().await;
}

#[tokio::test]
async fn a_reconnecting_tablet_gets_exactly_what_it_missed_in_order_then_live() {
    let hub = TestHub::spawn().await;
    let token = hub.owner_token().to_string();
    let id = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "Ann", "last_name": "Lee" }),
        )
        .await;
    let shop_b = hub.second_shop("Shop B Body").await;
    let t = Tablet::connect(&hub.base_url, &token, "board-1", 0).await;
    let had = t.seq;
    drop(t);

    // While it is away: three changes in this shop, one in another shop.
    for n in 1..=3 {
        let (s, _) = hub
            .patch(
                &api_id("customers", &id),
                &token,
                &json!({ "notes": format!("edit {n}") }),
            )
            .await;
        assert!(s.is_success());
    }
    hub.create(
        "customers",
        &shop_b.owner.token,
        &json!({ "first_name": "B", "last_name": "Shop" }),
    )
    .await;
    let missed: Vec<i64> = {
        let db = hub.db();
        let mut stmt = db
            .prepare("SELECT seq FROM change_log WHERE shop_id = ?1 AND seq > ?2 ORDER BY seq")
            .expect("prepare");
        let rows = stmt
            .query_map(rusqlite::params![hub.shop_id, had], |r| r.get(0))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("seqs")
    };
    assert_eq!(missed.len(), 3);

    let mut t = Tablet::connect(&hub.base_url, &token, "board-1", had).await;
    let replayed: Vec<i64> = t
        .changes()
        .iter()
        .map(|m| m["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(replayed, missed, "exactly the missed changes, in order");
    let notes: Vec<&Value> = t.changes().iter().map(|m| &m["changed"]).collect();
    assert!(notes.iter().all(|c| **c == json!(["notes"])), "{notes:?}");
    assert_eq!(
        t.seen.last().map(|m| m["type"].clone()),
        Some(json!("caught_up"))
    );

    // Then live.
    let (s, _) = hub
        .patch(
            &api_id("customers", &id),
            &token,
            &json!({ "notes": "live" }),
        )
        .await;
    assert!(s.is_success());
    let live = t.until(|m| m["type"] == "change").await;
    assert_eq!(live["fields"]["notes"], "live");
    assert!(live["seq"].as_i64() > missed.last().copied());
}

#[tokio::test]
async fn a_sequence_too_old_or_unknown_gets_resync() {
    let hub = TestHub::spawn().await;
    hub.state.tablets.set_limits(Limits {
        max_replay: 3,
        ..Limits::default()
    });
    let token = hub.owner_token().to_string();
    for n in 0..5 {
        hub.create(
            "customers",
            &token,
            &json!({ "first_name": format!("C{n}"), "last_name": "X" }),
        )
        .await;
    }
    let t = Tablet::connect(&hub.base_url, &token, "old-tablet", 0).await;
    let resync = t
        .seen
        .iter()
        .find(|m| m["type"] == "resync")
        .expect("a resync");
    assert_eq!(resync["reason"], "too_far_behind");
    assert!(t.changes().is_empty(), "nothing replayed: {:?}", t.seen);

    let t = Tablet::connect(&hub.base_url, &token, "odd-tablet", 1_000_000).await;
    let resync = t
        .seen
        .iter()
        .find(|m| m["type"] == "resync")
        .expect("a resync");
    assert_eq!(resync["reason"], "unknown_sequence");

    // Within the limit, a replay.
    let now = resync["seq"].as_i64().expect("the hub's sequence");
    let t = Tablet::connect(&hub.base_url, &token, "recent-tablet", now - 2).await;
    assert!(t.seen.iter().all(|m| m["type"] != "resync"));
    assert_eq!(t.changes().len(), 2);
}
