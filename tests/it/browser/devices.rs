//! Settings → Devices: an owner sees every browser paired with the hub (their
//! own marked "this browser", a technician's tablet with its user), revokes the
//! tablet from the page, and the tablet is disconnected and refused from then
//! on while the owner's own browser stays connected. Screenshots at desktop and
//! tablet widths. (A technician is not offered the page: `technician.rs`.)

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::json;

/// The device id this browser pairs with.
const DEVICE_ID: &str = "return localStorage.getItem('cos.device')";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_revokes_a_lost_tablet_from_the_devices_page() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let (_, tech_email) = hub.user(&owner, "technician", "Tara Tablet").await;
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;

    // The technician's tablet pairs by opening the bay tablet.
    let t = driver.session(&proxy.url(), 800, 1280).await;
    t.open_tablet(&tech_email, PASSWORD).await;
    t.wait_for("#conn-state[data-state=\"online\"]").await;
    let tablet_device = t.js_string(DEVICE_ID, "the tablet's device id").await;

    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.wait_for("#conn-state[data-state=\"online\"]").await;
    let own_device = b.js_string(DEVICE_ID, "the owner's device id").await;
    b.click("nav#menu a[data-nav=\"devices\"]").await;
    b.wait_page("devices").await;
    let row = |id: &str| format!("#devices tr[data-device=\"{id}\"]");
    let tablet_row = b.wait_for(&row(&tablet_device)).await;
    let text = tablet_row.text().await.expect("the tablet's row");
    assert!(
        text.contains("Tara Tablet") && text.contains("Paired"),
        "{text}"
    );
    let mine = b.text_of(&row(&own_device)).await;
    assert!(mine.contains("(this browser)"), "{mine}");
    let unlabelled = b.unlabelled().await;
    assert!(unlabelled.is_empty(), "{unlabelled:?}");
    b.screenshot("devices").await;

    // Revoke the tablet (the page asks first).
    b.js("window.confirm = () => true; return true").await;
    b.click(&format!("{} button[data-revoke]", row(&tablet_device)))
        .await;
    b.wait_js(
        "the tablet's row to read revoked",
        "const r = document.querySelector(arguments[0]);
         return !!r && r.dataset.revoked === '1' && r.textContent.includes('Revoked')
           && !r.querySelector('button[data-revoke]')",
        vec![json!(row(&tablet_device))],
    )
    .await;
    t.wait_for("#conn-state[data-state=\"offline\"]").await;
    let listed = hub.get(&owner, "/api/devices").await;
    let revoked: Vec<_> = listed["data"]
        .as_array()
        .expect("devices")
        .iter()
        .filter(|d| !d["revoked_at"].is_null())
        .map(|d| d["id"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(revoked, vec![tablet_device.clone()], "{listed}");
    // The owner's own browser is still connected; the tablet is refused again
    // after a reload.
    b.wait_for("#conn-state[data-state=\"online\"]").await;
    t.goto("/tablet").await;
    t.wait_ready().await;
    t.wait_for("#conn-state[data-state=\"offline\"]").await;

    let d = driver.session(&proxy.url(), 800, 1280).await;
    d.login(OWNER_EMAIL, PASSWORD).await;
    d.goto("/settings/devices").await;
    d.wait_for(&row(&tablet_device)).await;
    d.full_screenshot("devices").await;

    proxy.assert_no_secrets(&hub.secrets(), false);
    b.close().await;
    t.close().await;
    d.close().await;
}
