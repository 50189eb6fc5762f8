//! `crdt_changes`' CHECKs as rewritten by 20261130000001 (no bounded-repetition
//! regexes) accept exactly the values the first version's regexes accepted: each
//! candidate is inserted on the real Postgres, and the answer compared with the
//! old regex evaluated by the same Postgres.

use crate::pg::fresh_db;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

/// Whether the live table accepts a change row with these values (rolled back).
async fn accepted(client: &mut Client, hash: &str, table: &str) -> bool {
    let tx = client.transaction().await.expect("begin");
    let out = tx
        .execute(
            "INSERT INTO public.crdt_changes
               (change_hash, shop_id, table_name, record_id, seq, actor, bytes, created_at)
             VALUES ($1, gen_random_uuid(), $2, gen_random_uuid(), 1, 'a', '\\x00', now())",
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
async fn the_rewritten_change_checks_accept_exactly_what_the_regexes_did() {
    let mut db = fresh_db("change_checks").await;
    let hex = "0123456789abcdef".repeat(4);
    let hashes = [
        hex.clone(),
        hex.to_uppercase(),
        hex[..63].to_string(),
        format!("{hex}0"),
        format!("{}g", &hex[..63]),
        format!("{}\n", &hex[..63]),
        format!("{hex}\n"),
        format!("{}é", &hex[..63]),
        format!("{} ", &hex[..63]),
        String::new(),
    ];
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
    let mut seen = (0, 0);
    for h in &hashes {
        let want = matches(&db.client, h, "^[0-9a-f]{64}$").await;
        assert_eq!(
            accepted(&mut db.client, h, "repair_orders").await,
            want,
            "hash {h:?}"
        );
        seen.0 += usize::from(want);
    }
    for n in &names {
        let want = matches(&db.client, n, "^[a-z][a-z0-9_]{0,62}$").await;
        assert_eq!(
            accepted(&mut db.client, &hex, n).await,
            want,
            "table name {n:?}"
        );
        seen.1 += usize::from(want);
    }
    // Both sides of each rule were tried.
    assert_eq!(seen, (1, 3));
    db.drop_db().await;
}
