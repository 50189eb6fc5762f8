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
use crate::sync_restored::{
    a_restored_cloud_gets_back_what_it_lost, restore_found_within_the_hour,
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

/// Starts postrust on `db_url`'s database, logging in as `authenticator`,
/// verifying tokens with the JWT secret.
async fn postrust(db_url: &str) -> Postrust {
    postrust_with(db_url, &[("PGRST_JWT_SECRET", JWT_SECRET.to_string())]).await
}

async fn postrust_with(db_url: &str, keys: &[(&str, String)]) -> Postrust {
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
        .envs(keys.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PGRST_DB_URI", uri.as_str())
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_ANON_ROLE", "anon")
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
    assert_eq!(
        n,
        crate::sync_support::hub_changes(&hub),
        "every change, once"
    );
    for r in db
        .client
        .query(
            "SELECT encode(change_hash, 'hex'), bytes FROM public.crdt_changes",
            &[],
        )
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

fn openssl(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 key (PKCS#8 PEM) made by openssl, and its public JWK.
fn ec_key(dir: &std::path::Path, kid: &str) -> (String, Value) {
    use base64::Engine;
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ],
    );
    openssl(
        dir,
        &[
            "pkey", "-in", "ec.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
        ],
    );
    let pem = std::fs::read_to_string(dir.join("ec.pem")).expect("ec.pem");
    let der = std::fs::read(dir.join("pub.der")).expect("pub.der");
    let point = &der[der.len() - 65..];
    assert_eq!(point[0], 4, "an uncompressed point");
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": b64(&point[1..33]), "y": b64(&point[33..65]),
    });
    (pem, jwk)
}

#[tokio::test]
async fn over_rest_with_an_es256_key_verified_through_the_projects_jwks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pem, jwk) = ec_key(dir.path(), "hub-test-kid");
    let jwks = json!({ "keys": [jwk] });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let jwks_port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let db = fresh_db("sync_rest_es256").await;
    let server = postrust_with(
        &db.url,
        &[(
            "PGRST_JWT_JWKS_URL",
            format!("http://127.0.0.1:{jwks_port}/jwks"),
        )],
    )
    .await;
    let hub = TestHub::spawn().await;
    // A key the project does not know (same kid): the cloud refuses the token.
    let other = tempfile::tempdir().expect("tempdir");
    let (wrong_pem, _) = ec_key(other.path(), "hub-test-kid");
    let wrong = json!({
        "restUrl": format!("http://127.0.0.1:{}", server.port),
        "credentials": {
            "anonKey": "sb_publishable_rest-test-anon-key",
            "jwtPrivateKey": wrong_pem,
            "jwtKeyId": "hub-test-kid",
        },
    });
    crate::sync_support::put_config(&hub, &wrong).await;
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(
        s,
        reqwest::StatusCode::CONFLICT,
        "a token signed with another key: {b}"
    );
    assert_eq!(
        b["error"]["check"]["steps"][1]["name"], "credentials",
        "{b}"
    );
    assert_eq!(b["error"]["check"]["steps"][1]["ok"], false, "{b}");
    let config = json!({
        "restUrl": format!("http://127.0.0.1:{}", server.port),
        "credentials": {
            "anonKey": "sb_publishable_rest-test-anon-key",
            "jwtPrivateKey": pem,
            "jwtKeyId": "hub-test-kid",
        },
        "retryDelayMs": 1000,
    });
    writes_arrive_and_updates_and_deletes_follow(&hub, &db, &config).await;
    drop(server);
    db.drop_db().await;
}

/// A cloud restored in place, found by asking PostgREST for the newest change
/// the hub delivered (a `bytea` filter) at the hourly check.
#[tokio::test]
async fn over_rest_a_cloud_restored_in_place_gets_back_what_it_lost() {
    let db = fresh_db("sync_rest_restored").await;
    let server = postrust(&db.url).await;
    let hub = TestHub::spawn().await;
    a_restored_cloud_gets_back_what_it_lost(&hub, &db, &rest_config(server.port), || {
        restore_found_within_the_hour(&hub, &db)
    })
    .await;
    drop(server);
    db.drop_db().await;
}
