//! Bay-tablet mode through an outage: the technician's tablet shows their
//! repair order with big touch targets; the hub (the real binary) is killed, the
//! tablet says it is offline, a stage move made meanwhile waits in the local
//! queue (`#pending-count` 1), and when the hub is back on the same port and
//! data dir the move is replayed: the queue empties and the database has the
//! move exactly once. A change the hub refuses is undone on the tablet.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::json;
use std::time::Duration;

fn moves_to(hub: &Hub, ro: &str, to: &str) -> i64 {
    hub.db()
        .query_row(
            "SELECT count(*) FROM ro_stage_history WHERE repair_order_id = ?1 AND to_stage = ?2",
            [ro, to],
            |r| r.get(0),
        )
        .expect("count the moves")
}

/// The stage changes of `ro` in the change log (one per write that set it).
fn stage_writes(hub: &Hub, ro: &str) -> i64 {
    hub.db()
        .query_row(
            "SELECT count(*) FROM change_log WHERE table_name = 'repair_orders' AND record_id = ?1
               AND op = 'update' AND instr(fields, '\"stage\"') > 0",
            [ro],
            |r| r.get(0),
        )
        .expect("count the writes")
}

fn stage(hub: &Hub, ro: &str) -> String {
    hub.db()
        .query_row("SELECT stage FROM repair_orders WHERE id = ?1", [ro], |r| {
            r.get(0)
        })
        .expect("the stage")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_made_while_the_hub_is_down_waits_and_is_replayed_once() {
    let (mut hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (tech_id, tech_email) = hub.user(&owner, "technician", "Bea Bay").await;
    let ro = hub
        .seed_ros(&owner, 1, json!({ "primary_technician_id": tech_id }))
        .await
        .remove(0);
    let ro_id = ro["id"].as_str().expect("id").to_string();
    let from = ro["stage"].as_str().expect("a stage").to_string();
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let t = driver.session(&proxy.url(), 800, 1280).await;
    t.open_tablet(&tech_email, PASSWORD).await;
    let card = format!("#my-ros article.card[data-ro-id=\"{ro_id}\"]");
    t.wait_for(&card).await;
    t.wait_for("#conn-state[data-state=\"online\"]").await;
    t.wait_text("#pending-count", "0").await;

    // Gloves: every button of the card, and the clock, is at least 48 px.
    let small = t
        .js_with(
            "return [...document.querySelectorAll(arguments[0] + ' button, ' + arguments[0] + ' select, #clock')]
               .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
               .filter(([_, r]) => r.width < 48 || r.height < 48)
               .map(([h, r]) => `${h} is ${r.width}x${r.height}`)",
            vec![json!(card)],
        )
        .await;
    assert_eq!(small, json!([]), "touch targets under 48 px");
    let to = other_stage(&t, &card, &from).await;

    // The shop's PC goes down.
    hub.stop();
    t.wait_for("#conn-state[data-state=\"offline\"]").await;
    t.wait_for(&format!("{card} select[data-move]"))
        .await
        .select_by_value(&to)
        .await
        .expect("choose the stage");
    t.click(&format!("{card} [data-action=\"move\"]")).await;
    t.wait_text("#pending-count", "1").await;
    assert_eq!(stage(&hub, &ro_id), from, "nothing reached the stopped hub");
    assert_eq!(moves_to(&hub, &ro_id, &to), 0);
    assert_eq!(stage_writes(&hub, &ro_id), 0);

    // Back on the same port and data dir: the queued move is replayed once.
    replayed_once_after_restart(&t, &mut hub, &ro_id, &to).await;
    assert_eq!(
        moves_to(&hub, &ro_id, &to),
        1,
        "the hub appends one history row for the move"
    );
    let rec = hub
        .get(&owner, &format!("/api/repair_orders/{ro_id}"))
        .await;
    assert_eq!(rec["stage"], json!(to), "{rec}");
    // Another reconnect replays nothing more.
    t.goto("/tablet").await;
    t.wait_for(&card).await;
    t.wait_text("#pending-count", "0").await;
    assert_eq!(stage_writes(&hub, &ro_id), 1, "still once after a reload");
    assert_eq!(moves_to(&hub, &ro_id, &to), 1, "still once after a reload");

    // A change the hub refuses (a note past its 10,000 characters, as pasted)
    // is undone on the tablet as well, without a reload.
    t.js_with(
        "document.querySelector(arguments[0] + ' textarea[name=note]').value = 'z'.repeat(10001); return true",
        vec![json!(card)],
    )
    .await;
    t.click(&format!("{card} [data-action=\"note\"]")).await;
    let said = t.wait_some_text("#toast").await;
    assert!(said.contains("refused"), "the tablet says so: {said}");
    t.wait_js(
        "the refused note to be undone on the card",
        "return !document.querySelector(arguments[0])?.textContent.includes('zzzzzzzzzz')",
        vec![json!(card)],
    )
    .await;
    t.wait_text("#pending-count", "0").await;
    let notes: Option<String> = hub
        .db()
        .query_row(
            "SELECT notes FROM repair_orders WHERE id = ?1",
            [&ro_id],
            |r| r.get(0),
        )
        .expect("the notes");
    assert!(
        !notes.unwrap_or_default().contains("zzzz"),
        "the hub kept nothing of it"
    );

    proxy.assert_no_secrets(&hub.secrets(), true);
    t.close().await;
}

/// The app shell comes from the service worker and the queue from IndexedDB:
/// a tablet reloaded while the hub is down still opens, still shows the move
/// waiting, and sends it once the hub is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_reloaded_while_the_hub_is_down_opens_and_keeps_its_queue() {
    let (mut hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (tech_id, tech_email) = hub.user(&owner, "technician", "Kai Keep").await;
    let ro = hub
        .seed_ros(&owner, 1, json!({ "primary_technician_id": tech_id }))
        .await
        .remove(0);
    let ro_id = ro["id"].as_str().expect("id").to_string();
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let t = driver.session(&proxy.url(), 800, 1280).await;
    t.open_tablet(&tech_email, PASSWORD).await;
    let card = format!("#my-ros article.card[data-ro-id=\"{ro_id}\"]");
    t.wait_for(&card).await;
    // The service worker has the shell before the hub goes away.
    t.wait_js(
        "a service worker controlling the page",
        "return !!navigator.serviceWorker && !!navigator.serviceWorker.controller",
        vec![],
    )
    .await;
    let to = other_stage(&t, &card, ro["stage"].as_str().expect("a stage")).await;

    hub.stop();
    t.wait_for("#conn-state[data-state=\"offline\"]").await;
    t.wait_for(&format!("{card} select[data-move]"))
        .await
        .select_by_value(&to)
        .await
        .expect("choose the stage");
    t.click(&format!("{card} [data-action=\"move\"]")).await;
    t.wait_text("#pending-count", "1").await;

    // Reloaded with the hub still down: the page opens from the cache.
    t.goto("/tablet").await;
    t.wait_ready().await;
    t.wait_for("#conn-state[data-state=\"offline\"]").await;
    t.wait_text("#pending-count", "1").await;
    assert_eq!(stage_writes(&hub, &ro_id), 0);

    replayed_once_after_restart(&t, &mut hub, &ro_id, &to).await;
    proxy.assert_no_secrets(&hub.secrets(), true);
    t.close().await;
}

/// Brings the hub back on the same port and data dir, waits for the tablet to
/// be online with its queue empty and the move in the database: written once.
async fn replayed_once_after_restart(t: &Browser, hub: &mut Hub, ro_id: &str, to: &str) {
    hub.restart();
    t.wait_for_within(
        "#conn-state[data-state=\"online\"]",
        Duration::from_secs(30),
    )
    .await;
    t.wait_text("#pending-count", "0").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stage(hub, ro_id) != to {
        assert!(
            std::time::Instant::now() < deadline,
            "the move never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stage_writes(hub, ro_id), 1, "the move is written once");
}

/// A stage of the card's "Move to" other than `from`.
async fn other_stage(t: &Browser, card: &str, from: &str) -> String {
    t.js_with(
        "const s = document.querySelector(arguments[0] + ' select[data-move]');
         return [...s.options].map(o => o.value).filter(v => v && v !== arguments[1])[0]",
        vec![json!(card), json!(from)],
    )
    .await
    .as_str()
    .expect("another stage")
    .to_string()
}
