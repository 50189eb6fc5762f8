//! `GET /api/{table}/{id}/automerge`: the record's Automerge document in the
//! standard binary format, under the same rules as reading the record. A
//! document carrying a column the caller may not read is refused (403), never
//! trimmed: its history would still hold the values.

use super::extract::Caller;
use super::{ApiError, AppState};
use crate::domain::policy::{access, Access, Verb};
use crate::domain::value::parse_uuid;
use crate::domain::TableId;
use crate::store::StoreError;
use crate::ws::visibility::{hidden_columns, may_read_row};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;

pub async fn document(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let table = TableId::by_name(&table)
        .ok_or_else(|| ApiError::NotFound(format!("no table named '{table}'")))?;
    if access(table, Verb::Read, caller.role) == Access::Denied {
        return Err(ApiError::Forbidden(format!(
            "a {} may not read {}",
            caller.role, table
        )));
    }
    let id = parse_uuid(&id)
        .map(|u| u.hyphenated().to_string())
        .ok_or_else(ApiError::not_found)?;
    let rec = st
        .store
        .get(table, &caller.shop_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !may_read_row(&caller, &rec) {
        return Err(ApiError::not_found());
    }
    let bytes = st
        .store
        .document(table, &caller.shop_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    // Loaded before it is served: a document that does not load (a damaged
    // change in its history) is refused with the reason, never sent for the
    // tablet to choke on. The load also lists the fields it carries.
    let hidden = hidden_columns(&caller, table, &id);
    let loaded = tokio::task::spawn_blocking(move || {
        crate::crdt::fields_in(&bytes).map(|fields| (fields, bytes))
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!(e)))?;
    let (carried, bytes) = loaded.map_err(|e| StoreError::damaged(table, &id, &e))?;
    if let Some(col) = hidden.iter().find(|c| carried.iter().any(|f| f == *c)) {
        return Err(ApiError::Forbidden(format!(
            "this record's document carries {col}, which a {} may not read",
            caller.role
        )));
    }
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes))
}
