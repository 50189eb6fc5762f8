//! Two bay tablets offline editing one repair order, over real WebSockets:
//! different fields merge, the same field with different values is one
//! conflict (both values, both devices, one winner everywhere), the same value
//! is agreement, and resolving clears the conflict on every tablet.

use crate::common::*;
use crate::ws_support::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn strings<'a>(it: impl Iterator<Item = &'a Value>) -> BTreeSet<String> {
    it.map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect()
}

/// The open conflicts of one record, as `GET /api/conflicts` lists them.
async fn conflicts_of(hub: &TestHub, id: &str) -> Vec<Value> {
    let (s, body) = hub.get("/api/conflicts", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|c| c["record_id"] == id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn two_offline_tablets_merge_fields_and_conflict_only_on_different_values() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let ro = refs.id("repair_orders").to_string();
    let path = api_id("repair_orders", &ro);
    let tech = hub.user("technician").await;
    let advisor = hub.user("service_advisor").await;
    let mut bay = Tablet::connect(&hub.base_url, &tech.token, "paint-bay-3", 0).await;
    let mut desk = Tablet::connect(&hub.base_url, &advisor.token, "front-desk-1", 0).await;
    let key = ("repair_orders".to_string(), ro.clone());

    // Both tablets went offline having seen `base`; each edits a different field.
    let (_, rec) = hub.get(&path, &owner.token).await;
    let base = heads_of(&rec);
    bay.write_ok(
        json!({ "op_id": "bay-1", "table": "repair_orders", "id": ro,
                         "fields": { "stage": "paint_booth" }, "base": base }),
    )
    .await;
    desk.write_ok(
        json!({ "op_id": "desk-1", "table": "repair_orders", "id": ro,
                          "fields": { "notes": "customer called" }, "base": base }),
    )
    .await;
    let (_, now) = hub.get(&path, &owner.token).await;
    assert_eq!(now["stage"], "paint_booth", "{now}");
    assert_eq!(now["notes"], "customer called", "{now}");
    assert!(conflicts_of(&hub, &ro).await.is_empty());
    let (_, hist) = hub.get(&format!("{path}/history"), &owner.token).await;
    let entries = hist["data"].as_array().expect("history");
    let last_two: Vec<(Value, Value, Value)> = entries[entries.len() - 2..]
        .iter()
        .map(|e| {
            (
                e["device"].clone(),
                e["fields"].clone(),
                e["author"]["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        last_two,
        [
            (json!("paint-bay-3"), json!(["stage"]), json!(tech.id)),
            (json!("front-desk-1"), json!(["notes"]), json!(advisor.id)),
        ],
        "history names each change's device and exactly its changed field"
    );

    // Offline again from `base2`: both edit the notes, differently.
    let base2 = heads_of(&now);
    bay.write_ok(
        json!({ "op_id": "bay-2", "table": "repair_orders", "id": ro,
                         "fields": { "notes": "primer cracked, redo" }, "base": base2 }),
    )
    .await;
    let second = desk
        .write_ok(
            json!({ "op_id": "desk-2", "table": "repair_orders", "id": ro,
                          "fields": { "notes": "pickup moved to friday" }, "base": base2 }),
        )
        .await;
    let (_, row) = hub.get(&path, &owner.token).await;
    let winner = row["notes"].clone();
    let listed = conflicts_of(&hub, &ro).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let c = &listed[0];
    assert_eq!(c["field"], "notes");
    assert_eq!(c["winner"], winner, "the hub's winner is the row's value");
    let details = c["details"].as_array().expect("details");
    assert_eq!(details.len(), 2, "{c}");
    assert_eq!(details[0]["value"], winner, "the winner comes first");
    assert_eq!(
        strings(details.iter().map(|d| &d["value"])),
        BTreeSet::from([
            "primer cracked, redo".into(),
            "pickup moved to friday".into()
        ])
    );
    assert_eq!(
        strings(details.iter().map(|d| &d["device"])),
        BTreeSet::from(["paint-bay-3".into(), "front-desk-1".into()])
    );
    assert_eq!(
        strings(details.iter().map(|d| &d["author"])),
        BTreeSet::from([tech.id.clone(), advisor.id.clone()])
    );
    assert!(details
        .iter()
        .all(|d| d["at"].as_str().is_some_and(|s| !s.is_empty())));
    let stored: String = hub
        .db()
        .query_row(
            "SELECT notes FROM repair_orders WHERE id = ?1",
            [&ro],
            |r| r.get(0),
        )
        .expect("the row");
    assert_eq!(json!(stored), winner, "the SQLite row holds the winner");
    // Each tablet's board shows the same winner and the conflict.
    let seq = second["seq"].as_i64().expect("a seq");
    for t in [&mut bay, &mut desk] {
        t.until(|m| m["type"] == "conflict" && m["seq"] == seq)
            .await;
        assert_eq!(t.view[&key]["notes"], winner, "{}", t.device_id);
        let open = t.conflicts.get(&key).expect("a conflict event").clone();
        assert_eq!(open.as_array().map(Vec::len), Some(1), "{open}");
        assert_eq!(open[0]["field"], "notes");
        assert_eq!(open[0]["winner"], winner);
        assert_eq!(
            strings(
                open[0]["candidates"]
                    .as_array()
                    .expect("candidates")
                    .iter()
                    .map(|d| &d["device"])
            ),
            BTreeSet::from(["paint-bay-3".into(), "front-desk-1".into()])
        );
    }

    // Offline from `base3`: both set the stage to the same value: agreement.
    let base3 = heads_of(&row);
    bay.write_ok(
        json!({ "op_id": "bay-3", "table": "repair_orders", "id": ro,
                         "fields": { "stage": "detail" }, "base": base3 }),
    )
    .await;
    desk.write_ok(
        json!({ "op_id": "desk-3", "table": "repair_orders", "id": ro,
                          "fields": { "stage": "detail" }, "base": base3 }),
    )
    .await;
    let listed = conflicts_of(&hub, &ro).await;
    assert_eq!(
        listed
            .iter()
            .map(|c| c["field"].clone())
            .collect::<Vec<_>>(),
        [json!("notes")],
        "the same value written concurrently is not a conflict"
    );
    let (_, row) = hub.get(&path, &owner.token).await;
    assert_eq!(row["stage"], "detail");

    // A manager resolves the notes: an ordinary change, cleared everywhere.
    let (s, resolved) = hub
        .post(
            &format!("/api/conflicts/repair_orders/{ro}/resolve"),
            &owner.token,
            &json!({ "field": "notes", "value": "redo primer; pickup monday" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{resolved}");
    assert!(conflicts_of(&hub, &ro).await.is_empty());
    for t in [&mut bay, &mut desk] {
        // The resolving change, then its `conflict` event with nothing open.
        t.until(|m| m["type"] == "conflict" && m["conflicts"] == json!([]))
            .await;
        assert_eq!(t.view[&key]["notes"], "redo primer; pickup monday");
    }
}

#[tokio::test]
async fn history_lists_exactly_the_fields_whose_values_changed() {
    let hub = TestHub::spawn().await;
    let token = hub.owner_token().to_string();
    let id = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "Ada", "last_name": "Byron" }),
        )
        .await;
    let path = api_id("customers", &id);
    // The form sends every field; only the last name is new.
    let (s, _) = hub
        .patch(
            &path,
            &token,
            &json!({ "first_name": "Ada", "last_name": "Lovelace" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut t = Tablet::connect(&hub.base_url, &token, "desk-2", 0).await;
    t.write_ok(json!({ "op_id": "d2-1", "table": "customers", "id": id,
                       "fields": { "last_name": "Lovelace", "notes": "married name" } }))
        .await;
    let (_, hist) = hub.get(&format!("{path}/history"), &token).await;
    let rows: Vec<(Value, Value)> = hist["data"]
        .as_array()
        .expect("history")
        .iter()
        .skip(1)
        .map(|e| (e["fields"].clone(), e["device"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (json!(["last_name"]), Value::Null),
            (json!(["notes"]), json!("desk-2")),
        ]
    );
}

#[tokio::test]
async fn a_tablet_resolves_a_conflict_by_writing_on_the_current_heads() {
    let hub = TestHub::spawn().await;
    let token = hub.owner_token().to_string();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Ada", "last_name": "Byron" }),
        )
        .await;
    let id = rec["id"].as_str().expect("an id").to_string();
    let key = ("customers".to_string(), id.clone());
    let base = heads_of(&rec);
    let mut a = Tablet::connect(&hub.base_url, &token, "tab-a", 0).await;
    let mut b = Tablet::connect(&hub.base_url, &token, "tab-b", 0).await;
    a.write_ok(json!({ "op_id": "a1", "table": "customers", "id": id,
                       "fields": { "phone": "555-0100" }, "base": base }))
        .await;
    let made = b
        .write_ok(json!({ "op_id": "b1", "table": "customers", "id": id,
                          "fields": { "phone": "555-0199" }, "base": base }))
        .await;
    a.until(|m| m["type"] == "conflict" && m["seq"] == made["seq"])
        .await;
    assert_eq!(conflicts_of(&hub, &id).await.len(), 1);
    // No base: the write applies on the current heads and supersedes both.
    let fixed = a
        .write_ok(json!({ "op_id": "a2", "table": "customers", "id": id,
                          "fields": { "phone": "555-0123" } }))
        .await;
    assert!(conflicts_of(&hub, &id).await.is_empty());
    for t in [&mut a, &mut b] {
        t.until(|m| {
            m["type"] == "conflict" && m["seq"] == fixed["seq"] && m["conflicts"] == json!([])
        })
        .await;
        assert_eq!(t.view[&key]["phone"], "555-0123");
    }
}
