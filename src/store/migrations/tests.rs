//! Each migration, checked on a database an older build left.

use super::*;
use rusqlite::OptionalExtension;

/// Applies the migrations before `version` only, as a data dir made by an
/// older build would have them.
fn apply_before(conn: &mut Connection, version: i64) -> i64 {
    let n = MIGRATIONS
        .iter()
        .take_while(|m| m.version() < version)
        .count();
    apply_these(conn, &MIGRATIONS[..n]).expect("the earlier migrations")
}

/// Every change-log row (the columns it has had since 0012), quoted, in order.
fn log_rows(c: &Connection) -> Vec<String> {
    c.prepare(
        "SELECT quote(seq) || quote(shop_id) || quote(table_name) || quote(record_id)
                 || quote(op) || quote(author_id) || quote(fields) || quote(bytes)
                 || quote(created_at) || quote(device_id) || quote(conflicts)
           FROM change_log ORDER BY seq",
    )
    .expect("prepare")
    .query_map([], |r| r.get(0))
    .and_then(Iterator::collect)
    .expect("dump")
}

#[test]
fn applies_once_and_refuses_a_newer_data_dir() {
    let mut conn = Connection::open_in_memory().expect("open");
    assert_eq!(apply(&mut conn).expect("first"), latest_version());
    assert_eq!(apply(&mut conn).expect("again"), latest_version());
    conn.pragma_update(None, "user_version", latest_version() + 1)
        .expect("pretend a newer build wrote it");
    let err = apply(&mut conn).expect_err("newer");
    assert!(matches!(err, MigrationError::NewerVersion { .. }));
    assert!(err.to_string().contains("newer collisionos"), "{err}");
}

#[test]
fn versions_come_from_file_names_in_order() {
    let versions: Vec<i64> = MIGRATIONS.iter().map(Migration::version).collect();
    assert!(versions.iter().all(|v| *v > 0), "{versions:?}");
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
}

#[test]
fn a_migration_missing_from_the_middle_is_applied_when_it_arrives() {
    let mut conn = Connection::open_in_memory().expect("open");
    apply(&mut conn).expect("first");
    // As if this data dir had been made before 0003 existed and a later
    // build brings it: forget 0003 and its tables, then migrate again.
    conn.execute_batch(
        "DELETE FROM schema_migrations WHERE version = 3;
         DROP TABLE devices; DROP TABLE device_ops;
         ALTER TABLE change_log DROP COLUMN device_id;
         ALTER TABLE change_log DROP COLUMN conflicts;
         ALTER TABLE conflicts DROP COLUMN detail;",
    )
    .expect("undo 0003");
    assert_eq!(apply(&mut conn).expect("again"), latest_version());
    let n: i64 = conn
        .query_row("SELECT count(*) FROM devices", [], |r| r.get(0))
        .expect("devices exists again");
    assert_eq!(n, 0);
}

