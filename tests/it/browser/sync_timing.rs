//! Settings → Cloud Sync → Timing, through the page: the hub's current timing
//! is shown in seconds; a batch size the hub refuses shows the hub's reason
//! under that field and changes nothing; a valid change is stored in
//! `shops.settings.sync` in milliseconds and is what the page shows after a
//! reload.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::{json, Value};

const FORM: &str = "form#sync-timing";

/// The timing inputs' values, by config name.
async fn shown(b: &Browser) -> Value {
    b.js(
        "return Object.fromEntries([...document.querySelectorAll('form#sync-timing input')]
            .map(i => [i.name, i.value]))",
    )
    .await
}

/// Marks the current form, submits it, and waits for the page to be drawn
/// again from the hub (a saved change) or for an error to show (a refusal).
async fn submit(b: &Browser) {
    b.js("document.querySelector('form#sync-timing').dataset.old = '1'; return true")
        .await;
    b.click("#sync-timing-save").await;
    b.wait_js(
        "the timing form to be saved and drawn again, or refused",
        "const f = document.querySelector('form#sync-timing');
         return !!f && (!f.dataset.old || document.querySelector('#sync-timing-error').textContent.trim() !== '')",
        vec![],
    )
    .await;
}

async fn config(hub: &Hub, owner: &str) -> Value {
    let c = hub.get(owner, "/api/sync/config").await;
    json!([
        c["intervalMs"],
        c["batchSize"],
        c["retryAttempts"],
        c["retryDelayMs"]
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_timing_is_shown_in_seconds_refused_with_the_reason_and_saved() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.goto("/settings/sync").await;
    b.wait_ready().await;
    b.wait_for(FORM).await;
    let unlabelled = b.unlabelled().await;
    assert!(unlabelled.is_empty(), "{unlabelled:?}");

    // The environment of the test hub sets 1000 ms and 500 ms; the rest are
    // the defaults.
    assert_eq!(
        shown(&b).await,
        json!({"intervalMs": "1", "batchSize": "50", "retryAttempts": "3", "retryDelayMs": "0.5"})
    );
    let before = config(&hub, &owner).await;
    assert_eq!(before, json!([1000, 50, 3, 500]));

    // Refused by the hub: the reason under the field, nothing changed.
    b.fill(FORM, "batchSize", "0").await;
    b.fill(FORM, "intervalMs", "10").await;
    submit(&b).await;
    let why = b.text_of("[data-error-for=\"batchSize\"]").await;
    assert!(
        why.contains("between 1 and 1000") && !why.contains("batchSize"),
        "the hub's reason, in the page's words: {why}"
    );
    let said = b.text_of("#sync-timing-error").await;
    assert!(
        said.starts_with("Records per batch: ") && !said.contains("batchSize"),
        "the field named by its label: {said}"
    );
    assert_eq!(
        config(&hub, &owner).await,
        before,
        "a refused change changes nothing"
    );

    // Not a number: caught on the page, nothing sent.
    b.fill(FORM, "batchSize", "lots").await;
    submit(&b).await;
    let why = b.text_of("[data-error-for=\"batchSize\"]").await;
    assert!(why.contains("must be a number"), "{why}");
    assert_eq!(config(&hub, &owner).await, before);

    // Saved: milliseconds in the hub and in shops.settings.sync.
    b.fill(FORM, "batchSize", "200").await;
    b.fill(FORM, "retryAttempts", "5").await;
    b.fill(FORM, "retryDelayMs", "2").await;
    submit(&b).await;
    assert_eq!(
        b.text_of("#sync-timing-error").await,
        "",
        "no error after a valid change"
    );
    assert_eq!(config(&hub, &owner).await, json!([10_000, 200, 5, 2000]));
    let stored: String = hub
        .db()
        .query_row(
            "SELECT json_extract(settings, '$.sync') FROM shops",
            [],
            |r| r.get(0),
        )
        .expect("the shop's settings");
    let stored: Value = serde_json::from_str(&stored).expect("JSON");
    for (k, v) in [
        ("intervalMs", 10_000),
        ("batchSize", 200),
        ("retryAttempts", 5),
        ("retryDelayMs", 2000),
    ] {
        assert_eq!(stored[k], json!(v), "shops.settings.sync.{k}: {stored}");
    }

    // A reload shows what the hub holds.
    b.goto("/settings/sync").await;
    b.wait_ready().await;
    b.wait_for(FORM).await;
    assert_eq!(
        shown(&b).await,
        json!({"intervalMs": "10", "batchSize": "200", "retryAttempts": "5", "retryDelayMs": "2"})
    );

    proxy.assert_no_secrets(&hub.secrets(), false);
    b.close().await;
}
