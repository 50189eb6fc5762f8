//! End to end over the Postgres wire: writes through the API arrive in the cloud
//! (a fresh database of the test Postgres with `supabase/` and `rls/` applied)
//! with identical values; deletes propagate; the change bytes arrive and rebuild
//! the same Automerge document; replaying a batch changes nothing; the cloud's
//! RLS confines the hub to its shop.

use crate::common::{api_id, patch_for, table_names, TestHub};
use crate::pg::fresh_db;
use crate::sync_support::{
    all_refs, assert_same_everywhere, cloud_count, cloud_row, drain, enable_sync, enable_with,
    pg_config, queue,
};
use collisionos::domain::catalog::ColType;
use collisionos::domain::TableId;
use collisionos::store::queue::{change_entry, ChangeEntry, CHANGE_COLUMNS};
use collisionos::sync::config::Secret;
use collisionos::sync::pg::PgSink;
use collisionos::sync::sink::{Claims, CloudSink, RowBatch};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[tokio::test]
async fn every_table_arrives_with_identical_values_and_updates_and_deletes_follow() {
    let db = fresh_db("sync_e2e").await;
    let hub = TestHub::spawn().await;
    writes_arrive_and_updates_and_deletes_follow(&hub, &db, &pg_config(&db.url)).await;
    db.drop_db().await;
}

