//! The 13 sync endpoints (`/api/sync/...`). Owners and admins configure, enable,
//! disable, clear, test and push; managers may also view status, queue,
//! history, stats and the cost estimate; other roles get 403. Secrets are never
//! in a response: credentials come back only as "set (…abcd)".

use super::extract::{Caller, JsonBody, NoInput, OptionalJsonBody};
use super::{ApiError, AppState};
use crate::domain::value::{format_timestamp, FieldError};
use crate::domain::{Role, TableId};
use crate::store::queue::Clearable;
use crate::sync::control::ControlError;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;

const MANAGE: &[Role] = &[Role::Owner, Role::Admin];
const VIEW: &[Role] = &[Role::Owner, Role::Admin, Role::Manager];

/// The caller's role is one of `roles`, of the shop this hub syncs: the
/// queue, history and settings are that shop's, so the staff of another shop
/// the hub holds see none of them.
async fn require(
    st: &AppState,
    caller: &Caller,
    roles: &[Role],
    what: &str,
) -> Result<(), ApiError> {
    if !roles.contains(&caller.role) {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::Forbidden(format!(
            "only {} may {what}",
            names.join(", ")
        )));
    }
    if !st.sync.serves(&caller.shop_id).await? {
        return Err(ApiError::Forbidden(format!(
            "this hub syncs another shop's data; only that shop's staff may {what}"
        )));
    }
    Ok(())
}

fn control(e: ControlError) -> Response {
    match e {
        ControlError::Invalid(c) => {
            ApiError::InvalidField(FieldError::new(c.field, c.message)).into_response()
        }
        ControlError::CheckFailed { message, check } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": {
                "code": "connection_test_failed",
                "message": message,
                "check": check,
            }})),
        )
            .into_response(),
        ControlError::Store(e) => ApiError::from(e).into_response(),
        ControlError::Internal(e) => ApiError::Internal(e).into_response(),
    }
}

type Answer = Result<Json<Value>, Response>;

fn api(e: ApiError) -> Response {
    e.into_response()
}

/// The query's parameters by name, each given once.
fn query_map(query: Option<String>) -> Result<HashMap<String, String>, ApiError> {
    crate::api::extract::query_once(query.as_deref())
        .map(|pairs| pairs.into_iter().collect())
        .map_err(ApiError::InvalidField)
}

/// Query parameters: only `allowed`, each a number or a known word.
fn params(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), ApiError> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::InvalidField(FieldError::new(
            k.as_str(),
            format!("is not a parameter here; known: {}", allowed.join(", ")),
        ))),
        None => Ok(()),
    }
}

fn number(
    q: &HashMap<String, String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(|| {
                ApiError::InvalidField(FieldError::new(
                    name,
                    format!("must be a whole number from 0 to {max}"),
                ))
            }),
    }
}

fn ids_of(v: &Value, field: &str) -> Result<Vec<i64>, ApiError> {
    let arr = v.as_array().ok_or_else(|| {
        ApiError::InvalidField(FieldError::new(field, "must be a list of queue item ids"))
    })?;
    arr.iter()
        .map(|x| {
            x.as_i64().ok_or_else(|| {
                ApiError::InvalidField(FieldError::new(field, "must be a list of whole numbers"))
            })
        })
        .collect()
}

fn only(body: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::InvalidField(FieldError::new("body", "must be a JSON object")))?;
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::InvalidField(FieldError::new(
            k.as_str(),
            format!(
                "is not a field of this request; known: {}",
                allowed.join(", ")
            ),
        ))),
        None => Ok(()),
    }
}

/// `GET /api/sync/status`
pub async fn status(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, VIEW, "view sync status")
        .await
        .map_err(api)?;
    st.sync.status().await.map(Json).map_err(control)
}

/// `GET /api/sync/config`
pub async fn get_config(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, MANAGE, "view the sync configuration")
        .await
        .map_err(api)?;
    Ok(Json(st.sync.config_view()))
}

