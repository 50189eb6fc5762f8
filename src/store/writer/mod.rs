//! The writer thread: owns the only read-write connection. Writes arrive over a
//! channel; each wake-up takes every job waiting, and those that arrive while it
//! runs them (up to `MAX_BATCH` jobs or `MAX_GROUP_ROWS` rows), all inside one
//! `BEGIN IMMEDIATE` transaction, commits once (one fsync for the whole group),
//! and only then answers each job and publishes the new change sequence.
//!
//! Rooms:
//! - [`group`]: the group commit (optimistic run, then savepoint-per-job rerun
//!   when a job fails, so only the failing job is refused).
//! - [`ops`]: the operations (create, update, delete, set password) on one record.
//! - [`checks`]: what a write is checked against inside the transaction: the role
//!   matrix's row half, references, stages, numbering, constraint errors.
//! - [`log`]: the change-log entry and the coalesced sync-queue entry.
//! - [`doc_cache`]: the Automerge documents kept loaded between writes.

mod checks;
mod doc_cache;
mod group;
mod log;
mod ops;
#[cfg(test)]
mod tests;

use super::error::StoreError;
use super::records::Record;
use crate::domain::policy::Principal;
use crate::domain::value::Fields;
use crate::domain::TableId;
use automerge::ActorId;
use doc_cache::DocCache;
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot, watch};

/// Most jobs committed together under one fsync.
const MAX_BATCH: usize = 512;
/// A group stops taking jobs once it holds this many record writes (a bulk
/// create counts each of its records), so one commit never grows without bound
/// when bulks queue up behind each other.
const MAX_GROUP_ROWS: usize = 2048;

#[derive(Debug, Clone)]
pub enum WriteOp {
    Create {
        id: Option<uuid::Uuid>,
        fields: Fields,
    },
    /// Many creates of one table, all or none.
    BulkCreate(Vec<(Option<uuid::Uuid>, Fields)>),
    Update {
        id: String,
        fields: Fields,
        base: Option<Vec<String>>,
    },
    Delete {
        id: String,
    },
    /// Sets a user's password hash (hub-only; not a record change, never synced).
    SetPassword {
        user_id: String,
        hash: String,
    },
    /// A bay tablet's write (`op`: a create, an update or a delete), signed with
    /// the device's actor and applied at most once per operation id: a replay of
    /// the same id answers the first outcome (`WriteOutcome::replayed`) and
    /// applies nothing.
    Device {
        device: DeviceWrite,
        op: Box<WriteOp>,
    },
    /// Registers a device on its first hello (a new actor) or notes it seen
    /// again; answers it in `WriteOutcome::device`. `table` is not used.
    RegisterDevice {
        device_id: String,
    },
    /// Revokes a device (owner or admin). `table` is not used.
    RevokeDevice {
        device_id: String,
    },
}

/// Which device a write comes from, and its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceWrite {
    pub device_id: String,
    pub op_id: String,
}

#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub who: Principal,
    pub table: TableId,
    pub op: WriteOp,
    /// Leave the sync-queue entry out (records that came from the cloud).
    pub skip_sync: bool,
    /// For a create or an update of a user: the password hash to store beside it,
    /// in the same transaction.
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WriteOutcome {
    pub records: Vec<Record>,
    /// The change-log sequence of the last change written (0 when none was:
    /// SetPassword, or an update that changed nothing).
    pub seq: i64,
    /// A device's operation id that had been applied already: its first answer
    /// (and nothing was applied again).
    pub replayed: Option<crate::store::devices::AppliedOp>,
    /// The device registered or revoked.
    pub device: Option<crate::store::devices::Device>,
    /// What an [`ExecFn`] answered.
    pub count: i64,
}

impl WriteOutcome {
    pub(super) fn of(records: Vec<Record>, seq: i64) -> WriteOutcome {
        WriteOutcome {
            records,
            seq,
            replayed: None,
            device: None,
            count: 0,
        }
    }
}

/// Work on the writer's connection that is not a record write: the sync
/// worker's queue marks, its state and the hub's sync secrets, so the database
/// keeps one writer. It runs inside a group's transaction (sharing its commit
/// and fsync) and may run twice: when another job of its group fails, the group
/// runs again job by job. So it must do the same each time, and never begin or
/// commit a transaction itself. Answers a count (`WriteOutcome::count`).
pub type ExecFn = std::sync::Arc<dyn Fn(&Connection) -> Result<i64, StoreError> + Send + Sync>;

pub(super) enum Work {
    Write(WriteRequest),
    Exec(ExecFn),
}

