//! The shop's data as types, without I/O: the table catalog, the role matrix, and
//! the checking of incoming values against column types.

pub mod accounts;
pub mod catalog;
pub mod columns;
pub mod ddl;
pub mod ids;
pub mod policy;
pub mod value;

pub use catalog::{ColType, Column, Table, TableId, TABLES};
pub use ids::ShopId;
pub use policy::{Access, Role, Verb};
