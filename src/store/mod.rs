//! SQLite: the source of truth. Only this module names `rusqlite`.
//!
//! One writer thread owns the only read-write connection ([`writer`]); a small
//! pool of read-only connections serves reads on tokio's blocking threads
//! ([`Store::read`]). WAL with `synchronous=FULL`: a write is acknowledged only
//! after its group's commit has reached the disk.
//!
//! Layout:
//! - [`migrations`]: the versioned, append-only schema.
//! - [`writer`]: group commit; every record write in one transaction with its
//!   Automerge change, change-log entry and sync-queue entry.
//! - [`records`]: SQL built from the catalog; rows to records.
//! - [`queries`]: the reads (get, list, history, accounts).
//! - [`schema`]: the live SQLite schema, for the parity tests.

pub mod error;
pub mod migrations;
pub mod queries;
pub mod queue;
pub mod records;
pub mod schema;
pub mod writer;

pub use error::StoreError;
pub use records::Record;
pub use writer::{WriteOp, WriteOutcome, WriteRequest};

use automerge::ActorId;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

pub const DB_FILE: &str = "collisionos.db";
const READERS: usize = 4;

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writes: mpsc::Sender<writer::Job>,
    readers: Mutex<Vec<Connection>>,
    permits: Semaphore,
    path: PathBuf,
    actor: String,
    commits: watch::Receiver<i64>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations,
    /// and starts the writer thread. Blocking: call it before serving, or from
    /// `spawn_blocking`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        anyhow::ensure!(
            mode.eq_ignore_ascii_case("wal"),
            "could not switch {} to WAL",
            path.display()
        );
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrations::apply(&mut conn)?;
        let actor = hub_actor(&conn)?;
        let readers = (0..READERS)
            .map(|_| -> rusqlite::Result<Connection> {
                let c = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                Ok(c)
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (tx, rx) = mpsc::channel(4096);
        let actor_id = crate::crdt::actor_from_hex(&actor)
            .ok_or_else(|| anyhow::anyhow!("the hub's actor id in meta is not hex"))?;
        let last_seq: i64 =
            conn.query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                r.get(0)
            })?;
        let (committed, commits) = watch::channel(last_seq);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, actor_id, rx, committed))?;
        Ok(Store {
            inner: Arc::new(Inner {
                writes: tx,
                readers: Mutex::new(readers),
                permits: Semaphore::new(READERS),
                path,
                actor,
                commits,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The hub's own Automerge actor id (hex).
    pub fn actor(&self) -> &str {
        &self.inner.actor
    }

    /// The highest committed change-log sequence, updated after every commit
    /// that wrote a change (never before it is durable). Wait on it with
    /// `changed()` to wake when new changes (and so new sync-queue entries) exist.
    pub fn commits(&self) -> watch::Receiver<i64> {
        self.inner.commits.clone()
    }

    /// Sends a write to the writer thread; resolves once it is durable (or refused).
    pub async fn write(&self, req: WriteRequest) -> Result<WriteOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .writes
            .send(writer::Job { req, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a read-only connection on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers
                .lock()
                .map_err(|_| StoreError::Internal("reader pool poisoned".into()))?
                .pop()
                .ok_or_else(|| StoreError::Internal("no reader available".into()))?;
            let out = f(&conn);
            if let Ok(mut pool) = inner.readers.lock() {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Internal(format!("reader task failed: {e}")))?
    }

    /// A consistent online copy of the database into `dest` (`VACUUM INTO`).
    pub async fn backup(&self, dest: PathBuf) -> Result<(), StoreError> {
        let src = self.inner.path.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            if dest.exists() {
                return Err(StoreError::Conflict(format!(
                    "{} already exists",
                    dest.display()
                )));
            }
            let conn = Connection::open_with_flags(&src, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

/// The hub's actor id: made once, kept in `meta`.
fn hub_actor(conn: &Connection) -> rusqlite::Result<String> {
    let found: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'hub_actor'", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(a) = found {
        return Ok(a);
    }
    let actor = ActorId::random().to_hex_string();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('hub_actor', ?1)",
        [&actor],
    )?;
    Ok(actor)
}
