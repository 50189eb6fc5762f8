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
//! - [`devices`]: bay tablets' identities and applied operation ids.
//! - [`feed`]: the change feed the tablets read.
//! - [`docs`]: a record's stored document (snapshot + change-log tail).

pub mod backup;
pub mod devices;
pub mod docs;
pub mod error;
pub mod feed;
mod logged;
pub mod migrations;
pub mod queries;
pub mod queue;
pub mod records;
pub mod schema;
pub mod stats;
pub mod writer;

pub use error::StoreError;
pub use records::Record;
pub use writer::{DeviceWrite, ExecFn, WriteOp, WriteOutcome, WriteRequest};

use automerge::ActorId;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};

pub const DB_FILE: &str = "collisionos.db";
const READERS: usize = 4;
/// Prepared statements each connection keeps (`prepare_cached`), least
/// recently used dropped first. rusqlite's default is 16, fewer than a shop's
/// day uses: a create alone runs about five statements of the log, document
/// and checks besides its table's own, so writes to a dozen tables in turn
/// found their statements evicted and parsed and planned each one again
/// (writer CPU per create 183 – 201 µs with 16, 120 – 171 µs with 256, 13
/// tables in turn; `cargo bench --bench store -- create_mixed`). The cache
/// holds only statements used, a few KB each.
const STATEMENT_CACHE: usize = 256;

/// A handle on the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writes: mpsc::Sender<writer::Msg>,
    readers: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    path: PathBuf,
    actor: String,
    commits: watch::Receiver<i64>,
    durability: Durability,
    stats: stats::WriterStats,
    _lock: backup::DataDirLock,
}

/// What every connection of the store (the writer's, the readers', the sync
/// worker's) is set up with.
///
/// The query planner stability guarantee: without it, SQLite (3.47 and later)
/// reads a bound `LIMIT ?` while planning and marks the statement to be
/// prepared again whenever that parameter is bound anew: every cached list,
/// history, feed or queue query was parsed and planned again on each call. The
/// plans do not depend on the values bound (there are no `sqlite_stat4`
/// samples, and no `LIKE` pattern the hub binds could use an index), so nothing
/// is lost.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The writer's connection: [`configure`]d, in WAL mode, `synchronous=FULL`.
fn open_writer(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    configure(&conn)?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "could not switch {} to WAL",
        path.display()
    );
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, applies migrations,
    /// and starts the writer thread. Blocking: call it before serving, or from
    /// `spawn_blocking`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        private_dir(data_dir)?;
        // One hub per data dir; a hub that is stopping gets a moment to let go.
        let lock = backup::DataDirLock::acquire(data_dir, std::time::Duration::from_secs(5))?;
        let path = data_dir.join(DB_FILE);
        private_file(&path)?;
        let mut conn = open_writer(&path)?;
        let before: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if migrations::apply(&mut conn)? != before {
            // A migration may change a table's stored definition in place (0010
            // does, through writable_schema); a connection reads definitions
            // when it opens, so the writer's is opened again, from the file.
            drop(conn);
            conn = open_writer(&path)?;
        }
        // Checked on the connection that will write.
        let durability = Durability::of(&conn)?;
        anyhow::ensure!(
            durability.synchronous == "full",
            "{} did not take synchronous=FULL",
            path.display()
        );
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
        let stats = stats::WriterStats::new();
        let writer_stats = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, actor_id, rx, committed, writer_stats))?;
        Ok(Store {
            inner: Arc::new(Inner {
                writes: tx,
                readers: Mutex::new(readers),
                permits: Arc::new(Semaphore::new(READERS)),
                path,
                actor,
                commits,
                durability,
                stats,
                _lock: lock,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The writer's counters, for `/metrics`.
    pub fn stats(&self) -> &stats::WriterStats {
        &self.inner.stats
    }

    /// The journal and sync settings of the writer's connection, read back
    /// from SQLite after they were set (what a crash test cannot observe).
    pub fn durability(&self) -> &Durability {
        &self.inner.durability
    }

    /// The hub's own Automerge actor id (hex).
    pub fn actor(&self) -> &str {
        &self.inner.actor
    }

    /// Whether the writer thread answers and the database takes a write lock,
    /// within `wait`.
    pub async fn writable(&self, wait: std::time::Duration) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        if self
            .inner
            .writes
            .send(writer::Msg::Ping(reply))
            .await
            .is_err()
        {
            return Err("the writer has stopped".into());
        }
        match tokio::time::timeout(wait, answer).await {
            Ok(Ok(res)) => res,
            Ok(Err(_)) => Err("the writer has stopped".into()),
            Err(_) => Err(format!("the writer did not answer within {wait:?}")),
        }
    }

    /// Stops the writer: every write sent before this is committed, the WAL is
    /// checkpointed into the database (the `-wal` file left empty), and later
    /// writes are refused as `Closed`. Resolves when the writer has stopped.
    pub async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .inner
            .writes
            .send(writer::Msg::Close(reply))
            .await
            .is_ok()
        {
            let _ = done.await;
        }
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
            .send(writer::Msg::Write(writer::Job {
                work: writer::Work::Write(req),
                reply,
            }))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on the writer's connection, inside the next group's transaction
    /// (see [`writer::ExecFn`]); answers its count once committed and durable.
    pub async fn exec(
        &self,
        f: impl Fn(&Connection) -> Result<i64, StoreError> + Send + Sync + 'static,
    ) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .writes
            .send(writer::Msg::Write(writer::Job {
                work: writer::Work::Exec(std::sync::Arc::new(f)),
                reply,
            }))
            .await
            .map_err(|_| StoreError::Closed)?;
        Ok(answer.await.map_err(|_| StoreError::Closed)??.count)
    }

    /// Runs `f` on a read-only connection on a blocking thread.
    ///
    /// The permit and the connection travel together into the blocking task and
    /// come back together when it ends, however it ends: a caller that stops
    /// waiting (its client went away) cannot hand the permit to a read that
    /// then finds no connection, and a panic in `f` returns the connection too.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let lease = Lease::take(&inner, permit)?;
            f(lease.conn())
        })
        .await
        .map_err(|e| StoreError::Internal(format!("a read failed: {e}")))?
    }

    /// The reader pool as it stands: (permits free, connections idle). The two
    /// are equal whenever no read is running; a read holds one of each.
    pub fn reader_pool(&self) -> (usize, usize) {
        let idle = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len();
        (self.inner.permits.available_permits(), idle)
    }
}

