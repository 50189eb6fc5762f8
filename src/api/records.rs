//! Records of every table: create, bulk create, get, list (filters by column,
//! cursor paging), patch (with optional `_base`), delete, history, conflicts.
//! The role matrix's table half is asked here, before anything is read; its row
//! half runs in the writer's transaction (`domain::policy::check_row`).

use super::extract::{Caller, JsonBody};
use super::{ApiError, AppState, DEFAULT_LIMIT, MAX_BULK_RECORDS, MAX_LIMIT};
use crate::auth;
use crate::domain::columns;
use crate::domain::policy::{access, Access, Verb};
use crate::domain::value::{check, parse_object, parse_uuid, FieldError, Mode, Value};
use crate::domain::{ColType, TableId};
use crate::store::queries::ListQuery;
use crate::store::{Record, WriteOp, WriteRequest};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value as Json_};

fn table_of(name: &str) -> Result<TableId, ApiError> {
    TableId::by_name(name).ok_or_else(|| ApiError::NotFound(format!("no table named '{name}'")))
}

/// The table half of the matrix: may this role do this verb on this table at all?
fn allowed(table: TableId, verb: Verb, caller: &Caller) -> Result<Access, ApiError> {
    match access(table, verb, caller.role) {
        Access::Denied => Err(ApiError::Forbidden(format!(
            "a {} may not {} {}",
            caller.role,
            verb.as_str(),
            table
        ))),
        a => Ok(a),
    }
}

fn record_id(id: &str) -> Result<String, ApiError> {
    // A malformed id names no record: answered like any other missing one.
    parse_uuid(id)
        .map(|u| u.hyphenated().to_string())
        .ok_or_else(ApiError::not_found)
}

/// Checks `shop_id` if the body gave one: only the caller's own shop exists.
fn check_shop(given: Option<&String>, caller: &Caller) -> Result<(), ApiError> {
    match given {
        Some(s) if *s != caller.shop_id => Err(ApiError::InvalidReference(FieldError::new(
            "shop_id",
            format!("no shops record has the id {s}"),
        ))),
        _ => Ok(()),
    }
}

/// Takes `password` out of a users body (it is not a column) and hashes it.
async fn take_password(
    table: TableId,
    body: &mut Json_,
    required: bool,
) -> Result<Option<String>, ApiError> {
    if table.name() != "users" {
        return Ok(None);
    }
    let given = body.as_object_mut().and_then(|o| o.remove("password"));
    let password = match given {
        None if required => return Err(FieldError::new("password", "is required").into()),
        None => return Ok(None),
        Some(p) => p
            .as_str()
            .ok_or_else(|| FieldError::new("password", "must be a string"))?
            .to_string(),
    };
    auth::check_password_rules(&password).map_err(|m| FieldError::new("password", m))?;
    Ok(Some(auth::hash_password(password).await?))
}

/// Records as `{"data": [...]}` (and `"next_cursor"` for a list), the same JSON
/// as `Record::to_json` in a `json!` map, written without building it.
#[derive(serde::Serialize)]
pub struct Page {
    data: Vec<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<Option<String>>,
}

/// A record as the caller may see it: without the columns the column rules hide
/// from them (`domain::columns`).
fn shown(rec: &Record, caller: &Caller) -> Json_ {
    let mut json = rec.to_json();
    columns::redact(rec.table, caller.role, Some(&caller.user_id), &mut json);
    json
}

/// A page of records as the caller may see them (written straight from the
/// records when no column is hidden from the caller).
fn page(
    caller: &Caller,
    table: TableId,
    data: Vec<Record>,
    next_cursor: Option<Option<String>>,
) -> axum::response::Response {
    if columns::reads_all_columns(table, caller.role) {
        return Json(Page { data, next_cursor }).into_response();
    }
    let mut body = json!({ "data": data.iter().map(|r| shown(r, caller)).collect::<Vec<_>>() });
    if let Some(next) = next_cursor {
        body["next_cursor"] = json!(next);
    }
    Json(body).into_response()
}

