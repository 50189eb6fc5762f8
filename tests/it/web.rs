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
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::new(
        "127.0.0.1:0".parse().expect("addr"),
        dir.path().join("data"),
    );
    let app = App::build(&config).await.expect("build");
    let code = app
        .state
        .setup
        .peek()
        .expect("a code while there is no shop");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.serve(listener, async move {
        let _ = stopped.await;
    }));
    (dir, url, code, stop)
}

#[tokio::test]
async fn first_run_setup_needs_the_console_code_and_works_once() {
    let (_dir, url, code, _stop) = empty_hub().await;
    let http = reqwest::Client::new();
    let status: serde_json::Value = http
        .get(format!("{url}/api/setup"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["needed"], true);
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
    let status: serde_json::Value = http
        .get(format!("{url}/api/setup"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["needed"], false);
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
    assert_eq!(
        hub.db()
            .query_row("SELECT count(*) FROM shops", [], |r| r.get::<_, i64>(0))
            .expect("count"),
        1
    );
}
