//! `GET /api/{table}/{id}/automerge`: the record's Automerge document in the
//! standard binary format, under the same rules as reading the record. A
//! document carrying a column the caller may not read is refused (403), never
//! trimmed: its history would still hold the values.

use super::extract::{query_once, Caller};
use super::records::{allowed, record_id, table_of};
use super::{ApiError, ApiPath as Path, AppState};
use crate::domain::policy::Verb;
use crate::domain::value::FieldError;
use crate::store::StoreError;
use crate::ws::visibility::{hidden_columns, may_read_row};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::IntoResponse;

pub async fn document(
    State(st): State<AppState>,
    caller: Caller,
    Path((table, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<impl IntoResponse, ApiError> {
    let table = table_of(&table)?;
    allowed(table, Verb::Read, &caller)?;
    if let Some((name, _)) = query_once(query.as_deref())?.first() {
        return Err(FieldError::new(name.as_str(), "is not a parameter of this request").into());
    }
    let id = record_id(&id)?;
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
