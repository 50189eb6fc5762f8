//! The hub's typed HTTP client: requests as a user (or with raw bytes and
//! headers), signing in, creating and reading records, and [`assert_error`] for
//! the shape of an error answer.

use super::TestHub;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub fn api(table: &str) -> String {
    format!("/api/{table}")
}

pub fn api_id(table: &str, id: &str) -> String {
    format!("/api/{table}/{id}")
}

impl TestHub {
    /// Sends `body` (raw bytes) with exactly these extra headers; no token is
    /// added. The answer's body is parsed as JSON, or kept as a JSON string if it
    /// is not JSON (so a test asserting on its shape fails with the text shown).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .body(body);
        for (k, v) in headers {
            req = req.header(
                HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                HeaderValue::from_str(v).expect("a header value"),
            );
        }
        let resp = req.send().await.expect("the hub answers");
        read(resp).await
    }

    /// Sends JSON (if any) with the bearer token (if any).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("the hub answers");
        read(resp).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn try_login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self.try_login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login of {email} gave no token: {body}"))
            .to_string()
    }

    /// Creates a record as `token` and returns it; panics unless it is 201.
    pub async fn create(&self, table: &str, token: &str, body: &Value) -> Value {
        let (status, rec) = self.post(&api(table), token, body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create {table} with {body}: {rec}"
        );
        rec
    }

    /// Creates a record as `token` and returns its id; panics unless it is 201.
    pub async fn create_id(&self, table: &str, token: &str, body: &Value) -> String {
        let rec = self.create(table, token, body).await;
        rec["id"]
            .as_str()
            .unwrap_or_else(|| panic!("create {table}: no id in {rec}"))
            .to_string()
    }

    /// Reads a record as the owner (the reference view of "what is stored").
    pub async fn read_as_owner(&self, table: &str, id: &str) -> (StatusCode, Value) {
        self.get(&api_id(table, id), &self.owner.token).await
    }
}

async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.expect("read the answer's body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// Asserts the answer is an error of this status and code, shaped
/// `{"error":{"code","message"}}` (plus `field` for field errors), and returns
/// the `field` it names, if any.
#[track_caller]
pub fn assert_error(
    got: &(StatusCode, Value),
    status: StatusCode,
    code: &str,
    what: &str,
) -> Option<String> {
    let (s, body) = got;
    assert_eq!(*s, status, "{what}: status (body {body})");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: the error body is not an object: {body}"));
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        vec!["error"],
        "{what}: {body}"
    );
    let err = &body["error"];
    assert_eq!(err["code"], json!(code), "{what}: {body}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what}: the error has no message: {body}"
    );
    err.get("field").map(|f| {
        f.as_str()
            .unwrap_or_else(|| panic!("{what}: field is not a string: {body}"))
            .to_string()
    })
}
