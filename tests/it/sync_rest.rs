//! Transport 2 against a real PostgREST-compatible server: `postrust-server`
//! (crates.io) in PostgREST compatibility mode on the test Postgres, verifying
//! the hub's HS256 tokens with the project's JWT secret. The same test bodies
//! as the Postgres wire (`sync_e2e`) run through it.
//!
//! `COLLISIONOS_POSTRUST` names the `postrust` binary; `tests/run.sh` installs
//! it once into a cache folder and sets it.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_e2e::{
    another_shops_rows_fail_with_the_rls_error, writes_arrive_and_updates_and_deletes_follow,
};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};

const JWT_SECRET: &str = "rest-test-jwt-secret-0123456789abcdefghij";

struct Postrust {
    child: Child,
    port: u16,
}

impl Drop for Postrust {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts postrust on `db_url`'s database, logging in as `authenticator`.
async fn postrust(db_url: &str) -> Postrust {
    let bin = std::env::var("COLLISIONOS_POSTRUST").unwrap_or_else(|_| {
        panic!(
            "COLLISIONOS_POSTRUST is not set. The REST transport tests need postrust-server; \
             tests/run.sh installs it (cargo install postrust-server --root <cache>) and sets it"
        )
    });
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut uri = url::Url::parse(db_url).expect("a URL");
    uri.set_username("authenticator").expect("user");
    let child = Command::new(&bin)
        .env("PGRST_DB_URI", uri.as_str())
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_JWT_SECRET", JWT_SECRET)
        .env("PGRST_SERVER_HOST", "127.0.0.1")
        .env("PGRST_SERVER_PORT", port.to_string())
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_LOG_LEVEL", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    let server = Postrust { child, port };
    let http = reqwest::Client::new();
    for _ in 0..1000 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status().is_success() {
                return server;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("postrust did not become healthy on {port}");
}

fn rest_config(port: u16) -> Value {
    json!({
        "restUrl": format!("http://127.0.0.1:{port}"),
        "credentials": {
            "anonKey": "sb_publishable_rest-test-anon-key",
            "jwtSecret": JWT_SECRET,
        },
        "retryDelayMs": 1000,
    })
}

#[tokio::test]
async fn over_rest_every_table_arrives_with_identical_values_and_updates_and_deletes_follow() {
    let db = fresh_db("sync_rest_e2e").await;
    let server = postrust(&db.url).await;
    let hub = TestHub::spawn().await;
    writes_arrive_and_updates_and_deletes_follow(&hub, &db, &rest_config(server.port)).await;
    let (_, cfg) = hub.get("/api/sync/config", hub.owner_token()).await;
    assert_eq!(cfg["transport"], "rest", "{cfg}");
    // Change bytes arrived through REST too (as bytea from `\x…` text).
    let n = crate::sync_support::cloud_count(&db, "SELECT count(*) FROM public.crdt_changes").await;
    let hub_n: i64 = hub
        .db()
        .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, hub_n, "every change, once");
    for r in db
        .client
        .query("SELECT change_hash, bytes FROM public.crdt_changes", &[])
        .await
        .expect("changes")
    {
        let (hash, bytes): (String, Vec<u8>) = (r.get(0), r.get(1));
        let change = automerge::Change::try_from(&bytes[..]).expect("the bytes are a change");
        assert_eq!(change.hash().to_string(), hash);
    }
    drop(server);
    db.drop_db().await;
}

#[tokio::test]
async fn over_rest_a_row_of_another_shop_fails_with_the_rls_error_and_the_rest_arrive() {
    let db = fresh_db("sync_rest_rls").await;
    let server = postrust(&db.url).await;
    let hub = TestHub::spawn().await;
    another_shops_rows_fail_with_the_rls_error(&hub, &db, &rest_config(server.port)).await;
    drop(server);
    db.drop_db().await;
}
