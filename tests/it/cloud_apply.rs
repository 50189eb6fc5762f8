//! The cloud is never open while it is being set up: the migration and policy
//! files are applied one at a time, the way an owner applies them by hand
//! (`psql -f` or pasted into the SQL editor, no wrapping transaction), stopping
//! after each, and after each one no table granted to `anon` or `authenticated`
//! is without (forced) row level security, and neither role reads or writes
//! anything. Before each file lands, a copy of it that fails at its very end is
//! applied first: it must leave nothing behind (every file is one transaction).
//!
//! The bootstrap gives new tables Supabase's default grants (anon and
//! authenticated get ALL), so a table is reachable the moment it exists unless
//! RLS is on.

use crate::pg::{connect, empty_db, repo_root};
use serde_json::json;
use std::path::PathBuf;
use tokio_postgres::Client;
use uuid::Uuid;

/// Every file in the order `supabase/apply.sh` applies them.
pub(crate) fn files_in_order() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["supabase/migrations", "rls"] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

/// Runs SQL text through `psql -f -` as the owner would run a file by hand.
pub(crate) async fn psql(
    url: &str,
    sql: &str,
    on_error_stop: bool,
    extra: &[&str],
) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("psql")
        .arg(url)
        .args(["--no-psqlrc", "--quiet", "-v"])
        .arg(format!("ON_ERROR_STOP={}", u8::from(on_error_stop)))
        .args(extra)
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run psql (postgresql-client)");
    let mut stdin = child.stdin.take().expect("psql stdin");
    stdin.write_all(sql.as_bytes()).await.expect("feed psql");
    drop(stdin);
    let out = child.wait_with_output().await.expect("psql output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Everything a file could leave behind: relations, RLS flags and grants,
/// policies, triggers, functions, schemas.
async fn fingerprint(client: &Client) -> String {
    let row = client
        .query_one(
            // Each list sorted by its own text (inside an aggregate, `ORDER BY 1`
            // sorts by the constant 1: catalog order, which a rolled-back apply
            // may change).
            "SELECT concat_ws(E'\\n',
               (SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT n.nspname::text || '.' || c.relname::text || ' ' || c.relkind::text || ' '
                         || c.relrowsecurity::text || c.relforcerowsecurity::text || ' '
                         || coalesce(c.relacl::text, '-') AS x
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname IN ('public', 'app_private')) s),
               (SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT polrelid::regclass::text || ' ' || polname::text AS x FROM pg_policy) s),
               (SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT tgrelid::regclass::text || ' ' || tgname::text AS x
                    FROM pg_trigger WHERE NOT tgisinternal) s),
               (SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT p.oid::regprocedure::text AS x
                    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname IN ('public', 'app_private')) s),
               (SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
                  SELECT nspname::text || ' ' || coalesce(nspacl::text, '-') AS x
                    FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%') s))",
            &[],
        )
        .await
        .expect("catalog fingerprint");
    row.get(0)
}

