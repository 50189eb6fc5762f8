//! Wires the parts: [`App::build`] opens the store and loads the secret;
//! [`App::serve`] takes the listener and the shutdown signal from its caller, so
//! tests start a hub on port 0 and stop it when they like.

use crate::api::{self, AppState};
use crate::auth::{self, JwtSecret};
use crate::config::Config;
use crate::domain::policy::Principal;
use crate::domain::value::{check, Fields, Value};
use crate::domain::{ShopId, TableId};
use crate::store::{Store, WriteOp, WriteRequest};
use std::future::{Future, IntoFuture};
use tokio::net::TcpListener;

pub struct App {
    pub state: AppState,
    shutdown_timeout: std::time::Duration,
}

impl App {
    /// Opens the data dir (migrating it) and loads or creates the signing secret.
    pub async fn build(config: &Config) -> anyhow::Result<App> {
        let dir = config.data_dir.clone();
        let (store, secret) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let store = Store::open(&dir)?;
            let secret = JwtSecret::load_or_create(&dir)?;
            Ok((store, secret))
        })
        .await??;
        let metrics = crate::api::metrics::Metrics::new(&store);
        let backups = crate::backups::Backups::new(config.backup_plan());
        let setup = if !store.is_set_up().await? {
            crate::api::setup::SetupCode::generate()
        } else {
            Default::default()
        };
        let sync = crate::sync::worker::Engine::open(store.clone(), config.sync.clone()).await?;
        Ok(App {
            state: AppState::new(crate::api::Shared {
                setup,
                logins: Default::default(),
                backups,
                metrics,
                store,
                secret,
                token_ttl: config.token_ttl,
                accounts: Default::default(),
                tablets: Default::default(),
                sync,
            }),
            shutdown_timeout: config.shutdown_timeout,
        })
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// Serves plain HTTP on `listener` until `shutdown` resolves; see [`App::run`].
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.run(vec![Listening::Plain(listener)], shutdown).await
    }

    /// Serves HTTPS on `tls` and, when given, plain HTTP on `plain` (loopback by
    /// default: the PC itself and monitors), until `shutdown` resolves.
    pub async fn serve_tls(
        self,
        tls: crate::tls::TlsListener,
        plain: Option<TcpListener>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let mut on = vec![Listening::Tls(tls)];
        on.extend(plain.map(Listening::Plain));
        self.run(on, shutdown).await
    }

    /// Serves on every listener until `shutdown` resolves; then stops accepting,
    /// closes the tablets' sockets with a reason, lets the requests in flight
    /// finish, stops the sync worker (a push in flight may finish or is
    /// abandoned: pushes are idempotent) and the writer (every write sent is
    /// committed and the WAL checkpointed), all within the shutdown timeout.
    async fn run(
        self,
        on: Vec<Listening>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use axum::serve::ListenerExt;
        use std::net::SocketAddr;
        let router = self.router();
        let store = self.state.store.clone();
        let backups = tokio::spawn(self.state.backups.clone().run());
        let tablets = self.state.tablets.clone();
        let (stop_sync, sync_stopped) = tokio::sync::oneshot::channel::<()>();
        // On a runtime of its own at background priority: the worker never
        // takes a core from the writer or the handlers.
        let sync_rt = crate::sync::background::runtime()?;
        let worker = sync_rt.spawn(self.state.sync.clone().run(async {
            let _ = sync_stopped.await;
        }));
        let grace = self.shutdown_timeout;
        let (stop, _) = tokio::sync::watch::channel(false);
        let servers: Vec<tokio::task::JoinHandle<std::io::Result<()>>> = on
            .into_iter()
            .map(|l| {
                let mut stopped = stop.subscribe();
                let graceful = async move {
                    let _ = stopped.wait_for(|s| *s).await;
                };
                let app = router
                    .clone()
                    .into_make_service_with_connect_info::<SocketAddr>();
                match l {
                    Listening::Plain(l) => tokio::spawn(
                        axum::serve(l, app)
                            .with_graceful_shutdown(graceful)
                            .into_future(),
                    ),
                    // `tap_io` gives the TLS listener the peer address as connect info.
                    Listening::Tls(l) => tokio::spawn(
                        axum::serve(l.tap_io(|_| {}), app)
                            .with_graceful_shutdown(graceful)
                            .into_future(),
                    ),
                }
            })
            .collect();
        let all = async move {
            for s in servers {
                s.await
                    .map_err(|e| anyhow::anyhow!("a server task failed: {e}"))??;
            }
            anyhow::Ok(())
        };
        tokio::pin!(all);
        // Served until a server ended on its own (an error) or the signal came;
        // either way the same stop follows, within the shutdown timeout.
        let (served, started) = tokio::select! {
            res = &mut all => (res, tokio::time::Instant::now()),
            _ = shutdown => {
                tracing::info!("stopping: no new requests; finishing the ones in flight");
                let started = tokio::time::Instant::now();
                let _ = stop.send(true);
                // Upgraded sockets outlive the server's graceful shutdown: the
                // tablets are told the hub is stopping and their sockets close.
                tablets.close();
                let served = match tokio::time::timeout(grace, &mut all).await {
                    Ok(res) => res,
                    Err(_) => {
                        tracing::warn!(
                            seconds = grace.as_secs(),
                            "requests still open after the shutdown timeout; closing them"
                        );
                        Ok(())
                    }
                };
                (served, started)
            }
        };
        tablets.close();
        backups.abort();
        let left = grace.saturating_sub(started.elapsed());
        stop_worker(
            stop_sync,
            worker,
            left.min(std::time::Duration::from_secs(5)),
        )
        .await;
        drop(sync_rt);
        let left = grace.saturating_sub(started.elapsed());
        if tokio::time::timeout(left, store.close()).await.is_err() {
            tracing::warn!("the writer did not stop within the shutdown timeout");
        }
        served
    }
}

