//! Health, login, the caller's own account, and password change.

use super::extract::{Caller, JsonBody};
use super::{ApiError, AppState};
use crate::auth::{self, Claims};
use crate::domain::value::FieldError;
use crate::domain::TableId;
use crate::store::queries::Account;
use crate::store::WriteOp;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn health(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let schema = st.store.schema_version().await?;
    let shops = st.store.shop_ids().await?;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "schema_version": schema,
        "initialized": !shops.is_empty(),
        "durability": st.store.durability(),
    })))
}

fn string_field<'a>(body: &'a Value, name: &str) -> Result<&'a str, FieldError> {
    body.get(name)
        .ok_or_else(|| FieldError::new(name, "is required"))?
        .as_str()
        .ok_or_else(|| FieldError::new(name, "must be a string"))
}

fn only_fields(body: &Value, allowed: &[&str]) -> Result<(), FieldError> {
    let obj = body
        .as_object()
        .ok_or_else(|| FieldError::new("body", "must be a JSON object"))?;
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(FieldError::new(
            k.as_str(),
            "is not a field of this request",
        )),
        None => Ok(()),
    }
}

/// `POST /api/auth/login {email, password, shop_id?}` → `{token, expires_at, user}`.
pub async fn login(
    State(st): State<AppState>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    only_fields(&body, &["email", "password", "shop_id"])?;
    let email = string_field(&body, "email")?;
    let password = string_field(&body, "password")?.to_string();
    let shop = body.get("shop_id").and_then(Value::as_str);
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
        auth::verify_password(password.clone(), None).await;
    }
    let several = accounts.len() > 1;
    let mut found = None;
    for a in accounts {
        if auth::verify_password(password.clone(), a.password_hash.clone()).await && a.active {
            found = Some(a);
            break;
        }
    }
    let Some(account) = found else {
        return Err(ApiError::Unauthorized("wrong e-mail or password".into()));
    };
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
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
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
        },
    )?;
    Ok((token, exp))
}

pub async fn me(State(st): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
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
    if !auth::verify_password(current, account.password_hash.clone()).await {
        return Err(ApiError::Forbidden(
            "current_password: that is not your current password".into(),
        ));
    }
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
