//! Every cell of tests/matrix.tsv, checked against the cloud's policies: each
//! table × verb × role run as a staff caller of shop A, against rows of A and B.

use super::{
    count_by_id, delete, fixtures, fresh, insert, nothing, run, staff, table, touch, update,
    Fixtures, Outcome, ROLES,
};
use crate::matrix_file::{cases as matrix_cases, Case};
use collisionos::domain::catalog::TABLES;
use serde_json::json;
use tokio_postgres::Client;

fn owner_table(name: &str) -> Option<&'static str> {
    TABLES
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| t.owner_column.map(|_| t.name))
}

/// Checks one cell; returns what went wrong, if anything.
async fn check_case(client: &mut Client, fx: &Fixtures, c: &Case) -> Vec<String> {
    let (a, b) = (&fx.a, &fx.b);
    let t = table(&c.table);
    let me = staff(a, c.role);
    let mut errs = Vec::new();
    let mut expect = |what: &str, got: Outcome, ok: bool| {
        if !ok {
            errs.push(format!(
                "{} {} as {} [{}]: {what}: got {got:?}",
                c.table, c.verb, c.role, c.cell
            ));
        }
    };
    let base_a = a.row(t.name);
    let base_b = b.row(t.name);
    match (c.verb.as_str(), c.cell) {
        ("read", 'A') => {
            // Every user's profile is read through the view without the hourly
            // rate (the column rules: tests/columns.tsv, tests/it/columns_rls.rs).
            let readable = if t.name == "users" {
                "user_profiles"
            } else {
                t.name
            };
            let got = count_by_id(client, &me, readable, base_a).await;
            expect(
                "sees a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = count_by_id(client, &me, readable, base_b).await;
            expect("does not see shop B", got.clone(), nothing(&got));
        }
        ("read", '-') => {
            let sql = format!("SELECT count(*) FROM public.{}", t.name);
            let got = run(client, &me, &sql, &[], true).await;
            expect("sees no row at all", got.clone(), nothing(&got));
        }
        ("read", 'O') => {
            let name = owner_table(t.name).expect("O on a table without owner column");
            let got = count_by_id(client, &me, name, a.own(name, c.role)).await;
            expect("sees own row", got.clone(), got == Outcome::Rows(1));
            let got = count_by_id(client, &me, name, base_a).await;
            expect("does not see another's row", got.clone(), nothing(&got));
        }
        ("insert", 'A') => {
            let got = insert(client, &me, t.name, &fresh(t, a)).await;
            expect(
                "inserts into own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = insert(client, &me, t.name, &fresh(t, b)).await;
            expect(
                "cannot insert into shop B",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("insert", '-') => {
            let got = insert(client, &me, t.name, &fresh(t, a)).await;
            expect(
                "insert refused (42501)",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("insert", 'O') => {
            let owner = t.owner_column.expect("O on a table without owner column");
            let mut mine = fresh(t, a);
            mine.insert(owner.into(), json!(a.user(c.role).to_string()));
            let got = insert(client, &me, t.name, &mine).await;
            expect("inserts own row", got.clone(), got == Outcome::Rows(1));
            let mut theirs = fresh(t, a);
            theirs.insert(owner.into(), json!(a.user("owner").to_string()));
            let got = insert(client, &me, t.name, &theirs).await;
            expect(
                "cannot insert another's row",
                got.clone(),
                got == Outcome::Denied,
            );
        }
        ("update", 'A') => {
            let got = touch(client, &me, t.name, base_a).await;
            expect(
                "updates a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = touch(client, &me, t.name, base_b).await;
            expect("cannot update shop B", got.clone(), nothing(&got));
        }
        ("update", '-') => {
            let got = touch(client, &me, t.name, base_a).await;
            expect("updates nothing", got.clone(), nothing(&got));
        }
        ("update", 'O') => {
            let got = touch(client, &me, t.name, a.own(t.name, c.role)).await;
            expect("updates own row", got.clone(), got == Outcome::Rows(1));
            let got = touch(client, &me, t.name, base_a).await;
            expect("cannot update another's row", got.clone(), nothing(&got));
            if t.name == "labor_entries" && c.role == "technician" {
                let got = touch(client, &me, t.name, a.approved_labor).await;
                expect(
                    "cannot update own approved entry",
                    got.clone(),
                    nothing(&got),
                );
            }
        }
        ("update", 'S') => {
            let mine = a.user(c.role);
            let got = update(client, &me, "users", "display_name = 'Renamed'", mine).await;
            expect(
                "edits own display_name",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = update(client, &me, "users", "role = 'owner'", mine).await;
            expect(
                "cannot change own role (42501)",
                got.clone(),
                got == Outcome::Denied,
            );
            let got = update(client, &me, "users", "display_name = 'X'", a.user("owner")).await;
            expect("cannot edit another user", got.clone(), nothing(&got));
        }
        ("delete", 'A') => {
            let got = delete(client, &me, t.name, base_a).await;
            expect(
                "deletes a row of own shop",
                got.clone(),
                got == Outcome::Rows(1),
            );
            let got = delete(client, &me, t.name, base_b).await;
            expect("cannot delete in shop B", got.clone(), nothing(&got));
        }
        ("delete", '-') => {
            let got = delete(client, &me, t.name, base_a).await;
            expect("deletes nothing", got.clone(), nothing(&got));
        }
        ("delete", 'O') => {
            let got = delete(client, &me, t.name, a.own(t.name, c.role)).await;
            expect("deletes own row", got.clone(), got == Outcome::Rows(1));
            let got = delete(client, &me, t.name, base_a).await;
            expect("cannot delete another's row", got.clone(), nothing(&got));
        }
        (verb, cell) => expect(
            &format!("unknown verb/cell {verb}/{cell} in matrix.tsv"),
            Outcome::Failed(String::new()),
            false,
        ),
    }
    errs
}

#[tokio::test]
async fn every_cell_of_the_role_matrix_holds_in_postgres() {
    let mut fx = fixtures("matrix").await;
    let cases = matrix_cases();
    let tables: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.table.as_str()).collect();
    let catalog: std::collections::BTreeSet<&str> = TABLES.iter().map(|t| t.name).collect();
    assert_eq!(
        tables, catalog,
        "matrix.tsv covers exactly the catalog's tables"
    );
    assert_eq!(cases.len(), TABLES.len() * 4 * ROLES.len());

    // The client is moved out for the &mut borrows and put back at the end.
    let mut client = std::mem::replace(&mut fx.db.client, crate::pg::connect(&fx.db.url).await);
    let mut failures = Vec::new();
    for c in &cases {
        failures.extend(check_case(&mut client, &fx, c).await);
    }
    assert!(
        failures.is_empty(),
        "{} of {} matrix cases failed:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
    drop(client);
    fx.db.drop_db().await;
}
