//! Invariant 2 checked over a whole database, not only over the writes a test
//! remembers: every record's row, document and change-log entries exist
//! together, in both directions, and (once sync was switched on) every
//! record's latest change is on its way to the cloud or there.

use collisionos::crdt::chunk::change_ids;
use collisionos::domain::TABLES;
use rusqlite::Connection;

/// Every violation of invariant 2 in `db`, as readable lines (empty when it holds).
/// `queued`: whether every record's latest change must be waiting for the
/// cloud or pushed (true once sync was switched on, unless the data came in
/// with `skip_sync`).
pub fn violations(db: &Connection, queued: bool) -> Vec<String> {
    let mut found = Vec::new();
    let mut count = |what: String, sql: String| {
        let n: i64 = db
            .query_row(&sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        if n != 0 {
            found.push(format!("{n} {what}"));
        }
    };
    for t in TABLES {
        let name = t.name;
        count(
            format!("{name} rows without a live document"),
            format!(
                "SELECT count(*) FROM {name} r WHERE NOT EXISTS (SELECT 1 FROM crdt_docs d
                   WHERE d.table_name = '{name}' AND d.record_id = r.id AND d.deleted = 0)"
            ),
        );
        count(
            format!("live {name} documents without a row"),
            format!(
                "SELECT count(*) FROM crdt_docs d WHERE d.table_name = '{name}' AND d.deleted = 0
                   AND NOT EXISTS (SELECT 1 FROM {name} r WHERE r.id = d.record_id)"
            ),
        );
    }
    count(
        "documents without a change-log entry".into(),
        "SELECT count(*) FROM crdt_docs d WHERE NOT EXISTS (SELECT 1 FROM change_log c
           WHERE c.table_name = d.table_name AND c.record_id = d.record_id)"
            .into(),
    );
    count(
        "change-log entries without a document".into(),
        "SELECT count(*) FROM change_log c WHERE NOT EXISTS (SELECT 1 FROM crdt_docs d
           WHERE d.table_name = c.table_name AND d.record_id = c.record_id)"
            .into(),
    );
    count(
        "sync-queue entries without a document".into(),
        "SELECT count(*) FROM sync_queue q WHERE NOT EXISTS (SELECT 1 FROM crdt_docs d
           WHERE d.table_name = q.table_name AND d.record_id = q.record_id)"
            .into(),
    );
    count(
        "sync-queue entries naming a change that is not logged for their record".into(),
        "SELECT count(*) FROM sync_queue q WHERE NOT EXISTS (SELECT 1 FROM change_log c
           WHERE c.seq = q.change_seq AND c.table_name = q.table_name AND c.record_id = q.record_id)"
            .into(),
    );
    if queued {
        count(
            "databases without a change-log cursor".into(),
            "SELECT count(*) = 0 FROM sync_state WHERE key = 'log_cursor'".into(),
        );
        // Past the cursor, the change log is the queue; before it, a change
        // is in the cloud (the record's pushed watermark) or has an open item.
        count(
            "records whose latest change is neither past the log cursor, nor pushed, \
             nor covered by an open queue item"
                .into(),
            "SELECT count(*) FROM (SELECT table_name, record_id, max(seq) AS seq
                                     FROM change_log GROUP BY table_name, record_id) l
              WHERE l.seq <= (SELECT CAST(value AS INTEGER) FROM sync_state WHERE key = 'log_cursor')
                AND l.seq > coalesce((SELECT change_seq FROM sync_pushed p
                                       WHERE p.table_name = l.table_name AND p.record_id = l.record_id), 0)
                AND NOT EXISTS (SELECT 1 FROM sync_queue q
                                 WHERE q.table_name = l.table_name AND q.record_id = l.record_id
                                   AND q.status <> 'COMPLETED' AND q.change_seq >= l.seq)"
                .into(),
        );
    }
    // Each document, as stored (snapshot and change-log tail), loads to the
    // heads its row names.
    let mut docs = db
        .prepare("SELECT table_name, record_id, heads FROM crdt_docs")
        .expect("prepare");
    let rows: Vec<(String, String, String)> = docs
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .and_then(Iterator::collect)
        .expect("documents");
    let unloadable = rows
        .iter()
        .filter(|(table, id, heads)| {
            let Ok(Some(stored)) = collisionos::store::docs::stored(db, table, id) else {
                return true;
            };
            automerge::AutoCommit::load(&stored.bytes).map_or(true, |mut d| {
                collisionos::crdt::heads_hex(&mut d).join(",") != *heads
            })
        })
        .count();
    if unloadable != 0 {
        found.push(format!(
            "{unloadable} documents that do not load to the heads their row names"
        ));
    }
    // Each document's heads name its last logged change (the hash its bytes
    // carry: the log keeps no hash of its own).
    let mut last = db
        .prepare(
            "SELECT d.heads, c.bytes FROM crdt_docs d JOIN change_log c ON c.seq = (SELECT max(seq)
               FROM change_log x WHERE x.table_name = d.table_name AND x.record_id = d.record_id)",
        )
        .expect("prepare");
    let missed = last
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .expect("last changes")
        .iter()
        .filter(|(heads, bytes)| change_ids(bytes).is_none_or(|ids| !heads.contains(&ids.hash)))
        .count();
    if missed != 0 {
        found.push(format!(
            "{missed} documents whose heads miss their last logged change"
        ));
    }
    found
}

