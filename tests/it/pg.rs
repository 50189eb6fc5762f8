//! A real Postgres for the tests: `COLLISIONOS_TEST_PG_URL` names a cluster where
//! we may create databases (start one with
//! `eval "$(bash install/pg-test-cluster.sh start /tmp/pgtest)"`). Tests never skip:
//! without it they fail, saying how to start one.
//!
//! [`fresh_db`] creates a uniquely named database and applies everything to it
//! with the same script an owner uses (`supabase/apply.sh --bootstrap`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio_postgres::{Client, NoTls};

pub const ENV: &str = "COLLISIONOS_TEST_PG_URL";

pub struct TestDb {
    /// Connected as the cluster's superuser (bypasses RLS until a test sets a role).
    pub client: Client,
    /// The URL of this database.
    pub url: String,
    pub name: String,
}

pub fn admin_url() -> String {
    match std::env::var(ENV) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{ENV} is not set. These tests need a real Postgres 15; start a throwaway one with\n    \
             eval \"$(bash install/pg-test-cluster.sh start /tmp/pgtest)\"\nand run the tests again."
        ),
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot connect to Postgres at {url} ({ENV}): {e}. Is the test cluster running?")
        });
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("postgres connection ended: {e}");
        }
    });
    client
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Roles are cluster-wide: bootstraps of parallel tests take turns.
static APPLY_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `supabase/apply.sh --bootstrap URL`, panicking with its output on failure.
pub async fn apply_all(url: &str) {
    let _turn = APPLY_LOCK.lock().await;
    let out = tokio::process::Command::new("bash")
        .arg(repo_root().join("supabase/apply.sh"))
        .arg("--bootstrap")
        .arg(url)
        .output()
        .await
        .expect("running supabase/apply.sh (is bash installed?)");
    assert!(
        out.status.success(),
        "supabase/apply.sh --bootstrap failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new empty database (nothing applied), named after `tag`.
pub async fn empty_db(tag: &str) -> (String, String) {
    let admin = connect(&admin_url()).await;
    let name = format!(
        "it_{tag}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("0")
    );
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    (with_database(&admin_url(), &name), name)
}

/// A new database with the bootstrap, every migration and every policy applied.
pub async fn fresh_db(tag: &str) -> TestDb {
    let (url, name) = empty_db(tag).await;
    apply_all(&url).await;
    let client = connect(&url).await;
    TestDb { client, url, name }
}

impl TestDb {
    /// Drops the database (call at the end of a passing test; a failing test
    /// leaves its database behind to look at).
    pub async fn drop_db(self) {
        let TestDb { client, name, .. } = self;
        drop(client);
        let admin = connect(&admin_url()).await;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap_or_else(|e| panic!("DROP DATABASE {name}: {e}"));
    }
}

#[test]
fn database_names_replace_only_the_path() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:1/db?sslmode=disable", "y"),
        "postgres://u:p@h:1/y?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "z"), "postgres://h:1/z");
}
