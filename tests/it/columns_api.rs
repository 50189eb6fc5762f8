//! Every case of `tests/columns.tsv` through the hub's API, as a signed-in user
//! of each role: reads of a user (get, list, `me`, a list filtered by the
//! column) show the hourly rate only to FIN and the user themself, and
//! narrowed updates of repair orders and parts are refused with a 403 naming
//! the field, nothing stored. Then the conflicts list: it never shows candidate
//! values of a column the caller may not read.

use crate::columns_file::{cases, ColumnCase, Op, RowKind};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

struct World {
    hub: TestHub,
    refs: Refs,
    users: BTreeMap<&'static str, TestUser>,
    /// A user none of the callers is: the "fixture" row of users.
    subject: TestUser,
}

async fn world() -> World {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let refs = hub.fixtures(&owner, &hub.shop_id).await;
    let mut users = BTreeMap::new();
    for role in ROLES {
        let u = if *role == "owner" {
            owner.clone()
        } else {
            hub.user(role).await
        };
        users.insert(*role, u);
    }
    let subject = hub.user("technician").await;
    World {
        hub,
        refs,
        users,
        subject,
    }
}

fn error_names(got: &(StatusCode, Value), status: StatusCode, field: &str) -> bool {
    got.0 == status
        && got.1["error"]["code"].is_string()
        && got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("{field}:")))
}

impl World {
    async fn check(&self, c: &ColumnCase) -> Result<(), String> {
        let hub = &self.hub;
        let owner = hub.owner_token();
        let me = &self.users[c.role];
        let id = match (c.row, c.table) {
            (RowKind::OwnUser, _) => me.id.clone(),
            (RowKind::Fixture, "users") => self.subject.id.clone(),
            (RowKind::Fixture, table) => {
                let rec = hub
                    .create(table, owner, &valid_body(table, &self.refs))
                    .await;
                rec["id"].as_str().expect("an id").to_string()
            }
        };
        let path = api_id(c.table, &id);
        if !c.given.is_empty() {
            let got = hub
                .patch(&path, owner, &Value::Object(c.given.clone()))
                .await;
            assert_eq!(got.0, StatusCode::OK, "{}: given: {}", c.label(), got.1);
        }
        let label = c.label();
        match &c.op {
            Op::Read(col) => {
                let want = if c.allowed {
                    c.given.get(col).cloned()
                } else {
                    None
                };
                let mut seen = Vec::new();
                let got = hub.get(&path, &me.token).await;
                seen.push(("get", got.1.get(col).cloned(), got.0));
                let got = hub
                    .get(&format!("{}?limit=500", api(c.table)), &me.token)
                    .await;
                let row = got.1["data"]
                    .as_array()
                    .and_then(|rows| rows.iter().find(|r| r["id"] == json!(id)))
                    .cloned()
                    .unwrap_or(Value::Null);
                seen.push(("list", row.get(col).cloned(), got.0));
                if c.row == RowKind::OwnUser {
                    let got = hub.get("/api/auth/me", &me.token).await;
                    seen.push(("me", got.1.get(col).cloned(), got.0));
                }
                for (how, value, status) in seen {
                    if status != StatusCode::OK || value != want {
                        return Err(format!("{label}: {how} answered {status} with {value:?}"));
                    }
                }
                if c.row == RowKind::Fixture {
                    let value = c.given.get(col).map(query_value).unwrap_or_default();
                    let url = format!("{}?{col}={value}&limit=500", api(c.table));
                    let got = hub.get(&url, &me.token).await;
                    let ok = if c.allowed {
                        got.0 == StatusCode::OK
                            && got.1["data"]
                                .as_array()
                                .is_some_and(|rows| rows.iter().any(|r| r["id"] == json!(id)))
                    } else {
                        error_names(&got, StatusCode::FORBIDDEN, col)
                    };
                    if !ok {
                        return Err(format!("{label}: filtered by it: {} {}", got.0, got.1));
                    }
                }
            }
            Op::Update(fields) => {
                let (_, was) = hub.read_as_owner(c.table, &id).await;
                let before = hub.snapshot();
                let got = hub
                    .patch(&path, &me.token, &Value::Object(fields.clone()))
                    .await;
                if c.allowed {
                    if got.0 != StatusCode::OK {
                        return Err(format!("{label}: {} {}", got.0, got.1));
                    }
                    for (f, v) in fields {
                        // Timestamps come back in the hub's own spelling.
                        if !f.ends_with("_at") && got.1[f.as_str()] != *v {
                            return Err(format!("{label}: {f} is {}", got.1[f.as_str()]));
                        }
                    }
                } else {
                    let field = c.field.as_deref().unwrap_or("?");
                    if !error_names(&got, StatusCode::FORBIDDEN, field) {
                        return Err(format!("{label}: {} {}", got.0, got.1));
                    }
                    let diff = snapshot_diff(&before, &hub.snapshot());
                    let now = hub.read_as_owner(c.table, &id).await.1;
                    if !diff.is_empty() || now != was {
                        return Err(format!("{label}: refused, yet stored: {diff:?}"));
                    }
                }
            }
        }
        Ok(())
    }
}

#[tokio::test]
async fn every_column_case_holds_through_the_api() {
    let w = world().await;
    let cases = cases();
    let mut failures = Vec::new();
    for c in &cases {
        if let Err(e) = w.check(c).await {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} column cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn conflicts_never_show_values_of_a_column_the_caller_may_not_read() {
    let w = world().await;
    let hub = &w.hub;
    let owner = hub.owner_token();
    let path = api_id("users", &w.subject.id);
    // Two writes on the same heads: concurrent values of the rate.
    let (_, rec) = hub.read_as_owner("users", &w.subject.id).await;
    let base = rec["_heads"].clone();
    for rate in [5100, 5200] {
        let got = hub
            .patch(
                &path,
                owner,
                &json!({ "hourly_rate_cents": rate, "_base": base }),
            )
            .await;
        assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    }
    let shows_rate = |v: &Value| {
        v["data"].as_array().is_some_and(|rows| {
            rows.iter()
                .any(|r| r["record_id"] == json!(w.subject.id) && r["field"] == "hourly_rate_cents")
        })
    };
    let got = hub.get("/api/conflicts", owner).await;
    assert!(shows_rate(&got.1), "the owner sees the conflict: {}", got.1);
    for role in ROLES {
        let got = hub.get("/api/conflicts", &w.users[role].token).await;
        assert_eq!(got.0, StatusCode::OK, "{role}: {}", got.1);
        let fin = matches!(*role, "owner" | "admin" | "manager" | "accountant");
        assert_eq!(
            shows_rate(&got.1),
            fin,
            "{role} and the rate's conflict: {}",
            got.1
        );
    }
}