fn write(caller: &Caller, table: TableId, op: WriteOp) -> WriteRequest {
    WriteRequest {
        who: caller.principal(),
        table,
        op,
        skip_sync: false,
        password_hash: None,
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
    let password_hash = take_password(table, &mut body, true).await?;
    let (env, fields) = parse_object(table.def(), &body, Mode::Create)?;
    check_shop(env.shop_id.as_ref(), &caller)?;
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
    if table.name() == "users" {
        return Err(ApiError::BadRequest(
            "users are created one at a time (each needs a password)".into(),
        ));
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

/// Reads one record as the caller may see it: another shop's, or another
/// technician's time when the caller sees only their own, is "not found".
async fn visible(
    st: &AppState,
    caller: &Caller,
    table: TableId,
    id: &str,
) -> Result<Record, ApiError> {
    let a = allowed(table, Verb::Read, caller)?;
    let rec = st
        .store
        .get(table, &caller.shop_id, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if a == Access::Own {
        let owner = table.def().owner_column.unwrap_or("technician_id");
        if rec.fields.get(owner) != Some(&Value::Text(caller.user_id.clone())) {
            return Err(ApiError::not_found());
        }
    }
    Ok(rec)
}

pub async fn get_one(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    let rec = visible(&st, &caller, table, &record_id(&id)?).await?;
    Ok(Json(shown(&rec, &caller)))
}

/// Parses a query-string value for a column, as the column's type wants it.
fn filter_value(col: &crate::domain::Column, raw: &str) -> Result<Value, FieldError> {
    let json = match col.ty {
        ColType::Int | ColType::Cents => raw
            .parse::<i64>()
            .map(Json_::from)
            .unwrap_or_else(|_| Json_::String(raw.into())),
        ColType::Bool => match raw {
            "true" => Json_::Bool(true),
            "false" => Json_::Bool(false),
            _ => Json_::String(raw.into()),
        },
        _ => Json_::String(raw.into()),
    };
    check(col, &json)
}

pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<axum::response::Response, ApiError> {
    let table = table_of(&table)?;
    let a = allowed(table, Verb::Read, &caller)?;
    let def = table.def();
    let mut q = ListQuery {
        filters: Vec::new(),
        after: None,
        limit: DEFAULT_LIMIT,
    };
    let pairs = query.unwrap_or_default();
    for (key, raw) in url::form_urlencoded::parse(pairs.as_bytes()) {
        match key.as_ref() {
            "limit" => {
                q.limit = raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        FieldError::new("limit", format!("must be a number from 1 to {MAX_LIMIT}"))
                    })?;
            }
            "cursor" => {
                let id = parse_uuid(&raw).ok_or_else(|| {
                    FieldError::new("cursor", "is not a cursor this hub gave out")
                })?;
                q.after = Some(id.hyphenated().to_string());
            }
            name => {
                let col = def.column(name).ok_or_else(|| {
                    FieldError::new(
                        name,
                        format!("is not a column of {} to filter by", def.name),
                    )
                })?;
                if !columns::may_filter(table, caller.role, col.name) {
                    return Err(ApiError::Forbidden(format!(
                        "{}: a {} may not read this column, so may not filter by it",
                        col.name, caller.role
                    )));
                }
                q.filters.push((col.name, filter_value(col, &raw)?));
            }
        }
    }
    if a == Access::Own {
        let owner = def.owner_column.unwrap_or("technician_id");
        q.filters.push((owner, Value::Text(caller.user_id.clone())));
    }
    let limit = q.limit;
    let rows = st.store.list(table, &caller.shop_id, q).await?;
    let next = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.id.clone()))
        .flatten();
    Ok(page(&caller, table, rows, Some(next)))
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
    let password_hash = take_password(table, &mut body, false).await?;
    // Resetting someone's password is user management: owner and admin only.
    // Refused before anything is written, so no part of the request lands.
    if password_hash.is_some() && access(table, Verb::Update, caller.role) != Access::All {
        return Err(ApiError::Forbidden(
            "password: change your own with POST /api/auth/password".into(),
        ));
    }
    let body_empty = body.as_object().is_some_and(|o| o.is_empty());
    let mut out_rec = None;
    if !(password_hash.is_some() && body_empty) {
        let (env, fields) = parse_object(table.def(), &body, Mode::Update)?;
        check_shop(env.shop_id.as_ref(), &caller)?;
        let out = st
            .store
            .write(write(
                &caller,
                table,
                WriteOp::Update {
                    id: id.clone(),
                    fields,
                    base: env.base,
                },
            ))
            .await?;
        out_rec = out.records.into_iter().next();
    }
    if let Some(hash) = password_hash {
        st.store
            .write(write(
                &caller,
                table,
                WriteOp::SetPassword {
                    user_id: id.clone(),
                    hash,
                },
            ))
            .await?;
    }
    if table.name() == "users" {
        st.accounts.forget(&id);
    }
    let rec = match out_rec {
        Some(r) => r,
        None => visible(&st, &caller, table, &id).await?,
    };
    Ok(Json(shown(&rec, &caller)))
}

