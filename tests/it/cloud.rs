//! The cloud mirror on a real Postgres: everything applies in order, its schema
//! matches the hub's SQLite and the catalog, it holds no secret-looking column,
//! and `cloud check` tells a clean database from a damaged one.

use crate::pg::{apply_all, fresh_db};
use collisionos::cloud::check::{check, Problem};
use collisionos::cloud::expected::CHANGES_TABLE;
use collisionos::cloud::introspect::live_schema;
use collisionos::domain::catalog::{ColType, TABLES};
use collisionos::domain::ddl::{postgres_type, sqlite_type};
use collisionos::store::schema::{migrate_file, sqlite_schema};

#[tokio::test]
async fn migrations_and_policies_apply_in_order_to_a_fresh_database() {
    let db = fresh_db("apply").await;
    let applied: Vec<String> = db
        .client
        .query(
            "SELECT name FROM collisionos_meta.applied_files ORDER BY name",
            &[],
        )
        .await
        .expect("applied files")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut on_disk: Vec<String> = Vec::new();
    for dir in ["supabase/migrations", "rls"] {
        for entry in std::fs::read_dir(crate::pg::repo_root().join(dir)).expect(dir) {
            let name = entry
                .expect("dir entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            if name.ends_with(".sql") {
                on_disk.push(format!("{dir}/{name}"));
            }
        }
    }
    on_disk.sort();
    assert_eq!(
        applied, on_disk,
        "every migration and policy file is applied"
    );
    assert!(on_disk.iter().any(|f| f.starts_with("rls/")));

    // Every catalog table and the change table exist, with RLS forced.
    let live = live_schema(&db.client).await.expect("introspect");
    for t in TABLES.iter().map(|t| t.name).chain([CHANGES_TABLE]) {
        let table = live.tables.get(t).unwrap_or_else(|| panic!("{t} missing"));
        assert!(table.rls_enabled && table.rls_forced, "{t}: RLS not forced");
    }

    // Applying again is a no-op (files are tracked, not re-run).
    apply_all(&db.url).await;

    // An applied file that changed afterwards stops the script (append-only).
    db.client
        .execute(
            "UPDATE collisionos_meta.applied_files SET sha256 = 'edited' WHERE name = $1",
            &[&on_disk[0]],
        )
        .await
        .expect("pretend the first file was edited");
    let out = tokio::process::Command::new("bash")
        .arg(crate::pg::repo_root().join("supabase/apply.sh"))
        .arg(&db.url)
        .output()
        .await
        .expect("run apply.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "apply.sh accepted an edited file");
    assert!(
        stderr.contains("was changed after it was applied"),
        "{stderr}"
    );
    db.drop_db().await;
}

/// Which Postgres types a SQLite storage class may mirror.
fn compatible(sqlite: &str, pg: &str) -> bool {
    match sqlite {
        "INTEGER" => matches!(pg, "bigint" | "boolean"),
        "TEXT" => matches!(
            pg,
            "text" | "uuid" | "timestamptz" | "date" | "numeric" | "jsonb"
        ),
        _ => false,
    }
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match_each_other_and_the_catalog() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hub.db");
    migrate_file(&path).expect("migrate SQLite");
    let sqlite = sqlite_schema(&path).expect("read SQLite schema");
    let db = fresh_db("parity").await;
    let pg = live_schema(&db.client).await.expect("read Postgres schema");

    let mut drift: Vec<String> = Vec::new();
    for t in TABLES {
        let Some(s) = sqlite.iter().find(|s| s.name == t.name) else {
            drift.push(format!("{}: missing in SQLite", t.name));
            continue;
        };
        let Some(p) = pg.tables.get(t.name) else {
            drift.push(format!("{}: missing in Postgres", t.name));
            continue;
        };
        let s_names: Vec<&str> = s.columns.iter().map(|c| c.name.as_str()).collect();
        let p_names: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        let c_names: Vec<&str> = t.all_column_names().collect();
        if s_names != p_names {
            drift.push(format!(
                "{}: columns differ\n    SQLite:   {s_names:?}\n    Postgres: {p_names:?}",
                t.name
            ));
        }
        if s_names != c_names {
            drift.push(format!(
                "{}: SQLite columns differ from the catalog\n    SQLite:  {s_names:?}\n    catalog: {c_names:?}",
                t.name
            ));
        }
        for name in &c_names {
            let (Some(sc), Some(pc)) = (s.column(name), p.column(name)) else {
                continue;
            };
            // The catalog's view of the column (system columns are uuid/timestamptz, NOT NULL).
            let (cat_sqlite, cat_pg, cat_not_null, cat_list) = match t.column(name) {
                Some(c) => (
                    sqlite_type(c.ty),
                    postgres_type(c.ty),
                    c.required,
                    match c.ty {
                        ColType::Enum(v) => Some(v.iter().map(|x| x.to_string()).collect()),
                        _ => None,
                    },
                ),
                None if *name == "id" || *name == "shop_id" => ("TEXT", "uuid", true, None),
                None => ("TEXT", "timestamptz", true, None),
            };
            let at = format!("{}.{name}", t.name);
            if !compatible(&sc.decl_type, &pc.pg_type) {
                drift.push(format!(
                    "{at}: SQLite {} cannot mirror Postgres {}",
                    sc.decl_type, pc.pg_type
                ));
            }
            if sc.decl_type != cat_sqlite {
                drift.push(format!(
                    "{at}: SQLite type {} but the catalog maps to {cat_sqlite}",
                    sc.decl_type
                ));
            }
            if pc.pg_type != cat_pg {
                drift.push(format!(
                    "{at}: Postgres type {} but the catalog maps to {cat_pg}",
                    pc.pg_type
                ));
            }
            if sc.not_null != pc.not_null || sc.not_null != cat_not_null {
                drift.push(format!(
                    "{at}: NOT NULL differs (SQLite {}, Postgres {}, catalog {cat_not_null})",
                    sc.not_null, pc.not_null
                ));
            }
            let s_list = s.status_lists.get(*name).cloned();
            let p_list = p.status_list(name);
            if s_list != p_list || s_list != cat_list {
                drift.push(format!(
                    "{at}: status lists differ\n    SQLite:   {s_list:?}\n    Postgres: {p_list:?}\n    catalog:  {cat_list:?}"
                ));
            }
        }
    }
    // Postgres holds nothing but the catalog's tables and the change bytes.
    for name in pg.tables.keys() {
        if name != CHANGES_TABLE && !TABLES.iter().any(|t| t.name == name) {
            drift.push(format!(
                "{name}: a Postgres table the catalog does not know"
            ));
        }
    }
    assert!(
        drift.is_empty(),
        "schema drift ({}):\n  {}",
        drift.len(),
        drift.join("\n  ")
    );
    db.drop_db().await;
}

/// Columns whose names look like secrets but are not, and why.
const NOT_SECRETS: &[(&str, &str, &str)] = &[
    (
        "crdt_changes",
        "change_hash",
        "content address of a public Automerge change",
    ),
    (
        "attachments",
        "storage_key",
        "object path of a stored file, not a credential",
    ),
];

#[tokio::test]
async fn no_cloud_table_has_a_column_that_looks_like_a_secret() {
    let db = fresh_db("secrets").await;
    let rows = db
        .client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns
             WHERE table_schema = 'public'
               AND column_name ~* '(password|passwd|hash|token|secret|key|salt|credential)'",
            &[],
        )
        .await
        .expect("information_schema");
    let suspicious: Vec<String> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
        .filter(|(t, c)| !NOT_SECRETS.iter().any(|(nt, nc, _)| nt == t && nc == c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    assert!(
        suspicious.is_empty(),
        "secret-looking cloud columns: {suspicious:?}"
    );
    // The allow-list itself names real columns (so it cannot hide a rename).
    for (t, c, _) in NOT_SECRETS {
        assert!(
            rows.iter()
                .any(|r| r.get::<_, String>(0) == *t && r.get::<_, String>(1) == *c),
            "{t}.{c} is allow-listed but does not exist"
        );
    }
    db.drop_db().await;
}

#[tokio::test]
async fn cloud_check_passes_a_clean_database_and_reports_damage() {
    let db = fresh_db("check").await;
    let report = check(&db.url, None).await.expect("check runs");
    assert!(report.is_ok(), "clean database reported:\n{report}");
    assert!(report.to_string().contains("OK"), "{report}");
    assert_eq!(report.tables_checked, TABLES.len() + 1);

    db.client
        .batch_execute(
            "ALTER TABLE public.customers DROP COLUMN notes;
             DROP POLICY staff_update ON public.repair_orders;
             ALTER TABLE public.claims DROP CONSTRAINT claims_claim_status_check;
             ALTER TABLE public.vehicles NO FORCE ROW LEVEL SECURITY;
             ALTER TABLE public.parts DISABLE ROW LEVEL SECURITY;
             ALTER TABLE public.invoices ALTER COLUMN total_cents TYPE integer;
             DROP TRIGGER guard_self_profile ON public.users;
             CREATE POLICY sneaky ON public.payments FOR SELECT TO authenticated USING (true);
             GRANT SELECT ON public.estimates TO anon;
             ALTER TABLE public.repair_orders DROP CONSTRAINT repair_orders_shop_id_ro_number_key;
             ALTER TABLE public.vehicles DROP CONSTRAINT vehicles_shop_id_customer_id_fkey;
             ALTER TABLE public.parts ALTER CONSTRAINT parts_shop_id_vendor_id_fkey NOT DEFERRABLE;
             DROP TRIGGER guard_columns ON public.parts;
             CREATE OR REPLACE VIEW public.user_profiles AS
                 SELECT u.id, u.shop_id, u.created_at, u.updated_at, u.email, u.display_name,
                        u.role, u.active, u.hourly_rate_cents
                 FROM public.users u;
             GRANT SELECT ON public.user_profiles TO anon;",
        )
        .await
        .expect("damage the database");
    let report = check(&db.url, None).await.expect("check runs");
    assert!(!report.is_ok());
    let expect = [
        Problem::MissingColumn {
            table: "customers".into(),
            column: "notes".into(),
        },
        Problem::MissingPolicy {
            table: "repair_orders".into(),
            policy: "staff_update".into(),
            command: "UPDATE",
        },
        Problem::RlsNotForced {
            table: "vehicles".into(),
        },
        Problem::RlsNotEnabled {
            table: "parts".into(),
        },
        Problem::TypeMismatch {
            table: "invoices".into(),
            column: "total_cents".into(),
            expected: "bigint".into(),
            found: "integer".into(),
        },
        Problem::MissingTrigger {
            table: "users".into(),
            trigger: "guard_self_profile".into(),
        },
        Problem::UnexpectedPolicy {
            table: "payments".into(),
            policy: "sneaky".into(),
        },
        Problem::UnexpectedGrant {
            table: "estimates".into(),
            grantee: "anon".into(),
            privilege: "SELECT".into(),
        },
        Problem::MissingUnique {
            table: "repair_orders".into(),
            columns: vec!["shop_id".into(), "ro_number".into()],
        },
        Problem::MissingForeignKey {
            table: "vehicles".into(),
            columns: vec!["shop_id".into(), "customer_id".into()],
            target: "customers".into(),
        },
        Problem::ForeignKeyNotDeferred {
            table: "parts".into(),
            columns: vec!["shop_id".into(), "vendor_id".into()],
        },
        Problem::MissingTrigger {
            table: "parts".into(),
            trigger: "guard_columns".into(),
        },
        Problem::UnexpectedGrant {
            table: "user_profiles".into(),
            grantee: "anon".into(),
            privilege: "SELECT".into(),
        },
    ];
    for p in &expect {
        assert!(report.problems.contains(p), "not reported: {p}\n{report}");
    }
    assert!(
        report.problems.iter().any(|p| matches!(p,
            Problem::StatusListMismatch { table, column, found: None, .. }
                if table == "claims" && column == "claim_status")),
        "dropped status list not reported:\n{report}"
    );
    assert!(
        report.problems.iter().any(|p| matches!(p,
            Problem::ViewColumns { view, found, .. }
                if view == "user_profiles" && found.iter().any(|c| c == "hourly_rate_cents"))),
        "a view showing the rate not reported:\n{report}"
    );
    let text = report.to_string();
    assert!(text.contains("missing column customers.notes"), "{text}");
    assert!(
        text.contains("missing policy staff_update (UPDATE) on repair_orders"),
        "{text}"
    );
    assert_eq!(
        report.problems.len(),
        expect.len() + 2,
        "only the damage is reported:\n{report}"
    );
    // The command an owner runs says the same, and exits non-zero.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_collisionos"))
        .args(["cloud", "check", "--db-url", &db.url])
        .output()
        .expect("run collisionos cloud check");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    assert!(
        printed.contains("missing column customers.notes"),
        "{printed}"
    );
    assert!(printed.contains("missing policy staff_update"), "{printed}");
    db.drop_db().await;
}

/// The cloud docs name only commands that exist: every `--example NAME` is a
/// file of `examples/`, and the check an owner is told to run is the binary's.
#[test]
fn the_cloud_docs_name_commands_that_exist() {
    let root = crate::pg::repo_root();
    for doc in ["supabase/README.md", "rls/README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).expect(doc);
        for (i, _) in text.match_indices("--example ") {
            let name: String = text[i + "--example ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(
                root.join("examples").join(format!("{name}.rs")).exists(),
                "{doc} names `--example {name}`, which does not exist"
            );
        }
    }
    let readme = std::fs::read_to_string(root.join("supabase/README.md")).expect("README");
    assert!(readme.contains("collisionos cloud check --db-url"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_collisionos"))
        .args(["cloud", "check", "--help"])
        .output()
        .expect("run collisionos");
    assert!(out.status.success(), "collisionos cloud check --help fails");
    assert!(String::from_utf8_lossy(&out.stdout).contains("--db-url"));
}
