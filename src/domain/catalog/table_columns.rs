//! Every table's columns, as data: the column constructors (`col`, `req`,
//! `with_*`) and one list per table, put together into tables in `tables.rs`.

use super::statuses::*;
use super::types::{ColType, Column, Default};

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

pub(super) const SHOPS: &[Column] = &{
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

pub(super) const USERS: &[Column] = &[
    req("email", Email),
    req("display_name", Text),
    req("role", Enum(ROLES)),
    col("hourly_rate_cents", Cents),
    with_bool("active", true),
];

pub(super) const CUSTOMERS: &[Column] = &[
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

pub(super) const VEHICLES: &[Column] = &[
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

pub(super) const INSURANCE_COMPANIES: &[Column] = &{
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

pub(super) const VENDORS: &[Column] = &[
    req("vendor_number", Text),
    req("name", Text),
    with_text("vendor_type", Enum(VENDOR_TYPES), "other"),
    col("contact_name", Text),
    col("phone", Text),
    col("email", Email),
    col("payment_terms", Text),
];

pub(super) const CLAIMS: &[Column] = &[
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

pub(super) const ESTIMATES: &[Column] = &[
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

pub(super) const ESTIMATE_LINES: &[Column] = &[
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

pub(super) const REPAIR_ORDERS: &[Column] = &[
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

pub(super) const PRODUCTION_STAGES: &[Column] = &[
    req("name", Text),
    req("code", Stage),
    req("position", Int),
    col("category", Text),
    with_bool("active", true),
];

pub(super) const RO_STAGE_HISTORY: &[Column] = &[
    req("repair_order_id", Ref("repair_orders")),
    col("from_stage", Stage),
    req("to_stage", Stage),
    col("moved_by", Ref("users")),
    col("reason", Text),
    req("moved_at", Timestamp),
];

pub(super) const PARTS: &[Column] = &[
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

pub(super) const PURCHASE_ORDERS: &[Column] = &[
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

pub(super) const LABOR_ENTRIES: &[Column] = &[
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

pub(super) const TIME_CLOCK: &[Column] = &[
    req("technician_id", Ref("users")),
    req("clock_in", Timestamp),
    col("clock_out", Timestamp),
    with_int("break_minutes", Int, 0),
    with_text("status", Enum(TIME_CLOCK_STATUSES), "clocked_in"),
];

pub(super) const INVOICES: &[Column] = &[
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

pub(super) const PAYMENTS: &[Column] = &[
    req("invoice_id", Ref("invoices")),
    req("payment_method", Enum(PAYMENT_METHODS)),
    req("amount_cents", Cents),
    col("received_at", Timestamp),
    col("reference", Text),
    with_text("payment_status", Enum(PAYMENT_STATUSES), "completed"),
];

pub(super) const ATTACHMENTS: &[Column] = &[
    col("repair_order_id", Ref("repair_orders")),
    with_text("category", Enum(ATTACHMENT_CATEGORIES), "other"),
    req("file_name", Text),
    col("mime_type", Text),
    col("size_bytes", Int),
    col("sha256", Text),
    col("storage_key", Text),
    col("taken_by", Ref("users")),
];

pub(super) const SIGNATURES: &[Column] = &[
    req("document_type", Text),
    req("document_id", Uuid),
    req("signer_name", Text),
    col("signer_role", Text),
    req("signed_at", Timestamp),
    col("image_attachment_id", Ref("attachments")),
];

pub(super) const LOANER_VEHICLES: &[Column] = &[
    req("unit_number", Text),
    col("vin", Vin),
    col("plate", Text),
    col("make", Text),
    col("model", Text),
    with_text("loaner_status", Enum(LOANER_STATUSES), "available"),
];

pub(super) const LOANER_RESERVATIONS: &[Column] = &[
    req("loaner_vehicle_id", Ref("loaner_vehicles")),
    col("customer_id", Ref("customers")),
    col("repair_order_id", Ref("repair_orders")),
    with_text("reservation_status", Enum(RESERVATION_STATUSES), "pending"),
    col("out_at", Timestamp),
    col("back_at", Timestamp),
    col("odometer_out", Int),
    col("odometer_in", Int),
];

pub(super) const BMS_IMPORTS: &[Column] = &[
    req("file_name", Text),
    col("sha256", Text),
    with_text("import_status", Enum(IMPORT_STATUSES), "pending"),
    col("estimate_id", Ref("estimates")),
    col("error", Text),
    col("provider", Text),
    col("version", Text),
];
