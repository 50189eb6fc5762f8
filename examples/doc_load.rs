//! What compaction buys a record with a long history: builds one repair order's
//! document with `--changes` updates (10,000 by default), then times
//!
//! - loading it as the writer would find it without compaction: the create's
//!   snapshot followed by every change as its own chunk;
//! - loading it compacted (one snapshot, what the writer leaves after every
//!   `COMPACT_AFTER` appended changes);
//! - what one write costs to store: the whole document saved again (the old
//!   way, every write) against appending the write's own change.
//!
//!     cargo run --release --example doc_load -- --changes 10000
use clap::Parser;
use collisionos::crdt::{self, ChangeMeta};
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::TableId;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Updates in the record's history.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
    /// Times each load is repeated (the median is shown).
    #[arg(long, default_value_t = 15)]
    repeat: usize,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(repeat: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..repeat)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ro = TableId::REPAIR_ORDERS;
    let actor = automerge::ActorId::random();
    let fields = |v: serde_json::Value, mode| {
        parse_object(ro.def(), &v, mode)
            .map(|(_, f)| f)
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let meta = ChangeMeta {
        author: None,
        op: "update",
        unix_time: 1_790_000_000,
    };
    let mut doc = crdt::new_doc(&actor);
    crdt::apply(
        &mut doc,
        &fields(
            serde_json::json!({"stage": "intake", "notes": "new"}),
            Mode::Create,
        )?,
        None,
        &meta,
    )?;
    let mut chunked = doc.save();
    let stages = ["paint_booth", "detail", "reassembly", "quality_control"];
    for i in 0..args.changes {
        let f = fields(
            serde_json::json!({"stage": stages[i % stages.len()], "notes": format!("note {i}")}),
            Mode::Update,
        )?;
        let applied = crdt::apply(&mut doc, &f, None, &meta)?;
        chunked.extend_from_slice(&applied.change_bytes);
    }
    let compacted = doc.save();
    let uncompacted_load = time(args.repeat, || crdt::load(&chunked, &actor).map(|_| ()));
    let compacted_load = time(args.repeat, || crdt::load(&compacted, &actor).map(|_| ()));
    let full_save = time(args.repeat, || doc.save().len());
    let one = fields(serde_json::json!({"stage": "detail"}), Mode::Update)?;
    let append = time(args.repeat, || {
        let mut d = doc.fork();
        crdt::apply(&mut d, &one, None, &meta).map(|a| a.change_bytes.len())
    });
    println!("a repair order with {} changes:", args.changes + 1);
    println!(
        "  stored as snapshot + one chunk per change: {:>9} bytes, load {:?}",
        chunked.len(),
        uncompacted_load
    );
    println!(
        "  stored compacted (one snapshot):           {:>9} bytes, load {:?}",
        compacted.len(),
        compacted_load
    );
    println!(
        "  one more write stores: the whole document {full_save:?} (save), or its own change (fork + apply, an upper bound) {append:?}"
    );
    Ok(())
}
