//! `crdt_changes`' CHECKs: the table name's, as rewritten by 20261130000001 (no
//! bounded-repetition regex), accepts exactly the values the first version's
//! regex accepted (each candidate inserted on the real Postgres, the answer
//! compared with the old regex evaluated by the same Postgres); the hash's, since
//! 20261201000002, accepts exactly 32 bytes (a SHA-256).

use crate::pg::fresh_db;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Whether the live table accepts a change row with these values (rolled back).
async fn accepted(client: &mut Client, hash: &[u8], table: &str) -> bool {
    let tx = client.transaction().await.expect("begin");
    let out = tx
        .execute(
            "INSERT INTO public.crdt_changes
               (change_hash, shop_id, table_name, record_id, seq, bytes, created_at)
             VALUES ($1, gen_random_uuid(), $2, gen_random_uuid(), 1, '\\x00', now())",
            &[&hash, &table],
        )
        .await;
    tx.rollback().await.expect("rollback");
    match out {
        Ok(_) => true,
        Err(e) if e.code() == Some(&SqlState::CHECK_VIOLATION) => false,
        Err(e) => panic!("{hash:?} {table:?}: {e}"),
    }
}

async fn matches(client: &Client, value: &str, regex: &str) -> bool {
    client
        .query_one("SELECT $1::text ~ $2::text", &[&value, &regex])
        .await
        .expect("regex")
        .get(0)
}

#[tokio::test]
async fn the_change_checks_accept_a_sha256_and_what_the_name_regex_did() {
    let mut db = fresh_db("change_checks").await;
    let hash = [7u8; 32];
    for len in [0, 1, 31, 32, 33, 64] {
        assert_eq!(
            accepted(&mut db.client, &vec![7u8; len], "repair_orders").await,
            len == 32,
            "a hash of {len} bytes"
        );
    }
    let names = [
        "repair_orders".to_string(),
        "a".to_string(),
        "a".repeat(63),
        "a".repeat(64),
        "1abc".to_string(),
        "_abc".to_string(),
        "Abc".to_string(),
        "ab-c".to_string(),
        "abc\n".to_string(),
        "é".to_string(),
        String::new(),
    ];
    let mut seen = 0;
    for n in &names {
        let want = matches(&db.client, n, "^[a-z][a-z0-9_]{0,62}$").await;
        assert_eq!(
            accepted(&mut db.client, &hash, n).await,
            want,
            "table name {n:?}"
        );
        seen += usize::from(want);
    }
    // Both sides of the rule were tried.
    assert_eq!(seen, 3);
    db.drop_db().await;
}
