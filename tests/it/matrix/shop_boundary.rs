//! The shop boundary through the API: another shop's records are invisible,
//! untouchable and unreferenceable, and one e-mail with an account in each shop
//! signs in to the shop it names only.

use super::{load_matrix, status_is, Matrix};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeMap;

fn cell(m: &Matrix, table: &str, verb: &str, role: &str) -> char {
    m[&(table.to_string(), verb.to_string())][role]
}

#[tokio::test]
async fn another_shops_records_are_invisible_untouchable_and_unreferenceable() {
    let m = load_matrix();
    let hub = TestHub::spawn().await;
    let a_owner = hub.owner.clone();
    let a = hub.fixtures(&a_owner, &hub.shop_id).await;
    let b_shop = hub.second_shop("Shop B Auto Body").await;
    let b_owner = b_shop.owner.clone();
    let b = hub.fixtures(&b_owner, &b_shop.shop_id).await;
    let tb = b_owner.token.as_str();

    let mut a_records = BTreeMap::new();
    for (table, id) in a.ids() {
        let (s, rec) = hub.read_as_owner(table, id).await;
        assert_eq!(s, StatusCode::OK);
        a_records.insert(table, rec);
    }
    let before = hub.snapshot();

    let mut failures: Vec<String> = Vec::new();
    for (table, id) in a.ids() {
        let path = api_id(table, id);
        // Where the verb is refused to every owner, 403 says nothing about the
        // record; elsewhere, another shop's record is simply not there.
        let expect = |verb: &str| {
            if cell(&m, table, verb, "owner") == 'A' {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            }
        };
        let (col, value) = patch_for(table);
        let cases = [
            ("get", hub.get(&path, tb).await, StatusCode::NOT_FOUND),
            (
                "history",
                hub.get(&format!("{path}/history"), tb).await,
                StatusCode::NOT_FOUND,
            ),
            (
                "patch",
                hub.patch(&path, tb, &json!({ col: value })).await,
                expect("update"),
            ),
            ("delete", hub.delete(&path, tb).await, expect("delete")),
        ];
        for (verb, got, want) in cases {
            if let Err(e) = status_is(&got, want, &format!("shop B {verb} shop A's {table}")) {
                failures.push(e);
            }
        }
        let (s, list) = hub.get(&format!("{}?limit=500", api(table)), tb).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let rows = list["data"].as_array().expect("data");
        if rows
            .iter()
            .any(|r| a.ids().any(|(_, aid)| r["id"] == json!(aid)))
        {
            failures.push(format!("shop B's list of {table} shows shop A's rows"));
        }
        if !rows.iter().all(|r| r["shop_id"] == json!(b_shop.shop_id)) {
            failures.push(format!(
                "shop B's list of {table} shows another shop's rows"
            ));
        }
        if rows.is_empty() {
            failures.push(format!("shop B's list of {table} lacks B's own fixture"));
        }
    }
    let diff = snapshot_diff(&before, &hub.snapshot());
    assert!(
        diff.is_empty(),
        "shop B's attempts changed the store: {diff:?}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every reference column, pointed by shop B at shop A's record: 422 naming it.
    for table in table_names() {
        if table == "shops" {
            continue;
        }
        let refs: Vec<(&str, &str)> = table_id(table).def().refs().collect();
        for (col, target) in refs {
            let mut body = valid_body(table, &b);
            body[col] = json!(a.id(target));
            let got = hub.post(&api(table), tb, &body).await;
            let field = assert_error(
                &got,
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_reference",
                &format!("shop B creates {table} with shop A's {col}"),
            );
            assert_eq!(field.as_deref(), Some(col), "{table}");
        }
        // Naming shop A as the record's shop.
        let mut body = valid_body(table, &b);
        body["shop_id"] = json!(hub.shop_id);
        let got = hub.post(&api(table), tb, &body).await;
        let field = assert_error(
            &got,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_reference",
            &format!("shop B creates {table} in shop A"),
        );
        assert_eq!(field.as_deref(), Some("shop_id"));
    }
    // Re-pointing an existing record of B at A's, alone or in a bulk.
    let got = hub
        .patch(
            &api_id("vehicles", b.id("vehicles")),
            tb,
            &json!({ "customer_id": a.id("customers") }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        "re-point B's vehicle at A's customer",
    );
    let mut records = vec![valid_body("vehicles", &b), valid_body("vehicles", &b)];
    records[1]["customer_id"] = json!(a.id("customers"));
    let got = hub
        .post("/api/vehicles/bulk", tb, &json!({ "records": records }))
        .await;
    assert_error(
        &got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_reference",
        "a bulk of B pointing at A",
    );
    let diff = snapshot_diff(&before, &hub.snapshot());
    assert!(
        diff.is_empty(),
        "refused references changed the store: {diff:?}"
    );

    // Shop A's records are as they were.
    for (table, was) in &a_records {
        let (_, now) = hub
            .read_as_owner(table, was["id"].as_str().expect("id"))
            .await;
        assert_eq!(&now, was, "shop A's {table} changed");
    }

    // One e-mail with an account in each shop: the login must name the shop, and
    // then signs in to that shop only.
    hub.create(
        "users",
        tb,
        &json!({
            "email": OWNER_EMAIL,
            "display_name": "Same Address",
            "role": "technician",
            "password": "shop b's own password",
        }),
    )
    .await;
    let got = hub.try_login(OWNER_EMAIL, PASSWORD).await;
    let field = assert_error(
        &got,
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "ambiguous login",
    );
    assert_eq!(field.as_deref(), Some("shop_id"));
    for (shop, password, role) in [
        (hub.shop_id.as_str(), PASSWORD, "owner"),
        (
            b_shop.shop_id.as_str(),
            "shop b's own password",
            "technician",
        ),
    ] {
        let (s, body) = hub
            .request(
                reqwest::Method::POST,
                "/api/auth/login",
                None,
                Some(&json!({ "email": OWNER_EMAIL, "password": password, "shop_id": shop })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["user"]["shop_id"], json!(shop));
        assert_eq!(body["user"]["role"], json!(role));
    }
    let (s, _) = hub
        .request(
            reqwest::Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({ "email": OWNER_EMAIL, "password": PASSWORD, "shop_id": b_shop.shop_id })),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "shop A's password opened shop B's account"
    );
}
