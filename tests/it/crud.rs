//! Every table's create, read, list, update, delete and bulk create through the
//! API as the owner, checked in the answers and in the SQLite file: each write
//! leaves its change-log entry (with the change bytes) and one coalesced
//! sync-queue entry; business numbers are per shop and sequential; `_base`
//! merges different fields and lists same-field edits as conflicts.

use crate::common::*;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{ColType, Role, TABLES};
use collisionos::store::queue::DueRecord;
use collisionos::store::{WriteOp, WriteRequest};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashSet};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Tables nobody may update or delete (append-only / immutable in docs/roles.md).
const IMMUTABLE: &[&str] = &["ro_stage_history", "signatures"];

/// One change-log row: (op, length of the change bytes, author id, seq).
type LogRow = (String, usize, Option<String>, i64);

fn change_log(hub: &TestHub, table: &str, id: &str) -> Vec<LogRow> {
    let db = hub.db();
    let mut stmt = db
        .prepare(
            "SELECT op, length(bytes), author_id, seq FROM change_log
             WHERE table_name = ?1 AND record_id = ?2 ORDER BY seq",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([table, id], |r| {
            Ok((
                r.get(0)?,
                r.get::<_, i64>(1)? as usize,
                r.get(2)?,
                r.get(3)?,
            ))
        })
        .expect("query change_log");
    rows.collect::<Result<_, _>>().expect("read change_log")
}

/// The record's next push, as the sync worker's own read of the queue gives it
/// (the change log past its cursor, and the items): its coalesced operation and
/// the last change it covers, or `None` when nothing of it waits for the cloud.
async fn next_push(hub: &TestHub, table: &str, id: &str) -> Option<(String, i64)> {
    let rec = due_record(hub, table, id).await?;
    Some((rec.operation, rec.seq))
}

async fn due_record(hub: &TestHub, table: &str, id: &str) -> Option<DueRecord> {
    let batch = hub
        .state
        .sync
        .queue()
        .due(
            "9999-12-31T00:00:00.000000Z".into(),
            100_000,
            HashSet::new(),
            None,
        )
        .await
        .expect("the due batch");
    batch
        .records
        .into_iter()
        .find(|r| r.table.name() == table && r.record_id == id)
}

