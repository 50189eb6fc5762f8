//! The writer driven group by group, on a real SQLite file.

use super::doc_cache::{DocCache, DOC_CACHE};
use super::*;
use crate::crdt;
use crate::domain::value::{parse_object, Mode, Value};

struct Fixture {
    conn: Connection,
    w: Writer,
    who: Principal,
    _dir: tempfile::TempDir,
}

fn table(name: &str) -> TableId {
    TableId::by_name(name).expect("table")
}

fn fields(t: TableId, body: serde_json::Value, mode: Mode) -> Fields {
    parse_object(t.def(), &body, mode).expect("valid fields").1
}

fn req(f: &Fixture, t: TableId, op: WriteOp) -> WriteRequest {
    WriteRequest {
        who: f.who.clone(),
        table: t,
        op,
        skip_sync: false,
        password_hash: None,
    }
}

/// Runs `reqs` as one group, as the writer thread would; returns the answers.
fn group(f: &mut Fixture, reqs: Vec<WriteRequest>) -> Vec<Result<WriteOutcome, StoreError>> {
    let mut answers = Vec::new();
    let batch = reqs
        .into_iter()
        .map(|req| {
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            Job {
                work: Work::Write(req),
                reply,
            }
        })
        .collect();
    f.w.commit_group(&mut f.conn, batch, || None);
    answers
        .into_iter()
        .map(|mut a| a.try_recv().expect("every job is answered"))
        .collect()
}

fn count(f: &Fixture, sql: &str) -> i64 {
    f.conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conn = Connection::open(dir.path().join("t.db")).expect("open");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("pragma");
    super::super::migrations::apply(&mut conn).expect("migrate");
    let shop = uuid::Uuid::now_v7();
    let mut f = Fixture {
        conn,
        w: Writer {
            actor: ActorId::random(),
            docs: DocCache::default(),
            committed: watch::channel(0).0,
            stats: Default::default(),
        },
        who: Principal::system(shop.into()),
        _dir: dir,
    };
    let shops = table("shops");
    let shop_fields = fields(shops, serde_json::json!({ "name": "T" }), Mode::Create);
    let r = req(
        &f,
        shops,
        WriteOp::Create {
            id: Some(shop),
            fields: shop_fields,
        },
    );
    let out = group(&mut f, vec![r]);
    assert!(out[0].is_ok());
    f
}

/// A fixture whose writes wait for the cloud, as after sync was first
/// switched on.
fn queueing_fixture() -> Fixture {
    let f = fixture();
    switch_queueing_on(&f);
    f
}

/// Sets the change log's cursor at its last entry, as turning sync on does.
fn switch_queueing_on(f: &Fixture) {
    f.conn
        .execute(
            "INSERT INTO sync_state (key, value)
             SELECT 'log_cursor', CAST(coalesce(max(seq), 0) AS TEXT) FROM change_log",
            [],
        )
        .expect("log_cursor");
}

fn create_ro(f: &Fixture, id: Option<uuid::Uuid>) -> WriteRequest {
    let ro = table("repair_orders");
    let body = serde_json::json!({ "stage": "intake" });
    req(
        f,
        ro,
        WriteOp::Create {
            id,
            fields: fields(ro, body, Mode::Create),
        },
    )
}

fn set_stage(f: &Fixture, id: &str, stage: &str) -> WriteRequest {
    let ro = table("repair_orders");
    req(
        f,
        ro,
        WriteOp::Update {
            id: id.into(),
            fields: fields(ro, serde_json::json!({ "stage": stage }), Mode::Update),
            base: None,
        },
    )
}

