//! Helpers of the sync tests: a hub syncing to a fresh cloud database of the
//! test Postgres, reading rows back from the cloud, comparing them with the
//! hub's, and a TCP proxy the test can cut to make the cloud unreachable.

use crate::common::TestHub;
use crate::pg::TestDb;
use collisionos::domain::catalog::ColType;
use collisionos::domain::TableId;
use collisionos::sync::worker::Outcome;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

/// `GET /api/sync/status` as the owner; panics unless it answers 200.
pub async fn sync_status(hub: &TestHub) -> Value {
    let (s, b) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// How many entries the hub's change log holds.
pub fn hub_changes(hub: &TestHub) -> i64 {
    hub.db()
        .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))
        .expect("count the change log")
}

/// The configuration that syncs to `db_url` over the Postgres wire.
pub fn pg_config(db_url: &str) -> Value {
    json!({ "credentials": { "dbUrl": db_url }, "retryDelayMs": 1000 })
}

/// Configures `hub` with `config` (the body of `PUT /api/sync/config`) and
/// enables sync; panics unless both succeed.
pub async fn enable_with(hub: &TestHub, config: &Value) {
    put_config(hub, config).await;
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "POST /api/sync/enable: {b}");
    assert_eq!(b["syncEnabled"], true, "{b}");
}

/// Points `hub` at the database `url` (`PUT /api/sync/config`); panics
/// unless the hub takes it.
pub async fn set_db_url(hub: &TestHub, url: &str) {
    put_config(hub, &json!({ "credentials": { "dbUrl": url } })).await;
}

/// `PUT /api/sync/config` with `config` as the owner; panics unless the hub
/// takes it.
pub async fn put_config(hub: &TestHub, config: &Value) {
    let (s, b) = hub
        .request(
            Method::PUT,
            "/api/sync/config",
            Some(hub.owner_token()),
            Some(config),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "PUT /api/sync/config: {b}");
}

/// Syncs `hub` to `db_url` over the Postgres wire (short retry delay).
pub async fn enable_sync(hub: &TestHub, db_url: &str) {
    enable_with(hub, &pg_config(db_url)).await;
}

/// Runs the worker until nothing more is due.
pub async fn drain(hub: &TestHub) -> Outcome {
    hub.state
        .sync
        .drain(10_000)
        .await
        .expect("the sync steps run")
}

/// The sync queue's items with `status` (up to 1,000), as the owner sees them.
pub async fn queue(hub: &TestHub, status: &str) -> Vec<Value> {
    let (s, q) = hub
        .get(
            &format!("/api/sync/queue?status={status}&limit=1000"),
            hub.owner_token(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{q}");
    q["items"].as_array().expect("items").clone()
}

/// `POST /api/sync/force-sync-record` of `table`/`id` as the owner.
pub async fn force_sync(hub: &TestHub, table: &str, id: &str) -> (StatusCode, Value) {
    hub.post(
        "/api/sync/force-sync-record",
        hub.owner_token(),
        &json!({ "table": table, "id": id }),
    )
    .await
}

/// The cloud's row of `table` with `id`, as JSON (read as superuser).
pub async fn cloud_row(db: &TestDb, table: &str, id: &str) -> Option<Value> {
    db.client
        .query_opt(
            &format!("SELECT to_jsonb(t)::text FROM public.{table} t WHERE id = $1::text::uuid"),
            &[&id],
        )
        .await
        .unwrap_or_else(|e| panic!("reading {table} {id} from the cloud: {e}"))
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).expect("jsonb text"))
}

pub async fn cloud_count(db: &TestDb, sql: &str) -> i64 {
    db.client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

fn instant(v: &Value) -> Option<time::OffsetDateTime> {
    v.as_str().and_then(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Differences between the hub's record (API JSON) and the cloud's row, column
/// by column, with each column type's own equality (instants as instants,
/// decimals as numbers).
pub fn differences(table: &str, hub: &Value, cloud: &Value) -> Vec<String> {
    let t = TableId::by_name(table).expect("a catalog table");
    let mut cols: Vec<(&str, Option<ColType>)> = vec![
        ("id", None),
        ("shop_id", None),
        ("created_at", Some(ColType::Timestamp)),
        ("updated_at", Some(ColType::Timestamp)),
    ];
    cols.extend(t.def().columns.iter().map(|c| (c.name, Some(c.ty))));
    let mut out = Vec::new();
    for (name, ty) in cols {
        let (h, c) = (&hub[name], &cloud[name]);
        let same = match ty {
            _ if h.is_null() || c.is_null() => h.is_null() && c.is_null(),
            Some(ColType::Timestamp) => instant(h).is_some() && instant(h) == instant(c),
            Some(ColType::Decimal) => number(h).is_some() && number(h) == number(c),
            _ => h == c,
        };
        if !same {
            out.push(format!("{table}.{name}: hub {h} vs cloud {c}"));
        }
    }
    out
}

/// A TCP proxy to `target` that the test can cut (every connection closed, new
/// ones refused at once) and restore.
pub struct Proxy {
    pub port: u16,
    up: Arc<AtomicBool>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let (up2, gen2) = (up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cut = gen2.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    tokio::select! {
                        _ = tokio::io::copy(&mut cr, &mut sw) => {}
                        _ = tokio::io::copy(&mut sr, &mut cw) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            up,
            generation,
        }
    }

    /// Closes every connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// `host:port` of a postgres:// URL.
pub fn host_port(url: &str) -> String {
    let u = url::Url::parse(url).expect("a URL");
    format!(
        "{}:{}",
        u.host_str().expect("a host"),
        u.port().unwrap_or(5432)
    )
}

/// `url` with its port replaced.
pub fn with_port(url: &str, port: u16) -> String {
    let mut u = url::Url::parse(url).expect("a URL");
    u.set_port(Some(port)).expect("set the port");
    u.to_string()
}

/// Every table's record as the hub serves it equals the cloud's row.
pub async fn assert_same_everywhere(
    hub: &TestHub,
    db: &crate::pg::TestDb,
    refs: &[(String, String)],
) {
    let mut diffs = Vec::new();
    for (table, id) in refs {
        let (s, rec) = hub.read_as_owner(table, id).await;
        assert_eq!(s, StatusCode::OK, "{table} {id}: {rec}");
        match cloud_row(db, table, id).await {
            Some(row) => diffs.extend(differences(table, &rec, &row)),
            None => diffs.push(format!("{table} {id} is not in the cloud")),
        }
    }
    assert!(
        diffs.is_empty(),
        "hub and cloud differ:\n{}",
        diffs.join("\n")
    );
}

pub fn all_refs(hub: &TestHub, refs: &crate::common::Refs) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = refs
        .ids()
        .map(|(t, id)| (t.to_string(), id.clone()))
        .collect();
    out.push(("users".into(), hub.owner.id.clone()));
    out
}
