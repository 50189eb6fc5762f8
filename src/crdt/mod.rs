//! One Automerge document per record. Its root map holds the record's fields
//! (every column but `updated_at`; `id` too, so no two records' changes are
//! alike); a delete puts the tombstone field
//! `_deleted`. Each change's message names its author (the user), and the hub's
//! own actor id signs the changes it makes on the current heads. A write that
//! carries `base` is applied on a fork at those heads (with a fresh actor, as a
//! concurrent device would have) and merged back, so concurrent edits of one
//! field surface as conflicts instead of silently replacing each other.

use crate::domain::value::{Fields, Value};
use crate::domain::Table;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc, ScalarValue, ROOT};
use std::str::FromStr;

pub use automerge::AutoCommit as Doc;

/// The tombstone field a delete puts into the document.
pub const TOMBSTONE: &str = "_deleted";

#[derive(Debug, thiserror::Error)]
pub enum CrdtError {
    #[error("_base names a change this hub does not have: {0}")]
    UnknownBase(String),
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("the write changed nothing in the document")]
    Empty,
}

/// What one applied write produced: the new change and the document's new state.
#[derive(Debug)]
pub struct Applied {
    pub change_hash: String,
    pub change_bytes: Vec<u8>,
    pub actor: String,
    pub heads: Vec<String>,
}

/// Who made a change and when; goes into the change's message and timestamp.
#[derive(Debug, Clone)]
pub struct ChangeMeta<'a> {
    pub author: Option<&'a str>,
    pub op: &'a str,
    pub unix_time: i64,
}

impl ChangeMeta<'_> {
    fn options(&self) -> CommitOptions {
        let msg = serde_json::json!({ "author": self.author, "op": self.op });
        CommitOptions::default()
            .with_message(msg.to_string())
            .with_time(self.unix_time)
    }
}

pub fn actor_from_hex(hex_str: &str) -> Option<ActorId> {
    hex::decode(hex_str).ok().map(ActorId::from)
}

pub fn new_doc(actor: &ActorId) -> AutoCommit {
    AutoCommit::new().with_actor(actor.clone())
}

pub fn load(bytes: &[u8], actor: &ActorId) -> Result<AutoCommit, CrdtError> {
    Ok(AutoCommit::load(bytes)?.with_actor(actor.clone()))
}

pub fn heads_hex(doc: &mut AutoCommit) -> Vec<String> {
    doc.get_heads().iter().map(ToString::to_string).collect()
}

fn scalar(v: &Value) -> ScalarValue {
    match v {
        Value::Null => ScalarValue::Null,
        Value::Text(s) => ScalarValue::Str(s.as_str().into()),
        Value::Int(i) => ScalarValue::Int(*i),
        Value::Bool(b) => ScalarValue::Boolean(*b),
    }
}

fn value(s: &ScalarValue) -> Value {
    match s {
        ScalarValue::Str(s) => Value::Text(s.to_string()),
        ScalarValue::Int(i) => Value::Int(*i),
        ScalarValue::Uint(u) => Value::Int(i64::try_from(*u).unwrap_or(i64::MAX)),
        ScalarValue::Boolean(b) => Value::Bool(*b),
        ScalarValue::Timestamp(t) => Value::Int(*t),
        _ => Value::Null,
    }
}

fn put_all<D: Transactable>(doc: &mut D, fields: &Fields) -> Result<(), CrdtError> {
    for (name, v) in fields {
        doc.put(ROOT, *name, scalar(v))?;
    }
    Ok(())
}

/// Puts `fields` into a document with no changes and no pending ops, as one
/// batch: the same ops, in the same (key) order, with the same ids as
/// [`put_all`] would make, so the change and its hash are identical, but with
/// one op-set splice instead of one per field (see the `same_change` test).
fn init_all(doc: &mut AutoCommit, fields: &Fields) -> Result<(), CrdtError> {
    let map: std::collections::HashMap<&str, automerge::hydrate::Value> = fields
        .iter()
        .map(|(name, v)| (*name, scalar(v).into()))
        .collect();
    doc.init_root_from_hydrate(&map.into())?;
    Ok(())
}