#[test]
fn the_document_cache_stays_bounded_and_evicts_the_oldest() {
    let actor = ActorId::random();
    let ro = table("repair_orders");
    let key = |i: usize| (ro, format!("{i}"));
    let mut c = DocCache::default();
    for i in 0..DOC_CACHE + 10 {
        c.insert(key(i), crdt::new_doc(&actor));
    }
    assert_eq!(c.docs.len(), DOC_CACHE);
    assert!(c.remove(&key(0)).is_none());
    assert!(c.remove(&key(DOC_CACHE + 9)).is_some());
    // One hot document taken and put back over and over: the order stays bounded.
    for _ in 0..3 * DOC_CACHE {
        let doc = c.remove(&key(20)).unwrap_or_else(|| crdt::new_doc(&actor));
        c.insert(key(20), doc);
    }
    assert!(c.order.len() <= 2 * DOC_CACHE);
    assert!(c.docs.len() <= DOC_CACHE);
}

#[test]
fn a_failing_job_is_refused_alone_and_leaves_no_trace() {
    let mut f = queueing_fixture();
    let taken = uuid::Uuid::now_v7();
    let reqs = vec![
        create_ro(&f, None),
        create_ro(&f, Some(taken)),
        create_ro(&f, Some(taken)),
        create_ro(&f, None),
    ];
    let out = group(&mut f, reqs);
    assert!(out[0].is_ok() && out[1].is_ok() && out[3].is_ok());
    assert!(
        matches!(out[2], Err(StoreError::Conflict(_))),
        "{:?}",
        out[2]
    );
    let numbers: Vec<String> = out
        .iter()
        .flatten()
        .map(|o| match o.records[0].fields.get("ro_number") {
            Some(Value::Text(n)) => n.clone(),
            other => panic!("no ro_number: {other:?}"),
        })
        .collect();
    assert_eq!(numbers, ["RO-00001", "RO-00002", "RO-00003"]);
    for (sql, n) in [
        ("SELECT count(*) FROM repair_orders", 3),
        (
            "SELECT count(*) FROM crdt_docs WHERE table_name = 'repair_orders'",
            3,
        ),
        (
            "SELECT count(*) FROM change_log WHERE table_name = 'repair_orders'",
            3,
        ),
        // The change log is the queue: a write adds no item.
        ("SELECT count(*) FROM sync_queue", 0),
    ] {
        assert_eq!(count(&f, sql), n, "{sql}");
    }

    // An update rolled back with its group leaves the cached document as stored.
    let a = out[0].as_ref().expect("created").records[0].id.clone();
    let missing = uuid::Uuid::now_v7().hyphenated().to_string();
    let reqs = vec![
        set_stage(&f, &a, "paint_booth"),
        set_stage(&f, &missing, "detail"),
    ];
    let out = group(&mut f, reqs);
    assert!(out[0].is_ok());
    assert!(matches!(out[1], Err(StoreError::NotFound)));
    let reqs = vec![set_stage(&f, &missing, "detail")];
    let out = group(&mut f, reqs);
    assert!(matches!(out[0], Err(StoreError::NotFound)));
    let reqs = vec![set_stage(&f, &a, "detail")];
    let out = group(&mut f, reqs);
    let heads = &out[0].as_ref().expect("updated").records[0].heads;
    assert_eq!(heads.len(), 1);
    let changes: i64 = f
        .conn
        .query_row(
            "SELECT count(*) FROM change_log WHERE record_id = ?1",
            [&a],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        changes, 3,
        "create and two updates, nothing from the rolled-back run"
    );
    let stored = stored_doc(&f, &a);
    let mut doc = crdt::load(&stored, &f.w.actor).expect("load");
    assert_eq!(crdt::get(&doc, "stage"), Some(Value::Text("detail".into())));
    assert_eq!(crdt::heads_hex(&mut doc), *heads);
}

fn bulk_ros(f: &Fixture, n: usize) -> WriteRequest {
    let ro = table("repair_orders");
    let items = (0..n)
        .map(|_| {
            (
                None,
                fields(ro, serde_json::json!({ "stage": "intake" }), Mode::Create),
            )
        })
        .collect();
    req(f, ro, WriteOp::BulkCreate(items))
}

