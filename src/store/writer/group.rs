//! The group commit: every job of a group in one transaction, one fsync.
//! A group first runs without savepoints (they cost a copy of every page each
//! job touches); if a job fails, the whole transaction rolls back and the group
//! runs again with each job in its own savepoint, so only that job is refused.

use super::{DocKey, GroupSize, Job, Work, Writer};
use crate::store::error::StoreError;
use crate::store::WriteOutcome;
use rusqlite::{Connection, TransactionBehavior};

impl Writer {
    /// Commits `batch`, and with it the jobs `more` hands over while it runs
    /// (while the group has room: `MAX_BATCH` jobs, `MAX_GROUP_ROWS` rows), then
    /// answers them all.
    pub(super) fn commit_group(
        &mut self,
        conn: &mut Connection,
        mut batch: Vec<Job>,
        more: impl FnMut() -> Option<Job>,
    ) {
        let mut touched: Vec<DocKey> = Vec::new();
        let outcome = match self.run_optimistic(conn, &mut batch, more, &mut touched) {
            Ok(Some(results)) => Ok(results),
            // A job failed and the whole transaction rolled back: run the group
            // again with a savepoint per job, so only the failing job is refused.
            Ok(None) => self.run_isolated(conn, &batch, &mut touched),
            Err(e) => Err(e),
        };
        let results = match outcome {
            Ok(results) => results,
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "group commit failed");
                for k in &touched {
                    self.docs.remove(k);
                }
                self.stats
                    .writes
                    .with_label_values(&["failed"])
                    .inc_by(batch.len() as u64);
                for job in batch {
                    let _ = job
                        .reply
                        .send(Err(StoreError::Internal(format!("commit failed: {e}"))));
                }
                return;
            }
        };
        let top = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|o| o.seq))
            .max()
            .unwrap_or(0);
        if top > 0 {
            self.committed.send_if_modified(|last| {
                let newer = top > *last;
                if newer {
                    *last = top;
                }
                newer
            });
        }
        self.stats.group_jobs.observe(batch.len() as f64);
        for (job, res) in batch.into_iter().zip(results) {
            let outcome = match &res {
                Ok(_) => "ok",
                Err(StoreError::Internal(_) | StoreError::Closed | StoreError::Damaged(_)) => {
                    "failed"
                }
                Err(_) => "refused",
            };
            self.stats.writes.with_label_values(&[outcome]).inc();
            let _ = job.reply.send(res);
        }
    }

    fn run_job(
        &mut self,
        conn: &Connection,
        work: &Work,
        keys: &mut Vec<DocKey>,
    ) -> Result<WriteOutcome, StoreError> {
        match work {
            Work::Write(req) => self.apply(conn, req, keys),
            Work::Exec(f) => f(conn).map(|count| WriteOutcome {
                count,
                ..WriteOutcome::of(vec![], 0)
            }),
        }
    }

    /// Runs every job of `batch` in one transaction without savepoints (each
    /// costs a copy of every page its job touches) and commits it. Jobs that
    /// arrive meanwhile (`more`) join the batch, so writers that queue while a
    /// group runs share its commit instead of waiting for the next one.
    /// `Ok(None)`: a job failed, so the whole transaction was rolled back and the
    /// documents it touched forgotten; nothing was written.
    fn run_optimistic(
        &mut self,
        conn: &mut Connection,
        batch: &mut Vec<Job>,
        mut more: impl FnMut() -> Option<Job>,
        touched: &mut Vec<DocKey>,
    ) -> Result<Option<Vec<Result<WriteOutcome, StoreError>>>, rusqlite::Error> {
        let mut results = Vec::with_capacity(batch.len());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut next = 0;
        let mut size = GroupSize::of(batch);
        loop {
            if next == batch.len() {
                match size.has_room().then(&mut more).flatten() {
                    Some(job) => {
                        size.add(&job);
                        batch.push(job);
                    }
                    None => break,
                }
            }
            let job = &batch[next];
            next += 1;
            let mut keys = Vec::new();
            match self.run_job(&tx, &job.work, &mut keys) {
                Ok(out) => {
                    touched.extend(keys);
                    results.push(Ok(out));
                }
                Err(e) => {
                    drop(tx); // rolls back everything this group wrote
                    touched.extend(keys);
                    for k in touched.drain(..) {
                        self.docs.remove(&k);
                    }
                    if batch.len() == 1 {
                        // Alone in its group: rolled back, as its savepoint would be.
                        return Ok(Some(vec![Err(e)]));
                    }
                    return Ok(None);
                }
            }
        }
        tx.commit()?;
        Ok(Some(results))
    }

    /// Runs each job of `batch` in its own savepoint inside one transaction, so a
    /// job that fails rolls back alone, and commits it.
    fn run_isolated(
        &mut self,
        conn: &mut Connection,
        batch: &[Job],
        touched: &mut Vec<DocKey>,
    ) -> Result<Vec<Result<WriteOutcome, StoreError>>, rusqlite::Error> {
        let mut results = Vec::with_capacity(batch.len());
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for job in batch {
            let sp = tx.savepoint()?;
            let mut keys = Vec::new();
            match self.run_job(&sp, &job.work, &mut keys) {
                Ok(out) => {
                    sp.commit()?;
                    touched.extend(keys);
                    results.push(Ok(out));
                }
                Err(e) => {
                    drop(sp); // rolls back to the savepoint
                    for k in &keys {
                        self.docs.remove(k);
                    }
                    results.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(results)
    }
}
