//! Malformed, mistyped, oversized and unauthenticated requests: each is answered
//! with the right 4xx and a body shaped `{"error":{"code","message"}}` (naming the
//! field where there is one), and NOTHING stored changes: every table's rows, the
//! change log, the sync queue and the records themselves are compared before and
//! after each request.

use crate::common::*;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const JSON: (&str, &str) = ("content-type", "application/json");

/// A hub with a few records whose state every case compares.
struct Setup {
    hub: TestHub,
    refs: Refs,
    watched: Vec<(&'static str, String)>,
}

impl Setup {
    async fn new() -> Setup {
        let hub = TestHub::spawn().await;
        let owner = hub.owner.clone();
        let refs = hub.fixtures(&owner, &hub.shop_id).await;
        let watched = [
            "shops",
            "users",
            "customers",
            "vehicles",
            "repair_orders",
            "estimates",
            "labor_entries",
        ]
        .into_iter()
        .map(|t| {
            let id = if t == "shops" {
                hub.shop_id.clone()
            } else {
                refs.id(t).to_string()
            };
            (t, id)
        })
        .collect();
        Setup { hub, refs, watched }
    }

    async fn records(&self) -> Vec<(StatusCode, Value)> {
        let mut out = Vec::new();
        for (t, id) in &self.watched {
            out.push(self.hub.read_as_owner(t, id).await);
        }
        out
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.hub.owner_token())
    }

    /// Sends the request and checks the answer and that nothing changed.
    async fn refused(
        &self,
        case: &str,
        got: impl std::future::Future<Output = (StatusCode, Value)>,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        let before = (self.hub.snapshot(), self.records().await);
        let got = got.await;
        let named = assert_error(&got, status, code, case);
        if let Some(f) = field {
            assert_eq!(
                named.as_deref(),
                Some(f),
                "{case}: the error names {named:?}: {}",
                got.1
            );
        }
        let after = (self.hub.snapshot(), self.records().await);
        assert_eq!(
            snapshot_diff(&before.0, &after.0),
            Vec::<String>::new(),
            "{case}: the store changed"
        );
        assert_eq!(before.1, after.1, "{case}: a record changed");
    }

    /// `refused` for a JSON-ish body sent as raw bytes with the owner's token.
    #[allow(clippy::too_many_arguments)]
    async fn raw(
        &self,
        case: &str,
        method: Method,
        path: &str,
        body: impl Into<Vec<u8>>,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        let auth = self.bearer();
        let headers = [JSON, ("authorization", auth.as_str())];
        let body: Vec<u8> = body.into();
        self.refused(
            case,
            self.hub.raw(method, path, &headers, body),
            status,
            code,
            field,
        )
        .await;
    }

    /// `refused` for a JSON value sent with the owner's token.
    #[allow(clippy::too_many_arguments)]
    async fn json(
        &self,
        case: &str,
        method: Method,
        path: &str,
        body: Value,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        self.raw(case, method, path, body.to_string(), status, code, field)
            .await;
    }
}

const BAD: StatusCode = StatusCode::BAD_REQUEST;