fn finish(doc: &mut AutoCommit, hash: Option<ChangeHash>) -> Result<Applied, CrdtError> {
    let hash = hash.ok_or(CrdtError::Empty)?;
    let change = doc.get_change_by_hash(&hash).ok_or(CrdtError::Empty)?;
    let actor = change.actor_id().to_hex_string();
    // The change uncompressed: `Change::bytes()` DEFLATEs changes over 256 bytes
    // (a create's), and each time sets up a ~300 KB zlib state: about 30 us a
    // write, and a heap fragmented by ~300 KB for each document the writer
    // keeps cached. Both forms are the same change (same hash) to every
    // Automerge loader (`Change::from_bytes`, `load_incremental`).
    let change_bytes = change.raw_bytes().to_vec();
    Ok(Applied {
        change_hash: hash.to_string(),
        change_bytes,
        actor,
        heads: heads_hex(doc),
    })
}

/// Puts `fields` into the document, on its current heads or, with `base`, on a
/// fork at `base` merged back.
pub fn apply(
    doc: &mut AutoCommit,
    fields: &Fields,
    base: Option<&[String]>,
    meta: &ChangeMeta<'_>,
) -> Result<Applied, CrdtError> {
    let Some(base) = base else {
        if doc.is_empty() && doc.pending_ops() == 0 {
            init_all(doc, fields)?;
        } else {
            put_all(doc, fields)?;
        }
        let hash = doc.commit_with(meta.options());
        return finish(doc, hash);
    };
    let heads = base
        .iter()
        .map(|h| ChangeHash::from_str(h).map_err(|_| CrdtError::UnknownBase(h.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    for (h, hex) in heads.iter().zip(base) {
        if doc.get_change_by_hash(h).is_none() {
            return Err(CrdtError::UnknownBase(hex.clone()));
        }
    }
    let mut fork = doc.fork_at(&heads)?;
    put_all(&mut fork, fields)?;
    let hash = fork.commit_with(meta.options());
    doc.merge(&mut fork)?;
    finish(doc, hash)
}

/// Marks the record deleted. The document, and so its history, stays.
pub fn tombstone(doc: &mut AutoCommit, meta: &ChangeMeta<'_>) -> Result<Applied, CrdtError> {
    doc.put(ROOT, TOMBSTONE, true)?;
    let hash = doc.commit_with(meta.options());
    finish(doc, hash)
}

/// The last-writer-wins view of a field: the value Automerge picks as winner.
pub fn get(doc: &AutoCommit, field: &str) -> Option<Value> {
    match doc.get(ROOT, field) {
        Ok(Some((automerge::Value::Scalar(s), _))) => Some(value(&s)),
        _ => None,
    }
}

/// Reads every business column of `table` from the document (winners only).
/// A column the document does not have yet is absent from the result.
pub fn materialize(doc: &AutoCommit, table: &Table) -> Fields {
    table
        .columns
        .iter()
        .filter_map(|c| get(doc, c.name).map(|v| (c.name, v)))
        .collect()
}

/// Fields that hold more than one concurrent value, with every value, the winner first.
pub fn conflicts(doc: &AutoCommit) -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for key in doc.keys(ROOT) {
        let Ok(all) = doc.get_all(ROOT, key.as_str()) else {
            continue;
        };
        if all.len() > 1 {
            let winner = get(doc, &key);
            let mut values: Vec<Value> = all
                .iter()
                .filter_map(|(v, _)| match v {
                    automerge::Value::Scalar(s) => Some(value(s)),
                    _ => None,
                })
                .collect();
            if let Some(w) = winner {
                if let Some(pos) = values.iter().position(|v| *v == w) {
                    values.swap(0, pos);
                }
            }
            out.push((key, values));
        }
    }
    out
}

/// A change's author and operation, read back from its message.
pub fn change_message(msg: Option<&str>) -> (Option<String>, Option<String>) {
    let parsed: Option<serde_json::Value> = msg.and_then(|m| serde_json::from_str(m).ok());
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    (field("author"), field("op"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(author: &str) -> ChangeMeta<'_> {
        ChangeMeta {
            author: Some(author),
            op: "update",
            unix_time: 0,
        }
    }

    #[test]
    fn concurrent_edits_of_one_field_are_a_conflict_and_of_two_fields_merge() {
        let actor = ActorId::random();
        let mut doc = new_doc(&actor);
        let mut f = Fields::new();
        f.insert("stage", Value::Text("intake".into()));
        f.insert("priority", Value::Text("normal".into()));
        apply(&mut doc, &f, None, &meta("a")).expect("create");
        let base = heads_hex(&mut doc);

        let mut a = Fields::new();
        a.insert("stage", Value::Text("paint_booth".into()));
        apply(&mut doc, &a, Some(&base), &meta("a")).expect("a");
        let mut b = Fields::new();
        b.insert("priority", Value::Text("urgent".into()));
        apply(&mut doc, &b, Some(&base), &meta("b")).expect("b");
        assert!(conflicts(&doc).is_empty());
        assert_eq!(get(&doc, "priority"), Some(Value::Text("urgent".into())));
        assert_eq!(get(&doc, "stage"), Some(Value::Text("paint_booth".into())));

        let mut c = Fields::new();
        c.insert("stage", Value::Text("detail".into()));
        apply(&mut doc, &c, Some(&base), &meta("c")).expect("c");
        let found = conflicts(&doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "stage");
        assert_eq!(found[0].1.len(), 2);
        assert_eq!(
            heads_hex(&mut doc).len(),
            3,
            "three concurrent edits on one base"
        );
    }

    #[test]
    fn a_create_batched_into_a_new_doc_is_the_same_change_as_one_put_per_field() {
        let actor = ActorId::random();
        let mut f = Fields::new();
        f.insert("stage", Value::Text("intake".into()));
        f.insert("priority", Value::Text("normal".into()));
        f.insert("customer_id", Value::Null);
        f.insert("total_cents", Value::Int(1250));
        f.insert("active", Value::Bool(true));
        let mut batched = new_doc(&actor);
        let a = apply(&mut batched, &f, None, &meta("a")).expect("batched");
        let mut one_by_one = new_doc(&actor);
        put_all(&mut one_by_one, &f).expect("puts");
        let hash = one_by_one.commit_with(meta("a").options());
        let b = finish(&mut one_by_one, hash).expect("finish");
        assert_eq!(a.change_hash, b.change_hash);
        assert_eq!(a.change_bytes, b.change_bytes);
        assert_eq!(a.heads, b.heads);
        assert_eq!(batched.save(), one_by_one.save());
        assert_eq!(get(&batched, "customer_id"), Some(Value::Null));

        // Later writes to the document go field by field, as before.
        let mut g = Fields::new();
        g.insert("stage", Value::Text("detail".into()));
        let a = apply(&mut batched, &g, None, &meta("a")).expect("update");
        let b = apply(&mut one_by_one, &g, None, &meta("a")).expect("update");
        assert_eq!(a.change_hash, b.change_hash);
        assert_eq!(get(&batched, "stage"), Some(Value::Text("detail".into())));
    }

    #[test]
    fn change_bytes_rebuild_the_document() {
        let actor = ActorId::random();
        let mut doc = new_doc(&actor);
        let mut f = Fields::new();
        for name in [
            "ro_number",
            "stage",
            "priority",
            "notes",
            "shop_id",
            "created_at",
        ] {
            f.insert(
                name,
                Value::Text(format!("{name}-a-value-long-enough-to-compress")),
            );
        }
        let created = apply(&mut doc, &f, None, &meta("a")).expect("create");
        assert!(
            created.change_bytes.len() > 256,
            "big enough to have been compressed"
        );
        let mut g = Fields::new();
        g.insert("stage", Value::Text("detail".into()));
        let updated = apply(&mut doc, &g, None, &meta("a")).expect("update");

        let mut rebuilt = AutoCommit::new();
        for a in [&created, &updated] {
            let change = automerge::Change::from_bytes(a.change_bytes.clone()).expect("a change");
            assert_eq!(change.hash().to_string(), a.change_hash);
            rebuilt.load_incremental(&a.change_bytes).expect("applies");
        }
        assert_eq!(heads_hex(&mut rebuilt), updated.heads);
        assert_eq!(get(&rebuilt, "stage"), Some(Value::Text("detail".into())));
        assert_eq!(get(&rebuilt, "notes"), get(&doc, "notes"));
    }

    #[test]
    fn unknown_base_is_refused() {
        let mut doc = new_doc(&ActorId::random());
        let err = apply(
            &mut doc,
            &Fields::new(),
            Some(&["00".repeat(32)]),
            &meta("a"),
        );
        assert!(matches!(err, Err(CrdtError::UnknownBase(_))));
    }
}
