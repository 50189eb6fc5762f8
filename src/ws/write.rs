//! A tablet's `write` message: checked as the HTTP API checks a request, applied
//! at most once per `op_id`, answered `ack` or `error`.

use super::protocol;
use crate::api::extract::Caller;
use crate::api::records::{check_shop, check_shop_unchanged};
use crate::api::{ApiError, AppState};
use crate::domain::policy::Verb;
use crate::domain::value::{parse_object, parse_uuid, FieldError, Mode};
use crate::domain::TableId;
use crate::store::{DeviceWrite, WriteOp, WriteRequest};
use serde_json::{json, Value as Json};

/// A tablet's write, checked as the HTTP API checks one (the table half of the
/// role matrix, the body against the catalog; the row half in the writer),
/// answered `ack` or `error`.
pub(super) async fn write(
    st: &AppState,
    caller: &Caller,
    device_id: &str,
    w: protocol::Write,
) -> Json {
    let op_id = w.op_id.clone();
    if !crate::store::devices::valid_id(&op_id) {
        let e = ApiError::from(FieldError::new(
            "op_id",
            format!(
                "must be 1 to {} letters, digits or - _ . :",
                crate::store::devices::MAX_ID_CHARS
            ),
        ));
        return protocol::api_error(Some(&op_id), &e);
    }
    match apply_write(st, caller, device_id, w).await {
        Ok(ack) => ack,
        Err(e) => protocol::api_error(Some(&op_id), &e),
    }
}

async fn apply_write(
    st: &AppState,
    caller: &Caller,
    device_id: &str,
    w: protocol::Write,
) -> Result<Json, ApiError> {
    let table = TableId::by_name(&w.table)
        .ok_or_else(|| FieldError::new("table", format!("no table named '{}'", w.table)))?;
    let verb = match w.op.as_deref().unwrap_or("update") {
        "update" => Verb::Update,
        "create" => Verb::Insert,
        "delete" => Verb::Delete,
        other => {
            return Err(FieldError::new(
                "op",
                format!("'{other}' is not one of update, create, delete"),
            )
            .into())
        }
    };
    if table == TableId::USERS && verb != Verb::Update {
        return Err(FieldError::new("table", "accounts are created and deleted over HTTP").into());
    }
    crate::api::records::allowed(table, verb, caller)?;
    let mut body = w.fields.unwrap_or_else(|| json!({}));
    let Some(obj) = body.as_object_mut() else {
        return Err(FieldError::new("fields", "must be a JSON object").into());
    };
    let record_id = |id: &Option<String>| {
        id.as_deref()
            .and_then(parse_uuid)
            .map(|u| u.hyphenated().to_string())
            .ok_or_else(ApiError::not_found)
    };
    let op = match verb {
        Verb::Insert => {
            if w.base.is_some() {
                return Err(FieldError::new("base", "a create has no base").into());
            }
            if let Some(id) = &w.id {
                obj.insert("id".into(), json!(id));
            }
            let (env, fields) = parse_object(table.def(), &body, Mode::Create)?;
            check_shop(env.shop_id.as_ref(), caller)?;
            WriteOp::Create { id: env.id, fields }
        }
        Verb::Update => {
            let id = record_id(&w.id)?;
            if let Some(base) = w.base {
                obj.insert("_base".into(), base);
            }
            let (env, fields) = parse_object(table.def(), &body, Mode::Update)?;
            check_shop_unchanged(env.shop_id.as_ref(), caller)?;
            WriteOp::Update {
                id,
                fields,
                base: env.base,
            }
        }
        Verb::Delete | Verb::Read => {
            if !obj.is_empty() {
                return Err(FieldError::new("fields", "a delete carries no fields").into());
            }
            WriteOp::Delete {
                id: record_id(&w.id)?,
            }
        }
    };
    let out = st
        .store
        .write(WriteRequest {
            who: caller.principal(),
            table,
            op: WriteOp::Device {
                device: DeviceWrite {
                    device_id: device_id.to_string(),
                    op_id: w.op_id.clone(),
                },
                op: Box::new(op),
            },
            skip_sync: false,
            password_hash: None,
        })
        .await?;
    if let Some(prev) = out.replayed {
        return Ok(protocol::ack(
            &w.op_id,
            &prev.record_id,
            prev.seq,
            &prev.heads,
            true,
        ));
    }
    let rec = out
        .records
        .first()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a write answered no record")))?;
    if table == TableId::USERS {
        st.accounts.forget(&rec.id);
    }
    Ok(protocol::ack(&w.op_id, &rec.id, out.seq, &rec.heads, false))
}
