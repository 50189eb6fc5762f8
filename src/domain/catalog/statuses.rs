//! The status lists (every `Enum` column's allowed values, the roles, the
//! default production board) and the shape of a production stage code.

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
