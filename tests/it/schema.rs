//! The shop tables and indexes a database ends with, after every migration, are
//! the ones the catalog renders (`cargo run --example gen_schema`): a column
//! added to the catalog without a migration (or the reverse) fails here, before
//! any write does. And no table's checks make an insert build a temporary
//! B-tree.

use collisionos::domain::ddl::{sqlite_create_table, sqlite_indexes};
use collisionos::domain::TABLES;

/// A new data dir, every migration applied by the store, opened directly.
fn migrated_database() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(collisionos::store::Store::open(dir.path()).expect("open"));
    let db = rusqlite::Connection::open(dir.path().join(collisionos::store::DB_FILE))
        .expect("open the database");
    (dir, db)
}

#[test]
fn a_migrated_database_holds_every_catalog_table_as_rendered() {
    let (_dir, db) = migrated_database();
    for t in TABLES {
        let live: String = db
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [t.name],
                |r| r.get(0),
            )
            .expect("the table exists");
        let want = sqlite_create_table(t);
        assert_eq!(live, want.trim_end().trim_end_matches(';'), "{}", t.name);
    }
}

/// SQLite evaluates a constant `IN` list of three or more values by building
/// a temporary B-tree once per run of the statement: a `CHECK (x IN (…))`
/// made every insert of its table pay for one (migration 0010). The plan of an
/// insert into every table, shop or hub-only, opens none.
#[test]
fn no_insert_builds_a_temporary_btree_for_its_checks() {
    let (_dir, db) = migrated_database();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .and_then(Iterator::collect)
        .expect("tables");
    assert!(tables.len() > TABLES.len(), "{tables:?}");
    let mut checked = 0;
    for t in &tables {
        let ops: Vec<String> = db
            .prepare(&format!("EXPLAIN INSERT INTO {t} DEFAULT VALUES"))
            .expect("explain")
            .query_map([], |r| r.get(1))
            .and_then(Iterator::collect)
            .expect("the plan");
        assert!(
            !ops.iter().any(|op| op == "OpenEphemeral"),
            "an insert into {t} builds a temporary B-tree: {ops:?}"
        );
        checked += usize::from(ops.iter().any(|op| op == "Halt"));
    }
    assert_eq!(checked, tables.len());
}

#[test]
fn a_migrated_database_has_exactly_the_indexes_the_catalog_renders() {
    let (_dir, db) = migrated_database();
    let mut partial = 0;
    for t in TABLES {
        let mut live: Vec<String> = db
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL")
            .expect("prepare")
            .query_map([t.name], |r| r.get(0))
            .and_then(Iterator::collect)
            .expect("indexes");
        let mut want = sqlite_indexes(t);
        partial += want.iter().filter(|i| i.contains(" WHERE ")).count();
        live.sort();
        want.sort();
        assert_eq!(live, want, "{}", t.name);
    }
    assert!(
        partial > 20,
        "the nullable references' indexes are partial ({partial})"
    );
}

#[test]
fn a_lookup_by_a_nullable_reference_uses_its_partial_index() {
    let (_dir, db) = migrated_database();
    // As the list (a filter, paged by id) and a parent's delete check ask.
    for (sql, index) in [
        (
            "SELECT id FROM repair_orders t WHERE t.shop_id = ?1 AND t.customer_id = ?2 AND t.id > ?3 ORDER BY t.id LIMIT 50",
            "repair_orders_by_customer_id_id",
        ),
        (
            "SELECT id FROM repair_orders WHERE shop_id = ?1 AND claim_id = ?2 LIMIT 1",
            "repair_orders_by_claim_id",
        ),
    ] {
        let mut explain = db
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let args = rusqlite::params_from_iter(std::iter::repeat_n("x", explain.parameter_count()));
        let plan: Vec<String> = explain
            .query_map(args, |r| r.get(3))
            .and_then(Iterator::collect)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let plan = plan.join("; ");
        assert!(plan.contains(&format!("INDEX {index} ")), "{sql}: {plan}");
    }
}
