//! `GET /api/{table}/{id}/history`: every change in order, with its operation,
//! its author (id and display name) and the fields it set; confined to the shop.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string"))
        .collect()
}

#[tokio::test]
async fn history_lists_each_change_with_its_author_and_fields() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let advisor = hub.user("service_advisor").await;
    let estimator = hub.user("estimator").await;

    let id = hub
        .create_id(
            "customers",
            &owner.token,
            &json!({ "first_name": "Ada", "last_name": "Byron" }),
        )
        .await;
    let path = api_id("customers", &id);
    let (s, _) = hub
        .patch(&path, &advisor.token, &json!({ "phone": "555-0123" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, last) = hub
        .patch(
            &path,
            &estimator.token,
            &json!({ "last_name": "Lovelace", "notes": "married name" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, body) = hub.get(&format!("{path}/history"), &owner.token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let entries = body["data"].as_array().expect("data");
    assert_eq!(entries.len(), 3, "{body}");

    let ops: Vec<&str> = entries
        .iter()
        .map(|e| e["op"].as_str().expect("op"))
        .collect();
    assert_eq!(ops, ["create", "update", "update"]);
    let authors: Vec<(&Value, &Value)> = entries
        .iter()
        .map(|e| (&e["author"]["id"], &e["author"]["display_name"]))
        .collect();
    assert_eq!(
        authors,
        [
            (&json!(owner.id), &json!(OWNER_NAME)),
            (&json!(advisor.id), &json!(advisor.display_name)),
            (&json!(estimator.id), &json!(estimator.display_name)),
        ]
    );

    // The fields each change set: the create names what it stored (not the nulls).
    let created: BTreeSet<&str> = strings(&entries[0]["fields"]).into_iter().collect();
    for f in [
        "first_name",
        "last_name",
        "customer_number",
        "customer_type",
    ] {
        assert!(
            created.contains(f),
            "the create's fields lack {f}: {created:?}"
        );
    }
    for f in ["phone", "notes", "email"] {
        assert!(
            !created.contains(f),
            "the create's fields name the null {f}"
        );
    }
    assert_eq!(strings(&entries[1]["fields"]), ["phone"]);
    assert_eq!(strings(&entries[2]["fields"]), ["last_name", "notes"]);

    // In order, each its own change, the last one being the record's head.
    let seqs: Vec<i64> = entries
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let times: Vec<OffsetDateTime> = entries
        .iter()
        .map(|e| OffsetDateTime::parse(e["at"].as_str().expect("at"), &Rfc3339).expect("RFC 3339"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let hashes: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["change_hash"].as_str().expect("change_hash"))
        .collect();
    assert_eq!(hashes.len(), 3);
    assert!(hashes
        .iter()
        .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit())));
    assert_eq!(last["_heads"], json!([entries[2]["change_hash"]]));

    // Anyone of the shop who may read customers sees the same history.
    let tech = hub.user("technician").await;
    let (s, theirs) = hub.get(&format!("{path}/history"), &tech.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(theirs, body);

    // Another shop: not found, exactly like a record that does not exist.
    let other = hub.second_shop("Shop B").await;
    let got = hub
        .get(&format!("{path}/history"), &other.owner.token)
        .await;
    assert_error(
        &got,
        StatusCode::NOT_FOUND,
        "not_found",
        "another shop's history",
    );
    let missing = uuid::Uuid::now_v7().hyphenated().to_string();
    let got = hub
        .get(&format!("/api/customers/{missing}/history"), &owner.token)
        .await;
    assert_error(
        &got,
        StatusCode::NOT_FOUND,
        "not_found",
        "a record that never was",
    );
    let got = hub
        .get("/api/customers/not-an-id/history", &owner.token)
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "a malformed id");
    // The record exists in shop A, not under another table's name.
    let got = hub
        .get(&format!("/api/vehicles/{id}/history"), &owner.token)
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "the wrong table");

    // A deleted record's history stays, with the delete at its end.
    let (s, _) = hub.delete(&path, &owner.token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = hub.get(&format!("{path}/history"), &owner.token).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let entries = body["data"].as_array().expect("data");
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3]["op"], json!("delete"));
    assert_eq!(entries[3]["author"]["id"], json!(owner.id));
    assert_eq!(entries[3]["fields"], json!([]));
    let got = hub
        .get(&format!("{path}/history"), &other.owner.token)
        .await;
    assert_error(
        &got,
        StatusCode::NOT_FOUND,
        "not_found",
        "another shop, deleted",
    );
}

/// An entry whose bytes are damaged (not an Automerge change) is still listed,
/// with what the log itself says and a null hash and actor, and the entries
/// around it are untouched: the history never fails for one bad entry.
#[tokio::test]
async fn a_damaged_entry_is_listed_without_a_hash_and_the_rest_are_whole() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let rec = hub
        .create(
            "customers",
            &owner.token,
            &json!({ "first_name": "Eve", "last_name": "Sector" }),
        )
        .await;
    let path = api_id("customers", rec["id"].as_str().expect("an id"));
    for phone in ["555-0100", "555-0101"] {
        let (s, _) = hub
            .patch(&path, &owner.token, &json!({ "phone": phone }))
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, before) = hub.get(&format!("{path}/history"), &owner.token).await;
    assert_eq!(s, StatusCode::OK, "{before}");
    let middle = before["data"][1]["seq"].as_i64().expect("seq");
    let changed = hub
        .db_writable()
        .execute(
            "UPDATE change_log SET bytes = X'8561000000000000DEADBEEF' WHERE seq = ?1",
            [middle],
        )
        .expect("damage it");
    assert_eq!(changed, 1);

    let (s, after) = hub.get(&format!("{path}/history"), &owner.token).await;
    assert_eq!(s, StatusCode::OK, "{after}");
    let (was, now) = (&before["data"], &after["data"]);
    assert_eq!(now.as_array().map(Vec::len), Some(3), "{after}");
    assert_eq!(now[0], was[0]);
    assert_eq!(now[2], was[2]);
    assert!(was[1]["change_hash"].is_string() && was[1]["actor"].is_string());
    assert_eq!(now[1]["change_hash"], Value::Null, "{after}");
    assert_eq!(now[1]["actor"], Value::Null, "{after}");
    for k in ["seq", "op", "author", "fields", "at"] {
        assert_eq!(now[1][k], was[1][k], "{k}");
    }
}

