//! The schema catalog: every table, column, status list and business number,
//! as data. Table and column names that reach SQL come from here and
//! nowhere else (invariant 6); the SQLite migrations and the Postgres mirror are
//! checked against it by the parity tests.
//!
//! `types.rs` holds the types; this file holds the data: the status lists, every
//! table's columns, and [`TABLES`].

mod types;
pub use types::*;

// ---------------------------------------------------------------- status lists

pub const ROLES: &[&str] = &[
    "owner",
    "admin",
    "manager",
    "service_advisor",
    "estimator",
    "technician",
    "parts_manager",
    "receptionist",
    "accountant",
];
pub const CUSTOMER_TYPES: &[&str] = &["individual", "business", "insurance", "fleet"];
pub const PREFERRED_CONTACTS: &[&str] = &["phone", "email", "sms", "mail"];
pub const ODOMETER_UNITS: &[&str] = &["km", "mi"];
pub const VENDOR_TYPES: &[&str] = &[
    "oem",
    "aftermarket",
    "recycled",
    "remanufactured",
    "paint_supplier",
    "sublet",
    "other",
];
pub const CLAIM_STATUSES: &[&str] = &[
    "open",
    "under_review",
    "approved",
    "supplement_requested",
    "supplement_approved",
    "denied",
    "closed",
    "cancelled",
];
pub const ESTIMATE_STATUSES: &[&str] = &[
    "draft",
    "pending_review",
    "sent",
    "approved",
    "rejected",
    "revised",
    "supplement",
    "converted",
];
pub const LINE_TYPES: &[&str] = &[
    "part", "labor", "paint", "material", "sublet", "tax", "discount", "other",
];
pub const PART_TYPES: &[&str] = &["oem", "aftermarket", "used", "reconditioned"];
pub const RO_STATUSES: &[&str] = &[
    "draft",
    "estimate_pending",
    "estimate_approved",
    "parts_ordered",
    "parts_hold",
    "in_production",
    "quality_control",
    "supplement_pending",
    "supplement_approved",
    "customer_approval",
    "ready_for_delivery",
    "completed",
    "delivered",
    "invoiced",
    "paid",
    "archived",
    "cancelled",
];
/// The default board. Shops add their own columns in `production_stages`, so
/// `repair_orders.stage` is checked against this list only as a default: see
/// [`STAGE_CODE`] for the shape a shop's own stage code must have.
pub const STAGES: &[&str] = &[
    "intake",
    "blueprint",
    "parts_ordering",
    "parts_receiving",
    "body_structure",
    "paint_prep",
    "paint_booth",
    "reassembly",
    "mechanical",
    "calibration",
    "quality_control",
    "detail",
    "ready_pickup",
    "delivered",
];
pub const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
pub const HOLD_REASONS: &[&str] = &[
    "parts_delay",
    "insurance_approval",
    "customer_approval",
    "supplement_review",
    "sublet_delay",
    "technician_unavailable",
    "equipment_down",
    "other",
];
pub const PART_STATUSES: &[&str] = &[
    "needed",
    "sourcing",
    "quoted",
    "ordered",
    "backordered",
    "shipped",
    "received",
    "inspected",
    "installed",
    "returned",
    "cancelled",
];
pub const PO_STATUSES: &[&str] = &[
    "draft",
    "pending_approval",
    "approved",
    "sent",
    "acknowledged",
    "partially_received",
    "received",
    "cancelled",
    "closed",
    "disputed",
];
pub const LABOR_TYPES: &[&str] = &[
    "body",
    "paint",
    "frame",
    "mechanical",
    "electrical",
    "glass",
    "detail",
    "prep",
    "quality_control",
    "other",
];
pub const TIME_CLOCK_STATUSES: &[&str] = &["clocked_in", "on_break", "clocked_out"];
pub const INVOICE_STATUSES: &[&str] = &["draft", "sent", "partial", "paid", "overdue", "void"];
pub const PAYMENT_METHODS: &[&str] = &[
    "cash",
    "check",
    "credit_card",
    "debit_card",
    "e_transfer",
    "insurance_direct",
    "financing",
    "other",
];
pub const PAYMENT_STATUSES: &[&str] = &["pending", "completed", "failed", "refunded"];
pub const ATTACHMENT_CATEGORIES: &[&str] = &[
    "before_damage",
    "during_repair",
    "after_repair",
    "damage_assessment",
    "supplement",
    "parts_received",
    "quality_check",
    "delivery",
    "insurance_doc",
    "other",
];
pub const LOANER_STATUSES: &[&str] = &["available", "reserved", "out", "maintenance", "retired"];
pub const RESERVATION_STATUSES: &[&str] = &[
    "pending",
    "confirmed",
    "out",
    "returned",
    "cancelled",
    "no_show",
];
pub const IMPORT_STATUSES: &[&str] = &["pending", "processing", "imported", "failed", "partial"];

