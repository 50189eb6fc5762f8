//! The cloud misbehaving: unreachable (a TCP proxy the test cuts), refusing a
//! row for good (a constraint), failing transiently (a serialization failure),
//! and the queue keeping per-record order through it all. The worker is driven
//! with its step function; its clock is advanced instead of sleeping.

use crate::common::{api_id, TestHub};
use crate::pg::fresh_db;
use crate::sync_support::{
    cloud_count, cloud_row, drain, enable_sync, enable_with, host_port, pg_config, queue,
    with_port, Proxy,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// `POST /api/sync/trigger {"retryFailed": true}` as the holder of `token`.
async fn retry_failed(hub: &TestHub, token: &str) -> (StatusCode, Value) {
    hub.post("/api/sync/trigger", token, &json!({ "retryFailed": true }))
        .await
}

#[tokio::test]
async fn an_outage_holds_the_queue_without_spending_attempts_and_everything_arrives_after() {
    let db = fresh_db("sync_outage").await;
    let proxy = Proxy::start(host_port(&db.url)).await;
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &with_port(&db.url, proxy.port)).await;
    drain(&hub).await;

    proxy.cut();
    let mut ids = Vec::new();
    for chunk in 0..4 {
        let records: Vec<Value> = (0..250)
            .map(|i| json!({ "first_name": format!("Out {chunk}-{i}"), "last_name": "Age" }))
            .collect();
        let (s, b) = hub
            .post(
                "/api/customers/bulk",
                hub.owner_token(),
                &json!({ "records": records }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.extend(
            b["data"]
                .as_array()
                .expect("the created records")
                .iter()
                .map(|r| r["id"].as_str().expect("id").to_string()),
        );
    }
    assert_eq!(ids.len(), 1000);
    for _ in 0..3 {
        let out = hub.state.sync.run_once().await.expect("a step");
        assert!(out.unreachable.is_some(), "the cloud is cut off: {out:?}");
        assert_eq!((out.pushed, out.retried, out.failed), (0, 0, 0), "{out:?}");
    }
    let pending = queue(&hub, "pending").await;
    assert_eq!(pending.len(), 1000, "all 1,000 wait");
    assert!(
        pending.iter().all(|i| i["attempts"] == 0),
        "no attempt was spent while unreachable"
    );
    assert!(queue(&hub, "failed").await.is_empty());
    assert!(queue(&hub, "retry").await.is_empty());
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    assert_eq!(st["pendingOperations"], 1000, "{st}");
    assert!(st["lastError"].is_string(), "the status says why: {st}");
    assert!(st["lag"]["ms"].as_i64().is_some(), "{st}");

    proxy.restore();
    let out = drain(&hub).await;
    assert!(out.unreachable.is_none(), "{out:?}");
    assert_eq!(out.failed, 0, "{out:?}");
    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Age'"
        )
        .await,
        1000,
        "all 1,000 arrived"
    );
    assert!(queue(&hub, "failed").await.is_empty());
    assert!(queue(&hub, "pending").await.is_empty());
    let done = queue(&hub, "completed").await;
    assert!(done.iter().all(|i| i["attempts"] == 0), "no attempt spent");
    db.drop_db().await;
}

/// The cloud refusing the hub itself (here: its database is gone from the
/// URL; a wrong password is the same class of refusal) is no record's fault:
/// the queue holds as in an outage, nothing is FAILED, no attempt is spent,
/// the status says why, and everything arrives once the URL is right again.
#[tokio::test]
async fn a_refused_login_holds_the_queue_instead_of_failing_every_record() {
    let db = fresh_db("sync_login").await;
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    drain(&hub).await;
    let gone = format!("{}_gone", db.url);
    crate::sync_support::set_db_url(&hub, &gone).await;
    for i in 0..5 {
        hub.create(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": format!("Held {i}"), "last_name": "Login" }),
        )
        .await;
    }
    for _ in 0..3 {
        let out = hub.state.sync.run_once().await.expect("a step");
        assert!(out.unreachable.is_some(), "{out:?}");
        assert_eq!((out.pushed, out.retried, out.failed), (0, 0, 0), "{out:?}");
    }
    assert!(queue(&hub, "failed").await.is_empty());
    // (Another database name is another cloud: the shop and its owner are
    // queued again for it, beside the five.)
    let pending = queue(&hub, "pending").await;
    let customers = pending.iter().filter(|i| i["tableName"] == "customers");
    assert_eq!(customers.count(), 5, "{pending:?}");
    assert!(pending.iter().all(|i| i["attempts"] == 0), "{pending:?}");
    let (_, st) = hub.get("/api/sync/status", hub.owner_token()).await;
    let why = st["lastError"].as_str().unwrap_or_default();
    assert!(why.contains("does not exist"), "{st}");

    crate::sync_support::set_db_url(&hub, &db.url).await;
    let out = drain(&hub).await;
    assert_eq!(out.failed, 0, "{out:?}");
    assert_eq!(
        cloud_count(
            &db,
            "SELECT count(*) FROM public.customers WHERE last_name = 'Login'"
        )
        .await,
        5
    );
    db.drop_db().await;
}

