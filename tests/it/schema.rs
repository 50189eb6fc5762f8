//! The shop tables of the first SQLite migration are the catalog's, as
//! `cargo run --example gen_schema` renders them: a column added to the catalog
//! without a migration (or the reverse) fails here, before any write does.

use collisionos::domain::ddl::sqlite_table;
use collisionos::domain::TABLES;

#[test]
fn the_first_migration_holds_every_catalog_table_as_rendered() {
    let sql = include_str!("../../migrations/0001_init.sql");
    let missing: Vec<&str> = TABLES
        .iter()
        .filter(|t| !sql.contains(&sqlite_table(t)))
        .map(|t| t.name)
        .collect();
    assert!(
        missing.is_empty(),
        "tables of the catalog not in migrations/0001_init.sql as rendered: {missing:?}"
    );
}
