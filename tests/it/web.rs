//! The embedded web UI and the first-run setup from the browser.

use crate::common::*;
use collisionos::app::App;
use collisionos::config::Config;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_ui_is_served_with_types_cache_headers_and_a_fallback_for_routes() {
    let hub = TestHub::spawn().await;
    let get = |path: &str| hub.client.get(format!("{}{path}", hub.base_url)).send();
    let page = get("/").await.expect("/");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let etag = page.headers()["etag"].to_str().expect("etag").to_string();
    assert!(page.headers().get("content-security-policy").is_some());
    let html = page.text().await.expect("html");
    assert!(html.contains("CollisionOS Hub") && html.contains("/app.js"));
    let js = get("/app.js").await.expect("/app.js");
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let css = get("/style.css").await.expect("/style.css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    // A client-side route is the app's page; a missing file is a 404 with our body.
    let route = get("/board/paint").await.expect("route");
    assert_eq!(route.status(), StatusCode::OK);
    assert!(route.text().await.expect("html").contains("/app.js"));
    let (status, body) = hub
        .request(reqwest::Method::GET, "/missing.png", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    // Unchanged since the last visit: 304.
    let again = hub
        .client
        .get(format!("{}/", hub.base_url))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("again");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // The API keeps its own 404s.
    let (status, _) = hub
        .request(reqwest::Method::GET, "/api/no/such/route/here", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A hub with no shop, served on port 0, and its setup code.
async fn empty_hub() -> (
    tempfile::TempDir,
    String,
    String,
    tokio::sync::oneshot::Sender<()>,
) {
    let (dir, app) = empty_app().await;
    let code = app
        .state
        .setup
        .peek()
        .expect("a code while there is no shop");
    let (url, stop) = serve(app).await;
    (dir, url, code, stop)
}

/// What `GET /api/setup` says: whether the hub still needs its first setup.
async fn setup_needed(url: &str) -> bool {
    let status: serde_json::Value = reqwest::get(format!("{url}/api/setup"))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    status["needed"].as_bool().expect("needed is true or false")
}

/// A hub built on a new data dir, not yet serving.
async fn empty_app() -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::new(
        "127.0.0.1:0".parse().expect("addr"),
        dir.path().join("data"),
    );
    let app = App::build(&config).await.expect("build");
    (dir, app)
}

/// Serves `app` on port 0: its base URL, and the sender that stops it.
async fn serve(app: App) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    (url, stop)
}

#[tokio::test]
async fn first_run_setup_needs_the_console_code_and_works_once() {
    let (_dir, url, code, _stop) = empty_hub().await;
    let http = reqwest::Client::new();
    assert!(setup_needed(&url).await);
    let body = |code: &str| {
        json!({"code": code, "shop_name": "Browser Body", "owner_name": "Pat Owner",
               "email": "pat@browser.test", "password": "long enough password"})
    };
    let wrong = if code.starts_with('0') {
        "1111-1111"
    } else {
        "0000-0000"
    };
    let res = http
        .post(format!("{url}/api/setup"))
        .json(&body(wrong))
        .send()
        .await
        .expect("wrong code");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http
        .post(format!("{url}/api/setup"))
        .json(&json!({"code": code, "shop_name": "X", "owner_name": "Y", "email": "y@y.test", "password": "short"}))
        .send()
        .await
        .expect("weak password");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = http
        .post(format!("{url}/api/setup"))
        .json(&body(&code.replace('-', " ")))
        .send()
        .await
        .expect("right code");
    assert_eq!(res.status(), StatusCode::CREATED);
    let login = http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": "pat@browser.test", "password": "long enough password"}))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    // Used: refused, and the shop is not created twice.
    let res = http
        .post(format!("{url}/api/setup"))
        .json(&body(&code))
        .send()
        .await
        .expect("reused code");
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(!setup_needed(&url).await);
}

#[tokio::test]
async fn a_hub_with_a_shop_has_no_setup() {
    let hub = TestHub::spawn().await;
    let (status, body) = hub
        .request(
            reqwest::Method::POST,
            "/api/setup",
            None,
            Some(
                &json!({"code": "1234-5678", "shop_name": "Taken", "owner_name": "Eve",
                         "email": "eve@x.test", "password": "long enough password"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Said before any field of the form is judged.
    let (status, body) = hub
        .request(
            reqwest::Method::POST,
            "/api/setup",
            None,
            Some(&json!({"code": "1234-5678"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.to_string().contains("already set up"),
        "the answer says why: {body}"
    );
    assert_eq!(
        hub.db()
            .query_row("SELECT count(*) FROM shops", [], |r| r.get::<_, i64>(0))
            .expect("count"),
        1
    );
}

/// A setup whose owner fields are refused writes nothing (the setup can be
/// sent again), and a setup that stopped after writing its shop (a crash
/// before the owner) is finished by the next one, under the same shop.
#[tokio::test]
async fn a_refused_setup_writes_nothing_and_one_stopped_half_way_is_finished() {
    let http = reqwest::Client::new();
    let setup = |url: &str, code: &str, email: &str| {
        http.post(format!("{url}/api/setup"))
            .json(
                &json!({"code": code, "shop_name": "Half Way Body", "owner_name": "Pat",
                          "email": email, "password": "long enough password"}),
            )
            .send()
    };
    let shops = |dir: &tempfile::TempDir| -> Vec<String> {
        let db = rusqlite::Connection::open(dir.path().join("data/collisionos.db")).expect("db");
        let mut stmt = db.prepare("SELECT id FROM shops").expect("prepare");
        let ids = stmt.query_map([], |r| r.get(0)).expect("query");
        ids.collect::<Result<_, _>>().expect("ids")
    };

    let (dir, url, code, _stop) = empty_hub().await;
    let res = setup(&url, &code, "not an e-mail")
        .await
        .expect("bad email");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let msg = res.text().await.expect("body");
    assert!(msg.contains("e-mail"), "{msg}");
    assert_eq!(shops(&dir), Vec::<String>::new(), "nothing written");
    let res = setup(&url, &code, "pat@half.test").await.expect("again");
    assert_eq!(res.status(), StatusCode::CREATED);

    // The first half of a setup, as a crash between its two writes leaves it.
    let (dir, app) = empty_app().await;
    let code = app.state.setup.peek().expect("a code");
    let shop = uuid::Uuid::now_v7();
    let shops_table = collisionos::domain::TableId::by_name("shops").expect("shops");
    let fields = collisionos::domain::value::parse_object(
        shops_table.def(),
        &json!({"name": "Old Name"}),
        collisionos::domain::value::Mode::Create,
    )
    .expect("fields")
    .1;
    app.store()
        .write(collisionos::store::WriteRequest {
            who: collisionos::domain::policy::Principal::system(collisionos::domain::ShopId::from(
                shop,
            )),
            table: shops_table,
            op: collisionos::store::WriteOp::Create {
                id: Some(shop),
                fields,
            },
            skip_sync: false,
            password_hash: None,
        })
        .await
        .expect("the shop alone");
    let (url, _stop2) = serve(app).await;
    assert!(
        setup_needed(&url).await,
        "a shop with no owner is not set up"
    );
    let res = setup(&url, &code, "pat@half.test").await.expect("finish");
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: serde_json::Value = res.json().await.expect("json");
    assert_eq!(made["shop_id"], shop.to_string(), "the same shop, finished");
    assert_eq!(shops(&dir), vec![shop.to_string()]);
    let login: serde_json::Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&json!({"email": "pat@half.test", "password": "long enough password"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("a token");
    let me: serde_json::Value = http
        .get(format!("{url}/api/shops/{shop}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("shop")
        .json()
        .await
        .expect("json");
    assert_eq!(me["name"], "Half Way Body", "{me}");
}

/// Wrong setup codes are limited like wrong passwords: five free per address,
/// then refused (the right code too, from there), while a caller at another
/// address still sets the hub up.
#[tokio::test]
async fn wrong_setup_codes_are_limited() {
    let (_dir, url, code, _stop) = empty_hub().await;
    let wrong = if code.starts_with('0') {
        "1111-1111"
    } else {
        "0000-0000"
    };
    let here = reqwest::Client::new();
    let setup = |client: &reqwest::Client, code: &str| {
        client
            .post(format!("{url}/api/setup"))
            .json(
                &json!({"code": code, "shop_name": "Limited Body", "owner_name": "Pat",
                          "email": "pat@limited.test", "password": "long enough password"}),
            )
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(setup(&here, wrong).await.expect("wrong").status().as_u16());
    }
    assert_eq!(&statuses[..6], &[403; 6], "{statuses:?}");
    assert!(statuses[6..].iter().all(|s| *s == 429), "{statuses:?}");
    let res = setup(&here, &code).await.expect("right, from here");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    let elsewhere = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client on 127.0.0.2");
    let res = setup(&elsewhere, &code).await.expect("right, elsewhere");
    assert_eq!(res.status(), StatusCode::CREATED);
}
