//! First run to a live board, in the browser: setup with the code the hub
//! printed on its console (a wrong code refused first), login, a customer, a
//! vehicle and a repair order made through the forms (a validation message
//! shown beside its field), the card appearing on a second session's board
//! without a reload, moved there with its "Move to" select, and the first
//! session's board and the RO's stage history showing the move.

use super::harness::{Browser, Driver};
use super::hub::{secret_env, Hub, OWNER_EMAIL, OWNER_NAME, PASSWORD, SHOP_NAME};
use super::proxy::RecordingProxy;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Waits for the page to land on `/records/<table>/<uuid>`; returns the uuid.
async fn created_id(b: &Browser, table: &str) -> String {
    let v = b
        .wait_js(
            &format!("the new {table} record's page"),
            "const m = location.pathname.match(new RegExp('^/records/' + arguments[0] + '/([0-9a-f-]{36})$'));
             return m && document.body.dataset.ready === '1' ? m[1] : null",
            vec![json!(table)],
        )
        .await;
    v.as_str().expect("an id").to_string()
}

/// Marks the page; [`still_same_page`] tells whether it was reloaded since.
async fn mark_page(b: &Browser) {
    b.js("window.__noReload = 'still here'").await;
}

async fn still_same_page(b: &Browser) -> bool {
    b.js("return window.__noReload === 'still here'").await == json!(true)
}

/// The board's stage codes, in column order.
async fn board_stages(b: &Browser) -> Vec<String> {
    let v = b
        .js("return [...document.querySelectorAll('#board section[data-stage]')].map(s => s.dataset.stage)")
        .await;
    serde_json::from_value(v).expect("stage codes")
}

