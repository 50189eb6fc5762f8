//! Settings → Cloud Sync against the test Postgres, all through the page: a
//! connection string that cannot work is saved (then shown only as set), the
//! master switch is refused with the reason shown and stays off; the right one
//! passes the connection test, the switch turns on and the queue drains to zero
//! on screen; a record the cloud refuses for good is FAILED with the cloud's
//! message, and after the cause is fixed the page's retry sends it.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, DB_PASSWORD, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use crate::pg::fresh_db;
use crate::sync_support::cloud_count;
use serde_json::json;
use std::time::Duration;

const WRONG_PASSWORD: &str = "wrong-pw-browser-77kq";

/// Types a connection string into the credentials form and saves it.
async fn save_db_url(b: &Browser, url: &str) {
    let input = "form#sync-credentials [name=\"dbUrl\"]";
    b.fill("form#sync-credentials", "dbUrl", url).await;
    b.click("#sync-save").await;
    // Saved: shown as set, the value gone from the page.
    b.wait_js(
        "the connection string to show as set",
        "const e = document.querySelector(arguments[0]);
         const set = e.dataset.set === '1' || !!e.closest('[data-set=\"1\"]') ||
           !!document.querySelector('form#sync-credentials [data-set=\"1\"][data-for=\"dbUrl\"]');
         return set && e.value === ''",
        vec![json!(input)],
    )
    .await;
}

