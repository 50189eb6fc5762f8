//! Records of every table: create, bulk create, get, list (filters by column,
//! cursor paging), patch (with optional `_base`), delete, history, conflicts.
//! The role matrix's table half is asked here, before anything is read; its row
//! half runs in the writer's transaction (`domain::policy::check_row`).

use super::extract::{Caller, JsonBody};
use super::{ApiError, ApiPath as Path, AppState, DEFAULT_LIMIT, MAX_BULK_RECORDS, MAX_LIMIT};
use crate::auth;
use crate::domain::columns;
use crate::domain::policy::{access, check_row, Access, Refusal, Verb};
use crate::domain::value::{check, parse_object, parse_uuid, FieldError, Fields, Mode, Value};
use crate::domain::{ColType, TableId};
use crate::store::queries::{ConflictKey, ListQuery};
use crate::store::{Record, WriteOp, WriteRequest};
use axum::extract::{RawQuery, State};
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
        Some(s) if caller.shop_id != *s => Err(ApiError::InvalidReference(FieldError::new(
            "shop_id",
            format!("no shops record has the id {s}"),
        ))),
        _ => Ok(()),
    }
}

/// A PATCH may repeat the record's own `shop_id` (a client may send back what it
/// read); any other value would move the record, which nobody may do.
fn check_shop_unchanged(given: Option<&String>, caller: &Caller) -> Result<(), ApiError> {
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
    if a == Access::Own && !table.def().owned_by(&rec.fields, &caller.user_id) {
        return Err(ApiError::not_found());
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

/// The longest `q` a list takes.
const MAX_SEARCH_CHARS: usize = 100;

/// The columns `?q=` looks in: the table's text columns (names, numbers,
/// e-mails, VINs, notes) that the caller may filter by, so a search never tells
/// what a column the caller may not read holds.
fn searchable(table: TableId, caller: &Caller) -> Vec<&'static str> {
    table
        .def()
        .columns
        .iter()
        .filter(|c| matches!(c.ty, ColType::Text | ColType::Email | ColType::Vin))
        .filter(|c| columns::may_filter(table, caller.role, c.name))
        .map(|c| c.name)
        .collect()
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
        search: None,
        after: None,
        newest_first: false,
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
            "q" => {
                let text = raw.trim();
                let n = text.chars().count();
                if n == 0 || n > MAX_SEARCH_CHARS {
                    return Err(FieldError::new(
                        "q",
                        format!("must be 1 to {MAX_SEARCH_CHARS} characters of text to look for"),
                    )
                    .into());
                }
                q.search = Some((searchable(table, &caller), text.to_string()));
            }
            "order" => {
                q.newest_first = match raw.as_ref() {
                    "newest" => true,
                    "oldest" => false,
                    _ => {
                        return Err(FieldError::new(
                            "order",
                            "must be newest or oldest (the default)",
                        )
                        .into())
                    }
                };
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
        let owner = def.owner();
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
    let password = take_password(table, &mut body, false)?;
    let password_only = password.is_some() && body.as_object().is_some_and(|o| o.is_empty());
    let (fields, base) = if password_only {
        (Fields::new(), None)
    } else {
        let (env, fields) = parse_object(table.def(), &body, Mode::Update)?;
        check_shop_unchanged(env.shop_id.as_ref(), &caller)?;
        (fields, env.base)
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

/// `limit` and `cursor` of a paged read that takes nothing else.
fn paging(query: Option<String>) -> Result<(usize, Option<String>), FieldError> {
    let mut limit = DEFAULT_LIMIT;
    let mut cursor = None;
    let pairs = query.unwrap_or_default();
    for (key, raw) in url::form_urlencoded::parse(pairs.as_bytes()) {
        match key.as_ref() {
            "limit" => {
                limit = raw
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        FieldError::new("limit", format!("must be a number from 1 to {MAX_LIMIT}"))
                    })?;
            }
            "cursor" => cursor = Some(raw.into_owned()),
            other => {
                return Err(FieldError::new(
                    other,
                    "is not a parameter of this request (limit, cursor)",
                ))
            }
        }
    }
    Ok((limit, cursor))
}

fn bad_cursor() -> FieldError {
    FieldError::new("cursor", "is not a cursor this hub gave out")
}

/// `GET /api/{table}/{id}/history?limit=&cursor=`: the record's changes, oldest
/// first, a page at a time (`next_cursor` is null on the last page).
pub async fn history(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    let table = table_of(&table)?;
    let id = record_id(&id)?;
    let (limit, cursor) = paging(query)?;
    let after = cursor
        .map(|c| c.parse::<u64>().ok().and_then(|n| i64::try_from(n).ok()))
        .map(|c| c.ok_or_else(bad_cursor))
        .transpose()?;
    // Visible now, or deleted: a deleted record's history stays readable by those
    // who may read the table (own-rows callers only see live records they own).
    let a = allowed(table, Verb::Read, &caller)?;
    if a == Access::Own {
        visible(&st, &caller, table, &id).await?;
    }
    let entries = st
        .store
        .history(table, &caller.shop_id, &id, after, limit)
        .await?;
    // No change at all: no such record (past the last page is an empty page).
    if entries.is_empty() && after.is_none() {
        return Err(ApiError::not_found());
    }
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq.to_string()))
        .flatten();
    Ok(Json(json!({ "data": entries, "next_cursor": next })))
}

/// `GET /api/conflicts?limit=&cursor=`: the open conflicts on the tables the
/// caller reads in full, oldest first, a page at a time.
pub async fn conflicts(
    State(st): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Json_>, ApiError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (limit, cursor) = paging(query)?;
    let after = cursor
        .map(|c| {
            b64.decode(c.as_bytes())
                .ok()
                .and_then(|b| serde_json::from_slice::<ConflictKey>(&b).ok())
                .ok_or_else(bad_cursor)
        })
        .transpose()?;
    // Only tables the caller reads in full (a conflict names a row and a field).
    let tables: Vec<&'static str> = TableId::all()
        .filter(|t| access(*t, Verb::Read, caller.role) == Access::All)
        .map(TableId::name)
        .collect();
    let rows = st
        .store
        .conflicts(&caller.shop_id, tables, after, limit)
        .await?;
    let next = match rows.last() {
        Some(last) if rows.len() == limit => {
            Some(b64.encode(serde_json::to_vec(&last.key()).map_err(anyhow::Error::from)?))
        }
        _ => None,
    };
    // Nor a conflict on a column the caller may not read (a user's hourly rate).
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|c| {
            TableId::by_name(&c.table).is_none_or(|t| {
                !columns::hidden(t, caller.role, Some(&caller.user_id), &c.record_id)
                    .contains(&c.field.as_str())
            })
        })
        .collect();
    Ok(Json(json!({ "data": rows, "next_cursor": next })))
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
    // Looked up by its record, not in a page of the list.
    if st
        .store
        .conflict(&caller.shop_id, table, &id, field)
        .await?
        .is_none()
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
                id: id.clone(),
                fields,
                base: None,
            },
        ))
        .await?;
    if table.write_changes_an_account() {
        st.accounts.forget(&id);
    }
    let rec = out.records.first().map(|r| shown(r, &caller));
    Ok(Json(json!(rec)))
}
