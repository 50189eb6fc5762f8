//! Phase 3, creates/s over HTTP: the clients' write load, one run with sync on
//! or off (how far the cloud got, how long the writer thread waited for a
//! core), and `--pairs`, off/on pairs each side in a process of its own.

use crate::cloud::drop_cloud;
use crate::cpu::threads_schedstat;
use crate::hub::{hub, serve, synced_hub, PASSWORD};
use crate::Args;
use anyhow::Context;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `--pairs`: runs this tool again per side and pair, one at a time.
pub(crate) fn pairs(args: &Args, n: usize) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let side = |only: &str| -> anyhow::Result<f64> {
        let out = std::process::Command::new(&me)
            .args(["--only", only, "--db-url", &args.db_url])
            .args(["--seconds", &args.seconds.to_string()])
            .args(["--clients", &args.clients.to_string()])
            .args(["--batch", &args.batch.to_string()])
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "sync {only}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in text
            .lines()
            .filter(|l| l.starts_with("in the cloud") || l.starts_with("the writer thread"))
        {
            println!("  sync {only}: {line}");
        }
        text.lines()
            .find_map(|l| l.split_once(&format!("sync {only}: ")))
            .and_then(|(_, n)| n.trim().parse().ok())
            .ok_or_else(|| anyhow::anyhow!("sync {only}: no rate in {text}"))
    };
    let mut ratios = Vec::with_capacity(n);
    for i in 1..=n {
        let (off, on) = (side("off")?, side("on")?);
        let ratio = (on / off - 1.0) * 100.0;
        println!("pair {i}: sync off {off:.0}, sync on {on:.0} ({ratio:+.1}%)");
        ratios.push(ratio);
    }
    ratios.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        ratios[n / 2]
    } else {
        (ratios[n / 2 - 1] + ratios[n / 2]) / 2.0
    };
    println!(
        "creates/s over HTTP, {} client{}, sync on vs off, median of {n} pairs: {median:+.1}% (from {:+.1}% to {:+.1}%)",
        args.clients,
        if args.clients == 1 { "" } else { "s" },
        ratios[0],
        ratios[n - 1]
    );
    Ok(())
}

/// 16 clients create for `seconds` against `url`; returns the acknowledged ids
/// with their acknowledgement instants, and the creates/s.
pub(crate) async fn write_load(
    url: &str,
    seconds: u64,
    clients: usize,
) -> anyhow::Result<(Arc<Mutex<Vec<(String, Instant)>>>, f64)> {
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": "owner@syncload.test", "password": PASSWORD}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("token")?.to_string();
    let acked: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url, token, acked) =
            (http.clone(), url.to_string(), token.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < until {
                let res = http
                    .post(format!("{url}/api/repair_orders"))
                    .bearer_auth(&token)
                    .json(&json!({"notes": format!("client {c} #{i}")}))
                    .send()
                    .await;
                i += 1;
                let Ok(res) = res else { continue };
                let at = Instant::now();
                if let Ok(rec) = res.json::<Value>().await {
                    if let Some(id) = rec["id"].as_str() {
                        if let Ok(mut a) = acked.lock() {
                            a.push((id.to_string(), at));
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let n = acked.lock().map(|a| a.len()).unwrap_or(0);
    Ok((acked, n as f64 / start.elapsed().as_secs_f64()))
}

/// Creates/s for `seconds` on a hub of its own, sync on (against a fresh cloud
/// database) or off. Says "hub ready" (with this process's id, for `perf` or
/// `schedstat`) just before the clients start.
pub(crate) async fn creates_rate(
    admin: &str,
    seconds: u64,
    clients: usize,
    batch: usize,
    on: bool,
) -> anyhow::Result<f64> {
    let name = format!("collisionos_sync_rate_{}", std::process::id());
    let (cloud, url, stop, _dir) = if on {
        let (cloud, url, stop, dir) = synced_hub(admin, &name, batch).await?;
        (Some(cloud), url, stop, dir)
    } else {
        let dir = tempfile::tempdir()?;
        let (app, _, _) = hub(dir.path(), None, 50).await?;
        let (url, stop) = serve(app).await?;
        (None, url, stop, dir)
    };
    println!(
        "hub ready (pid {}, sync {}); writing for {seconds} s",
        std::process::id(),
        if on { "on" } else { "off" }
    );
    // The writer thread is the serial path: the share of the run it spent
    // waiting, runnable, for a core is what sync on can cost the write rate.
    let (ran0, waited0) = threads_schedstat("sqlite-writer");
    let start = Instant::now();
    let (acked, rate) = write_load(&url, seconds, clients).await?;
    let (ran1, waited1) = threads_schedstat("sqlite-writer");
    let wall = start.elapsed().as_nanos() as f64;
    println!(
        "the writer thread: ran {:.0}% of the run, waited for a core {:.1}%",
        (ran1 - ran0) as f64 / wall * 100.0,
        (waited1 - waited0) as f64 / wall * 100.0
    );
    if let Some(cloud) = cloud {
        // A sync that fell behind would cost the write path nothing: say how
        // much of what was written had reached the cloud when the clients stopped.
        let (pg, conn) = tokio_postgres::connect(&cloud, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        let arrived: i64 = pg
            .query_one("SELECT count(*) FROM public.repair_orders", &[])
            .await?
            .get(0);
        let written = acked.lock().map(|a| a.len()).unwrap_or_default();
        println!("in the cloud when the clients stopped: {arrived} of {written} repair orders");
    }
    let _ = stop.send(());
    if on {
        drop_cloud(admin, &name).await?;
    }
    Ok(rate)
}
