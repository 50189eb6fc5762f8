//! Fan-out to bay tablets: how long one write takes to reach every tablet, and
//! how many changes per second reach all of them under a flood.
//!
//!     cargo run --release --example ws_load -- --help
//!     cargo run --release --example ws_load                  # 50 tablets, 1,000 writes, 20,000-change flood
//!
//! It starts a hub in this process (its own runtime and threads) on
//! 127.0.0.1:0 in a temp data dir, connects `--tablets` WebSocket clients as the
//! shop's owner (each its own device), then:
//!
//! 1. **latency**: `--writes` times, one HTTP PATCH of a customer's notes, then
//!    waits until every tablet has received that change; the time from sending
//!    the PATCH to the last tablet's receipt, as p50/p99/max;
//! 2. **flood**: `--flood` customers created in bulks of 1,000 as fast as the hub
//!    takes them; changes delivered to all tablets per second (from the first
//!    bulk sent to the last tablet having every change);
//! 3. **memory**: this process's resident set (hub and clients together, so an
//!    upper bound for the hub) with the tablets connected, before and after.
//!
//! Every wait has a deadline (`--seconds`); the run always ends by itself.

use anyhow::{bail, Context};
use clap::Parser;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Fan-out benchmark for a CollisionOS hub's tablets (always stops by itself).
#[derive(Debug, Parser)]
#[command(name = "ws_load")]
struct Args {
    /// Tablets connected.
    #[arg(long, default_value_t = 50)]
    tablets: usize,
    /// Writes timed one after another (each until every tablet has it).
    #[arg(long, default_value_t = 1000)]
    writes: u64,
    /// Changes in the flood (customers created in bulks of 1,000; 0: no flood).
    #[arg(long, default_value_t = 20_000)]
    flood: u64,
    /// Longest any one phase may take.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
}

/// What a tablet saw: a change's note (`w<k>` for a timed write) or a flood record.
enum Seen {
    Write(u64, Instant),
    Flood(Instant),
}

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::Builder::new()
        .prefix("collisionos-ws-load-")
        .tempdir()?;
    let hub_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("hub-worker")
        .enable_all()
        .build()?;
    let email = "owner@ws-load.test";
    let password = "ws-load-test-password";
    let config = Config::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path().to_path_buf(),
    );
    let (listener, app) = hub_rt.block_on(async {
        let app = App::build(&config).await?;
        init_shop(
            app.store(),
            NewShop {
                shop_name: "WS Load Collision",
                owner_email: email,
                owner_name: "Load Owner",
                password: password.to_string(),
            },
        )
        .await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        anyhow::Ok((listener, app))
    })?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let hub = std::thread::Builder::new()
        .name("hub".into())
        .spawn(move || {
            hub_rt.block_on(app.serve(listener, async {
                let _ = stopped.await;
            }))
        })?;
    eprintln!("hub: in-process on {addr}");

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("tablets")
        .enable_all()
        .build()?;
    let result = client_rt.block_on(run(&args, &format!("http://{addr}"), email, password));
    let _ = stop.send(());
    let _ = hub.join();
    result
}

