//! The cloud's catalog indexes after 20261130000002: the shipped file is what
//! `cloud::ddl::partial_indexes_sql` writes, every index of the catalog exists on
//! the real Postgres with the hub's predicate (partial exactly where the hub's
//! SQLite index is), a row whose reference is unset costs no entry in it, and an
//! equality read still uses it. And the change table's one index after
//! 20261201000002: its primary key `(record_id, change_hash)`, which a record's
//! history is read through.

use crate::pg::{fresh_db, repo_root};
use collisionos::domain::catalog::TABLES;
use collisionos::domain::ddl::{index_columns, index_name, index_predicate};
use std::collections::BTreeMap;

#[test]
fn the_shipped_migration_is_the_generators_output() {
    let shipped = std::fs::read_to_string(
        repo_root().join("supabase/migrations/20261130000002_partial_indexes.sql"),
    )
    .expect("read the migration");
    assert_eq!(shipped, collisionos::cloud::ddl::partial_indexes_sql());
}

#[tokio::test]
async fn cloud_indexes_are_partial_where_the_hubs_are() {
    let db = fresh_db("partial_indexes").await;
    // Every catalog index, by name: its predicate as Postgres reports it.
    let rows = db
        .client
        .query(
            "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid)
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relname LIKE '%\\_by\\_%'",
            &[],
        )
        .await
        .expect("indexes");
    let live: BTreeMap<String, Option<String>> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut partial = 0;
    for t in TABLES {
        for cols in index_columns(t) {
            let name = index_name(t, &cols);
            let got = live
                .get(&name)
                .unwrap_or_else(|| panic!("{name} is missing in the cloud"));
            let want = index_predicate(t, &cols).map(|p| format!("({p})"));
            assert_eq!(got, &want, "{name}");
            partial += usize::from(want.is_some());
        }
    }
    assert!(partial >= 30, "only {partial} partial indexes");

    // A repair order without claim, estimate or technician, and one with a
    // claim: the claim index holds one entry, the other two none.
    db.client
        .batch_execute(
            "SET session_replication_role = replica; -- no FK triggers: bare rows
             INSERT INTO public.repair_orders (id, shop_id, created_at, updated_at, ro_number)
               VALUES (gen_random_uuid(), gen_random_uuid(), now(), now(), 'RO-1');
             INSERT INTO public.repair_orders (id, shop_id, created_at, updated_at, ro_number, claim_id)
               VALUES (gen_random_uuid(), gen_random_uuid(), now(), now(), 'RO-2', gen_random_uuid());",
        )
        .await
        .expect("rows");
    // Entries per index, read from its pages: an empty btree is its metapage
    // alone; these small ones keep every entry on their one leaf, page 1.
    db.client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        .await
        .expect("pageinspect (shipped with Postgres 15)");
    for (index, want) in [
        ("repair_orders_by_claim_id", 1i64),
        ("repair_orders_by_estimate_id", 0),
        ("repair_orders_by_primary_technician_id_id", 0),
        ("repair_orders_by_stage_id", 2),
    ] {
        let n: i64 = db
            .client
            .query_one(
                "SELECT CASE WHEN pg_relation_size($1::text::regclass) <= 8192 THEN 0
                        ELSE (SELECT live_items FROM bt_page_stats($1::text, 1)) END::bigint",
                &[&index],
            )
            .await
            .expect("entries")
            .get(0);
        assert_eq!(n, want, "entries in {index}");
    }

    // A read by claim still uses the claim index.
    db.client
        .batch_execute("SET enable_seqscan = off")
        .await
        .expect("set");
    let plan: Vec<String> = db
        .client
        .query(
            "EXPLAIN SELECT id FROM public.repair_orders
              WHERE shop_id = '00000000-0000-4000-8000-000000000001'
                AND claim_id = '00000000-0000-4000-8000-000000000002'",
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("repair_orders_by_claim_id")),
        "{plan:#?}"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn the_change_table_has_one_index_its_key_which_a_records_history_reads_through() {
    let db = fresh_db("change_indexes").await;
    let live: Vec<(String, String)> = db
        .client
        .query(
            "SELECT indexname, indexdef FROM pg_indexes
              WHERE schemaname = 'public' AND tablename = 'crdt_changes' ORDER BY 1",
            &[],
        )
        .await
        .expect("indexes")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(live.len(), 1, "{live:#?}");
    assert_eq!(live[0].0, "crdt_changes_pkey");
    assert!(
        live[0].1.ends_with("USING btree (record_id, change_hash)"),
        "{}",
        live[0].1
    );

    // A record's changes come from that index (bitmap scans off: on an empty
    // table the planner would rather scan the heap).
    db.client
        .batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .await
        .expect("set");
    let plan: Vec<String> = db
        .client
        .query(
            "EXPLAIN SELECT bytes FROM public.crdt_changes
              WHERE record_id = '00000000-0000-4000-8000-000000000002' ORDER BY seq",
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("crdt_changes_pkey")),
        "{plan:#?}"
    );
    db.drop_db().await;
}
