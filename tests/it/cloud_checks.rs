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

/// A cloud that held changes before 20261201000002 keeps every one of them
/// through it: the same bytes under the same record and hash (now 32 bytes),
/// and a hub's re-upload of one is still a no-op.
#[tokio::test]
async fn changes_stored_before_the_key_change_keep_their_record_hash_and_bytes() {
    use crate::cloud_apply::{files_in_order, psql};
    use crate::pg::{connect, empty_db, repo_root};
    let (url, name) = empty_db("change_key_upgrade").await;
    let bootstrap =
        std::fs::read_to_string(repo_root().join("supabase/bootstrap/plain_postgres.sql"))
            .expect("bootstrap");
    let (ok, err) = psql(&url, &bootstrap, true, &["--single-transaction"]).await;
    assert!(ok, "bootstrap: {err}");
    let files = files_in_order();
    let at = files
        .iter()
        .position(|f| f.ends_with("20261201000002_changes_keyed_by_record.sql"))
        .expect("the key change is shipped");
    for f in &files[..at] {
        apply_file(&url, f).await;
    }
    // Three changes as the old layout held them (hex text hash, an actor),
    // two of one record.
    let client = connect(&url).await;
    let shop = uuid::Uuid::new_v4();
    client
        .execute(
            "INSERT INTO public.shops (id, shop_id, name, created_at, updated_at)
             VALUES ($1::text::uuid, $1::text::uuid, 'Upgrade Body', now(), now())",
            &[&shop.to_string()],
        )
        .await
        .expect("a shop");
    let (one, two) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let old: Vec<(uuid::Uuid, [u8; 32], i64, Vec<u8>)> = vec![
        (one, [1; 32], 1, vec![0x85, 1]),
        (one, [2; 32], 2, vec![0x85, 2, 2]),
        (two, [0xab; 32], 3, vec![0x85, 3, 3, 3]),
    ];
    for (record, hash, seq, bytes) in &old {
        client
            .execute(
                "INSERT INTO public.crdt_changes
                   (change_hash, shop_id, table_name, record_id, seq, actor, bytes, created_at)
                 VALUES ($1, $2::text::uuid, 'customers', $3::text::uuid, $4, 'a1b2', $5, now())",
                &[
                    &hex::encode(hash),
                    &shop.to_string(),
                    &record.to_string(),
                    seq,
                    bytes,
                ],
            )
            .await
            .expect("an old change row");
    }
    for f in &files[at..] {
        apply_file(&url, f).await;
    }
    let now: Vec<(String, Vec<u8>, i64, Vec<u8>)> = client
        .query(
            "SELECT record_id::text, change_hash, seq, bytes FROM public.crdt_changes ORDER BY seq",
            &[],
        )
        .await
        .expect("read")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let want: Vec<(String, Vec<u8>, i64, Vec<u8>)> = old
        .iter()
        .map(|(r, h, s, b)| (r.to_string(), h.to_vec(), *s, b.clone()))
        .collect();
    assert_eq!(now, want);
    let again = client
        .execute(
            "INSERT INTO public.crdt_changes
               (change_hash, shop_id, table_name, record_id, seq, bytes, created_at)
             VALUES ($1, $2::text::uuid, 'customers', $3::text::uuid, 9, '\\x00', now())
             ON CONFLICT (record_id, change_hash) DO NOTHING",
            &[&[2u8; 32].to_vec(), &shop.to_string(), &one.to_string()],
        )
        .await
        .expect("re-upload");
    assert_eq!(again, 0, "the same change of the same record is a no-op");
    crate::pg::TestDb { client, url, name }.drop_db().await;
}

async fn apply_file(url: &str, file: &std::path::Path) {
    let sql = std::fs::read_to_string(file).expect("read file");
    let (ok, err) = crate::cloud_apply::psql(url, &sql, true, &[]).await;
    assert!(ok, "{}: {err}", file.display());
}
