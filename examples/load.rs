//! Drives the real HTTP API and reports throughput and latency.
//!
//!     cargo run --release --example load -- --help
//!     cargo run --release --example load                       # 16 clients creating
//!     cargo run --release --example load -- --scenario light   # 1 client, sequential
//!     cargo run --release --example load -- --scenario list    # seed 100k, then list
//!
//! With no `--url` it starts its own hub in this process on 127.0.0.1:0, in a
//! temp data dir, with its own shop and owner, and removes it afterwards. With
//! `--url` (localhost only) it logs in to that hub with `--email`/`--password`.
//!
//! Each client sends one request and awaits its answer before the next. Latency
//! is measured from sending to the end of the answer's body. The run always ends
//! by itself: after `--requests` requests or `--seconds` seconds, whichever first.
//! Any non-2xx answer counts as an error; the first is printed.

use anyhow::{bail, ensure, Context};
use clap::{Parser, ValueEnum};
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `--clients` concurrent clients each creating repair orders.
    Create,
    /// One client creating repair orders one after another (light load).
    Light,
    /// Seed `--seed` repair orders with bulk creates, then time
    /// `GET /api/repair_orders?stage=paint_booth&limit=50`.
    List,
}

/// Load generator for a CollisionOS hub (localhost only; always stops by itself).
#[derive(Debug, Parser)]
#[command(name = "load")]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Scenario::Create)]
    scenario: Scenario,
    /// Concurrent clients [default: 16 for create, 1 for light and list].
    #[arg(long)]
    clients: Option<usize>,
    /// Requests to time, in total over all clients [default: 20000 for create,
    /// 2000 for light and list].
    #[arg(long)]
    requests: Option<u64>,
    /// Stop after this many seconds even if `--requests` are not all sent.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Untimed requests sent first (per client), to open connections and warm caches.
    #[arg(long, default_value_t = 20)]
    warmup: u64,
    /// Repair orders to create before timing the list (scenario list; 0: none).
    /// With `--url` they are added to that hub's data.
    #[arg(long, default_value_t = 100_000)]
    seed: u64,
    /// An existing hub to drive (http://127.0.0.1:PORT or http://localhost:PORT).
    /// Without it, a hub is started in this process with a temp data dir.
    #[arg(long)]
    url: Option<String>,
    /// Login e-mail for `--url`.
    #[arg(long, env = "LOAD_EMAIL", default_value = "owner@load.test")]
    email: String,
    /// Login password for `--url` (better from the environment).
    #[arg(long, env = "LOAD_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Data dir of the in-process hub (default: a temp dir, removed at exit).
    /// Must not hold a shop yet.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Worker threads of the in-process hub's runtime (default: one per core).
    #[arg(long)]
    server_threads: Option<usize>,
    /// Print the rate of each interval of this many seconds while timing (0: off).
    #[arg(long, default_value_t = 0)]
    interval: u64,
}

/// Most requests and seconds one run may take: the tool is always bounded.
const MAX_REQUESTS: u64 = 10_000_000;
const MAX_SECONDS: u64 = 3_600;
const BULK: u64 = 1000;
const STAGES: &[&str] = &[
    "intake",
    "blueprint",
    "body_structure",
    "paint_prep",
    "paint_booth",
    "reassembly",
    "detail",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.seconds > 0 && args.seconds <= MAX_SECONDS,
        "--seconds must be 1 to {MAX_SECONDS}"
    );
    let clients = args.clients.unwrap_or(match args.scenario {
        Scenario::Create => 16,
        Scenario::Light | Scenario::List => 1,
    });
    ensure!((1..=1024).contains(&clients), "--clients must be 1 to 1024");
    let requests = args.requests.unwrap_or(match args.scenario {
        Scenario::Create => 20_000,
        Scenario::Light | Scenario::List => 2_000,
    });
    ensure!(
        (1..=MAX_REQUESTS).contains(&requests),
        "--requests must be 1 to {MAX_REQUESTS}"
    );
    ensure!(
        args.seed <= MAX_REQUESTS,
        "--seed must be at most {MAX_REQUESTS}"
    );

    // The hub (if in-process) gets its own runtime, so its threads are not the
    // clients' threads, as when it runs as its own program.
    let mut hub = None;
    let (base, email, password) = match &args.url {
        Some(url) => {
            let base = local_url(url)?;
            let password = args
                .password
                .clone()
                .context("--url needs --password (or LOAD_PASSWORD)")?;
            (base, args.email.clone(), password)
        }
        None => {
            let h = Hub::start(args.data_dir.clone(), args.server_threads)?;
            let base = format!("http://{}", h.addr);
            let (email, password) = (h.email.clone(), h.password.clone());
            hub = Some(h);
            (base, email, password)
        }
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-client")
        .enable_all()
        .build()
        .context("the client runtime")?;
    let outcome = rt.block_on(run(
        &args,
        Plan {
            base,
            clients,
            requests,
            deadline: Duration::from_secs(args.seconds),
        },
        &email,
        &password,
    ));
    drop(rt);
    if let Some(h) = hub {
        h.stop();
    }
    outcome
}