fn ops(log: &[LogRow]) -> Vec<&str> {
    log.iter().map(|(op, ..)| op.as_str()).collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn heads(v: &Value) -> Vec<String> {
    v["_heads"]
        .as_array()
        .unwrap_or_else(|| panic!("no _heads in {v}"))
        .iter()
        .map(|h| h.as_str().expect("a head is a string").to_string())
        .collect()
}

fn instant(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"))
}

/// Asserts a record answer has the system fields and echoes every field sent.
fn assert_record(table: &str, rec: &Value, sent: &Value, shop_id: &str) {
    let def = table_id(table).def();
    assert!(
        collisionos::domain::value::parse_uuid(str_of(rec, "id")).is_some(),
        "{table}: id {rec}"
    );
    assert_eq!(str_of(rec, "shop_id"), shop_id, "{table}: shop_id");
    instant(str_of(rec, "created_at"));
    instant(str_of(rec, "updated_at"));
    assert!(!heads(rec).is_empty(), "{table}: _heads is empty: {rec}");
    for (k, v) in sent.as_object().expect("an object body") {
        if k == "password" {
            continue;
        }
        let col = def
            .column(k)
            .unwrap_or_else(|| panic!("{table}.{k} is not a column"));
        if col.ty == ColType::Timestamp {
            assert_eq!(
                instant(str_of(rec, k)),
                instant(v.as_str().expect("a timestamp")),
                "{table}.{k}"
            );
        } else {
            assert_eq!(&rec[k.as_str()], v, "{table}.{k} as created: {rec}");
        }
    }
    assert!(
        rec.as_object()
            .expect("a record object")
            .keys()
            .all(|k| !k.contains("password")),
        "{table}: a password field leaked: {rec}"
    );
}

fn number_of(table: &str) -> Option<(&'static str, &'static str)> {
    NUMBERED
        .iter()
        .find(|(t, ..)| *t == table)
        .map(|(_, c, p)| (*c, *p))
}

#[tokio::test]
async fn no_password_or_hash_is_ever_a_column_or_an_answer() {
    let hub = TestHub::spawn().await;
    let db = hub.db();
    for table in table_names() {
        let mut stmt = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("prepare");
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("columns");
        assert!(!cols.is_empty(), "{table} has no columns");
        assert!(
            cols.iter()
                .all(|c| !c.contains("password") && !c.contains("hash")),
            "{table} has a secret column: {cols:?}"
        );
    }
    let (s, body) = hub.try_login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    let (_, me) = hub.get("/api/auth/me", hub.owner_token()).await;
    let (_, list) = hub.get("/api/users", hub.owner_token()).await;
    for answer in [&body, &me, &list] {
        let text = answer.to_string();
        assert!(!text.contains("argon2"), "a hash leaked: {text}");
        assert!(!text.contains(PASSWORD), "a password leaked: {text}");
    }
    assert_eq!(me["id"], json!(hub.owner.id));
}

#[test]
fn the_numbered_tables_are_the_catalogs() {
    let catalog: BTreeSet<(&str, &str, &str)> = TABLES
        .iter()
        .filter_map(|t| t.numbering.map(|n| (t.name, n.column, n.prefix)))
        .collect();
    let ours: BTreeSet<(&str, &str, &str)> = NUMBERED.iter().copied().collect();
    assert_eq!(catalog, ours);
}

#[tokio::test]
async fn every_table_creates_reads_updates_and_deletes_as_owner() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;

    for table in table_names() {
        let (col, value) = match table {
            // A stage change appends a history row, which (append-only) would then
            // keep this repair order from being deleted below; moves have their
            // own test (stage_history.rs).
            "repair_orders" => ("priority", json!("high")),
            _ => patch_for(table),
        };

        if table == "shops" {
            let path = api_id(table, &hub.shop_id);
            let (s, shop) = hub.get(&path, &owner.token).await;
            assert_eq!(s, StatusCode::OK, "{shop}");
            assert_eq!(str_of(&shop, "id"), hub.shop_id);
            assert_eq!(str_of(&shop, "shop_id"), hub.shop_id);
            let (s, list) = hub.get(&api(table), &owner.token).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
            let (s, patched) = hub.patch(&path, &owner.token, &json!({ col: value })).await;
            assert_eq!(s, StatusCode::OK, "{patched}");
            assert_eq!(patched[col], value);
            assert_ne!(heads(&patched), heads(&shop));
            assert!(str_of(&patched, "updated_at") >= str_of(&shop, "updated_at"));
            let before = hub.snapshot();
            let got = hub
                .post(&api(table), &owner.token, &valid_body(table, &refs))
                .await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", "insert a shop");
            let got = hub.delete(&path, &owner.token).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", "delete the shop");
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            continue;
        }

        // Create.
        let body = valid_body(table, &refs);
        let (s, rec) = hub.post(&api(table), &owner.token, &body).await;
        assert_eq!(s, StatusCode::CREATED, "create {table}: {rec}");
        assert_record(table, &rec, &body, &hub.shop_id);
        let id = str_of(&rec, "id").to_string();
        if let Some((col, prefix)) = number_of(table) {
            // The fixture was this shop's first; this is its second.
            let (_, first) = hub.read_as_owner(table, refs.id(table)).await;
            assert_eq!(first[col], json!(format!("{prefix}00001")), "{table}");
            assert_eq!(rec[col], json!(format!("{prefix}00002")), "{table}");
        }

        // Get: the same record as the create answered.
        let path = api_id(table, &id);
        let (s, got) = hub.get(&path, &owner.token).await;
        assert_eq!(s, StatusCode::OK, "get {table}: {got}");
        assert_eq!(got, rec, "{table}: get differs from the create's answer");

        // List: it is there, and every row is this shop's.
        let (s, list) = hub.get(&api(table), &owner.token).await;
        assert_eq!(s, StatusCode::OK, "list {table}: {list}");
        let rows = list["data"].as_array().expect("data");
        assert!(rows.iter().any(|r| r["id"] == json!(id)), "{table}: {list}");
        assert!(rows.iter().all(|r| r["shop_id"] == json!(hub.shop_id)));

        let log = change_log(&hub, table, &id);
        assert_eq!(ops(&log), ["create"], "{table}");
        assert!(log[0].1 > 0, "{table}: the change bytes are empty");
        assert_eq!(
            log[0].2.as_deref(),
            Some(owner.id.as_str()),
            "{table}: author"
        );
        assert_eq!(
            next_push(&hub, table, &id).await,
            Some(("CREATE".to_string(), log[0].3)),
            "{table}"
        );

        if IMMUTABLE.contains(&table) {
            let before = hub.snapshot();
            let got = hub.patch(&path, &owner.token, &json!({ col: value })).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", table);
            let got = hub.delete(&path, &owner.token).await;
            assert_error(&got, StatusCode::FORBIDDEN, "forbidden", table);
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            assert_eq!(hub.get(&path, &owner.token).await, (StatusCode::OK, rec));
            continue;
        }

        // Patch: the field changes, so do the heads; updated_at does not go back.
        let (s, patched) = hub.patch(&path, &owner.token, &json!({ col: value })).await;
        assert_eq!(s, StatusCode::OK, "patch {table}: {patched}");
        assert_eq!(patched[col], value, "{table}.{col}");
        assert_ne!(
            heads(&patched),
            heads(&rec),
            "{table}: heads did not change"
        );
        assert!(str_of(&patched, "updated_at") >= str_of(&rec, "updated_at"));
        assert_eq!(patched["created_at"], rec["created_at"]);
        let (_, reread) = hub.get(&path, &owner.token).await;
        assert_eq!(reread, patched, "{table}: get after patch");
        for (k, v) in rec.as_object().expect("object") {
            if !["updated_at", "_heads", col].contains(&k.as_str()) {
                assert_eq!(
                    &patched[k.as_str()],
                    v,
                    "{table}.{k} changed by a patch of {col}"
                );
            }
        }

        // Filter by the patched column: exactly this record.
        let (s, found) = hub
            .get(
                &format!("{}?{col}={}", api(table), query_value(&value)),
                &owner.token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "filter {table}: {found}");
        let found: Vec<&Value> = found["data"].as_array().expect("data").iter().collect();
        assert_eq!(found.len(), 1, "{table}?{col}: {found:?}");
        assert_eq!(found[0]["id"], json!(id));

        // Delete: gone from get and list; its history stays.
        let (s, deleted) = hub.delete(&path, &owner.token).await;
        assert_eq!(s, StatusCode::OK, "delete {table}: {deleted}");
        assert_eq!(deleted["id"], json!(id));
        assert_eq!(deleted["deleted"], json!(true));
        let got = hub.get(&path, &owner.token).await;
        assert_error(&got, StatusCode::NOT_FOUND, "not_found", "get after delete");
        let (_, list) = hub.get(&api(table), &owner.token).await;
        assert!(
            list["data"]
                .as_array()
                .expect("data")
                .iter()
                .all(|r| r["id"] != json!(id)),
            "{table}: a deleted record is still listed"
        );
        assert_eq!(hub.count(table, &hub.shop_id), {
            // The fixture (and for users, the owner) remain.
            if table == "users" {
                2
            } else {
                1
            }
        });

        let log = change_log(&hub, table, &id);
        assert_eq!(ops(&log), ["create", "update", "delete"], "{table}");
        assert!(log.iter().all(|(_, bytes, ..)| *bytes > 0), "{table}");
        assert!(log.windows(2).all(|w| w[0].3 < w[1].3), "{table}: seqs");
        assert_eq!(
            next_push(&hub, table, &id).await,
            Some(("DELETE".to_string(), log[2].3)),
            "{table}: one coalesced push"
        );
        let (s, history) = hub.get(&format!("{path}/history"), &owner.token).await;
        assert_eq!(s, StatusCode::OK, "{history}");
        assert_eq!(history["data"].as_array().map(Vec::len), Some(3));
    }
}

