//! Measures the cloud sync over the Postgres wire against a local Postgres:
//!
//! 1. push rate: `--records` repair orders queued, then the worker drained step
//!    by step (no other load), at `--batch` 50 and 500: rows/s into Postgres;
//! 2. acknowledgement to cloud: 16 clients create repair orders over HTTP for
//!    `--seconds` while the worker runs as it does in a shop; a trigger the
//!    tool adds to the cloud notifies each row as it commits (LISTEN/NOTIFY):
//!    p50/p99 from the API's answer to the row being committed in Postgres;
//! 3. creates/s over HTTP with sync on against sync off (same clients), each
//!    run alone (the watcher of 2. would cost the machine CPU). For a figure to
//!    rely on, `--pairs 8` runs eight off/on pairs instead, each side in a
//!    process of its own, and prints the median ratio. Each run also says how
//!    much of what was acknowledged had reached the cloud when the clients
//!    stopped (a sync that falls behind costs the write path nothing), and how
//!    long the writer thread, the hub's serial path, waited for a core.
//!
//! It needs a Postgres superuser URL (the test cluster: `eval "$(bash
//! install/pg-test-cluster.sh start /tmp/pg)"`, then `--db-url
//! "$COLLISIONOS_TEST_PG_URL"`); it creates a database of its own, applies the
//! cloud schema with `supabase/apply.sh --bootstrap`, and drops it at the end.
//!
//!     cargo run --release --example sync_load -- --db-url postgres://postgres@127.0.0.1:PORT/postgres

use anyhow::Context;
use clap::Parser;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{Role, ShopId, TableId};
use collisionos::store::{WriteOp, WriteRequest};
use collisionos::sync::config::EnvConfig;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// A Postgres superuser URL (on this machine).
    #[arg(long, env = "COLLISIONOS_TEST_PG_URL")]
    db_url: String,
    /// Repair orders pushed in the push-rate phase.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Seconds of writing in the latency and throughput phases.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Clients writing in the latency and throughput phases.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// The sync batch size in the latency and throughput phases (the
    /// push-rate phase runs 50 and 500).
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Skip the push-rate phase.
    #[arg(long)]
    skip_push: bool,
    /// Also measure the push rate over REST, through this PostgREST-compatible
    /// server binary (postrust-server; `tests/run.sh` caches one).
    #[arg(long, env = "COLLISIONOS_POSTRUST")]
    postrust: Option<String>,
    /// Instead of the phases above: the storage report for this many repair
    /// orders with 10 updates each, pushed to the cloud (bytes per repair order
    /// on the hub and in the cloud).
    #[arg(long)]
    storage: Option<usize>,
    /// Only the creates/s phase, with sync on only (`on`) or off only (`off`):
    /// for profiling one side (`perf record -g -p …`).
    #[arg(long)]
    only: Option<String>,
    /// Only the creates/s phase, as this many off/on pairs, each side in a
    /// process of its own run alone (`--only off`, then `--only on`): each
    /// pair's ratio and their median. The VM's speed drifts, so one pair misleads.
    #[arg(long)]
    pairs: Option<usize>,
}

