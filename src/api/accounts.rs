//! Health, login, the caller's own account, and password change.

use super::extract::{only_fields, Caller, JsonBody, NoInput};
use super::{ApiError, AppState};
use crate::auth::{self, Claims};
use crate::domain::value::FieldError;
use crate::domain::TableId;
use crate::store::queries::Account;
use crate::store::WriteOp;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// `GET /api/health` (no auth): whether the hub can do its job, for people and
/// monitors. 200 while the database takes writes ("ok", or "degraded" with the
/// problems listed: failed sync items, a failed or overdue backup); 503 when it
/// does not.
pub async fn health(State(st): State<AppState>) -> Result<Response, ApiError> {
    let schema = st.store.schema_version().await?;
    let shops = st.store.shop_ids().await?;
    let writable = st.store.writable(std::time::Duration::from_secs(5)).await;
    let queue = st.sync.queue().counts().await?;
    let lag = crate::domain::value::age_seconds(queue.oldest_open.as_deref());
    let backup = st.backups.last();
    let backup_age = backup
        .as_ref()
        .and_then(|b| b.last_good_at.as_deref())
        .and_then(|at| crate::domain::value::age_seconds(Some(at)));
    let mut problems = Vec::new();
    if let Err(e) = &writable {
        problems.push(format!("the database does not take writes: {e}"));
    }
    if queue.failed > 0 {
        problems.push(format!(
            "{} sync item(s) failed and wait for a person",
            queue.failed
        ));
    }
    if let Some(e) = backup.as_ref().and_then(|b| b.error.as_ref()) {
        problems.push(format!("the last local backup failed: {e}"));
    }
    if let (Some(every), Some(age)) = (st.backups.plan().every, backup_age) {
        if age > 2.0 * every.as_secs_f64() {
            problems.push(format!(
                "the last good local backup is {:.0} hours old",
                age / 3600.0
            ));
        }
    }
    // The cloud, when sync is on: reachable unless its last attempt failed
    // after its last success.
    let cloud = match st.sync.status().await {
        Ok(s) => {
            let enabled = s["syncEnabled"].as_bool().unwrap_or(false);
            let (last_sync, last_error_at) = (s["lastSync"].as_str(), s["lastErrorAt"].as_str());
            let reachable = enabled.then(|| match (last_sync, last_error_at) {
                (_, None) => true,
                (Some(ok), Some(err)) => ok >= err,
                (None, Some(_)) => false,
            });
            if reachable == Some(false) {
                problems.push(format!(
                    "the cloud did not take the last sync: {}",
                    s["lastError"].as_str().unwrap_or("no answer")
                ));
            }
            json!({
                "mode": s["mode"],
                "enabled": enabled,
                "reachable": reachable,
                "last_sync": s["lastSync"],
                "last_error": s["lastError"],
            })
        }
        Err(_) => Value::Null,
    };
    let (status, code) = match (&writable, problems.is_empty()) {
        (Err(_), _) => ("failing", axum::http::StatusCode::SERVICE_UNAVAILABLE),
        (Ok(()), true) => ("ok", axum::http::StatusCode::OK),
        (Ok(()), false) => ("degraded", axum::http::StatusCode::OK),
    };
    let body = json!({
        "status": status,
        "problems": problems,
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": schema,
        "initialized": !shops.is_empty(),
        "database": { "writable": writable.is_ok() },
        "durability": st.store.durability(),
        "sync_queue": {
            "waiting": queue.waiting(),
            "failed": queue.failed,
            "oldest_waiting_since": queue.oldest_open,
            "lag_seconds": lag,
        },
        "cloud": cloud,
        "tablets": *st.tablets.connections().borrow(),
        "backup": {
            "automatic": st.backups.plan().every.is_some(),
            "every_hours": st.backups.plan().every.map(|d| d.as_secs() / 3600),
            "last": backup,
            "age_seconds": backup_age,
        },
    });
    Ok((code, Json(body)).into_response())
}

fn string_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, FieldError> {
    body.get(name)
        .ok_or_else(|| FieldError::new(name, "is required"))?
        .as_str()
        .ok_or_else(|| FieldError::new(name, "must be a string"))
}

/// The peer address a request came from, as the limiter keys it.
pub(super) type Peer = Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

/// The limiter's key for an address (`kind` names what is limited there).
pub(super) fn address_key(kind: &str, peer: Peer) -> String {
    format!(
        "{kind}:{}",
        peer.map(|p| p.0 .0.ip().to_string()).unwrap_or_default()
    )
}

/// The limiter's key for an account: the login's and the password change's.
fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

/// 429 while any of `keys` must wait: counted, and logged as `what` by `who`
/// (an attempt refused here costs no password or code check).
pub(super) fn rate_limited(
    st: &AppState,
    keys: &[&str],
    now: std::time::Instant,
    what: &str,
    who: &str,
) -> Result<(), ApiError> {
    st.logins.check(keys, now).map_err(|wait| {
        st.metrics.logins_limited.inc();
        tracing::warn!(who = %who, "{what} refused by the rate limiter");
        ApiError::RateLimited(wait.as_secs().max(1))
    })
}

