//! Phase 1, the push rate: repair orders queued, then the worker drained step by
//! step with nothing else running, over the Postgres wire or REST: rows/s and
//! CPU per row on the hub and in the cloud.

use crate::cloud::{drop_cloud, fresh_cloud, start_postrust, REST_JWT_SECRET};
use crate::cpu::{cloud_cpu_ms, process_cpu_ms};
use crate::hub::{create_ros, hub_with, owner_of};
use std::time::{Duration, Instant};

pub(crate) async fn push_rate(
    admin: &str,
    records: usize,
    batch: usize,
    postrust: Option<&str>,
) -> anyhow::Result<()> {
    let name = format!("collisionos_sync_load_{}", std::process::id());
    let cloud = fresh_cloud(admin, &name).await?;
    let dir = tempfile::tempdir()?;
    let mut server = None;
    let vars = match postrust {
        None => vec![("SUPABASE_DB_URL", cloud.clone())],
        Some(bin) => {
            let (child, port) = start_postrust(bin, &cloud)?;
            server = Some(child);
            let http = reqwest::Client::new();
            let mut up = false;
            for _ in 0..500 {
                if let Ok(r) = http
                    .get(format!("http://127.0.0.1:{port}/healthz"))
                    .send()
                    .await
                {
                    up = r.status().is_success();
                }
                if up {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            anyhow::ensure!(up, "postrust did not start");
            vec![
                ("SUPABASE_REST_URL", format!("http://127.0.0.1:{port}")),
                ("SUPABASE_ANON_KEY", "sb_publishable_sync-load".into()),
                ("SUPABASE_JWT_SECRET", REST_JWT_SECRET.into()),
            ]
        }
    };
    let transport = if postrust.is_some() {
        "rest"
    } else {
        "postgres wire"
    };
    let (app, shop, owner) = hub_with(dir.path(), Some(vars), batch).await?;
    create_ros(&app, &owner_of(shop, owner), records, "load").await?;
    // The shop and its owner are queued too: pushed first, untimed.
    app.state.sync.run_once().await?;
    let start = Instant::now();
    let cpu0 = process_cpu_ms();
    let cloud_cpu0 = cloud_cpu_ms(admin, &name).await?;
    let mut pushed = 0;
    loop {
        // The worker loop's own path: batches pipelined (push one, mark the
        // previous and read the next meanwhile).
        let o = app.state.sync.run_batches(64).await?;
        anyhow::ensure!(o.unreachable.is_none(), "the cloud was unreachable");
        anyhow::ensure!(o.failed == 0, "{} records failed", o.failed);
        pushed += o.pushed;
        if !o.more && o.pushed == 0 {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = process_cpu_ms() - cpu0;
    let cloud_cpu = cloud_cpu_ms(admin, &name).await? - cloud_cpu0;
    let per_row = |ms: f64| ms * 1000.0 / pushed.max(1) as f64;
    println!(
        "{transport}, batch {batch}: {pushed} records (rows and their change bytes) in {secs:.2} s: {:.0} rows/s; CPU per row: the hub's {:.0} µs, the cloud's Postgres {:.0} µs",
        pushed as f64 / secs,
        per_row(cpu),
        per_row(cloud_cpu)
    );
    drop(app);
    if let Some(mut child) = server {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop_cloud(admin, &name).await
}