/// `--pairs`: runs this tool again per side and pair, one at a time.
fn pairs(args: &Args, n: usize) -> anyhow::Result<()> {
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

const PASSWORD: &str = "sync load password";

fn with_db(url: &str, db: &str) -> anyhow::Result<String> {
    let mut u = url::Url::parse(url)?;
    u.set_path(&format!("/{db}"));
    Ok(u.to_string())
}

async fn fresh_cloud(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .await?;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let url = with_db(admin_url, name)?;
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/supabase/apply.sh"))
        .arg("--bootstrap")
        .arg(&url)
        .output()
        .context("run supabase/apply.sh")?;
    anyhow::ensure!(
        out.status.success(),
        "apply.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The new database and its schema are flushed now, not by Postgres's
    // checkpointer in the middle of a measurement (a shop's cloud is set up long
    // before its hub writes).
    client.batch_execute("CHECKPOINT").await?;
    Ok(url)
}

async fn drop_cloud(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let (client, conn) = tokio_postgres::connect(admin_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    Ok(())
}

/// A hub in this process syncing to `cloud` (or not), with its shop and owner.
async fn hub(
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

const REST_JWT_SECRET: &str = "sync-load-jwt-secret-0123456789abcdefghij";

/// A hub syncing with the cloud settings `cloud` (environment variables).
async fn hub_with(
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

fn owner_of(shop: ShopId, owner: String) -> Principal {
    Principal {
        shop_id: shop,
        user_id: Some(owner),
        role: Role::Owner,
    }
}

/// Creates `n` repair orders as `who`, in bulks of 1,000; their ids.
async fn create_ros(
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

/// CPU time (user + system) this process has used, in ms (Linux `/proc`).
fn process_cpu_ms() -> f64 {
    cpu_ms_of("self")
}

/// This process's threads named `name`: the time they ran and the time they
/// waited, runnable, for a core (ns), summed from `/proc/self/task/*/schedstat`.
fn threads_schedstat(name: &str) -> (u64, u64) {
    let mut out = (0, 0);
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let dir = task.path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        let mut f = stat
            .split_whitespace()
            .map(|v| v.parse::<u64>().unwrap_or(0));
        out.0 += f.next().unwrap_or(0);
        out.1 += f.next().unwrap_or(0);
    }
    out
}

/// The CPU time (user and system, ms) process `pid` has used, from `/proc`.
fn cpu_ms_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) end with ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 after ')'; 100 Hz.
    (ticks(11) + ticks(12)) * 10.0
}

/// The CPU time (ms) used so far by the Postgres processes serving clients of
/// database `db` (the hub's connection, or the REST server's pool): the cloud's
/// own cost of a push. They run on this machine, so `/proc` has them.
async fn cloud_cpu_ms(admin: &str, db: &str) -> anyhow::Result<f64> {
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
            &[&db],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| cpu_ms_of(&r.get::<_, i32>(0).to_string()))
        .sum())
}

/// A PostgREST-compatible server on the cloud database, as in the REST tests.
fn start_postrust(bin: &str, cloud: &str) -> anyhow::Result<(std::process::Child, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut uri = url::Url::parse(cloud)?;
    uri.set_username("authenticator")
        .map_err(|_| anyhow::anyhow!("db url"))?;
    let child = std::process::Command::new(bin)
        .env("PGRST_DB_URI", uri.as_str())
        .env("PGRST_DB_SCHEMAS", "public")
        .env("PGRST_DB_ANON_ROLE", "anon")
        .env("PGRST_SERVER_HOST", "127.0.0.1")
        .env("PGRST_SERVER_PORT", port.to_string())
        .env("PGRST_COMPAT_MODE", "true")
        .env("PGRST_LOG_LEVEL", "error")
        .env("PGRST_JWT_SECRET", REST_JWT_SECRET)
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("start {bin}"))?;
    Ok((child, port))
}

async fn push_rate(
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

/// 16 clients create for `seconds` against `url`; returns the acknowledged ids
/// with their acknowledgement instants, and the creates/s.
async fn write_load(
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

async fn serve(app: App) -> anyhow::Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    Ok((url, stop))
}

/// A hub with sync on against a fresh cloud database, serving HTTP.
async fn synced_hub(
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

/// Creates/s for `seconds` on a hub of its own, sync on (against a fresh cloud
/// database) or off. Says "hub ready" (with this process's id, for `perf` or
/// `schedstat`) just before the clients start.
async fn creates_rate(
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

async fn latency_and_throughput(
    admin: &str,
    seconds: u64,
    clients: usize,
    batch: usize,
) -> anyhow::Result<()> {
    // Creates/s, sync off then on, nothing else running (no watcher: the
    // latency phase below watches the cloud, which costs the machine CPU).
    let off = creates_rate(admin, seconds, clients, batch, false).await?;
    let on = creates_rate(admin, seconds, clients, batch, true).await?;
    println!(
        "creates/s over HTTP, {clients} clients: sync off {off:.0}, sync on {on:.0} ({:+.1}%)",
        (on / off - 1.0) * 100.0
    );

    // Acknowledgement to cloud: a trigger in the cloud notifies each row's id
    // as it commits; the watcher notes when each arrives.
    let name = format!("collisionos_sync_lag_{}", std::process::id());
    let (cloud, url, stop, _dir) = synced_hub(admin, &name, batch).await?;
    let (pg, mut conn) = tokio_postgres::connect(&cloud, tokio_postgres::NoTls).await?;
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let listener = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(Ok(m)) = futures_util::StreamExt::next(&mut messages).await {
                if let tokio_postgres::AsyncMessage::Notification(n) = m {
                    if let Ok(mut s) = seen.lock() {
                        s.entry(n.payload().to_string())
                            .or_insert_with(Instant::now);
                    }
                }
            }
        })
    };
    pg.batch_execute(
        "CREATE FUNCTION public.sync_load_seen() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN PERFORM pg_notify('sync_load', NEW.id::text); RETURN NEW; END $$;
         CREATE TRIGGER sync_load_seen AFTER INSERT ON public.repair_orders
           FOR EACH ROW EXECUTE FUNCTION public.sync_load_seen();
         LISTEN sync_load;",
    )
    .await?;
    let (acked, _) = write_load(&url, seconds, clients).await?;
    // Give the last ones time to arrive (bounded).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = {
            let a = acked.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            let s = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
            a.iter().all(|(id, _)| s.contains_key(id))
        };
        if all || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut h = Histogram::<u64>::new(3)?;
    let (mut arrived, mut missing) = (0, 0);
    {
        let a = acked.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        let s = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        for (id, at) in a.iter() {
            match s.get(id) {
                Some(v) => {
                    arrived += 1;
                    h.record(v.saturating_duration_since(*at).as_micros() as u64)?;
                }
                None => missing += 1,
            }
        }
    }
    println!(
        "acknowledgement to cloud, {clients} clients writing, sync on ({arrived} records, {missing} not seen in 30 s): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (notified by the cloud on commit)",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    let _ = stop.send(());
    drop(pg);
    listener.abort();
    drop_cloud(admin, &name).await
}

