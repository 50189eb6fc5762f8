//! The schema catalog: every table, column, status list and business number,
//! as data. Table and column names that reach SQL come from here and
//! nowhere else (invariant 6); the SQLite migrations and the Postgres mirror are
//! checked against it by the parity tests.
//!
//! `types.rs` holds the types; the data is in `statuses.rs` (the status lists),
//! `table_columns.rs` (every table's columns) and `tables.rs` ([`TABLES`]), all
//! re-exported here.

mod statuses;
mod table_columns;
mod tables;
mod types;
pub use statuses::*;
pub use tables::TABLES;
pub use types::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_in_dependency_order_and_refs_resolve() {
        for (i, t) in TABLES.iter().enumerate() {
            for (col, target) in t.refs() {
                let j = TABLES
                    .iter()
                    .position(|x| x.name == target)
                    .unwrap_or_else(|| panic!("{}.{col} references unknown {target}", t.name));
                assert!(
                    j < i || target == t.name,
                    "{} must come after {target}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn numbering_columns_exist_and_are_required() {
        for t in TABLES {
            if let Some(n) = t.numbering {
                let c = t.column(n.column).expect("numbering column");
                assert!(c.required && c.ty == ColType::Text, "{}", t.name);
            }
        }
    }

    #[test]
    fn named_table_ids_name_their_tables() {
        for (id, name) in [
            (TableId::SHOPS, "shops"),
            (TableId::USERS, "users"),
            (TableId::REPAIR_ORDERS, "repair_orders"),
            (TableId::RO_STAGE_HISTORY, "ro_stage_history"),
            (TableId::PARTS, "parts"),
        ] {
            assert_eq!(id.name(), name);
        }
    }
}