#[test]
fn a_group_is_bounded_by_rows_not_only_by_jobs() {
    let mut f = fixture();
    // Bulk creates of 1,000 records each keep arriving while the group runs.
    let mut offered = 0;
    let mut answers = Vec::new();
    let mut pending: Vec<WriteRequest> = (0..4).map(|_| bulk_ros(&f, 1000)).collect();
    let (reply, first_answer) = oneshot::channel();
    let first = Job {
        work: Work::Write(bulk_ros(&f, 1000)),
        reply,
    };
    f.w.commit_group(&mut f.conn, vec![first], || {
        let req = pending.pop()?;
        offered += 1;
        let (reply, answer) = oneshot::channel();
        answers.push(answer);
        Some(Job {
            work: Work::Write(req),
            reply,
        })
    });
    // 1,000 and 2,000 rows leave room under MAX_GROUP_ROWS (2,048); 3,000 do
    // not: two more joined, the last two wait for the next group.
    assert_eq!(super::MAX_GROUP_ROWS, 2048);
    assert_eq!(offered, 2, "jobs taken into the group beyond the first");
    assert_eq!(pending.len(), 2);
    let mut first_answer = first_answer;
    assert!(first_answer.try_recv().expect("answered").is_ok());
    for mut a in answers {
        assert!(a.try_recv().expect("answered").is_ok());
    }
    assert_eq!(count(&f, "SELECT count(*) FROM repair_orders"), 3000);
}