/// The end-to-end body, shared by both transports and the pooler test: `hub`
/// syncs to `db` configured with `config` (the body of `PUT /api/sync/config`).
pub async fn writes_arrive_and_updates_and_deletes_follow(
    hub: &TestHub,
    db: &crate::pg::TestDb,
    config: &Value,
) {
    enable_with(hub, config).await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let out = drain(hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert!(out.unreachable.is_none(), "{out:?}");
    let every = all_refs(hub, &refs);
    assert_eq!(
        every.len(),
        table_names().len() + 1,
        "one record of every table"
    );
    assert_same_everywhere(hub, db, &every).await;
    // The comparison saw a value of every column type (not only nulls).
    let kind = |ty: ColType| {
        format!("{ty:?}")
            .split('(')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let all: BTreeSet<String> = TableId::all()
        .flat_map(|t| t.def().columns.iter().map(move |c| kind(c.ty)))
        .collect();
    let mut seen = BTreeSet::new();
    for (table, id) in &every {
        let (_, rec) = hub.read_as_owner(table, id).await;
        let t = TableId::by_name(table).expect("table");
        for c in t.def().columns {
            if !rec[c.name].is_null() {
                seen.insert(kind(c.ty));
            }
        }
    }
    assert_eq!(
        seen, all,
        "a non-null value of every column type was compared"
    );

    // Updates: every table's patch field.
    for table in table_names() {
        let (field, value) = patch_for(table);
        let id = refs.id(table);
        let (s, b) = hub
            .patch(
                &api_id(table, id),
                hub.owner_token(),
                &json!({ field: value }),
            )
            .await;
        // Append-only tables refuse updates; every other one takes the patch.
        assert!(
            s == StatusCode::OK || s == StatusCode::FORBIDDEN,
            "patch {table}: {b}"
        );
    }
    let out = drain(hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert_same_everywhere(hub, db, &every).await;

    // A delete propagates.
    let gone_id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Gone", "last_name": "Soon" }),
        )
        .await;
    drain(hub).await;
    assert!(cloud_row(db, "customers", &gone_id).await.is_some());
    let (s, b) = hub
        .delete(&api_id("customers", &gone_id), hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let out = drain(hub).await;
    assert_eq!(out.failed, 0, "{out:?}");
    assert!(
        cloud_row(db, "customers", &gone_id).await.is_none(),
        "the deleted customer is still in the cloud"
    );

    // The status tells it all went.
    let (s, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(st["mode"], "hybrid");
    assert_eq!(st["syncEnabled"], true);
    assert_eq!(st["pendingOperations"], 0, "{st}");
    assert_eq!(st["queue"]["totalFailed"], 0, "{st}");
    assert!(
        st["queue"]["totalProcessed"].as_i64().unwrap_or(0) >= every.len() as i64,
        "{st}"
    );
    assert!(st["lastSync"].is_string(), "{st}");
}

#[tokio::test]
async fn change_bytes_arrive_and_rebuild_the_same_document() {
    let db = fresh_db("sync_changes").await;
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    let id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Ada", "last_name": "Byte" }),
        )
        .await;
    for note in ["first", "second", "third"] {
        let (s, b) = hub
            .patch(
                &api_id("customers", &id),
                hub.owner_token(),
                &json!({ "notes": note }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    drain(&hub).await;
    // Every change of the hub is in the cloud, byte for byte.
    let hub_changes: Vec<(String, Vec<u8>)> = {
        let conn = hub.db();
        let mut stmt = conn
            .prepare("SELECT bytes FROM change_log ORDER BY seq")
            .expect("prepare");
        stmt.query_map([], |r| {
            let bytes: Vec<u8> = r.get(0)?;
            let ids = collisionos::crdt::chunk::change_ids(&bytes).expect("a change");
            Ok((ids.hash, bytes))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
    };
    let cloud: Vec<(String, Vec<u8>)> = db
        .client
        .query(
            "SELECT encode(change_hash, 'hex'), bytes FROM public.crdt_changes ORDER BY seq",
            &[],
        )
        .await
        .expect("read changes")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Same changes (by hash); the cloud's bytes are Automerge's compressed
    // encoding of exactly the hub's change.
    assert_eq!(cloud.len(), hub_changes.len());
    let mut smaller = 0;
    for ((ch, cb), (hh, hb)) in cloud.iter().zip(&hub_changes) {
        assert_eq!(ch, hh, "change hashes in order");
        let change = automerge::Change::try_from(&cb[..]).expect("the cloud's bytes are a change");
        assert_eq!(change.hash().to_string(), *hh);
        assert_eq!(change.raw_bytes(), &hb[..], "decompressed, the hub's bytes");
        if cb.len() < hb.len() {
            smaller += 1;
        }
    }
    assert!(
        smaller >= 1,
        "the create (over 256 bytes) travels compressed"
    );
    // The record's changes rebuild a document with the hub's heads and values.
    let rows = db
        .client
        .query(
            "SELECT bytes FROM public.crdt_changes WHERE record_id = $1::text::uuid ORDER BY seq",
            &[&id],
        )
        .await
        .expect("read the record's changes");
    assert_eq!(rows.len(), 4, "create and three updates");
    let mut doc = automerge::AutoCommit::new();
    for r in &rows {
        doc.load_incremental(r.get::<_, &[u8]>(0))
            .expect("the cloud's change bytes load");
    }
    let heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    let (_, now) = hub.read_as_owner("customers", &id).await;
    assert_eq!(json!(heads), now["_heads"], "same document heads");
    let notes = collisionos::crdt::get(&doc, "notes");
    assert_eq!(
        format!("{notes:?}"),
        format!(
            "{:?}",
            Some(collisionos::domain::value::Value::Text("third".into()))
        )
    );
    db.drop_db().await;
}

/// Every synced table's rows and the change table, as one comparable text.
async fn cloud_fingerprint(db: &crate::pg::TestDb) -> String {
    let mut out = String::new();
    for t in table_names().into_iter().chain(["crdt_changes"]) {
        let key = if t == "crdt_changes" {
            "record_id, change_hash"
        } else {
            "id"
        };
        let row = db
            .client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || coalesce(md5(string_agg(to_jsonb(t)::text, ',' ORDER BY {key})), '') FROM public.{t} t"
                ),
                &[],
            )
            .await
            .expect("fingerprint");
        out.push_str(&format!("{t}={}\n", row.get::<_, String>(0)));
    }
    out
}

#[tokio::test]
async fn replaying_a_batch_twice_leaves_the_cloud_unchanged() {
    let db = fresh_db("sync_replay").await;
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    drain(&hub).await;
    let before = cloud_fingerprint(&db).await;
    assert!(before.contains("customers=1:"), "{before}");

    // The same batch again, twice, straight through the transport.
    let q = hub.state.sync.queue();
    let mut due = Vec::new();
    for (t, id) in all_refs(&hub, &refs) {
        let table = TableId::by_name(&t).expect("table");
        due.push(q.record(table, id).await.expect("read").expect("a record"));
    }
    let changes: Vec<ChangeEntry> = {
        let conn = hub.db();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {CHANGE_COLUMNS} FROM change_log ORDER BY seq"
            ))
            .expect("prepare");
        stmt.query_map([], change_entry)
            .expect("query")
            .map(|r| r.expect("row").expect("a change, not damaged bytes"))
            .collect()
    };
    let hub_id = q.state().await.expect("state")["hub_id"].clone();
    let claims = Claims::hub(&hub.shop_id, &hub_id);
    let sink = PgSink::new(Secret::new(db.url.clone()));
    let refs_due: Vec<_> = due.iter().collect();
    let rows = RowBatch::of(&refs_due);
    let change_refs: Vec<&ChangeEntry> = changes.iter().collect();
    for _ in 0..2 {
        sink.push(&claims, &rows, &change_refs)
            .await
            .expect("the replayed rows and changes are accepted");
    }
    assert_eq!(
        cloud_fingerprint(&db).await,
        before,
        "the replay changed the cloud"
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_row_of_another_shop_fails_with_the_rls_error_and_the_rest_arrive() {
    let db = fresh_db("sync_rls").await;
    let hub = TestHub::spawn().await;
    another_shops_rows_fail_with_the_rls_error(&hub, &db, &pg_config(&db.url)).await;
    db.drop_db().await;
}

/// The RLS body, shared by both transports.
pub async fn another_shops_rows_fail_with_the_rls_error(
    hub: &TestHub,
    db: &crate::pg::TestDb,
    config: &Value,
) {
    enable_with(hub, config).await;
    drain(hub).await;
    // A second shop in the same hub: its rows are not this hub's shop's.
    let other = hub.second_shop("Shop B Body Works").await;
    let b_cust = hub
        .create(
            "customers",
            &other.owner.token,
            &json!({ "first_name": "Bea", "last_name": "Other" }),
        )
        .await;
    let mut mine = Vec::new();
    for n in 0..3 {
        let c = hub
            .create(
                "customers",
                hub.owner_token(),
                &json!({ "first_name": format!("Mine {n}"), "last_name": "Shop A" }),
            )
            .await;
        mine.push(c["id"].as_str().expect("id").to_string());
    }
    // (The worker's own loop may take part of this: count in the queue.)
    let out = drain(hub).await;
    assert!(out.unreachable.is_none(), "{out:?}");
    for id in &mine {
        assert!(
            cloud_row(db, "customers", id).await.is_some(),
            "{id} arrived"
        );
    }
    let b_id = b_cust["id"].as_str().expect("id");
    assert!(cloud_row(db, "customers", b_id).await.is_none());
    assert_eq!(
        cloud_count(
            db,
            &format!(
                "SELECT count(*) FROM public.shops WHERE id = '{}'",
                other.shop_id
            )
        )
        .await,
        0
    );
    let items = queue(hub, "failed").await;
    assert_eq!(
        items.len(),
        3,
        "shop B, its owner and its customer: {items:?}"
    );
    for it in &items {
        assert_eq!(it["shopId"], json!(other.shop_id), "{it}");
        assert_eq!(it["status"], "FAILED");
        let err = it["lastError"].as_str().unwrap_or("");
        assert!(
            err.contains("row-level security") && err.contains("42501"),
            "the cloud's RLS error: {it}"
        );
    }
}
