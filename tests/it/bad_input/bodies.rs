//! Bodies the hub cannot take as they are: malformed JSON, a body that is not an
//! object, a bulk envelope of the wrong shape (400), and bodies over the size caps
//! (413), while the bulk route takes more than a single record's cap.

use super::{Setup, BAD, JSON};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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
            "a sync trigger's body that is not JSON",
            Method::POST,
            "/api/sync/trigger",
            b"{\"retryFailed\": tru".to_vec(),
        ),
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
        (
            "a field beside records",
            json!({ "records": [{ "first_name": "A", "last_name": "B" }], "extra": 1 }),
            "extra",
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
    // A body that may be left out is held to the same cap when given.
    s.raw(
        "a sync trigger over 256 KiB",
        Method::POST,
        "/api/sync/trigger",
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

/// A body that says it is not JSON (a form, text) or is compressed is refused
/// for what it is (415), not parsed; a JSON body without a Content-Type is read.
#[tokio::test]
async fn a_body_that_is_not_plain_json_is_refused_with_415() {
    let s = Setup::new().await;
    let auth = s.bearer();
    let body = json!({ "first_name": "Typed" }).to_string();
    // The sync trigger's body may be left out; one given is held to the same.
    for (case, headers) in [
        ("JSON sent as text", vec![("content-type", "text/plain")]),
        (
            "a form",
            vec![("content-type", "application/x-www-form-urlencoded")],
        ),
        (
            "a compressed body",
            vec![JSON, ("content-encoding", "gzip")],
        ),
    ] {
        let mut headers = headers;
        headers.push(("authorization", auth.as_str()));
        for path in ["/api/customers", "/api/sync/trigger"] {
            s.refused(
                &format!("{case} to {path}"),
                s.hub.raw(Method::POST, path, &headers, body.clone()),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                None,
            )
            .await;
        }
    }
    let (status, created) = s
        .hub
        .raw(
            Method::POST,
            "/api/customers",
            &[("authorization", auth.as_str())],
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, typed) = s
        .hub
        .raw(
            Method::POST,
            "/api/customers",
            &[
                ("content-type", "application/json; charset=utf-8"),
                ("authorization", auth.as_str()),
            ],
            body,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{typed}");
}