pub async fn delete(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Delete, &caller)?;
    let id = record_id(&id)?;
    if table.name() == "users" && id == caller.user_id {
        return Err(ApiError::Forbidden(
            "you cannot delete your own account".into(),
        ));
    }
    let out = st
        .store
        .write(write(&caller, table, WriteOp::Delete { id: id.clone() }))
        .await?;
    if table.name() == "users" {
        st.accounts.forget(&id);
    }
    let heads = out
        .records
        .first()
        .map(|r| r.heads.clone())
        .unwrap_or_default();
    Ok(Json(json!({ "id": id, "deleted": true, "_heads": heads })))
}

pub async fn history(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    let id = record_id(&id)?;
    // Visible now, or deleted: a deleted record's history stays readable by those
    // who may read the table (own-rows callers only see live records they own).
    let a = allowed(table, Verb::Read, &caller)?;
    if a == Access::Own {
        visible(&st, &caller, table, &id).await?;
    }
    let entries = st.store.history(table, &caller.shop_id, &id).await?;
    if entries.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Json(json!({ "data": entries })))
}

pub async fn conflicts(
    State(st): State<AppState>,
    caller: Caller,
) -> Result<Json<Json_>, ApiError> {
    let rows = st.store.conflicts(&caller.shop_id).await?;
    let data: Vec<Json_> = rows
        .into_iter()
        .filter(|c| {
            TableId::by_name(&c.table).is_some_and(|t| {
                access(t, Verb::Read, caller.role) == Access::All
                    && !columns::hidden(t, caller.role, Some(&caller.user_id), &c.record_id)
                        .contains(&c.field.as_str())
            })
        })
        .map(|c| json!(c))
        .collect();
    Ok(Json(json!({ "data": data })))
}

/// `POST /api/conflicts/{table}/{id}/resolve {"field": ..., "value": ...}`: writes
/// the chosen value on the record's current heads, which supersedes every
/// concurrent value of that field. Any value the column accepts may be chosen,
/// not only one of the candidates.
pub async fn resolve_conflict(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Update, &caller)?;
    let id = record_id(&id)?;
    let obj = body
        .as_object()
        .ok_or_else(|| FieldError::new("body", "must be a JSON object"))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "field" | "value"))
    {
        return Err(FieldError::new(k.as_str(), "is not a field of this request").into());
    }
    let field = obj
        .get("field")
        .and_then(Json_::as_str)
        .ok_or_else(|| FieldError::new("field", "must name the conflicting field"))?;
    let value = obj
        .get("value")
        .ok_or_else(|| FieldError::new("value", "is required"))?;
    let open = st.store.conflicts(&caller.shop_id).await?;
    if !open
        .iter()
        .any(|c| c.table == table.name() && c.record_id == id && c.field == field)
    {
        return Err(ApiError::NotFound(format!(
            "no open conflict on {field} of this record"
        )));
    }
    let (_, fields) = parse_object(table.def(), &json!({ field: value }), Mode::Update)?;
    let out = st
        .store
        .write(write(
            &caller,
            table,
            WriteOp::Update {
                id,
                fields,
                base: None,
            },
        ))
        .await?;
    let rec = out.records.first().map(|r| shown(r, &caller));
    Ok(Json(json!(rec)))
}
