//! Noticing a cloud restored in place. Supabase restores a project from a
//! backup under the same address, so [`super::config::cloud_target`] cannot
//! tell: the hub would go on believing the cloud has every change it sent, and
//! what was pushed after the backup was taken would be missing from it for good.
//!
//! The cloud never deletes a change row, so the hub asks for the newest change
//! a push delivered ([`crate::store::queue::DELIVERED`], kept at each mark): at
//! the worker's first step, after every hold (a restore takes the database
//! away for a while) and at least every [`PROBE_EVERY`]. One lookup by the
//! change table's primary key. When the change is gone, everything is sent
//! again, as to a new cloud: idempotent upserts, so what the cloud kept is
//! only overwritten with the same values.

use super::sink::{Claims, CloudSink};
use super::worker::{sync_error, Engine, Outcome};
use crate::domain::value::format_timestamp;
use std::time::Duration;
use time::OffsetDateTime;

/// The longest the worker goes without asking.
pub const PROBE_EVERY: Duration = Duration::from_secs(3600);

/// What the owner reads in the status when it happens.
pub const RESTORED: &str = "the cloud no longer had changes this hub had sent it (was it \
     restored from a backup?)";

/// When the worker last asked (`None`: at its next step).
#[derive(Debug, Default)]
pub struct Probe {
    last: std::sync::Mutex<Option<OffsetDateTime>>,
}

impl Probe {
    /// Ask at the next step (the worker started, or the cloud was away).
    pub fn soon(&self) {
        if let Ok(mut l) = self.last.lock() {
            *l = None;
        }
    }

    fn due(&self, now: OffsetDateTime) -> bool {
        self.last
            .lock()
            .map(|l| l.is_none_or(|at| now - at >= PROBE_EVERY))
            .unwrap_or(true)
    }

    fn done(&self, now: OffsetDateTime) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(now);
        }
    }
}

impl Engine {
    /// Asks the cloud for the newest delivered change when that is due, and
    /// starts everything again when it is gone. The caller holds the step lock.
    /// `Some` when the cloud cannot be asked now (the step holds, as a push
    /// would); an answer that is neither yes nor no is logged and the step
    /// goes on (pushing is not held up by the check).
    pub(super) async fn check_delivered(
        &self,
        sink: &dyn CloudSink,
        claims: &Claims,
    ) -> anyhow::Result<Option<Outcome>> {
        let now = self.clock().now();
        if !self.inner.probe.due(now) {
            return Ok(None);
        }
        let Some((record, hash)) = self.queue().delivered().await.map_err(sync_error)? else {
            self.inner.probe.done(now);
            return Ok(None);
        };
        match sink.has_change(claims, &record, &hash).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("{RESTORED}: sending every record and its history again");
                let at = format_timestamp(now);
                self.queue()
                    .start_over(RESTORED, at)
                    .await
                    .map_err(sync_error)?;
                self.queue_first_upload(None).await.map_err(sync_error)?;
                self.note_error(RESTORED).await;
            }
            Err(e) if e.kind.holds() => return Ok(Some(self.unreachable(e).await)),
            Err(e) => {
                tracing::warn!(reason = %e.message, "could not ask the cloud for the last change sent");
            }
        }
        self.inner.probe.done(now);
        Ok(None)
    }
}
