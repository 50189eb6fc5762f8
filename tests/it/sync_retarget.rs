//! A different cloud gets everything: a hub that uploaded to one cloud database
//! and is then pointed at another (a new Supabase project, a restored one on a
//! new host) uploads every record and all of its change history again, and a
//! change that reaches the same cloud (a connection option, a password) does
//! not. The first upload's status says "done" once it has all arrived.

use crate::common::TestHub;
use crate::pg::fresh_db;
use crate::sync_support::{
    all_refs, assert_same_everywhere, cloud_count, drain, enable_sync, hub_changes, queue,
    set_db_url, sync_status,
};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_different_cloud_gets_every_record_and_change_again() {
    let first = fresh_db("retarget_a").await;
    let second = fresh_db("retarget_b").await;
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let every = all_refs(&hub, &refs);

    enable_sync(&hub, &first.url).await;
    let out = drain(&hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert_same_everywhere(&hub, &first, &every).await;
    let s = sync_status(&hub).await;
    assert_eq!(s["initialUpload"]["state"], "done", "{s}");
    let uploaded = s["initialUpload"]["total"].as_i64().expect("total");
    assert!(uploaded >= every.len() as i64, "{s}");
    let changes = hub_changes(&hub);
    assert_eq!(
        cloud_count(&first, "SELECT count(*) FROM public.crdt_changes").await,
        changes
    );

    // The same cloud reached another way (a connection option): nothing again.
    let sep = if first.url.contains('?') { '&' } else { '?' };
    set_db_url(&hub, &format!("{}{sep}application_name=hub", first.url)).await;
    drain(&hub).await;
    let after = sync_status(&hub).await;
    assert_eq!(after["initialUpload"]["state"], "done", "{after}");
    assert_eq!(after["pendingOperations"], 0, "{after}");
    assert_eq!(
        after["queue"]["totalProcessed"], s["queue"]["totalProcessed"],
        "nothing was pushed again: {after}"
    );
    let processed = s["queue"]["totalProcessed"].as_i64().expect("processed");

    // Another cloud: everything is queued again while sync stays on, and
    // arrives with all of its change history.
    set_db_url(&hub, &second.url).await;
    // (The hub's own worker loop may push part of it before the test does.)
    let s = sync_status(&hub).await;
    assert_eq!(s["syncEnabled"], true, "{s}");
    assert!(
        s["initialUpload"]["total"].as_i64().expect("total") >= every.len() as i64,
        "{s}"
    );
    let out = drain(&hub).await;
    assert_eq!((out.failed, out.retried), (0, 0), "{out:?}");
    assert!(out.unreachable.is_none(), "{out:?}");
    assert_same_everywhere(&hub, &second, &every).await;
    assert_eq!(
        cloud_count(&second, "SELECT count(*) FROM public.crdt_changes").await,
        changes,
        "every change of the hub's log reached the new cloud"
    );
    let s = sync_status(&hub).await;
    assert_eq!(s["initialUpload"]["state"], "done", "{s}");
    assert_eq!(s["pendingOperations"], 0, "{s}");
    let again = s["queue"]["totalProcessed"].as_i64().expect("processed") - processed;
    assert!(again >= every.len() as i64, "pushed again: {again}, {s}");
    assert!(queue(&hub, "failed").await.is_empty());

    // A write now reaches the new cloud only.
    let (st, c) = hub
        .post(
            "/api/customers",
            hub.owner_token(),
            &json!({ "first_name": "After", "last_name": "Move" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    drain(&hub).await;
    let id = c["id"].as_str().expect("id").to_string();
    assert_same_everywhere(&hub, &second, &[("customers".into(), id.clone())]).await;
    let q = format!("SELECT count(*) FROM public.customers WHERE id = '{id}'");
    assert_eq!(cloud_count(&first, &q).await, 0);
    first.drop_db().await;
    second.drop_db().await;
}
