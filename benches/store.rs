//! Store-layer benchmarks (no HTTP): durable creates and updates of repair
//! orders through the writer thread, 16 creates in flight at once (of repair
//! orders, and of 13 tables in turn), a filtered list over 100,000 repair
//! orders, the Automerge costs a write pays, and the sync worker's compression
//! of a batch's change bytes.
//!
//!     cargo bench --bench store
//!     cargo bench --bench store -- list      # one group only
//!
//! Every store lives in a fresh temp dir on the real disk (`synchronous=FULL`,
//! so each create or update waits for its group's fsync). Figures and the
//! machine they came from are in `benches/RESULTS.md`.

use collisionos::app::{init_shop, NewShop};
use collisionos::crdt::{self, ChangeMeta};
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Fields, Mode, Value};
use collisionos::domain::{Role, TableId};
use collisionos::store::queries::ListQuery;
use collisionos::store::{Store, WriteOp, WriteRequest};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde_json::json;
use std::hint::black_box;
use std::time::Duration;
use tempfile::TempDir;
use tokio::runtime::Runtime;

/// Repair orders in the store the list bench reads.
const SEEDED: usize = 100_000;
/// Records per `BulkCreate` while seeding (the API's own cap).
const CHUNK: usize = 1000;
/// Creates in flight at once in the concurrency bench.
const IN_FLIGHT: usize = 16;
/// The stages the seeded repair orders are spread over (1 in 7 is `paint_booth`).
const SEED_STAGES: &[&str] = &[
    "intake",
    "blueprint",
    "body_structure",
    "paint_prep",
    "paint_booth",
    "reassembly",
    "detail",
];

/// The tables the mixed-writes bench creates records of, in turn, with the
/// fields each requires ([`Fixture::mixed_request`]): a shop's writes touch many
/// tables, each with its own statements.
const MIXED: &[&str] = &[
    "customers",
    "vehicles",
    "insurance_companies",
    "vendors",
    "claims",
    "estimates",
    "repair_orders",
    "purchase_orders",
    "parts",
    "invoices",
    "attachments",
    "loaner_vehicles",
    "bms_imports",
];

/// A store in its own temp dir, with a shop and its owner.
struct Fixture {
    store: Store,
    owner: Principal,
    ro: TableId,
    _dir: TempDir,
}

impl Fixture {
    fn new(rt: &Runtime) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("collisionos-bench-")
            .tempdir()
            .expect("a temp dir for the bench store");
        let store = Store::open(dir.path()).expect("open the bench store");
        let (shop_id, owner_id) = rt
            .block_on(init_shop(
                &store,
                NewShop {
                    shop_name: "Bench Collision",
                    owner_email: "owner@bench.test",
                    owner_name: "Bench Owner",
                    password: "bench-password".into(),
                },
            ))
            .expect("create the bench shop");
        Fixture {
            store,
            owner: Principal {
                shop_id: collisionos::domain::ShopId::new(shop_id),
                user_id: Some(owner_id),
                role: Role::Owner,
            },
            ro: TableId::by_name("repair_orders").expect("a repair_orders table"),
            _dir: dir,
        }
    }

    /// As [`Fixture::new`], in the state turning cloud sync on leaves a hub in:
    /// every write also queues itself.
    fn queueing(rt: &Runtime) -> Fixture {
        let fx = Fixture::new(rt);
        let queue = collisionos::store::queue::Queue::open(&fx.store).expect("the sync queue");
        rt.block_on(queue.start_queueing()).expect("queueing on");
        fx
    }

    fn request(&self, op: WriteOp) -> WriteRequest {
        WriteRequest {
            who: self.owner.clone(),
            table: self.ro,
            op,
            skip_sync: false,
            password_hash: None,
        }
    }

    /// The checked fields of a new repair order, as the API would pass them.
    fn new_ro(&self, stage: &str) -> Fields {
        let body = json!({ "priority": "high", "stage": stage, "notes": "bench" });
        parse_object(self.ro.def(), &body, Mode::Create)
            .expect("a valid repair order")
            .1
    }

    /// A create of a record of `MIXED[i % MIXED.len()]`, with the fields that
    /// table requires (unique ones fresh each time).
    fn mixed_request(&self, i: usize) -> WriteRequest {
        let name = MIXED[i % MIXED.len()];
        let table = TableId::by_name(name).expect("a table of the catalog");
        let unique = uuid::Uuid::now_v7().to_string();
        let body = match name {
            "insurance_companies" | "vendors" => json!({ "name": unique }),
            "claims" => json!({ "claim_number": unique }),
            "parts" => json!({ "description": "front bumper cover" }),
            "attachments" | "bms_imports" => json!({ "file_name": "estimate.pdf" }),
            "loaner_vehicles" => json!({ "unit_number": unique }),
            _ => json!({}),
        };
        let fields = parse_object(table.def(), &body, Mode::Create)
            .unwrap_or_else(|e| panic!("a valid {name}: {e:?}"))
            .1;
        WriteRequest {
            table,
            ..self.request(WriteOp::Create { id: None, fields })
        }
    }

    fn create_op(&self) -> WriteOp {
        WriteOp::Create {
            id: None,
            fields: self.new_ro("intake"),
        }
    }

    /// Creates `n` repair orders in `BulkCreate`s of [`CHUNK`]; returns their ids.
    fn seed(&self, rt: &Runtime, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        let mut made = 0;
        while made < n {
            let k = CHUNK.min(n - made);
            let items = (made..made + k)
                .map(|i| (None, self.new_ro(SEED_STAGES[i % SEED_STAGES.len()])))
                .collect();
            let out = rt
                .block_on(self.store.write(self.request(WriteOp::BulkCreate(items))))
                .expect("seed a chunk of repair orders");
            ids.extend(out.records.into_iter().map(|r| r.id));
            made += k;
        }
        ids
    }
}

