//! The conflicts page: a real conflict (two edits of one field from the same
//! version) shows both values with their author, and one tap on a value
//! resolves it: the hub keeps that value and the conflict is gone.

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, OWNER_NAME, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_shows_both_values_and_resolves_with_one_tap() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let c = hub
        .create(
            &owner,
            "customers",
            json!({"first_name": "Connie", "last_name": "Flict", "notes": "call first"}),
        )
        .await;
    let id = c["id"].as_str().expect("id").to_string();
    let (desk, bay) = ("Prefers text messages", "Call after 5 pm");
    for v in [desk, bay] {
        hub.patch(
            &owner,
            "customers",
            &id,
            json!({"notes": v, "_base": c["_heads"]}),
        )
        .await;
    }
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.goto("/conflicts").await;
    let item = "#conflicts-list [data-conflict-id]";
    b.wait_for(item).await;
    let text = b.text_of(item).await;
    for want in [desk, bay, OWNER_NAME, "notes"] {
        assert!(text.contains(want), "the conflict shows {want:?}: {text}");
    }
    let buttons = b
        .js_with(
            "return [...document.querySelectorAll(arguments[0] + ' button[data-resolve]')].map(b => b.textContent)",
            vec![json!(item)],
        )
        .await;
    assert_eq!(
        buttons.as_array().map(Vec::len),
        Some(2),
        "one button per value: {buttons}"
    );
    // Keep the value that is not shown now (the one a merge did not pick).
    let shown = hub.get(&owner, &format!("/api/customers/{id}")).await["notes"].clone();
    let keep = if shown == json!(desk) { bay } else { desk };
    let mut tapped = false;
    let found =
        b.c.find_all(fantoccini::Locator::Css(&format!(
            "{item} button[data-resolve]"
        )))
        .await
        .expect("the buttons");
    for button in found {
        if button.text().await.expect("its text").contains(keep) {
            button.click().await.expect("one tap");
            tapped = true;
            break;
        }
    }
    assert!(tapped, "a button for {keep:?}: {buttons}");
    b.wait_js(
        "the conflict to leave the list",
        "return !document.querySelector(arguments[0])",
        vec![json!(item)],
    )
    .await;
    let open = hub.get(&owner, "/api/conflicts").await;
    assert_eq!(open["data"], json!([]), "{open}");
    let rec = hub.get(&owner, &format!("/api/customers/{id}")).await;
    assert_eq!(rec["notes"], json!(keep), "{rec}");
    proxy.assert_no_secrets(&hub.secrets(), true);
    b.close().await;
}

/// A technician finds the page in the menu, and is offered "Keep" only on a
/// field they may change: a repair order's notes, not its money.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_technician_reaches_conflicts_from_the_menu_and_settles_only_what_they_may_change() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (_, tech_email) = hub.user(&owner, "technician", "Tess Tech").await;
    let ro = hub
        .create(
            &owner,
            "repair_orders",
            json!({"stage": "intake", "priority": "normal", "ro_status": "draft"}),
        )
        .await;
    let id = ro["id"].as_str().expect("id").to_string();
    for (field, a, b) in [
        ("total_cents", json!(100), json!(200)),
        ("notes", json!("left door"), json!("right door")),
    ] {
        for v in [a, b] {
            hub.patch(
                &owner,
                "repair_orders",
                &id,
                json!({ field: v, "_base": ro["_heads"] }),
            )
            .await;
        }
    }
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(&tech_email, PASSWORD).await;
    b.click("#menu a[data-nav=conflicts]").await;
    b.wait_page("conflicts").await;
    let item = |field: &str| format!("#conflicts-list [data-field={field}]");
    b.wait_for(&item("notes")).await;
    b.wait_for(&item("total_cents")).await;
    let count = |field: String| {
        b.js_with(
            "return document.querySelectorAll(arguments[0] + ' button[data-resolve]').length",
            vec![json!(field)],
        )
    };
    assert_eq!(
        count(item("notes")).await,
        json!(2),
        "notes: one button per value"
    );
    assert_eq!(
        count(item("total_cents")).await,
        json!(0),
        "no Keep on money"
    );
    b.close().await;
}
