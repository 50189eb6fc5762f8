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
//!
//! `main.rs` parses the arguments and runs the phases; the hub and the cloud
//! are set up in `hub.rs` and `cloud.rs`, CPU time is read in `cpu.rs`, and
//! each phase has its file: `push.rs` (1.), `ack.rs` (2., after 3.'s single
//! pair), `creates.rs` (3., `--only`, `--pairs`) and `storage.rs` (`--storage`).

mod ack;
mod cloud;
mod cpu;
mod creates;
mod hub;
mod push;
mod storage;

use ack::latency_and_throughput;
use clap::Parser;
use creates::{creates_rate, pairs};
use push::push_rate;
use storage::storage;

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