/// `PUT /api/sync/config`
pub async fn put_config(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Answer {
    require(&st, &caller, MANAGE, "change the sync configuration")
        .await
        .map_err(api)?;
    st.sync
        .update_config(&caller.principal(), &body)
        .await
        .map(Json)
        .map_err(control)
}

/// `GET /api/sync/queue?status=&limit=&offset=`
pub async fn queue(
    State(st): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Answer {
    require(&st, &caller, VIEW, "view the sync queue")
        .await
        .map_err(api)?;
    let q = query_map(query).map_err(api)?;
    params(&q, &["status", "limit", "offset"]).map_err(api)?;
    let status = match q.get("status").map(|s| s.to_ascii_uppercase()) {
        None => None,
        Some(s)
            if ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "RETRY"].contains(&s.as_str()) =>
        {
            Some(s)
        }
        Some(_) => {
            return Err(api(ApiError::InvalidField(FieldError::new(
                "status",
                "must be one of pending, processing, completed, failed, retry",
            ))))
        }
    };
    let limit = number(&q, "limit", 100, 1000).map_err(api)?;
    let offset = number(&q, "offset", 0, usize::MAX / 2).map_err(api)?;
    let items = st
        .sync
        .queue()
        .items(status, limit, offset)
        .await
        .map_err(|e| api(e.into()))?;
    let counts = st.sync.queue().counts().await.map_err(|e| api(e.into()))?;
    Ok(Json(json!({ "items": items, "counts": counts })))
}

/// `GET /api/sync/history?limit=`: completed items, newest first.
pub async fn history(
    State(st): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Answer {
    require(&st, &caller, VIEW, "view the sync history")
        .await
        .map_err(api)?;
    let q = query_map(query).map_err(api)?;
    params(&q, &["limit", "offset"]).map_err(api)?;
    let limit = number(&q, "limit", 100, 1000).map_err(api)?;
    let offset = number(&q, "offset", 0, usize::MAX / 2).map_err(api)?;
    let items = st
        .sync
        .queue()
        .items(Some("COMPLETED".into()), limit, offset)
        .await
        .map_err(|e| api(e.into()))?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /api/sync/stats`
pub async fn stats(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, VIEW, "view sync statistics")
        .await
        .map_err(api)?;
    let status = st.sync.status().await.map_err(control)?;
    let counts = st.sync.queue().counts().await.map_err(|e| api(e.into()))?;
    Ok(Json(json!({
        "counts": counts,
        "totalProcessed": status["queue"]["totalProcessed"],
        "totalFailed": status["queue"]["totalFailed"],
        "lastSync": status["lastSync"],
        "lag": status["lag"],
        "initialUpload": status["initialUpload"],
    })))
}

/// `GET /api/sync/cost-estimate`
pub async fn cost(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, VIEW, "view the cost estimate")
        .await
        .map_err(api)?;
    Ok(Json(st.sync.cost()))
}

/// `POST /api/sync/trigger` (body optional): `{"retryFailed": true | [ids]}`
/// makes FAILED items due again first; then pushes what is due now.
pub async fn trigger(
    State(st): State<AppState>,
    caller: Caller,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Answer {
    require(&st, &caller, MANAGE, "start a sync")
        .await
        .map_err(api)?;
    let mut retried = 0;
    if let Some(v) = body {
        only(&v, &["retryFailed"]).map_err(api)?;
        let retry = !matches!(v.get("retryFailed"), None | Some(Value::Bool(false)));
        if retry && !st.sync.is_enabled() {
            return Err(api(ApiError::Conflict(
                "sync is off, so nothing would be sent: turn sync on, then retry the failed items"
                    .into(),
            )));
        }
        let now = format_timestamp(st.sync.clock().now());
        retried = match v.get("retryFailed") {
            None | Some(Value::Bool(false)) => Ok(0),
            Some(Value::Bool(true)) => st.sync.queue().retry_failed(None, now).await,
            Some(ids) => {
                let ids = ids_of(ids, "retryFailed").map_err(api)?;
                st.sync.queue().retry_failed(Some(ids), now).await
            }
        }
        .map_err(|e| api(e.into()))?;
    }
    let outcome = st
        .sync
        .drain(20)
        .await
        .map_err(|e| api(ApiError::Internal(e)))?;
    st.sync.wake();
    Ok(Json(
        json!({ "retriedFailed": retried, "outcome": outcome }),
    ))
}

/// `POST /api/sync/queue/clear {"status": "completed"|"failed", "ids"?: [..], "confirm": true}`
pub async fn clear(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> Answer {
    require(&st, &caller, MANAGE, "clear the sync queue")
        .await
        .map_err(api)?;
    only(&body, &["status", "ids", "confirm"]).map_err(api)?;
    let status = body
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let which =
        match status.as_deref() {
            Some("completed") => Clearable::Completed,
            Some("failed") => Clearable::Failed,
            _ => return Err(api(ApiError::InvalidField(FieldError::new(
                "status",
                "must be \"completed\" or \"failed\": pending and retrying items are never cleared",
            )))),
        };
    if body.get("confirm") != Some(&Value::Bool(true)) {
        return Err(api(ApiError::InvalidField(FieldError::new(
            "confirm",
            "must be true: clearing removes these items from the queue for good",
        ))));
    }
    let ids = match body.get("ids") {
        None => None,
        Some(v) => Some(ids_of(v, "ids").map_err(api)?),
    };
    let n = st
        .sync
        .queue()
        .clear(which, ids)
        .await
        .map_err(|e| api(e.into()))?;
    Ok(Json(json!({ "cleared": n })))
}

/// `POST /api/sync/test-connection`
pub async fn test_connection(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, MANAGE, "test the cloud connection")
        .await
        .map_err(api)?;
    let check = st.sync.test_connection().await.map_err(control)?;
    Ok(Json(json!(check)))
}

/// `POST /api/sync/force-sync-record {"table": "...", "id": "..."}`
pub async fn force_sync_record(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Answer {
    require(&st, &caller, MANAGE, "push a record")
        .await
        .map_err(api)?;
    only(&body, &["table", "id"]).map_err(api)?;
    let table = body
        .get("table")
        .and_then(Value::as_str)
        .and_then(TableId::by_name)
        .ok_or_else(|| {
            api(ApiError::InvalidField(FieldError::new(
                "table",
                "must name a table",
            )))
        })?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .and_then(crate::domain::value::parse_uuid)
        .ok_or_else(|| {
            api(ApiError::InvalidField(FieldError::new(
                "id",
                "must be a record id (UUID)",
            )))
        })?;
    let out = st
        .sync
        .push_record(caller.shop_id.as_str(), table, id.hyphenated().to_string())
        .await
        .map_err(|e| api(ApiError::Internal(e)))?
        .ok_or_else(|| api(ApiError::not_found()))?;
    if out.disabled {
        return Err(api(ApiError::Conflict(
            "cloud sync is off (local-only): nothing leaves the hub; turn sync on first".into(),
        )));
    }
    Ok(Json(json!({ "outcome": out })))
}

/// `POST /api/sync/enable`
pub async fn enable(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, MANAGE, "turn cloud sync on")
        .await
        .map_err(api)?;
    st.sync
        .enable(&caller.principal())
        .await
        .map(Json)
        .map_err(control)
}

/// `POST /api/sync/disable`
pub async fn disable(State(st): State<AppState>, caller: Caller, _: NoInput) -> Answer {
    require(&st, &caller, MANAGE, "turn cloud sync off")
        .await
        .map_err(api)?;
    st.sync
        .disable(&caller.principal())
        .await
        .map(Json)
        .map_err(control)
}