async fn switch_on(b: &Browser) -> bool {
    b.js("return document.querySelector('#sync-enabled').checked")
        .await
        == json!(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_sync_refused_then_enabled_drains_and_a_failed_item_retries() {
    let db = fresh_db("browser_sync").await;
    db.client
        .batch_execute(
            "ALTER TABLE public.customers ADD CONSTRAINT no_zed CHECK (last_name IS DISTINCT FROM 'Zed')",
        )
        .await
        .expect("a constraint the cloud enforces and the hub does not");
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    for i in 0..20 {
        hub.create(
            &owner,
            "customers",
            json!({"first_name": format!("Cara {i}"), "last_name": "Cloud"}),
        )
        .await;
    }
    let zed = hub
        .create(
            &owner,
            "customers",
            json!({"first_name": "Zoe", "last_name": "Zed"}),
        )
        .await;
    let zed_id = zed["id"].as_str().expect("id").to_string();

    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.goto("/settings/sync").await;
    b.wait_ready().await;
    b.wait_for("form#sync-credentials").await;
    let unlabelled = b.unlabelled().await;
    assert!(unlabelled.is_empty(), "{unlabelled:?}");
    // The Supabase dashboard's own name for the connection string.
    let labels = b.text_of("form#sync-credentials").await;
    assert!(
        labels.to_lowercase().contains("connection string"),
        "the dashboard's words: {labels}"
    );
    b.wait_for("input#sync-enabled[type=checkbox][role=switch]")
        .await;
    assert!(!switch_on(&b).await, "sync starts off");
    b.wait_for("#cloud-state[data-state=\"off\"]").await;

    // A cloud that cannot be reached: refused, the reason shown, still off.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    save_db_url(
        &b,
        &format!("postgres://postgres:{WRONG_PASSWORD}@127.0.0.1:{closed}/nowhere"),
    )
    .await;
    // The connection test says, in words, what failed.
    b.click("#sync-test").await;
    let failed = b
        .wait_js(
            "the connection test to show a failed check",
            "const li = [...document.querySelectorAll('#sync-test-result li[data-check][data-ok=\"0\"]')];
             return li.length > 0 && li.every(l => l.textContent.trim() !== '') && li.map(l => l.textContent.trim())",
            vec![],
        )
        .await;
    eprintln!("browser: the failing connection test shows {failed}");
    let before = b.text_of("#sync-error").await;
    b.click("#sync-enabled").await;
    // Refused: the reason shown (a new one) and the switch back off.
    let why = b
        .wait_js(
            "the refusal's reason and the switch off",
            "const e = document.querySelector('#sync-error').textContent.trim();
             return e !== '' && e !== arguments[0] && !document.querySelector('#sync-enabled').checked && e",
            vec![json!(before)],
        )
        .await;
    eprintln!("browser: the refused switch says {why}");
    let st = hub.get(&owner, "/api/sync/status").await;
    assert_eq!(st["syncEnabled"], false, "{st}");

    // The real cloud, its password in the connection string.
    let mut good = url::Url::parse(&db.url).expect("the database URL");
    good.set_password(Some(DB_PASSWORD)).expect("a password");
    save_db_url(&b, good.as_str()).await;
    b.click("#sync-test").await;
    let checks = b
        .wait_js(
            "the connection test's checks",
            "const li = [...document.querySelectorAll('#sync-test-result li[data-check]')];
             return li.length > 0 && li.map(l => [l.dataset.check, l.dataset.ok, l.textContent.trim()])",
            vec![],
        )
        .await;
    let checks = checks.as_array().expect("checks").clone();
    assert!(
        checks.iter().all(|c| c[1] == "1"),
        "every check passes against the real cloud: {checks:?}"
    );
    b.click("#sync-enabled").await;
    // The hub tests the connection and queues the first upload, then answers.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let st = hub.get(&owner, "/api/sync/status").await;
        if st["syncEnabled"] == true {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the switch did not turn sync on: {st}; #sync-error: {}",
            b.text_of("#sync-error").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    b.wait_js(
        "the switch on and the mode hybrid",
        "return document.querySelector('#sync-enabled').checked &&
           document.querySelector('#sync-mode').textContent.toLowerCase().includes('hybrid')",
        vec![],
    )
    .await;
    assert!(b.text_of("#sync-error").await.is_empty(), "no error left");
    b.wait_for("progress#sync-progress").await;

    // The queue drains to zero on screen; the refused record is FAILED.
    b.wait_js_within(
        "#sync-pending to reach 0 and #sync-failed 1",
        "const t = (s) => (document.querySelector(s) || {}).textContent;
         return t('#sync-pending').trim() === '0' && t('#sync-failed').trim() === '1'",
        vec![],
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Cloud'"
        )
        .await,
        20,
        "the other records are in the cloud"
    );
    let row = "#sync-queue tr[data-status=\"failed\" i]";
    b.wait_for(row).await;
    let text = b.text_of(row).await;
    assert!(
        text.contains("no_zed"),
        "the FAILED item shows the cloud's message: {text}"
    );

    // Fixed in the cloud; retried from the page; it arrives.
    db.client
        .batch_execute("ALTER TABLE public.customers DROP CONSTRAINT no_zed")
        .await
        .expect("fix the cause");
    b.click(&format!("{row} button[data-retry]")).await;
    b.wait_js_within(
        "#sync-failed to reach 0",
        "const t = (s) => (document.querySelector(s) || {}).textContent;
         return t('#sync-failed').trim() === '0' && t('#sync-pending').trim() === '0'
           && !document.querySelector('#sync-queue tr[data-status=\"failed\" i]')",
        vec![],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        cloud_count(
            &db,
            &format!("SELECT count(*) FROM public.customers WHERE id = '{zed_id}'")
        )
        .await,
        1,
        "the retried record is in the cloud"
    );

    // The header says the cloud is fine now.
    b.wait_for("#cloud-state[data-state=\"ok\"]").await;

    // Another cloud (a new project): the page says the upload started again,
    // and why, and everything arrives there.
    let moved = fresh_db("browser_sync_moved").await;
    save_db_url(&b, &moved.url).await;
    b.wait_js_within(
        "the first upload to say it started again, and to finish",
        "const l = document.querySelector('label[for=\"sync-progress\"]').textContent;
         const t = (s) => (document.querySelector(s) || {}).textContent.trim();
         return l.includes('started again') && l.includes('because this is not the cloud the first upload went to')
           && t('#sync-pending') === '0'",
        vec![],
        Duration::from_secs(60),
    )
    .await;
    b.js("document.querySelector('label[for=\"sync-progress\"]').scrollIntoView({ block: 'center' }); return true")
        .await;
    b.screenshot("sync-started-again").await;
    assert_eq!(
        cloud_count(
            &moved,
            "SELECT count(*) FROM public.customers WHERE last_name IN ('Cloud', 'Zed')"
        )
        .await,
        21,
        "every customer reached the new cloud"
    );
    moved.drop_db().await;

    let mut secrets = hub.secrets();
    secrets.push(("the wrong password".into(), WRONG_PASSWORD.into()));
    proxy.assert_no_secrets(&secrets, true);
    b.close().await;
    drop(hub);
    db.drop_db().await;
}