/// Bytes per repair order on the hub and in the cloud, for `ros` repair orders
/// created and then updated 10 times each (notes), all pushed.
async fn storage(admin: &str, ros: usize) -> anyhow::Result<()> {
    let name = format!("collisionos_sync_storage_{}", std::process::id());
    let cloud = fresh_cloud(admin, &name).await?;
    let dir = tempfile::tempdir()?;
    let (app, shop, owner) = hub(dir.path(), Some(&cloud), 500).await?;
    let ro = TableId::REPAIR_ORDERS;
    let who = owner_of(shop, owner);
    let start = Instant::now();
    let ids = create_ros(&app, &who, ros, "storage").await?;
    eprintln!("{ros} repair orders created in {:.0?}", start.elapsed());
    for round in 0..10 {
        for chunk in ids.chunks(1000) {
            let writes = chunk.iter().map(|id| {
                let f = parse_object(
                    ro.def(),
                    &json!({ "notes": format!("update {round}: customer called about the estimate") }),
                    Mode::Update,
                )
                .map(|(_, f)| f)
                .map_err(|e| anyhow::anyhow!("{e}"));
                let (store, who, id) = (app.store().clone(), who.clone(), id.clone());
                async move {
                    store
                        .write(WriteRequest {
                            who,
                            table: ro,
                            op: WriteOp::Update {
                                id,
                                fields: f?,
                                base: None,
                            },
                            skip_sync: false,
                            password_hash: None,
                        })
                        .await
                        .map_err(anyhow::Error::from)
                }
            });
            for r in futures_util::future::join_all(writes).await {
                r?;
            }
        }
        eprintln!(
            "update round {} of 10 done at {:.0?}",
            round + 1,
            start.elapsed()
        );
    }
    let mut pushed = 0;
    loop {
        let o = app.state.sync.run_batches(64).await?;
        anyhow::ensure!(o.unreachable.is_none() && o.failed == 0, "push: {o:?}");
        pushed += o.pushed;
        if !o.more && o.pushed == 0 {
            break;
        }
    }
    eprintln!("{pushed} records pushed at {:.0?}", start.elapsed());
    // The hub's database with its WAL folded in (what a backup copies).
    let db_path = app.store().path().to_path_buf();
    drop(app);
    let c = rusqlite::Connection::open(&db_path)?;
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let hub_bytes: i64 = c.query_row(
        "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        [],
        |r| r.get(0),
    )?;
    drop(c);
    let (pg, conn) = tokio_postgres::connect(&cloud, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    pg.batch_execute("VACUUM ANALYZE").await?;
    let row = pg
        .query_one(
            "SELECT pg_total_relation_size('public.repair_orders'),
                    pg_total_relation_size('public.crdt_changes'),
                    (SELECT count(*) FROM public.crdt_changes),
                    pg_database_size(current_database())",
            &[],
        )
        .await?;
    let (rows, changes, n_changes, db): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    let per = |b: i64| b as f64 / ros as f64;
    println!(
        "storage, {ros} repair orders x 10 updates: hub {:.0} B/RO (database file); cloud rows {:.0} B/RO, change table {:.0} B/RO ({n_changes} changes), rows + changes {:.0} B/RO, whole cloud database {:.1} MB",
        per(hub_bytes),
        per(rows),
        per(changes),
        per(rows + changes),
        db as f64 / 1e6
    );
    drop(pg);
    drop_cloud(admin, &name).await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(ros) = args.storage {
        return storage(&args.db_url, ros).await;
    }
    if let Some(n) = args.pairs {
        anyhow::ensure!(n > 0, "--pairs takes a number of pairs, 1 or more");
        return pairs(&args, n);
    }
    if let Some(only) = &args.only {
        anyhow::ensure!(only == "on" || only == "off", "--only takes on or off");
        let on = only == "on";
        let rate = creates_rate(&args.db_url, args.seconds, args.clients, args.batch, on).await?;
        println!(
            "creates/s over HTTP, {} clients, sync {only}: {rate:.0}",
            args.clients
        );
        return Ok(());
    }
    if !args.skip_push {
        for batch in [50, 500] {
            push_rate(&args.db_url, args.records, batch, None).await?;
        }
        if let Some(bin) = &args.postrust {
            for batch in [50, 500] {
                push_rate(&args.db_url, args.records, batch, Some(bin)).await?;
            }
        }
    }
    latency_and_throughput(&args.db_url, args.seconds, args.clients, args.batch).await
}