/// Refuses any target but this machine.
fn local_url(raw: &str) -> anyhow::Result<String> {
    let u = url::Url::parse(raw).with_context(|| format!("--url {raw} is not a URL"))?;
    ensure!(u.scheme() == "http", "--url must be http://");
    let local = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    ensure!(
        local,
        "--url must name localhost or 127.0.0.1: this tool only loads this machine"
    );
    Ok(raw.trim_end_matches('/').to_string())
}

/// A hub served from this process on 127.0.0.1:0, on its own runtime.
struct Hub {
    addr: SocketAddr,
    email: String,
    password: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl Hub {
    fn start(data_dir: Option<PathBuf>, threads: Option<usize>) -> anyhow::Result<Hub> {
        let (dir, tmp) = match data_dir {
            Some(d) => (d, None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("collisionos-load-")
                    .tempdir()
                    .context("a temp data dir")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = threads {
            b.worker_threads(n);
        }
        let rt = b
            .thread_name("hub-worker")
            .enable_all()
            .build()
            .context("the hub runtime")?;
        let email = "owner@load.test".to_string();
        let password = "load-test-password".to_string();
        let config = Config::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.clone());
        let (listener, app) = rt.block_on(async {
            let app = App::build(&config).await?;
            init_shop(
                app.store(),
                NewShop {
                    shop_name: "Load Test Collision",
                    owner_email: &email,
                    owner_name: "Load Owner",
                    password: password.clone(),
                },
            )
            .await?;
            let listener = tokio::net::TcpListener::bind(config.listen).await?;
            anyhow::Ok((listener, app))
        })?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hub".into())
            .spawn(move || {
                rt.block_on(app.serve(listener, async {
                    let _ = stopped.await;
                }))
            })?;
        eprintln!("hub: in-process on {addr}, data dir {}", dir.display());
        Ok(Hub {
            addr,
            email,
            password,
            stop: Some(stop),
            thread: Some(thread),
            _dir: tmp,
        })
    }

    fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("hub: stopped with an error: {e:#}"),
                Err(_) => eprintln!("hub: its thread panicked"),
            }
        }
    }
}

struct Plan {
    base: String,
    clients: usize,
    requests: u64,
    deadline: Duration,
}

async fn run(args: &Args, plan: Plan, email: &str, password: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .http1_only()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(plan.clients.max(4))
        .pool_idle_timeout(Duration::from_secs(90))
        .timeout(Duration::from_secs(30))
        .build()
        .context("the HTTP client")?;
    let resp = http
        .post(format!("{}/api/auth/login", plan.base))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .context("POST /api/auth/login")?;
    let status = resp.status();
    let body: Value = resp.json().await.context("the login answer")?;
    ensure!(status.is_success(), "login failed: {status} {body}");
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .context("the login answer has no token")?
        .to_string();
    let target = Target {
        http,
        base: plan.base.clone(),
        auth: format!("Bearer {token}"),
    };

    let load = match args.scenario {
        Scenario::Create | Scenario::Light => Load::Create,
        Scenario::List => {
            if args.seed > 0 {
                seed(&target, args.seed).await?;
            }
            Load::List
        }
    };
    println!(
        "scenario: {:?}, {} client(s), {} timed request(s) (or {} s), {} warm-up request(s) per client, target {}",
        args.scenario,
        plan.clients,
        plan.requests,
        plan.deadline.as_secs(),
        args.warmup,
        plan.base
    );
    if args.warmup > 0 {
        let warm = Shared::new(args.warmup * plan.clients as u64);
        drive(&target, load, plan.clients, &warm, plan.deadline).await?;
        if warm.errors.load(Ordering::Relaxed) > 0 {
            eprintln!("warm-up: {} error(s)", warm.errors.load(Ordering::Relaxed));
        }
    }
    let shared = Shared::new(plan.requests);
    let started = Instant::now();
    let ticker = (args.interval > 0).then(|| {
        let (shared, every) = (shared.clone(), Duration::from_secs(args.interval));
        tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                let done = shared.done.load(Ordering::Relaxed);
                eprintln!(
                    "  {:>6.1} s: {:.0}/s",
                    started.elapsed().as_secs_f64(),
                    (done - last) as f64 / every.as_secs_f64()
                );
                last = done;
            }
        })
    });
    let hist = drive(&target, load, plan.clients, &shared, plan.deadline).await?;
    let elapsed = started.elapsed();
    if let Some(t) = ticker {
        t.abort();
    }
    report(load, &hist, &shared, elapsed);
    Ok(())
}

