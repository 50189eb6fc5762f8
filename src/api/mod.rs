//! The HTTP API, all JSON, all under `/api` (the table in `README.md`).
//!
//! - [`error`]: the one error type and its JSON body.
//! - [`extract`]: the caller (JWT → account) and the capped JSON body.
//! - [`records`]: CRUD, bulk, list with filters and cursor, history, conflicts.
//! - [`accounts`]: health, login, me, password change.
//! - [`devices`]: bay tablets' devices (list, revoke); `/api/ws` is [`crate::ws`].
//! - [`automerge`]: a record's Automerge document.
//! - [`sync`]: the 13 cloud-sync endpoints.
//!
//! Every answer that is not a success is our error body, whoever made it: our
//! handlers, axum's extractors (path, body), the router (no such route, method),
//! or a panic (caught, logged, answered 500) — see [`router`].

pub mod accounts;
pub mod automerge;
pub mod devices;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod records;
pub mod setup;
pub mod sync;
pub mod ui;
pub mod web;

use crate::auth::JwtSecret;
use crate::store::Store;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header::{self, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::ApiError;

/// Largest body of a single-record request.
pub const MAX_BODY: usize = 256 * 1024;
/// Largest body of a bulk create.
pub const MAX_BULK_BODY: usize = 8 * 1024 * 1024;
/// Most records in one bulk create.
pub const MAX_BULK_RECORDS: usize = 1000;
/// Largest page of a list.
pub const MAX_LIMIT: usize = 500;
pub const DEFAULT_LIMIT: usize = 50;

/// What every handler and middleware shares. axum clones the state for each
/// `State` extractor and `from_fn_with_state` layer, several times per request,
/// so it is one `Arc`: a clone is one atomic increment, where the fields
/// cloned one by one were some twenty (the metrics alone hold a dozen `Arc`s),
/// each a cache line that moved between the cores on every request.
#[derive(Clone)]
pub struct AppState(std::sync::Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(std::sync::Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The fields of [`AppState`].
pub struct Shared {
    pub store: Store,
    pub secret: JwtSecret,
    pub token_ttl: Duration,
    pub accounts: extract::AccountCache,
    pub metrics: metrics::Metrics,
    pub backups: crate::backups::Backups,
    /// Login attempts per account and per address.
    pub logins: std::sync::Arc<crate::auth::limiter::LoginLimiter>,
    /// The one-time first-run code, while the hub has no shop.
    pub setup: setup::SetupCode,
    pub tablets: crate::ws::Tablets,
    /// The cloud sync engine (its loop runs beside the server).
    pub sync: crate::sync::worker::Engine,
}

/// A path's parameters, every rejection answered with our error body (a
/// percent-escape that is not UTF-8, like `/api/customers/%FF`, is a 400).
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(accounts::health))
        .route("/setup", get(setup::status).post(setup::create))
        .route("/auth/login", post(accounts::login))
        .route("/auth/me", get(accounts::me))
        .route("/auth/logout", post(accounts::logout))
        .route("/auth/password", post(accounts::change_password))
        .route("/ui/catalog", get(ui::catalog))
        .route("/sync/status", get(sync::status))
        .route("/sync/config", get(sync::get_config).put(sync::put_config))
        .route("/sync/queue", get(sync::queue))
        .route("/sync/trigger", post(sync::trigger))
        .route("/sync/queue/clear", post(sync::clear))
        .route("/sync/history", get(sync::history))
        .route("/sync/test-connection", post(sync::test_connection))
        .route("/sync/force-sync-record", post(sync::force_sync_record))
        .route("/sync/cost-estimate", get(sync::cost))
        .route("/sync/stats", get(sync::stats))
        .route("/sync/enable", post(sync::enable))
        .route("/sync/disable", post(sync::disable))
        .route("/conflicts", get(records::conflicts))
        .route(
            "/conflicts/{table}/{id}/resolve",
            post(records::resolve_conflict),
        )
        .route(
            "/{table}/bulk",
            post(records::bulk_create).layer(DefaultBodyLimit::max(MAX_BULK_BODY)),
        )
        .route("/{table}", get(records::list).post(records::create))
        .route(
            "/{table}/{id}",
            get(records::get_one)
                .patch(records::update)
                .delete(records::delete),
        )
        .route("/{table}/{id}/history", get(records::history))
        .route("/{table}/{id}/automerge", get(automerge::document))
        .route("/ws", get(crate::ws::upgrade))
        .route("/devices", get(devices::list))
        .route("/devices/{id}", axum::routing::delete(devices::revoke))
        .route("/devices/{id}/revoke", post(devices::revoke))
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not take that method".into())
        })
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state.clone());
    with_error_bodies(
        Router::new()
            .nest("/api", api)
            .route("/metrics", get(metrics::render).with_state(state))
            .fallback(get(web::asset)),
    )
}

