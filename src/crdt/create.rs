//! A new record's first change, built directly.
//!
//! The writer's create used to make a fresh `AutoCommit`, put every field into
//! it (Automerge builds its op set), commit (Automerge encodes the change to
//! hash it, then keeps only the hash) and read the change back by hash
//! (Automerge collects and encodes it a second time). The document itself was
//! then dropped: a new record's document is its one change in the change log.
//! A first change needs none of that state: every field is a put on the root
//! map with no predecessors, at sequence 1 and op 1, with no dependencies. Here
//! it is encoded once, from Automerge's own expanded form. It is byte for byte
//! the change a document makes with one put per non-null field (same key
//! order, same op ids, same hash): the tests compare the two, load it, and
//! apply an update on top of it.

use super::{scalar, Applied, ChangeMeta};
use crate::domain::catalog::SYSTEM_COLUMNS;
use crate::domain::value::{Fields, Value};
use automerge::legacy::{Key, ObjectId, Op, OpType, SortedVec};
use automerge::{ActorId, Change, ExpandedChange};
use std::num::NonZeroU64;

/// The first change of a new document signed by `actor`: every non-null field
/// of `fields` put on the root map (in name order).
///
/// A null field is left out: a key the document does not have reads as null
/// (`get` answers `None`, `materialize` leaves the column as it is), so a put
/// of null on a new document said nothing, and cost its key's name in every
/// record's change (about 100 of a new repair order's 490 bytes, most of its
/// columns being references not set yet). An update that clears a field
/// still puts null: there the key exists and the put replaces its value.
pub fn create(actor: &ActorId, fields: &Fields, meta: &ChangeMeta<'_>) -> Applied {
    let set = fields.iter().filter(|(_, v)| **v != Value::Null);
    let operations = set
        .clone()
        .map(|(name, v)| Op {
            action: OpType::Put(scalar(v)),
            obj: ObjectId::Root,
            key: Key::Map((*name).into()),
            pred: SortedVec::new(),
            insert: false,
        })
        .collect();
    let change = Change::from(ExpandedChange {
        operations,
        actor_id: actor.clone(),
        hash: None,
        seq: 1,
        start_op: NonZeroU64::MIN,
        time: meta.unix_time,
        message: Some(meta.message()),
        deps: Vec::new(),
        extra_bytes: Vec::new(),
        author: None,
    });
    Applied {
        change_bytes: change.raw_bytes().to_vec(),
        heads: vec![change.hash().to_string()],
        fields: set.map(|(k, _)| k.to_string()).collect(),
    }
}

/// The fields a record's first change set: the keys it puts, without the
/// system ones (`id`, `shop_id`, `created_at`), in name order. The change log
/// stores `[]` for a create (see `store::writer::log`): these are its fields.
pub fn created_fields(bytes: &[u8]) -> Vec<String> {
    let Ok(change) = Change::from_bytes(bytes.to_vec()) else {
        return Vec::new();
    };
    let mut fields: Vec<String> = change
        .decode()
        .operations
        .into_iter()
        .filter_map(|op| match (op.obj, op.key) {
            (ObjectId::Root, Key::Map(k)) if !SYSTEM_COLUMNS.contains(&k.as_str()) => {
                Some(k.to_string())
            }
            _ => None,
        })
        .collect();
    fields.sort();
    fields.dedup();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::{apply, get, load, new_doc};

    fn fields() -> Fields {
        let mut f = Fields::new();
        f.insert(
            "id",
            Value::Text("0193a1b2-0000-7000-8000-000000000001".into()),
        );
        f.insert("stage", Value::Text("intake".into()));
        f.insert("total_cents", Value::Int(12_345));
        f.insert("active", Value::Bool(true));
        f.insert("notes", Value::Null);
        f
    }

    fn meta(op: &str) -> ChangeMeta<'_> {
        ChangeMeta {
            author: Some("0193a1b2-0000-7000-8000-0000000000aa"),
            op,
            unix_time: 1_735_689_600,
        }
    }

    /// The fields with a value: what a first change puts.
    fn set_fields() -> Fields {
        let mut f = fields();
        f.retain(|_, v| *v != Value::Null);
        f
    }

    /// The direct change is byte for byte the change a document makes with
    /// one put per non-null field, and a document loaded from it reads every
    /// field back (a null one as absent, which every reader takes as null).
    #[test]
    fn the_direct_first_change_is_the_one_a_document_makes() {
        let actor = ActorId::random();
        let made = create(&actor, &fields(), &meta("create"));
        let mut doc = new_doc(&actor);
        let via_doc = apply(&mut doc, &set_fields(), None, &meta("create")).expect("apply");

        let ours = Change::from_bytes(made.change_bytes.clone()).expect("a valid change");
        let theirs = Change::from_bytes(via_doc.change_bytes.clone()).expect("a change");
        assert_eq!(made.heads, [ours.hash().to_string()]);
        assert_eq!(ours.decode(), theirs.decode());
        assert_eq!(made.heads, via_doc.heads, "byte for byte the same change");
        assert_eq!(made.change_bytes, via_doc.change_bytes);
        assert_eq!(
            (ours.actor_id(), &made.fields, made.heads.len()),
            (theirs.actor_id(), &via_doc.fields, 1)
        );

        assert!(
            !made.fields.iter().any(|f| f == "notes"),
            "{:?}",
            made.fields
        );
        assert_eq!(
            created_fields(&made.change_bytes),
            ["active", "stage", "total_cents"],
            "the change's fields, without the id and without the null notes"
        );
        let mut loaded = load(&made.change_bytes, &actor).expect("load");
        for (name, v) in fields() {
            let want = (v != Value::Null).then_some(v);
            assert_eq!(get(&loaded, name), want, "{name}");
        }
        assert_eq!(loaded.get_heads()[0].to_string(), made.heads[0]);
    }

    /// An update on a document loaded from the direct change replaces the
    /// value (its put names the first change's op as predecessor): no
    /// conflict, and the same update a document built field by field makes.
    #[test]
    fn an_update_on_top_of_the_direct_change_replaces_the_value() {
        let actor = ActorId::random();
        let made = create(&actor, &fields(), &meta("create"));
        let mut doc = load(&made.change_bytes, &actor).expect("load");
        let mut f = Fields::new();
        f.insert("stage", Value::Text("paint_booth".into()));
        let up = apply(&mut doc, &f, None, &meta("update")).expect("update");
        let mut field_by_field = new_doc(&actor);
        apply(&mut field_by_field, &set_fields(), None, &meta("create")).expect("create");
        let same = apply(&mut field_by_field, &f, None, &meta("update")).expect("update");
        assert_eq!(up.heads, same.heads);
        assert_eq!(up.fields, vec!["stage".to_string()]);
        let mut again = load(&made.change_bytes, &actor).expect("load");
        again
            .load_incremental(&up.change_bytes)
            .expect("the update applies");
        assert_eq!(
            get(&again, "stage"),
            Some(Value::Text("paint_booth".into()))
        );
        assert!(crate::crdt::conflicts(&mut again).is_empty());
    }
}
