//! Patches and `_base`: two writers on one base merge different fields and leave
//! same-field edits listed as conflicts (for their shop only) until a plain write
//! settles them; a patch that changes nothing writes nothing.

use super::{change_log, heads, ops, str_of};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn patches_on_one_base_merge_and_same_field_edits_become_conflicts() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Ann", "last_name": "Lee", "notes": "first" }),
        )
        .await;
    let id = str_of(&rec, "id").to_string();
    let path = api_id("customers", &id);
    let base = heads(&rec);

    // Two writers who both saw `base` edit different fields: both land.
    let (s, a) = hub
        .patch(
            &path,
            &token,
            &json!({ "first_name": "Anne", "_base": base }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (s, b) = hub
        .patch(
            &path,
            &token,
            &json!({ "last_name": "Leigh", "_base": base }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, now) = hub.get(&path, &token).await;
    assert_eq!(now["first_name"], json!("Anne"));
    assert_eq!(now["last_name"], json!("Leigh"));
    assert_eq!(now["notes"], json!("first"));
    assert_eq!(
        heads(&now).len(),
        2,
        "two concurrent changes, two heads: {now}"
    );
    let (_, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(conflicts["data"], json!([]), "{conflicts}");

    // Two writers who both saw `base2` edit the same field: one value wins, both
    // are kept, and the field is listed as a conflict.
    let base2 = heads(&now);
    let (s, _) = hub
        .patch(
            &path,
            &token,
            &json!({ "notes": "from the desk", "_base": base2 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, last) = hub
        .patch(
            &path,
            &token,
            &json!({ "notes": "from the bay", "_base": base2 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{last}");
    assert!(
        ["from the desk", "from the bay"].contains(&str_of(&last, "notes")),
        "{last}"
    );
    let (s, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(s, StatusCode::OK, "{conflicts}");
    let data = conflicts["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{conflicts}");
    let c = &data[0];
    assert_eq!(c["table"], json!("customers"));
    assert_eq!(c["record_id"], json!(id));
    assert_eq!(c["field"], json!("notes"));
    let candidates: BTreeSet<&str> = c["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|v| v.as_str().expect("text"))
        .collect();
    assert_eq!(
        candidates,
        BTreeSet::from(["from the desk", "from the bay"])
    );
    assert_eq!(
        c["candidates"][0], last["notes"],
        "the winner comes first and is the stored value"
    );
    // The row in SQLite holds the winner.
    let stored: String = hub
        .db()
        .query_row("SELECT notes FROM customers WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .expect("the row");
    assert_eq!(json!(stored), last["notes"]);

    // Another shop sees none of it.
    let other = hub.second_shop("Shop B").await;
    let (_, theirs) = hub.get("/api/conflicts", &other.owner.token).await;
    assert_eq!(theirs["data"], json!([]));

    // A plain write on the current heads settles the field.
    let (s, _) = hub
        .patch(&path, &token, &json!({ "notes": "settled" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(conflicts["data"], json!([]), "{conflicts}");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_answers_the_record_and_writes_nothing() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Lin", "notes": "same" }),
        )
        .await;
    let path = api_id("customers", str_of(&rec, "id"));
    let before = hub.snapshot();
    for body in [
        json!({ "notes": "same" }),
        json!({ "first_name": "Lin", "notes": "same" }),
        json!({ "notes": "same", "_base": heads(&rec) }),
        json!({ "shop_id": hub.shop_id }),
    ] {
        let (s, got) = hub.patch(&path, &token, &body).await;
        assert_eq!(s, StatusCode::OK, "{body}: {got}");
        assert_eq!(got, rec, "{body}");
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // A real change after them is logged as usual.
    let (s, got) = hub.patch(&path, &token, &json!({ "notes": "new" })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["notes"], json!("new"));
    assert_eq!(
        ops(&change_log(&hub, "customers", str_of(&rec, "id"))),
        ["create", "update"]
    );
}