fn card_in(stage: &str, ro: &str) -> String {
    format!("#board section[data-stage=\"{stage}\"] article.card[data-ro-id=\"{ro}\"]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_login_forms_and_a_move_seen_live_on_two_boards() {
    let hub = Hub::start_empty(secret_env(Some(&format!(
        "postgres://postgres:{}@127.0.0.1:9/cloud",
        super::hub::DB_PASSWORD
    ))));
    let code = hub
        .setup_code
        .clone()
        .expect("the console shows a setup code");
    let proxy = RecordingProxy::start(&hub.addr).await;
    let driver = Driver::start().await;
    let a = driver.session(&proxy.url(), 1280, 800).await;

    // First run: the hub has no shop, so the app shows the setup page.
    a.goto("/").await;
    a.wait_for("#setup-form").await;
    assert!(
        a.unlabelled().await.is_empty(),
        "{:?}",
        a.unlabelled().await
    );
    let wrong = if code.starts_with('1') {
        "2222-2222"
    } else {
        "1111-1111"
    };
    for (name, value) in [
        ("code", wrong),
        ("shop_name", SHOP_NAME),
        ("owner_name", OWNER_NAME),
        ("email", OWNER_EMAIL),
        ("password", PASSWORD),
    ] {
        a.fill("#setup-form", name, value).await;
    }
    a.click("#setup-form [type=submit]").await;
    let why = a.wait_some_text("#setup-error").await;
    assert!(
        why.to_lowercase().contains("code"),
        "the refusal says why: {why}"
    );
    let (_, st) = hub.call(Method::GET, "/api/setup", None, None).await;
    assert_eq!(st["needed"], true, "a wrong code set nothing up");

    a.fill("#setup-form", "code", &code).await;
    a.click("#setup-form [type=submit]").await;
    // Then the login page, or straight to the board; either way sign in.
    let landed = a
        .wait_js(
            "the setup to finish",
            "if (document.querySelector('#login-form') && !document.querySelector('#setup-form')) return 'login';
             if (document.body.dataset.ready === '1' && document.body.dataset.page === 'board') return 'board';
             return null",
            vec![],
        )
        .await;
    let (_, st) = hub.call(Method::GET, "/api/setup", None, None).await;
    assert_eq!(st["needed"], false, "the shop exists: {st}");
    if landed == "board" {
        a.click("#logout").await;
        a.wait_for("#login-form").await;
    }
    a.login(OWNER_EMAIL, PASSWORD).await;
    let who = a.wait_some_text("#who").await;
    assert!(
        who.contains(OWNER_NAME) && who.contains("owner"),
        "the header shows the user and role: {who}"
    );
    a.wait_js(
        "the shop's name in the header",
        "return document.querySelector('#shop-name').textContent.includes(arguments[0])",
        vec![json!(SHOP_NAME)],
    )
    .await;
    a.wait_for("#conn-state[data-state=\"online\"]").await;
    let token = hub.login(OWNER_EMAIL, PASSWORD).await;

    // A second session, on the board before the repair order exists.
    let b = driver.session(&proxy.url(), 1280, 800).await;
    b.login(OWNER_EMAIL, PASSWORD).await;
    b.wait_for("#conn-state[data-state=\"online\"]").await;
    mark_page(&b).await;

    // A customer through the form: the API's message beside the field first.
    a.goto("/records/customers/new").await;
    a.wait_for("form#record-form").await;
    a.fill("#record-form", "first_name", "Dana").await;
    a.fill("#record-form", "last_name", "Delgado").await;
    a.fill("#record-form", "email", "not an e-mail").await;
    a.click("#record-form button[type=submit]").await;
    let msg = a.wait_some_text("[data-error-for=\"email\"]").await;
    assert!(!msg.is_empty());
    assert_eq!(a.path().await, "/records/customers/new", "not created");
    a.fill("#record-form", "email", "dana@example.com").await;
    a.click("#record-form button[type=submit]").await;
    let customer = created_id(&a, "customers").await;

    a.goto("/records/vehicles/new").await;
    a.wait_for("form#record-form").await;
    a.choose("#record-form", "customer_id", &customer).await;
    a.fill("#record-form", "year", "2020").await;
    a.fill("#record-form", "make", "Subaru").await;
    a.fill("#record-form", "model", "Outback").await;
    a.fill("#record-form", "vin", "4S4BSANC5L3212345").await;
    a.click("#record-form button[type=submit]").await;
    let vehicle = created_id(&a, "vehicles").await;

    a.goto("/records/repair_orders/new").await;
    a.wait_for("form#record-form").await;
    a.choose("#record-form", "customer_id", &customer).await;
    a.choose("#record-form", "vehicle_id", &vehicle).await;
    a.click("#record-form button[type=submit]").await;
    let ro = created_id(&a, "repair_orders").await;
    let rec = hub.get(&token, &format!("/api/repair_orders/{ro}")).await;
    assert_eq!(rec["customer_id"], json!(customer), "{rec}");
    assert_eq!(rec["vehicle_id"], json!(vehicle), "{rec}");
    let from = rec["stage"].as_str().expect("a stage").to_string();

    // The card appears on the second session's board, without a reload.
    b.wait_for(&card_in(&from, &ro)).await;
    let number = rec["ro_number"].as_str().expect("an RO number");
    let card_text = b
        .text_of(&format!("article.card[data-ro-id=\"{ro}\"]"))
        .await;
    assert!(
        card_text.contains(number),
        "the card shows {number}: {card_text}"
    );
    assert!(still_same_page(&b).await, "the board was reloaded");

    // The first session watches its board while the second moves the card.
    a.goto("/board").await;
    a.wait_page("board").await;
    a.wait_for(&card_in(&from, &ro)).await;
    mark_page(&a).await;
    let stages = board_stages(&b).await;
    let at = stages.iter().position(|s| *s == from).expect("its column");
    let to = stages
        .get(at + 1)
        .or_else(|| stages.first())
        .expect("another column")
        .clone();
    let select = b
        .wait_for(&format!(
            "article.card[data-ro-id=\"{ro}\"] select[data-move]"
        ))
        .await;
    select.select_by_value(&to).await.expect("choose the stage");
    b.wait_for(&card_in(&to, &ro)).await;
    a.wait_for(&card_in(&to, &ro)).await;
    assert!(still_same_page(&a).await, "the first board was reloaded");
    assert!(still_same_page(&b).await, "the second board was reloaded");
    let n: i64 = a
        .js_with(
            "return document.querySelectorAll(`article.card[data-ro-id=\"${arguments[0]}\"]`).length",
            vec![json!(ro)],
        )
        .await
        .as_i64()
        .expect("a count");
    assert_eq!(n, 1, "the card is in one column only");
    let rec = hub.get(&token, &format!("/api/repair_orders/{ro}")).await;
    assert_eq!(rec["stage"], json!(to), "{rec}");

    // The hub wrote the move's history row, once.
    let moves: Vec<(Option<String>, String)> = {
        let db = hub.db();
        let mut st = db
            .prepare("SELECT from_stage, to_stage FROM ro_stage_history WHERE repair_order_id = ?1")
            .expect("history");
        st.query_map([&ro], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("rows")
            .map(|r| r.expect("a row"))
            .collect()
    };
    let this_move: Vec<_> = moves.iter().filter(|(_, t)| *t == to).collect();
    assert_eq!(
        this_move,
        vec![&(Some(from.clone()), to.clone())],
        "the hub appends one history row for the move, in the stage change's own transaction: {moves:?}"
    );

    // The RO's page: its stage and the move in its history.
    a.goto(&format!("/records/repair_orders/{ro}")).await;
    a.wait_for("#ro-history").await;
    // The move by the stages' names, as the board's columns show them.
    let name_of = |code: &str| {
        let b = &b;
        let code = code.to_string();
        async move {
            let name = b
                .js_with(
                    "return document.querySelector(`#board section[data-stage=\"${arguments[0]}\"]`)?.getAttribute('aria-label')",
                    vec![json!(code)],
                )
                .await;
            name.as_str()
                .unwrap_or_else(|| panic!("the board names stage {code}: {name}"))
                .to_string()
        }
    };
    let (from_name, to_name) = (name_of(&from).await, name_of(&to).await);
    assert!(
        from_name != from && to_name != to,
        "the board names its stages, not their codes: {from_name}, {to_name}"
    );
    a.wait_js(
        "the move in #ro-history, by the stages' names",
        "return [...document.querySelectorAll('#ro-history li')].some(li =>
            li.dataset.from === arguments[0] && li.dataset.to === arguments[1] &&
            li.querySelector('b').textContent === arguments[2] + ' → ' + arguments[3])",
        vec![json!(from), json!(to), json!(from_name), json!(to_name)],
    )
    .await;
    // The current stage: its code, or its name ("parts_ordering" as "Parts ordering").
    a.wait_js(
        "#ro-stage to show the new stage",
        "const e = document.querySelector('#ro-stage');
         return !!e && (e.dataset.stage === arguments[0] ||
           e.textContent.trim().toLowerCase().replace(/ /g, '_') === arguments[0])",
        vec![json!(to)],
    )
    .await;

    // Logging out: another tab of the same browser (a window the page opens)
    // follows to the login page, and the hub ends the token itself.
    let old_token = a
        .js_string(
            "return JSON.parse(localStorage.getItem('cos.session')).token",
            "the session's token",
        )
        .await;
    // (The bay tablet keeps what it saw for starts without the hub.)
    a.goto("/tablet").await;
    a.wait_page("tablet").await;
    a.js("window.otherTab = window.open('/board', 'other-tab'); return !!window.otherTab")
        .await;
    a.wait_js(
        "the other tab to open the board",
        "const d = window.otherTab?.document;
         return !!d && d.body?.dataset.ready === '1' && d.body.dataset.page === 'board'",
        vec![],
    )
    .await;
    // Counts the kept data again at each try (the tablet saves it as it draws).
    let kept = |want: &str| {
        format!(
            "if (!window.counting) {{ window.counting = true;
               const r = indexedDB.open('collisionos');
               r.onsuccess = () => {{ const q = r.result.transaction('kv').objectStore('kv').count();
                 q.onsuccess = () => {{ window.kept = q.result; window.counting = false; r.result.close(); }}; }}; }}
             return {want}"
        )
    };
    a.wait_js("the tablet's saved data", &kept("window.kept >= 1"), vec![])
        .await;
    a.click("#logout").await;
    a.wait_for("#login-form").await;
    // What the tablet saw is not left for the next person.
    a.js("window.kept = null; return true").await;
    a.wait_js(
        "no saved data after the logout",
        &kept("window.kept === 0"),
        vec![],
    )
    .await;
    // An empty form is answered on the page, in words.
    a.click("#login-form button[type=submit]").await;
    a.wait_text("#login-error", "Type your e-mail address.")
        .await;
    a.wait_js(
        "the other tab to follow to the login page",
        "const d = window.otherTab?.document;
         return !!d && d.location.pathname === '/login' && !!d.querySelector('#login-form')",
        vec![],
    )
    .await;
    let (s, me) = hub
        .call(Method::GET, "/api/auth/me", Some(&old_token), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the logged-out token: {me}");
    proxy.assert_no_secrets(&hub.secrets(), true);
    a.close().await;
    b.close().await;
}