/// A record whose stored history does not load (its create damaged on disk)
/// is still read, but a change to it is refused with the reason, and so is its
/// Automerge document, rather than an opaque error or bytes a tablet cannot
/// load; nothing stored changes.
#[tokio::test]
async fn a_record_whose_history_is_damaged_is_read_but_not_changed() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let id = hub
        .create_id(
            "customers",
            &owner.token,
            &json!({ "first_name": "Gil", "last_name": "Sector" }),
        )
        .await;
    let path = api_id("customers", &id);
    let (s, rec) = hub.get(&path, &owner.token).await;
    assert_eq!(s, StatusCode::OK);
    let (s, doc) = hub.get(&format!("{path}/automerge"), &owner.token).await;
    assert_eq!(s, StatusCode::OK, "{doc}");
    let changed = hub
        .db_writable()
        .execute(
            "UPDATE change_log SET bytes = X'8561000000000000DEADBEEF' WHERE record_id = ?1",
            [&id],
        )
        .expect("damage it");
    assert_eq!(changed, 1);
    let before = hub.snapshot();

    let refused = |body: &Value| {
        assert_eq!(body["error"]["code"], "damaged_record", "{body}");
        let m = body["error"]["message"].as_str().unwrap_or("");
        assert!(
            m.contains(&format!("customers {id}")) && m.contains("restored from a backup"),
            "{m}"
        );
    };
    let (s, b) = hub
        .patch(&path, &owner.token, &json!({ "phone": "555-0199" }))
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    refused(&b);
    let (s, b) = hub.get(&format!("{path}/automerge"), &owner.token).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{b}");
    refused(&b);
    let (s, now) = hub.get(&path, &owner.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(now, rec, "still read as it was");
    assert_eq!(hub.snapshot(), before, "nothing stored changed");
}

/// A column the caller may not read is not named in the history either: a
/// technician reading a colleague's account does not learn when their hourly
/// rate changed; an owner does.
#[tokio::test]
async fn history_does_not_name_a_column_the_caller_may_not_read() {
    let hub = TestHub::spawn().await;
    let admin = hub.user("admin").await;
    let tech = hub.user("technician").await;
    let path = api_id("users", &admin.id);
    for body in [
        json!({ "hourly_rate_cents": 9999 }),
        json!({ "display_name": "Renamed", "hourly_rate_cents": 5000 }),
    ] {
        let (s, b) = hub.patch(&path, hub.owner_token(), &body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let fields_seen = |body: &Value| -> Vec<Vec<String>> {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .filter(|e| e["op"] == "update")
            .map(|e| {
                strings(&e["fields"])
                    .iter()
                    .map(|f| f.to_string())
                    .collect()
            })
            .collect()
    };
    let (s, by_owner) = hub.get(&format!("{path}/history"), hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{by_owner}");
    assert_eq!(
        fields_seen(&by_owner),
        [
            vec!["hourly_rate_cents".to_string()],
            vec!["display_name".into(), "hourly_rate_cents".into()]
        ]
    );
    let (s, by_tech) = hub.get(&format!("{path}/history"), &tech.token).await;
    assert_eq!(s, StatusCode::OK, "{by_tech}");
    assert_eq!(fields_seen(&by_tech), [vec!["display_name".to_string()]]);
}
