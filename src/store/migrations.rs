//! Versioned, append-only schema migrations, embedded in the binary.
//!
//! `PRAGMA user_version` is the number of migrations applied; `schema_migrations`
//! keeps each one's name and SHA-256 so an edited shipped migration is caught at
//! start instead of silently diverging. A data dir whose version is newer than
//! this build's is refused.
//!
//! A migration's version is the number its file name starts with (`0003_…` is
//! version 3), not its place in the list: two branches may each add one, and a
//! number not yet present (a gap) is applied whenever it arrives, while every
//! version already applied is checked against its digest.

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// One shipped migration: its file name, and the file's text built in.
macro_rules! migration {
    ($file:literal) => {
        Migration {
            name: $file,
            sql: include_str!(concat!("../../migrations/", $file)),
        }
    };
}

/// Every migration, in order of version. Never edit or renumber one that has
/// shipped: add a new one.
pub const MIGRATIONS: &[Migration] = &[
    migration!("0001_init.sql"),
    migration!("0002_sync.sql"),
    migration!("0003_devices.sql"),
    migration!("0004_doc_chunks.sql"),
    migration!("0005_doc_log_tail.sql"),
    migration!("0006_partial_indexes.sql"),
    migration!("0007_change_log_no_hash_index.sql"),
    migration!("0008_queue_after_first_enable.sql"),
    migration!("0009_no_updated_at_indexes.sql"),
    migration!("0010_checks_without_in_lists.sql"),
    migration!("0011_change_log_is_the_queue.sql"),
    migration!("0012_change_log_ids_from_bytes.sql"),
    migration!("0013_sessions_end_at_deactivation.sql"),
    migration!("0014_device_ops_by_user.sql"),
    migration!("0015_ended_sessions.sql"),
    migration!("0016_change_log_without_autoincrement.sql"),
];

impl Migration {
    /// The number the file name starts with.
    pub fn version(&self) -> i64 {
        let digits: String = self.name.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "this data dir was written by a newer collisionos (schema version {found}; this build \
         knows up to {known}). Run the newer collisionos, or restore a backup made by this version."
    )]
    NewerVersion { found: i64, known: i64 },
    #[error(
        "migration {name} differs from the one applied to this data dir (shipped migrations must \
         never change)"
    )]
    Edited { name: &'static str },
    #[error("migration {name} failed: {source}")]
    Failed {
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

fn digest(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.iter().map(Migration::version).max().unwrap_or(0)
}

/// Checks, without writing, that `conn`'s database can be opened by this build:
/// not newer than it, and every migration it has applied is the one this build
/// ships. Returns its schema version.
pub fn verify(conn: &Connection) -> Result<i64, MigrationError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = latest_version();
    if found > known {
        return Err(MigrationError::NewerVersion { found, known });
    }
    for (i, m) in MIGRATIONS.iter().enumerate().take(found.max(0) as usize) {
        let applied: Option<String> = conn
            .query_row(
                "SELECT sha256 FROM schema_migrations WHERE version = ?1",
                [i as i64 + 1],
                |r| r.get(0),
            )
            .ok();
        if applied.is_some_and(|h| h != digest(m.sql)) {
            return Err(MigrationError::Edited { name: m.name });
        }
    }
    Ok(found)
}

/// Brings the database up to this build's schema, each migration in its own
/// transaction. Returns the resulting version.
pub fn apply(conn: &mut Connection) -> Result<i64, MigrationError> {
    apply_these(conn, MIGRATIONS)
}

/// [`apply`] with `migrations` for the list (tests stop part way).
fn apply_these(conn: &mut Connection, migrations: &[Migration]) -> Result<i64, MigrationError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = latest_version();
    if found > known {
        return Err(MigrationError::NewerVersion { found, known });
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             sha256 TEXT NOT NULL,
             applied_at TEXT NOT NULL
         ) STRICT;",
    )?;
    let mut at = found;
    for m in migrations {
        let version = m.version();
        let applied: Option<String> = conn
            .query_row(
                "SELECT sha256 FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .ok();
        if let Some(hash) = applied {
            if hash != digest(m.sql) {
                return Err(MigrationError::Edited { name: m.name });
            }
            continue;
        }
        // Some rebuild a table (0007: the change log), which takes a while on
        // a shop's years of history: say so before, not only after.
        tracing::info!(migration = m.name, version, "applying migration");
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)
            .map_err(|source| MigrationError::Failed {
                name: m.name,
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, sha256, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![version, m.name, digest(m.sql), crate::domain::value::now_timestamp()],
        )?;
        at = at.max(version);
        tx.pragma_update(None, "user_version", at)?;
        tx.commit()?;
        tracing::info!(migration = m.name, version, "applied migration");
    }
    Ok(at)
}

#[cfg(test)]
mod tests;