/// 0007 rebuilds `change_log` without the index on `change_hash`: every
/// row and column comes through, the AUTOINCREMENT counter is kept (even
/// past deleted rows: a `seq` is never handed out twice), and a record's
/// changes are still found by `change_log_by_record`.
#[test]
fn the_change_log_rebuild_keeps_rows_and_the_seq_counter() {
    let mut conn = Connection::open_in_memory().expect("open");
    assert_eq!(apply_before(&mut conn, 7), 6);
    let row = "INSERT INTO change_log (shop_id, table_name, record_id, op, change_hash, actor,
                 author_id, fields, bytes, created_at, device_id, conflicts)
               VALUES ('s', 'repair_orders', ?1, 'create', ?2, 'a', NULL, '[\"stage\"]',
                       x'00ff', '2026-11-30T00:00:00Z', ?3, ?4)";
    for i in 0..5 {
        conn.execute(
            row,
            params![
                format!("r{}", i % 2),
                format!("{i:064x}"),
                (i == 1).then_some("bay-3"),
                (i == 2).then_some("[]")
            ],
        )
        .expect("insert");
    }
    // The newest two rows gone: the counter stays at 5.
    conn.execute("DELETE FROM change_log WHERE seq > 3", [])
        .expect("delete");
    let dump = |c: &Connection| -> Vec<String> {
        c.prepare(
            "SELECT quote(seq) || quote(shop_id) || quote(table_name) || quote(record_id)
                     || quote(op) || quote(change_hash) || quote(actor) || quote(author_id)
                     || quote(fields) || quote(bytes) || quote(created_at) || quote(device_id)
                     || quote(conflicts) FROM change_log ORDER BY seq",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("dump")
    };
    let rows = dump(&conn);
    assert_eq!(rows.len(), 3);

    assert_eq!(apply_before(&mut conn, 8), 7);
    assert_eq!(dump(&conn), rows);
    let number =
        |c: &Connection, sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        number(
            &conn,
            "SELECT seq FROM sqlite_sequence WHERE name = 'change_log'"
        ),
        5
    );
    let next: i64 = conn
        .query_row(
            &format!("{row} RETURNING seq"),
            params!["r0", format!("{:064x}", 9), None::<String>, None::<String>],
            |r| r.get(0),
        )
        .expect("insert after");
    assert_eq!(next, 6, "a seq is never reused");
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'change_log' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("indexes");
    assert_eq!(indexes, ["change_log_by_record"]);
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT bytes FROM change_log
              WHERE table_name = 'repair_orders' AND record_id = 'r0' ORDER BY seq",
            [],
            |r| r.get(3),
        )
        .expect("plan");
    assert!(plan.contains("change_log_by_record"), "{plan}");
    assert_eq!(
        number(
            &conn,
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'change_log_rebuilt%'"
        ),
        0
    );
}

#[test]
fn an_edited_shipped_migration_is_caught() {
    let mut conn = Connection::open_in_memory().expect("open");
    apply(&mut conn).expect("first");
    conn.execute(
        "UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1",
        [],
    )
    .expect("tamper");
    assert!(matches!(
        apply(&mut conn),
        Err(MigrationError::Edited { .. })
    ));
}

/// 0008: a database that has ever queued a write, or started a first
/// upload, keeps queueing its writes; any other starts without, until sync
/// is first switched on.
#[test]
fn only_a_database_that_queued_before_0008_keeps_queueing() {
    let queued = "INSERT INTO sync_queue (shop_id, table_name, record_id, operation,
                    change_seq, created_at, updated_at)
                  VALUES ('s', 'repair_orders', 'r', 'CREATE', 1, 't', 't')";
    let uploading = "INSERT INTO sync_state (key, value) VALUES ('initial_upload', 'queuing')";
    let hub_id = "INSERT INTO sync_state (key, value) VALUES ('hub_id', 'h')";
    for (setup, expected) in [
        (None, None),
        (Some(hub_id), None),
        (Some(queued), Some("on")),
        (Some(uploading), Some("on")),
    ] {
        let mut conn = Connection::open_in_memory().expect("open");
        assert_eq!(apply_before(&mut conn, 8), 7);
        if let Some(sql) = setup {
            conn.execute(sql, []).expect(sql);
        }
        assert_eq!(apply_before(&mut conn, 9), 8);
        let flag: Option<String> = conn
            .query_row(
                "SELECT value FROM sync_state WHERE key = 'queue_writes'",
                [],
                |r| r.get(0),
            )
            .optional()
            .expect("read");
        assert_eq!(flag.as_deref(), expected, "after {setup:?}");
    }
}