/// The settings that make a commit durable, as SQLite reports them on the
/// writer's connection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Durability {
    /// `wal`.
    pub journal_mode: String,
    /// `full`: every commit is fsynced before it returns.
    pub synchronous: String,
    pub foreign_keys: bool,
}

impl Durability {
    fn of(conn: &Connection) -> rusqlite::Result<Durability> {
        let journal_mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
        let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0))?;
        let foreign_keys: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
        Ok(Durability {
            journal_mode: journal_mode.to_ascii_lowercase(),
            synchronous: match synchronous {
                0 => "off",
                1 => "normal",
                2 => "full",
                3 => "extra",
                _ => "unknown",
            }
            .into(),
            foreign_keys,
        })
    }
}

/// Creates a folder readable by its owner only (the data dir holds password
/// hashes and the signing secret; backups hold the same), and takes the group
/// and others' access away from one that exists.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// Creates the database file with mode 0600 before SQLite opens it (SQLite
/// gives its `-wal` and `-shm` files the same mode), or tightens an existing one.
fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A reader connection on loan, with the permit that allowed it: both go back
/// when the lease is dropped (after the read, or while unwinding from a panic).
struct Lease {
    conn: Option<Connection>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    fn take(inner: &Arc<Inner>, permit: OwnedSemaphorePermit) -> Result<Lease, StoreError> {
        let conn = inner
            .readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            // Unreachable while permits and connections travel together.
            .ok_or_else(|| StoreError::Internal("no reader available".into()))?;
        Ok(Lease {
            conn: Some(conn),
            inner: inner.clone(),
            _permit: permit,
        })
    }

    fn conn(&self) -> &Connection {
        match &self.conn {
            Some(c) => c,
            None => unreachable!("a lease holds its connection until dropped"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // The connection goes back before the permit (a field dropped after
            // this body), so the next permit always finds it.
            self.inner
                .readers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
        }
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

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, StatementStatus};

    const PAGE: &str = "SELECT v FROM t WHERE id > ?1 ORDER BY id LIMIT ?2";

    /// How often a cached `LIMIT ?` query was prepared again over three calls
    /// with different limits.
    fn reprepares(conn: &Connection) -> i32 {
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
             INSERT INTO t (v) VALUES ('a'), ('b'), ('c');",
        )
        .expect("a table");
        for limit in [1, 2, 3] {
            let mut st = conn.prepare_cached(PAGE).expect("prepare");
            let n = st
                .query_map([0, limit], |r| r.get::<_, String>(0))
                .expect("query")
                .count();
            assert_eq!(n, limit as usize);
        }
        let st = conn.prepare_cached(PAGE).expect("prepare");
        st.get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn a_bound_limit_does_not_make_sqlite_prepare_the_statement_again() {
        let plain = Connection::open_in_memory().expect("open");
        assert!(
            reprepares(&plain) > 0,
            "without the guarantee SQLite prepares it again (the cost this avoids)"
        );
        let ours = Connection::open_in_memory().expect("open");
        super::configure(&ours).expect("configure");
        assert_eq!(reprepares(&ours), 0);
    }

    /// `.cargo/config.toml` builds the bundled SQLite without the process-wide
    /// page-cache group (`ENABLE_MEMORY_MANAGEMENT`) and without memory
    /// statistics: with either, every connection's page fetches and mallocs take
    /// one global mutex, and the writer waits on the readers and the sync worker.
    #[test]
    fn sqlite_is_built_without_process_wide_mutexes_on_pages_and_mallocs() {
        let conn = Connection::open_in_memory().expect("open");
        let options: Vec<String> = conn
            .prepare("SELECT compile_options FROM pragma_compile_options")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("options");
        assert!(options.iter().any(|o| o == "THREADSAFE=1"), "{options:?}");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
    }
}
