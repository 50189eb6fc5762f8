//! A shop with more records than a page loads (`MAX_LOADED`, 5,000, in
//! `web/js/api.js`): the list shows the newest first and says it holds only the
//! newest; a search also asks the hub, so it finds the oldest customer, who
//! was never loaded; and the board of a shop with 5,000 finished repair orders
//! still shows today's car (oldest first, it loaded only the finished ones).

use super::harness::Driver;
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::{json, Value};

const LOADED: usize = 5000;

/// Creates `records` as customers; their ids.
async fn bulk(hub: &Hub, owner: &str, records: Vec<Value>) -> Vec<String> {
    hub.bulk(owner, "customers", records)
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_a_pages_worth_the_list_shows_the_newest_and_search_finds_the_oldest() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let oldest = bulk(
        &hub,
        &owner,
        vec![json!({"first_name": "Ozma", "last_name": "Oldest"})],
    )
    .await
    .remove(0);
    for chunk in 0..5 {
        let records = (0..1000)
            .map(|i| json!({"first_name": format!("Bulk {chunk}-{i}"), "last_name": "Middle"}))
            .collect();
        bulk(&hub, &owner, records).await;
    }
    let newest = bulk(
        &hub,
        &owner,
        vec![json!({"first_name": "Nia", "last_name": "Newest"})],
    )
    .await
    .remove(0);

    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.goto("/records/customers").await;
    b.wait_for("#records-list tr[data-id]").await;
    let first = b
        .js("return document.querySelector('#records-list tr[data-id]').dataset.id")
        .await;
    assert_eq!(first, json!(newest), "the newest customer first");
    let shown = b.text_of(".pager .hint").await;
    assert!(
        shown.contains(&format!("of the newest {LOADED}")),
        "the list says it holds only the newest: {shown}"
    );
    let loaded_oldest = b
        .js(&format!(
            "return !!document.querySelector('#records-list tr[data-id=\"{oldest}\"]')"
        ))
        .await;
    assert_eq!(loaded_oldest, json!(false));

    let search = b.wait_for("#search").await;
    search.send_keys("Ozma").await.expect("type");
    b.wait_only_row(
        "the search to find the oldest customer through the hub",
        &oldest,
    )
    .await;
    let shown = b.text_of(".pager .hint").await;
    assert_eq!(shown, "1–1 of 1");
    b.screenshot("records-many-search").await;

    // At a tablet's width too: the same list, and what the pager says.
    let t = driver.session(&proxy.url(), 800, 1280).await;
    t.login(OWNER_EMAIL, PASSWORD).await;
    t.goto("/records/customers").await;
    t.wait_for("#records-list tr[data-id]").await;
    let shown = t.text_of(".pager .hint").await;
    assert!(shown.contains("search to find older ones"), "{shown}");
    t.screenshot("records-many").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_a_pages_worth_of_repair_orders_the_board_shows_todays() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    // Years of finished work, then this morning's car.
    hub.seed_ros(&owner, LOADED, json!({"ro_status": "archived"}))
        .await;
    let today = hub.seed_ros(&owner, 1, json!({})).await;
    let today = today[0]["id"].as_str().expect("id").to_string();

    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.goto("/board").await;
    b.wait_page("board").await;
    let cards = b
        .js("return [...document.querySelectorAll('#board article.card[data-ro-id]')].map(c => c.dataset.roId)")
        .await;
    assert_eq!(cards, json!([today]), "only today's car, and it is there");
}
