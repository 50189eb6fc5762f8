//! How the worker cuts what is due into pushes: a backlog goes in full batches
//! back to back; the partial batch after them is left to gather for a debounce
//! (pushed at once, it would chase every new write with a push of a few
//! records); a partial batch on its own is pushed at once. Driven step by step.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_support::{cloud_count, drain, enable_sync};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn create_customers(hub: &TestHub, n: usize, last_name: &str) {
    let records: Vec<Value> = (0..n)
        .map(|i| json!({ "first_name": format!("Batch {i}"), "last_name": last_name }))
        .collect();
    let (s, b) = hub
        .post(
            "/api/customers/bulk",
            hub.owner_token(),
            &json!({ "records": records }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn full_batches_go_back_to_back_and_the_partial_one_after_them_waits_for_the_debounce() {
    let db = fresh_db("sync_batching").await;
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    drain(&hub).await;
    let count = |name: &'static str| {
        let db = &db;
        async move {
            cloud_count(
                db,
                &format!("SELECT count(*) FROM public.customers WHERE last_name = '{name}'"),
            )
            .await
        }
    };

    // 120 records due, batches of 50 (the default): 50 and 50 pushed, the last 20 left.
    create_customers(&hub, 120, "Backlog").await;
    let out = hub.state.sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.failed, out.more, out.left),
        (100, 0, false, true),
        "{out:?}"
    );
    assert_eq!(count("Backlog").await, 100);
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["pendingOperations"], 20, "the rest still wait: {st}");

    // The next step (after the debounce, in the loop) pushes them.
    let out = hub.state.sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.more, out.left),
        (20, false, false),
        "{out:?}"
    );
    assert_eq!(count("Backlog").await, 120);

    // A partial batch with nothing before it is pushed at once.
    create_customers(&hub, 7, "Trickle").await;
    let out = hub.state.sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.more, out.left),
        (7, false, false),
        "{out:?}"
    );
    assert_eq!(count("Trickle").await, 7);

    // Draining (sync now, tests) pushes everything, the left part included.
    create_customers(&hub, 130, "Drained").await;
    let out = drain(&hub).await;
    assert_eq!(
        (out.failed, out.more, out.left),
        (0, false, false),
        "{out:?}"
    );
    assert_eq!(count("Drained").await, 130);
    db.drop_db().await;
}
