//! Prints the catalog's tables as SQLite DDL. Used to write a table's first
//! migration; shipped migrations are never regenerated (they are append-only).
//!
//!     cargo run --example gen_schema > /tmp/tables.sql
fn main() {
    print!("{}", collisionos::domain::ddl::sqlite_schema());
}