#[tokio::test]
async fn a_client_minted_id_is_kept_and_cannot_be_reused() {
    let hub = TestHub::spawn().await;
    let id = uuid::Uuid::now_v7().hyphenated().to_string();
    let rec = hub
        .create(
            "customers",
            hub.owner_token(),
            &json!({ "id": id, "first_name": "Mina" }),
        )
        .await;
    assert_eq!(rec["id"], json!(id));
    let before = hub.snapshot();
    let got = hub
        .post(&api("customers"), hub.owner_token(), &json!({ "id": id }))
        .await;
    assert_error(&got, StatusCode::CONFLICT, "conflict", "the same id twice");
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // Deleted, the id stays taken: its document (and history) lives on.
    let (s, _) = hub
        .delete(&api_id("customers", &id), hub.owner_token())
        .await;
    assert_eq!(s, StatusCode::OK);
    let got = hub
        .post(&api("customers"), hub.owner_token(), &json!({ "id": id }))
        .await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "a deleted record's id",
    );
}

#[tokio::test]
async fn lists_filter_limit_and_page_through_every_record_exactly_once() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;

    for table in table_names() {
        // At least five rows in each table (shops has just the one).
        match table {
            "shops" => {}
            "users" => {
                for _ in 0..3 {
                    hub.create(table, &owner.token, &valid_body(table, &refs))
                        .await;
                }
            }
            _ => {
                let records: Vec<Value> = (0..4).map(|_| valid_body(table, &refs)).collect();
                let (s, out) = hub
                    .post(
                        &format!("{}/bulk", api(table)),
                        &owner.token,
                        &json!({ "records": records }),
                    )
                    .await;
                assert_eq!(s, StatusCode::CREATED, "bulk {table}: {out}");
            }
        }
        let stored: BTreeSet<String> = {
            let db = hub.db();
            let mut stmt = db
                .prepare(&format!("SELECT id FROM {table} WHERE shop_id = ?1"))
                .expect("prepare");
            let ids = stmt
                .query_map([&hub.shop_id], |r| r.get(0))
                .expect("query")
                .collect::<Result<BTreeSet<String>, _>>()
                .expect("ids");
            ids
        };
        assert!(table == "shops" || stored.len() >= 5, "{table}");

        // Pages of two, following next_cursor, visit every record exactly once.
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        for page in 0.. {
            assert!(page <= stored.len(), "{table}: paging does not end");
            let path = match &cursor {
                Some(c) => format!("{}?limit=2&cursor={c}", api(table)),
                None => format!("{}?limit=2", api(table)),
            };
            let (s, body) = hub.get(&path, &owner.token).await;
            assert_eq!(s, StatusCode::OK, "{path}: {body}");
            let rows = body["data"].as_array().expect("data");
            assert!(rows.len() <= 2, "{path}: more rows than the limit");
            seen.extend(rows.iter().map(|r| str_of(r, "id").to_string()));
            match body["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(rows.len(), 2, "{path}: a short page with a cursor");
                    cursor = Some(c.to_string());
                }
                None => break,
            }
        }
        let unique_seen: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(
            unique_seen.len(),
            seen.len(),
            "{table}: a record came twice"
        );
        assert_eq!(unique_seen, stored, "{table}: paging missed records");

        // A limit alone caps the page.
        let (_, body) = hub
            .get(&format!("{}?limit=3", api(table)), &owner.token)
            .await;
        assert_eq!(
            body["data"].as_array().map(Vec::len),
            Some(stored.len().min(3)),
            "{table}"
        );

        // A filter finds exactly the patched record, also under a limit.
        let (col, value) = patch_for(table);
        let target = if table == "shops" {
            hub.shop_id.clone()
        } else {
            refs.id(table).to_string()
        };
        if IMMUTABLE.contains(&table) {
            continue;
        }
        let (s, _) = hub
            .patch(
                &api_id(table, &target),
                &owner.token,
                &json!({ col: value }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{table}");
        let (s, body) = hub
            .get(
                &format!("{}?{col}={}&limit=1", api(table), query_value(&value)),
                &owner.token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{table}: {body}");
        let rows = body["data"].as_array().expect("data");
        assert_eq!(rows.len(), 1, "{table}?{col}: {body}");
        assert_eq!(rows[0]["id"], json!(target));
        assert_eq!(rows[0][col], value);
    }

    // Two filters at once narrow further.
    let (_, body) = hub
        .get(
            "/api/customers?first_name=Ada&customer_type=business",
            &owner.token,
        )
        .await;
    assert_eq!(body["data"], json!([]), "{body}");
    let (_, body) = hub
        .get(
            "/api/customers?first_name=Ada&customer_type=individual",
            &owner.token,
        )
        .await;
    assert_eq!(body["data"].as_array().map(Vec::len), Some(5), "{body}");
}

#[tokio::test]
async fn bulk_create_stores_all_or_nothing() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;

    for table in table_names() {
        let bulk = format!("{}/bulk", api(table));
        if table == "shops" || table == "users" {
            let before = hub.snapshot();
            let got = hub
                .post(
                    &bulk,
                    &owner.token,
                    &json!({ "records": [valid_body(table, &refs)] }),
                )
                .await;
            let (status, code) = if table == "shops" {
                (StatusCode::FORBIDDEN, "forbidden")
            } else {
                (StatusCode::BAD_REQUEST, "bad_request")
            };
            assert_error(&got, status, code, &bulk);
            assert_eq!(
                snapshot_diff(&before, &hub.snapshot()),
                Vec::<String>::new()
            );
            continue;
        }

        // Three valid records: all stored, each waiting for the cloud as a CREATE.
        let records: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        let (s, out) = hub
            .post(&bulk, &owner.token, &json!({ "records": records }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{bulk}: {out}");
        let data = out["data"].as_array().expect("data");
        assert_eq!(data.len(), 3, "{bulk}");
        for (rec, sent) in data.iter().zip(&records) {
            assert_record(table, rec, sent, &hub.shop_id);
            let id = str_of(rec, "id");
            let log = change_log(&hub, table, id);
            assert_eq!(ops(&log), ["create"], "{table}");
            assert_eq!(
                next_push(&hub, table, id).await,
                Some(("CREATE".to_string(), log[0].3))
            );
        }
        if let Some((col, prefix)) = number_of(table) {
            let numbers: Vec<&Value> = data.iter().map(|r| &r[col]).collect();
            assert_eq!(
                numbers,
                [2, 3, 4]
                    .iter()
                    .map(|i| json!(format!("{prefix}{i:05}")))
                    .collect::<Vec<_>>()
                    .iter()
                    .collect::<Vec<_>>(),
                "{table}"
            );
        }

        // One bad record (caught when parsing): none stored.
        let before = hub.snapshot();
        let mut bad: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        bad[2]["no_such_column"] = json!("x");
        let got = hub
            .post(&bulk, &owner.token, &json!({ "records": bad }))
            .await;
        let field = assert_error(&got, StatusCode::BAD_REQUEST, "invalid_field", &bulk);
        assert_eq!(field.as_deref(), Some("records[2].no_such_column"));
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new()
        );

        // One bad record only the store can tell (an id used twice): none stored,
        // and the business-number counter did not move.
        let id = uuid::Uuid::now_v7().hyphenated().to_string();
        let mut dup: Vec<Value> = (0..3).map(|_| valid_body(table, &refs)).collect();
        dup[0]["id"] = json!(id);
        dup[2]["id"] = json!(id);
        let got = hub
            .post(&bulk, &owner.token, &json!({ "records": dup }))
            .await;
        assert_error(&got, StatusCode::CONFLICT, "conflict", &bulk);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new()
        );
        let rec = hub
            .create(table, &owner.token, &valid_body(table, &refs))
            .await;
        if let Some((col, prefix)) = number_of(table) {
            assert_eq!(rec[col], json!(format!("{prefix}00005")), "{table}");
        }
    }

    // A reference to a record that does not exist, in the middle of a batch.
    let before = hub.snapshot();
    let mut records: Vec<Value> = (0..3).map(|_| valid_body("vehicles", &refs)).collect();
    records[1]["customer_id"] = json!(uuid::Uuid::now_v7().hyphenated().to_string());
    let got = hub
        .post(
            "/api/vehicles/bulk",
            &owner.token,
            &json!({ "records": records }),
        )
        .await;
    let field = assert_error(
        &got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        "bulk with a dangling reference",
    );
    assert_eq!(field.as_deref(), Some("records[1].customer_id"));
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}

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
            "SELECT seq, op, change_hash, author_id, fields, length(bytes), shop_id
             FROM change_log WHERE table_name = 'customers' AND record_id = ?1 ORDER BY seq",
        )
        .expect("prepare");
    type Row = (i64, String, String, Option<String>, String, i64, String);
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
    // The last change is the document's head.
    assert_eq!(heads(&p2), [rows[2].2.clone()]);
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
    assert_eq!(doc_heads, rows[2].2);

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

