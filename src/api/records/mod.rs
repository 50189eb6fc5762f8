//! Records of every table: create, bulk create, get, list (filters by column,
//! cursor paging), patch (with optional `_base`), delete, history, conflicts.
//! The role matrix's table half is asked here, before anything is read; its row
//! half runs in the writer's transaction (`domain::policy::check_row`).
//!
//! This file holds what the handlers share (the table and id from the path, the
//! table half of the matrix, a record or page as the caller may see it, the
//! write request); the handlers are in `writes.rs` (create, bulk create, patch,
//! delete), `reads.rs` (get, list) and `changes.rs` (history, conflicts).

mod changes;
mod reads;
mod writes;
pub use changes::{conflicts, history, resolve_conflict};
pub use reads::{get_one, list};
pub use writes::{bulk_create, create, delete, update};
pub(crate) use writes::{check_shop, check_shop_unchanged};

use super::extract::Caller;
use super::{ApiError, AppState};
use crate::domain::columns;
use crate::domain::policy::{access, Access, Verb};
use crate::domain::value::parse_uuid;
use crate::domain::TableId;
use crate::store::{Record, WriteOp, WriteRequest};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value as Json_};

pub(crate) fn table_of(name: &str) -> Result<TableId, ApiError> {
    TableId::by_name(name).ok_or_else(|| ApiError::NotFound(format!("no table named '{name}'")))
}

/// The table half of the matrix: may this role do this verb on this table at all?
pub(crate) fn allowed(table: TableId, verb: Verb, caller: &Caller) -> Result<Access, ApiError> {
    match access(table, verb, caller.role) {
        Access::Denied => Err(ApiError::Forbidden(crate::domain::policy::not_allowed(
            caller.role,
            verb,
            table.name(),
        ))),
        a => Ok(a),
    }
}

pub(crate) fn record_id(id: &str) -> Result<String, ApiError> {
    // A malformed id names no record: answered like any other missing one.
    parse_uuid(id)
        .map(|u| u.hyphenated().to_string())
        .ok_or_else(ApiError::not_found)
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
