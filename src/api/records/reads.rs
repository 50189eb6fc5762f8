//! Reading records: one by id, and a list (filters by column, `q` search,
//! order, cursor paging), each as the caller may see it.

use super::{allowed, page, record_id, shown, table_of, visible};
use crate::api::extract::{Caller, NoInput};
use crate::api::{ApiError, ApiPath as Path, AppState, DEFAULT_LIMIT, MAX_LIMIT};
use crate::domain::columns;
use crate::domain::policy::{Access, Verb};
use crate::domain::value::{check, parse_uuid, FieldError, Value};
use crate::domain::{ColType, TableId};
use crate::store::queries::ListQuery;
use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::Value as Json_;

pub async fn get_one(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    _: NoInput,
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
    for (key, raw) in crate::api::extract::query_once(query.as_deref())? {
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
                if col.ty == ColType::Json {
                    return Err(FieldError::new(
                        col.name,
                        "holds a JSON object, which a list cannot filter by",
                    )
                    .into());
                }
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
