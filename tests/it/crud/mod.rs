//! Every table's create, read, list, update, delete and bulk create through the
//! API as the owner, checked in the answers and in the SQLite file: each write
//! leaves its change-log entry (with the change bytes) and one coalesced
//! sync-queue entry; business numbers are per shop and sequential; `_base`
//! merges different fields and lists same-field edits as conflicts. This file
//! holds the readers of the change log and the queue the tests share.
//!
//! - [`lifecycle`]: each table's create, get, list, patch, filter and delete; no secret column or answer; referenced deletes.
//! - [`numbers`]: client-minted ids and per-shop business numbers.
//! - [`lists`]: filters, limits and cursor paging over every table.
//! - [`bulk`]: bulk creates store all or nothing, each record its own change.
//! - [`changes`]: the change log and the one coalesced push per record; `skip_sync` writes.
//! - [`merge`]: patches on one `_base` merge or become conflicts; no-op patches write nothing.

mod bulk;
mod changes;
mod lifecycle;
mod lists;
mod merge;
mod numbers;

use crate::common::*;
use collisionos::domain::ColType;
use collisionos::store::queue::DueRecord;
use serde_json::Value;
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Tables nobody may update or delete (append-only / immutable in docs/roles.md).
pub(super) const IMMUTABLE: &[&str] = &["ro_stage_history", "signatures"];

/// One change-log row: (op, length of the change bytes, author id, seq).
pub(super) type LogRow = (String, usize, Option<String>, i64);

pub(super) fn change_log(hub: &TestHub, table: &str, id: &str) -> Vec<LogRow> {
    let db = hub.db();
    let mut stmt = db
        .prepare(
            "SELECT op, length(bytes), author_id, seq FROM change_log
             WHERE table_name = ?1 AND record_id = ?2 ORDER BY seq",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([table, id], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as usize,
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .expect("query change_log");
    rows.collect::<Result<_, _>>().expect("read change_log")
}

/// The record's next push, as the sync worker's own read of the queue gives it
/// (the change log past its cursor, and the items): its coalesced operation and
/// the last change it covers, or `None` when nothing of it waits for the cloud.
pub(super) async fn next_push(hub: &TestHub, table: &str, id: &str) -> Option<(String, i64)> {
    let rec = due_record(hub, table, id).await?;
    Some((rec.operation, rec.seq))
}

pub(super) async fn due_record(hub: &TestHub, table: &str, id: &str) -> Option<DueRecord> {
    let batch = hub
        .state
        .sync
        .queue()
        .due(
            "9999-12-31T00:00:00.000000Z".into(),
            100_000,
            HashSet::new(),
            None,
        )
        .await
        .expect("the due batch");
    batch
        .records
        .into_iter()
        .find(|r| r.table.name() == table && r.record_id == id)
}

pub(super) fn ops(log: &[LogRow]) -> Vec<&str> {
    log.iter().map(|(op, ..)| op.as_str()).collect()
}

pub(super) fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

pub(super) fn heads(v: &Value) -> Vec<String> {
    v["_heads"]
        .as_array()
        .unwrap_or_else(|| panic!("no _heads in {v}"))
        .iter()
        .map(|h| h.as_str().expect("a head is a string").to_string())
        .collect()
}

fn instant(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"))
}

/// Asserts a record answer has the system fields and echoes every field sent.
pub(super) fn assert_record(table: &str, rec: &Value, sent: &Value, shop_id: &str) {
    let def = table_id(table).def();
    assert!(
        collisionos::domain::value::parse_uuid(str_of(rec, "id")).is_some(),
        "{table}: id {rec}"
    );
    assert_eq!(str_of(rec, "shop_id"), shop_id, "{table}: shop_id");
    instant(str_of(rec, "created_at"));
    instant(str_of(rec, "updated_at"));
    assert!(!heads(rec).is_empty(), "{table}: _heads is empty: {rec}");
    for (k, v) in sent.as_object().expect("an object body") {
        if k == "password" {
            continue;
        }
        let col = def
            .column(k)
            .unwrap_or_else(|| panic!("{table}.{k} is not a column"));
        if col.ty == ColType::Timestamp {
            assert_eq!(
                instant(str_of(rec, k)),
                instant(v.as_str().expect("a timestamp")),
                "{table}.{k}"
            );
        } else {
            assert_eq!(&rec[k.as_str()], v, "{table}.{k} as created: {rec}");
        }
    }
    assert!(
        rec.as_object()
            .expect("a record object")
            .keys()
            .all(|k| !k.contains("password")),
        "{table}: a password field leaked: {rec}"
    );
}

pub(super) fn number_of(table: &str) -> Option<(&'static str, &'static str)> {
    NUMBERED
        .iter()
        .find(|(t, ..)| *t == table)
        .map(|(_, c, p)| (*c, *p))
}
