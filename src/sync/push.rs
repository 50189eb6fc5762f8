//! What a push is made of, apart from the worker's bookkeeping: the change
//! bytes compressed for the cloud, a batch pushed with the refused records
//! split off, and the backoff between retries.

use super::sink::{Claims, CloudSink, RowBatch, SinkError};
use crate::crdt::chunk::{change_body, write_uleb, COMPRESSED_CHANGE_CHUNK};
use crate::store::queue::{ChangeEntry, DueRecord};
use std::time::Duration;

/// The longest wait between two retries of one record.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Replaces each change's bytes with Automerge's compressed encoding of the
/// same change (same hash; any Automerge reader loads it). Changes of 256 bytes
/// or less stay as they are. Done here, off the write path: the hub stores raw
/// bytes, the cloud (where the shop pays for storage) gets them compressed.
///
/// The chunk is built here rather than by `automerge::Change::bytes()`, which
/// parses every op and sets up a fresh ~300 KB DEFLATE state per change (about
/// 30 µs each, a third of the worker's CPU per row): one compressor serves the
/// whole batch, at DEFLATE's fast level: a repair order's create change
/// compresses to 274 bytes instead of 271 in 4.4 µs instead of 11 (measured).
/// Any DEFLATE stream is a valid compressed chunk; a test loads ours back.
///
/// The compressor is kept per thread, not made per batch: making one allocates
/// and zeroes some 300 KB, which was half of the worker's own CPU with 16
/// clients writing (`perf`, the sync worker's threads).
pub fn compress_changes(due: &mut [DueRecord]) {
    thread_local! {
        static DEFLATE: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
    }
    DEFLATE.with_borrow_mut(|deflate| {
        for rec in due {
            for c in &mut rec.changes {
                if c.bytes.len() <= 256 {
                    continue; // Automerge leaves these uncompressed too
                }
                if let Some(packed) = compress_change(deflate, &c.bytes) {
                    if packed.len() < c.bytes.len() {
                        c.bytes = packed;
                    }
                }
            }
        }
    })
}

/// Automerge's compressed form of a change chunk: the same magic and checksum
/// (the checksum and the hash are those of the uncompressed change), chunk type
/// 2, and the body raw-DEFLATEd. `None` when `raw` is not
/// exactly one uncompressed change chunk.
fn compress_change(deflate: &mut flate2::Compress, raw: &[u8]) -> Option<Vec<u8>> {
    let (_, body) = change_body(raw)?;
    deflate.reset();
    let mut deflated = Vec::with_capacity(body.len() + body.len() / 8 + 64);
    loop {
        let status = deflate
            .compress_vec(
                &body[deflate.total_in() as usize..],
                &mut deflated,
                flate2::FlushCompress::Finish,
            )
            .ok()?;
        match status {
            flate2::Status::StreamEnd => break,
            _ => deflated.reserve(deflated.capacity().max(64)),
        }
    }
    let mut out = Vec::with_capacity(deflated.len() + 16);
    out.extend_from_slice(&raw[0..8]);
    out.push(COMPRESSED_CHANGE_CHUNK);
    write_uleb(&mut out, deflated.len() as u64);
    out.extend_from_slice(&deflated);
    Some(out)
}

/// The wait before retry number `attempts` (1-based): `delay · 2^(attempts-1)`,
/// with ±25% jitter, capped at [`MAX_BACKOFF`].
pub fn backoff(delay_ms: u64, attempts: i64) -> time::Duration {
    use rand::Rng;
    let exp = attempts.clamp(1, 30) - 1;
    let base = (delay_ms as f64) * 2f64.powi(exp as i32);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    let ms = (base * jitter).min(MAX_BACKOFF.as_millis() as f64);
    time::Duration::milliseconds(ms as i64)
}

