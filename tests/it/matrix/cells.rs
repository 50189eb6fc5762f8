//! Every cell of the role matrix through the API: the file states every table,
//! verb and role, and each cell holds for a signed-in user of that role (reads,
//! inserts, updates and deletes allowed, refused with nothing stored changing,
//! or confined to the caller's own rows).

use super::{load_matrix, status_is, VERBS};
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[test]
fn the_matrix_file_states_every_table_verb_and_role() {
    let m = load_matrix();
    let tables = table_names();
    for t in &tables {
        for v in VERBS {
            assert!(
                m.contains_key(&(t.to_string(), v.to_string())),
                "matrix.tsv has no row for {t} {v}"
            );
        }
    }
    for (t, v) in m.keys() {
        assert!(
            tables.contains(&t.as_str()),
            "matrix.tsv names unknown table {t}"
        );
        assert!(
            VERBS.contains(&v.as_str()),
            "matrix.tsv names unknown verb {v}"
        );
    }
    assert_eq!(m.len(), tables.len() * VERBS.len());
    // O only where rows have an owner; S only for updating users.
    for ((t, v), cells) in &m {
        for c in cells.values() {
            match c {
                'O' => assert!(
                    table_id(t).def().column("technician_id").is_some(),
                    "O on {t}, which has no technician_id"
                ),
                'S' => assert!(t == "users" && v == "update", "S on {t} {v}"),
                _ => {}
            }
        }
    }
}

/// One hub, its fixtures, and one signed-in user per role.
struct World {
    hub: TestHub,
    refs: Refs,
    users: BTreeMap<&'static str, TestUser>,
    /// For each role with `O` cells: its own unapproved and approved rows, by table.
    own: BTreeMap<(&'static str, &'static str), (String, Option<String>)>,
}

impl World {
    fn user(&self, role: &str) -> &TestUser {
        &self.users[role]
    }

    /// Asserts a refused write changed nothing: every table's rows, the change
    /// log, the queue, and the record itself as the owner sees it.
    async fn refused(
        &self,
        got: (StatusCode, Value),
        want: StatusCode,
        what: &str,
        before: &Snapshot,
        record: Option<(&str, &str, &Value)>,
    ) -> Result<(), String> {
        status_is(&got, want, what)?;
        let diff = snapshot_diff(before, &self.hub.snapshot());
        ensure!(diff.is_empty(), "{what}: the store changed: {diff:?}");
        if let Some((table, id, was)) = record {
            let now = self.hub.read_as_owner(table, id).await;
            ensure!(
                now == (StatusCode::OK, was.clone()),
                "{what}: the record changed: {was} -> {now:?}"
            );
        }
        Ok(())
    }

    /// A fresh row for a delete case, created by the owner.
    async fn fresh(&self, table: &str) -> String {
        let rec = self
            .hub
            .create(
                table,
                self.hub.owner_token(),
                &valid_body(table, &self.refs),
            )
            .await;
        rec["id"].as_str().expect("an id").to_string()
    }

