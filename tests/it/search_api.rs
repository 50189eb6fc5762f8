//! `GET /api/<table>?q=text`: the records of the caller's shop with the text
//! anywhere in a text column (case-insensitive), `%`, `_` and `\` taken
//! literally, combined with filters and the cursor; a `q` that is empty or too
//! long is a 400 naming `q`. And `order=newest`: the same pages newest first.

use crate::common::{api, assert_error, TestHub};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Every record `path` lists, in order, following the cursor with pages of
/// `limit` (the cursor goes with the same query).
async fn all_pages(hub: &TestHub, token: &str, path: &str, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            Some(c) => format!("{path}&limit={limit}&cursor={c}"),
            None => format!("{path}&limit={limit}"),
        };
        let (s, body) = hub.get(&url, token).await;
        assert_eq!(s, StatusCode::OK, "{url}: {body}");
        let rows = body["data"].as_array().expect("data");
        assert!(rows.len() <= limit, "{url}: more than the limit");
        all.extend(rows.iter().cloned());
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
    panic!("{path}: paging does not end");
}

/// The last names of every record `path` lists (each once).
async fn last_names(hub: &TestHub, token: &str, path: &str, limit: usize) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for r in all_pages(hub, token, path, limit).await {
        let name = r["last_name"].as_str().unwrap_or_default().to_string();
        assert!(names.insert(name.clone()), "{path}: {name} twice");
    }
    names
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_search_finds_text_anywhere_in_the_shops_own_records() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let people = [
        ("Ana", "Ortiz", "ana@north.test", None),
        ("Bob", "ORTEGA", "bob@south.test", None),
        ("Cy", "Hundred", "cy@east.test", Some("100% satisfied")),
        ("Di", "Under_Score", "di@west.test", None),
        ("Ed", "Back\\Slash", "ed@west.test", None),
        ("Flo", "Plain", "flo@west.test", Some("10 of 100 parts")),
    ];
    for (first, last, email, notes) in people {
        hub.create(
            "customers",
            &owner.token,
            &json!({"first_name": first, "last_name": last, "email": email, "notes": notes}),
        )
        .await;
    }
    // Another shop's Ortiz is never found.
    let other = hub.second_shop("Other Body Shop").await;
    hub.create(
        "customers",
        &other.owner.token,
        &json!({"first_name": "Otto", "last_name": "Ortiz-Other"}),
    )
    .await;

    let path = |q: &str| {
        format!(
            "{}?q={}",
            api("customers"),
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        )
    };
    let cases: [(&str, &[&str]); 8] = [
        // Case-insensitive, anywhere in the value, across the pages.
        ("ort", &["Ortiz", "ORTEGA"]),
        ("  ORT ", &["Ortiz", "ORTEGA"]),
        // Other text columns: an e-mail, the notes.
        ("@west.", &["Under_Score", "Back\\Slash", "Plain"]),
        ("satisfied", &["Hundred"]),
        // LIKE's wildcards and escape are plain characters here.
        ("100%", &["Hundred"]),
        ("r_s", &["Under_Score"]),
        ("k\\s", &["Back\\Slash"]),
        ("nobody-has-this", &[]),
    ];
    for (q, want) in cases {
        assert_eq!(
            last_names(&hub, &owner.token, &path(q), 1).await,
            set(want),
            "q={q:?}"
        );
    }
    // With a filter: both must hold.
    assert_eq!(
        last_names(
            &hub,
            &owner.token,
            &format!("{}&first_name=Ana", path("ort")),
            10
        )
        .await,
        set(&["Ortiz"])
    );
    // The other shop finds its own only.
    assert_eq!(
        last_names(&hub, &other.owner.token, &path("ortiz"), 10).await,
        set(&["Ortiz-Other"])
    );

    // Nothing to look for, or too much: 400 naming q; nothing else changes.
    for q in ["", "   ", &"x".repeat(101)] {
        let got = hub.get(&path(q), &owner.token).await;
        let field = assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("q={q:?}"),
        );
        assert_eq!(field.as_deref(), Some("q"), "{:?}", got.1);
    }
    let (s, all): (StatusCode, Value) = hub
        .get(&format!("{}?limit=100", api("customers")), &owner.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(all["data"].as_array().map(Vec::len), Some(people.len()));
}

/// The ids of every record `path` lists, in order.
async fn ids_in_order(hub: &TestHub, token: &str, path: &str, limit: usize) -> Vec<String> {
    all_pages(hub, token, path, limit)
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn a_list_pages_newest_first_on_request() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let mut created = Vec::new();
    for i in 0..7 {
        let who = if i % 2 == 0 { "Even" } else { "Odd" };
        let r = hub
            .create(
                "customers",
                &owner.token,
                &json!({"first_name": format!("N{i}"), "last_name": who}),
            )
            .await;
        created.push(r["id"].as_str().expect("id").to_string());
    }
    let base = api("customers");
    let oldest = ids_in_order(&hub, &owner.token, &format!("{base}?order=oldest"), 3).await;
    assert_eq!(oldest, created, "oldest first, in the order they were made");
    let default = ids_in_order(&hub, &owner.token, &format!("{base}?q=n"), 4).await;
    assert_eq!(default, created, "oldest first unless asked");
    let newest = ids_in_order(&hub, &owner.token, &format!("{base}?order=newest"), 3).await;
    let mut reversed = created.clone();
    reversed.reverse();
    assert_eq!(newest, reversed, "newest first, across pages of 3");
    // With a search and a filter too.
    let odd = ids_in_order(
        &hub,
        &owner.token,
        &format!("{base}?order=newest&q=odd&last_name=Odd"),
        2,
    )
    .await;
    let want: Vec<String> = reversed
        .iter()
        .enumerate()
        .filter(|(i, _)| (6 - i) % 2 == 1)
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(odd, want);

    for bad in ["", "desc", "NEWEST"] {
        let got = hub.get(&format!("{base}?order={bad}"), &owner.token).await;
        let field = assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            "invalid_field",
            &format!("order={bad:?}"),
        );
        assert_eq!(field.as_deref(), Some("order"), "{:?}", got.1);
    }
}