/// Tables granted to anon or authenticated without RLS enabled and forced.
async fn granted_without_rls(client: &Client) -> Vec<String> {
    client
        .query(
            "SELECT c.relname::text || ' (rls ' || c.relrowsecurity || ', forced '
                    || c.relforcerowsecurity || ')'
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
               AND (has_table_privilege('anon', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
                    OR has_table_privilege('authenticated', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE'))
               AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
             ORDER BY 1",
            &[],
        )
        .await
        .expect("pg_class")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// What `role` with `claims` can do to the seeded rows: reads of every public
/// relation and an insert into shops and users. Returns what it got through.
async fn probe(client: &mut Client, role: &str, claims: &str, shop: Uuid) -> Vec<String> {
    let relations: Vec<String> = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v') ORDER BY 1",
            &[],
        )
        .await
        .expect("relations")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut leaks = Vec::new();
    for rel in &relations {
        let tx = client.transaction().await.expect("BEGIN");
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims],
        )
        .await
        .expect("claims");
        tx.batch_execute(&format!("SET LOCAL ROLE {role}"))
            .await
            .expect("SET ROLE");
        if let Ok(row) = tx
            .query_one(&format!("SELECT count(*) FROM public.{rel}"), &[])
            .await
        {
            let n: i64 = row.get(0);
            if n > 0 {
                leaks.push(format!("{role} reads {n} row(s) of {rel}"));
            }
        }
        tx.rollback().await.expect("ROLLBACK");
    }
    let id = Uuid::new_v4().to_string();
    let shop_s = shop.to_string();
    let writes: [(&str, String, Vec<String>); 2] = [
        (
            "shops",
            "INSERT INTO public.shops (id, shop_id, created_at, updated_at, name)
             VALUES ($1::text::uuid, $1::text::uuid, now(), now(), 'Intruder')"
                .into(),
            vec![id.clone()],
        ),
        (
            "users",
            "INSERT INTO public.users (id, shop_id, created_at, updated_at, email, display_name, role)
             VALUES ($1::text::uuid, $2::text::uuid, now(), now(), 'x@example.test', 'X', 'owner')"
                .into(),
            vec![id.clone(), shop_s.clone()],
        ),
    ];
    for (table, sql, params) in writes {
        let exists: bool = client
            .query_one("SELECT to_regclass('public.' || $1) IS NOT NULL", &[&table])
            .await
            .expect("to_regclass")
            .get(0);
        if !exists {
            continue;
        }
        let tx = client.transaction().await.expect("BEGIN");
        tx.execute(
            "SELECT set_config('request.jwt.claims', $1, true)",
            &[&claims],
        )
        .await
        .expect("claims");
        tx.batch_execute(&format!("SET LOCAL ROLE {role}"))
            .await
            .expect("SET ROLE");
        let p: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|s| s as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        if tx.execute(&sql, &p).await.is_ok() {
            leaks.push(format!("{role} inserts into {table}"));
        }
        tx.rollback().await.expect("ROLLBACK");
    }
    leaks
}

/// The last `COMMIT;` of a file, replaced by a failure and then that COMMIT: the
/// whole file has run when the failure strikes.
fn failing_copy(sql: &str) -> String {
    let fail = "DO $$ BEGIN RAISE EXCEPTION 'injected failure at the end of the file'; END $$;\n";
    match sql.rfind("\nCOMMIT;") {
        Some(i) => format!("{}\n{fail}{}", &sql[..i], &sql[i..]),
        None => format!("{sql}\n{fail}"),
    }
}

#[tokio::test]
async fn no_apply_order_or_failure_leaves_a_granted_table_without_rls() {
    let (url, name) = empty_db("apply_steps").await;
    let bootstrap =
        std::fs::read_to_string(repo_root().join("supabase/bootstrap/plain_postgres.sql"))
            .expect("bootstrap");
    let (ok, err) = psql(&url, &bootstrap, true, &["--single-transaction"]).await;
    assert!(ok, "bootstrap: {err}");
    let mut client = connect(&url).await;

    let shop = Uuid::new_v4();
    let owner = Uuid::new_v4();
    let callers = [
        ("anon", json!({}).to_string()),
        ("authenticated", json!({}).to_string()),
        (
            "authenticated",
            json!({"role": "authenticated", "sub": Uuid::new_v4().to_string(),
                   "shop_id": Uuid::new_v4().to_string(), "user_role": "owner"})
            .to_string(),
        ),
        (
            "authenticated",
            json!({"role": "authenticated", "sub": Uuid::new_v4().to_string(),
                   "shop_id": Uuid::new_v4().to_string(), "user_role": "hub"})
            .to_string(),
        ),
    ];
    let mut failures = Vec::new();
    let mut seeded = false;
    for file in files_in_order() {
        let rel = file
            .strip_prefix(repo_root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let sql = std::fs::read_to_string(&file).expect("read file");

        // A failed apply, with and without ON_ERROR_STOP, leaves nothing behind.
        for stop in [true, false] {
            let before = fingerprint(&client).await;
            let _ = psql(&url, &failing_copy(&sql), stop, &[]).await;
            let after = fingerprint(&client).await;
            assert_eq!(
                before, after,
                "{rel}: a failure at its end (ON_ERROR_STOP={stop}) left part of it applied"
            );
        }

        let (ok, err) = psql(&url, &sql, true, &[]).await;
        assert!(ok, "{rel} does not apply on its own: {err}");
        if !seeded {
            // Rows to be seen, as the cloud holds them: one shop and its owner.
            client
                .batch_execute(&format!(
                    "INSERT INTO public.shops (id, shop_id, created_at, updated_at, name)
                     VALUES ('{shop}', '{shop}', now(), now(), 'Shop');
                     INSERT INTO public.users (id, shop_id, created_at, updated_at, email, display_name, role, hourly_rate_cents)
                     VALUES ('{owner}', '{shop}', now(), now(), 'o@example.test', 'O', 'owner', 5000);"
                ))
                .await
                .expect("seed a shop after the schema file");
            seeded = true;
        }
        for t in granted_without_rls(&client).await {
            failures.push(format!("after {rel}: {t} is granted without RLS"));
        }
        for (role, claims) in &callers {
            for leak in probe(&mut client, role, claims, shop).await {
                failures.push(format!("after {rel}: {leak} ({claims})"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    drop(client);
    let admin = connect(&crate::pg::admin_url()).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("drop database");
}