#[tokio::test]
async fn malformed_json_and_non_object_bodies_are_refused() {
    let s = Setup::new().await;
    let cust = api_id("customers", s.refs.id("customers"));
    let post = api("customers");
    for (case, method, path, body) in [
        (
            "unclosed object",
            Method::POST,
            post.as_str(),
            b"{\"first_name\": \"Ada\"".to_vec(),
        ),
        (
            "unquoted key",
            Method::PATCH,
            cust.as_str(),
            b"{first_name: \"Ada\"}".to_vec(),
        ),
        (
            "trailing garbage",
            Method::POST,
            post.as_str(),
            b"{\"first_name\": \"Ada\"} x".to_vec(),
        ),
        ("empty body", Method::POST, post.as_str(), Vec::new()),
        ("empty PATCH body", Method::PATCH, cust.as_str(), Vec::new()),
        (
            "not UTF-8",
            Method::POST,
            post.as_str(),
            b"{\"first_name\": \"\xff\xfe\"}".to_vec(),
        ),
        (
            "a number too big for JSON",
            Method::POST,
            "/api/vehicles",
            b"{\"year\": 1e400}".to_vec(),
        ),
        (
            "nesting 10,000 deep",
            Method::POST,
            post.as_str(),
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        ),
        (
            "a bulk that is not JSON",
            Method::POST,
            "/api/customers/bulk",
            b"{\"records\": [".to_vec(),
        ),
    ] {
        s.raw(case, method, path, body, BAD, "malformed_json", None)
            .await;
    }
    for (case, body) in [
        ("a list", json!([{ "first_name": "Ada" }])),
        ("a string", json!("Ada")),
        ("a number", json!(42)),
        ("null", Value::Null),
        ("true", json!(true)),
    ] {
        s.json(
            case,
            Method::POST,
            &post,
            body.clone(),
            BAD,
            "invalid_field",
            Some("body"),
        )
        .await;
        s.json(
            case,
            Method::PATCH,
            &cust,
            body,
            BAD,
            "invalid_field",
            Some("body"),
        )
        .await;
    }
    s.json(
        "an empty PATCH",
        Method::PATCH,
        &cust,
        json!({}),
        BAD,
        "invalid_field",
        Some("body"),
    )
    .await;
    for (case, body, field) in [
        ("records missing", json!({}), "records"),
        (
            "records not a list",
            json!({ "records": { "first_name": "A" } }),
            "records",
        ),
        ("records empty", json!({ "records": [] }), "records"),
        (
            "a record not an object",
            json!({ "records": [{}, 7] }),
            "records[1].body",
        ),
        (
            "more than 1000 records",
            json!({ "records": vec![json!({}); 1001] }),
            "records",
        ),
    ] {
        s.json(
            case,
            Method::POST,
            "/api/customers/bulk",
            body,
            BAD,
            "invalid_field",
            Some(field),
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_tables_columns_and_records_are_refused() {
    let s = Setup::new().await;
    let cust = s.refs.id("customers").to_string();
    let missing = uuid::Uuid::now_v7().hyphenated().to_string();
    let nf = StatusCode::NOT_FOUND;
    for (case, method, path, body) in [
        (
            "create in an unknown table",
            Method::POST,
            "/api/spaceships".to_string(),
            json!({}),
        ),
        (
            "bulk into an unknown table",
            Method::POST,
            "/api/spaceships/bulk".into(),
            json!({ "records": [{}] }),
        ),
        (
            "patch in an unknown table",
            Method::PATCH,
            format!("/api/spaceships/{cust}"),
            json!({ "name": "x" }),
        ),
        (
            "patch a missing record",
            Method::PATCH,
            api_id("customers", &missing),
            json!({ "notes": "x" }),
        ),
        (
            "patch a malformed id",
            Method::PATCH,
            "/api/customers/42".into(),
            json!({ "notes": "x" }),
        ),
        (
            "patch under the wrong table",
            Method::PATCH,
            api_id("vehicles", &cust),
            json!({ "color": "x" }),
        ),
        (
            "a table that is not a shop table",
            Method::POST,
            "/api/change_log".into(),
            json!({}),
        ),
        (
            "the queue is not a table of the API",
            Method::POST,
            "/api/sync_queue".into(),
            json!({}),
        ),
        (
            "credentials are not a table of the API",
            Method::POST,
            "/api/user_credentials".into(),
            json!({}),
        ),
        (
            "no such endpoint",
            Method::POST,
            "/api/customers/a/b/c".into(),
            json!({}),
        ),
    ] {
        s.json(case, method, &path, body, nf, "not_found", None)
            .await;
    }
    for (case, path) in [
        ("delete a missing record", api_id("customers", &missing)),
        (
            "delete in an unknown table",
            format!("/api/spaceships/{cust}"),
        ),
        (
            "delete a malformed id",
            "/api/customers/not-a-uuid".to_string(),
        ),
    ] {
        let token = s.hub.owner.token.clone();
        s.refused(case, s.hub.delete(&path, &token), nf, "not_found", None)
            .await;
    }
    for (case, path) in [
        ("get an unknown table", "/api/spaceships".to_string()),
        ("get a missing record", api_id("customers", &missing)),
        (
            "get a malformed id",
            "/api/customers/%27%20OR%201%3D1".to_string(),
        ),
    ] {
        let token = s.hub.owner.token.clone();
        s.refused(case, s.hub.get(&path, &token), nf, "not_found", None)
            .await;
    }

    // Unknown columns are named, on create, update and list.
    let token = s.hub.owner.token.clone();
    s.json(
        "create with an unknown column",
        Method::POST,
        "/api/customers",
        json!({ "first_name": "Ada", "favourite_colour": "red" }),
        BAD,
        "invalid_field",
        Some("favourite_colour"),
    )
    .await;
    s.json(
        "patch an unknown column",
        Method::PATCH,
        &api_id("customers", &cust),
        json!({ "favourite_colour": "red" }),
        BAD,
        "invalid_field",
        Some("favourite_colour"),
    )
    .await;
    s.json(
        "a column of another table",
        Method::PATCH,
        &api_id("customers", &cust),
        json!({ "vin": "1HGCM82633A004352" }),
        BAD,
        "invalid_field",
        Some("vin"),
    )
    .await;
    s.json(
        "a password hash is not a column",
        Method::PATCH,
        &api_id("users", s.refs.id("users")),
        json!({ "password_hash": "$argon2id$..." }),
        BAD,
        "invalid_field",
        Some("password_hash"),
    )
    .await;
    for (case, path, field) in [
        (
            "filter by an unknown column",
            "/api/customers?favourite_colour=red",
            "favourite_colour",
        ),
        (
            "filter by a mistyped value",
            "/api/vehicles?year=nineteen",
            "year",
        ),
        (
            "filter by a bad status",
            "/api/repair_orders?ro_status=flying",
            "ro_status",
        ),
        ("limit zero", "/api/customers?limit=0", "limit"),
        ("limit past the cap", "/api/customers?limit=501", "limit"),
        ("limit not a number", "/api/customers?limit=ten", "limit"),
        (
            "a cursor the hub never gave",
            "/api/customers?cursor=abc",
            "cursor",
        ),
    ] {
        s.refused(
            case,
            s.hub.get(path, &token),
            BAD,
            "invalid_field",
            Some(field),
        )
        .await;
    }
}

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

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let s = Setup::new().await;
    let tl = StatusCode::PAYLOAD_TOO_LARGE;
    let over = |cap: usize| -> Vec<u8> {
        json!({ "notes": "x".repeat(cap + 1) })
            .to_string()
            .into_bytes()
    };
    let cust = api_id("customers", s.refs.id("customers"));
    s.raw(
        "a create over 256 KiB",
        Method::POST,
        "/api/customers",
        over(256 * 1024),
        tl,
        "body_too_large",
        None,
    )
    .await;
    s.raw(
        "a patch over 256 KiB",
        Method::PATCH,
        &cust,
        over(256 * 1024),
        tl,
        "body_too_large",
        None,
    )
    .await;
    s.raw(
        "a login over 256 KiB",
        Method::POST,
        "/api/auth/login",
        over(256 * 1024),
        tl,
        "body_too_large",
        None,
    )
    .await;
    let big_bulk = json!({ "records": [{ "notes": "x".repeat(8 * 1024 * 1024) }] }).to_string();
    s.raw(
        "a bulk over 8 MiB",
        Method::POST,
        "/api/customers/bulk",
        big_bulk,
        tl,
        "body_too_large",
        None,
    )
    .await;

    // Just under the single-record cap the body is read, and the field judged.
    let under = json!({ "notes": "x".repeat(200 * 1024) }).to_string();
    s.raw(
        "200 KiB of notes",
        Method::PATCH,
        &cust,
        under,
        BAD,
        "invalid_field",
        Some("notes"),
    )
    .await;

    // The bulk route takes more than a single record's cap (about 1.2 MiB here).
    let records: Vec<Value> = (0..300)
        .map(|i| json!({ "first_name": format!("Bulk {i}"), "notes": "n".repeat(4000) }))
        .collect();
    let body = json!({ "records": records });
    assert!(body.to_string().len() > 1024 * 1024);
    let (status, out) = s
        .hub
        .post("/api/customers/bulk", s.hub.owner_token(), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{}", out.to_string().len());
    assert_eq!(out["data"].as_array().map(Vec::len), Some(300));
}

fn mint(secret: &[u8], alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("mint a token")
}

#[tokio::test]
async fn missing_malformed_expired_and_forged_tokens_are_refused_with_401() {
    let s = Setup::new().await;
    let hub = &s.hub;
    let secret = std::fs::read(hub.data_dir().join("jwt_secret")).expect("the hub's JWT secret");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The owner's credential stamp, as the hub puts it in every token it issues.
    let hash: String = hub
        .db()
        .query_row(
            "SELECT password_hash FROM user_credentials WHERE user_id = ?1",
            [&hub.owner.id],
            |r| r.get(0),
        )
        .expect("the owner's credential");
    let stamp = collisionos::auth::credential_stamp(Some(&hash));
    let claims = |sub: &str, shop: &str, iat: i64, exp: i64| {
        json!({
            "sub": sub,
            "shop_id": shop,
            "user_role": "owner",
            "role": "authenticated",
            "iat": iat,
            "exp": exp,
            "stamp": stamp,
        })
    };
    let owner = hub.owner.id.clone();
    let shop = hub.shop_id.clone();
    let hs256 = jsonwebtoken::Algorithm::HS256;

    // The control: a token minted this way, unexpired, is accepted.
    let good = mint(&secret, hs256, &claims(&owner, &shop, now, now + 600));
    let (st, me) = hub.get("/api/auth/me", &good).await;
    assert_eq!(st, StatusCode::OK, "{me}");
    assert_eq!(me["id"], json!(owner));

    let expired = mint(&secret, hs256, &claims(&owner, &shop, now - 7200, now - 60));
    let forged = mint(
        b"not the hub's secret, but 32+ bytes long",
        hs256,
        &claims(&owner, &shop, now, now + 600),
    );
    let hs512 = mint(
        &secret,
        jsonwebtoken::Algorithm::HS512,
        &claims(&owner, &shop, now, now + 600),
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let unsigned = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims(&owner, &shop, now, now + 600).to_string())
    );
    let tampered = {
        // The owner's real token with its payload swapped for one naming another shop.
        let parts: Vec<&str> = hub.owner_token().split('.').collect();
        let other = b64
            .encode(claims(&owner, &uuid::Uuid::now_v7().to_string(), now, now + 600).to_string());
        format!("{}.{}.{}", parts[0], other, parts[2])
    };
    let ghost = mint(
        &secret,
        hs256,
        &claims(&uuid::Uuid::now_v7().to_string(), &shop, now, now + 600),
    );
    let wrong_shop = mint(
        &secret,
        hs256,
        &claims(&owner, &uuid::Uuid::now_v7().to_string(), now, now + 600),
    );
    let no_exp = mint(
        &secret,
        hs256,
        &json!({ "sub": owner, "shop_id": shop, "user_role": "owner", "role": "authenticated", "iat": now, "stamp": stamp }),
    );
    let mut unstamped = claims(&owner, &shop, now, now + 600);
    unstamped.as_object_mut().expect("claims").remove("stamp");
    let unstamped = mint(&secret, hs256, &unstamped);
    let mut stale = claims(&owner, &shop, now, now + 600);
    stale["stamp"] = json!(collisionos::auth::credential_stamp(Some("an older hash")));
    let stale = mint(&secret, hs256, &stale);

    // A deleted account's token, and a deactivated one's.
    let gone = hub.user("technician").await;
    let (st, _) = hub
        .delete(&api_id("users", &gone.id), hub.owner_token())
        .await;
    assert_eq!(st, StatusCode::OK);
    let off = hub.user("receptionist").await;
    let (st, _) = hub
        .patch(
            &api_id("users", &off.id),
            hub.owner_token(),
            &json!({ "active": false }),
        )
        .await;
    assert_eq!(st, StatusCode::OK);

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no Authorization header", None),
        ("an empty header", Some(String::new())),
        ("Bearer and nothing", Some("Bearer ".into())),
        (
            "not Bearer",
            Some(format!("Basic {}", b64.encode("owner:pass"))),
        ),
        (
            "a token without its scheme",
            Some(hub.owner_token().to_string()),
        ),
        ("garbage", Some("Bearer not.a.token".into())),
        ("an expired token", Some(format!("Bearer {expired}"))),
        (
            "a token signed with another secret",
            Some(format!("Bearer {forged}")),
        ),
        ("a token signed with HS512", Some(format!("Bearer {hs512}"))),
        (
            "an unsigned token (alg none)",
            Some(format!("Bearer {unsigned}")),
        ),
        ("a tampered payload", Some(format!("Bearer {tampered}"))),
        ("a token without exp", Some(format!("Bearer {no_exp}"))),
        ("a token for no account", Some(format!("Bearer {ghost}"))),
        (
            "a token naming another shop",
            Some(format!("Bearer {wrong_shop}")),
        ),
        (
            "a deleted account's token",
            Some(format!("Bearer {}", gone.token)),
        ),
        (
            "a deactivated account's token",
            Some(format!("Bearer {}", off.token)),
        ),
        (
            "a token without a credential stamp",
            Some(format!("Bearer {unstamped}")),
        ),
        (
            "a token from before the password changed",
            Some(format!("Bearer {stale}")),
        ),
    ];
    let cust = api_id("customers", s.refs.id("customers"));
    for (case, header) in cases {
        let mut headers = vec![JSON];
        if let Some(h) = &header {
            headers.push(("authorization", h.as_str()));
        }
        let create = json!({ "first_name": "Mallory" }).to_string();
        for (method, path, body) in [
            (Method::POST, api("customers"), create.clone()),
            (
                Method::PATCH,
                cust.clone(),
                json!({ "notes": "owned" }).to_string(),
            ),
            (Method::DELETE, cust.clone(), String::new()),
            (Method::GET, cust.clone(), String::new()),
            (
                Method::POST,
                "/api/customers/bulk".into(),
                json!({ "records": [{}] }).to_string(),
            ),
        ] {
            let what = format!("{case}: {method} {path}");
            s.refused(
                &what,
                hub.raw(method.clone(), &path, &headers, body),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
            )
            .await;
        }
    }
    let got = hub.get(&cust, &expired).await;
    let msg = got.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(msg.contains("expired"), "the expiry is said: {msg}");

    // Logging in wrongly gets no token and stores nothing.
    for (case, body, status, code, field) in [
        (
            "a wrong password",
            json!({ "email": OWNER_EMAIL, "password": "not the password" }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "an unknown e-mail",
            json!({ "email": "nobody@nowhere.test", "password": PASSWORD }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "a deactivated account",
            json!({ "email": off.email, "password": PASSWORD }),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            None,
        ),
        (
            "no password",
            json!({ "email": OWNER_EMAIL }),
            BAD,
            "invalid_field",
            Some("password"),
        ),
        (
            "an extra field",
            json!({ "email": OWNER_EMAIL, "password": PASSWORD, "role": "owner" }),
            BAD,
            "invalid_field",
            Some("role"),
        ),
    ] {
        s.refused(
            case,
            hub.raw(Method::POST, "/api/auth/login", &[JSON], body.to_string()),
            status,
            code,
            field,
        )
        .await;
    }
    // Health needs no token.
    let (st, health) = hub.raw(Method::GET, "/api/health", &[], Vec::new()).await;
    assert_eq!(st, StatusCode::OK, "{health}");
    assert_eq!(health["status"], json!("ok"));
}

#[tokio::test]
async fn methods_a_route_does_not_take_get_405_with_the_error_body() {
    let s = Setup::new().await;
    let auth = s.bearer();
    let headers = [JSON, ("authorization", auth.as_str())];
    let cust = api_id("customers", s.refs.id("customers"));
    for (method, path) in [
        (Method::PUT, api("customers")),
        (Method::DELETE, api("customers")),
        (Method::PUT, cust.clone()),
        (Method::POST, cust.clone()),
        (Method::GET, "/api/customers/bulk".to_string()),
        (Method::PATCH, format!("{cust}/history")),
        (Method::GET, "/api/auth/login".to_string()),
    ] {
        let what = format!("{method} {path}");
        s.refused(
            &what,
            s.hub.raw(method.clone(), &path, &headers, "{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            None,
        )
        .await;
    }
}
