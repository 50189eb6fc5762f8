//! Writing records: create, bulk create, patch (fields and/or a password) and
//! delete, with the checks a body gets before the writer (the shop it names, a
//! password taken out, checked and hashed).

use super::{allowed, page, record_id, shown, table_of, visible, write};
use crate::api::extract::{Caller, JsonBody, NoInput};
use crate::api::{ApiError, ApiPath as Path, AppState, MAX_BULK_RECORDS};
use crate::auth;
use crate::domain::policy::{access, check_row, Access, Refusal, Verb};
use crate::domain::value::{parse_object, FieldError, Fields, Mode};
use crate::domain::TableId;
use crate::store::WriteOp;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value as Json_};

/// Checks `shop_id` if the body gave one: only the caller's own shop exists.
pub(crate) fn check_shop(given: Option<&String>, caller: &Caller) -> Result<(), ApiError> {
    match given {
        Some(s) if caller.shop_id != *s => Err(ApiError::InvalidReference(FieldError::new(
            "shop_id",
            format!("no shops record has the id {s}"),
        ))),
        _ => Ok(()),
    }
}

/// A PATCH may repeat the record's own `shop_id` (a client may send back what it
/// read); any other value would move the record, which nobody may do.
pub(crate) fn check_shop_unchanged(
    given: Option<&String>,
    caller: &Caller,
) -> Result<(), ApiError> {
    match given {
        Some(s) if caller.shop_id != *s => {
            Err(FieldError::new("shop_id", "cannot be changed: a record stays in its shop").into())
        }
        _ => Ok(()),
    }
}

/// Takes `password` out of the body of a table that takes one (it is not a
/// column), unread beyond being a string: the caller's right to set it is
/// checked before its rules, and both before it is hashed.
fn take_password(
    table: TableId,
    body: &mut Json_,
    required: bool,
) -> Result<Option<String>, FieldError> {
    if !table.takes_password() {
        return Ok(None);
    }
    match body.as_object_mut().and_then(|o| o.remove("password")) {
        None if required => Err(FieldError::new("password", "is required")),
        None => Ok(None),
        Some(p) => Ok(Some(
            p.as_str()
                .ok_or_else(|| FieldError::new("password", "must be a string"))?
                .to_string(),
        )),
    }
}

/// Checks a password against the rules and hashes it (bounded, see `auth`).
async fn hash_new_password(password: String) -> Result<String, ApiError> {
    auth::check_password_rules(&password).map_err(|m| FieldError::new("password", m))?;
    Ok(auth::hash_password(password).await?)
}

fn refused(r: Refusal) -> ApiError {
    match r {
        Refusal::NotFound => ApiError::not_found(),
        Refusal::Forbidden(m) => ApiError::Forbidden(m),
    }
}

pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    Path(table): Path<String>,
    JsonBody(mut body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Insert, &caller)?;
    let password = take_password(table, &mut body, true)?;
    let (env, fields) = parse_object(table.def(), &body, Mode::Create)?;
    check_shop(env.shop_id.as_ref(), &caller)?;
    let password_hash = match password {
        Some(p) => {
            // The account rules (only an owner makes an owner) before the hash;
            // the writer asks them again in its transaction.
            let new_id = env
                .id
                .map(|u| u.hyphenated().to_string())
                .unwrap_or_default();
            check_row(
                table,
                Verb::Insert,
                &caller.principal(),
                &new_id,
                None,
                &fields,
            )
            .map_err(refused)?;
            Some(hash_new_password(p).await?)
        }
        None => None,
    };
    let mut req = write(&caller, table, WriteOp::Create { id: env.id, fields });
    req.password_hash = password_hash;
    let out = st.store.write(req).await?;
    let rec = out.records.first().map(|r| shown(r, &caller));
    Ok((StatusCode::CREATED, Json(rec)))
}