/// `POST /api/auth/login {email, password, shop_id?}` → `{token, expires_at, user}`.
pub async fn login(
    State(st): State<AppState>,
    peer: Peer,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    use crate::auth::limiter::{ACCOUNT, ADDRESS};
    only_fields(&body, &["email", "password", "shop_id"])?;
    let email = string_field(&body, "email")?;
    let password = string_field(&body, "password")?.to_string();
    let shop = match body.get("shop_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_str()
                .ok_or_else(|| FieldError::new("shop_id", "must be a shop id (a string)"))?,
        ),
    };
    // Limited per account and per address before any password is checked.
    let account_key = account_key(email);
    let address_key = address_key("address", peer);
    let now = std::time::Instant::now();
    rate_limited(
        &st,
        &[&account_key, &address_key],
        now,
        "login",
        &address_key,
    )?;
    let refused = || {
        st.logins
            .failed(&[(&account_key, ACCOUNT), (&address_key, ADDRESS)], now);
        ApiError::Unauthorized("wrong e-mail or password".into())
    };
    let mut accounts = st.store.accounts_by_email(email).await?;
    if let Some(shop) = shop {
        accounts.retain(|a| a.shop_id == shop);
    }
    // The password is checked first, against the accounts the e-mail names (a
    // real check even when it names none): an unknown e-mail, a wrong password
    // and a wrong password for an e-mail of several shops all answer the same.
    // Only a caller who knows a password of one of them learns that the shop
    // must be named.
    if accounts.is_empty() {
        st.metrics.password_checks.inc();
        auth::verify_password(password.clone(), None).await;
    }
    let several = accounts.len() > 1;
    let mut found = None;
    for a in accounts {
        st.metrics.password_checks.inc();
        if auth::verify_password(password.clone(), a.password_hash.clone()).await && a.active {
            found = Some(a);
            break;
        }
    }
    let Some(account) = found else {
        return Err(refused());
    };
    st.logins.succeeded(&account_key);
    if several {
        return Err(FieldError::new(
            "shop_id",
            "this e-mail has an account in more than one shop; name the shop",
        )
        .into());
    }
    let (token, exp) = session(&st, &account, account.password_hash.as_deref())?;
    let user = st
        .store
        .get(TableId::USERS, &account.shop_id, &account.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tracing::info!(user = %account.id, "login");
    Ok(Json(json!({
        "token": token,
        "expires_at": exp,
        "user": shown_user(&user, account.role.parse().ok(), &account.id),
    })))
}

/// A new token for `account`, whose password hash is now `hash`.
fn session(
    st: &AppState,
    account: &Account,
    hash: Option<&str>,
) -> Result<(String, i64), ApiError> {
    let at = time::OffsetDateTime::now_utc();
    let now = at.unix_timestamp();
    let exp = now + st.token_ttl.as_secs() as i64;
    let token = auth::issue(
        &st.secret,
        &Claims {
            sub: account.id.clone(),
            shop_id: account.shop_id.to_string(),
            user_role: account.role.clone(),
            role: "authenticated".into(),
            iat: now,
            exp,
            stamp: auth::credential_stamp(hash),
            iat_ms: Some((at.unix_timestamp_nanos() / 1_000_000) as i64),
        },
    )?;
    Ok((token, exp))
}

/// `POST /api/auth/logout`: ends the session whose token the request bears
/// (that token is refused from now on; the person's other sessions go on).
pub async fn logout(
    State(st): State<AppState>,
    caller: Caller,
    _: NoInput,
) -> Result<Json<Value>, ApiError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    st.store
        .end_session(&caller.user_id, caller.issued_ms, caller.expires_at, now)
        .await?;
    st.accounts.forget(&caller.user_id);
    Ok(Json(json!({ "loggedOut": true })))
}

pub async fn me(
    State(st): State<AppState>,
    caller: Caller,
    _: NoInput,
) -> Result<Json<Value>, ApiError> {
    let user = st
        .store
        .get(TableId::USERS, &caller.shop_id, &caller.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(shown_user(&user, Some(caller.role), &caller.user_id)))
}

/// The caller's own user record, as the column rules let them see it (a role
/// the hub does not know reads as little as the least of its roles).
fn shown_user(user: &crate::store::Record, role: Option<crate::domain::Role>, me: &str) -> Value {
    let mut json = user.to_json();
    let role = role.unwrap_or(crate::domain::Role::Technician);
    crate::domain::columns::redact(user.table, role, Some(me), &mut json);
    json
}

/// `POST /api/auth/password {current_password, new_password}`. Every session of
/// the account ends with it, this one too: the answer carries a new token.
pub async fn change_password(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    only_fields(&body, &["current_password", "new_password"])?;
    let current = string_field(&body, "current_password")?.to_string();
    let new = string_field(&body, "new_password")?.to_string();
    auth::check_password_rules(&new).map_err(|m| FieldError::new("new_password", m))?;
    let account = st
        .store
        .account(&caller.user_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // Guesses here count with the login's against the account: a session
    // (a tablet left logged in) is no way around the login's limit.
    let account_key = account_key(&account.email);
    let now = std::time::Instant::now();
    rate_limited(
        &st,
        &[&account_key],
        now,
        "password change",
        &caller.user_id,
    )?;
    if !auth::verify_password(current, account.password_hash.clone()).await {
        st.logins
            .failed(&[(&account_key, crate::auth::limiter::ACCOUNT)], now);
        return Err(ApiError::Forbidden(
            "current_password: that is not your current password".into(),
        ));
    }
    st.logins.succeeded(&account_key);
    let hash = auth::hash_password(new).await?;
    st.store
        .write(crate::store::WriteRequest {
            who: caller.principal(),
            table: TableId::USERS,
            op: WriteOp::SetPassword {
                user_id: caller.user_id.clone(),
                hash: hash.clone(),
            },
            skip_sync: true,
            password_hash: None,
        })
        .await?;
    st.accounts.forget(&caller.user_id);
    let (token, exp) = session(&st, &account, Some(&hash))?;
    Ok(Json(
        json!({ "changed": true, "token": token, "expires_at": exp }),
    ))
}
