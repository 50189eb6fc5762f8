//! Catalog facts stated independently of the catalog, and the table-driven
//! fixtures: a valid create body per table ([`valid_body`]) referencing the
//! records in [`Refs`], one record of every table ([`TestHub::fixtures`]), and the
//! field each table's update tests change ([`patch_for`], [`query_value`]).

use super::{unique, TestHub, TestUser, PASSWORD};
use collisionos::domain::{TableId, TABLES};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The tables whose business number the hub generates, stated here independently
/// of the catalog: (table, column, prefix).
pub const NUMBERED: &[(&str, &str, &str)] = &[
    ("customers", "customer_number", "CUST-"),
    ("vendors", "vendor_number", "VEN-"),
    ("estimates", "estimate_number", "EST-"),
    ("repair_orders", "ro_number", "RO-"),
    ("purchase_orders", "po_number", "PO-"),
    ("invoices", "invoice_number", "INV-"),
];

pub use collisionos::domain::catalog::ROLES;

pub fn table_id(name: &str) -> TableId {
    TableId::by_name(name).unwrap_or_else(|| panic!("the catalog has no table {name}"))
}

/// Every table name, in the catalog's dependency order (parents first).
pub fn table_names() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.name).collect()
}

impl TestHub {
    /// One valid record of every table, created through the API as `by` (an owner)
    /// in dependency order; `shops` is `by`'s own shop.
    pub async fn fixtures(&self, by: &TestUser, shop_id: &str) -> Refs {
        let mut refs = Refs::default();
        refs.set("shops", shop_id);
        for table in table_names() {
            if table == "shops" {
                continue;
            }
            let rec = self
                .create(table, &by.token, &valid_body(table, &refs))
                .await;
            refs.set(table, rec["id"].as_str().expect("an id"));
        }
        refs
    }
}

