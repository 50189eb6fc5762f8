//! Automatic local backups: a consistent copy of the database into the backup
//! folder on a schedule (daily by default), keeping the newest few, with the
//! last one's time, size and any error shown by health and metrics.
//!
//! [`Backups::run_once`] does one backup and the pruning; the loop in
//! [`Backups::run`] only calls it on a timer, so tests drive it directly.

use crate::store::backup;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

const PREFIX: &str = "collisionos-";
const SUFFIX: &str = ".db";

/// Where, how often, and how many.
#[derive(Debug, Clone)]
pub struct BackupPlan {
    pub data_dir: PathBuf,
    pub dir: PathBuf,
    /// `None`: no automatic backups.
    pub every: Option<Duration>,
    pub keep: usize,
}

/// The last backup attempt.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LastBackup {
    /// RFC 3339.
    pub at: String,
    pub file: Option<PathBuf>,
    pub bytes: Option<u64>,
    pub error: Option<String>,
    /// The last good one, RFC 3339 (may be older than `at` if that one failed).
    pub last_good_at: Option<String>,
}

#[derive(Clone)]
pub struct Backups {
    plan: Arc<BackupPlan>,
    last: Arc<Mutex<Option<LastBackup>>>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The backups in `dir`, oldest first (their names sort by time).
fn existing(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    files.sort();
    files
}

impl Backups {
    /// Knows the newest backup already in the folder, so a restart does not
    /// forget when the last one was made.
    pub fn new(plan: BackupPlan) -> Backups {
        let last = existing(&plan.dir).pop().and_then(|file| {
            let meta = std::fs::metadata(&file).ok()?;
            let at = rfc3339(OffsetDateTime::from(meta.modified().ok()?));
            Some(LastBackup {
                last_good_at: Some(at.clone()),
                at,
                bytes: Some(meta.len()),
                file: Some(file),
                error: None,
            })
        });
        Backups {
            plan: Arc::new(plan),
            last: Arc::new(Mutex::new(last)),
        }
    }

    pub fn plan(&self) -> &BackupPlan {
        &self.plan
    }

    pub fn last(&self) -> Option<LastBackup> {
        self.last
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// One backup now, then the oldest beyond `keep` removed. The outcome is
    /// remembered for health and metrics either way.
    pub async fn run_once(&self) -> Result<PathBuf, String> {
        let plan = self.plan.clone();
        let now = OffsetDateTime::now_utc();
        let outcome = tokio::task::spawn_blocking(move || -> Result<(PathBuf, u64), String> {
            crate::store::private_dir(&plan.dir).map_err(|e| format!("{}: {e}", plan.dir.display()))?;
            let stamp = format!(
                "{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second(),
                now.millisecond()
            );
            let file = plan.dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
            let report = backup::backup(&plan.data_dir, &file).map_err(|e| e.to_string())?;
            let files = existing(&plan.dir);
            let extra = files.len().saturating_sub(plan.keep.max(1));
            for old in &files[..extra] {
                if let Err(e) = std::fs::remove_file(old) {
                    tracing::warn!(file = %old.display(), error = %e, "could not remove an old backup");
                }
            }
            Ok((file, report.bytes))
        })
        .await
        .map_err(|e| format!("the backup task failed: {e}"))
        .and_then(|r| r);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let good_before = last.as_ref().and_then(|l| l.last_good_at.clone());
        match outcome {
            Ok((file, bytes)) => {
                tracing::info!(file = %file.display(), bytes, "local backup written");
                *last = Some(LastBackup {
                    at: rfc3339(now),
                    file: Some(file.clone()),
                    bytes: Some(bytes),
                    error: None,
                    last_good_at: Some(rfc3339(now)),
                });
                Ok(file)
            }
            Err(e) => {
                tracing::error!(error = %e, "local backup failed");
                *last = Some(LastBackup {
                    at: rfc3339(now),
                    file: None,
                    bytes: None,
                    error: Some(e.clone()),
                    last_good_at: good_before,
                });
                Err(e)
            }
        }
    }

    /// Backs up every `plan.every`: the first one when the newest backup is
    /// that old (or one interval after the first start). Returns at once when
    /// automatic backups are off.
    pub async fn run(self) {
        let Some(every) = self.plan.every else {
            return;
        };
        let due_in = self
            .last()
            .and_then(|l| l.last_good_at)
            .and_then(|at| crate::domain::value::age_seconds(Some(&at)))
            .map(|age| every.saturating_sub(Duration::from_secs_f64(age)))
            .unwrap_or(every);
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + due_in, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let _ = self.run_once().await;
        }
    }
}