    async fn check(&self, table: &str, verb: &str, role: &str, c: char) -> Result<(), String> {
        let hub = &self.hub;
        let u = self.user(role);
        let t = u.token.as_str();
        let fixture = if table == "shops" {
            hub.shop_id.clone()
        } else {
            self.refs.id(table).to_string()
        };
        let path = api_id(table, &fixture);
        let what = format!("{role} {verb} {table} (cell {c})");
        match (verb, c) {
            ("read", 'A') => {
                let got = hub.get(&path, t).await;
                status_is(&got, StatusCode::OK, &format!("{what}: get"))?;
                ensure!(got.1["id"] == json!(fixture), "{what}: got {}", got.1);
                let got = hub.get(&format!("{}?limit=500", api(table)), t).await;
                status_is(&got, StatusCode::OK, &format!("{what}: list"))?;
                let rows = got.1["data"].as_array().cloned().unwrap_or_default();
                ensure!(
                    rows.iter().any(|r| r["id"] == json!(fixture)),
                    "{what}: the list lacks the fixture"
                );
                let got = hub.get(&format!("{path}/history"), t).await;
                status_is(&got, StatusCode::OK, &format!("{what}: history"))?;
            }
            ("read", '-') => {
                for p in [path.clone(), api(table), format!("{path}/history")] {
                    let got = hub.get(&p, t).await;
                    status_is(&got, StatusCode::FORBIDDEN, &format!("{what}: GET {p}"))?;
                }
            }
            ("read", 'O') => {
                let (mine, _) = &self.own[&(table_name(table), role_name(role))];
                let got = hub.get(&format!("{}?limit=500", api(table)), t).await;
                status_is(&got, StatusCode::OK, &format!("{what}: list"))?;
                let rows = got.1["data"].as_array().cloned().unwrap_or_default();
                ensure!(
                    rows.iter().all(|r| r["technician_id"] == json!(u.id)),
                    "{what}: the list shows another's rows: {}",
                    got.1
                );
                ensure!(
                    rows.iter().any(|r| r["id"] == json!(mine)),
                    "{what}: the list lacks the caller's own row"
                );
                let got = hub.get(&api_id(table, mine), t).await;
                status_is(&got, StatusCode::OK, &format!("{what}: get own"))?;
                let got = hub.get(&path, t).await;
                status_is(
                    &got,
                    StatusCode::NOT_FOUND,
                    &format!("{what}: get another's"),
                )?;
                let got = hub.get(&format!("{path}/history"), t).await;
                status_is(
                    &got,
                    StatusCode::NOT_FOUND,
                    &format!("{what}: history of another's"),
                )?;
            }
            ("insert", 'A') => {
                let body = valid_body(table, &self.refs);
                let got = hub.post(&api(table), t, &body).await;
                status_is(&got, StatusCode::CREATED, &what)?;
            }
            ("insert", '-') => {
                let before = hub.snapshot();
                let got = hub
                    .post(&api(table), t, &valid_body(table, &self.refs))
                    .await;
                self.refused(got, StatusCode::FORBIDDEN, &what, &before, None)
                    .await?;
            }
            ("insert", 'O') => {
                let mut body = valid_body(table, &self.refs);
                body["technician_id"] = json!(u.id);
                let got = hub.post(&api(table), t, &body).await;
                status_is(&got, StatusCode::CREATED, &format!("{what}: own"))?;
                ensure!(
                    got.1["technician_id"] == json!(u.id),
                    "{what}: stored as {}",
                    got.1
                );
                let body = valid_body(table, &self.refs); // another's technician_id
                let before = hub.snapshot();
                let got = hub.post(&api(table), t, &body).await;
                self.refused(
                    got,
                    StatusCode::FORBIDDEN,
                    &format!("{what}: for another"),
                    &before,
                    None,
                )
                .await?;
            }
            ("update", 'A') => {
                let (col, value) = patch_for(table);
                let got = hub.patch(&path, t, &json!({ col: value })).await;
                status_is(&got, StatusCode::OK, &what)?;
                ensure!(got.1[col] == value, "{what}: {col} is {}", got.1[col]);
            }
            ("update", '-') => {
                let (col, value) = patch_for(table);
                let (_, was) = hub.read_as_owner(table, &fixture).await;
                let before = hub.snapshot();
                let got = hub.patch(&path, t, &json!({ col: value })).await;
                self.refused(
                    got,
                    StatusCode::FORBIDDEN,
                    &what,
                    &before,
                    Some((table, &fixture, &was)),
                )
                .await?;
            }
            ("update", 'O') => {
                let (mine, approved) = &self.own[&(table_name(table), role_name(role))];
                let (col, value) = patch_for(table);
                let got = hub
                    .patch(&api_id(table, mine), t, &json!({ col: value }))
                    .await;
                status_is(&got, StatusCode::OK, &format!("{what}: own"))?;
                let refusals: Vec<(String, String, Value, StatusCode)> = {
                    let mut v = vec![
                        (
                            "another's row".to_string(),
                            fixture.clone(),
                            json!({ col: value }),
                            StatusCode::NOT_FOUND,
                        ),
                        (
                            "giving own row to another".to_string(),
                            mine.clone(),
                            json!({ "technician_id": self.refs.id("users") }),
                            StatusCode::FORBIDDEN,
                        ),
                    ];
                    if let Some(approved) = approved {
                        v.push((
                            "own approved row".to_string(),
                            approved.clone(),
                            json!({ col: value }),
                            StatusCode::FORBIDDEN,
                        ));
                        v.push((
                            "setting approved".to_string(),
                            mine.clone(),
                            json!({ "approved": true }),
                            StatusCode::FORBIDDEN,
                        ));
                        v.push((
                            "setting approved_by".to_string(),
                            mine.clone(),
                            json!({ "approved_by": u.id }),
                            StatusCode::FORBIDDEN,
                        ));
                    }
                    v
                };
                for (case, id, body, want) in refusals {
                    let (_, was) = hub.read_as_owner(table, &id).await;
                    let before = hub.snapshot();
                    let got = hub.patch(&api_id(table, &id), t, &body).await;
                    self.refused(
                        got,
                        want,
                        &format!("{what}: {case}"),
                        &before,
                        Some((table, &id, &was)),
                    )
                    .await?;
                }
            }
            ("update", 'S') => {
                let me = api_id("users", &u.id);
                let got = hub
                    .patch(
                        &me,
                        t,
                        &json!({ "display_name": format!("{role} renamed") }),
                    )
                    .await;
                status_is(&got, StatusCode::OK, &format!("{what}: own display_name"))?;
                ensure!(
                    got.1["display_name"] == json!(format!("{role} renamed")),
                    "{what}: {}",
                    got.1
                );
                for (case, id, body) in [
                    ("own role", u.id.clone(), json!({ "role": "owner" })),
                    (
                        "own role (sideways)",
                        u.id.clone(),
                        json!({ "role": "manager" }),
                    ),
                    (
                        "own e-mail",
                        u.id.clone(),
                        json!({ "email": "new@staff.test" }),
                    ),
                    ("own active flag", u.id.clone(), json!({ "active": false })),
                    (
                        "another user's name",
                        self.refs.id("users").to_string(),
                        json!({ "display_name": "Hijacked" }),
                    ),
                ] {
                    let (_, was) = hub.read_as_owner("users", &id).await;
                    let before = hub.snapshot();
                    let got = hub.patch(&api_id("users", &id), t, &body).await;
                    self.refused(
                        got,
                        StatusCode::FORBIDDEN,
                        &format!("{what}: {case}"),
                        &before,
                        Some(("users", &id, &was)),
                    )
                    .await?;
                }
            }
            ("delete", 'A') => {
                let id = self.fresh(table).await;
                let got = hub.delete(&api_id(table, &id), t).await;
                status_is(&got, StatusCode::OK, &what)?;
                let got = hub.read_as_owner(table, &id).await;
                status_is(&got, StatusCode::NOT_FOUND, &format!("{what}: after"))?;
            }
            ("delete", '-') => {
                let id = if table == "shops" {
                    fixture.clone()
                } else {
                    self.fresh(table).await
                };
                let (_, was) = hub.read_as_owner(table, &id).await;
                let before = hub.snapshot();
                let got = hub.delete(&api_id(table, &id), t).await;
                self.refused(
                    got,
                    StatusCode::FORBIDDEN,
                    &what,
                    &before,
                    Some((table, &id, &was)),
                )
                .await?;
            }
            _ => return Err(format!("{what}: the test has no case for this cell")),
        }
        Ok(())
    }
}