/// The id of one record of each table, to point references at.
#[derive(Debug, Clone, Default)]
pub struct Refs(BTreeMap<&'static str, String>);

impl Refs {
    pub fn set(&mut self, table: &str, id: &str) {
        let name = table_id(table).name();
        self.0.insert(name, id.to_string());
    }

    pub fn id(&self, table: &str) -> &str {
        self.0
            .get(table)
            .unwrap_or_else(|| panic!("no {table} fixture yet (fixtures come in dependency order)"))
    }

    pub fn ids(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// A valid create body for `table`, referencing the records in `refs`. Values that
/// must be unique per shop (e-mails, codes, unit numbers, line numbers) are unique.
/// `shops` gives a body the API will refuse (nobody inserts shops) but that is
/// otherwise well-formed.
pub fn valid_body(table: &str, refs: &Refs) -> Value {
    let n = unique();
    let r = |t: &str| refs.id(t).to_string();
    match table {
        "shops" => json!({ "name": format!("Shop {n}"), "phone": "555-0100" }),
        "users" => json!({
            "email": format!("user-{n}@staff.test"),
            "display_name": format!("User {n}"),
            "role": "technician",
            "password": PASSWORD,
        }),
        "customers" => json!({
            "first_name": "Ada",
            "last_name": format!("Lovelace {n}"),
            "email": format!("ada-{n}@example.com"),
            "phone": "555-0101",
            "customer_type": "individual",
        }),
        "vehicles" => json!({
            "customer_id": r("customers"),
            "vin": "1HGCM82633A004352",
            "year": 2019,
            "make": "Honda",
            "model": "Accord",
            "color": "Silver",
        }),
        "insurance_companies" => json!({
            "name": format!("Insurer {n}"),
            "code": format!("INS{n}"),
            "is_drp": true,
            "claims_email": "claims@insurer.test",
        }),
        "vendors" => json!({ "name": format!("Vendor {n}"), "vendor_type": "oem" }),
        "claims" => json!({
            "claim_number": format!("CLM-{n}"),
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "insurance_company_id": r("insurance_companies"),
            "date_of_loss": "2026-01-15",
            "deductible_cents": 50000,
        }),
        "estimates" => json!({
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "claim_id": r("claims"),
            "total_cents": 125000,
        }),
        "estimate_lines" => json!({
            "estimate_id": r("estimates"),
            "line_number": n,
            "line_type": "part",
            "description": "Front bumper cover",
            "part_type": "oem",
            "quantity": "1",
            "unit_price_cents": 42000,
            "labor_hours": "2.5",
        }),
        "repair_orders" => json!({
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "estimate_id": r("estimates"),
            "priority": "normal",
            "promised_at": "2026-02-01T17:00:00Z",
        }),
        "production_stages" => json!({
            "name": format!("Stage {n}"),
            "code": format!("stage_{n}"),
            "position": n,
        }),
        "ro_stage_history" => json!({
            "repair_order_id": r("repair_orders"),
            "from_stage": "intake",
            "to_stage": "blueprint",
            "moved_at": "2026-01-16T09:30:00Z",
        }),
        "purchase_orders" => json!({
            "vendor_id": r("vendors"),
            "repair_order_id": r("repair_orders"),
            "subtotal_cents": 42000,
        }),
        "parts" => json!({
            "repair_order_id": r("repair_orders"),
            "estimate_line_id": r("estimate_lines"),
            "vendor_id": r("vendors"),
            "purchase_order_id": r("purchase_orders"),
            "part_number": format!("PN-{n}"),
            "description": "Bumper cover",
            "cost_cents": 30000,
            "price_cents": 42000,
        }),
        "labor_entries" => json!({
            "technician_id": r("users"),
            "repair_order_id": r("repair_orders"),
            "labor_type": "body",
            "minutes": 30,
        }),
        "time_clock" => json!({
            "technician_id": r("users"),
            "clock_in": "2026-01-16T08:00:00Z",
        }),
        "invoices" => json!({
            "repair_order_id": r("repair_orders"),
            "customer_id": r("customers"),
            "total_cents": 150000,
            "balance_cents": 150000,
        }),
        "payments" => json!({
            "invoice_id": r("invoices"),
            "payment_method": "credit_card",
            "amount_cents": 50000,
        }),
        "attachments" => json!({
            "repair_order_id": r("repair_orders"),
            "category": "before_damage",
            "file_name": format!("photo-{n}.jpg"),
            "mime_type": "image/jpeg",
            "size_bytes": 123456,
        }),
        "signatures" => json!({
            "document_type": "estimate",
            "document_id": r("estimates"),
            "signer_name": "Ada Lovelace",
            "signed_at": "2026-01-16T10:00:00Z",
        }),
        "loaner_vehicles" => json!({
            "unit_number": format!("L-{n}"),
            "vin": "JTDKB20U093123456",
            "make": "Toyota",
            "model": "Corolla",
        }),
        "loaner_reservations" => json!({
            "loaner_vehicle_id": r("loaner_vehicles"),
            "customer_id": r("customers"),
            "repair_order_id": r("repair_orders"),
        }),
        "bms_imports" => json!({
            "file_name": format!("estimate-{n}.xml"),
            "provider": "CCC ONE",
            "estimate_id": r("estimates"),
        }),
        other => panic!("valid_body has no body for table {other}: add one"),
    }
}

/// One field each table's update tests change, and a value no fixture has (so a
/// filter on it finds exactly the patched records).
pub fn patch_for(table: &str) -> (&'static str, Value) {
    match table {
        "shops" => ("phone", json!("555-0199")),
        "users" => ("display_name", json!("Renamed Person")),
        "customers" => ("notes", json!("prefers text messages")),
        "vehicles" => ("color", json!("Candy Apple Red")),
        "insurance_companies" => ("claims_phone", json!("555-0142")),
        "vendors" => ("payment_terms", json!("Net 30")),
        "claims" => ("claim_status", json!("under_review")),
        "estimates" => ("estimate_status", json!("sent")),
        "estimate_lines" => ("operation", json!("replace")),
        "repair_orders" => ("stage", json!("paint_booth")),
        "production_stages" => ("category", json!("refinish")),
        "ro_stage_history" => ("reason", json!("waiting on parts")),
        "purchase_orders" => ("po_status", json!("sent")),
        "parts" => ("part_status", json!("installed")),
        "labor_entries" => ("minutes", json!(45)),
        "time_clock" => ("break_minutes", json!(15)),
        "invoices" => ("invoice_status", json!("sent")),
        "payments" => ("reference", json!("auth-7731")),
        "attachments" => ("category", json!("after_repair")),
        "signatures" => ("signer_role", json!("customer")),
        "loaner_vehicles" => ("plate", json!("LOAN 42")),
        "loaner_reservations" => ("reservation_status", json!("confirmed")),
        "bms_imports" => ("import_status", json!("imported")),
        other => panic!("patch_for has no field for table {other}: add one"),
    }
}

/// The value to put in a query string to filter by a patch value.
pub fn query_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
