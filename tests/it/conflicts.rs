//! `GET /api/conflicts` and `POST /api/conflicts/{table}/{id}/resolve`: a real
//! conflict (two PATCHes on one `_base` setting one field differently) is listed,
//! resolved to the chosen value and gone; only an open conflict of the caller's
//! own shop resolves; the list pages past any cap and every conflict on it can be
//! resolved; resolving a user's conflict counts on that user's next request.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Two PATCHes of `field` from the same `base`: a conflict on `field`.
async fn conflict(
    hub: &TestHub,
    token: &str,
    path: &str,
    base: &Value,
    field: &str,
    a: Value,
    b: Value,
) {
    for v in [a, b] {
        let (s, got) = hub
            .patch(path, token, &json!({ field: v, "_base": base }))
            .await;
        assert_eq!(s, StatusCode::OK, "{path} {field}: {got}");
    }
}

async fn open_conflicts(hub: &TestHub, token: &str) -> Vec<Value> {
    let (s, body) = hub.get("/api/conflicts", token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["data"].as_array().expect("data").clone()
}

fn resolve_path(table: &str, id: &str) -> String {
    format!("/api/conflicts/{table}/{id}/resolve")
}

#[tokio::test]
async fn a_conflict_is_listed_resolved_to_the_chosen_value_and_gone() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let other = hub.second_shop("Shop B").await;
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Ann", "notes": "first" }),
        )
        .await;
    let id = rec["id"].as_str().expect("id").to_string();
    let path = api_id("customers", &id);
    conflict(
        &hub,
        &token,
        &path,
        &rec["_heads"],
        "notes",
        json!("desk"),
        json!("bay"),
    )
    .await;
    let open = open_conflicts(&hub, &token).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["record_id"], json!(id));
    assert_eq!(open[0]["field"], json!("notes"));

    // Not a conflicting field, another shop's record, a table or record that is
    // not there: 404, and nothing written.
    let before = hub.snapshot();
    for (what, by, url, body) in [
        (
            "a field without a conflict",
            &token,
            resolve_path("customers", &id),
            json!({ "field": "first_name", "value": "Anne" }),
        ),
        (
            "a field that is no column",
            &token,
            resolve_path("customers", &id),
            json!({ "field": "colour", "value": "red" }),
        ),
        (
            "another shop's record",
            &other.owner.token,
            resolve_path("customers", &id),
            json!({ "field": "notes", "value": "theirs" }),
        ),
        (
            "the right id under another table",
            &token,
            resolve_path("vehicles", &id),
            json!({ "field": "notes", "value": "x" }),
        ),
        (
            "a record that does not exist",
            &token,
            resolve_path("customers", &uuid::Uuid::now_v7().to_string()),
            json!({ "field": "notes", "value": "x" }),
        ),
    ] {
        let got = hub.post(&url, by, &body).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found", what);
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // A value the column refuses: 400 naming the field.
    let got = hub
        .post(
            &resolve_path("customers", &id),
            &token,
            &json!({ "field": "notes", "value": 7 }),
        )
        .await;
    let field = assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "a number for notes",
    );
    assert_eq!(field.as_deref(), Some("notes"));

    // Resolved to a value that was neither candidate.
    let (s, got) = hub
        .post(
            &resolve_path("customers", &id),
            &token,
            &json!({ "field": "notes", "value": "agreed" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["notes"], json!("agreed"));
    assert_eq!(open_conflicts(&hub, &token).await, Vec::<Value>::new());
    let (_, now) = hub.get(&path, &token).await;
    assert_eq!(now["notes"], json!("agreed"));
    assert_eq!(now["first_name"], json!("Ann"));
    let stored: String = hub
        .db()
        .query_row("SELECT notes FROM customers WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .expect("the row");
    assert_eq!(stored, "agreed");
    // Once resolved, it is not open any more.
    let got = hub
        .post(
            &resolve_path("customers", &id),
            &token,
            &json!({ "field": "notes", "value": "again" }),
        )
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "resolved twice");

    // Shop B's own conflict: A's owner cannot reach it, B's can.
    let theirs = hub
        .create(
            "customers",
            &other.owner.token,
            &json!({ "first_name": "Bo" }),
        )
        .await;
    let tid = theirs["id"].as_str().expect("id");
    let tpath = api_id("customers", tid);
    conflict(
        &hub,
        &other.owner.token,
        &tpath,
        &theirs["_heads"],
        "notes",
        json!("x"),
        json!("y"),
    )
    .await;
    assert_eq!(open_conflicts(&hub, &token).await, Vec::<Value>::new());
    let got = hub
        .post(
            &resolve_path("customers", tid),
            &token,
            &json!({ "field": "notes", "value": "mine" }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::NOT_FOUND,
        "not_found",
        "shop A resolves shop B's",
    );
    let (s, got) = hub
        .post(
            &resolve_path("customers", tid),
            &other.owner.token,
            &json!({ "field": "notes", "value": "z" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
}

#[tokio::test]
async fn resolving_a_users_conflict_counts_on_their_next_request() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let tech = hub.user("technician").await;
    let path = api_id("users", &tech.id);
    let (_, rec) = hub.get(&path, &token).await;
    conflict(
        &hub,
        &token,
        &path,
        &rec["_heads"],
        "role",
        json!("estimator"),
        json!("parts_manager"),
    )
    .await;
    // The user's session now knows its (winning) role; neither reads invoices.
    let got = hub.get(&api("invoices"), &tech.token).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "estimator or parts manager",
    );
    let (s, got) = hub
        .post(
            &resolve_path("users", &tech.id),
            &token,
            &json!({ "field": "role", "value": "accountant" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let (s, body) = hub.get(&api("invoices"), &tech.token).await;
    assert_eq!(s, StatusCode::OK, "an accountant at once: {body}");
}

#[tokio::test]
async fn the_conflict_list_pages_past_a_thousand_and_the_last_one_resolves() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let mut records = Vec::new();
    for n in [1000, 1] {
        let body = json!({ "records": (0..n).map(|i| json!({ "first_name": format!("C{i}") })).collect::<Vec<_>>() });
        let (s, got) = hub.post("/api/customers/bulk", &token, &body).await;
        assert_eq!(s, StatusCode::CREATED, "{got}");
        records.extend(got["data"].as_array().expect("data").iter().cloned());
    }
    assert_eq!(records.len(), 1001);
    // Two PATCHes per record from one base, 32 records at a time.
    let mut tasks = tokio::task::JoinSet::new();
    for rec in records {
        while tasks.len() >= 32 {
            tasks.join_next().await.expect("a task").expect("it ran");
        }
        let (client, base_url, token) = (hub.client.clone(), hub.base_url.clone(), token.clone());
        tasks.spawn(async move {
            let url = format!(
                "{base_url}/api/customers/{}",
                rec["id"].as_str().expect("id")
            );
            for v in ["a", "b"] {
                let resp = client
                    .patch(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "notes": v, "_base": rec["_heads"] }))
                    .send()
                    .await
                    .expect("an answer");
                assert_eq!(resp.status(), StatusCode::OK);
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.expect("it ran");
    }
    let count: i64 = hub
        .db()
        .query_row("SELECT COUNT(*) FROM conflicts", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, 1001);

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut url = "/api/conflicts?limit=500".to_string();
    loop {
        let (s, page) = hub.get(&url, &token).await;
        assert_eq!(s, StatusCode::OK, "{url}: {page}");
        let data = page["data"].as_array().expect("data");
        sizes.push(data.len());
        seen.extend(data.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/conflicts?limit=500&cursor={c}"),
            None => break,
        }
        assert!(sizes.len() < 10, "the pages never end");
    }
    assert_eq!(sizes, [500, 500, 1]);
    let mut ids: Vec<&str> = seen
        .iter()
        .map(|c| c["record_id"].as_str().expect("id"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1001, "every conflict once");
    let (s, default_page) = hub.get("/api/conflicts", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        default_page["next_cursor"].is_string(),
        "a first page says there is more"
    );

    let last = seen.last().expect("one").clone();
    let id = last["record_id"].as_str().expect("id");
    let (s, got) = hub
        .post(
            &resolve_path("customers", id),
            &token,
            &json!({ "field": "notes", "value": "c" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the 1001st conflict resolves: {got}");
    let count: i64 = hub
        .db()
        .query_row("SELECT COUNT(*) FROM conflicts", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, 1000);
    for bad in ["cursor=nope", "limit=0", "limit=501"] {
        let got = hub.get(&format!("/api/conflicts?{bad}"), &token).await;
        assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", bad);
    }
}

/// A technician may not change a repair order's money, so may not settle a
/// conflict on it either, not even by keeping the value shown now (which
/// would throw away the other person's value); on a column they may change,
/// they may.
#[tokio::test]
async fn a_conflict_is_settled_only_by_who_may_change_its_field() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let tech = hub.user("technician").await;
    let id = hub
        .create_id(
            "repair_orders",
            &token,
            &json!({ "stage": "intake", "priority": "normal", "ro_status": "draft" }),
        )
        .await;
    let path = api_id("repair_orders", &id);
    let (_, rec) = hub.get(&path, &token).await;
    for (field, a, b) in [
        ("total_cents", json!(100), json!(200)),
        ("notes", json!("left door"), json!("right door")),
    ] {
        conflict(&hub, &token, &path, &rec["_heads"], field, a, b).await;
    }
    let (_, now) = hub.get(&path, &token).await;
    let before = hub.snapshot();
    let got = hub
        .post(
            &resolve_path("repair_orders", &id),
            &tech.token,
            &json!({ "field": "total_cents", "value": now["total_cents"] }),
        )
        .await;
    assert_error(&got, StatusCode::FORBIDDEN, "forbidden", "total_cents");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    let (s, got) = hub
        .post(
            &resolve_path("repair_orders", &id),
            &tech.token,
            &json!({ "field": "notes", "value": now["notes"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    let open: Vec<Value> = open_conflicts(&hub, &token)
        .await
        .into_iter()
        .filter(|c| c["record_id"] == id.as_str())
        .collect();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["field"], "total_cents");
}
