//! `GET /api/ui/catalog` (what the web UI draws forms and menus from) says what
//! the role matrix and the column rules say, for the caller's role; and the UI's
//! versioned files are cached for long, the page and the service worker not.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_str().expect("a string"))
        .collect()
}

#[tokio::test]
async fn the_catalog_follows_the_matrix_and_the_column_rules_for_each_role() {
    let hub = TestHub::spawn().await;
    let (status, body) = hub.get("/api/ui/catalog", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, owner) = hub.get("/api/ui/catalog", hub.owner_token()).await;
    assert_eq!(status, StatusCode::OK, "{owner}");
    assert_eq!(owner["role"], "owner");
    assert_eq!(owner["user_id"], json!(hub.owner.id));
    let users = &owner["tables"]["users"];
    assert_eq!(users["access"]["insert"], "all");
    assert_eq!(users["private_columns"], json!([]), "FIN reads the rate");
    assert!(strs(&users["update_columns"]).contains(&"hourly_rate_cents"));
    let ro = &owner["tables"]["repair_orders"];
    assert_eq!(ro["numbering"], "ro_number");
    let customer = ro["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == "customer_id")
        .expect("customer_id");
    assert_eq!(customer["type"], "ref");
    assert_eq!(customer["ref"], "customers");
    assert_eq!(
        ro["update_values"],
        json!({}),
        "nothing narrowed for an owner"
    );
    assert_eq!(
        owner["default_stages"][0], "intake",
        "the default board comes with it"
    );

    assert_eq!(
        users["update_values"],
        json!({}),
        "an owner grants every role"
    );
    // An admin manages accounts but may not grant the owner role: the form
    // is not offered it.
    let admin = hub.user("admin").await;
    let (status, a) = hub.get("/api/ui/catalog", &admin.token).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let roles = strs(&a["tables"]["users"]["update_values"]["role"]);
    assert!(
        !roles.contains(&"owner") && roles.contains(&"admin"),
        "{roles:?}"
    );
    let (s, b) = hub
        .post(
            "/api/users",
            &admin.token,
            &json!({ "email": "new-owner@example.com", "display_name": "New Owner",
                     "role": "owner", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the hub refuses what the form leaves out: {b}"
    );

    let tech = hub.user("technician").await;
    let (status, t) = hub.get("/api/ui/catalog", &tech.token).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["role"], "technician");
    let tables = t["tables"].as_object().expect("tables");
    for absent in ["invoices", "payments"] {
        assert!(
            !tables.contains_key(absent),
            "a technician may not read {absent}"
        );
    }
    assert_eq!(
        t["tables"]["users"]["private_columns"],
        json!(["hourly_rate_cents"]),
        "others' rates are hidden from a technician"
    );
    assert_eq!(t["tables"]["users"]["access"]["update"], "self");
    assert_eq!(
        t["tables"]["users"]["update_columns"],
        json!(["display_name"])
    );
    let ro = &t["tables"]["repair_orders"];
    assert_eq!(ro["access"]["insert"], "none");
    assert_eq!(ro["access"]["update"], "all");
    let mut cols = strs(&ro["update_columns"]);
    cols.sort();
    assert_eq!(cols, ["hold_reason", "notes", "ro_status", "stage"]);
    assert_eq!(
        ro["update_values"]["ro_status"],
        json!([
            "parts_hold",
            "in_production",
            "quality_control",
            "ready_for_delivery"
        ])
    );
    let parts = &t["tables"]["parts"];
    let mut cols = strs(&parts["update_columns"]);
    cols.sort();
    assert_eq!(cols, ["part_status", "quantity_received"]);
    assert_eq!(
        parts["update_values"]["part_status"],
        json!(["received", "inspected", "installed"])
    );
    let clock = &t["tables"]["time_clock"];
    assert_eq!(clock["access"]["read"], "own");
    assert_eq!(clock["access"]["insert"], "own");
    let labor = &t["tables"]["labor_entries"];
    let cols = strs(&labor["update_columns"]);
    assert!(
        !cols.contains(&"approved") && !cols.contains(&"approved_by"),
        "a technician never approves their own time: {cols:?}"
    );
    assert!(cols.contains(&"minutes"));
    let cols = strs(&labor["insert_columns"]);
    assert!(
        !cols.contains(&"approved") && cols.contains(&"technician_id"),
        "a technician records time, unapproved: {cols:?}"
    );
    assert_eq!(
        owner["tables"]["labor_entries"]["insert_columns"]
            .as_array()
            .map(Vec::len),
        Some(9),
        "a manager may add approved time"
    );
}

#[tokio::test]
async fn versioned_ui_files_are_cached_for_a_year_and_the_page_names_the_version() {
    let hub = TestHub::spawn().await;
    let get = |path: String| hub.client.get(format!("{}{path}", hub.base_url)).send();
    let list: Value = get("/assets.json".into())
        .await
        .expect("assets.json")
        .json()
        .await
        .expect("json");
    let v = list["version"].as_str().expect("a version").to_string();
    assert_eq!(v.len(), 12);
    let files = strs(&list["files"]);
    assert!(
        files.contains(&format!("/v/{v}/app.js").as_str()),
        "{files:?}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.ends_with("/index.html") || f.ends_with("/sw.js")),
        "the page and the worker are never under a version: {files:?}"
    );

    let page = get("/board".into()).await.expect("the page");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("/v/{v}/app.js")), "{html}");
    assert!(!html.contains("__V__"));

    let sw = get("/sw.js".into()).await.expect("the worker");
    assert_eq!(sw.headers()["cache-control"], "no-cache");
    assert_eq!(
        sw.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(sw.text().await.expect("js").contains(&v));

    let js = get(format!("/v/{v}/js/main.js")).await.expect("a module");
    assert_eq!(js.status(), StatusCode::OK);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // Another version's URL still answers (an old page), but is not cached.
    let old = get("/v/000000000000/js/main.js".into()).await.expect("old");
    assert_eq!(old.status(), StatusCode::OK);
    assert_eq!(old.headers()["cache-control"], "no-cache");
}
