//! One Automerge document per record. Its root map holds the record's fields
//! (every column but `updated_at`; `id` too, so no two records' changes are
//! alike); a delete puts the tombstone field
//! `_deleted`. Each change's message names its author (the user), and the hub's
//! own actor id signs the changes it makes on the current heads. A write that
//! carries `base` is applied on a fork at those heads (with a fresh actor, as a
//! concurrent device would have) and merged back, so concurrent edits of one
//! field surface as conflicts instead of silently replacing each other.
//!
//! A tablet's writes are signed with the tablet's own actor ([`apply_as`]): on a
//! fork at `base` plus the tablet's own latest change (a device's writes are
//! sequential on the device, and its actor's sequence numbers must not repeat).
//! A conflict ([`conflicts`]) is concurrent *different* values of one field;
//! concurrent identical values are agreement and are not listed.

use crate::domain::value::{Fields, Value};
use crate::domain::Table;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ReadDoc, ScalarValue, ROOT};
use std::str::FromStr;

pub mod chunk;
mod create;
pub use create::{create, created_fields};

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
    /// The change, uncompressed. Its hash and actor are in these bytes
    /// (`chunk::change_ids`); its hash is also among `heads`.
    pub change_bytes: Vec<u8>,
    pub heads: Vec<String>,
    /// The fields the change put (Automerge leaves out a put of the value the
    /// field already held, so these are the fields whose values changed).
    pub fields: Vec<String>,
}

/// Who made a change and when; goes into the change's message and timestamp.
#[derive(Debug, Clone)]
pub struct ChangeMeta<'a> {
    pub author: Option<&'a str>,
    pub op: &'a str,
    pub unix_time: i64,
}

