//! The tables themselves: each table's name, columns (`table_columns.rs`),
//! business number, unique keys, indexes and owner column, in [`TABLES`].

use super::table_columns::*;
use super::types::{Column, Numbering, Table};

const fn table(name: &'static str, columns: &'static [Column]) -> Table {
    Table {
        name,
        columns,
        numbering: None,
        unique: &[],
        indexes: &[],
        owner_column: None,
    }
}

/// Every table, in dependency order: a table appears after every table it references.
pub static TABLES: &[Table] = &[
    table("shops", SHOPS),
    Table {
        unique: &[&["email"]],
        ..table("users", USERS)
    },
    Table {
        numbering: Some(Numbering {
            column: "customer_number",
            prefix: "CUST-",
        }),
        indexes: &[&["last_name"]],
        ..table("customers", CUSTOMERS)
    },
    Table {
        indexes: &[&["customer_id"], &["vin"]],
        ..table("vehicles", VEHICLES)
    },
    table("insurance_companies", INSURANCE_COMPANIES),
    Table {
        numbering: Some(Numbering {
            column: "vendor_number",
            prefix: "VEN-",
        }),
        ..table("vendors", VENDORS)
    },
    Table {
        indexes: &[&["customer_id"], &["claim_status"]],
        ..table("claims", CLAIMS)
    },
    Table {
        numbering: Some(Numbering {
            column: "estimate_number",
            prefix: "EST-",
        }),
        indexes: &[&["customer_id"], &["estimate_status"]],
        ..table("estimates", ESTIMATES)
    },
    Table {
        unique: &[&["estimate_id", "line_number"]],
        ..table("estimate_lines", ESTIMATE_LINES)
    },
    Table {
        numbering: Some(Numbering {
            column: "ro_number",
            prefix: "RO-",
        }),
        indexes: &[
            &["stage"],
            &["ro_status"],
            &["customer_id"],
            &["primary_technician_id"],
        ],
        ..table("repair_orders", REPAIR_ORDERS)
    },
    Table {
        unique: &[&["code"]],
        ..table("production_stages", PRODUCTION_STAGES)
    },
    Table {
        indexes: &[&["repair_order_id"]],
        ..table("ro_stage_history", RO_STAGE_HISTORY)
    },
    Table {
        numbering: Some(Numbering {
            column: "po_number",
            prefix: "PO-",
        }),
        indexes: &[&["vendor_id"], &["po_status"], &["repair_order_id"]],
        ..table("purchase_orders", PURCHASE_ORDERS)
    },
    Table {
        indexes: &[
            &["repair_order_id"],
            &["part_status"],
            &["purchase_order_id"],
        ],
        ..table("parts", PARTS)
    },
    Table {
        indexes: &[&["technician_id"], &["repair_order_id"]],
        owner_column: Some("technician_id"),
        ..table("labor_entries", LABOR_ENTRIES)
    },
    Table {
        indexes: &[&["technician_id"]],
        owner_column: Some("technician_id"),
        ..table("time_clock", TIME_CLOCK)
    },
    Table {
        numbering: Some(Numbering {
            column: "invoice_number",
            prefix: "INV-",
        }),
        indexes: &[&["repair_order_id"], &["invoice_status"]],
        ..table("invoices", INVOICES)
    },
    Table {
        indexes: &[&["invoice_id"]],
        ..table("payments", PAYMENTS)
    },
    Table {
        indexes: &[&["repair_order_id"]],
        ..table("attachments", ATTACHMENTS)
    },
    Table {
        indexes: &[&["document_id"]],
        ..table("signatures", SIGNATURES)
    },
    Table {
        unique: &[&["unit_number"]],
        ..table("loaner_vehicles", LOANER_VEHICLES)
    },
    Table {
        indexes: &[&["loaner_vehicle_id"]],
        ..table("loaner_reservations", LOANER_RESERVATIONS)
    },
    table("bms_imports", BMS_IMPORTS),
];
