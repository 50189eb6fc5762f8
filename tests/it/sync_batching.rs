//! How the worker cuts what is due into pushes: a backlog goes in full batches
//! back to back; the partial batch after them is left to gather for a debounce
//! (pushed at once, it would chase every new write with a push of a few
//! records); a partial batch on its own is pushed at once. The hub is built but
//! not served, so no background loop pushes between the test's steps.

use crate::common::table_id;
use crate::pg::{fresh_db, TestDb};
use crate::sync_support::cloud_count;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{Role, ShopId};
use collisionos::store::{WriteOp, WriteRequest};
use collisionos::sync::config::EnvConfig;
use serde_json::json;

/// A hub syncing to `db` over the Postgres wire (batches of 50, the default),
/// not served; its owner.
async fn hub(dir: &std::path::Path, db: &TestDb) -> (App, Principal) {
    let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), dir.to_path_buf());
    let url = db.url.clone();
    config.sync = EnvConfig::from_lookup(|k| match k {
        "SYNC_ENABLED" => Some("true".into()),
        "SUPABASE_DB_URL" => Some(url.clone()),
        _ => None,
    })
    .expect("the sync settings");
    let app = App::build(&config).await.expect("the app builds");
    let (shop, owner) = init_shop(
        app.store(),
        NewShop {
            shop_name: "Batching Collision",
            owner_email: "owner@batching.test",
            owner_name: "Owner",
            password: "correct horse battery".into(),
        },
    )
    .await
    .expect("the shop");
    app.state.sync.reload().await.expect("sync reloads");
    let owner = Principal {
        shop_id: ShopId::new(shop),
        user_id: Some(owner),
        role: Role::Owner,
    };
    (app, owner)
}

async fn create_customers(app: &App, who: &Principal, n: usize, last_name: &str) {
    let table = table_id("customers");
    let items = (0..n)
        .map(|i| {
            let body = json!({ "first_name": format!("Batch {i}"), "last_name": last_name });
            let (_, fields) = parse_object(table.def(), &body, Mode::Create).expect("valid");
            (None, fields)
        })
        .collect();
    app.store()
        .write(WriteRequest {
            who: who.clone(),
            table,
            op: WriteOp::BulkCreate(items),
            skip_sync: false,
            password_hash: None,
        })
        .await
        .expect("created");
}

async fn count(db: &TestDb, last_name: &str) -> i64 {
    cloud_count(
        db,
        &format!("SELECT count(*) FROM public.customers WHERE last_name = '{last_name}'"),
    )
    .await
}

#[tokio::test]
async fn full_batches_go_back_to_back_and_the_partial_one_after_them_waits_for_the_debounce() {
    let db = fresh_db("sync_batching").await;
    let dir = tempfile::tempdir().expect("a data dir");
    let (app, owner) = hub(dir.path(), &db).await;
    let sync = &app.state.sync;
    let out = sync.drain(100).await.expect("the shop and its owner");
    assert_eq!(out.failed, 0, "{out:?}");

    // 120 records due: 50 and 50 pushed back to back, the last 20 left.
    create_customers(&app, &owner, 120, "Backlog").await;
    let out = sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.failed, out.more, out.left),
        (100, 0, false, true),
        "{out:?}"
    );
    assert_eq!(count(&db, "Backlog").await, 100);

    // The next step (after the debounce, in the loop) pushes them.
    let out = sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.more, out.left),
        (20, false, false),
        "{out:?}"
    );
    assert_eq!(count(&db, "Backlog").await, 120);

    // A partial batch with nothing before it is pushed at once.
    create_customers(&app, &owner, 7, "Trickle").await;
    let out = sync.run_batches(64).await.expect("a step");
    assert_eq!(
        (out.pushed, out.more, out.left),
        (7, false, false),
        "{out:?}"
    );
    assert_eq!(count(&db, "Trickle").await, 7);

    // Draining (sync now, tests) pushes everything, the left part included.
    create_customers(&app, &owner, 130, "Drained").await;
    let out = sync.drain(100).await.expect("drained");
    assert_eq!(
        (out.failed, out.more, out.left),
        (0, false, false),
        "{out:?}"
    );
    assert_eq!(count(&db, "Drained").await, 130);
    db.drop_db().await;
}