impl ChangeMeta<'_> {
    /// The change's message: who made it and through which operation.
    fn message(&self) -> String {
        serde_json::json!({ "author": self.author, "op": self.op }).to_string()
    }

    fn options(&self) -> CommitOptions {
        CommitOptions::default()
            .with_message(self.message())
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

pub(crate) fn scalar(v: &Value) -> ScalarValue {
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

/// `known_fields`: the fields the change put, when the caller knows them (a
/// tombstone puts one); otherwise read from the change.
fn finish(
    doc: &mut AutoCommit,
    hash: Option<ChangeHash>,
    known_fields: Option<Vec<String>>,
) -> Result<Applied, CrdtError> {
    let hash = hash.ok_or(CrdtError::Empty)?;
    let change = doc.get_change_by_hash(&hash).ok_or(CrdtError::Empty)?;
    // The change uncompressed: `Change::bytes()` DEFLATEs changes over 256 bytes
    // (a create's), and each time sets up a ~300 KB zlib state: about 30 us a
    // write, and a heap fragmented by ~300 KB for each document the writer
    // keeps cached. Both forms are the same change (same hash) to every
    // Automerge loader (`Change::from_bytes`, `load_incremental`).
    let change_bytes = change.raw_bytes().to_vec();
    let mut fields: Vec<String> = match known_fields {
        Some(f) => f,
        None => change
            .decode()
            .operations
            .iter()
            .filter_map(|op| match &op.key {
                automerge::legacy::Key::Map(k) => Some(k.to_string()),
                automerge::legacy::Key::Seq(_) => None,
            })
            .collect(),
    };
    fields.sort();
    fields.dedup();
    Ok(Applied {
        change_bytes,
        heads: heads_hex(doc),
        fields,
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
    apply_as(doc, fields, base, None, meta)
}

fn parse_heads(doc: &mut AutoCommit, base: &[String]) -> Result<Vec<ChangeHash>, CrdtError> {
    let heads = base
        .iter()
        .map(|h| ChangeHash::from_str(h).map_err(|_| CrdtError::UnknownBase(h.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    for (h, hex) in heads.iter().zip(base) {
        if doc.get_change_by_hash(h).is_none() {
            return Err(CrdtError::UnknownBase(hex.clone()));
        }
    }
    Ok(heads)
}

/// The latest change `actor` made in the document, if any.
fn latest_change_of(doc: &mut AutoCommit, actor: &ActorId) -> Option<ChangeHash> {
    doc.get_changes_meta(&[])
        .into_iter()
        .filter(|m| m.actor.as_ref() == actor)
        .max_by_key(|m| m.seq)
        .map(|m| m.hash)
}

/// [`apply`], signed by `actor` (a device) instead of the document's own actor
/// when one is given. With `base`, the fork is taken at `base` plus the
/// device's own latest change (its writes are sequential on the device); with
/// no fresh actor available for the fork otherwise, a fork without a device
/// gets a random one, as a concurrent device would have.
pub fn apply_as(
    doc: &mut AutoCommit,
    fields: &Fields,
    base: Option<&[String]>,
    actor: Option<&ActorId>,
    meta: &ChangeMeta<'_>,
) -> Result<Applied, CrdtError> {
    let Some(base) = base else {
        let own = doc.get_actor().clone();
        if let Some(a) = actor {
            doc.set_actor(a.clone());
        }
        let result = put_all(doc, fields).map(|()| doc.commit_with(meta.options()));
        if actor.is_some() {
            doc.set_actor(own);
        }
        return finish(doc, result?, None);
    };
    let mut heads = parse_heads(doc, base)?;
    if let Some(a) = actor {
        if let Some(own_last) = latest_change_of(doc, a) {
            if !heads.contains(&own_last) {
                heads.push(own_last);
            }
        }
    }
    let mut fork = doc.fork_at(&heads)?;
    if let Some(a) = actor {
        fork.set_actor(a.clone());
    }
    put_all(&mut fork, fields)?;
    let hash = fork.commit_with(meta.options());
    doc.merge(&mut fork)?;
    finish(doc, hash, None)
}

/// Marks the record deleted. The document, and so its history, stays.
pub fn tombstone(doc: &mut AutoCommit, meta: &ChangeMeta<'_>) -> Result<Applied, CrdtError> {
    tombstone_as(doc, None, meta)
}

/// [`tombstone`], signed by `actor` when one is given.
pub fn tombstone_as(
    doc: &mut AutoCommit,
    actor: Option<&ActorId>,
    meta: &ChangeMeta<'_>,
) -> Result<Applied, CrdtError> {
    let own = doc.get_actor().clone();
    if let Some(a) = actor {
        doc.set_actor(a.clone());
    }
    let put = doc.put(ROOT, TOMBSTONE, true);
    let hash = put.map(|_| doc.commit_with(meta.options()));
    if actor.is_some() {
        doc.set_actor(own);
    }
    finish(doc, hash?, Some(vec![TOMBSTONE.to_string()]))
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

/// One concurrent value of a conflicting field: who wrote it, when, with which actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub value: Value,
    /// The actor (hex) that signed the change: the hub's, a device's, or a fork's.
    pub actor: String,
    /// The user who made the change (from its message).
    pub author: Option<String>,
    /// Seconds since the epoch, from the change.
    pub unix_time: i64,
    pub change_hash: String,
}

/// A field holding concurrent different values.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub field: String,
    /// The value Automerge's deterministic rule picks (and the row holds).
    pub winner: Value,
    /// Every concurrent value, the winner's first.
    pub candidates: Vec<Candidate>,
}

/// Fields holding concurrent *different* values, each with every candidate and
/// who wrote it. Concurrent identical values are agreement: not listed.
pub fn conflicts(doc: &mut AutoCommit) -> Vec<FieldConflict> {
    /// A field, its winner, and each concurrent op: (value, actor, counter).
    type Found = (String, Value, Vec<(Value, ActorId, u64)>);
    let mut found: Vec<Found> = Vec::new();
    for key in doc.keys(ROOT) {
        let Ok(all) = doc.get_all(ROOT, key.as_str()) else {
            continue;
        };
        if all.len() < 2 {
            continue;
        }
        let values: Vec<(Value, ActorId, u64)> = all
            .iter()
            .filter_map(|(v, id)| match (v, id) {
                (automerge::Value::Scalar(s), automerge::ObjId::Id(counter, actor, _)) => {
                    Some((value(s), actor.clone(), *counter))
                }
                _ => None,
            })
            .collect();
        let Some(first) = values.first() else {
            continue;
        };
        if values.iter().all(|(v, _, _)| *v == first.0) {
            continue; // agreement, not a conflict
        }
        let Some(winner) = get(doc, &key) else {
            continue;
        };
        found.push((key, winner, values));
    }
    if found.is_empty() {
        return Vec::new();
    }
    // Which change made each op: the actor's change with the greatest start op
    // not after the op's counter.
    let metas: Vec<(ActorId, u64, i64, Option<String>, String)> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| {
            (
                m.actor.into_owned(),
                m.start_op,
                m.timestamp,
                m.message.map(|c| c.into_owned()),
                m.hash.to_string(),
            )
        })
        .collect();
    found
        .into_iter()
        .map(|(field, winner, values)| {
            let mut candidates: Vec<Candidate> = values
                .into_iter()
                .map(|(value, actor, counter)| {
                    let change = metas
                        .iter()
                        .filter(|m| m.0 == actor && m.1 <= counter)
                        .max_by_key(|m| m.1);
                    let (author, _) = change_message(change.and_then(|m| m.3.as_deref()));
                    Candidate {
                        value,
                        actor: actor.to_hex_string(),
                        author,
                        unix_time: change.map_or(0, |m| m.2),
                        change_hash: change.map(|m| m.4.clone()).unwrap_or_default(),
                    }
                })
                .collect();
            if let Some(pos) = candidates.iter().position(|c| c.value == winner) {
                let w = candidates.remove(pos);
                candidates.insert(0, w);
            }
            FieldConflict {
                field,
                winner,
                candidates,
            }
        })
        .collect()
}

/// Every field a saved document holds or ever held (its root map's keys, with
/// their history: a field set once carries that value in the document).
pub fn fields_in(bytes: &[u8]) -> Result<Vec<String>, CrdtError> {
    let doc = AutoCommit::load(bytes)?;
    let mut fields: Vec<String> = doc.keys(ROOT).collect();
    fields.sort();
    Ok(fields)
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
        assert!(conflicts(&mut doc).is_empty());
        assert_eq!(get(&doc, "priority"), Some(Value::Text("urgent".into())));
        assert_eq!(get(&doc, "stage"), Some(Value::Text("paint_booth".into())));

        let mut c = Fields::new();
        c.insert("stage", Value::Text("detail".into()));
        apply(&mut doc, &c, Some(&base), &meta("c")).expect("c");
        let found = conflicts(&mut doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].field, "stage");
        assert_eq!(found[0].candidates.len(), 2);
        assert_eq!(found[0].candidates[0].value, found[0].winner);
        assert_eq!(get(&doc, "stage"), Some(found[0].winner.clone()));
        assert_eq!(
            heads_hex(&mut doc).len(),
            3,
            "three concurrent edits on one base"
        );
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
            assert!(a.heads.contains(&change.hash().to_string()));
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

    #[test]
    fn the_same_value_written_concurrently_is_agreement_not_a_conflict() {
        let mut doc = new_doc(&ActorId::random());
        let mut f = Fields::new();
        f.insert("stage", Value::Text("intake".into()));
        apply(&mut doc, &f, None, &meta("a")).expect("create");
        let base = heads_hex(&mut doc);
        let (tab1, tab2) = (ActorId::random(), ActorId::random());
        let mut g = Fields::new();
        g.insert("stage", Value::Text("detail".into()));
        let a = apply_as(&mut doc, &g, Some(&base), Some(&tab1), &meta("a")).expect("a");
        let b = apply_as(&mut doc, &g, Some(&base), Some(&tab2), &meta("b")).expect("b");
        let actor = |x: &Applied| chunk::change_ids(&x.change_bytes).expect("a change").actor;
        assert_eq!(actor(&a), tab1.to_hex_string());
        assert_eq!(actor(&b), tab2.to_hex_string());
        assert_eq!(a.fields, ["stage"]);
        assert_eq!(doc.get_all(ROOT, "stage").expect("all").len(), 2);
        assert!(conflicts(&mut doc).is_empty(), "agreement");

        let mut h = Fields::new();
        h.insert("stage", Value::Text("paint_booth".into()));
        apply_as(
            &mut doc,
            &h,
            Some(&base),
            Some(&ActorId::random()),
            &meta("c"),
        )
        .expect("c");
        let found = conflicts(&mut doc);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].candidates.len(), 3);
        let authors: std::collections::BTreeSet<Option<String>> = found[0]
            .candidates
            .iter()
            .map(|c| c.author.clone())
            .collect();
        assert_eq!(authors.len(), 3, "{found:?}");
    }

    #[test]
    fn a_device_writing_twice_on_one_base_follows_its_own_first_write() {
        let mut doc = new_doc(&ActorId::random());
        let mut f = Fields::new();
        f.insert("stage", Value::Text("intake".into()));
        apply(&mut doc, &f, None, &meta("a")).expect("create");
        let base = heads_hex(&mut doc);
        let tablet = ActorId::random();
        let mut g = Fields::new();
        g.insert("stage", Value::Text("detail".into()));
        apply_as(&mut doc, &g, Some(&base), Some(&tablet), &meta("t")).expect("first");
        g.insert("stage", Value::Text("paint_booth".into()));
        apply_as(&mut doc, &g, Some(&base), Some(&tablet), &meta("t")).expect("second");
        assert!(conflicts(&mut doc).is_empty());
        assert_eq!(get(&doc, "stage"), Some(Value::Text("paint_booth".into())));
        // The document's own actor is back after a device's write.
        let own = doc.get_actor().clone();
        apply_as(&mut doc, &g, None, Some(&tablet), &meta("t")).ok();
        assert_eq!(doc.get_actor(), &own);
    }
}