#[tokio::test]
async fn business_numbers_are_sequential_per_shop_even_when_raced() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    for i in 1..=3 {
        let ro = hub.create("repair_orders", &token, &json!({})).await;
        assert_eq!(ro["ro_number"], json!(format!("RO-{i:05}")));
    }

    // Twenty creates at once: twenty distinct numbers, no gaps.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let client = hub.client.clone();
        let url = format!("{}/api/repair_orders", hub.base_url);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("the hub answers");
            assert_eq!(resp.status(), StatusCode::CREATED);
            let rec: Value = resp.json().await.expect("a record");
            rec["ro_number"].as_str().expect("a number").to_string()
        }));
    }
    let mut numbers = BTreeSet::new();
    for t in tasks {
        numbers.insert(t.await.expect("the task finishes"));
    }
    let want: BTreeSet<String> = (4..=23).map(|i| format!("RO-{i:05}")).collect();
    assert_eq!(numbers, want);

    // A second shop counts from one, and does not move the first shop's counter.
    let b = hub.second_shop("Shop B Auto Body").await;
    let ro = hub
        .create("repair_orders", &b.owner.token, &json!({}))
        .await;
    assert_eq!(ro["ro_number"], json!("RO-00001"));
    assert_eq!(ro["shop_id"], json!(b.shop_id));
    let cust = hub.create("customers", &b.owner.token, &json!({})).await;
    assert_eq!(cust["customer_number"], json!("CUST-00001"));
    let ro = hub.create("repair_orders", &token, &json!({})).await;
    assert_eq!(ro["ro_number"], json!("RO-00024"));
    let ro = hub
        .create("repair_orders", &b.owner.token, &json!({}))
        .await;
    assert_eq!(ro["ro_number"], json!("RO-00002"));

    // A number given by the client is kept; the same number twice in one shop is
    // refused, while the other shop may use it.
    let ro = hub
        .create("repair_orders", &token, &json!({ "ro_number": "LEGACY-7" }))
        .await;
    assert_eq!(ro["ro_number"], json!("LEGACY-7"));
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/repair_orders",
            &token,
            &json!({ "ro_number": "LEGACY-7" }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "a duplicate RO number",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    hub.create(
        "repair_orders",
        &b.owner.token,
        &json!({ "ro_number": "LEGACY-7" }),
    )
    .await;
}

