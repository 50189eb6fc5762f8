//! The one trait every transport implements ([`CloudSink`]), what it is handed
//! (rows per table, change bytes, the hub's claims), and how failures are
//! classified.

use crate::domain::TableId;
use crate::store::queue::{ChangeEntry, DueRecord, RowState};
use crate::store::Record;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The claims every cloud write carries, exactly as PostgREST would set them
/// from the hub's JWT: the cloud's RLS reads nothing else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Claims {
    pub role: &'static str,
    pub aud: &'static str,
    pub shop_id: String,
    pub user_role: &'static str,
    /// The hub's own id.
    pub sub: String,
}

impl Claims {
    pub fn hub(shop_id: &str, hub_id: &str) -> Claims {
        Claims {
            role: "authenticated",
            aud: "authenticated",
            shop_id: shop_id.to_string(),
            user_role: "hub",
            sub: hub_id.to_string(),
        }
    }
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The rows of one push: upserts and deletes, per table in catalog order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowBatch<'a> {
    /// Each record to upsert as the hub has it now (`id`, `shop_id`, the
    /// timestamps and every column; each transport encodes it its own way).
    pub upserts: Vec<(TableId, Vec<&'a Record>)>,
    pub deletes: Vec<(TableId, Vec<String>)>,
}

/// A record as its cloud row in JSON: `id`, `shop_id`, the timestamps and
/// every column (not the hub's `_heads`).
pub fn row_json(rec: &Record) -> Value {
    let mut v = rec.to_json();
    if let Some(m) = v.as_object_mut() {
        m.remove("_heads");
    }
    v
}

impl<'a> RowBatch<'a> {
    pub fn of(records: &[&'a DueRecord]) -> RowBatch<'a> {
        let mut b = RowBatch::default();
        for t in TableId::all() {
            let ups: Vec<&Record> = records
                .iter()
                .filter(|r| r.table == t)
                .filter_map(|r| match &r.state {
                    RowState::Upsert(rec) => Some(rec),
                    RowState::Delete => None,
                })
                .collect();
            if !ups.is_empty() {
                b.upserts.push((t, ups));
            }
            let dels: Vec<String> = records
                .iter()
                .filter(|r| r.table == t && r.state == RowState::Delete)
                .map(|r| r.record_id.clone())
                .collect();
            if !dels.is_empty() {
                b.deletes.push((t, dels));
            }
        }
        b.deletes.reverse();
        b
    }
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.deletes.is_empty()
    }
}

/// How a failed push should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// The cloud was not reached (or did not answer): hold, spend no attempt.
    Unreachable,
    /// The cloud answered but refused the hub itself (its login, token or
    /// database), which no record causes: held like an outage, no attempt
    /// spent, until the owner fixes the credentials.
    Refused,
    /// The cloud answered but may accept the same push later (deadlock,
    /// serialization failure, lock or statement timeout, a parent row not
    /// there yet): retry with backoff.
    Transient,
    /// The cloud refused the data (constraint, permission or RLS, schema): FAILED.
    Permanent,
}

impl FailureKind {
    /// Whether the whole queue holds (no record is at fault).
    pub fn holds(self) -> bool {
        matches!(self, FailureKind::Unreachable | FailureKind::Refused)
    }

