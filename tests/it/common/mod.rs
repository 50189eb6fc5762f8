//! The harness every integration test uses (zero2prod's `tests/api/helpers.rs`
//! shape): [`TestHub::spawn`] starts a real hub on port 0 over a fresh temp data
//! dir, signs its owner in, makes more users and adds a second shop. The other
//! jobs live next to it and are re-exported here, so `crate::common::X` reaches
//! all of them:
//!
//! - [`client`]: the typed HTTP client (`hub.get`, `hub.post`, …) and
//!   [`assert_error`];
//! - [`sqlite`]: read-only access to the hub's SQLite file and the
//!   [`Snapshot`]s that show nothing was written;
//! - [`fixtures`]: the table-driven fixtures ([`valid_body`], [`patch_for`],
//!   [`TestHub::fixtures`]) the crud, matrix and bad-input tests share.
//!
//! Tracing output only when `TEST_LOG` is set (`TEST_LOG=1 cargo test --test it`).

mod client;
mod fixtures;
mod sqlite;

pub use client::*;
pub use fixtures::*;
pub use sqlite::*;

use collisionos::api::AppState;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::store::{WriteOp, WriteRequest};
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

pub const OWNER_EMAIL: &str = "owner@shop-a.test";
pub const OWNER_NAME: &str = "Olive Owner";
/// Every account the tests make has this password.
pub const PASSWORD: &str = "correct horse battery";

static TRACING: Once = Once::new();

fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "debug".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
}

/// A number no other call in this test process gets: keeps e-mails, codes and
/// unit numbers unique within a shop.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A signed-in user of some role.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
    pub email: String,
    pub display_name: String,
}

/// A second shop in the same hub, with its owner signed in.
#[derive(Debug, Clone)]
pub struct OtherShop {
    pub shop_id: String,
    pub owner: TestUser,
}

/// A hub serving on 127.0.0.1:<free port>, with one shop and its owner signed in.
pub struct TestHub {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The running app's state: `hub.state.store` reaches the store directly.
    pub state: AppState,
    pub shop_id: String,
    pub owner: TestUser,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    // Last, so the server is told to stop before the directory goes.
    dir: tempfile::TempDir,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestHub {
    /// A hub whose writes queue themselves for the cloud from the first one
    /// (as after sync was first switched on), so the queue is there to check;
    /// [`TestHub::spawn_local_only`] for one that never had sync on.
    pub async fn spawn() -> TestHub {
        TestHub::spawn_with(true).await
    }

    /// A hub that has never had cloud sync on: its writes leave the queue alone.
    pub async fn spawn_local_only() -> TestHub {
        TestHub::spawn_with(false).await
    }

    async fn spawn_with(queueing: bool) -> TestHub {
        init_tracing();
        let dir = tempfile::tempdir().expect("a temp data dir");
        let listen = "127.0.0.1:0".parse().expect("a socket address");
        let config = Config::new(listen, dir.path().to_path_buf());
        let app = App::build(&config).await.expect("the app builds");
        if queueing {
            app.state
                .sync
                .queue()
                .start_queueing()
                .await
                .expect("queueing on");
        }
        let (shop_id, owner_id) = init_shop(
            app.store(),
            NewShop {
                shop_name: "Shop A Collision",
                owner_email: OWNER_EMAIL,
                owner_name: OWNER_NAME,
                password: PASSWORD.to_string(),
            },
        )
        .await
        .expect("init_shop creates the shop and its owner");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("the bound address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = app.serve(listener, shutdown).await {
                eprintln!("the test hub stopped with an error: {e:#}");
            }
        });
        let mut hub = TestHub {
            base_url: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a reqwest client"),
            state,
            shop_id,
            owner: TestUser {
                id: owner_id,
                token: String::new(),
                email: OWNER_EMAIL.to_string(),
                display_name: OWNER_NAME.to_string(),
            },
            shutdown: Some(tx),
            dir,
        };
        hub.owner.token = hub.login(OWNER_EMAIL, PASSWORD).await;
        hub
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The owner's bearer token.
    pub fn owner_token(&self) -> &str {
        &self.owner.token
    }

    /// Creates a user of `role` through the API as the owner, and logs them in.
    pub async fn user(&self, role: &str) -> TestUser {
        self.user_of(&self.owner, role).await
    }

    /// Creates a user of `role` through the API as `by` (an owner or admin of
    /// some shop), and logs them in.
    pub async fn user_of(&self, by: &TestUser, role: &str) -> TestUser {
        let n = unique();
        let email = format!("{role}-{n}@staff.test");
        let display_name = format!("{} {n}", role.replace('_', " "));
        let id = self
            .create_id(
                "users",
                &by.token,
                &json!({
                    "email": email,
                    "display_name": display_name,
                    "role": role,
                    "password": PASSWORD,
                }),
            )
            .await;
        let token = self.login(&email, PASSWORD).await;
        TestUser {
            id,
            token,
            email,
            display_name,
        }
    }

    /// Adds a second shop with its own owner, written through the store as the hub
    /// itself (the API's `init` refuses a second shop), and signs that owner in.
    pub async fn second_shop(&self, name: &str) -> OtherShop {
        let store = &self.state.store;
        let shops = table_id("shops");
        let users = table_id("users");
        let shop_uuid = uuid::Uuid::now_v7();
        let shop_id = shop_uuid.hyphenated().to_string();
        let who = Principal::system(collisionos::domain::ShopId::new(shop_id.clone()));
        let (_, fields) = parse_object(shops.def(), &json!({ "name": name }), Mode::Create)
            .expect("a valid shop");
        store
            .write(WriteRequest {
                who: who.clone(),
                table: shops,
                op: WriteOp::Create {
                    id: Some(shop_uuid),
                    fields,
                },
                skip_sync: false,
                password_hash: None,
            })
            .await
            .expect("the second shop is written");
        let n = unique();
        let email = format!("owner-{n}@other-shop.test");
        let display_name = format!("{name} Owner");
        let (_, fields) = parse_object(
            users.def(),
            &json!({ "email": email, "display_name": display_name, "role": "owner" }),
            Mode::Create,
        )
        .expect("a valid owner");
        let hash = collisionos::auth::hash_password(PASSWORD.to_string())
            .await
            .expect("hash the password");
        let out = store
            .write(WriteRequest {
                who,
                table: users,
                op: WriteOp::Create { id: None, fields },
                skip_sync: false,
                password_hash: Some(hash),
            })
            .await
            .expect("the second shop's owner is written");
        let id = out.records.first().expect("the owner record").id.clone();
        let token = self.login(&email, PASSWORD).await;
        OtherShop {
            shop_id,
            owner: TestUser {
                id,
                token,
                email,
                display_name,
            },
        }
    }
}
