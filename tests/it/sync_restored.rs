//! A cloud restored in place: Supabase restores a project from a backup under
//! the same address, so the hub cannot tell it by where it is. What the hub
//! pushed after the backup was taken is gone from it, and the hub notices by
//! asking for the newest change it delivered: after an outage (a restore takes
//! the database away) and at least hourly. It then sends every record, and
//! every change of its history, again: the records written, changed and
//! deleted after the backup all end as the hub has them.

use crate::common::{api_id, TestHub};
use crate::pg::{fresh_db, TestDb};
use crate::sync_support::{
    all_refs, assert_same_everywhere, cloud_count, cloud_row, drain, enable_with, host_port,
    hub_changes, pg_config, queue, sync_status, with_port, Proxy,
};
use collisionos::domain::TableId;
use collisionos::sync::restored::{PROBE_EVERY, RESTORED};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The cloud's tables the hub writes: every record table and the changes.
fn cloud_tables() -> Vec<String> {
    TableId::all()
        .map(|t| t.name().to_string())
        .chain(["crdt_changes".to_string()])
        .collect()
}

/// The backup: a copy of every table, as the superuser.
async fn back_up(db: &TestDb) {
    for t in cloud_tables() {
        db.client
            .batch_execute(&format!(
                "CREATE TABLE backup_{t} AS SELECT * FROM public.{t}"
            ))
            .await
            .unwrap_or_else(|e| panic!("back up {t}: {e}"));
    }
}

/// The restore in place: every table as the backup has it, in one transaction.
async fn restore(db: &TestDb) {
    let tables = cloud_tables();
    let list = tables
        .iter()
        .map(|t| format!("public.{t}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("BEGIN; SET LOCAL session_replication_role = replica; TRUNCATE {list};");
    for t in &tables {
        sql.push_str(&format!(
            " INSERT INTO public.{t} SELECT * FROM backup_{t};"
        ));
    }
    sql.push_str(" COMMIT;");
    db.client
        .batch_execute(&sql)
        .await
        .unwrap_or_else(|e| panic!("restore: {e}"));
}

async fn in_cloud(db: &TestDb, table: &str, id: &str) -> bool {
    cloud_row(db, table, id).await.is_some()
}

/// Syncs, backs the cloud up, writes more (a new record, a change, a delete),
/// syncs that too, then restores the backup in place with `restore_in_place`
/// (which also makes the hub ask, its own way, and answers the records it
/// wrote meanwhile) and checks that the hub puts back everything the restore
/// lost. Shared by both transports.
pub async fn a_restored_cloud_gets_back_what_it_lost<F, Fut>(
    hub: &TestHub,
    db: &TestDb,
    config: &Value,
    restore_in_place: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Vec<(String, String)>>,
{
    enable_with(hub, config).await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let token = hub.owner_token().to_string();
    let doomed = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "Gone", "last_name": "Later" }),
        )
        .await;
    let out = drain(hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    back_up(db).await;

    // After the backup: a new record, a change to an old one, a delete.
    let fresh = hub
        .create_id(
            "customers",
            &token,
            &json!({ "first_name": "After", "last_name": "Backup" }),
        )
        .await;
    let changed = refs.id("vendors").to_string();
    let (s, b) = hub
        .patch(
            &api_id("vendors", &changed),
            &token,
            &json!({ "name": "Renamed after the backup" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = hub.delete(&api_id("customers", &doomed), &token).await;
    assert!(s.is_success(), "{s} {b}");
    let out = drain(hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert!(in_cloud(db, "customers", &fresh).await);
    assert!(!in_cloud(db, "customers", &doomed).await);
    let changes = hub_changes(hub);
    let count_changes = "SELECT count(*) FROM public.crdt_changes";
    assert_eq!(cloud_count(db, count_changes).await, changes);

    let meanwhile = restore_in_place().await;
    // The restore really lost them (the test's own sanity).
    assert!(!in_cloud(db, "customers", &fresh).await);
    assert!(in_cloud(db, "customers", &doomed).await);
    assert!(cloud_count(db, count_changes).await < changes);

    let out = drain(hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert!(out.unreachable.is_none(), "{out:?}");
    let mut every = all_refs(hub, &refs);
    every.push(("customers".into(), fresh.clone()));
    every.extend(meanwhile);
    assert_same_everywhere(hub, db, &every).await;
    assert!(
        !in_cloud(db, "customers", &doomed).await,
        "a record deleted after the backup is deleted again"
    );
    assert_eq!(
        cloud_count(db, count_changes).await,
        hub_changes(hub),
        "every change of the hub's log is in the cloud again, once"
    );
    let s = sync_status(hub).await;
    assert_eq!(s["initialUpload"]["state"], "done", "{s}");
    assert_eq!(s["initialUpload"]["restartedBecause"], RESTORED, "{s}");
    assert!(s["initialUpload"]["restartedAt"].is_string(), "{s}");
    assert_eq!(s["pendingOperations"], 0, "{s}");
    assert!(queue(hub, "failed").await.is_empty());

    // Once put back, asking again changes nothing.
    let processed = s["queue"]["totalProcessed"].clone();
    hub.state.sync.clock().advance(PROBE_EVERY);
    let out = drain(hub).await;
    assert_eq!(out.pushed, 0, "{out:?}");
    let s = sync_status(hub).await;
    assert_eq!(s["queue"]["totalProcessed"], processed, "{s}");
}

/// Over the Postgres wire, through a proxy: the restore happens while the
/// cloud is away, and the hub asks as soon as it is back.
#[tokio::test]
async fn a_cloud_restored_during_an_outage_gets_back_what_it_lost() {
    let db = fresh_db("sync_restored").await;
    let proxy = Proxy::start(host_port(&db.url)).await;
    let hub = TestHub::spawn().await;
    let config = pg_config(&with_port(&db.url, proxy.port));
    a_restored_cloud_gets_back_what_it_lost(&hub, &db, &config, || async {
        proxy.cut();
        // The shop goes on working while its cloud is being restored.
        let during = hub
            .create_id(
                "customers",
                hub.owner_token(),
                &json!({ "first_name": "During", "last_name": "Restore" }),
            )
            .await;
        let out = drain(&hub).await;
        assert!(out.unreachable.is_some(), "{out:?}");
        restore(&db).await;
        proxy.restore();
        vec![("customers".to_string(), during)]
    })
    .await;
    db.drop_db().await;
}

/// A restore the hub never saw as an outage: found at the hourly check.
pub async fn restore_found_within_the_hour(hub: &TestHub, db: &TestDb) -> Vec<(String, String)> {
    restore(db).await;
    // Nothing is lost yet as far as the hub knows; the hour passes.
    hub.state.sync.clock().advance(PROBE_EVERY);
    Vec::new()
}

#[tokio::test]
async fn a_cloud_restored_while_connected_is_found_within_the_hour() {
    let db = fresh_db("sync_restored_hourly").await;
    let hub = TestHub::spawn().await;
    let config = pg_config(&db.url);
    a_restored_cloud_gets_back_what_it_lost(&hub, &db, &config, || {
        restore_found_within_the_hour(&hub, &db)
    })
    .await;
    db.drop_db().await;
}