/// A row pushed as it is now can name a parent still behind it in the log: a
/// repair order created, then a customer, then the order linked to that
/// customer, all while the cloud was away. In batches of one the order goes
/// first, and the cloud refuses its foreign key until the customer is there:
/// a RETRY, never FAILED, and both arrive.
#[tokio::test]
async fn a_row_whose_parent_is_still_behind_it_waits_for_it_and_both_arrive() {
    let db = fresh_db("sync_parent").await;
    let proxy = Proxy::start(host_port(&db.url)).await;
    let hub = TestHub::spawn().await;
    let mut config = pg_config(&with_port(&db.url, proxy.port));
    config["batchSize"] = json!(1);
    enable_with(&hub, &config).await;
    drain(&hub).await;

    proxy.cut();
    let ro = hub
        .create(
            "repair_orders",
            hub.owner_token(),
            &json!({ "notes": "walk-in" }),
        )
        .await;
    let ro = ro["id"].as_str().expect("id").to_string();
    let customer = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Pat", "last_name": "Later" }),
        )
        .await;
    let customer = customer["id"].as_str().expect("id").to_string();
    let (s, b) = hub
        .patch(
            &api_id("repair_orders", &ro),
            hub.owner_token(),
            &json!({ "customer_id": customer }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    proxy.restore();

    // The order's entry comes first in the log: it goes alone, naming a
    // customer the cloud does not have yet.
    let out = hub.state.sync.run_once().await.expect("a step");
    assert_eq!((out.pushed, out.retried, out.failed), (0, 1, 0), "{out:?}");
    let retry = queue(&hub, "retry").await;
    assert_eq!(retry.len(), 1, "{retry:?}");
    assert_eq!(retry[0]["recordId"], json!(ro), "{retry:?}");
    assert!(
        retry[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("foreign key")),
        "the cloud's own words: {retry:?}"
    );

    // The customer goes next; the order's retry, once due, then succeeds.
    drain(&hub).await;
    assert!(cloud_row(&db, "customers", &customer).await.is_some());
    hub.state.sync.clock().advance(Duration::from_secs(3600));
    let out = drain(&hub).await;
    assert_eq!(out.failed, 0, "{out:?}");
    let row = cloud_row(&db, "repair_orders", &ro)
        .await
        .expect("the order arrived");
    assert_eq!(row["customer_id"], json!(customer), "{row}");
    assert!(queue(&hub, "failed").await.is_empty(), "nothing FAILED");
    assert!(queue(&hub, "retry").await.is_empty());
    assert!(queue(&hub, "pending").await.is_empty());
    db.drop_db().await;
}

/// Makes the cloud fail the first write of a customer named `Flaky` with a
/// serialization failure (SQLSTATE 40001, "try again"), once.
const FLAKY_ONCE: &str = "
CREATE SEQUENCE public.flaky_once;
CREATE FUNCTION public.flaky() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
  IF nextval('public.flaky_once') = 1 THEN
    RAISE EXCEPTION 'simulated serialization failure' USING ERRCODE = '40001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER flaky BEFORE INSERT OR UPDATE ON public.customers
  FOR EACH ROW WHEN (NEW.last_name = 'Flaky') EXECUTE FUNCTION public.flaky();";

#[tokio::test]
async fn create_update_update_delete_with_the_create_failing_first_ends_absent_and_nothing_failed()
{
    let db = fresh_db("sync_order").await;
    db.client
        .batch_execute(FLAKY_ONCE)
        .await
        .expect("the flaky trigger");
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    drain(&hub).await;
    let id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Fran", "last_name": "Flaky" }),
        )
        .await;
    drain(&hub).await;
    let retry = queue(&hub, "retry").await;
    assert_eq!(retry.len(), 1, "the create is waiting to retry: {retry:?}");
    assert_eq!(retry[0]["attempts"], 1);
    assert!(
        retry[0]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("simulated serialization failure")),
        "{retry:?}"
    );
    assert!(retry[0]["nextAttemptAt"].is_string());

    for note in ["one", "two"] {
        let (s, b) = hub
            .patch(
                &api_id("customers", &id),
                hub.owner_token(),
                &json!({ "notes": note }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    // The updates do not overtake their own create: the record is held.
    drain(&hub).await;
    assert!(
        cloud_row(&db, "customers", &id).await.is_none(),
        "an update went out before its create's retry"
    );
    let (s, b) = hub
        .delete(&api_id("customers", &id), hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    hub.state.sync.clock().advance(Duration::from_secs(3600));
    let out = drain(&hub).await;
    assert_eq!(out.failed, 0, "{out:?}");
    assert!(
        cloud_row(&db, "customers", &id).await.is_none(),
        "the delete is the last word"
    );
    assert!(queue(&hub, "failed").await.is_empty(), "nothing FAILED");
    assert!(queue(&hub, "retry").await.is_empty());
    assert!(queue(&hub, "pending").await.is_empty());
    // The record's four changes still reached the cloud.
    assert_eq!(
        cloud_count(
            &db,
            &format!("SELECT count(*) FROM public.crdt_changes WHERE record_id = '{id}'")
        )
        .await,
        4
    );
    db.drop_db().await;
}

#[tokio::test]
async fn a_permanent_failure_is_failed_with_the_clouds_message_and_a_retry_succeeds_after_the_fix()
{
    let db = fresh_db("sync_permanent").await;
    db.client
        .batch_execute(
            "ALTER TABLE public.customers ADD CONSTRAINT no_zed CHECK (last_name IS DISTINCT FROM 'Zed')",
        )
        .await
        .expect("the constraint");
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    let zed = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Zoe", "last_name": "Zed" }),
        )
        .await;
    let ok = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Al", "last_name": "Fine" }),
        )
        .await;
    let zed_id = zed["id"].as_str().expect("id").to_string();
    drain(&hub).await;
    assert!(cloud_row(&db, "customers", ok["id"].as_str().expect("id"))
        .await
        .is_some());
    assert!(cloud_row(&db, "customers", &zed_id).await.is_none());
    let failed = queue(&hub, "failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["recordId"], json!(zed_id));
    let err = failed[0]["lastError"].as_str().unwrap_or("");
    assert!(
        err.contains("no_zed") && err.contains("23514"),
        "the cloud's message: {err}"
    );
    // A later change of the record, refused too: still one FAILED item, the
    // latest failure.
    let (s, b) = hub
        .request(
            reqwest::Method::PATCH,
            &format!("/api/customers/{zed_id}"),
            Some(hub.owner_token()),
            Some(&json!({ "first_name": "Zora" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    drain(&hub).await;
    let failed = queue(&hub, "failed").await;
    assert_eq!(failed.len(), 1, "one failure per record: {failed:?}");
    // A manager sees it, but may not retry it.
    let manager = hub.user("manager").await;
    let (s, _) = hub
        .get("/api/sync/queue?status=failed", &manager.token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = retry_failed(&hub, &manager.token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Retrying before the fix fails again, with the same message.
    let (s, b) = retry_failed(&hub, hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(queue(&hub, "failed").await.len(), 1);

    db.client
        .batch_execute("ALTER TABLE public.customers DROP CONSTRAINT no_zed")
        .await
        .expect("fix the cause");
    // With sync off, a retry would send nothing: refused, and the item stays.
    let (s, b) = hub
        .post("/api/sync/disable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = retry_failed(&hub, hub.owner_token()).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let why = b["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("sync is off"), "{b}");
    assert_eq!(queue(&hub, "failed").await.len(), 1);
    let (s, b) = hub
        .post("/api/sync/enable", hub.owner_token(), &json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = retry_failed(&hub, hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["retriedFailed"], 1, "{b}");
    assert!(
        cloud_row(&db, "customers", &zed_id).await.is_some(),
        "arrived after the fix"
    );
    assert!(queue(&hub, "failed").await.is_empty());
    db.drop_db().await;
}

/// Always fails a customer named `Stuck` with a deadlock (transient).
const ALWAYS_TRANSIENT: &str = "
CREATE FUNCTION public.stuck() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'simulated deadlock' USING ERRCODE = '40P01';
END $$;
CREATE TRIGGER stuck BEFORE INSERT OR UPDATE ON public.customers
  FOR EACH ROW WHEN (NEW.last_name = 'Stuck') EXECUTE FUNCTION public.stuck();";

#[tokio::test]
async fn transient_failures_back_off_and_fail_after_the_configured_attempts() {
    let db = fresh_db("sync_attempts").await;
    db.client
        .batch_execute(ALWAYS_TRANSIENT)
        .await
        .expect("the trigger");
    let hub = TestHub::spawn().await;
    enable_sync(&hub, &db.url).await;
    let id = hub
        .create_id(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Sam", "last_name": "Stuck" }),
        )
        .await;
    drain(&hub).await;
    let mut waits = Vec::new();
    for attempt in 1..=2 {
        let retry = queue(&hub, "retry").await;
        assert_eq!(retry.len(), 1, "attempt {attempt}: {retry:?}");
        assert_eq!(retry[0]["attempts"], attempt);
        let at = time::OffsetDateTime::parse(
            retry[0]["nextAttemptAt"].as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("an instant");
        let updated = time::OffsetDateTime::parse(
            retry[0]["updatedAt"].as_str().expect("a time"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("an instant");
        waits.push((at - updated).whole_milliseconds());
        // Not due yet: a step leaves it alone.
        drain(&hub).await;
        assert_eq!(queue(&hub, "retry").await[0]["attempts"], attempt);
        hub.state.sync.clock().advance(Duration::from_secs(3600));
        drain(&hub).await;
    }
    // retryDelay 1000 ms with ±25% jitter, doubling.
    assert!((750..=1300).contains(&waits[0]), "{waits:?}");
    assert!((1500..=2600).contains(&waits[1]), "{waits:?}");
    let failed = queue(&hub, "failed").await;
    assert_eq!(failed.len(), 1, "FAILED after 3 attempts: {failed:?}");
    assert_eq!(failed[0]["attempts"], 3);
    assert_eq!(failed[0]["recordId"], json!(id));
    assert!(failed[0]["lastError"]
        .as_str()
        .unwrap_or("")
        .contains("40P01"));
    db.drop_db().await;
}

/// A change-log entry whose bytes are no longer an Automerge change (damaged on
/// disk) holds back its own record, FAILED with a message that says so, and
/// nothing else: the records beside it in the batch and every later write still
/// arrive, the hub keeps the record as it was, and once the bytes are repaired
/// a retry from the API sends it.
#[tokio::test]
async fn a_damaged_change_fails_its_record_alone_and_the_rest_arrives() {
    let db = fresh_db("sync_damaged").await;
    let proxy = Proxy::start(host_port(&db.url)).await;
    let hub = TestHub::spawn().await;
    enable_with(&hub, &pg_config(&with_port(&db.url, proxy.port))).await;
    drain(&hub).await;
    // The cloud is away while the records are written and one is damaged:
    // the hub's own loop may try them meanwhile, but marks nothing.
    proxy.cut();
    let mut ids = Vec::new();
    for name in ["Ann", "Ben", "Cal"] {
        let rec = hub
            .create(
                "customers",
                hub.owner_token(),
                &json!({ "first_name": name, "last_name": "Damaged" }),
            )
            .await;
        ids.push(rec["id"].as_str().expect("id").to_string());
    }
    let ben = ids[1].clone();
    let (s, ben_before) = hub.get(&api_id("customers", &ben), hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{ben_before}");
    // Damage Ben's create in the change log, as a bad sector would.
    let rw = hub.db_writable();
    let good: Vec<u8> = rw
        .query_row(
            "SELECT bytes FROM change_log WHERE record_id = ?1",
            [&ben],
            |r| r.get(0),
        )
        .expect("Ben's change");
    let changed = rw
        .execute(
            "UPDATE change_log SET bytes = X'8561000000000000DEADBEEF' WHERE record_id = ?1",
            [&ben],
        )
        .expect("damage it");
    assert_eq!(changed, 1);
    proxy.restore();

    let out = drain(&hub).await;
    assert!(out.unreachable.is_none(), "{out:?}");
    assert_eq!((out.pushed, out.failed), (2, 1), "{out:?}");
    for id in [&ids[0], &ids[2]] {
        assert!(
            cloud_row(&db, "customers", id).await.is_some(),
            "{id} arrived"
        );
    }
    assert!(cloud_row(&db, "customers", &ben).await.is_none());
    let failed = queue(&hub, "failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["recordId"], json!(ben));
    let why = failed[0]["lastError"].as_str().unwrap_or("");
    assert!(
        why.contains("damaged") && why.contains("not an Automerge change"),
        "{why}"
    );
    let (s, ben_now) = hub.get(&api_id("customers", &ben), hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ben_now, ben_before, "the hub keeps the record as it was");

    // Later writes are not held up behind it.
    let dee = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "first_name": "Dee", "last_name": "Damaged" }),
        )
        .await;
    let dee = dee["id"].as_str().expect("id").to_string();
    let out = drain(&hub).await;
    assert_eq!(out.failed, 0, "{out:?}");
    assert!(
        cloud_row(&db, "customers", &dee).await.is_some(),
        "Dee arrived"
    );

    // Repaired (as a restore would), a retry from the API sends it.
    rw.execute(
        "UPDATE change_log SET bytes = ?1 WHERE record_id = ?2",
        rusqlite::params![good, ben],
    )
    .expect("repair it");
    let (s, b) = retry_failed(&hub, hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    drain(&hub).await;
    assert!(
        cloud_row(&db, "customers", &ben).await.is_some(),
        "Ben arrived"
    );
    assert!(queue(&hub, "failed").await.is_empty());
    assert_eq!(
        cloud_count(
            &db,
            &format!("SELECT count(*) FROM public.crdt_changes WHERE record_id = '{ben}'")
        )
        .await,
        1,
        "Ben's change arrived once, under its own hash"
    );
    db.drop_db().await;
}
