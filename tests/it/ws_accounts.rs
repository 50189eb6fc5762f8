//! An open tablet socket follows its account and its device, not the state
//! they had at hello: a demoted user's next write and next frames are the new
//! role's, a deactivated or reset account's socket closes, a revoke ends a
//! replay in progress, a device shared by two people never answers one with
//! the other's operations, and a shop's paired devices are bounded.

use crate::common::*;
use crate::ws_support::*;
use collisionos::ws::Limits;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn close_reason(f: &Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    f.as_ref().map(|f| f.reason.to_string()).unwrap_or_default()
}

async fn repair_order(hub: &TestHub) -> String {
    hub.create_id(
        "repair_orders",
        hub.owner_token(),
        &json!({ "stage": "intake", "priority": "normal", "ro_status": "draft" }),
    )
    .await
}

#[tokio::test]
async fn a_role_changed_after_hello_is_the_role_of_the_next_write_and_frame() {
    let hub = TestHub::spawn().await;
    let ro = repair_order(&hub).await;
    let manager = hub.user("manager").await;
    let mut t = Tablet::connect(&hub.base_url, &manager.token, "mgr-tab", 0).await;
    let ack = t
        .write_ok(json!({ "op_id": "m1", "table": "repair_orders", "id": ro,
                          "fields": { "total_cents": 1000 } }))
        .await;
    assert_eq!(ack["replayed"], false);

    let (s, body) = hub
        .patch(
            &format!("/api/users/{}", manager.id),
            hub.owner_token(),
            &json!({ "role": "technician" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A technician may not change money columns: nor may this socket now.
    let refused = t
        .write(json!({ "op_id": "m2", "table": "repair_orders", "id": ro,
                       "fields": { "total_cents": 777 } }))
        .await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "forbidden", "{refused}");
    let (_, stored) = hub
        .get(&format!("/api/repair_orders/{ro}"), hub.owner_token())
        .await;
    assert_eq!(stored["total_cents"], 1000, "{stored}");

    // Nor does it see what a technician may not read: an invoice made now
    // sends it no frame, the customer made after it does.
    hub.create_id(
        "invoices",
        hub.owner_token(),
        &json!({ "invoice_number": "INV-AFTER-DEMOTE", "total_cents": 5000 }),
    )
    .await;
    hub.create_id(
        "customers",
        hub.owner_token(),
        &json!({ "first_name": "After", "last_name": "Demotion" }),
    )
    .await;
    t.until(|m| m["type"] == "change" && m["fields"]["last_name"] == "Demotion")
        .await;
    let invoice_frames: Vec<&Value> = t.seen.iter().filter(|m| m["table"] == "invoices").collect();
    assert!(invoice_frames.is_empty(), "{invoice_frames:?}");
}

#[tokio::test]
async fn a_deactivated_account_s_socket_closes() {
    let hub = TestHub::spawn().await;
    let accountant = hub.user("accountant").await;
    let mut t = Tablet::connect(&hub.base_url, &accountant.token, "acct-tab", 0).await;
    let (s, body) = hub
        .patch(
            &format!("/api/users/{}", accountant.id),
            hub.owner_token(),
            &json!({ "active": false }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let before = hub.snapshot();
    // Whatever comes first, the deactivation's own frame or this write, the
    // socket ends without applying anything more.
    t.send(
        &json!({ "type": "write", "op_id": "a1", "table": "customers",
                    "op": "create", "fields": { "first_name": "Late" } }),
    )
    .await;
    let (frame, seen) = until_closed(&mut t.ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy, "{seen:?}");
    assert!(close_reason(&frame).contains("not active"), "{frame:?}");
    assert!(seen.iter().all(|m| m["type"] != "ack"), "{seen:?}");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_password_reset_ends_the_socket_at_its_next_write() {
    let hub = TestHub::spawn().await;
    let receptionist = hub.user("receptionist").await;
    let mut t = Tablet::connect(&hub.base_url, &receptionist.token, "desk-tab", 0).await;
    let (s, body) = hub
        .patch(
            &format!("/api/users/{}", receptionist.id),
            hub.owner_token(),
            &json!({ "password": "another-password-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let before = hub.snapshot();
    t.send(
        &json!({ "type": "write", "op_id": "r1", "table": "customers",
                    "op": "create", "fields": { "first_name": "Late" } }),
    )
    .await;
    let (frame, seen) = until_closed(&mut t.ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy, "{seen:?}");
    assert!(close_reason(&frame).contains("signed out"), "{frame:?}");
    assert!(seen.iter().all(|m| m["type"] != "ack"), "{seen:?}");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_revoke_ends_a_replay_in_progress() {
    let hub = TestHub::spawn().await;
    hub.state.tablets.set_limits(Limits {
        outgoing: 16,
        ..Limits::default()
    });
    let token = hub.owner_token().to_string();
    // A backlog far larger than the socket buffers between hub and tablet.
    let notes = "n".repeat(9_000);
    let total = 3_000;
    for round in 0..total / 500 {
        let records: Vec<_> = (0..500)
            .map(|i| json!({ "first_name": format!("R{round}-{i}"), "notes": notes }))
            .collect();
        let (s, body) = hub
            .post(
                "/api/customers/bulk",
                &token,
                &json!({ "records": records }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    // Hello from the start, then read nothing while the device is revoked.
    let mut ws = hello_unread(&hub.base_url, &token, "stolen").await;
    let (s, body) = hub
        .post("/api/devices/stolen/revoke", &token, &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (frame, seen) = until_closed(&mut ws).await;
    let changes = seen.iter().filter(|m| m["type"] == "change").count();
    assert!(close_reason(&frame).contains("revoked"), "{frame:?}");
    assert!(
        changes < total,
        "the replay stopped at the revoke: {changes} of {total} changes were sent"
    );
    assert!(seen.iter().all(|m| m["type"] != "caught_up"));
}

#[tokio::test]
async fn a_shared_device_answers_an_op_id_only_to_the_same_users_same_write() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner_token().to_string();
    let ro = repair_order(&hub).await;
    let mut t = Tablet::connect(&hub.base_url, &owner, "bay-3", 0).await;
    let invoice = json!({ "op_id": "op-1", "table": "invoices", "op": "create",
                          "fields": { "invoice_number": "INV-SECRET", "total_cents": 999999 } });
    let made = t.write_ok(invoice.clone()).await;
    let invoice_id = made["id"].as_str().expect("an id").to_string();
    t.ws.close(None).await.expect("close");

    // A technician logs in on the same tablet and reuses the op id.
    let tech = hub.user("technician").await;
    let mut t2 = Tablet::connect(&hub.base_url, &tech.token, "bay-3", 0).await;
    let before = hub.snapshot();
    let reused = t2
        .write(json!({ "op_id": "op-1", "table": "repair_orders", "id": ro,
                       "fields": { "stage": "blueprint" } }))
        .await;
    assert_eq!(reused["type"], "error", "{reused}");
    assert_eq!(reused["code"], "conflict", "{reused}");
    assert!(!reused.to_string().contains(&invoice_id), "{reused}");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    t2.ws.close(None).await.expect("close");

    // The owner back on it: the same write is a retry, another one is not.
    let mut t3 = Tablet::connect(&hub.base_url, &owner, "bay-3", 0).await;
    let again = t3.write_ok(invoice).await;
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["id"], made["id"]);
    let other = t3
        .write(json!({ "op_id": "op-1", "table": "repair_orders", "id": ro,
                       "fields": { "stage": "blueprint" } }))
        .await;
    assert_eq!(other["code"], "conflict", "{other}");
}

#[tokio::test]
async fn a_shop_pairs_a_bounded_number_of_devices_and_lists_the_paired_first() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let cap = collisionos::store::devices::MAX_PAIRED_DEVICES;
    for i in 0..cap {
        let mut t = Tablet::connect(&hub.base_url, &tech.token, &format!("flood-{i}"), 0).await;
        t.ws.close(None).await.expect("close");
    }
    let mut ws = hello_unread(&hub.base_url, &tech.token, "one-more").await;
    let (frame, seen) = until_closed(&mut ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy, "{seen:?}");
    assert!(close_reason(&frame).contains("paired devices"), "{frame:?}");

    // Revoking one makes room; the list shows every paired device before
    // the revoked one.
    let (s, _) = hub
        .post("/api/devices/flood-0/revoke", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let t = Tablet::connect(&hub.base_url, &tech.token, "one-more", 0).await;
    drop(t);
    let (s, list) = hub.get("/api/devices", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let rows = list["data"].as_array().expect("a list");
    assert_eq!(rows.len() as i64, cap + 1);
    assert_eq!(rows.last().expect("a row")["id"], "flood-0");
    assert!(rows[..rows.len() - 1]
        .iter()
        .all(|d| d["revoked_at"].is_null()));
}

#[tokio::test]
async fn a_bad_device_id_is_a_bad_field() {
    let hub = TestHub::spawn().await;
    let mut ws = hello_unread(&hub.base_url, hub.owner_token(), "bad/dev").await;
    let (frame, seen) = until_closed(&mut ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy);
    assert_eq!(seen[0]["code"], "invalid_field", "{seen:?}");
    assert_eq!(seen[0]["field"], "device_id", "{seen:?}");
}