/// Where the hub listens.
enum Listening {
    Plain(TcpListener),
    Tls(crate::tls::TlsListener),
}

/// Tells the sync worker to stop and gives a push in flight `wait` to finish
/// (every push is idempotent and every mark its own transaction), then stops it.
async fn stop_worker(
    stop: tokio::sync::oneshot::Sender<()>,
    worker: tokio::task::JoinHandle<()>,
    wait: std::time::Duration,
) {
    let _ = stop.send(());
    let abort = worker.abort_handle();
    match tokio::time::timeout(wait, worker).await {
        Ok(Err(e)) if !e.is_cancelled() => {
            tracing::error!(error = %e, "the sync worker ended abnormally")
        }
        Ok(_) => {}
        Err(_) => abort.abort(),
    }
}

/// The shop and owner that `collisionos init` creates.
pub struct NewShop<'a> {
    pub shop_name: &'a str,
    pub owner_email: &'a str,
    pub owner_name: &'a str,
    pub password: String,
}

fn field(
    table: TableId,
    name: &'static str,
    v: serde_json::Value,
) -> anyhow::Result<(&'static str, Value)> {
    let col = table
        .def()
        .column(name)
        .ok_or_else(|| anyhow::anyhow!("{table} has no column {name}"))?;
    Ok((
        col.name,
        check(col, &v).map_err(|e| anyhow::anyhow!("{e}"))?,
    ))
}

/// Creates the shop and its owner. Refuses once the data dir has a user.
///
/// Every field is checked, and the password hashed, before anything is
/// written; the shop is written before its owner (two writes), so a setup
/// that stops between them (the owner refused by the writer, a crash) leaves
/// a shop with no user, which the next setup finishes under the same id
/// instead of refusing forever.
pub async fn init_shop(store: &Store, new: NewShop<'_>) -> anyhow::Result<(String, String)> {
    anyhow::ensure!(
        !store.is_set_up().await?,
        "this data dir already has a shop; `init` runs once"
    );
    auth::check_password_rules(&new.password).map_err(|m| anyhow::anyhow!("password {m}"))?;
    let shops = TableId::by_name("shops").ok_or_else(|| anyhow::anyhow!("no shops table"))?;
    let users = TableId::by_name("users").ok_or_else(|| anyhow::anyhow!("no users table"))?;
    let shop: Fields = crate::domain::value::parse_object(
        shops.def(),
        &serde_json::json!({ "name": new.shop_name }),
        crate::domain::value::Mode::Create,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .1;
    let mut owner = Fields::new();
    for (k, v) in [
        field(users, "email", serde_json::json!(new.owner_email))?,
        field(users, "display_name", serde_json::json!(new.owner_name))?,
        field(users, "role", serde_json::json!("owner"))?,
        field(users, "active", serde_json::json!(true))?,
        ("hourly_rate_cents", Value::Null),
    ] {
        owner.insert(k, v);
    }
    let hash = auth::hash_password(new.password).await?;

    let (shop_id, op) = match store.unfinished_shop().await? {
        Some(id) => {
            let id = uuid::Uuid::parse_str(&id)?;
            (
                id,
                WriteOp::Update {
                    id: id.hyphenated().to_string(),
                    fields: shop.into_iter().filter(|(k, _)| *k == "name").collect(),
                    base: None,
                },
            )
        }
        None => {
            anyhow::ensure!(
                store.shop_ids().await?.is_empty(),
                "this data dir has shops but no user; restore it from a backup"
            );
            let id = uuid::Uuid::now_v7();
            (
                id,
                WriteOp::Create {
                    id: Some(id),
                    fields: shop,
                },
            )
        }
    };
    let who = Principal::system(ShopId::from(shop_id));
    // (An update to the name it already has writes nothing and succeeds.)
    store
        .write(WriteRequest {
            who: who.clone(),
            table: shops,
            op,
            skip_sync: false,
            password_hash: None,
        })
        .await?;
    let out = store
        .write(WriteRequest {
            who,
            table: users,
            op: WriteOp::Create {
                id: None,
                fields: owner,
            },
            skip_sync: false,
            password_hash: Some(hash),
        })
        .await?;
    let owner_id = out
        .records
        .first()
        .map(|r| r.id.clone())
        .ok_or_else(|| anyhow::anyhow!("the owner was not created"))?;
    Ok((shop_id.hyphenated().to_string(), owner_id))
}
