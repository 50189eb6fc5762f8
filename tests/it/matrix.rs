//! The role matrix, held to `tests/matrix.tsv` (which states it independently of
//! `src/domain/policy.rs`): every table × verb × role through the API, as a user
//! of that role. Then the shop boundary (another shop's records are invisible,
//! untouchable and unreferenceable) and the guards on changing roles.
//!
//! Cells: `A` = allowed on every row of the caller's shop; `-` = 403 and nothing
//! stored changes; `O` = own rows only (technician_id = caller; updates only while
//! not approved, never `approved` itself); `S` = own user row only, display name only.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const VERBS: [&str; 4] = ["read", "insert", "update", "delete"];

/// `tests/matrix.tsv`: (table, verb) → role → cell.
type Matrix = BTreeMap<(String, String), BTreeMap<String, char>>;

fn load_matrix() -> Matrix {
    let mut m = Matrix::new();
    for c in crate::matrix_file::cases() {
        m.entry((c.table, c.verb))
            .or_default()
            .insert(c.role.to_string(), c.cell);
    }
    m
}

fn cell(m: &Matrix, table: &str, verb: &str, role: &str) -> char {
    m[&(table.to_string(), verb.to_string())][role]
}

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

/// Fails the current cell with a message.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

fn status_is(got: &(StatusCode, Value), want: StatusCode, what: &str) -> Result<(), String> {
    ensure!(
        got.0 == want,
        "{what}: expected {want}, got {} {}",
        got.0,
        got.1
    );
    if !want.is_success() {
        ensure!(
            got.1["error"]["code"].is_string() && got.1["error"]["message"].is_string(),
            "{what}: the error body is not shaped {{error:{{code,message}}}}: {}",
            got.1
        );
    }
    Ok(())
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

#[tokio::test]
async fn roles_cannot_be_raised_past_the_callers_own_or_changed_on_oneself() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let admin = hub.user("admin").await;
    let manager = hub.user("manager").await;
    let tech = hub.user("technician").await;

    let refused: Vec<(&str, &TestUser, String, Value)> = vec![
        (
            "a technician makes themselves owner",
            &tech,
            tech.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "a technician makes themselves manager",
            &tech,
            tech.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "a manager promotes a technician",
            &manager,
            tech.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "an admin grants owner",
            &admin,
            tech.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "an admin makes themselves owner",
            &admin,
            admin.id.clone(),
            json!({ "role": "owner" }),
        ),
        (
            "an admin changes their own role",
            &admin,
            admin.id.clone(),
            json!({ "role": "manager" }),
        ),
        (
            "an admin demotes the owner",
            &admin,
            owner.id.clone(),
            json!({ "role": "admin" }),
        ),
        (
            "an admin deactivates the owner",
            &admin,
            owner.id.clone(),
            json!({ "active": false }),
        ),
        (
            "the owner changes their own role",
            &owner,
            owner.id.clone(),
            json!({ "role": "admin" }),
        ),
        (
            "the owner deactivates themselves",
            &owner,
            owner.id.clone(),
            json!({ "active": false }),
        ),
    ];
    for (case, who, id, body) in refused {
        let (_, was) = hub.read_as_owner("users", &id).await;
        let before = hub.snapshot();
        let got = hub.patch(&api_id("users", &id), &who.token, &body).await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", case);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new(),
            "{case}"
        );
        assert_eq!(
            hub.read_as_owner("users", &id).await,
            (StatusCode::OK, was),
            "{case}"
        );
    }

    // An admin cannot create an owner either; the owner can.
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/users",
            &admin.token,
            &json!({
                "email": "second-owner@staff.test",
                "display_name": "Second Owner",
                "role": "owner",
                "password": PASSWORD,
            }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "an admin creates an owner",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
    // Nobody deletes themselves.
    let got = hub.delete(&api_id("users", &owner.id), &owner.token).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "the owner deletes themselves",
    );

    // The caller's role is what the account says now: the technician's token
    // still says technician, yet a promotion by an admin takes effect at once.
    let (s, me) = hub.get("/api/auth/me", &tech.token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["role"], json!("technician"));
    let vendor = json!({ "name": "Parts Depot" });
    let got = hub.post("/api/vendors", &tech.token, &vendor).await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a technician adds a vendor",
    );
    let (s, promoted) = hub
        .patch(
            &api_id("users", &tech.id),
            &admin.token,
            &json!({ "role": "parts_manager" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{promoted}");
    assert_eq!(promoted["role"], json!("parts_manager"));
    let (s, _) = hub.post("/api/vendors", &tech.token, &vendor).await;
    assert_eq!(s, StatusCode::CREATED, "the promotion took effect");

    // The owner may grant owner.
    let (s, granted) = hub
        .patch(
            &api_id("users", &admin.id),
            &owner.token,
            &json!({ "role": "owner" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{granted}");
    assert_eq!(granted["role"], json!("owner"));
}

#[tokio::test]
async fn passwords_are_set_only_by_those_who_manage_the_account() {
    let hub = TestHub::spawn().await;
    let owner = hub.owner.clone();
    let admin = hub.user("admin").await;
    let tech = hub.user("technician").await;
    let new_password = "a brand new password";

    let refused: Vec<(&str, &TestUser, &TestUser, Value)> = vec![
        (
            "an admin resets the owner's password",
            &admin,
            &owner,
            json!({ "password": new_password }),
        ),
        (
            "a technician resets another's password",
            &tech,
            &admin,
            json!({ "password": new_password }),
        ),
        (
            "a technician sets their own password here, with a new name",
            &tech,
            &tech,
            json!({ "display_name": "Sneaky", "password": new_password }),
        ),
        (
            "a technician sets their own password here",
            &tech,
            &tech,
            json!({ "password": new_password }),
        ),
    ];
    for (case, who, target, body) in refused {
        let (_, was) = hub.read_as_owner("users", &target.id).await;
        let before = hub.snapshot();
        let got = hub
            .patch(&api_id("users", &target.id), &who.token, &body)
            .await;
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", case);
        assert_eq!(
            snapshot_diff(&before, &hub.snapshot()),
            Vec::<String>::new(),
            "{case}"
        );
        assert_eq!(
            hub.read_as_owner("users", &target.id).await,
            (StatusCode::OK, was),
            "{case}"
        );
        let (s, _) = hub.try_login(&target.email, new_password).await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{case}: the new password works"
        );
        hub.login(&target.email, PASSWORD).await;
    }

    // An admin may reset a technician's password, and the owner anyone's.
    let (s, body) = hub
        .patch(
            &api_id("users", &tech.id),
            &admin.token,
            &json!({ "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The reset ended the technician's sessions: they log in again.
    let tech_token = hub.login(&tech.email, new_password).await;
    let (s, _) = hub.try_login(&tech.email, PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old password still works");
    let (s, body) = hub
        .patch(
            &api_id("users", &admin.id),
            &owner.token,
            &json!({ "password": new_password }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    hub.login(&admin.email, new_password).await;

    // Everyone changes their own through /api/auth/password, knowing the current one.
    let (s, body) = hub
        .post(
            "/api/auth/password",
            &tech_token,
            &json!({ "current_password": new_password, "new_password": "the third password" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let tech_token = hub.login(&tech.email, "the third password").await;
    let before = hub.snapshot();
    let got = hub
        .post(
            "/api/auth/password",
            &tech_token,
            &json!({ "current_password": "a wrong guess!", "new_password": "the fourth password" }),
        )
        .await;
    assert_error(
        &got,
        StatusCode::FORBIDDEN,
        "forbidden",
        "a wrong current password",
    );
    assert_eq!(
        snapshot_diff(&before, &hub.snapshot()),
        Vec::<String>::new()
    );
}
