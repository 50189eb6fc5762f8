//! The change log as the sync queue, read and marked the way the worker does
//! (`Queue::due`, `Queue::complete`, `Queue::mark_failed`), step by step on a
//! real store: a record's later change is never passed over without an item
//! that brings it to the cloud, and the cursor moves only when a batch is
//! marked.

use crate::common::*;
use collisionos::domain::value::format_timestamp;
use collisionos::domain::TableId;
use collisionos::store::queue::{Batch, DueRecord, Queue};
use serde_json::json;
use std::collections::HashSet;

const LATER: &str = "9999-12-31T00:00:00.000000Z";

fn now() -> String {
    format_timestamp(time::OffsetDateTime::now_utc())
}

async fn due(q: &Queue, at: &str, busy: &[&DueRecord], log_from: Option<i64>) -> Batch {
    let busy: HashSet<(TableId, String)> = busy
        .iter()
        .map(|r| (r.table, r.record_id.clone()))
        .collect();
    q.due(at.into(), 50, busy, log_from)
        .await
        .expect("the due batch")
}

fn ids(b: &Batch) -> Vec<&str> {
    b.records.iter().map(|r| r.record_id.as_str()).collect()
}

fn find<'a>(b: &'a Batch, id: &str) -> &'a DueRecord {
    b.records
        .iter()
        .find(|r| r.record_id == id)
        .unwrap_or_else(|| panic!("{id} is not in the batch: {:?}", ids(b)))
}

fn cursor(hub: &TestHub) -> i64 {
    hub.db()
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'log_cursor'",
            [],
            |r| r.get(0),
        )
        .expect("the cursor")
}

fn last_seq(hub: &TestHub, id: &str) -> i64 {
    hub.db()
        .query_row(
            "SELECT max(seq) FROM change_log WHERE record_id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the record's last change")
}

/// Items of the record: (operation, status, change_seq).
fn items(hub: &TestHub, id: &str) -> Vec<(String, String, i64)> {
    hub.db()
        .prepare(
            "SELECT operation, status, change_seq FROM sync_queue WHERE record_id = ?1 ORDER BY id",
        )
        .expect("prepare")
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(Iterator::collect)
        .expect("items")
}

/// A hub whose shop and owner (written after sync was switched on) are
/// marked as pushed, so the log past the cursor holds only what a test writes.
async fn settled() -> (TestHub, Queue) {
    let hub = TestHub::spawn().await;
    let q = hub.state.sync.queue().clone();
    let all = due(&q, &now(), &[], None).await;
    assert_eq!(all.records.len(), 2, "the shop and its owner");
    q.complete(all.records, all.log, now(), true)
        .await
        .expect("marked");
    (hub, q)
}

async fn customer(hub: &TestHub, name: &str) -> String {
    let c = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "last_name": name }),
        )
        .await;
    c["id"].as_str().expect("id").to_string()
}

async fn rename(hub: &TestHub, id: &str, name: &str) {
    let (s, b) = hub
        .patch(
            &format!("/api/customers/{id}"),
            hub.owner_token(),
            &json!({ "last_name": name }),
        )
        .await;
    assert!(s.is_success(), "{s} {b}");
}

/// Reading does not move the cursor: until a batch is marked, the same
/// records are read again (a push that never reached the cloud loses nothing).
#[tokio::test]
async fn the_cursor_moves_only_when_a_batch_is_marked() {
    let (hub, q) = settled().await;
    let a = customer(&hub, "Able").await;
    let b = customer(&hub, "Baker").await;
    let start = cursor(&hub);
    let first = due(&q, &now(), &[], None).await;
    assert_eq!(ids(&first), [a.as_str(), b.as_str()]);
    assert_eq!(find(&first, &a).operation, "CREATE");
    assert!(find(&first, &a).items.is_empty(), "read from the log");
    assert_eq!(cursor(&hub), start, "a read moves nothing");
    let again = due(&q, &now(), &[], None).await;
    assert_eq!(ids(&again), ids(&first));
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["pendingOperations"], 2, "{st}");

    let log = first.log.clone().expect("a range of the log");
    assert_eq!(log.upto, last_seq(&hub, &b));
    q.complete(first.records, first.log, now(), true)
        .await
        .expect("marked");
    assert_eq!(cursor(&hub), log.upto);
    assert!(due(&q, &now(), &[], None).await.is_empty());
    assert_eq!(
        items(&hub, &a),
        [("CREATE".into(), "COMPLETED".into(), last_seq(&hub, &a))],
        "its history"
    );
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["pendingOperations"], 0, "{st}");
}

