//! The keyboard alone: the board's card moves with Tab to its "Move to" select
//! and an arrow key; the Cloud Sync master switch turns on and off with Tab and
//! Space (against the test Postgres). And every form control of every page has
//! a label, every button a name.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, DB_PASSWORD, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use crate::pg::fresh_db;
use fantoccini::actions::InputSource;
use fantoccini::key::Key;
use serde_json::json;

/// Presses Tab until the focused element matches `css` (at most `max` times).
async fn tab_to(b: &Browser, css: &str, max: usize) {
    b.js("document.activeElement && document.activeElement.blur(); window.focus()")
        .await;
    for _ in 0..max {
        let focused = b
            .js_with(
                "return !!document.activeElement && document.activeElement.matches(arguments[0])",
                vec![json!(css)],
            )
            .await;
        if focused == json!(true) {
            return;
        }
        press(b, &Key::Tab).await;
    }
    panic!(
        "{css} cannot be reached with Tab ({max} presses); {}",
        b.describe().await
    );
}

/// Sends a key to whatever has the focus, as a keyboard does.
async fn press(b: &Browser, key: &str) {
    let actions = fantoccini::actions::KeyActions::new("keyboard".into())
        .then(fantoccini::actions::KeyAction::Down {
            value: key.chars().next().expect("a key"),
        })
        .then(fantoccini::actions::KeyAction::Up {
            value: key.chars().next().expect("a key"),
        });
    b.c.perform_actions(actions).await.expect("a key press");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_and_the_sync_switch_work_by_keyboard_and_every_control_has_a_label() {
    let db = fresh_db("browser_keys").await;
    let mut cloud = url::Url::parse(&db.url).expect("a URL");
    cloud.set_password(Some(DB_PASSWORD)).expect("a password");
    let (hub, owner) = Hub::start_with_shop(secret_env(Some(cloud.as_str()))).await;
    let ro = hub.seed_ros(&owner, 1, json!({})).await.remove(0);
    let ro_id = ro["id"].as_str().expect("id").to_string();
    let from = ro["stage"].as_str().expect("a stage").to_string();
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    let mut unlabelled = Vec::new();

    b.goto("/login").await;
    b.wait_for("#login-form").await;
    unlabelled.extend(
        b.unlabelled()
            .await
            .into_iter()
            .map(|u| format!("/login: {u}")),
    );
    b.login(OWNER_EMAIL, PASSWORD).await;

    // The board: Tab to the card's "Move to", an arrow key moves it.
    let select = format!("article.card[data-ro-id=\"{ro_id}\"] select[data-move]");
    b.wait_for(&select).await;
    unlabelled.extend(
        b.unlabelled()
            .await
            .into_iter()
            .map(|u| format!("/board: {u}")),
    );
    let label = b
        .js_with(
            "const s = document.querySelector(arguments[0]);
             return [...s.labels].map(l => l.textContent).join(' ') + ' ' + (s.getAttribute('aria-label') || '')",
            vec![json!(select)],
        )
        .await;
    assert!(
        label.as_str().unwrap_or("").contains("Move to"),
        "the select is labelled \"Move to\": {label}"
    );
    tab_to(&b, &select, 200).await;
    press(&b, &Key::Down).await;
    let to = b
        .wait_js(
            "the select to hold another stage",
            "const v = document.querySelector(arguments[0]).value; return v && v !== arguments[1] ? v : null",
            vec![json!(select), json!(from)],
        )
        .await
        .as_str()
        .expect("a stage")
        .to_string();
    b.wait_for(&format!(
        "#board section[data-stage=\"{to}\"] article.card[data-ro-id=\"{ro_id}\"]"
    ))
    .await;
    // The board may show the move before the hub has stored it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let rec = hub
            .get(&owner, &format!("/api/repair_orders/{ro_id}"))
            .await;
        if rec["stage"] == json!(to) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "moved by keyboard, never stored: {rec}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Every other page's controls are labelled.
    for path in [
        "/records/customers".to_string(),
        "/records/customers/new".to_string(),
        "/records/vehicles/new".to_string(),
        "/records/repair_orders/new".to_string(),
        format!("/records/repair_orders/{ro_id}"),
        "/records/invoices/new".to_string(),
        "/records/users/new".to_string(),
        "/tablet".to_string(),
        "/conflicts".to_string(),
    ] {
        b.goto(&path).await;
        b.wait_ready().await;
        if path.contains("/new") {
            b.wait_for("form#record-form").await;
        }
        unlabelled.extend(
            b.unlabelled()
                .await
                .into_iter()
                .map(|u| format!("{path}: {u}")),
        );
    }

    // Settings: Tab to the master switch, Space turns sync on, Space again off.
    b.goto("/settings/sync").await;
    b.wait_ready().await;
    b.wait_for("input#sync-enabled[role=switch]").await;
    unlabelled.extend(
        b.unlabelled()
            .await
            .into_iter()
            .map(|u| format!("/settings/sync: {u}")),
    );
    tab_to(&b, "#sync-enabled", 200).await;
    press(&b, " ").await;
    b.wait_js(
        "the switch to be on",
        "return document.querySelector('#sync-enabled').checked",
        vec![],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let st = hub.get(&owner, "/api/sync/status").await;
        if st["syncEnabled"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Space did not turn sync on: {st}; #sync-error: {}",
            b.text_of("#sync-error").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let focused = b
        .js("return document.activeElement && document.activeElement.id")
        .await;
    if focused != json!("sync-enabled") {
        tab_to(&b, "#sync-enabled", 200).await;
    }
    press(&b, " ").await;
    b.wait_js(
        "the switch to be off",
        "return !document.querySelector('#sync-enabled').checked",
        vec![],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while hub.get(&owner, "/api/sync/status").await["syncEnabled"] != false {
        assert!(
            std::time::Instant::now() < deadline,
            "Space did not turn sync off"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // A feature switch, by keyboard too: the monthly total follows.
    let feature = "input[data-feature]";
    b.wait_for(feature).await;
    let total = b.wait_some_text("#sync-cost-total").await;
    tab_to(&b, feature, 200).await;
    let name = b
        .js("return document.activeElement.dataset.feature")
        .await
        .as_str()
        .expect("a feature")
        .to_string();
    let cost = b.text_of(&format!("[data-cost-for=\"{name}\"]")).await;
    assert!(!cost.is_empty(), "{name} shows its monthly cost");
    press(&b, " ").await;
    b.wait_js(
        "the feature on and the total changed",
        "return document.querySelector(`input[data-feature=\"${arguments[1]}\"]`).checked &&
           document.querySelector('#sync-cost-total').textContent.trim() !== arguments[0]",
        vec![json!(total), json!(name)],
    )
    .await;

    assert!(
        unlabelled.is_empty(),
        "controls without a label:\n{}",
        unlabelled.join("\n")
    );
    proxy.assert_no_secrets(&hub.secrets(), true);
    b.close().await;
    drop(hub);
    db.drop_db().await;
}
