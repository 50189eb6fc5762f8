//! Bay tablets' devices: list them, revoke one (owner or admin). A revoked
//! device's open sockets close at once and its hello is refused from then on.

use super::extract::{Caller, NoInput};
use super::{ApiError, AppState};
use crate::domain::{Role, TableId};
use crate::store::{WriteOp, WriteRequest};
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value as Json_};

fn owner_or_admin(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Owner | Role::Admin => Ok(()),
        r => Err(ApiError::Forbidden(format!("a {r} may not manage devices"))),
    }
}

/// `GET /api/devices`: the shop's devices (owner, admin).
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    _: NoInput,
) -> Result<Json<Json_>, ApiError> {
    owner_or_admin(&caller)?;
    let devices = st.store.devices(&caller.shop_id).await?;
    Ok(Json(json!({ "data": devices })))
}

/// `DELETE /api/devices/{id}` or `POST /api/devices/{id}/revoke` (owner, admin).
pub async fn revoke(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    _: NoInput,
) -> Result<Json<Json_>, ApiError> {
    owner_or_admin(&caller)?;
    let out = st
        .store
        .write(WriteRequest {
            who: caller.principal(),
            table: TableId::USERS,
            op: WriteOp::RevokeDevice {
                device_id: id.clone(),
            },
            skip_sync: true,
            password_hash: None,
        })
        .await?;
    st.tablets.disconnect_device(&id);
    Ok(Json(json!(out.device)))
}
