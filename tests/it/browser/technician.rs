//! What a technician is not offered: no invoices, payments, users, shop details or Cloud Sync
//! in the menu, and no hourly rate in any page's source. The column rules let a
//! user read their own rate (the login answer carries it), so on the wire the
//! check is that no answer carries anyone else's. The owner, on the same hub,
//! does see the rates (so the searches would find them).

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::json;

/// The rate of every user but the technician under test.
const OTHERS_RATE: i64 = 5175;

const ABSENT_FOR_TECHNICIAN: &[&str] =
    &["invoices", "payments", "users", "shop", "sync", "devices"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_sees_no_invoices_menu_and_no_hourly_rate() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (tech_id, tech_email) = hub.user(&owner, "technician", "Tomas Tech").await;
    // Colleagues with rates of their own the technician may not read.
    for (role, name) in [("technician", "Nina Other"), ("manager", "Max Manager")] {
        let (id, _) = hub.user(&owner, role, name).await;
        hub.patch(
            &owner,
            "users",
            &id,
            json!({ "hourly_rate_cents": OTHERS_RATE }),
        )
        .await;
    }
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
    for name in ["board", "invoices", "payments", "users", "shop", "sync"] {
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
    // The owner's list of users carries the colleagues' rates.
    o.goto("/records/users").await;
    o.wait_for("#records-list tr[data-id]").await;
    assert!(
        owner_proxy.saw(format!("\"hourly_rate_cents\":{OTHERS_RATE}").as_bytes()),
        "the owner's browser received the colleagues' rates"
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
    let others = format!("\"hourly_rate_cents\":{OTHERS_RATE}");
    if let Some(seen) = tech_proxy.where_seen(others.as_bytes()) {
        panic!("an answer to the technician's browser carried a colleague's hourly rate: {seen}");
    }
    owner_proxy.assert_no_secrets(&hub.secrets(), false);
    tech_proxy.assert_no_secrets(&hub.secrets(), true);
    o.close().await;
    t.close().await;
}
