//! What a push is made of, apart from the worker's bookkeeping: the change
//! bytes compressed for the cloud, a batch pushed with the refused records
//! split off, and the backoff between retries.

use super::sink::{Claims, CloudSink, FailureKind, RowBatch, SinkError};
use crate::store::queue::{ChangeEntry, DueRecord};
use std::time::Duration;

/// The longest wait between two retries of one record.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Replaces each change's bytes with Automerge's compressed encoding of the
/// same change (same hash; any Automerge reader loads it). Changes of 256 bytes
/// or less stay as they are. Done here, off the write path: the hub stores raw
/// bytes, the cloud (where the shop pays for storage) gets them compressed.
pub fn compress_changes(due: &mut [DueRecord]) {
    for rec in due {
        for c in &mut rec.changes {
            if c.bytes.len() <= 256 {
                continue; // Automerge leaves these uncompressed anyway
            }
            if let Ok(mut change) = automerge::Change::try_from(&c.bytes[..]) {
                let packed = change.bytes();
                if packed.len() < c.bytes.len() {
                    c.bytes = packed.into_owned();
                }
            }
        }
    }
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

/// Pushes `recs` (rows, then change bytes); when the cloud refuses several
/// (for good or for now), splits them in halves so only the records at fault
/// fail and spend an attempt. `Err` only when the
/// cloud was unreachable.
pub(super) fn push_split<'a>(
    sink: &'a dyn CloudSink,
    claims: &'a Claims,
    recs: &'a [&'a DueRecord],
) -> super::sink::BoxFut<'a, Result<Vec<Result<(), SinkError>>, SinkError>> {
    Box::pin(async move {
        match push_group(sink, claims, recs).await {
            Ok(()) => Ok(recs.iter().map(|_| Ok(())).collect()),
            Err(e) if e.kind == FailureKind::Unreachable => Err(e),
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
