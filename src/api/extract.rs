//! Request extractors: [`Caller`] (who is asking, from the bearer token and the
//! account behind it) and [`JsonBody`] (a capped body parsed to JSON, every
//! failure answered with our error body).

use super::{ApiError, AppState};
use crate::auth;
use crate::domain::policy::Principal;
use crate::domain::{Role, ShopId};
use crate::store::queries::Account;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long an account's role, active flag and credential stamp are trusted
/// before they are read again. Every change made through this hub's API (an
/// update, a password change or reset, a delete, a conflict resolved) takes
/// effect at once: the cache is told. This bounds how long a change made by
/// another process takes.
const ACCOUNT_TTL: Duration = Duration::from_secs(10);

/// What a request needs to know about its account, kept a short while.
#[derive(Clone)]
struct Known {
    account: Account,
    /// [`auth::credential_stamp`] of the account's password hash.
    stamp: String,
    at: Instant,
}

/// Recently seen accounts, so a request costs no database read to authenticate.
#[derive(Clone, Default)]
pub struct AccountCache(Arc<RwLock<Cached>>);

#[derive(Default)]
struct Cached {
    accounts: HashMap<String, Known>,
    /// Counts `forget` calls: an account read before one is not cached after
    /// it (it may be the state from before the change).
    forgets: u64,
}

impl AccountCache {
    fn get(&self, id: &str) -> Option<Known> {
        let map = self.0.read().ok()?;
        let known = map.accounts.get(id)?;
        (known.at.elapsed() < ACCOUNT_TTL).then(|| known.clone())
    }
    /// Where the cache stands, to give [`AccountCache::put`] with what was read.
    fn epoch(&self) -> u64 {
        self.0.read().map(|c| c.forgets).unwrap_or(0)
    }
    /// Caches `account`, read when the cache stood at `epoch`, unless an account
    /// was forgotten since.
    fn put(&self, epoch: u64, account: Account) -> Known {
        let known = Known {
            stamp: auth::credential_stamp(account.password_hash.as_deref()),
            account,
            at: Instant::now(),
        };
        if let Ok(mut c) = self.0.write() {
            if c.forgets == epoch {
                if c.accounts.len() > 10_000 {
                    c.accounts.clear();
                }
                c.accounts.insert(known.account.id.clone(), known.clone());
            }
        }
        known
    }
    /// Forgets an account after it changed (role, active, password, deleted).
    pub fn forget(&self, id: &str) {
        if let Ok(mut c) = self.0.write() {
            c.accounts.remove(id);
            c.forgets += 1;
        }
    }
}

/// The authenticated caller: a user of one shop, with the role the account has now.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub shop_id: ShopId,
    pub role: Role,
    /// The session's token: when it was issued (Unix milliseconds) and when
    /// it expires (Unix seconds), what logging out of it records.
    pub issued_ms: i64,
    pub expires_at: i64,
}

impl Caller {
    pub fn principal(&self) -> Principal {
        Principal {
            shop_id: self.shop_id.clone(),
            user_id: Some(self.user_id.clone()),
            role: self.role,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::Unauthorized("log in first: no Authorization header".into())
            })?;
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token)
            .ok_or_else(|| {
                ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
            })?;
        let claims = auth::verify(&state.secret, token.trim())
            .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
        // A cached account whose stamp differs from the token's is read again:
        // the token may be newer than the cache (issued after a change).
        let known = match state.accounts.get(&claims.sub) {
            Some(k) if k.stamp == claims.stamp => k,
            _ => {
                let epoch = state.accounts.epoch();
                let a = state.store.account(&claims.sub).await?.ok_or_else(|| {
                    ApiError::Unauthorized("this account no longer exists".into())
                })?;
                state.accounts.put(epoch, a)
            }
        };
        let account = known.account;
        if !account.active || account.shop_id != claims.shop_id {
            return Err(ApiError::Unauthorized("this account is not active".into()));
        }
        if account
            .sessions_from
            .is_some_and(|ended| claims.issued_ms() <= ended)
        {
            return Err(ApiError::Unauthorized(
                "this session ended when the account was deactivated; log in again".into(),
            ));
        }
        if account.ended.contains(&claims.issued_ms()) {
            return Err(ApiError::Unauthorized(
                "this session was logged out; log in again".into(),
            ));
        }
        if known.stamp != claims.stamp {
            return Err(ApiError::Unauthorized(
                "this session ended when the account's password was changed; log in again".into(),
            ));
        }
        let role = account.role.parse::<Role>().map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("stored role {} unknown", account.role))
        })?;
        Ok(Caller {
            user_id: account.id,
            shop_id: account.shop_id,
            role,
            issued_ms: claims.issued_ms(),
            expires_at: claims.exp,
        })
    }
}

