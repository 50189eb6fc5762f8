//! Lists over every table: pages of a limit, following `next_cursor`, visit every
//! record exactly once; a limit caps a page; filters find exactly what they name.

use super::{str_of, IMMUTABLE};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

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