/// 0010 writes every check that lists three or more values as comparisons
/// joined by OR. The stored rows are untouched and pass `integrity_check`
/// (which checks CHECK constraints), a value outside a list is still
/// refused and one inside accepted, and an insert no longer opens a
/// temporary B-tree. A file, not a memory database: the new definitions
/// are read by a connection opened after the migration, as the store does.
#[test]
fn checks_lose_their_in_lists_and_keep_their_meaning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("hub.db");
    let mut conn = Connection::open(&path).expect("open");
    assert_eq!(apply_before(&mut conn, 10), 9);
    let item = |c: &Connection, op: &str, status: &str| {
        c.execute(
            "INSERT INTO sync_queue (shop_id, table_name, record_id, operation, status,
               change_seq, created_at, updated_at)
             VALUES ('s', 'repair_orders', 'r', ?1, ?2, 1, 't', 't')",
            params![op, status],
        )
    };
    let builds_a_btree = |c: &Connection| -> bool {
        c.prepare("EXPLAIN INSERT INTO sync_queue DEFAULT VALUES")
            .expect("explain")
            .query_map([], |r| r.get::<_, String>(1))
            .and_then(|ops| ops.collect::<rusqlite::Result<Vec<_>>>())
            .expect("the plan")
            .iter()
            .any(|op| op == "OpenEphemeral")
    };
    let dump = |c: &Connection| -> Vec<String> {
        c.prepare(
            "SELECT quote(id) || quote(operation) || quote(status) FROM sync_queue ORDER BY id",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("dump")
    };
    assert!(builds_a_btree(&conn), "before 0010, the IN lists build one");
    for (op, status) in [
        ("CREATE", "COMPLETED"),
        ("UPDATE", "FAILED"),
        ("DELETE", "RETRY"),
    ] {
        item(&conn, op, status).expect("a valid item");
    }
    let rows = dump(&conn);
    assert_eq!(apply(&mut conn).expect("0010"), latest_version());
    drop(conn);
    let conn = Connection::open(&path).expect("open again");
    assert!(!builds_a_btree(&conn), "after 0010");
    assert_eq!(dump(&conn), rows);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    for (op, status) in [
        ("UPSERT", "PENDING"),
        ("CREATE", "pending"),
        ("create", "PENDING"),
    ] {
        let err = item(&conn, op, status).expect_err("outside the lists");
        assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
    }
    item(&conn, "BULK_CREATE", "PROCESSING").expect("inside the lists");
    assert_eq!(dump(&conn).len(), rows.len() + 1);
}

/// 0011: a database that queued its writes gets a change-log cursor at its
/// last entry (its items cover everything before); any other gets none
/// until sync is first switched on. `queue_writes` is gone either way.
#[test]
fn a_database_that_queued_its_writes_reads_the_log_from_its_last_entry() {
    let log = "INSERT INTO change_log (shop_id, table_name, record_id, op, change_hash,
                 actor, fields, bytes, created_at)
               VALUES ('s', 'customers', 'r', 'create', hex(randomblob(8)), 'a', '[]', x'00', 't')";
    let queueing = "INSERT INTO sync_state (key, value) VALUES ('queue_writes', 'on')";
    for (setup, expected) in [
        (vec![], None),
        (vec![log, log], None),
        (vec![queueing], Some("0")),
        (vec![log, queueing, log, log], Some("3")),
    ] {
        let mut conn = Connection::open_in_memory().expect("open");
        assert_eq!(apply_before(&mut conn, 11), 10);
        for sql in &setup {
            conn.execute(sql, []).expect(sql);
        }
        assert_eq!(apply(&mut conn).expect("0011"), latest_version());
        let state = |key: &str| -> Option<String> {
            conn.query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .expect("read")
        };
        assert_eq!(state("log_cursor").as_deref(), expected, "after {setup:?}");
        assert_eq!(state("queue_writes"), None, "after {setup:?}");
    }
}

