//! The hub under load: one in this process, syncing to a cloud or not, with its
//! shop and owner; repair orders created in bulk; served over HTTP.

use crate::cloud::fresh_cloud;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{Role, ShopId, TableId};
use collisionos::store::{WriteOp, WriteRequest};
use collisionos::sync::config::EnvConfig;
use serde_json::json;
use std::collections::HashMap;

pub(crate) const PASSWORD: &str = "sync load password";

/// A hub in this process syncing to `cloud` (or not), with its shop and owner.
pub(crate) async fn hub(
    dir: &std::path::Path,
    cloud: Option<&str>,
    batch: usize,
) -> anyhow::Result<(App, ShopId, String)> {
    hub_with(
        dir,
        cloud.map(|url| vec![("SUPABASE_DB_URL", url.to_string())]),
        batch,
    )
    .await
}

/// A hub syncing with the cloud settings `cloud` (environment variables).
pub(crate) async fn hub_with(
    dir: &std::path::Path,
    cloud: Option<Vec<(&'static str, String)>>,
    batch: usize,
) -> anyhow::Result<(App, ShopId, String)> {
    let mut config = Config::new("127.0.0.1:0".parse()?, dir.to_path_buf());
    let mut env: HashMap<&str, String> = HashMap::new();
    if let Some(vars) = cloud {
        env.insert("SYNC_ENABLED", "true".into());
        env.extend(vars);
        env.insert("SYNC_BATCH_SIZE", batch.to_string());
        env.insert("SYNC_RETRY_DELAY_MS", "1000".into());
    }
    config.sync = EnvConfig::from_lookup(|k| env.get(k).cloned())?;
    let app = App::build(&config).await?;
    let (shop, owner) = init_shop(
        app.store(),
        NewShop {
            shop_name: "Sync Load Collision",
            owner_email: "owner@syncload.test",
            owner_name: "Owner",
            password: PASSWORD.into(),
        },
    )
    .await?;
    app.state.sync.reload().await?;
    Ok((app, ShopId::new(shop), owner))
}

pub(crate) fn owner_of(shop: ShopId, owner: String) -> Principal {
    Principal {
        shop_id: shop,
        user_id: Some(owner),
        role: Role::Owner,
    }
}

/// Creates `n` repair orders as `who`, in bulks of 1,000; their ids.
pub(crate) async fn create_ros(
    app: &App,
    who: &Principal,
    n: usize,
    tag: &str,
) -> anyhow::Result<Vec<String>> {
    let ro = TableId::REPAIR_ORDERS;
    let mut ids = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(1000) {
        let items = (0..(n - chunk * 1000).min(1000))
            .map(|i| {
                let body = json!({ "stage": "intake", "notes": format!("{tag} {chunk}-{i}") });
                parse_object(ro.def(), &body, Mode::Create)
                    .map(|(_, f)| (None, f))
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let out = app
            .store()
            .write(WriteRequest {
                who: who.clone(),
                table: ro,
                op: WriteOp::BulkCreate(items),
                skip_sync: false,
                password_hash: None,
            })
            .await?;
        ids.extend(out.records.into_iter().map(|r| r.id));
    }
    Ok(ids)
}

pub(crate) async fn serve(app: App) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}

/// A hub with sync on against a fresh cloud database, serving HTTP.
pub(crate) async fn synced_hub(
    admin: &str,
    name: &str,
    batch: usize,
) -> anyhow::Result<(
    String,
    String,
    tokio::sync::oneshot::Sender<()>,
    tempfile::TempDir,
)> {
    let cloud = fresh_cloud(admin, name).await?;
    let dir = tempfile::tempdir()?;
    let (app, _, _) = hub(dir.path(), Some(&cloud), batch).await?;
    let (url, stop) = serve(app).await?;
    Ok((cloud, url, stop, dir))
}
