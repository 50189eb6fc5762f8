//! Versioned, append-only schema migrations, embedded in the binary.
//!
//! `PRAGMA user_version` is the number of migrations applied; `schema_migrations`
//! keeps each one's name and SHA-256 so an edited shipped migration is caught at
//! start instead of silently diverging. A data dir whose version is newer than
//! this build's is refused.

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};

pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in order. Never edit or reorder one that has shipped: add a new one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_init.sql",
        sql: include_str!("../../migrations/0001_init.sql"),
    },
    Migration {
        name: "0002_sync.sql",
        sql: include_str!("../../migrations/0002_sync.sql"),
    },
];

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
    MIGRATIONS.len() as i64
}

/// Brings the database up to this build's schema, each migration in its own
/// transaction. Returns the resulting version.
pub fn apply(conn: &mut Connection) -> Result<i64, MigrationError> {
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
    for (i, m) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= found {
            let applied: Option<String> = conn
                .query_row(
                    "SELECT sha256 FROM schema_migrations WHERE version = ?1",
                    [version],
                    |r| r.get(0),
                )
                .ok();
            if applied.is_some_and(|h| h != digest(m.sql)) {
                return Err(MigrationError::Edited { name: m.name });
            }
            continue;
        }
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
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(migration = m.name, version, "applied migration");
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_once_and_refuses_a_newer_data_dir() {
        let mut conn = Connection::open_in_memory().expect("open");
        assert_eq!(apply(&mut conn).expect("first"), latest_version());
        assert_eq!(apply(&mut conn).expect("again"), latest_version());
        conn.pragma_update(None, "user_version", latest_version() + 1)
            .expect("pretend a newer build wrote it");
        let err = apply(&mut conn).expect_err("newer");
        assert!(matches!(err, MigrationError::NewerVersion { .. }));
        assert!(err.to_string().contains("newer collisionos"), "{err}");
    }

    #[test]
    fn an_edited_shipped_migration_is_caught() {
        let mut conn = Connection::open_in_memory().expect("open");
        apply(&mut conn).expect("first");
        conn.execute(
            "UPDATE schema_migrations SET sha256 = 'x' WHERE version = 1",
            [],
        )
        .expect("tamper");
        assert!(matches!(
            apply(&mut conn),
            Err(MigrationError::Edited { .. })
        ));
    }
}
