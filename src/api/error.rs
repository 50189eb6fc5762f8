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
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Forbidden(m) => ApiError::Forbidden(m),
            StoreError::Invalid(f) if f.field == "body" || f.field == "_base" => {
                ApiError::InvalidField(f)
            }
            StoreError::Invalid(f) => ApiError::InvalidReference(f),
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::Closed => ApiError::Unavailable("the hub is shutting down".into()),
            StoreError::Internal(m) => ApiError::Internal(anyhow::anyhow!(m)),
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::InvalidField(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut body = json!({ "error": { "code": code, "message": self.to_string() } });
        if let ApiError::InvalidField(f) | ApiError::InvalidReference(f) = &self {
            body["error"]["field"] = json!(f.field);
        }
        (status, Json(body)).into_response()
    }
}