/// Panics with every violation found.
pub fn assert_holds(db: &Connection, queued: bool) {
    let v = violations(db, queued);
    assert!(v.is_empty(), "invariant 2 is broken: {v:#?}");
}

/// The check itself can fail: a row whose document is removed is reported.
#[test]
fn a_broken_database_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = collisionos::store::Store::open(dir.path()).expect("open");
    drop(store);
    let db = Connection::open(dir.path().join(collisionos::store::DB_FILE)).expect("open");
    assert!(violations(&db, false).is_empty(), "an empty store holds");
    assert_eq!(
        violations(&db, true),
        ["1 databases without a change-log cursor"],
        "sync was never switched on"
    );
    db.execute_batch("INSERT INTO sync_state (key, value) VALUES ('log_cursor', '0')")
        .expect("switch it on");
    assert!(violations(&db, true).is_empty(), "an empty store holds");
    db.execute_batch(
        "INSERT INTO change_log (shop_id, table_name, record_id, op, fields, bytes, created_at)
         VALUES ('s', 'customers', 'r', 'create', '[]', x'00', '2026-01-01T00:00:00.000000Z');",
    )
    .expect("insert an orphan change");
    let v = violations(&db, true);
    assert!(
        v.iter()
            .any(|l| l.contains("change-log entries without a document")),
        "{v:?}"
    );
    // Passed by the cursor with no item and not pushed: lost to the cloud.
    let lost = |db: &Connection| {
        violations(db, true)
            .iter()
            .any(|l| l.contains("neither past the log cursor"))
    };
    assert!(!lost(&db), "past the cursor it waits");
    db.execute_batch("UPDATE sync_state SET value = '1' WHERE key = 'log_cursor'")
        .expect("move the cursor past it");
    assert!(lost(&db));
    db.execute_batch(
        "INSERT INTO sync_queue (shop_id, table_name, record_id, operation, status, change_seq,
           created_at, updated_at)
         VALUES ('s', 'customers', 'r', 'CREATE', 'RETRY', 1, 't', 't')",
    )
    .expect("an item that covers it");
    assert!(!lost(&db), "a RETRY item covers it");
    db.execute_batch(
        "INSERT INTO crdt_docs (table_name, record_id, shop_id, heads, doc, log_after)
         VALUES ('customers', 'r', 's', 'h', x'', 0);",
    )
    .expect("a document whose log holds no change");
    let v = violations(&db, true);
    assert!(
        v.iter()
            .any(|l| l.contains("1 documents that do not load to the heads")),
        "{v:?}"
    );
}