/// Shape of a production stage code (and so of `repair_orders.stage`): lower-case
/// letters, digits and `_`, 1 to 40 characters. The default board is [`STAGES`].
pub const STAGE_CODE: &str = "lower-case letters, digits and _ (1 to 40 characters)";

// ------------------------------------------------------------------- columns

const fn col(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        required: false,
        default: Default::None,
    }
}
const fn req(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        required: true,
        default: Default::None,
    }
}
const fn with_text(name: &'static str, ty: ColType, value: &'static str) -> Column {
    Column {
        name,
        ty,
        required: true,
        default: Default::Text(value),
    }
}
const fn with_int(name: &'static str, ty: ColType, value: i64) -> Column {
    Column {
        name,
        ty,
        required: true,
        default: Default::Int(value),
    }
}
const fn with_bool(name: &'static str, value: bool) -> Column {
    Column {
        name,
        ty: ColType::Bool,
        required: true,
        default: Default::Bool(value),
    }
}

use ColType::*;

const fn labor_rates() -> [Column; 4] {
    [
        col("body_labor_rate_cents", Cents),
        col("paint_labor_rate_cents", Cents),
        col("frame_labor_rate_cents", Cents),
        col("mechanical_labor_rate_cents", Cents),
    ]
}

const SHOPS: &[Column] = &{
    let r = labor_rates();
    [
        req("name", Text),
        col("phone", Text),
        col("email", Email),
        col("address", Text),
        col("city", Text),
        col("region", Text),
        col("postal_code", Text),
        col("country", Text),
        with_text("timezone", Text, "UTC"),
        with_text("currency", Text, "USD"),
        col("tax_id", Text),
        col("tax_id_secondary", Text),
        r[0],
        r[1],
        r[2],
        r[3],
        Column {
            name: "settings",
            ty: Json,
            required: true,
            default: Default::Json("{}"),
        },
    ]
};

const USERS: &[Column] = &[
    req("email", Email),
    req("display_name", Text),
    req("role", Enum(ROLES)),
    col("hourly_rate_cents", Cents),
    with_bool("active", true),
];

const CUSTOMERS: &[Column] = &[
    req("customer_number", Text),
    col("first_name", Text),
    col("last_name", Text),
    col("company_name", Text),
    col("email", Email),
    col("phone", Text),
    col("mobile", Text),
    col("address", Text),
    col("city", Text),
    col("region", Text),
    col("postal_code", Text),
    with_text("customer_type", Enum(CUSTOMER_TYPES), "individual"),
    with_text("preferred_contact", Enum(PREFERRED_CONTACTS), "phone"),
    col("notes", Text),
];

const VEHICLES: &[Column] = &[
    col("customer_id", Ref("customers")),
    col("vin", Vin),
    col("year", Int),
    col("make", Text),
    col("model", Text),
    col("trim", Text),
    col("color", Text),
    col("paint_code", Text),
    col("license_plate", Text),
    col("odometer", Int),
    with_text("odometer_unit", Enum(ODOMETER_UNITS), "km"),
];

