//! Bad input and bad clients over real WebSockets: malformed JSON, unknown
//! types, oversized and binary frames, messages before hello, bad tokens, a
//! flood of refused writes: each an error message or a close with a reason,
//! nothing stored changes. A revoked device's socket closes and it cannot
//! reconnect. A stalled client does not delay the others and is dropped.

use crate::common::*;
use crate::ws_support::*;
use collisionos::ws::Limits;
use futures_util::SinkExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn messages_before_hello_and_bad_hellos_close_with_a_reason() {
    let hub = TestHub::spawn().await;
    let before = hub.snapshot();
    let cases: Vec<(&str, Message)> = vec![
        ("a write first", Message::text(r#"{"type":"write","op_id":"x","table":"customers"}"#)),
        ("not JSON", Message::text("hello?")),
        ("binary", Message::binary(vec![1u8, 2, 3])),
        ("a bad token", Message::text(json!({"type":"hello","v":1,"token":"nope","device_id":"d1"}).to_string())),
        ("a bad device id", Message::text(json!({"type":"hello","v":1,"token":hub.owner_token(),"device_id":"no spaces please"}).to_string())),
        ("another version", Message::text(json!({"type":"hello","v":9,"token":hub.owner_token(),"device_id":"d2"}).to_string())),
    ];
    for (what, first) in cases {
        let mut ws = open(&hub.base_url).await;
        ws.send(first).await.expect("send");
        let (frame, _) = until_closed(&mut ws).await;
        let frame = frame.unwrap_or_else(|| panic!("{what}: closed without a frame"));
        assert_eq!(frame.code, CloseCode::Policy, "{what}: {frame:?}");
        assert!(!frame.reason.is_empty(), "{what}: a reason");
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    let devices: i64 = hub
        .db()
        .query_row("SELECT count(*) FROM devices", [], |r| r.get(0))
        .expect("count devices");
    assert_eq!(devices, 0, "no refused hello registered a device");
}

#[tokio::test]
async fn bad_messages_after_hello_get_errors_and_nothing_changes() {
    let hub = TestHub::spawn().await;
    let token = hub.owner_token().to_string();
    let id = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "Ada", "last_name": "Byron" }),
        )
        .await;
    let mut t = Tablet::connect(&hub.base_url, &token, "desk-1", 0).await;
    let before = hub.snapshot();

    t.ws.send(Message::text("{oops")).await.expect("send");
    assert_eq!(
        t.until(|m| m["type"] == "error").await["code"],
        "malformed_json"
    );
    t.send(&json!({ "type": "teleport" })).await;
    assert_eq!(
        t.until(|m| m["type"] == "error").await["code"],
        "unknown_type"
    );
    t.ws.send(Message::binary(vec![0u8; 10]))
        .await
        .expect("send");
    assert_eq!(
        t.until(|m| m["type"] == "error").await["code"],
        "binary_frame"
    );

    // Refused writes name the field (or the rule) and store nothing.
    let cases = [
        (
            json!({ "op_id": "w1", "table": "customers", "id": id, "fields": { "nope": 1 } }),
            "invalid_field",
            Some("nope"),
        ),
        (
            json!({ "op_id": "w2", "table": "customers", "id": id, "fields": { "email": 7 } }),
            "invalid_field",
            Some("email"),
        ),
        (
            json!({ "op_id": "w3", "table": "customers", "id": id, "fields": { "notes": "x" }, "base": ["zz"] }),
            "invalid_field",
            Some("base"),
        ),
        (
            json!({ "op_id": "w4", "table": "spaceships", "id": id, "fields": {} }),
            "invalid_field",
            Some("table"),
        ),
        (
            json!({ "op_id": "w5", "table": "customers", "id": "not-a-uuid", "fields": { "notes": "x" } }),
            "not_found",
            None,
        ),
        (
            json!({ "op_id": "w6", "table": "customers", "id": id, "fields": [1] }),
            "invalid_field",
            Some("fields"),
        ),
        (
            json!({ "op_id": "w 7", "table": "customers", "id": id, "fields": { "notes": "x" } }),
            "invalid_field",
            Some("op_id"),
        ),
    ];
    for (w, code, field) in cases {
        let e = t.write(w.clone()).await;
        assert_eq!(e["type"], "error", "{w}: {e}");
        assert_eq!(e["code"], code, "{w}: {e}");
        if let Some(f) = field {
            assert_eq!(e["field"], f, "{w}: {e}");
        }
    }
    // A flood of refused writes: every one answered, the socket still alive.
    for n in 0..300 {
        t.send(
            &json!({ "type": "write", "op_id": format!("f{n}"), "table": "customers",
                        "id": id, "fields": { "nope": n } }),
        )
        .await;
    }
    for n in 0..300 {
        let e = t.until(|m| m["type"] == "error").await;
        assert_eq!(e["op_id"], format!("f{n}"));
    }
    t.send(&json!({ "type": "ping" })).await;
    t.until(|m| m["type"] == "pong").await;
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );

    // An oversized message closes the socket with 1009 and a reason.
    let big = json!({ "type": "ping", "pad": "x".repeat(100 * 1024) }).to_string();
    t.ws.send(Message::text(big)).await.expect("send");
    let (frame, _) = until_closed(&mut t.ws).await;
    assert_eq!(code_of(&frame), CloseCode::Size, "{frame:?}");
    // One past the frame limit of the WebSocket layer itself (1 MiB) closes
    // the same way.
    let mut t = Tablet::connect(&hub.base_url, &token, "desk-1", 0).await;
    t.ws.send(Message::text("y".repeat(2 * 1024 * 1024)))
        .await
        .expect("send");
    let (frame, _) = until_closed(&mut t.ws).await;
    assert_eq!(code_of(&frame), CloseCode::Size, "{frame:?}");
    // The hub is fine.
    let (s, _) = hub.get(&api_id("customers", &id), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_revoked_device_is_closed_and_cannot_reconnect() {
    let hub = TestHub::spawn().await;
    let tech = hub.user("technician").await;
    let mut t = Tablet::connect(&hub.base_url, &tech.token, "lost-tablet", 0).await;
    // Only an owner or admin revokes.
    let (s, _) = hub
        .post("/api/devices/lost-tablet/revoke", &tech.token, &json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, list) = hub.get("/api/devices", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"][0]["id"], "lost-tablet");
    assert_eq!(list["data"][0]["actor"], t.actor.as_str());

    let (s, body) = hub
        .delete("/api/devices/lost-tablet", hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body["revoked_at"].is_string());
    let (frame, _) = until_closed(&mut t.ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy);
    assert!(frame.expect("a frame").reason.contains("revoked"));

    let mut ws = hello_unread(&hub.base_url, &tech.token, "lost-tablet").await;
    let (frame, seen) = until_closed(&mut ws).await;
    assert_eq!(code_of(&frame), CloseCode::Policy, "{seen:?}");
    assert!(frame.expect("a frame").reason.contains("revoked"));
    let (s, _) = hub
        .delete("/api/devices/never-seen", hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stalled_client_does_not_delay_others_and_is_dropped() {
    let hub = TestHub::spawn().await;
    hub.state.tablets.set_limits(Limits {
        outgoing: 16,
        ping_every: Duration::from_secs(2),
        send_timeout: Duration::from_secs(3),
        ..Limits::default()
    });
    let token = hub.owner_token().to_string();
    let mut connections = hub.state.tablets.connections();
    // The stalled one says hello and then reads nothing, ever.
    let mut stalled = open(&hub.base_url).await;
    stalled
        .send(Message::text(
            json!({"type":"hello","v":1,"token":token,"device_id":"stalled"}).to_string(),
        ))
        .await
        .expect("send hello");
    let mut good = Tablet::connect(&hub.base_url, &token, "good", 0).await;
    tokio::time::timeout(GUARD, connections.wait_for(|n| *n == 2))
        .await
        .expect("both connected")
        .expect("watch");

    // The good tablet reads all the while (in its own task).
    let reader = tokio::spawn(async move {
        good.until(|m| m["type"] == "change" && m["fields"]["last_name"] == "Flood-end")
            .await;
        good
    });
    // A flood far larger than the socket buffers between hub and stalled client.
    let notes = "n".repeat(9_000);
    for round in 0..3 {
        let records: Vec<_> = (0..500)
            .map(|i| {
                let last = if round == 2 && i == 499 {
                    "Flood-end"
                } else {
                    "Flood"
                };
                json!({ "first_name": format!("F{i}"), "last_name": last, "notes": notes })
            })
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
    let last: i64 = hub
        .db()
        .query_row("SELECT max(seq) FROM change_log", [], |r| r.get(0))
        .expect("seq");
    let mut good = reader.await.expect("the good tablet got the whole flood");
    assert_eq!(good.seq, last);
    // The stalled socket is dropped by the hub (not by the test).
    tokio::time::timeout(GUARD, connections.wait_for(|n| *n == 1))
        .await
        .expect("the stalled client was dropped")
        .expect("watch");
    // What reached it ends before the flood did.
    let (_, seen) = until_closed(&mut stalled).await;
    assert!(
        seen.iter().all(|m| m["seq"].as_i64().unwrap_or(0) < last),
        "the stalled client never got the end of the flood"
    );
    // The good one is still live.
    good.send(&json!({ "type": "ping" })).await;
    good.until(|m| m["type"] == "pong").await;
}

#[tokio::test]
async fn a_silent_client_is_dropped_by_the_heartbeat() {
    let hub = TestHub::spawn().await;
    hub.state.tablets.set_limits(Limits {
        ping_every: Duration::from_millis(500),
        ..Limits::default()
    });
    let token = hub.owner_token().to_string();
    let mut connections = hub.state.tablets.connections();
    // Reads its welcome and replay, then never reads (so never answers a ping)
    // nor writes again.
    let t = Tablet::connect(&hub.base_url, &token, "gone-quiet", 0).await;
    tokio::time::timeout(GUARD, connections.wait_for(|n| *n == 1))
        .await
        .expect("connected")
        .expect("watch");
    tokio::time::timeout(GUARD, connections.wait_for(|n| *n == 0))
        .await
        .expect("the silent client was dropped")
        .expect("watch");
    drop(t);
    // A client that keeps talking stays, through more than three intervals
    // (the time passing is what is tested here).
    let mut live = Tablet::connect(&hub.base_url, &token, "alive", 0).await;
    let mut pinged = 0;
    while pinged < 8 {
        live.send(&json!({ "type": "ping" })).await;
        live.until(|m| m["type"] == "pong").await;
        pinged += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        *connections.borrow(),
        1,
        "the answering client is still connected"
    );
}