/// A record changed while its push is under way is passed over by the next
/// read (never in two pushes at once) and folded into a PENDING item when
/// that read is marked; the next batch pushes exactly the change it missed.
#[tokio::test]
async fn a_record_changed_during_its_push_is_pushed_again_after() {
    let (hub, q) = settled().await;
    let a = customer(&hub, "Able").await;
    let in_flight = due(&q, &now(), &[], None).await;
    let created = last_seq(&hub, &a);
    assert_eq!(find(&in_flight, &a).seq, created);

    rename(&hub, &a, "Able-Renamed").await;
    let b = customer(&hub, "Baker").await;
    let renamed = last_seq(&hub, &a);
    let upto = in_flight.log.as_ref().map(|l| l.upto);
    let busy: Vec<&DueRecord> = in_flight.records.iter().collect();
    let next = due(&q, &now(), &busy, upto).await;
    assert_eq!(
        ids(&next),
        [b.as_str()],
        "the record in flight is passed over"
    );
    let folds = &next.log.as_ref().expect("a range").folds;
    assert_eq!(folds.len(), 1, "{folds:?}");
    assert_eq!(
        (folds[0].record_id.as_str(), folds[0].seq),
        (a.as_str(), renamed)
    );

    // Marked in order: the push in flight, then the read after it.
    q.complete(
        in_flight.records.clone(),
        in_flight.log.clone(),
        now(),
        true,
    )
    .await
    .expect("the first marked");
    q.complete(next.records.clone(), next.log.clone(), now(), true)
        .await
        .expect("the second marked");
    assert_eq!(
        items(&hub, &a),
        [
            ("CREATE".into(), "COMPLETED".into(), created),
            ("UPDATE".into(), "PENDING".into(), renamed)
        ]
    );
    let then = due(&q, &now(), &[], None).await;
    assert_eq!(ids(&then), [a.as_str()]);
    let rec = find(&then, &a);
    assert_eq!(
        rec.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [renamed],
        "only the change the first push did not carry"
    );
    q.complete(then.records.clone(), then.log.clone(), now(), true)
        .await
        .expect("marked");
    assert!(due(&q, &now(), &[], None).await.is_empty());
}

/// A record whose push failed for now waits behind its RETRY item: its later
/// changes are folded into a PENDING item, held until the retry is due, and
/// then go with it in one push.
#[tokio::test]
async fn a_later_change_waits_behind_its_records_retry() {
    let (hub, q) = settled().await;
    let a = customer(&hub, "Able").await;
    let batch = due(&q, &now(), &[], None).await;
    let rec = find(&batch, &a).clone();
    q.mark_failed(rec, 1, Some(LATER.into()), "try later".into(), now())
        .await
        .expect("RETRY");
    q.complete(Vec::new(), batch.log, now(), false)
        .await
        .expect("the range marked");
    let created = last_seq(&hub, &a);
    assert_eq!(
        items(&hub, &a),
        [("CREATE".into(), "RETRY".into(), created)]
    );

    rename(&hub, &a, "Able-Again").await;
    let renamed = last_seq(&hub, &a);
    let held = due(&q, &now(), &[], None).await;
    assert!(held.records.is_empty(), "held: {:?}", ids(&held));
    q.complete(Vec::new(), held.log, now(), false)
        .await
        .expect("the range marked");
    assert_eq!(
        items(&hub, &a),
        [
            ("CREATE".into(), "RETRY".into(), created),
            ("UPDATE".into(), "PENDING".into(), renamed)
        ]
    );
    assert!(due(&q, &now(), &[], None).await.is_empty(), "still held");

    let due_now = due(&q, LATER, &[], None).await;
    let rec = find(&due_now, &a);
    assert_eq!(rec.seq, renamed);
    assert_eq!(rec.items.len(), 2);
    assert_eq!(
        rec.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [created, renamed]
    );
    q.complete(due_now.records.clone(), due_now.log.clone(), now(), true)
        .await
        .expect("marked");
    assert!(items(&hub, &a).iter().all(|i| i.1 == "COMPLETED"));
    assert!(due(&q, LATER, &[], None).await.is_empty());
}

/// A backlog (the cloud away while records change, each several times, in
/// turns) pushes each record once, with every one of its changes, however
/// the batches cut the log: the cloud's row is upserted once, not once per
/// change, and a record's later entries take no room in a batch.
#[tokio::test]
async fn a_backlog_pushes_each_record_once_with_all_its_changes() {
    let (hub, q) = settled().await;
    let a = customer(&hub, "Able").await;
    let b = customer(&hub, "Baker").await;
    rename(&hub, &a, "Able-2").await;
    rename(&hub, &b, "Baker-2").await;
    rename(&hub, &a, "Able-3").await;
    let seqs = |id: &str| -> Vec<i64> {
        hub.db()
            .prepare("SELECT seq FROM change_log WHERE record_id = ?1 ORDER BY seq")
            .expect("prepare")
            .query_map([id], |r| r.get(0))
            .and_then(Iterator::collect)
            .expect("seqs")
    };
    let (a_seqs, b_seqs) = (seqs(&a), seqs(&b));
    assert_eq!((a_seqs.len(), b_seqs.len()), (3, 2));
    let one = || q.due(now(), 1, HashSet::new(), None);

    // Batches of one record: the first takes Able with all three changes,
    // though the log's next entry is Baker's.
    let first = one().await.expect("the first batch");
    assert_eq!(ids(&first), [a.as_str()]);
    let rec = find(&first, &a);
    assert_eq!(
        rec.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        a_seqs
    );
    assert_eq!((rec.seq, rec.operation.as_str()), (a_seqs[2], "CREATE"));
    q.complete(first.records, first.log, now(), true)
        .await
        .expect("marked");

    // The second takes Baker with both of its changes; Able's later entries
    // are passed over without taking the batch's one place.
    let second = one().await.expect("the second batch");
    assert_eq!(ids(&second), [b.as_str()]);
    let rec = find(&second, &b);
    assert_eq!(
        rec.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        b_seqs
    );
    let log = second.log.clone().expect("a range");
    assert_eq!(log.upto, a_seqs[2], "the range reaches the log's end");
    q.complete(second.records, second.log, now(), true)
        .await
        .expect("marked");

    assert!(one().await.expect("a read").is_empty());
    assert_eq!(cursor(&hub), a_seqs[2]);
    assert_eq!(
        items(&hub, &a),
        [("CREATE".into(), "COMPLETED".into(), a_seqs[2])],
        "one push in Able's history"
    );
    assert_eq!(
        items(&hub, &b),
        [("CREATE".into(), "COMPLETED".into(), b_seqs[1])]
    );
}
