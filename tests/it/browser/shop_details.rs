//! The shop's own details, through the menu: an owner opens "Shop" (the
//! generic record page of the shop's row), changes its name and a labor rate,
//! and the hub stores them (the rate in cents) and the header shows the new
//! name. (A technician is not offered the page: `technician.rs`.) Renaming
//! yourself changes the name in the header too.

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD, SHOP_NAME};
use super::proxy::RecordingProxy;

const FORM: &str = "form#record-form";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_edits_the_shop_name_and_labor_rate_from_the_menu() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let me = hub.get(&owner, "/api/auth/me").await;
    let shop_id = me["shop_id"]
        .as_str()
        .expect("the owner's shop")
        .to_string();
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.click("nav#menu a[data-nav=\"shop\"]").await;
    b.wait_for(&format!("{FORM} [name=\"body_labor_rate_cents\"]"))
        .await;
    assert_eq!(b.path().await, format!("/records/shops/{shop_id}"));
    b.wait_js(
        "the menu to mark Shop as the current page",
        "return document.querySelector('nav#menu a[data-nav=\"shop\"]').getAttribute('aria-current') === 'page'",
        vec![],
    )
    .await;
    b.wait_text("h1", &format!("Shop {SHOP_NAME}")).await;
    let labels = b.text_of(FORM).await;
    assert!(labels.contains("Tax ID"), "{labels}");
    let unlabelled = b.unlabelled().await;
    assert!(unlabelled.is_empty(), "{unlabelled:?}");
    b.screenshot("shop").await;

    let name = "Bayside Collision & Paint";
    b.fill(FORM, "name", name).await;
    b.fill(FORM, "body_labor_rate_cents", "85.50").await;
    b.click(&format!("{FORM} button[type=submit]")).await;
    b.wait_text("#shop-name", name).await;

    let shop = hub.get(&owner, &format!("/api/shops/{shop_id}")).await;
    assert_eq!(shop["name"], name, "{shop}");
    assert_eq!(shop["body_labor_rate_cents"], 8550, "{shop}");

    // The saved values are what the page shows again (tablet width too).
    let t = driver.session(&proxy.url(), 800, 1280).await;
    t.login(OWNER_EMAIL, PASSWORD).await;
    t.goto(&format!("/records/shops/{shop_id}")).await;
    t.wait_for(FORM).await;
    let shown = t
        .js("const f = document.querySelector('form#record-form');
             return [f.elements.name.value, f.elements.body_labor_rate_cents.value]")
        .await;
    assert_eq!(shown, serde_json::json!([name, "85.50"]));
    t.full_screenshot("shop").await;

    // Renaming yourself: the header says the new name at once.
    b.click("#who a").await;
    b.wait_for(&format!("{FORM} [name=\"display_name\"]")).await;
    b.fill(FORM, "display_name", "Olive O. Owner").await;
    b.click(&format!("{FORM} button[type=submit]")).await;
    b.wait_text("#who", "Olive O. Owner (owner)").await;

    proxy.assert_no_secrets(&hub.secrets(), false);
    b.close().await;
    t.close().await;
}
