//! The few facts of Automerge's binary change chunk that the hub reads without
//! parsing a whole change: where its body is, its hash and its actor.
//!
//! A change chunk is `magic (4) · checksum (4) · type (1) · uleb length · body`,
//! and its body starts with its dependencies (`uleb count · 32-byte hashes`),
//! then its actor (`uleb length · bytes`). Its hash is the SHA-256 of
//! `type · uleb length · body`; the checksum is that hash's first four bytes.
//! `Change::from_bytes` finds the same by decoding every column (~8 µs for a
//! repair order's change); these read a few header bytes and hash the chunk
//! (~1 µs), which is what lets the change log keep neither the hash nor the
//! actor (migration 0012): both are read back from the bytes.

use sha2::{Digest, Sha256};

/// The magic bytes that start every Automerge chunk.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of an uncompressed change.
pub const CHANGE_CHUNK: u8 = 1;
/// The chunk type of a change whose body is raw DEFLATE.
pub const COMPRESSED_CHANGE_CHUNK: u8 = 2;

/// A change's hash and actor, hex-encoded as Automerge prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeIds {
    pub hash: String,
    pub actor: String,
}

/// Where the body of an uncompressed change chunk starts in `raw`, and the
/// body; `None` unless `raw` is exactly one such chunk.
pub fn change_body(raw: &[u8]) -> Option<(usize, &[u8])> {
    if raw.get(0..4)? != MAGIC || *raw.get(8)? != CHANGE_CHUNK {
        return None;
    }
    let (len, n) = read_uleb(raw.get(9..)?)?;
    let start = 9 + n;
    let body = raw.get(start..start.checked_add(usize::try_from(len).ok()?)?)?;
    (start + body.len() == raw.len()).then_some((start, body))
}

/// The hash and actor of the change whose bytes (as the change log stores
/// them) are `raw`. An uncompressed chunk is read directly; anything else is
/// left to Automerge. `None`: not a change Automerge would load.
pub fn change_ids(raw: &[u8]) -> Option<ChangeIds> {
    match change_body(raw) {
        Some((_, body)) => {
            let hash = Sha256::digest(&raw[8..]);
            if hash[..4] != raw[4..8] {
                return None; // the checksum says these bytes are damaged
            }
            let (deps, mut at) = read_uleb(body)?;
            at = at.checked_add(usize::try_from(deps).ok()?.checked_mul(32)?)?;
            let (actor_len, n) = read_uleb(body.get(at..)?)?;
            let actor =
                body.get(at + n..(at + n).checked_add(usize::try_from(actor_len).ok()?)?)?;
            Some(ChangeIds {
                hash: hex::encode(hash),
                actor: hex::encode(actor),
            })
        }
        None => {
            let change = automerge::Change::from_bytes(raw.to_vec()).ok()?;
            Some(ChangeIds {
                hash: change.hash().to_string(),
                actor: change.actor_id().to_hex_string(),
            })
        }
    }
}

/// An unsigned LEB128 number and how many bytes it took.
pub fn read_uleb(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Appends `value` as unsigned LEB128.
pub fn write_uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::{apply, apply_as, create, load, ChangeMeta};
    use crate::domain::value::{Fields, Value};
    use automerge::{ActorId, Change};

    fn expected(bytes: &[u8]) -> ChangeIds {
        let change = Change::from_bytes(bytes.to_vec()).expect("a change");
        ChangeIds {
            hash: change.hash().to_string(),
            actor: change.actor_id().to_hex_string(),
        }
    }

    fn put(field: &'static str, value: String) -> Fields {
        let mut f = Fields::new();
        f.insert(field, Value::Text(value));
        f
    }

    const META: ChangeMeta<'static> = ChangeMeta {
        author: None,
        op: "update",
        unix_time: 1_735_689_600,
    };

    #[test]
    fn hash_and_actor_read_from_the_header_are_automerges() {
        let hub = ActorId::random();
        let tablet = ActorId::random();
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut fields = put("notes", "first".into());
        fields.insert(
            "id",
            Value::Text("0193a1b2-0000-7000-8000-000000000009".into()),
        );
        let made = create(
            &hub,
            &fields,
            &ChangeMeta {
                op: "create",
                ..META
            },
        );
        all.push(made.change_bytes.clone());
        let mut doc = load(&made.change_bytes, &hub).expect("load");
        // Updates by the hub and by a tablet (a second actor), a long one
        // among them, then two concurrent ones on the same base and a change
        // on top of both (two dependencies).
        for i in 0..3 {
            let f = put("notes", format!("note {i} ").repeat(40));
            all.push(
                apply(&mut doc, &f, None, &META)
                    .expect("apply")
                    .change_bytes,
            );
            let f = put("stage", format!("stage {i}"));
            let by_tablet = apply_as(&mut doc, &f, None, Some(&tablet), &META).expect("apply");
            all.push(by_tablet.change_bytes);
        }
        let base = crate::crdt::heads_hex(&mut doc);
        let one = apply(&mut doc, &put("notes", "a".into()), Some(&base), &META).expect("a");
        let two = apply_as(
            &mut doc,
            &put("stage", "b".into()),
            Some(&base),
            Some(&tablet),
            &META,
        )
        .expect("b");
        all.extend([one.change_bytes, two.change_bytes]);
        let last = apply(&mut doc, &put("notes", "after".into()), None, &META).expect("after");
        all.push(last.change_bytes);
        let on_both = Change::from_bytes(all.last().expect("one").clone()).expect("change");
        assert!(
            on_both.deps().len() >= 2,
            "several dependencies: {:?}",
            on_both.deps()
        );
        assert!(all
            .iter()
            .any(|b| expected(b).actor == tablet.to_hex_string()));

        for bytes in &all {
            assert!(change_body(bytes).is_some(), "stored raw, uncompressed");
            assert_eq!(change_ids(bytes), Some(expected(bytes)));
        }

        // A compressed chunk is left to Automerge and answers the same.
        let long = all.iter().find(|b| b.len() > 300).expect("a long change");
        let packed = Change::from_bytes(long.clone())
            .expect("change")
            .bytes()
            .to_vec();
        assert_ne!(&packed, long, "compressed");
        assert_eq!(change_ids(&packed), Some(expected(long)));

        // Damaged bytes answer nothing rather than a wrong hash.
        let mut broken = all[0].clone();
        let at = broken.len() - 3;
        broken[at] ^= 0xff;
        assert_eq!(change_ids(&broken), None);
        assert_eq!(change_ids(b"not a change"), None);
    }
}
