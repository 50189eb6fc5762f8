//! Wires the parts: [`App::build`] opens the store and loads the secret;
//! [`App::serve`] takes the listener and the shutdown signal from its caller, so
//! tests start a hub on port 0 and stop it when they like.

use crate::api::{self, AppState};
use crate::auth::{self, JwtSecret};
use crate::config::Config;
use crate::domain::policy::Principal;
use crate::domain::value::{check, Fields, Value};
use crate::domain::TableId;
use crate::store::{Store, WriteOp, WriteRequest};
use std::future::Future;
use tokio::net::TcpListener;

pub struct App {
    pub state: AppState,
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
        let sync = crate::sync::worker::Engine::open(store.clone(), config.sync.clone()).await?;
        Ok(App {
            state: AppState {
                store,
                secret,
                token_ttl: config.token_ttl,
                accounts: Default::default(),
                sync,
            },
        })
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone()).layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<_>| {
                    // Method and path only: never headers (tokens) or bodies.
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                },
            ),
        )
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    /// The sync worker's loop runs beside the server and stops with it.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = self.router();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(self.state.sync.clone().run(async {
            let _ = stopped.await;
        }));
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        let _ = stop.send(());
        // A push in flight may wait on a slow cloud: give it a moment, then stop
        // it (every push is idempotent and every mark its own transaction).
        let abort = worker.abort_handle();
        match tokio::time::timeout(std::time::Duration::from_secs(5), worker).await {
            Ok(Err(e)) if !e.is_cancelled() => {
                tracing::error!(error = %e, "the sync worker ended abnormally")
            }
            Ok(_) => {}
            Err(_) => abort.abort(),
        }
        served?;
        Ok(())
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

/// Creates the shop and its owner. Refuses if this data dir already has a shop.
pub async fn init_shop(store: &Store, new: NewShop<'_>) -> anyhow::Result<(String, String)> {
    anyhow::ensure!(
        store.shop_ids().await?.is_empty(),
        "this data dir already has a shop; `init` runs once"
    );
    auth::check_password_rules(&new.password).map_err(|m| anyhow::anyhow!("password {m}"))?;
    let shops = TableId::by_name("shops").ok_or_else(|| anyhow::anyhow!("no shops table"))?;
    let users = TableId::by_name("users").ok_or_else(|| anyhow::anyhow!("no users table"))?;
    let shop_id = uuid::Uuid::now_v7();
    let who = Principal::system(shop_id.hyphenated().to_string());

    let shop: Fields = crate::domain::value::parse_object(
        shops.def(),
        &serde_json::json!({ "name": new.shop_name }),
        crate::domain::value::Mode::Create,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .1;
    store
        .write(WriteRequest {
            who: who.clone(),
            table: shops,
            op: WriteOp::Create {
                id: Some(shop_id),
                fields: shop,
            },
            skip_sync: false,
            password_hash: None,
        })
        .await?;

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
