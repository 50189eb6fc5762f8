//! One error type for the API. Every error answers `{"error":{"code","message"}}`
//! with its status; internal errors are logged with their cause and the client
//! gets an opaque message.

use crate::domain::value::FieldError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("{0}")]
    InvalidReference(FieldError),
    #[error(
        "the request body is too large: at most 256 KiB for one record, 8 MiB for a bulk create"
    )]
    TooLarge,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// Too many attempts: try again after this many seconds.
    #[error("too many attempts; try again in {0} second{s}", s = if *.0 == 1 { "" } else { "s" })]
    RateLimited(u64),
    /// Any other status (a rejection from below our handlers), with its own code.
    #[error("{1}")]
    Status(StatusCode, String),
    /// A record's stored history is damaged: the message says which record
    /// and what to do (it names no secret, only the record).
    #[error("{0}")]
    Damaged(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidField(_) => (StatusCode::BAD_REQUEST, "invalid_field"),
            ApiError::InvalidReference(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_reference")
            }
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Status(s, _) => (*s, status_code_name(*s)),
            ApiError::Damaged(_) => (StatusCode::INTERNAL_SERVER_ERROR, "damaged_record"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The `code` of the error body (also the WebSocket error's).
    pub fn code(&self) -> &'static str {
        self.status_and_code().1
    }

    /// The field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidField(f) | ApiError::InvalidReference(f) => Some(&f.field),
            _ => None,
        }
    }

    pub fn not_found() -> ApiError {
        ApiError::NotFound("no such record".into())
    }

    /// Our error for a bare status (a rejection made below the handlers).
    pub fn from_status(status: StatusCode, message: impl Into<String>) -> ApiError {
        let message = message.into();
        match status {
            StatusCode::BAD_REQUEST => ApiError::BadRequest(message),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized(message),
            StatusCode::FORBIDDEN => ApiError::Forbidden(message),
            StatusCode::NOT_FOUND => ApiError::NotFound(message),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(message),
            StatusCode::CONFLICT => ApiError::Conflict(message),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(message),
            s if s.is_server_error() => ApiError::Internal(anyhow::anyhow!("{s}: {message}")),
            s => ApiError::Status(s, message),
        }
    }
}

/// `unsupported_media_type` for 415, and so on: the status's reason in snake case.
fn status_code_name(s: StatusCode) -> &'static str {
    match s {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::LENGTH_REQUIRED => "length_required",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        use axum::extract::path::ErrorKind as K;
        use axum::extract::rejection::PathRejection as P;
        match &e {
            P::FailedToDeserializePathParams(d) => match d.kind() {
                K::InvalidUtf8InPathParam { key } => ApiError::BadRequest(format!(
                    "the path's {key} is not valid UTF-8 after percent-decoding"
                )),
                _ if e.status().is_client_error() => {
                    ApiError::BadRequest(format!("the path is not valid: {}", e.body_text()))
                }
                _ => ApiError::Internal(anyhow::anyhow!("path extraction: {}", e.body_text())),
            },
            _ => ApiError::Internal(anyhow::anyhow!("path extraction: {}", e.body_text())),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Forbidden(m) => ApiError::Forbidden(m),
            // The request itself asks for what is not allowed: 400.
            StoreError::Refused(f) => ApiError::InvalidField(f),
            // A reference only the database could judge: 422.
            StoreError::Invalid(f) => ApiError::InvalidReference(f),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Closed => ApiError::Unavailable("the hub is shutting down".into()),
            StoreError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
            StoreError::Damaged(m) => ApiError::Damaged(m),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::InvalidField(e)
    }
}

tokio::task_local! {
    /// The id of the request being answered (see `api::with_error_bodies`).
    static REQUEST_ID: String;
}

/// Runs the rest of the request with its id at hand, for the body of a 5xx.
pub async fn with_request_id(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    REQUEST_ID.scope(id, next.run(req)).await
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut body = json!({ "error": { "code": code, "message": self.to_string() } });
        if let ApiError::Internal(e) = &self {
            let id = REQUEST_ID.try_with(Clone::clone).unwrap_or_default();
            tracing::error!(error = ?e, request_id = %id, "internal error");
            if !id.is_empty() {
                body["error"]["request_id"] = json!(id);
            }
        }
        if let ApiError::Damaged(m) = &self {
            tracing::error!(reason = %m, "a record's stored history is damaged");
        }
        if let ApiError::InvalidField(f) | ApiError::InvalidReference(f) = &self {
            body["error"]["field"] = json!(f.field);
        }
        if let ApiError::RateLimited(secs) = &self {
            return (
                status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                Json(body),
            )
                .into_response();
        }
        (status, Json(body)).into_response()
    }
}
