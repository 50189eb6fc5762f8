//! A records list pages (next, previous) and searches; the board filters by
//! technician and by priority.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, OWNER_EMAIL, PASSWORD};
use super::proxy::RecordingProxy;
use serde_json::{json, Value};

/// The ids of the rows the records list shows now.
async fn rows(b: &Browser) -> Vec<String> {
    serde_json::from_value(
        b.js("return [...document.querySelectorAll('#records-list tr[data-id]')].map(r => r.dataset.id)")
            .await,
    )
    .expect("ids")
}

/// The ids of the cards the board shows (not hidden by a filter).
async fn shown_cards(b: &Browser) -> Vec<String> {
    let mut v: Vec<String> = serde_json::from_value(
        b.js(
            "return [...document.querySelectorAll('#board article.card[data-ro-id]')]
                .filter(c => c.checkVisibility()).map(c => c.dataset.roId)",
        )
        .await,
    )
    .expect("ids");
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_and_search_and_the_board_filters() {
    let (hub, owner) = Hub::start_with_shop(secret_env(None)).await;
    let records: Vec<Value> = (0..60)
        .map(|i| json!({"first_name": format!("Pat {i:02}"), "last_name": "Pager"}))
        .chain([json!({"first_name": "Zelda", "last_name": "Quixotic"})])
        .collect();
    let created = hub.bulk(&owner, "customers", records).await;
    let zelda = created[60]["id"].as_str().expect("id").to_string();
    let (tech, _) = hub.user(&owner, "technician", "Fay Filter").await;
    let mine = hub
        .seed_ros(
            &owner,
            2,
            json!({"primary_technician_id": tech, "priority": "urgent"}),
        )
        .await;
    let others = hub.seed_ros(&owner, 3, json!({"priority": "low"})).await;
    let ids = |v: &[Value]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect();
        v.sort();
        v
    };

    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;

    // Pages: the next page shows other customers, the previous one the first again.
    b.goto("/records/customers").await;
    b.wait_for("#records-list tr[data-id]").await;
    let first = rows(&b).await;
    assert!(
        !first.is_empty() && first.len() < 63,
        "a page, not everything: {}",
        first.len()
    );
    b.click("#next-page").await;
    let second = b
        .wait_js(
            "the next page",
            "const ids = [...document.querySelectorAll('#records-list tr[data-id]')].map(r => r.dataset.id);
             return ids.length > 0 && !ids.includes(arguments[0]) && ids",
            vec![json!(first[0])],
        )
        .await;
    let second: Vec<String> = serde_json::from_value(second).expect("ids");
    assert!(second.iter().all(|id| !first.contains(id)), "another page");
    b.click("#prev-page").await;
    b.wait_js(
        "the first page again",
        "return !!document.querySelector(`#records-list tr[data-id=\"${arguments[0]}\"]`)",
        vec![json!(first[0])],
    )
    .await;
    assert_eq!(rows(&b).await, first);
    // Search finds the one customer wherever her page is.
    let search = b.wait_for("#search").await;
    search.send_keys("Quixotic").await.expect("type");
    b.wait_only_row("the search to show only Zelda", &zelda)
        .await;

    // The board: by technician, by priority.
    b.goto("/board").await;
    b.wait_page("board").await;
    let all = {
        let mut v = ids(&mine);
        v.extend(ids(&others));
        v.sort();
        v
    };
    b.wait_js(
        "every card",
        "return document.querySelectorAll('#board article.card[data-ro-id]').length === 5",
        vec![],
    )
    .await;
    assert_eq!(shown_cards(&b).await, all);
    b.wait_for(&format!(
        "select#filter-technician option[value=\"{tech}\"]"
    ))
    .await;
    b.wait_for("select#filter-technician")
        .await
        .select_by_value(&tech)
        .await
        .expect("a technician");
    b.wait_js(
        "only the technician's cards",
        "return [...document.querySelectorAll('#board article.card[data-ro-id]')]
           .filter(c => c.checkVisibility()).length === 2",
        vec![],
    )
    .await;
    assert_eq!(shown_cards(&b).await, ids(&mine));
    b.wait_for("select#filter-technician")
        .await
        .select_by_value("")
        .await
        .expect("everyone");
    b.wait_for("select#filter-priority")
        .await
        .select_by_value("low")
        .await
        .expect("low priority");
    b.wait_js(
        "only the low-priority cards",
        "return [...document.querySelectorAll('#board article.card[data-ro-id]')]
           .filter(c => c.checkVisibility()).length === 3",
        vec![],
    )
    .await;
    assert_eq!(shown_cards(&b).await, ids(&others));
    proxy.assert_no_secrets(&hub.secrets(), true);
    b.close().await;
}
