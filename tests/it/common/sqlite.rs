//! A look at the hub's SQLite file: a connection (read-only, or writable to
//! damage it), row counts, and the
//! [`Snapshot`] fingerprint (with [`snapshot_diff`]) that shows nothing was
//! written.

use super::{table_names, TestHub};
use collisionos::store::DB_FILE;
use std::collections::BTreeMap;

impl TestHub {
    /// A read-only connection to the hub's database, to check what is stored.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.data_dir().join(DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the hub's database read-only");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("set a busy timeout");
        conn
    }

    /// A writable connection to the hub's database, for a test that damages
    /// what is stored as a bad disk would (the hub keeps running beside it).
    pub fn db_writable(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.data_dir().join(DB_FILE))
            .expect("open the hub's database");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("set a busy timeout");
        conn
    }

    /// A fingerprint of everything stored: each table's row count, the change
    /// log's last sequence, the queue's size and coalescing state, the documents'
    /// total size, the counters. Equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> Snapshot {
        let db = self.db();
        let one = |sql: &str| -> String {
            db.query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        let mut s = Snapshot::new();
        for t in table_names() {
            s.insert(
                t.to_string(),
                one(&format!(
                    "SELECT COUNT(*) || ' rows, last updated ' || COALESCE(MAX(updated_at), '-') FROM {t}"
                )),
            );
        }
        for (k, sql) in [
            (
                "change_log",
                "SELECT COUNT(*) || ' rows, max seq ' || COALESCE(MAX(seq), 0) FROM change_log",
            ),
            (
                "sync_queue",
                "SELECT COUNT(*) || ' rows, seqs ' || COALESCE(SUM(change_seq), 0) \
                 || ', ops ' || COALESCE(group_concat(operation || status), '') FROM sync_queue",
            ),
            (
                "crdt_docs",
                "SELECT COUNT(*) || ' docs, ' || COALESCE(SUM(length(doc)), 0) || ' bytes, ' \
                 || COALESCE(SUM(deleted), 0) || ' deleted' FROM crdt_docs",
            ),
            ("conflicts", "SELECT COUNT(*) || ' rows' FROM conflicts"),
            (
                "counters",
                "SELECT COALESCE(group_concat(name || '=' || last), '') FROM counters",
            ),
            (
                "user_credentials",
                "SELECT COUNT(*) || ' rows, last changed ' || COALESCE(MAX(changed_at), '-') \
                 FROM user_credentials",
            ),
        ] {
            s.insert(k.to_string(), one(sql));
        }
        s
    }

    /// How many rows of `table` belong to `shop_id`.
    pub fn count(&self, table: &str, shop_id: &str) -> i64 {
        self.db()
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE shop_id = ?1"),
                [shop_id],
                |r| r.get(0),
            )
            .expect("count rows")
    }
}

pub type Snapshot = BTreeMap<String, String>;

/// The keys whose values differ between two snapshots (for a readable failure).
pub fn snapshot_diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} -> {}", after.get(k).map_or("?", |s| s.as_str())))
        .collect()
}