const INSURANCE_COMPANIES: &[Column] = &{
    let r = labor_rates();
    [
        req("name", Text),
        col("code", Text),
        with_bool("is_drp", false),
        col("claims_phone", Text),
        col("claims_email", Email),
        r[0],
        r[1],
        r[2],
        r[3],
    ]
};

const VENDORS: &[Column] = &[
    req("vendor_number", Text),
    req("name", Text),
    with_text("vendor_type", Enum(VENDOR_TYPES), "other"),
    col("contact_name", Text),
    col("phone", Text),
    col("email", Email),
    col("payment_terms", Text),
];

const CLAIMS: &[Column] = &[
    col("customer_id", Ref("customers")),
    col("vehicle_id", Ref("vehicles")),
    col("insurance_company_id", Ref("insurance_companies")),
    req("claim_number", Text),
    col("policy_number", Text),
    col("date_of_loss", Date),
    col("adjuster_name", Text),
    col("adjuster_phone", Text),
    col("adjuster_email", Email),
    with_int("deductible_cents", Cents, 0),
    with_text("claim_status", Enum(CLAIM_STATUSES), "open"),
];

const ESTIMATES: &[Column] = &[
    req("estimate_number", Text),
    col("customer_id", Ref("customers")),
    col("vehicle_id", Ref("vehicles")),
    col("claim_id", Ref("claims")),
    with_text("estimate_status", Enum(ESTIMATE_STATUSES), "draft"),
    with_int("parts_total_cents", Cents, 0),
    with_int("labor_total_cents", Cents, 0),
    with_int("paint_total_cents", Cents, 0),
    with_int("materials_total_cents", Cents, 0),
    with_int("sublet_total_cents", Cents, 0),
    with_int("tax_total_cents", Cents, 0),
    with_int("total_cents", Cents, 0),
    with_int("supplement_number", Int, 0),
];

const ESTIMATE_LINES: &[Column] = &[
    req("estimate_id", Ref("estimates")),
    req("line_number", Int),
    req("line_type", Enum(LINE_TYPES)),
    col("operation", Text),
    col("description", Text),
    col("part_number", Text),
    col("part_type", Enum(PART_TYPES)),
    with_text("quantity", Decimal, "1"),
    with_int("unit_price_cents", Cents, 0),
    col("labor_hours", Decimal),
    col("labor_type", Enum(LABOR_TYPES)),
    with_int("total_cents", Cents, 0),
];

const REPAIR_ORDERS: &[Column] = &[
    req("ro_number", Text),
    col("customer_id", Ref("customers")),
    col("vehicle_id", Ref("vehicles")),
    col("claim_id", Ref("claims")),
    col("estimate_id", Ref("estimates")),
    with_text("ro_status", Enum(RO_STATUSES), "draft"),
    with_text("stage", Stage, "intake"),
    with_text("priority", Enum(PRIORITIES), "normal"),
    col("hold_reason", Enum(HOLD_REASONS)),
    col("primary_technician_id", Ref("users")),
    col("promised_at", Timestamp),
    col("delivered_at", Timestamp),
    with_int("parts_total_cents", Cents, 0),
    with_int("labor_total_cents", Cents, 0),
    with_int("total_cents", Cents, 0),
    col("notes", Text),
];

const PRODUCTION_STAGES: &[Column] = &[
    req("name", Text),
    req("code", Stage),
    req("position", Int),
    col("category", Text),
    with_bool("active", true),
];

const RO_STAGE_HISTORY: &[Column] = &[
    req("repair_order_id", Ref("repair_orders")),
    col("from_stage", Stage),
    req("to_stage", Stage),
    col("moved_by", Ref("users")),
    col("reason", Text),
    req("moved_at", Timestamp),
];

const PARTS: &[Column] = &[
    col("repair_order_id", Ref("repair_orders")),
    col("estimate_line_id", Ref("estimate_lines")),
    col("vendor_id", Ref("vendors")),
    col("purchase_order_id", Ref("purchase_orders")),
    col("part_number", Text),
    req("description", Text),
    col("part_type", Enum(PART_TYPES)),
    with_int("quantity_ordered", Int, 1),
    with_int("quantity_received", Int, 0),
    with_int("cost_cents", Cents, 0),
    with_int("price_cents", Cents, 0),
    with_text("part_status", Enum(PART_STATUSES), "needed"),
];

