//! SQLite: the source of truth. Only this module names `rusqlite`.
pub mod migrations;
pub mod schema;