    /// What a Postgres SQLSTATE means for a push, for both transports (the
    /// wire's error, or the `code` of PostgREST's answer).
    ///
    /// A foreign-key violation (23503) is "try later": a record's row is
    /// pushed as it is now, so it can name a parent whose own change is
    /// still behind it in the change log (a repair order linked to a claim
    /// made after it, both written while the cloud was away). The parent
    /// arrives in a later batch and the retry then succeeds. A parent that
    /// never arrives still ends FAILED, after the configured attempts.
    ///
    /// A refusal of the hub itself (class 28: a wrong password or a role that
    /// may not log in; 3D000: no such database) says nothing about any record:
    /// every push would fail alike, so it holds the queue like an outage (no
    /// attempt spent, the reason in the status) until the owner fixes the
    /// credentials, rather than failing every record for good.
    pub fn of_sqlstate(code: &str) -> FailureKind {
        if code.starts_with("28") || code == "3D000" {
            FailureKind::Refused
        } else if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
            FailureKind::Unreachable
        } else if code.starts_with("40")
            || code.starts_with("53")
            || matches!(code, "55P03" | "57014" | "23503")
        {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    pub kind: FailureKind,
    /// The cloud's own error text (never a credential).
    pub message: String,
    /// How long the cloud asked to wait (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
}

impl SinkError {
    pub fn unreachable(m: impl Into<String>) -> SinkError {
        SinkError {
            kind: FailureKind::Unreachable,
            message: m.into(),
            retry_after: None,
        }
    }
    pub fn transient(m: impl Into<String>) -> SinkError {
        SinkError {
            kind: FailureKind::Transient,
            message: m.into(),
            retry_after: None,
        }
    }
    pub fn permanent(m: impl Into<String>) -> SinkError {
        SinkError {
            kind: FailureKind::Permanent,
            message: m.into(),
            retry_after: None,
        }
    }
}

/// One step of a connection test, in words an owner understands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckStep {
    pub name: &'static str,
    pub ok: bool,
    pub message: String,
}

/// The connection test: reachability, credentials, schema and policy parity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckOutcome {
    pub ok: bool,
    pub steps: Vec<CheckStep>,
}

impl CheckOutcome {
    pub fn from_steps(steps: Vec<CheckStep>) -> CheckOutcome {
        CheckOutcome {
            ok: !steps.is_empty() && steps.iter().all(|s| s.ok),
            steps,
        }
    }
    /// The first failing step's message.
    pub fn failure(&self) -> Option<String> {
        self.steps
            .iter()
            .find(|s| !s.ok)
            .map(|s| format!("{}: {}", s.name, s.message))
    }
}

/// A cloud the worker pushes to. `push` must be idempotent: the worker may send
/// the same rows and changes again after a lost answer (rows are upserted or
/// deleted by id, change bytes ignored when their hash is there).
pub trait CloudSink: Send + Sync {
    /// A batch's rows (upserts and deletes, as the hub: RLS applies), then its
    /// change bytes. The Postgres wire does both in one transaction; REST sends
    /// each request as its own.
    fn push<'a>(
        &'a self,
        claims: &'a Claims,
        rows: &'a RowBatch<'a>,
        changes: &'a [&'a ChangeEntry],
    ) -> BoxFut<'a, Result<(), SinkError>>;
    /// Reachability, credentials, schema and policies.
    fn check<'a>(&'a self, claims: &'a Claims) -> BoxFut<'a, CheckOutcome>;
    /// Whether the cloud has the change `hash` (64 hex digits) of `record_id`,
    /// read as the hub (RLS applies): how the worker notices a cloud restored
    /// in place from a backup older than what the hub sent it.
    fn has_change<'a>(
        &'a self,
        claims: &'a Claims,
        record_id: &'a str,
        hash: &'a str,
    ) -> BoxFut<'a, Result<bool, SinkError>>;
}

/// A change hash as the cloud keys it: its 32 bytes, from the 64 hex digits
/// the hub keeps (what both transports' [`CloudSink::has_change`] check).
pub fn change_hash_bytes(hash: &str) -> Result<Vec<u8>, SinkError> {
    match hex::decode(hash) {
        Ok(b) if b.len() == 32 => Ok(b),
        _ => Err(SinkError::permanent("a change hash is 64 hex digits")),
    }
}

/// Change bytes per statement (Postgres wire) or request (REST).
pub const CHANGES_PER_CALL: usize = 1000;

/// The cloud's `crdt_changes` rows for `changes`, as a JSON array (what the
/// REST transport posts), the hash and bytes as PostgREST's `bytea` text (`\\x…`). The
/// Postgres wire sends the same columns as binary arrays (`pg::ChangeColumns`).
pub fn changes_json(changes: &[&ChangeEntry]) -> String {
    Value::Array(
        changes
            .iter()
            .map(|c| {
                serde_json::json!({
                    "change_hash": format!("\\x{}", c.change_hash),
                    "shop_id": c.shop_id,
                    "table_name": c.table_name,
                    "record_id": c.record_id,
                    "seq": c.seq,
                    "author_id": c.author_id,
                    "created_at": c.created_at,
                    "bytes": format!("\\x{}", hex::encode(&c.bytes)),
                })
            })
            .collect(),
    )
    .to_string()
}
