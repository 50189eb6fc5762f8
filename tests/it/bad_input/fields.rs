//! Well-formed bodies with a wrong field: wrong types, statuses off the list, bad
//! VINs, missing or nulled required fields, fields only the hub sets (400, naming
//! the field), and references or stages the shop does not have (422).

use super::{Setup, BAD};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn wrong_types_statuses_vins_and_missing_fields_are_named() {
    let s = Setup::new().await;
    let r = &s.refs;
    let cust = api_id("customers", r.id("customers"));
    let ro = api_id("repair_orders", r.id("repair_orders"));
    let veh = api_id("vehicles", r.id("vehicles"));
    let shop = api_id("shops", &s.hub.shop_id);
    let long = "x".repeat(10_001);
    let cases: Vec<(&str, Method, String, Value, &str)> = vec![
        // Wrong types.
        (
            "a year in words",
            Method::POST,
            api("vehicles"),
            json!({ "year": "nineteen" }),
            "year",
        ),
        (
            "a fractional year",
            Method::POST,
            api("vehicles"),
            json!({ "year": 2019.5 }),
            "year",
        ),
        (
            "a year past i64",
            Method::POST,
            api("vehicles"),
            json!({ "year": 1e20 }),
            "year",
        ),
        (
            "a name that is a number",
            Method::PATCH,
            cust.clone(),
            json!({ "first_name": 42 }),
            "first_name",
        ),
        // Postgres cannot store U+0000: a record holding it would never
        // reach the cloud.
        (
            "a name with a NUL character",
            Method::POST,
            api("customers"),
            json!({ "first_name": "a\u{0}b" }),
            "first_name",
        ),
        (
            "shop settings with a NUL character",
            Method::PATCH,
            shop.clone(),
            json!({ "settings": { "note": "a\u{0}b" } }),
            "settings",
        ),
        (
            "a name that is an object",
            Method::PATCH,
            cust.clone(),
            json!({ "first_name": { "x": 1 } }),
            "first_name",
        ),
        (
            "money as a float",
            Method::POST,
            api("payments"),
            json!({ "amount_cents": 12.5 }),
            "amount_cents",
        ),
        (
            "money as a string",
            Method::PATCH,
            ro.clone(),
            json!({ "total_cents": "100" }),
            "total_cents",
        ),
        (
            "hours as a float",
            Method::POST,
            api("estimate_lines"),
            json!({ "labor_hours": 2.5 }),
            "labor_hours",
        ),
        (
            "a boolean as text",
            Method::POST,
            api("insurance_companies"),
            json!({ "is_drp": "yes" }),
            "is_drp",
        ),
        (
            "a timestamp in words",
            Method::PATCH,
            ro.clone(),
            json!({ "promised_at": "tomorrow" }),
            "promised_at",
        ),
        (
            "an impossible date",
            Method::POST,
            api("claims"),
            json!({ "date_of_loss": "2026-02-30" }),
            "date_of_loss",
        ),
        (
            "an e-mail without @",
            Method::PATCH,
            cust.clone(),
            json!({ "email": "ada.example.com" }),
            "email",
        ),
        (
            "settings not an object",
            Method::PATCH,
            shop.clone(),
            json!({ "settings": "[]" }),
            "settings",
        ),
        (
            "a reference that is not a UUID",
            Method::PATCH,
            veh.clone(),
            json!({ "customer_id": "cust-1" }),
            "customer_id",
        ),
        (
            "text past 10,000 characters",
            Method::PATCH,
            cust.clone(),
            json!({ "notes": long }),
            "notes",
        ),
        (
            "an id that is not a UUID",
            Method::POST,
            api("customers"),
            json!({ "id": "abc" }),
            "id",
        ),
        // Status values.
        (
            "a flying repair order",
            Method::PATCH,
            ro.clone(),
            json!({ "ro_status": "flying" }),
            "ro_status",
        ),
        (
            "a flying new repair order",
            Method::POST,
            api("repair_orders"),
            json!({ "ro_status": "flying" }),
            "ro_status",
        ),
        (
            "a priority off the list",
            Method::PATCH,
            ro.clone(),
            json!({ "priority": "whenever" }),
            "priority",
        ),
        (
            "a status in capitals",
            Method::PATCH,
            ro.clone(),
            json!({ "ro_status": "DRAFT" }),
            "ro_status",
        ),
        (
            "a stage code of the wrong shape",
            Method::PATCH,
            ro.clone(),
            json!({ "stage": "Paint Booth!" }),
            "stage",
        ),
        (
            "a role off the list",
            Method::PATCH,
            api_id("users", r.id("users")),
            json!({ "role": "superuser" }),
            "role",
        ),
        (
            "a customer type off the list",
            Method::POST,
            api("customers"),
            json!({ "customer_type": "alien" }),
            "customer_type",
        ),
        // VINs.
        (
            "a short VIN",
            Method::POST,
            api("vehicles"),
            json!({ "vin": "123" }),
            "vin",
        ),
        (
            "a VIN with an O",
            Method::POST,
            api("vehicles"),
            json!({ "vin": "1HGCM82633A00435O" }),
            "vin",
        ),
        (
            "an 18-character VIN",
            Method::PATCH,
            veh.clone(),
            json!({ "vin": "1HGCM82633A0043521" }),
            "vin",
        ),
        (
            "a VIN with a symbol",
            Method::POST,
            api("loaner_vehicles"),
            json!({ "unit_number": "L-x", "vin": "1HGCM82633A00435-" }),
            "vin",
        ),
        // Missing or nulled required fields.
        (
            "a line without its type",
            Method::POST,
            api("estimate_lines"),
            json!({ "estimate_id": r.id("estimates"), "line_number": 1 }),
            "line_type",
        ),
        (
            "a payment without an amount",
            Method::POST,
            api("payments"),
            json!({ "invoice_id": r.id("invoices"), "payment_method": "cash" }),
            "amount_cents",
        ),
        (
            "labor without a technician",
            Method::POST,
            api("labor_entries"),
            json!({ "labor_type": "body" }),
            "technician_id",
        ),
        (
            "a signature without its signer",
            Method::POST,
            api("signatures"),
            json!({ "document_type": "estimate", "document_id": r.id("estimates"), "signed_at": "2026-01-16T10:00:00Z" }),
            "signer_name",
        ),
        (
            "a stage history without its stage",
            Method::POST,
            api("ro_stage_history"),
            json!({ "repair_order_id": r.id("repair_orders"), "moved_at": "2026-01-16T10:00:00Z" }),
            "to_stage",
        ),
        (
            "a reservation without its loaner",
            Method::POST,
            api("loaner_reservations"),
            json!({}),
            "loaner_vehicle_id",
        ),
        (
            "a production stage without a code",
            Method::POST,
            api("production_stages"),
            json!({ "name": "Wash", "position": 3 }),
            "code",
        ),
        (
            "a user without a password",
            Method::POST,
            api("users"),
            json!({ "email": "x@staff.test", "display_name": "X", "role": "technician" }),
            "password",
        ),
        (
            "a user with a short password",
            Method::POST,
            api("users"),
            json!({ "email": "x@staff.test", "display_name": "X", "role": "technician", "password": "short" }),
            "password",
        ),
        (
            "a user without a role",
            Method::POST,
            api("users"),
            json!({ "email": "x@staff.test", "display_name": "X", "password": PASSWORD }),
            "role",
        ),
        (
            "a required field set to null",
            Method::POST,
            api("labor_entries"),
            json!({ "technician_id": null, "labor_type": "body" }),
            "technician_id",
        ),
        (
            "a number patched to null",
            Method::PATCH,
            cust.clone(),
            json!({ "customer_number": null }),
            "customer_number",
        ),
        (
            "a defaulted field patched to null",
            Method::PATCH,
            cust.clone(),
            json!({ "customer_type": null }),
            "customer_type",
        ),
        (
            "a name patched to blanks",
            Method::PATCH,
            shop.clone(),
            json!({ "name": "   " }),
            "name",
        ),
        // Fields the hub sets.
        (
            "writing id on PATCH",
            Method::PATCH,
            cust.clone(),
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
            "id",
        ),
        // A record stays in its shop: another shop id is a change nobody may make.
        (
            "moving a record to another shop id",
            Method::PATCH,
            cust.clone(),
            json!({ "shop_id": uuid::Uuid::now_v7().to_string() }),
            "shop_id",
        ),
        (
            "writing created_at on PATCH",
            Method::PATCH,
            cust.clone(),
            json!({ "created_at": "2020-01-01T00:00:00Z" }),
            "created_at",
        ),
        (
            "writing updated_at on PATCH",
            Method::PATCH,
            cust.clone(),
            json!({ "updated_at": "2020-01-01T00:00:00Z" }),
            "updated_at",
        ),
        (
            "writing _heads on PATCH",
            Method::PATCH,
            cust.clone(),
            json!({ "_heads": [] }),
            "_heads",
        ),
        (
            "writing created_at on create",
            Method::POST,
            api("customers"),
            json!({ "created_at": "2020-01-01T00:00:00Z" }),
            "created_at",
        ),
        (
            "_base on a create",
            Method::POST,
            api("customers"),
            json!({ "_base": [] }),
            "_base",
        ),
        (
            "a malformed _base",
            Method::PATCH,
            cust.clone(),
            json!({ "notes": "x", "_base": ["xyz"] }),
            "_base",
        ),
        (
            "a _base this record never had",
            Method::PATCH,
            cust.clone(),
            json!({ "notes": "x", "_base": ["0".repeat(64)] }),
            "_base",
        ),
        // Bulk: the failing record is named by index.
        (
            "a bulk with one bad VIN",
            Method::POST,
            format!("{}/bulk", api("vehicles")),
            json!({ "records": [{ "vin": "1HGCM82633A004352" }, { "vin": "BAD" }] }),
            "records[1].vin",
        ),
    ];
    for (case, method, path, body, field) in cases {
        s.json(case, method, &path, body, BAD, "invalid_field", Some(field))
            .await;
    }

    // A well-shaped value the shop does not have: a reference or a stage that is
    // not there answers 422, naming the field.
    let un = StatusCode::UNPROCESSABLE_ENTITY;
    let nobody = uuid::Uuid::now_v7().hyphenated().to_string();
    for (case, method, path, body, field) in [
        (
            "a customer that is not there",
            Method::PATCH,
            veh.clone(),
            json!({ "customer_id": nobody }),
            "customer_id",
        ),
        (
            "a technician that is not there",
            Method::POST,
            api("labor_entries"),
            json!({ "technician_id": nobody, "labor_type": "body" }),
            "technician_id",
        ),
        (
            "a stage not on this shop's board",
            Method::PATCH,
            ro.clone(),
            json!({ "stage": "moon_base" }),
            "stage",
        ),
        (
            "a stage history to a stage no board has",
            Method::POST,
            api("ro_stage_history"),
            json!({ "repair_order_id": r.id("repair_orders"), "from_stage": "intake",
                    "to_stage": "paint", "moved_at": "2026-01-16T10:00:00Z" }),
            "to_stage",
        ),
        (
            "a stage history from a stage no board has",
            Method::POST,
            api("ro_stage_history"),
            json!({ "repair_order_id": r.id("repair_orders"), "from_stage": "moon_base",
                    "to_stage": "blueprint", "moved_at": "2026-01-16T10:00:00Z" }),
            "from_stage",
        ),
    ] {
        s.json(
            case,
            method,
            &path,
            body,
            un,
            "invalid_reference",
            Some(field),
        )
        .await;
    }
}