async fn run(args: &Args, base: &str, email: &str, password: &str) -> anyhow::Result<()> {
    let deadline = Duration::from_secs(args.seconds);
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("a token")?.to_string();
    let customer: Value = http
        .post(format!("{base}/api/customers"))
        .bearer_auth(&token)
        .json(&json!({ "first_name": "Fan", "last_name": "Out" }))
        .send()
        .await?
        .json()
        .await?;
    let id = customer["id"].as_str().context("an id")?.to_string();

    // Connect the tablets; each reader reports what it sees.
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Seen)>();
    let ws_url = format!("{}/api/ws", base.replacen("http://", "ws://", 1));
    let rss_before = rss_kib();
    for i in 0..args.tablets {
        let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url).await?;
        let hello = json!({ "type": "hello", "v": 1, "token": token,
                            "device_id": format!("load-{i}"), "since": 0 });
        ws.send(Message::text(hello.to_string())).await?;
        // Up to caught_up, before the next tablet.
        loop {
            match tokio::time::timeout(deadline, ws.next()).await? {
                Some(Ok(Message::Text(t))) if t.contains("\"caught_up\"") => break,
                Some(Ok(Message::Close(f))) => bail!("tablet {i} closed: {f:?}"),
                None | Some(Err(_)) => bail!("tablet {i} went away"),
                _ => {}
            }
        }
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                let Message::Text(t) = m else { continue };
                let at = Instant::now();
                // The cheap look first: only changes are parsed.
                if !t.contains("\"type\":\"change\"") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&t) else {
                    continue;
                };
                if v["type"] != "change" {
                    continue;
                }
                let seen = match v["fields"]["notes"].as_str() {
                    Some(n) if n.starts_with('w') => match n[1..].parse() {
                        Ok(k) => Seen::Write(k, at),
                        Err(_) => continue,
                    },
                    _ if v["op"] == "create" => Seen::Flood(at),
                    _ => continue,
                };
                if tx.send((i, seen)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let rss_connected = rss_kib();
    eprintln!("{} tablets connected", args.tablets);

    // 1. Latency of one write to every tablet.
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for k in 0..args.writes {
        let sent = Instant::now();
        let resp = http
            .patch(format!("{base}/api/customers/{id}"))
            .bearer_auth(&token)
            .json(&json!({ "notes": format!("w{k}") }))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("write {k}: {}", resp.status());
        }
        let mut got = vec![false; args.tablets];
        let mut left = args.tablets;
        let mut last = sent;
        while left > 0 {
            let (i, seen) = tokio::time::timeout(deadline, rx.recv())
                .await
                .context("every tablet gets the write in time")?
                .context("the tablets are gone")?;
            if let Seen::Write(n, at) = seen {
                if n == k && !got[i] {
                    got[i] = true;
                    left -= 1;
                    last = last.max(at);
                }
            }
        }
        hist.record((last - sent).as_micros().max(1) as u64)?;
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "latency to all {} tablets over {} writes: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.tablets,
        args.writes,
        ms(0.5),
        ms(0.99),
        hist.max() as f64 / 1000.0
    );

    // 2. Flood: changes per second delivered to every tablet.
    if args.flood > 0 {
        let start = Instant::now();
        let bulks = args.flood.div_ceil(1000);
        let sender = {
            let (http, base, token) = (http.clone(), base.to_string(), token.clone());
            let total = args.flood;
            tokio::spawn(async move {
                for b in 0..bulks {
                    let n = (total - b * 1000).min(1000);
                    let records: Vec<Value> = (0..n)
                        .map(|i| json!({ "first_name": format!("F{b}-{i}"), "last_name": "Flood" }))
                        .collect();
                    let resp = http
                        .post(format!("{base}/api/customers/bulk"))
                        .bearer_auth(&token)
                        .json(&json!({ "records": records }))
                        .send()
                        .await?;
                    if !resp.status().is_success() {
                        bail!("bulk {b}: {}", resp.status());
                    }
                }
                anyhow::Ok(())
            })
        };
        let mut counts = vec![0u64; args.tablets];
        let mut done = 0;
        let mut last = start;
        while done < args.tablets {
            let (i, seen) = tokio::time::timeout(deadline, rx.recv())
                .await
                .context("every tablet gets the flood in time")?
                .context("the tablets are gone (dropped as too slow?)")?;
            if let Seen::Flood(at) = seen {
                counts[i] += 1;
                if counts[i] == args.flood {
                    done += 1;
                    last = last.max(at);
                }
            }
        }
        sender.await??;
        let secs = (last - start).as_secs_f64();
        println!(
            "flood: {} changes to all {} tablets in {:.2} s: {:.0} changes/s delivered to all",
            args.flood,
            args.tablets,
            secs,
            args.flood as f64 / secs
        );
    }
    let kib =
        |v: Option<u64>| v.map_or_else(|| "?".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
    println!(
        "resident set of this process (hub + {} clients): before connecting {}, connected {}, after {}",
        args.tablets,
        kib(rss_before),
        kib(rss_connected),
        kib(rss_kib())
    );
    Ok(())
}