/// A body's headers, if it names them, say JSON, uncompressed: a form or a
/// gzip stream is refused (415) for what it is, not parsed and misreported as
/// malformed JSON. A body without a `Content-Type` is read as JSON.
fn json_body_headers(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE};
    let unsupported = |m: String| ApiError::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE, m);
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        let essence = ct
            .to_str()
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(unsupported(format!(
                "the body must be JSON (Content-Type: application/json), not {essence}"
            )));
        }
    }
    if let Some(enc) = headers.get(CONTENT_ENCODING) {
        let enc = enc.to_str().unwrap_or_default().trim().to_ascii_lowercase();
        if enc != "identity" {
            return Err(unsupported(format!(
                "the body must not be compressed (Content-Encoding: {enc})"
            )));
        }
    }
    Ok(())
}

/// A request body parsed as JSON, within the route's size cap.
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_json(req, state, false)
            .await?
            .map(JsonBody)
            .ok_or_else(|| ApiError::MalformedJson("the body is empty".into()))
    }
}

/// A body that may be left out (`None` when empty); one given is held to
/// every check of [`JsonBody`].
pub struct OptionalJsonBody(pub Option<serde_json::Value>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_json(req, state, true).await.map(OptionalJsonBody)
    }
}

/// A request that takes no query parameters and no fields: a parameter or a
/// field given anyway is refused (400, naming it) rather than silently
/// ignored, as every other route does. No body, `null` or `{}` is fine.
pub struct NoInput;

impl<S: Send + Sync> FromRequest<S> for NoInput {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json(req, state, true).await? {
            None | Some(serde_json::Value::Null) => Ok(NoInput),
            Some(body) => Ok(only_fields(&body, &[]).map(|_| NoInput)?),
        }
    }
}

/// The body as an object holding none but the `allowed` fields: anything else
/// is refused, naming the first field the request does not take.
pub fn only_fields<'a>(
    body: &'a serde_json::Value,
    allowed: &[&str],
) -> Result<&'a serde_json::Map<String, serde_json::Value>, crate::domain::value::FieldError> {
    use crate::domain::value::FieldError;
    let obj = body
        .as_object()
        .ok_or_else(|| FieldError::new("body", "must be a JSON object"))?;
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(FieldError::new(
            k.as_str(),
            "is not a field of this request",
        )),
        None => Ok(obj),
    }
}

/// The body within the route's cap, parsed as JSON; `None` when empty. The
/// headers of a body that may be left out only matter once there is one. A
/// route that reads a body reads no query string: a parameter is refused,
/// named, rather than ignored.
async fn read_json<S: Send + Sync>(
    req: Request,
    state: &S,
    optional: bool,
) -> Result<Option<serde_json::Value>, ApiError> {
    if let Some((key, _)) = query_once(req.uri().query())?.first() {
        return Err(crate::domain::value::FieldError::new(
            key,
            "is not a parameter of this request",
        )
        .into());
    }
    // A required body's headers are judged before it is read.
    let typed = json_body_headers(req.headers());
    let typed = if optional { typed } else { Ok(typed?) };
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge
        } else {
            ApiError::BadRequest(format!("could not read the body: {e}"))
        }
    })?;
    if bytes.is_empty() {
        return Ok(None);
    }
    typed?;
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))
}

/// The query string's parameters, each given once: a second value would
/// silently replace the first (or, for a list's column, ask for rows holding
/// two values at once), so a repeat is refused, naming the parameter.
pub fn query_once(
    raw: Option<&str>,
) -> Result<Vec<(String, String)>, crate::domain::value::FieldError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(crate::domain::value::FieldError::new(
                key.as_ref(),
                "is given more than once",
            ));
        }
        pairs.push((key.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}
