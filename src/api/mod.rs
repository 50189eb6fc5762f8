//! The HTTP API, all JSON, all under `/api` (DESIGN.md "Outside contracts").
//!
//! - [`error`]: the one error type and its JSON body.
//! - [`extract`]: the caller (JWT → account) and the capped JSON body.
//! - [`records`]: CRUD, bulk, list with filters and cursor, history, conflicts.
//! - [`accounts`]: health, login, me, password change.
//! - [`devices`]: bay tablets' devices (list, revoke); `/api/ws` is [`crate::ws`].
//! - [`automerge`]: a record's Automerge document.

pub mod accounts;
pub mod automerge;
pub mod devices;
pub mod error;
pub mod extract;
pub mod records;

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
    pub tablets: crate::ws::Tablets,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(accounts::health))
        .route("/auth/login", post(accounts::login))
        .route("/auth/me", get(accounts::me))
        .route("/auth/password", post(accounts::change_password))
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
        .with_state(state);
    Router::new().nest("/api", api)
}