pub(super) struct Job {
    pub work: Work,
    pub reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

impl Job {
    /// How many record writes this job makes.
    fn rows(&self) -> usize {
        match &self.work {
            Work::Write(WriteRequest {
                op: WriteOp::BulkCreate(items),
                ..
            }) => items.len().max(1),
            _ => 1,
        }
    }
}

/// What a group holds so far, against its bounds.
#[derive(Default)]
struct GroupSize {
    jobs: usize,
    rows: usize,
}

impl GroupSize {
    fn of(batch: &[Job]) -> GroupSize {
        let mut size = GroupSize::default();
        for job in batch {
            size.add(job);
        }
        size
    }
    fn add(&mut self, job: &Job) {
        self.jobs += 1;
        self.rows += job.rows();
    }
    fn has_room(&self) -> bool {
        self.jobs < MAX_BATCH && self.rows < MAX_GROUP_ROWS
    }
}

/// What reaches the writer thread.
pub(super) enum Msg {
    Write(Job),
    /// Finish every write already sent, fold the WAL into the database, stop,
    /// then answer.
    Close(oneshot::Sender<()>),
    /// Answer whether the database takes a write lock now (for health checks).
    Ping(oneshot::Sender<Result<(), String>>),
}

/// The thread's side of the channel: hands out writes until a `Close` arrives.
struct Inbox {
    rx: mpsc::Receiver<Msg>,
    closing: Vec<oneshot::Sender<()>>,
    /// Health checks waiting for the next moment between groups.
    pings: Vec<oneshot::Sender<Result<(), String>>>,
}

impl Inbox {
    /// The next write already waiting, if any (never blocks).
    fn try_next(&mut self) -> Option<Job> {
        if !self.closing.is_empty() {
            return None;
        }
        loop {
            match self.rx.try_recv().ok()? {
                Msg::Write(job) => return Some(job),
                Msg::Close(reply) => {
                    self.closing.push(reply);
                    return None;
                }
                Msg::Ping(reply) => self.pings.push(reply),
            }
        }
    }

    /// Waits for the next write, answering health checks between groups on
    /// `conn`; `None` once closing or every sender is gone.
    fn next(&mut self, conn: &Connection) -> Option<Job> {
        loop {
            for reply in self.pings.drain(..) {
                let _ = reply.send(ping(conn));
            }
            if !self.closing.is_empty() {
                return None;
            }
            match self.rx.blocking_recv()? {
                Msg::Write(job) => return Some(job),
                Msg::Close(reply) => self.closing.push(reply),
                Msg::Ping(reply) => self.pings.push(reply),
            }
        }
    }
}

/// Takes and releases the write lock: the database is there and writable.
fn ping(conn: &Connection) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
        .map_err(|e| e.to_string())
}

pub(super) fn run(
    mut conn: Connection,
    actor: ActorId,
    rx: mpsc::Receiver<Msg>,
    committed: watch::Sender<i64>,
    stats: super::stats::WriterStats,
) {
    let mut w = Writer {
        actor,
        docs: DocCache::default(),
        committed,
        stats,
    };
    let mut inbox = Inbox {
        rx,
        closing: Vec::new(),
        pings: Vec::new(),
    };
    while let Some(first) = inbox.next(&conn) {
        let mut size = GroupSize::default();
        size.add(&first);
        let mut batch = vec![first];
        while size.has_room() {
            match inbox.try_next() {
                Some(job) => {
                    size.add(&job);
                    batch.push(job);
                }
                None => break,
            }
        }
        w.commit_group(&mut conn, batch, || inbox.try_next());
    }
    // Writes sent before the close (and after it, racing it) are answered:
    // those before were committed above; the rest are refused as closed.
    inbox.rx.close();
    while let Ok(msg) = inbox.rx.try_recv() {
        match msg {
            Msg::Write(job) => {
                let _ = job.reply.send(Err(StoreError::Closed));
            }
            Msg::Close(reply) => inbox.closing.push(reply),
            Msg::Ping(reply) => inbox.pings.push(reply),
        }
    }
    for reply in inbox.pings.drain(..) {
        let _ = reply.send(Err("the hub is stopping".into()));
    }
    match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    }) {
        Ok((0, frames)) => tracing::info!(frames, "writer stopped; the WAL is folded in"),
        Ok((_, frames)) => tracing::warn!(frames, "writer stopped; the WAL checkpoint was busy"),
        Err(e) => tracing::error!(error = %e, "writer stopped; the WAL checkpoint failed"),
    }
    drop(conn);
    for reply in inbox.closing {
        let _ = reply.send(());
    }
}

type DocKey = (TableId, String);

struct Writer {
    actor: ActorId,
    docs: DocCache,
    /// The highest change-log sequence committed so far, published after each
    /// commit (never before): the sync worker and the tablets wake on it.
    committed: watch::Sender<i64>,
    stats: super::stats::WriterStats,
}
