//! What a technician is not offered: no invoices, payments, users or Cloud Sync
//! in the menu, and no hourly rate anywhere, neither in any page's source nor
//! in any answer the browser received. The owner, on the same hub, does see
//! the rate (so the search would find it).

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::json;

const ABSENT_FOR_TECHNICIAN: &[&str] = &["invoices", "payments", "users", "sync"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_sees_no_invoices_menu_and_no_hourly_rate() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (tech_id, tech_email) = hub.user(&owner, "technician", "Tomas Tech").await;
    let ro = hub
        .seed_ros(&owner, 1, json!({ "primary_technician_id": tech_id }))
        .await
        .remove(0);
    let ro_id = ro["id"].as_str().expect("id").to_string();
    let owner_proxy = RecordingProxy::start(&hub.addr).await;
    let tech_proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;

    // The owner: the full menu, and the technician's rate on their user page.
    let o = driver.session(&owner_proxy.url(), 1280, 800).await;
    o.login(OWNER_EMAIL, PASSWORD).await;
    for name in ["board", "invoices", "payments", "users", "sync"] {
        o.wait_for(&format!("nav#menu a[data-nav=\"{name}\"]"))
            .await;
    }
    o.goto(&format!("/records/users/{tech_id}")).await;
    o.wait_for("form#record-form [name=\"hourly_rate_cents\"]")
        .await;
    let src = o.c.source().await.expect("the page source");
    assert!(
        src.contains("hourly_rate"),
        "the owner's page shows the rate"
    );
    assert!(
        owner_proxy.saw(b"\"hourly_rate_cents\":"),
        "the owner's browser received the rate"
    );

    // The technician.
    let t = driver.session(&tech_proxy.url(), 1280, 800).await;
    t.login(&tech_email, PASSWORD).await;
    let who = t.wait_some_text("#who").await;
    assert!(
        who.contains("Tomas Tech") && who.contains("technician"),
        "{who}"
    );
    t.wait_for("nav#menu a[data-nav=\"board\"]").await;
    t.wait_for("nav#menu a[data-nav=\"tablet\"]").await;
    let links: Vec<String> = serde_json::from_value(
        t.js(
            "return [...document.querySelectorAll('nav#menu a[data-nav]')].map(a => a.dataset.nav)",
        )
        .await,
    )
    .expect("names");
    for name in ABSENT_FOR_TECHNICIAN {
        assert!(
            !links.iter().any(|l| l == name),
            "a technician is offered {name}: {links:?}"
        );
    }
    for path in [
        "/board".to_string(),
        "/tablet".to_string(),
        "/records/repair_orders".to_string(),
        format!("/records/repair_orders/{ro_id}"),
        "/records/customers".to_string(),
    ] {
        t.goto(&path).await;
        let page = t.wait_ready().await;
        if path == "/board" {
            t.wait_for(&format!("article.card[data-ro-id=\"{ro_id}\"]"))
                .await;
        }
        if path.ends_with(&ro_id) {
            t.wait_for("#ro-stage").await;
        }
        let src = t.c.source().await.expect("the page source").to_lowercase();
        for bad in ["hourly_rate", "hourly rate", "46.50"] {
            assert!(
                !src.contains(bad),
                "the technician's {path} ({page}) shows {bad:?}"
            );
        }
        // The menu stays the technician's on every page.
        for name in ABSENT_FOR_TECHNICIAN {
            assert!(
                !src.contains(&format!("data-nav=\"{name}\"")),
                "{path} offers {name}"
            );
        }
    }
    assert!(
        !tech_proxy.saw(b"hourly_rate_cents\":"),
        "an answer to the technician's browser carried an hourly rate"
    );
    owner_proxy.assert_no_secrets(&hub.secrets(), false);
    tech_proxy.assert_no_secrets(&hub.secrets(), true);
    o.close().await;
    t.close().await;
}
