//! A record's changes: its history a page at a time, the open conflicts between
//! concurrent changes, and a conflict's resolution.

use super::{allowed, record_id, shown, table_of, visible, write};
use crate::api::extract::{only_fields, Caller, JsonBody};
use crate::api::{ApiError, ApiPath as Path, AppState, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::columns;
use crate::domain::policy::{access, Access, Verb};
use crate::domain::value::{parse_object, FieldError, Mode};
use crate::domain::TableId;
use crate::store::queries::ConflictKey;
use crate::store::WriteOp;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value as Json_};

/// `limit` and `cursor` of a paged read that takes nothing else.
fn paging(query: Option<String>) -> Result<(usize, Option<String>), FieldError> {
    let mut limit = DEFAULT_LIMIT;
    let mut cursor = None;
    for (key, raw) in crate::api::extract::query_once(query.as_deref())? {
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
            "cursor" => cursor = Some(raw),
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
    // The names of columns the caller may not read are not theirs either (when
    // a colleague's hourly rate changed); an update of only such columns is
    // left out, as the tablets' feed leaves it out.
    let hidden = columns::hidden(table, caller.role, Some(&caller.user_id), &id);
    let entries: Vec<_> = entries
        .into_iter()
        .filter_map(|mut e| {
            let had = e.fields.len();
            e.fields.retain(|f| !hidden.contains(&f.as_str()));
            (e.op != "update" || had == 0 || !e.fields.is_empty()).then_some(e)
        })
        .collect();
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
    let obj = only_fields(&body, &["field", "value"])?;
    let field = obj
        .get("field")
        .and_then(Json_::as_str)
        .ok_or_else(|| FieldError::new("field", "must name the conflicting field"))?;
    let value = obj
        .get("value")
        .ok_or_else(|| FieldError::new("value", "is required"))?;
    if !columns::may_settle(table, caller.role, field) {
        return Err(ApiError::Forbidden(format!(
            "{field}: {} may not settle a conflict on this field of {table}",
            caller.role.with_article()
        )));
    }
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