#[derive(Clone)]
struct Target {
    http: reqwest::Client,
    base: String,
    auth: String,
}

#[derive(Debug, Clone, Copy)]
enum Load {
    Create,
    List,
}

/// What all clients of one phase share: how many requests remain, and errors.
struct Shared {
    remaining: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    first_error: AtomicBool,
}

impl Shared {
    fn new(requests: u64) -> Arc<Shared> {
        Arc::new(Shared {
            remaining: AtomicU64::new(requests),
            done: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: AtomicBool::new(false),
        })
    }

    /// Claims one request; false when none remain.
    fn claim(&self) -> bool {
        self.remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    fn error(&self, what: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if !self.first_error.swap(true, Ordering::Relaxed) {
            eprintln!("first error: {what}");
        }
    }
}

fn histogram() -> anyhow::Result<Histogram<u64>> {
    // Microseconds, 1 µs to 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).context("a histogram")
}

/// Runs `clients` loops until the requests run out or the deadline passes.
async fn drive(
    target: &Target,
    load: Load,
    clients: usize,
    shared: &Arc<Shared>,
    deadline: Duration,
) -> anyhow::Result<Histogram<u64>> {
    let until = Instant::now() + deadline;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (target, shared) = (target.clone(), shared.clone());
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram()?;
            while Instant::now() < until && shared.claim() {
                let t0 = Instant::now();
                let res = one(&target, load).await;
                shared.done.fetch_add(1, Ordering::Relaxed);
                match res {
                    Ok(()) => {
                        let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                        hist.saturating_record(us.max(1));
                    }
                    Err(e) => shared.error(&format!("{e:#}")),
                }
            }
            anyhow::Ok(hist)
        }));
    }
    let mut all = histogram()?;
    for t in tasks {
        let h = t.await.context("a client task")??;
        all.add(&h).context("merging histograms")?;
    }
    Ok(all)
}

/// One request, its answer read to the end; a non-2xx answer is an error.
async fn one(t: &Target, load: Load) -> anyhow::Result<()> {
    let req = match load {
        Load::Create => t
            .http
            .post(format!("{}/api/repair_orders", t.base))
            .header("content-type", "application/json")
            .body(r#"{"priority":"high","stage":"intake","notes":"load"}"#),
        Load::List => t.http.get(format!(
            "{}/api/repair_orders?stage=paint_booth&limit=50",
            t.base
        )),
    };
    let resp = req.header("authorization", &t.auth).send().await?;
    let status = resp.status();
    let body = resp.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

/// Creates `n` repair orders with bulk creates of up to 1000, stages spread
/// over [`STAGES`].
async fn seed(t: &Target, n: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut made = 0;
    while made < n {
        let k = BULK.min(n - made);
        let records: Vec<Value> = (made..made + k)
            .map(|i| {
                json!({
                    "priority": "normal",
                    "stage": STAGES[(i % STAGES.len() as u64) as usize],
                    "notes": "seeded by the load tool",
                })
            })
            .collect();
        let resp = t
            .http
            .post(format!("{}/api/repair_orders/bulk", t.base))
            .header("authorization", &t.auth)
            .json(&json!({ "records": records }))
            .send()
            .await
            .context("POST /api/repair_orders/bulk")?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!("seeding failed after {made} records: {status} {body}");
        }
        resp.bytes().await?;
        made += k;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {n} repair orders in {secs:.1} s ({:.0} records/s)",
        n as f64 / secs
    );
    Ok(())
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn report(load: Load, hist: &Histogram<u64>, shared: &Shared, elapsed: Duration) {
    let ok = hist.len();
    let errors = shared.errors.load(Ordering::Relaxed);
    let what = match load {
        Load::Create => "creates",
        Load::List => "lists",
    };
    let secs = elapsed.as_secs_f64();
    println!(
        "{ok} {what} ok, {errors} error(s) in {secs:.2} s: {:.0} {what}/s",
        ok as f64 / secs
    );
    if ok > 0 {
        println!(
            "latency ms: p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  (mean {:.3})",
            ms(hist.value_at_quantile(0.50)),
            ms(hist.value_at_quantile(0.90)),
            ms(hist.value_at_quantile(0.99)),
            ms(hist.max()),
            hist.mean() / 1000.0,
        );
    }
}