/// 0012 drops `change_hash` and `actor` from the change log: every other
/// column of every row comes through, the seq counter is kept, and what
/// the columns held is what `crdt::chunk::change_ids` reads from the bytes.
#[test]
fn the_change_log_loses_hash_and_actor_and_the_bytes_still_say_them() {
    use crate::crdt::{chunk::change_ids, create, ChangeMeta};
    use crate::domain::value::{Fields, Value};
    let mut conn = Connection::open_in_memory().expect("open");
    assert_eq!(apply_before(&mut conn, 12), 11);
    let actor = automerge::ActorId::random();
    let mut stored = Vec::new();
    for i in 0..3 {
        let mut f = Fields::new();
        f.insert("notes", Value::Text(format!("note {i}")));
        let meta = ChangeMeta {
            author: None,
            op: "create",
            unix_time: 1_735_689_600,
        };
        let made = create(&actor, &f, &meta);
        conn.execute(
            "INSERT INTO change_log (shop_id, table_name, record_id, op, change_hash, actor,
               author_id, fields, bytes, created_at, device_id, conflicts)
             VALUES ('s', 'customers', ?1, 'create', ?2, ?3, 'u', '[]', ?4, 't', 'bay-1', NULL)",
            params![
                format!("r{i}"),
                made.heads[0],
                actor.to_hex_string(),
                made.change_bytes
            ],
        )
        .expect("insert");
        stored.push((made.heads[0].clone(), actor.to_hex_string()));
    }
    conn.execute("DELETE FROM change_log WHERE seq = 3", [])
        .expect("delete");
    let rows = log_rows(&conn);
    assert_eq!(apply_before(&mut conn, 16), 15);
    assert_eq!(log_rows(&conn), rows);
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('change_log')")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("columns");
    assert!(
        !columns.iter().any(|c| c == "change_hash" || c == "actor"),
        "{columns:?}"
    );
    let bytes: Vec<Vec<u8>> = conn
        .prepare("SELECT bytes FROM change_log ORDER BY seq")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("bytes");
    for (b, (hash, actor)) in bytes.iter().zip(&stored) {
        let ids = change_ids(b).expect("a change");
        assert_eq!((&ids.hash, &ids.actor), (hash, actor));
    }
    let next: i64 = conn
        .query_row(
            "INSERT INTO change_log (shop_id, table_name, record_id, op, fields, bytes, created_at)
             VALUES ('s', 'customers', 'r9', 'update', '[]', x'00', 't') RETURNING seq",
            [],
            |r| r.get(0),
        )
        .expect("insert after");
    assert_eq!(next, 4, "a seq is never reused");
}

/// 0016 numbers the change log without AUTOINCREMENT: every row comes
/// through, the next entry is numbered one past the highest (what the
/// counter gave for a log that only grows), `sqlite_sequence` no longer has a
/// row to rewrite in each commit, and a delete is refused.
#[test]
fn the_change_log_numbers_without_autoincrement_and_only_grows() {
    let mut conn = Connection::open_in_memory().expect("open");
    assert_eq!(apply_before(&mut conn, 16), 15);
    let insert =
        "INSERT INTO change_log (shop_id, table_name, record_id, op, fields, bytes, created_at)
                  VALUES ('s', 'customers', ?1, 'update', '[]', x'00ff', 't') RETURNING seq";
    let add = |c: &Connection, id: &str| -> i64 {
        c.query_row(insert, [id], |r| r.get(0)).expect("insert")
    };
    for i in 0..4 {
        assert_eq!(add(&conn, &format!("r{i}")), i + 1);
    }
    let rows = log_rows(&conn);
    let text = |c: &Connection, sql: &str| -> Option<String> {
        c.query_row(sql, [], |r| r.get(0)).optional().expect(sql)
    };
    let counter = "SELECT CAST(seq AS TEXT) FROM sqlite_sequence WHERE name = 'change_log'";
    assert_eq!(text(&conn, counter).as_deref(), Some("4"));

    assert_eq!(apply(&mut conn).expect("0016"), latest_version());
    assert_eq!(log_rows(&conn), rows);
    let definition = text(
        &conn,
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'change_log'",
    )
    .expect("the table");
    assert!(
        definition.contains("seq INTEGER PRIMARY KEY,"),
        "{definition}"
    );
    assert!(!definition.contains("AUTOINCREMENT"), "{definition}");
    assert_eq!(text(&conn, counter), None);
    assert_eq!(add(&conn, "r9"), 5, "one past the highest");
    assert_eq!(text(&conn, counter), None, "no counter kept");

    let refused = conn
        .execute("DELETE FROM change_log WHERE seq = 5", [])
        .expect_err("a delete is refused");
    assert!(refused.to_string().contains("never deleted"), "{refused}");
    assert_eq!(log_rows(&conn).len(), 5);
    assert_eq!(text(&conn, "PRAGMA integrity_check").as_deref(), Some("ok"));
}
