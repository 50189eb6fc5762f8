//! The messages of protocol version 1 (documented with examples in the module
//! above): parsing what a tablet sends, building what the hub sends.

use super::visibility::{may_read_column, row_json};
use crate::api::extract::Caller;
use crate::api::ApiError;
use crate::store::feed::FeedEntry;
use serde::Deserialize;
use serde_json::{json, Value as Json};

pub const VERSION: u64 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    #[serde(rename = "type")]
    _type: String,
    pub v: u64,
    pub token: String,
    pub device_id: String,
    #[serde(default)]
    pub since: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    #[serde(rename = "type")]
    _type: String,
    pub op_id: String,
    pub table: String,
    #[serde(default)]
    pub op: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub fields: Option<Json>,
    #[serde(default)]
    pub base: Option<Json>,
}

/// A message a tablet sent, parsed.
#[derive(Debug)]
pub enum Incoming {
    Hello(Hello),
    Write(Write),
    Ping,
}

/// Why a tablet's message could not be read: an `error` message.
#[derive(Debug)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
    pub op_id: Option<String>,
}

impl Refused {
    fn new(code: &'static str, message: impl Into<String>) -> Refused {
        Refused {
            code,
            message: message.into(),
            op_id: None,
        }
    }
}

pub fn parse(text: &str) -> Result<Incoming, Refused> {
    let v: Json = serde_json::from_str(text)
        .map_err(|e| Refused::new("malformed_json", format!("malformed JSON: {e}")))?;
    let kind = v
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| Refused::new("invalid_message", "a message is an object with a `type`"))?
        .to_string();
    let op_id = v.get("op_id").and_then(Json::as_str).map(str::to_string);
    let invalid = |e: serde_json::Error| Refused {
        code: "invalid_message",
        message: format!("{kind}: {e}"),
        op_id: op_id.clone(),
    };
    match kind.as_str() {
        "hello" => Ok(Incoming::Hello(serde_json::from_value(v).map_err(invalid)?)),
        "write" => Ok(Incoming::Write(serde_json::from_value(v).map_err(invalid)?)),
        "ping" => Ok(Incoming::Ping),
        other => Err(Refused::new(
            "unknown_type",
            format!("unknown message type '{other}' (this hub speaks hello, write, ping)"),
        )),
    }
}

pub fn error(r: &Refused) -> Json {
    let mut m = json!({ "type": "error", "code": r.code, "message": r.message });
    if let Some(op) = &r.op_id {
        m["op_id"] = json!(op);
    }
    m
}

pub fn api_error(op_id: Option<&str>, e: &ApiError) -> Json {
    if let ApiError::Internal(cause) = e {
        tracing::error!(error = ?cause, "internal error answering a tablet");
    }
    let mut m = json!({ "type": "error", "code": e.code(), "message": e.to_string() });
    if let Some(f) = e.field() {
        // The HTTP body's `_base` is the socket's `base`.
        m["field"] = json!(if f == "_base" { "base" } else { f });
    }
    if let Some(op) = op_id {
        m["op_id"] = json!(op);
    }
    m
}

pub fn welcome(device_id: &str, actor: &str, seq: i64) -> Json {
    json!({ "type": "welcome", "v": VERSION, "device_id": device_id, "actor": actor, "seq": seq })
}

pub fn resync(reason: &str, seq: i64) -> Json {
    json!({ "type": "resync", "reason": reason, "seq": seq })
}

pub fn caught_up(seq: i64) -> Json {
    json!({ "type": "caught_up", "seq": seq })
}

pub fn ack(op_id: &str, id: &str, seq: i64, heads: &[String], replayed: bool) -> Json {
    json!({ "type": "ack", "op_id": op_id, "id": id, "seq": seq, "heads": heads, "replayed": replayed })
}

/// The messages of a published change for this caller, as text frames: the
/// shared rendering when the caller may read all of it, else their own.
pub fn frames_for(caller: &Caller, p: &super::Published) -> Vec<axum::extract::ws::Utf8Bytes> {
    use super::visibility::{hidden_columns, may_read_row};
    use crate::domain::policy::{access, Access, Verb};
    let e = &p.entry;
    let whole = access(e.table, Verb::Read, caller.role) == Access::All
        && hidden_columns(caller, e.table, &e.record_id).is_empty()
        && e.row.as_ref().is_none_or(|r| may_read_row(caller, r));
    let render = || {
        for_caller(caller, e)
            .into_iter()
            .map(|m| m.to_string().into())
            .collect()
    };
    if whole {
        p.whole.get_or_init(render).clone()
    } else {
        render()
    }
}

/// The messages one committed change makes for this caller: none when they may
/// not read it, else `change` and, if the change altered the record's
/// conflicts, `conflict`.
pub fn for_caller(caller: &Caller, e: &FeedEntry) -> Vec<Json> {
    use crate::domain::policy::{access, Access, Verb};
    let fields = match &e.row {
        Some(rec) => match row_json(caller, rec) {
            Some(j) => j,
            None => return Vec::new(),
        },
        // Deleted since: only a reader of every row of the table hears of it.
        None if access(e.table, Verb::Read, caller.role) == Access::All => Json::Null,
        None => return Vec::new(),
    };
    let readable = |f: &str| may_read_column(caller, e.table, &e.record_id, f);
    let changed: Vec<&String> = e.fields.iter().filter(|f| readable(f)).collect();
    let mut out = Vec::with_capacity(2);
    if !(e.op == "update" && changed.is_empty() && !e.fields.is_empty()) {
        out.push(json!({
            "type": "change",
            "seq": e.seq,
            "table": e.table.name(),
            "id": e.record_id,
            "op": e.op,
            "changed": changed,
            "fields": fields,
            "author": e.author_id,
            "device": e.device_id,
            "at": e.at,
        }));
    }
    if let Some(Json::Array(list)) = &e.conflicts {
        let visible: Vec<&Json> = list
            .iter()
            .filter(|c| c["field"].as_str().is_some_and(readable))
            .collect();
        out.push(json!({
            "type": "conflict",
            "seq": e.seq,
            "table": e.table.name(),
            "id": e.record_id,
            "conflicts": visible,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_message_is_named() {
        let code = |t: &str| parse(t).map(|_| ()).map_err(|r| r.code).err();
        assert_eq!(code("{not json"), Some("malformed_json"));
        assert_eq!(code("[1,2]"), Some("invalid_message"));
        assert_eq!(code(r#"{"type":"dance"}"#), Some("unknown_type"));
        assert_eq!(
            code(r#"{"type":"write","op_id":"a"}"#),
            Some("invalid_message")
        );
        assert_eq!(
            code(r#"{"type":"hello","v":1,"token":"t","device_id":"d","x":1}"#),
            Some("invalid_message")
        );
        assert_eq!(code(r#"{"type":"ping"}"#), None);
        let r = parse(r#"{"type":"write","op_id":"k1","table":7}"#).err();
        assert_eq!(r.and_then(|r| r.op_id).as_deref(), Some("k1"));
    }
}
