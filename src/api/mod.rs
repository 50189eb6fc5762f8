//! The HTTP API, all JSON, all under `/api` (DESIGN.md "Outside contracts").
//!
//! - [`error`]: the one error type and its JSON body.
//! - [`extract`]: the caller (JWT → account) and the capped JSON body.
//! - [`records`]: CRUD, bulk, list with filters and cursor, history, conflicts.
//! - [`accounts`]: health, login, me, password change.
//! - [`sync`]: the 13 cloud-sync endpoints.

pub mod accounts;
pub mod error;
pub mod extract;
pub mod records;
pub mod sync;

use crate::auth::JwtSecret;
use crate::store::Store;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::time::Duration;

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

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub secret: JwtSecret,
    pub token_ttl: Duration,
    pub accounts: extract::AccountCache,
    /// The cloud sync engine (its loop runs beside the server).
    pub sync: crate::sync::worker::Engine,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(accounts::health))
        .route("/auth/login", post(accounts::login))
        .route("/auth/me", get(accounts::me))
        .route("/auth/password", post(accounts::change_password))
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
        .method_not_allowed_fallback(|| async {
            ApiError::MethodNotAllowed("this endpoint does not take that method".into())
        })
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    Router::new().nest("/api", api)
}