#[tokio::test]
async fn patches_on_one_base_merge_and_same_field_edits_become_conflicts() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Ann", "last_name": "Lee", "notes": "first" }),
        )
        .await;
    let id = str_of(&rec, "id").to_string();
    let path = api_id("customers", &id);
    let base = heads(&rec);

    // Two writers who both saw `base` edit different fields: both land.
    let (s, a) = hub
        .patch(
            &path,
            &token,
            &json!({ "first_name": "Anne", "_base": base }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (s, b) = hub
        .patch(
            &path,
            &token,
            &json!({ "last_name": "Leigh", "_base": base }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, now) = hub.get(&path, &token).await;
    assert_eq!(now["first_name"], json!("Anne"));
    assert_eq!(now["last_name"], json!("Leigh"));
    assert_eq!(now["notes"], json!("first"));
    assert_eq!(
        heads(&now).len(),
        2,
        "two concurrent changes, two heads: {now}"
    );
    let (_, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(conflicts["data"], json!([]), "{conflicts}");

    // Two writers who both saw `base2` edit the same field: one value wins, both
    // are kept, and the field is listed as a conflict.
    let base2 = heads(&now);
    let (s, _) = hub
        .patch(
            &path,
            &token,
            &json!({ "notes": "from the desk", "_base": base2 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, last) = hub
        .patch(
            &path,
            &token,
            &json!({ "notes": "from the bay", "_base": base2 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{last}");
    assert!(
        ["from the desk", "from the bay"].contains(&str_of(&last, "notes")),
        "{last}"
    );
    let (s, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(s, StatusCode::OK, "{conflicts}");
    let data = conflicts["data"].as_array().expect("data");
    assert_eq!(data.len(), 1, "{conflicts}");
    let c = &data[0];
    assert_eq!(c["table"], json!("customers"));
    assert_eq!(c["record_id"], json!(id));
    assert_eq!(c["field"], json!("notes"));
    let candidates: BTreeSet<&str> = c["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|v| v.as_str().expect("text"))
        .collect();
    assert_eq!(
        candidates,
        BTreeSet::from(["from the desk", "from the bay"])
    );
    assert_eq!(
        c["candidates"][0], last["notes"],
        "the winner comes first and is the stored value"
    );
    // The row in SQLite holds the winner.
    let stored: String = hub
        .db()
        .query_row("SELECT notes FROM customers WHERE id = ?1", [&id], |r| {
            r.get(0)
        })
        .expect("the row");
    assert_eq!(json!(stored), last["notes"]);

    // Another shop sees none of it.
    let other = hub.second_shop("Shop B").await;
    let (_, theirs) = hub.get("/api/conflicts", &other.owner.token).await;
    assert_eq!(theirs["data"], json!([]));

    // A plain write on the current heads settles the field.
    let (s, _) = hub
        .patch(&path, &token, &json!({ "notes": "settled" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, conflicts) = hub.get("/api/conflicts", &token).await;
    assert_eq!(conflicts["data"], json!([]), "{conflicts}");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_answers_the_record_and_writes_nothing() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let rec = hub
        .create(
            "customers",
            &token,
            &json!({ "first_name": "Lin", "notes": "same" }),
        )
        .await;
    let path = api_id("customers", str_of(&rec, "id"));
    let before = hub.snapshot();
    for body in [
        json!({ "notes": "same" }),
        json!({ "first_name": "Lin", "notes": "same" }),
        json!({ "notes": "same", "_base": heads(&rec) }),
        json!({ "shop_id": hub.shop_id }),
    ] {
        let (s, got) = hub.patch(&path, &token, &body).await;
        assert_eq!(s, StatusCode::OK, "{body}: {got}");
        assert_eq!(got, rec, "{body}");
    }
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // A real change after them is logged as usual.
    let (s, got) = hub.patch(&path, &token, &json!({ "notes": "new" })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got["notes"], json!("new"));
    assert_eq!(
        ops(&change_log(&hub, "customers", str_of(&rec, "id"))),
        ["create", "update"]
    );
}

#[tokio::test]
async fn identical_records_created_together_get_distinct_changes() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let same = json!({ "make": "Ford", "model": "F-150", "year": 2021 });
    let (s, out) = hub
        .post(
            "/api/vehicles/bulk",
            &token,
            &json!({ "records": [same, same, same] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{out}");
    let ids: Vec<&str> = out["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|r| str_of(r, "id"))
        .collect();
    let hashes: BTreeSet<String> = ids
        .iter()
        .map(|id| {
            hub.db()
                .query_row(
                    "SELECT change_hash FROM change_log WHERE record_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .expect("a change per record")
        })
        .collect();
    assert_eq!(hashes.len(), 3, "each record has its own change");
}

#[tokio::test]
async fn deleting_a_record_still_referenced_is_refused_and_changes_nothing() {
    let hub = TestHub::spawn().await;
    let token = hub.owner.token.clone();
    let cust = hub.create("customers", &token, &json!({})).await;
    let cust_id = str_of(&cust, "id").to_string();
    let veh = hub
        .create("vehicles", &token, &json!({ "customer_id": cust_id }))
        .await;
    let before = hub.snapshot();
    let got = hub.delete(&api_id("customers", &cust_id), &token).await;
    assert_error(
        &got,
        StatusCode::CONFLICT,
        "conflict",
        "delete a referenced customer",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    assert_eq!(
        hub.read_as_owner("customers", &cust_id).await,
        (StatusCode::OK, cust)
    );
    // Once nothing points at it, it goes.
    let (s, _) = hub
        .delete(&api_id("vehicles", str_of(&veh, "id")), &token)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = hub.delete(&api_id("customers", &cust_id), &token).await;
    assert_eq!(s, StatusCode::OK);
}
