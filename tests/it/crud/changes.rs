//! What a write leaves behind: its change-log rows (op, fields, author, bytes,
//! the document's head) and one coalesced push per record for the cloud; a
//! `skip_sync` write logs its change but queues nothing.

use super::{change_log, due_record, heads, next_push, str_of};
use crate::common::*;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::Role;
use collisionos::store::{WriteOp, WriteRequest};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn writes_log_their_change_and_coalesce_into_one_push() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create("customers", &token, &json!({ "first_name": "Grace" }))
        .await;
    let id = str_of(&rec, "id").to_string();
    let path = api_id("customers", &id);
    let (_, p1) = hub
        .patch(&path, &token, &json!({ "last_name": "Hopper" }))
        .await;
    let (s, p2) = hub
        .patch(&path, &token, &json!({ "phone": "555-0111" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{p2}");
    assert_eq!(p2["last_name"], json!("Hopper"));
    assert_ne!(heads(&p1), heads(&p2));

    let db = hub.db();
    let mut stmt = db
        .prepare(
            "SELECT seq, op, bytes, author_id, fields, length(bytes), shop_id
             FROM change_log WHERE table_name = 'customers' AND record_id = ?1 ORDER BY seq",
        )
        .expect("prepare");
    type Row = (i64, String, Vec<u8>, Option<String>, String, i64, String);
    let rows: Vec<Row> = stmt
        .query_map([&id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["create", "update", "update"]
    );
    for r in &rows {
        assert!(r.5 > 0, "empty change bytes");
        assert_eq!(r.3.as_deref(), Some(hub.owner.id.as_str()));
        assert_eq!(r.6, hub.shop_id);
    }
    assert_eq!(rows[1].4, r#"["last_name"]"#);
    assert_eq!(rows[2].4, r#"["phone"]"#);
    // The last change is the document's head (its hash is in its bytes).
    let last = collisionos::crdt::chunk::change_ids(&rows[2].2).expect("a change");
    assert_eq!(heads(&p2), std::slice::from_ref(&last.hash));
    // One push, still a CREATE (the cloud has never seen the record),
    // pointing at the latest change.
    assert_eq!(
        next_push(&hub, "customers", &id).await,
        Some(("CREATE".to_string(), rows[2].0))
    );
    let doc_heads: String = db
        .query_row(
            "SELECT heads FROM crdt_docs WHERE table_name = 'customers' AND record_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .expect("the record's document");
    assert_eq!(doc_heads, last.hash);

    // A delete coalesces into the same push.
    hub.delete(&path, &token).await;
    let seq: i64 = db
        .query_row("SELECT MAX(seq) FROM change_log", [], |r| r.get(0))
        .expect("max seq");
    assert_eq!(
        next_push(&hub, "customers", &id).await,
        Some(("DELETE".to_string(), seq))
    );
}

#[tokio::test]
async fn skip_sync_writes_the_change_but_nothing_for_the_cloud() {
    let hub = TestHub::spawn().await;
    let customers = table_id("customers");
    let (_, fields) = parse_object(
        customers.def(),
        &json!({ "first_name": "From", "last_name": "The Cloud" }),
        Mode::Create,
    )
    .expect("valid fields");
    let before = hub.snapshot();
    let out = hub
        .state
        .store
        .write(WriteRequest {
            who: Principal {
                shop_id: collisionos::domain::ShopId::new(hub.shop_id.clone()),
                user_id: Some(hub.owner.id.clone()),
                role: Role::Owner,
            },
            table: customers,
            op: WriteOp::Create { id: None, fields },
            skip_sync: true,
            password_hash: None,
        })
        .await
        .expect("the store writes it");
    let id = out.records[0].id.clone();
    assert!(out.seq > 0);
    assert_eq!(
        change_log(&hub, "customers", &id)
            .iter()
            .map(|r| (r.0.as_str(), r.3))
            .collect::<Vec<_>>(),
        [("create", out.seq)]
    );
    assert_eq!(next_push(&hub, "customers", &id).await, None);
    let after = hub.snapshot();
    assert_eq!(
        before["sync_queue"], after["sync_queue"],
        "a queue entry was written"
    );
    assert_ne!(before["change_log"], after["change_log"]);

    // The record is there through the API, and a later ordinary write queues an UPDATE.
    let path = api_id("customers", &id);
    let (s, rec) = hub.get(&path, hub.owner_token()).await;
    assert_eq!(s, StatusCode::OK, "{rec}");
    assert_eq!(rec["last_name"], json!("The Cloud"));
    let (s, _) = hub
        .patch(&path, hub.owner_token(), &json!({ "notes": "edited here" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let log = change_log(&hub, "customers", &id);
    // Only the change made here travels: the cloud has the first.
    let rec = due_record(&hub, "customers", &id).await.expect("due");
    assert_eq!((rec.operation.as_str(), rec.seq), ("UPDATE", log[1].3));
    assert_eq!(
        rec.changes.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [log[1].3]
    );
}