#[test]
fn a_long_history_is_compacted_every_64_changes() {
    let mut f = fixture();
    let create = create_ro(&f, None);
    let out = group(&mut f, vec![create]);
    let id = out[0].as_ref().expect("created").records[0].id.clone();
    let stages = ["paint_booth", "detail"];
    let mut heads = Vec::new();
    for i in 0..150 {
        let update = set_stage(&f, &id, stages[i % 2]);
        let out = group(&mut f, vec![update]);
        heads = out[0].as_ref().expect("updated").records[0].heads.clone();
        // Drop the cached document now and then: the next write loads the
        // stored chunks.
        if i % 7 == 0 {
            f.w.docs.remove(&(table("repair_orders"), id.clone()));
        }
    }
    let (chunks, log_after): (i64, i64) = f
        .conn
        .query_row(
            "SELECT chunks, log_after FROM crdt_docs WHERE record_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("doc");
    // The create and 63 updates counted, compacted on the 64th update, 64 more
    // counted, compacted on the 129th, 21 more.
    assert_eq!(super::ops::COMPACT_AFTER, 64);
    assert_eq!(chunks, 21);
    let after: i64 = f
        .conn
        .query_row(
            "SELECT count(*) FROM change_log WHERE record_id = ?1 AND seq > ?2",
            rusqlite::params![id, log_after],
            |r| r.get(0),
        )
        .expect("tail");
    assert_eq!(after, 21, "the snapshot covers the log up to log_after");
    let bytes = stored_doc(&f, &id);
    let mut doc = crdt::load(&bytes, &f.w.actor).expect("snapshot and log tail load as one");
    assert_eq!(crdt::heads_hex(&mut doc), heads);
    assert_eq!(crdt::get(&doc, "stage"), Some(Value::Text("detail".into())));
    // The stored form holds the whole history: 1 create and 150 updates.
    assert_eq!(doc.get_changes(&[]).len(), 151);
}

/// The record's stored document (snapshot and change-log tail), as loaded.
fn stored_doc(f: &Fixture, id: &str) -> Vec<u8> {
    crate::store::docs::stored(&f.conn, "repair_orders", id)
        .expect("read")
        .expect("a document row")
        .bytes
}

#[test]
fn a_new_record_stores_its_document_only_in_the_change_log() {
    let mut f = fixture();
    let create = create_ro(&f, None);
    let out = group(&mut f, vec![create]);
    let rec = &out[0].as_ref().expect("created").records[0];
    let (doc_len, chunks, log_after): (i64, i64, i64) = f
        .conn
        .query_row(
            "SELECT length(doc), chunks, log_after FROM crdt_docs WHERE record_id = ?1",
            [&rec.id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("doc row");
    assert_eq!((doc_len, chunks, log_after), (0, 1, 0));
    let mut doc = crdt::load(&stored_doc(&f, &rec.id), &f.w.actor).expect("loads from the log");
    assert_eq!(crdt::heads_hex(&mut doc), rec.heads);
    assert_eq!(crdt::get(&doc, "stage"), Some(Value::Text("intake".into())));
}

#[test]
fn a_document_stored_whole_before_migration_5_loads_and_is_compacted_at_its_next_write() {
    let mut f = fixture();
    let create = create_ro(&f, None);
    let out = group(&mut f, vec![create]);
    let id = out[0].as_ref().expect("created").records[0].id.clone();
    // The form rows had before migration 0005: the whole document in `doc`.
    let whole = stored_doc(&f, &id);
    f.conn
        .execute(
            "UPDATE crdt_docs SET doc = ?2, chunks = 0, log_after = NULL WHERE record_id = ?1",
            rusqlite::params![id, whole],
        )
        .expect("old form");
    f.w.docs.remove(&(table("repair_orders"), id.clone()));
    let update = set_stage(&f, &id, "detail");
    let out = group(&mut f, vec![update]);
    let heads = out[0].as_ref().expect("updated").records[0].heads.clone();
    let (chunks, log_after): (i64, Option<i64>) = f
        .conn
        .query_row(
            "SELECT chunks, log_after FROM crdt_docs WHERE record_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("doc row");
    let last: i64 = f
        .conn
        .query_row(
            "SELECT max(seq) FROM change_log WHERE record_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .expect("seq");
    assert_eq!(
        (chunks, log_after),
        (0, Some(last)),
        "compacted through the update"
    );
    let mut doc = crdt::load(&stored_doc(&f, &id), &f.w.actor).expect("loads");
    assert_eq!(crdt::heads_hex(&mut doc), heads);
    assert_eq!(crdt::get(&doc, "stage"), Some(Value::Text("detail".into())));
    assert_eq!(doc.get_changes(&[]).len(), 2);
}

/// A write never adds a sync-queue item: the change log is the queue. Before
/// sync is first switched on there is no cursor (the first upload will cover
/// the record); from then on, every change lies past the cursor, an earlier
/// record's update too, in order.
#[test]
fn writes_wait_past_the_cursor_once_sync_was_switched_on() {
    let mut f = fixture();
    let waiting = |f: &Fixture| {
        f.conn
            .prepare(
                "SELECT record_id, op FROM change_log
                  WHERE seq > (SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'log_cursor')
                  ORDER BY seq",
            )
            .expect("prepare")
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
            .expect("the log past the cursor")
    };
    let reqs = vec![create_ro(&f, None)];
    let out = group(&mut f, reqs);
    let early = out[0].as_ref().expect("created").records[0].id.clone();
    assert_eq!(waiting(&f), []);
    assert_eq!(
        count(
            &f,
            "SELECT count(*) FROM change_log WHERE table_name = 'repair_orders'"
        ),
        1,
        "the change is logged all the same"
    );

    switch_queueing_on(&f);
    let reqs = vec![create_ro(&f, None), set_stage(&f, &early, "detail")];
    let out = group(&mut f, reqs);
    let late = out[0].as_ref().expect("created").records[0].id.clone();
    assert!(out[1].is_ok());
    // The move also wrote a stage-history record, waiting with the rest.
    let items = waiting(&f);
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0], (late, "create".to_string()));
    assert_eq!(items[1], (early, "update".to_string()));
    assert_eq!(items[2].1, "create");
    assert_eq!(count(&f, "SELECT count(*) FROM sync_queue"), 0);
}
