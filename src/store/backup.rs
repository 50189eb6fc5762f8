//! Copies of the database out and back in: `collisionos backup` and
//! `collisionos restore`, and the data-dir lock that tells whether a hub is
//! running on a folder.
//!
//! A backup never creates, migrates or writes the database it copies: it opens
//! it read-only, takes SQLite's online backup in one step (a consistent snapshot
//! while the hub keeps writing, since WAL readers do not block the writer),
//! writes it to a temporary file readable by its owner only, checks it with
//! `PRAGMA integrity_check`, fsyncs it and renames it into place.
//!
//! A restore refuses while a hub holds the data dir, checks the file first
//! (integrity, schema version, shipped migrations unchanged), keeps the replaced
//! database aside, and gives the restored hub a new Automerge actor id: a
//! restored or cloned data dir that reused the old actor would sign different
//! changes with sequence numbers the cloud and tablets have already seen.

use super::error::StoreError;
use super::migrations;
use super::DB_FILE;
use automerge::ActorId;
use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file a running hub holds in its data dir.
pub const LOCK_FILE: &str = "hub.lock";

/// An exclusive lock on a data dir, held while a hub (or `init`) uses it and
/// released when dropped or when the process dies.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock, waiting up to `wait` for a hub that is stopping to let go.
    pub fn acquire(data_dir: &Path, wait: Duration) -> Result<DataDirLock, StoreError> {
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Internal(format!("{}: {e}", path.display())))?;
        let busy = || {
            StoreError::Conflict(format!(
                "a hub is running on {} (it holds {}); stop it first",
                data_dir.display(),
                LOCK_FILE
            ))
        };
        let failed = |e: std::io::Error| StoreError::Internal(format!("{}: {e}", path.display()));
        match file.try_lock() {
            Ok(()) => return Ok(DataDirLock { _file: file }),
            Err(std::fs::TryLockError::Error(e)) => return Err(failed(e)),
            Err(std::fs::TryLockError::WouldBlock) if wait.is_zero() => return Err(busy()),
            Err(std::fs::TryLockError::WouldBlock) => {}
        }
        // Held: wait on a thread that blocks in `lock()`, for at most `wait`. If
        // the wait runs out, that thread lets go of the lock as soon as it gets it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("data-dir-lock".into())
            .spawn(move || {
                let got = file.lock().map(|()| file);
                let _ = tx.send(got);
            })
            .map_err(failed)?;
        match rx.recv_timeout(wait) {
            Ok(Ok(file)) => Ok(DataDirLock { _file: file }),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Err(busy()),
        }
    }
}

/// What a finished backup or restore reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    pub bytes: u64,
    pub schema_version: i64,
    /// The hub actor of the result (a restore's is new).
    pub hub_actor: String,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::Internal(format!("{}: {e}", path.display()))
}

/// The database file of `data_dir`, which must exist: a mistyped `--data-dir`
/// is an error, never an empty backup.
fn existing_db(data_dir: &Path) -> Result<PathBuf, StoreError> {
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(StoreError::NotFound);
    }
    Ok(db)
}

/// A file readable by its owner only, created new (never over another file).
fn create_private(path: &Path) -> Result<File, StoreError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(io(path))
}

fn sync_dir(path: &Path) {
    // Makes a rename durable; not every platform can open a directory.
    if let Some(dir) = path.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

fn integrity(conn: &Connection) -> Result<(), StoreError> {
    let ok: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(StoreError::Internal(format!(
            "the copy failed its integrity check: {ok}"
        )));
    }
    Ok(())
}

fn actor_of(conn: &Connection) -> Result<String, StoreError> {
    Ok(
        conn.query_row("SELECT value FROM meta WHERE key = 'hub_actor'", [], |r| {
            r.get(0)
        })?,
    )
}

/// Copies `from` into the new file `tmp` with SQLite's online backup, checks it
/// and fsyncs it; returns the copy's schema version and actor.
fn copy_into(from: &Connection, tmp: &Path) -> Result<(i64, String), StoreError> {
    create_private(tmp)?;
    let mut to = Connection::open(tmp)?;
    {
        let backup = rusqlite::backup::Backup::new(from, &mut to)?;
        // One step: the whole database from one read snapshot. Smaller steps
        // would restart whenever the serving hub commits in between.
        backup.step(-1)?;
    }
    integrity(&to)?;
    let version: i64 = to.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let actor = actor_of(&to)?;
    drop(to);
    File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(tmp))?;
    Ok((version, actor))
}

fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    dest.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// `collisionos backup <dest>`: a consistent copy of the hub's database while
/// it serves. Never touches the source beyond reading it.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<CopyReport, StoreError> {
    let db = existing_db(data_dir).map_err(|_| {
        StoreError::Conflict(format!(
            "no hub database at {} (is --data-dir right?); nothing was written",
            data_dir.join(DB_FILE).display()
        ))
    })?;
    if dest.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists; choose a new file name",
            dest.display()
        )));
    }
    let folder = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(StoreError::Conflict(format!(
            "the folder {} does not exist; create it or choose another; nothing was written",
            folder.display()
        )));
    }
    let from = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    from.busy_timeout(Duration::from_secs(10))?;
    let tmp = temp_beside(dest);
    let result = copy_into(&from, &tmp).and_then(|(version, actor)| {
        std::fs::rename(&tmp, dest).map_err(io(dest))?;
        sync_dir(dest);
        let bytes = std::fs::metadata(dest).map_err(io(dest))?.len();
        Ok(CopyReport {
            bytes,
            schema_version: version,
            hub_actor: actor,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Checks a backup file before it replaces anything: it opens, passes the
/// integrity check, and was written by this version or an older one whose
/// migrations are the ones this build ships.
fn check_backup(file: &Path) -> Result<Connection, StoreError> {
    if !file.is_file() {
        return Err(StoreError::Conflict(format!(
            "{} is not a file",
            file.display()
        )));
    }
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Conflict(format!("{} does not open: {e}", file.display())))?;
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            StoreError::Conflict(format!("{} is not a hub backup: {e}", file.display()))
        })?;
    if ok != "ok" {
        return Err(StoreError::Conflict(format!(
            "{} failed its integrity check: {ok}",
            file.display()
        )));
    }
    migrations::verify(&conn)
        .map_err(|e| StoreError::Conflict(format!("{}: {e}", file.display())))?;
    actor_of(&conn).map_err(|_| {
        StoreError::Conflict(format!(
            "{} is not a hub backup (it has no hub identity)",
            file.display()
        ))
    })?;
    Ok(conn)
}

/// `collisionos restore <file>`: replaces the data dir's database with a
/// checked copy of `file`, keeping the replaced one aside, and gives the hub a
/// new actor id. Refuses while a hub runs on the data dir.
pub fn restore(data_dir: &Path, file: &Path) -> Result<(CopyReport, Option<PathBuf>), StoreError> {
    if !data_dir.is_dir() {
        return Err(StoreError::Conflict(format!(
            "{} is not a data dir (is --data-dir right?)",
            data_dir.display()
        )));
    }
    let _lock = DataDirLock::acquire(data_dir, Duration::ZERO)?;
    let from = check_backup(file)?;
    let db = data_dir.join(DB_FILE);
    let tmp = data_dir.join(format!(".{DB_FILE}.restoring-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let (version, _) = copy_into(&from, &tmp)?;
    drop(from);
    let actor = ActorId::random().to_hex_string();
    {
        let conn = Connection::open(&tmp)?;
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'hub_actor'",
            [&actor],
        )?;
    }
    File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;

    // The replaced database goes aside whole: its WAL folded in first.
    let aside = if db.is_file() {
        {
            let conn = Connection::open(&db)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            conn.pragma_update(None, "journal_mode", "DELETE")?;
        }
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let aside = data_dir.join(format!("{DB_FILE}.before-restore-{stamp}"));
        std::fs::rename(&db, &aside).map_err(io(&aside))?;
        Some(aside)
    } else {
        None
    };
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{DB_FILE}{suffix}")));
    }
    std::fs::rename(&tmp, &db).map_err(io(&db))?;
    sync_dir(&db);
    let bytes = std::fs::metadata(&db).map_err(io(&db))?.len();
    Ok((
        CopyReport {
            bytes,
            schema_version: version,
            hub_actor: actor,
        },
        aside,
    ))
}
