//! The shop tables of the first SQLite migration are the catalog's, as
//! `cargo run --example gen_schema` renders them: a column added to the catalog
//! without a migration (or the reverse) fails here, before any write does. And
//! the indexes a database ends with, after every migration, are the ones the
//! catalog renders.

use collisionos::domain::ddl::{sqlite_create_table, sqlite_indexes};
use collisionos::domain::TABLES;

#[test]
fn the_first_migration_holds_every_catalog_table_as_rendered() {
    let sql = include_str!("../../migrations/0001_init.sql");
    let missing: Vec<&str> = TABLES
        .iter()
        .filter(|t| !sql.contains(&sqlite_create_table(t)))
        .map(|t| t.name)
        .collect();
    assert!(
        missing.is_empty(),
        "tables of the catalog not in migrations/0001_init.sql as rendered: {missing:?}"
    );
}

/// A new data dir, every migration applied by the store, opened directly.
fn migrated_database() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(collisionos::store::Store::open(dir.path()).expect("open"));
    let db = rusqlite::Connection::open(dir.path().join(collisionos::store::DB_FILE))
        .expect("open the database");
    (dir, db)
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