pub async fn bulk_create(
    State(st): State<AppState>,
    caller: Caller,
    Path(table): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Insert, &caller)?;
    if let Some(why) = table.bulk_create_refusal() {
        return Err(ApiError::BadRequest(why.into()));
    }
    if let Some(k) = body
        .as_object()
        .and_then(|o| o.keys().find(|k| k.as_str() != "records"))
    {
        return Err(FieldError::new(k.as_str(), "is not a field of this request").into());
    }
    let items = body
        .get("records")
        .and_then(Json_::as_array)
        .ok_or_else(|| FieldError::new("records", "must be a list of records"))?;
    if items.is_empty() || items.len() > MAX_BULK_RECORDS {
        return Err(FieldError::new(
            "records",
            format!("must hold 1 to {MAX_BULK_RECORDS} records"),
        )
        .into());
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (env, fields) =
            parse_object(table.def(), item, Mode::Create).map_err(|e| e.at_index(i))?;
        check_shop(env.shop_id.as_ref(), &caller)?;
        parsed.push((env.id, fields));
    }
    let out = st
        .store
        .write(write(&caller, table, WriteOp::BulkCreate(parsed)))
        .await?;
    Ok((StatusCode::CREATED, page(&caller, table, out.records, None)))
}

pub async fn update(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    JsonBody(mut body): JsonBody,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Update, &caller)?;
    let id = record_id(&id)?;
    let password = take_password(table, &mut body, false)?;
    let password_only = password.is_some() && body.as_object().is_some_and(|o| o.is_empty());
    let (fields, base) = if password_only {
        (Fields::new(), None)
    } else {
        match parse_object(table.def(), &body, Mode::Update) {
            Ok((env, fields)) => {
                check_shop_unchanged(env.shop_id.as_ref(), &caller)?;
                (fields, env.base)
            }
            // A password beside only a (valid) `_base`: the password is the
            // change, and a password has no merge base.
            Err(e) if password.is_some() && e.field == "body" => (Fields::new(), None),
            Err(e) => return Err(e.into()),
        }
    };
    let password_hash = match password {
        None => None,
        Some(password) => {
            // Resetting someone's password is user management (owner and admin,
            // and only an owner touches an owner's account): asked before the
            // password is read or hashed, so a refused request costs no hash.
            // The writer asks the row rules again in its transaction.
            if access(table, Verb::Update, caller.role) != Access::All {
                return Err(ApiError::Forbidden(
                    "password: change your own with POST /api/auth/password".into(),
                ));
            }
            let current = visible(&st, &caller, table, &id).await?;
            check_row(
                table,
                Verb::Update,
                &caller.principal(),
                &id,
                Some(&current.fields),
                &fields,
            )
            .map_err(refused)?;
            Some(hash_new_password(password).await?)
        }
    };
    let rec = match password_hash {
        // A password alone: not a record change (never logged or synced).
        Some(hash) if password_only => {
            let op = WriteOp::SetPassword {
                user_id: id.clone(),
                hash,
            };
            st.store.write(write(&caller, table, op)).await?;
            None
        }
        // Fields, with or without a new password: one write, all or nothing.
        password_hash => {
            let op = WriteOp::Update {
                id: id.clone(),
                fields,
                base,
            };
            let mut req = write(&caller, table, op);
            req.password_hash = password_hash;
            st.store.write(req).await?.records.into_iter().next()
        }
    };
    if table.write_changes_an_account() {
        st.accounts.forget(&id);
    }
    let rec = match rec {
        Some(r) => r,
        None => visible(&st, &caller, table, &id).await?,
    };
    Ok(Json(shown(&rec, &caller)))
}

pub async fn delete(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    _: NoInput,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Delete, &caller)?;
    let id = record_id(&id)?;
    if let Some(why) = table.delete_refusal(&id, &caller.user_id) {
        return Err(ApiError::Forbidden(why.into()));
    }
    let out = st
        .store
        .write(write(&caller, table, WriteOp::Delete { id: id.clone() }))
        .await?;
    if table.write_changes_an_account() {
        st.accounts.forget(&id);
    }
    let heads = out
        .records
        .first()
        .map(|r| r.heads.clone())
        .unwrap_or_default();
    Ok(Json(json!({ "id": id, "deleted": true, "_heads": heads })))
}