fn store_writes(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let mut g = c.benchmark_group("store");

    let fx = Fixture::new(&rt);
    g.throughput(Throughput::Elements(1));
    g.bench_function("create_repair_order", |b| {
        b.iter_batched(
            || fx.request(fx.create_op()),
            |req| rt.block_on(fx.store.write(req)).expect("create"),
            BatchSize::SmallInput,
        )
    });

    // The same, on a hub that has had sync on: the write also queues itself.
    let queued = Fixture::queueing(&rt);
    g.bench_function("create_repair_order_queued", |b| {
        b.iter_batched(
            || queued.request(queued.create_op()),
            |req| rt.block_on(queued.store.write(req)).expect("create"),
            BatchSize::SmallInput,
        )
    });

    // Updates rotate over 1,000 repair orders so no single document's history
    // grows with the number of iterations. Each sets a stage the order does not
    // have yet: a write that changes nothing is refused.
    let mut targets: Option<Vec<(String, usize)>> = None;
    let mut n = 0usize;
    g.bench_function("update_repair_order_stage", |b| {
        let ids = targets.get_or_insert_with(|| {
            fx.seed(&rt, 1000)
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, i % SEED_STAGES.len()))
                .collect()
        });
        b.iter_batched(
            || {
                n += 1;
                let k = n % ids.len();
                let (id, stage) = &mut ids[k];
                *stage = (*stage + 1) % SEED_STAGES.len();
                let mut fields = Fields::new();
                fields.insert("stage", Value::Text(SEED_STAGES[*stage].into()));
                fx.request(WriteOp::Update {
                    id: id.clone(),
                    fields,
                    base: None,
                })
            },
            |req| rt.block_on(fx.store.write(req)).expect("update"),
            BatchSize::SmallInput,
        )
    });

    g.throughput(Throughput::Elements(IN_FLIGHT as u64));
    g.bench_function("create_repair_order_16_in_flight", |b| {
        b.iter_batched(
            || {
                (0..IN_FLIGHT)
                    .map(|_| fx.request(fx.create_op()))
                    .collect::<Vec<_>>()
            },
            |reqs| in_flight(&rt, &fx.store, reqs),
            BatchSize::SmallInput,
        )
    });

    // The same, each of the 16 a record of another table (13 in turn).
    let mut next = 0usize;
    g.bench_function("create_mixed_16_in_flight", |b| {
        b.iter_batched(
            || {
                (0..IN_FLIGHT)
                    .map(|_| {
                        next += 1;
                        fx.mixed_request(next)
                    })
                    .collect::<Vec<_>>()
            },
            |reqs| in_flight(&rt, &fx.store, reqs),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// Sends every write at once (each its own task) and waits for all of them.
fn in_flight(rt: &Runtime, store: &Store, reqs: Vec<WriteRequest>) {
    rt.block_on(async {
        let tasks: Vec<_> = reqs
            .into_iter()
            .map(|req| {
                let store = store.clone();
                tokio::spawn(async move { store.write(req).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("the task ran").expect("create");
        }
    })
}

fn store_list(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let mut g = c.benchmark_group("store");
    // Built on first use, so `cargo bench -- create` does not pay for seeding.
    let mut seeded: Option<Fixture> = None;
    g.bench_function("list_50_by_stage_of_100k", |b| {
        let fx = seeded.get_or_insert_with(|| {
            let fx = Fixture::new(&rt);
            let started = std::time::Instant::now();
            fx.seed(&rt, SEEDED);
            eprintln!(
                "seeded {SEEDED} repair orders in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            fx
        });
        let shop = fx.owner.shop_id.clone();
        b.iter(|| {
            let q = ListQuery {
                newest_first: false,
                filters: vec![("stage", Value::Text("paint_booth".into()))],
                search: None,
                after: None,
                limit: 50,
            };
            let rows = rt.block_on(fx.store.list(fx.ro, &shop, q)).expect("list");
            assert_eq!(rows.len(), 50);
            rows
        })
    });
    g.finish();
}

fn automerge_costs(c: &mut Criterion) {
    let ro = TableId::by_name("repair_orders").expect("a repair_orders table");
    let actor = automerge::ActorId::random();
    let body = json!({
        "ro_number": "RO-00001",
        "priority": "high",
        "stage": "intake",
        "notes": "bench",
        "shop_id": "0190f3c4-0000-7000-8000-000000000000",
    });
    let (_, mut fields) = parse_object(ro.def(), &body, Mode::Create).expect("valid fields");
    fields.insert(
        "created_at",
        Value::Text("2025-01-01T00:00:00.000000Z".into()),
    );
    let meta = ChangeMeta {
        author: Some("0190f3c4-0000-7000-8000-000000000001"),
        op: "create",
        unix_time: 1_735_689_600,
    };

    let mut g = c.benchmark_group("automerge");
    // What a create pays: its first change, built directly (no document).
    g.bench_function("create_change", |b| {
        b.iter(|| crdt::create(&actor, black_box(&fields), &meta))
    });

    let mut doc = crdt::new_doc(&actor);
    crdt::apply(&mut doc, &fields, None, &meta).expect("apply");
    let fresh = doc.save();
    // A document after a create and 10 stage changes: a busy repair order.
    for i in 0..10 {
        let mut f = Fields::new();
        f.insert(
            "stage",
            Value::Text(SEED_STAGES[(i + 1) % SEED_STAGES.len()].into()),
        );
        crdt::apply(&mut doc, &f, None, &meta).expect("apply");
    }
    let busy = doc.save();

    g.bench_function("load_doc_after_create", |b| {
        b.iter(|| crdt::load(black_box(&fresh), &actor).expect("load"))
    });
    g.bench_function("load_doc_after_10_updates", |b| {
        b.iter(|| crdt::load(black_box(&busy), &actor).expect("load"))
    });
    g.bench_function("apply_update_save_after_10_updates", |b| {
        b.iter_batched(
            || crdt::load(&busy, &actor).expect("load"),
            |mut doc| {
                let mut f = Fields::new();
                f.insert("stage", Value::Text("detail".into()));
                let applied = crdt::apply(&mut doc, &f, None, &meta).expect("apply");
                (applied, doc.save())
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The sync worker's share of a push that is pure CPU: compressing the change
/// bytes of one batch (50 repair orders just created, read from the queue as
/// the worker reads them).
fn sync_compress(c: &mut Criterion) {
    let rt = Runtime::new().expect("a tokio runtime");
    let fx = Fixture::queueing(&rt);
    fx.seed(&rt, 50);
    let queue = collisionos::store::queue::Queue::open(&fx.store).expect("the sync queue");
    let due = rt
        .block_on(queue.due(
            "9999-12-31T00:00:00Z".into(),
            60, // the shop and its owner are due too
            std::collections::HashSet::new(),
            None,
        ))
        .expect("the due batch");
    let due: Vec<_> = due
        .records
        .into_iter()
        .filter(|r| r.table == fx.ro)
        .take(50)
        .collect();
    assert_eq!(due.len(), 50, "the 50 repair orders are due");
    let mut g = c.benchmark_group("sync");
    g.throughput(Throughput::Elements(50));
    g.bench_function("compress_changes_50", |b| {
        b.iter_batched(
            || due.clone(),
            |mut batch| {
                collisionos::sync::worker::compress_changes(&mut batch);
                batch
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = automerge_costs, store_writes, store_list, sync_compress
}
criterion_main!(benches);