const PURCHASE_ORDERS: &[Column] = &[
    req("po_number", Text),
    col("vendor_id", Ref("vendors")),
    col("repair_order_id", Ref("repair_orders")),
    with_text("po_status", Enum(PO_STATUSES), "draft"),
    col("ordered_at", Timestamp),
    col("expected_at", Timestamp),
    with_int("subtotal_cents", Cents, 0),
    with_int("tax_cents", Cents, 0),
    with_int("total_cents", Cents, 0),
];

const LABOR_ENTRIES: &[Column] = &[
    req("technician_id", Ref("users")),
    col("repair_order_id", Ref("repair_orders")),
    req("labor_type", Enum(LABOR_TYPES)),
    col("started_at", Timestamp),
    col("ended_at", Timestamp),
    with_int("minutes", Int, 0),
    with_bool("approved", false),
    col("approved_by", Ref("users")),
    col("notes", Text),
];

const TIME_CLOCK: &[Column] = &[
    req("technician_id", Ref("users")),
    req("clock_in", Timestamp),
    col("clock_out", Timestamp),
    with_int("break_minutes", Int, 0),
    with_text("status", Enum(TIME_CLOCK_STATUSES), "clocked_in"),
];

const INVOICES: &[Column] = &[
    req("invoice_number", Text),
    col("repair_order_id", Ref("repair_orders")),
    col("customer_id", Ref("customers")),
    with_text("invoice_status", Enum(INVOICE_STATUSES), "draft"),
    col("issued_at", Timestamp),
    col("due_at", Timestamp),
    with_int("subtotal_cents", Cents, 0),
    with_int("tax_cents", Cents, 0),
    with_int("total_cents", Cents, 0),
    with_int("paid_cents", Cents, 0),
    with_int("balance_cents", Cents, 0),
];

const PAYMENTS: &[Column] = &[
    req("invoice_id", Ref("invoices")),
    req("payment_method", Enum(PAYMENT_METHODS)),
    req("amount_cents", Cents),
    col("received_at", Timestamp),
    col("reference", Text),
    with_text("payment_status", Enum(PAYMENT_STATUSES), "completed"),
];

const ATTACHMENTS: &[Column] = &[
    col("repair_order_id", Ref("repair_orders")),
    with_text("category", Enum(ATTACHMENT_CATEGORIES), "other"),
    req("file_name", Text),
    col("mime_type", Text),
    col("size_bytes", Int),
    col("sha256", Text),
    col("storage_key", Text),
    col("taken_by", Ref("users")),
];

const SIGNATURES: &[Column] = &[
    req("document_type", Text),
    req("document_id", Uuid),
    req("signer_name", Text),
    col("signer_role", Text),
    req("signed_at", Timestamp),
    col("image_attachment_id", Ref("attachments")),
];

const LOANER_VEHICLES: &[Column] = &[
    req("unit_number", Text),
    col("vin", Vin),
    col("plate", Text),
    col("make", Text),
    col("model", Text),
    with_text("loaner_status", Enum(LOANER_STATUSES), "available"),
];

const LOANER_RESERVATIONS: &[Column] = &[
    req("loaner_vehicle_id", Ref("loaner_vehicles")),
    col("customer_id", Ref("customers")),
    col("repair_order_id", Ref("repair_orders")),
    with_text("reservation_status", Enum(RESERVATION_STATUSES), "pending"),
    col("out_at", Timestamp),
    col("back_at", Timestamp),
    col("odometer_out", Int),
    col("odometer_in", Int),
];

const BMS_IMPORTS: &[Column] = &[
    req("file_name", Text),
    col("sha256", Text),
    with_text("import_status", Enum(IMPORT_STATUSES), "pending"),
    col("estimate_id", Ref("estimates")),
    col("error", Text),
    col("provider", Text),
    col("version", Text),
];

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