fn table_name(t: &str) -> &'static str {
    table_id(t).name()
}

fn role_name(r: &str) -> &'static str {
    ROLES
        .iter()
        .copied()
        .find(|x| *x == r)
        .unwrap_or_else(|| panic!("unknown role {r}"))
}

#[tokio::test]
async fn every_cell_of_the_role_matrix_holds_through_the_api() {
    let m = load_matrix();
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
    // Each role with own-rows cells gets its own rows, made by the owner: one not
    // yet approved and (where rows are approved) one approved.
    let mut own = BTreeMap::new();
    for ((table, _), cells) in &m {
        for (role, c) in cells {
            let key = (table_name(table), role_name(role));
            if *c != 'O' || own.contains_key(&key) {
                continue;
            }
            let me = &users[key.1].id;
            let mut body = valid_body(table, &refs);
            body["technician_id"] = json!(me);
            let mine = hub.create(table, owner.token.as_str(), &body).await;
            let approved = if table_id(table).def().column("approved").is_some() {
                let mut body = valid_body(table, &refs);
                body["technician_id"] = json!(me);
                body["approved"] = json!(true);
                body["approved_by"] = json!(owner.id);
                let rec = hub.create(table, owner.token.as_str(), &body).await;
                Some(rec["id"].as_str().expect("an id").to_string())
            } else {
                None
            };
            own.insert(
                key,
                (mine["id"].as_str().expect("an id").to_string(), approved),
            );
        }
    }
    let world = World {
        hub,
        refs,
        users,
        own,
    };

    let mut failures = Vec::new();
    let mut cells = 0;
    for ((table, verb), row) in &m {
        for role in ROLES {
            cells += 1;
            let c = row[*role];
            if let Err(e) = world.check(table, verb, role, c).await {
                failures.push(e);
            }
        }
    }
    assert_eq!(cells, table_names().len() * VERBS.len() * ROLES.len());
    assert!(
        failures.is_empty(),
        "{} of {cells} matrix cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