/// The outer layers every answer passes through: a panic in a handler is
/// caught and answered 500 with our body (instead of a dropped connection); any
/// error answer that is not JSON (a rejection made below our handlers) is
/// replaced by our body with the same status; and every request gets an id
/// (`x-request-id`, kept if the client sent one), named in its log span, in the
/// answer's header, and in the body of a 5xx, so a shop's "it failed" can be
/// matched to the log line that says why.
pub fn with_error_bodies(router: Router) -> Router {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    router
        .layer(axum::middleware::map_response(json_error_body))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
        .layer(axum::middleware::from_fn(error::with_request_id))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<_>| {
                    // Method, path and request id only: never headers (tokens) or bodies.
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                },
            ),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // Headers on every answer: no sniffing, no framing by other sites, no
        // referrer, and only this hub's own scripts and styles for the UI. CORS
        // stays closed: no answer ever allows another origin, so a page
        // elsewhere cannot call the API with a user's browser.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
}

/// The UI's content security policy: its own scripts, styles and API only.
pub const CSP: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    ApiError::Internal(anyhow::anyhow!("a request handler panicked: {what}")).into_response()
}

async fn json_error_body(res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return res;
    }
    let message = status
        .canonical_reason()
        .unwrap_or("the request was refused")
        .to_lowercase();
    ApiError::from_status(status, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boom() -> &'static str {
        panic!("kaboom")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_our_json_500_and_the_server_goes_on() {
        let app = with_error_bodies(
            Router::new()
                .route("/boom", get(|| async { boom() }))
                .route("/ok", get(|| async { "fine" })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        let res = client
            .get(format!("http://{addr}/boom"))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            res.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        let id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("every answer names its request")
            .to_string();
        let body: serde_json::Value = res.json().await.expect("a JSON body");
        assert_eq!(
            body,
            serde_json::json!({ "error": {
                "code": "internal", "message": "internal error", "request_id": id
            } }),
            "the panic's message stays in the log; the request id joins them"
        );
        let ok = client
            .get(format!("http://{addr}/ok"))
            .send()
            .await
            .expect("the server still serves");
        assert_eq!(ok.status(), reqwest::StatusCode::OK);
    }

    #[tokio::test]
    async fn a_rejection_made_below_our_handlers_gets_our_body_and_keeps_its_status() {
        // axum's own JSON extractor answers text/plain; the outer layer rewrites it.
        let app = with_error_bodies(Router::new().route(
            "/json",
            post(|axum::Json(v): axum::Json<serde_json::Value>| async move { v.to_string() }),
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();
        for (content_type, body, status, code) in [
            ("text/plain", "{}", 415, "unsupported_media_type"),
            ("application/json", "{nope", 400, "bad_request"),
            ("application/json", "[1]", 200, ""),
        ] {
            let res = client
                .post(format!("http://{addr}/json"))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("an answer");
            assert_eq!(res.status().as_u16(), status, "{content_type} {body}");
            if status == 200 {
                continue;
            }
            let got: serde_json::Value = res.json().await.expect("a JSON body");
            assert_eq!(got["error"]["code"], serde_json::json!(code), "{got}");
            assert!(got["error"]["message"].is_string(), "{got}");
        }
    }
}