/// The results of pushing `recs`, in their order: a record whose change log is
/// damaged ([`DueRecord::damaged`]) is not sent and fails for good with that
/// text; the others go to the cloud together ([`push_split`]). `Err` only when
/// the cloud was unreachable.
pub(super) async fn push_batch(
    sink: &dyn CloudSink,
    claims: &Claims,
    recs: &[&DueRecord],
) -> Result<Vec<Result<(), SinkError>>, SinkError> {
    let sound: Vec<&DueRecord> = recs
        .iter()
        .copied()
        .filter(|r| r.damaged.is_none())
        .collect();
    let mut pushed = if sound.is_empty() {
        Vec::new()
    } else {
        push_split(sink, claims, &sound).await?
    }
    .into_iter();
    Ok(recs
        .iter()
        .map(|r| match &r.damaged {
            Some(why) => Err(SinkError::permanent(why.clone())),
            // push_split answers once per record; a missing answer is never
            // taken for a success.
            None => pushed
                .next()
                .unwrap_or_else(|| Err(SinkError::transient("the push gave no answer for it"))),
        })
        .collect())
}

/// Pushes `recs` (rows, then change bytes); when the cloud refuses several
/// (for good or for now), splits them in halves so only the records at fault
/// fail and spend an attempt. `Err` only when the
/// cloud was unreachable.
fn push_split<'a>(
    sink: &'a dyn CloudSink,
    claims: &'a Claims,
    recs: &'a [&'a DueRecord],
) -> super::sink::BoxFut<'a, Result<Vec<Result<(), SinkError>>, SinkError>> {
    Box::pin(async move {
        match push_group(sink, claims, recs).await {
            Ok(()) => Ok(recs.iter().map(|_| Ok(())).collect()),
            Err(e) if e.kind.holds() => Err(e),
            Err(e) if recs.len() == 1 => Ok(vec![Err(e)]),
            Err(_) => {
                let (a, b) = recs.split_at(recs.len() / 2);
                let mut out = push_split(sink, claims, a).await?;
                out.extend(push_split(sink, claims, b).await?);
                Ok(out)
            }
        }
    })
}

async fn push_group(
    sink: &dyn CloudSink,
    claims: &Claims,
    recs: &[&DueRecord],
) -> Result<(), SinkError> {
    let rows = RowBatch::of(recs);
    let changes: Vec<&ChangeEntry> = recs.iter().flat_map(|r| r.changes.iter()).collect();
    sink.push(claims, &rows, &changes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn a_compressed_change_loads_in_automerge_as_the_same_change() {
        let mut doc = automerge::AutoCommit::new();
        for (key, len) in [("notes", 700), ("short", 3), ("vin", 17)] {
            doc.put(
                automerge::ROOT,
                key,
                "collision repair ".repeat(len / 17 + 1),
            )
            .expect("put");
        }
        doc.commit();
        let hash = doc.get_heads()[0];
        let mut change = doc.get_change_by_hash(&hash).expect("the change").clone();
        let raw = change.raw_bytes().to_vec();
        let theirs = change.bytes().into_owned();
        assert!(theirs.len() < raw.len(), "Automerge compressed it");
        let mut deflate = flate2::Compress::new(flate2::Compression::fast(), false);
        // Twice with one compressor: the reset leaves nothing behind.
        let first = compress_change(&mut deflate, &raw).expect("a change chunk");
        for _ in 0..2 {
            let ours = compress_change(&mut deflate, &raw).expect("a change chunk");
            assert_eq!(ours, first);
            // Automerge's own chunk layout: magic, checksum, type 2.
            assert_eq!(ours[..8], theirs[..8]);
            assert_eq!(ours[8], COMPRESSED_CHANGE_CHUNK);
            assert!(
                ours.len() <= theirs.len() + theirs.len() / 20,
                "{} vs {}",
                ours.len(),
                theirs.len()
            );
            let back = automerge::Change::try_from(&ours[..]).expect("loads");
            assert_eq!(back.hash(), hash);
            assert_eq!(back.raw_bytes(), &raw[..], "decompressed, the same change");
        }
        assert_eq!(
            compress_change(&mut deflate, &theirs),
            None,
            "already compressed"
        );
        assert_eq!(
            compress_change(&mut deflate, &raw[..raw.len() - 1]),
            None,
            "cut short"
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for _ in 0..50 {
            let first = backoff(5000, 1).whole_milliseconds();
            assert!((3750..=6250).contains(&first), "{first}");
            let third = backoff(5000, 3).whole_milliseconds();
            assert!((15_000..=25_000).contains(&third), "{third}");
            let huge = backoff(5000, 40).whole_milliseconds();
            assert_eq!(huge, 3_600_000);
        }
    }
}
