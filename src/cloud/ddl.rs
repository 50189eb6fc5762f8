//! The generator of the cloud's first SQL files, from [`super::expected`].
//!
//! Used once (`cargo run --example gen_cloud_sql -- DIR`) to write
//! `supabase/migrations/*` and `rls/*`; those files are append-only from then on
//! and `cloud check` plus the parity tests hold a live database to the catalog,
//! not to this generator. Kept, like `domain::ddl`, to write later tables' first
//! migrations the same way.

use super::expected::{
    approval_fields, expected_guards, staff_policy_name, GuardKind, VerbAccess, CHANGES_TABLE,
    HUB_ALL, HUB_INSERT, HUB_ROLE, HUB_SELECT, PRIVATE_SCHEMA,
};
use crate::domain::catalog::{ColType, Column, Default, Table, TableId, TABLES};
use crate::domain::ddl::{index_columns, index_name, index_predicate, postgres_type};
use crate::domain::policy::{Role, Verb, SELF_EDITABLE_USER_FIELDS};
use std::fmt::Write;

/// Wraps a file's statements in one transaction, after its header comment (the
/// text up to its first blank line): applied by `supabase/apply.sh`, by
/// `psql -f` or pasted into the SQL editor, a file lands whole or not at all.
pub fn one_transaction(sql: &str) -> String {
    let (header, body) = sql.split_once("\n\n").unwrap_or(("", sql));
    format!(
        "{header}\n-- One transaction: applied whole or not at all.\n\nBEGIN;\n\n{}\n\nCOMMIT;\n",
        body.trim_end_matches('\n')
    )
}

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pg_column(c: &Column) -> String {
    let mut s = format!("    {} {}", c.name, postgres_type(c.ty));
    if c.required {
        s.push_str(" NOT NULL");
    }
    match c.default {
        Default::None => {}
        Default::Text(v) => {
            let _ = write!(s, " DEFAULT '{v}'");
        }
        Default::Json(v) => {
            let _ = write!(s, " DEFAULT '{v}'::jsonb");
        }
        Default::Int(v) => {
            let _ = write!(s, " DEFAULT {v}");
        }
        Default::Bool(v) => {
            let _ = write!(s, " DEFAULT {v}");
        }
    }
    let n = c.name;
    match c.ty {
        ColType::Enum(values) => {
            let _ = write!(s, " CHECK ({n} IN ({}))", quoted_list(values));
        }
        ColType::Vin => {
            let _ = write!(s, " CHECK (length({n}) = 17)");
        }
        ColType::Stage => {
            let _ = write!(s, " CHECK ({n} ~ '^[a-z0-9_]{{1,40}}$')");
        }
        _ => {}
    }
    s
}

/// `CREATE TABLE` and `CREATE INDEX` for one catalog table, in Postgres.
pub fn postgres_table(t: &Table) -> String {
    let name = t.name;
    let mut lines = vec![
        "    id uuid PRIMARY KEY".to_string(),
        if name == "shops" {
            "    shop_id uuid NOT NULL CHECK (shop_id = id)".to_string()
        } else {
            "    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED"
                .to_string()
        },
        "    created_at timestamptz NOT NULL".to_string(),
        "    updated_at timestamptz NOT NULL".to_string(),
    ];
    lines.extend(t.columns.iter().map(pg_column));
    lines.push(format!(
        "    CONSTRAINT {name}_shop_id_id_key UNIQUE (shop_id, id)"
    ));
    let mut uniques: Vec<Vec<&str>> = Vec::new();
    if let Some(n) = t.numbering {
        uniques.push(vec![n.column]);
    }
    uniques.extend(t.unique.iter().map(|u| u.to_vec()));
    for u in uniques {
        lines.push(format!(
            "    CONSTRAINT {name}_shop_id_{}_key UNIQUE (shop_id, {})",
            u.join("_"),
            u.join(", ")
        ));
    }
    for (col, target) in t.refs() {
        lines.push(format!(
            "    CONSTRAINT {name}_shop_id_{col}_fkey FOREIGN KEY (shop_id, {col})\n        \
             REFERENCES public.{target} (shop_id, id) DEFERRABLE INITIALLY DEFERRED"
        ));
    }
    // Row level security is on (and forced) in the same transaction that creates
    // the table: no apply order or failure leaves it reachable without RLS.
    let mut sql = format!(
        "CREATE TABLE public.{name} (\n{}\n);\n\
         ALTER TABLE public.{name} ENABLE ROW LEVEL SECURITY;\n\
         ALTER TABLE public.{name} FORCE ROW LEVEL SECURITY;\n",
        lines.join(",\n")
    );
    for cols in index_columns(t) {
        let _ = writeln!(
            sql,
            "CREATE INDEX {} ON public.{name} (shop_id, {});",
            index_name(t, &cols),
            cols.join(", ")
        );
    }
    sql
}

/// The mirror of every catalog table, in dependency order.
pub fn schema_sql() -> String {
    let mut sql = String::from(
        "-- CollisionOS cloud mirror, part 1: every table of the catalog\n\
         -- (src/domain/catalog.rs), same column names and status lists as the hub's SQLite.\n\
         -- Append-only: never edit once shipped; add a later-timestamped file instead.\n\
         -- Written by `cargo run --example gen_cloud_sql`; tests/it/cloud.rs holds it to\n\
         -- the catalog and to the SQLite schema.\n\
         --\n\
         -- Same-shop references are composite foreign keys onto UNIQUE (shop_id, id),\n\
         -- DEFERRABLE INITIALLY DEFERRED so one sync batch can land in any order inside\n\
         -- its transaction. Nothing here sets or rewrites created_at / updated_at: the\n\
         -- hub's values are the truth.\n\n",
    );
    sql.push_str(
        &TABLES
            .iter()
            .map(postgres_table)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    one_transaction(&sql)
}

/// The catalog indexes whose first column may be NULL, made partial
/// (`WHERE col IS NOT NULL`) as the hub's are: shipped as
/// `supabase/migrations/20261130000002_partial_indexes.sql`.
pub fn partial_indexes_sql() -> String {
    let mut sql = String::from(
        "-- CollisionOS cloud mirror: a catalog index whose first column may be NULL\n\
         -- leaves NULL out (`WHERE col IS NOT NULL`), as the hub's SQLite does. Each\n\
         -- index is (shop_id, col, ...); a read that filters on col (`=`, `IN`, a\n\
         -- range) implies IS NOT NULL, so Postgres still uses it. A record whose\n\
         -- reference is unset (a repair order without a claim, estimate or\n\
         -- technician yet) then costs no entry, no write and no bytes in that index.\n\
         -- Same names, so nothing that names an index changes. Written by\n\
         -- `collisionos::cloud::ddl::partial_indexes_sql`; tests/it/cloud_indexes.rs\n\
         -- holds this file to it. Append-only: never edit once shipped.\n\n",
    );
    for t in TABLES {
        for cols in index_columns(t) {
            let Some(predicate) = index_predicate(t, &cols) else {
                continue;
            };
            let name = index_name(t, &cols);
            let _ = writeln!(
                sql,
                "DROP INDEX public.{name};\n\
                 CREATE INDEX {name} ON public.{} (shop_id, {}) WHERE {predicate};",
                t.name,
                cols.join(", ")
            );
        }
    }
    one_transaction(&sql)
}

/// The change-bytes table.
pub fn changes_sql() -> String {
    one_transaction(&format!(
        "-- CollisionOS cloud mirror, part 2: the Automerge change bytes of every record.\n\
         -- Keyed by the change hash, so the hub's at-least-once upload (INSERT ... ON\n\
         -- CONFLICT (change_hash) DO NOTHING) has exactly-once effect. Rows are immutable.\n\
         -- Append-only: never edit once shipped.\n\n\
         CREATE TABLE public.{CHANGES_TABLE} (\n\
         \x20   change_hash text PRIMARY KEY CHECK (change_hash ~ '^[0-9a-f]{{64}}$'),\n\
         \x20   shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,\n\
         \x20   table_name text NOT NULL CHECK (table_name ~ '^[a-z][a-z0-9_]{{0,62}}$'),\n\
         \x20   record_id uuid NOT NULL,\n\
         \x20   seq bigint NOT NULL,\n\
         \x20   actor text NOT NULL,\n\
         \x20   author_id uuid,\n\
         \x20   bytes bytea NOT NULL,\n\
         \x20   created_at timestamptz NOT NULL\n\
         );\n\
         CREATE INDEX {CHANGES_TABLE}_by_record ON public.{CHANGES_TABLE} (shop_id, table_name, record_id, seq);\n\
         CREATE INDEX {CHANGES_TABLE}_by_seq ON public.{CHANGES_TABLE} (shop_id, seq);\n\
         ALTER TABLE public.{CHANGES_TABLE} ENABLE ROW LEVEL SECURITY;\n\
         ALTER TABLE public.{CHANGES_TABLE} FORCE ROW LEVEL SECURITY;\n"
    ))
}

fn cloud_table_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
    v.push(CHANGES_TABLE);
    v
}

/// Explicit grants on every table.
pub fn grants_sql() -> String {
    let mut sql = String::from(
        "-- CollisionOS cloud mirror, part 3: explicit grants on every table.\n\
         -- A Supabase project's default privileges give anon, authenticated and\n\
         -- service_role ALL on new tables in public; take that back first, then give\n\
         -- only what is meant: authenticated the four DML verbs (RLS narrows them to\n\
         -- rows; no TRUNCATE, which RLS would not see), service_role everything, anon\n\
         -- nothing. Append-only: never edit once shipped.\n\n\
         GRANT USAGE ON SCHEMA public TO authenticated, service_role;\n\n",
    );
    for t in cloud_table_names() {
        let _ = writeln!(
            sql,
            "REVOKE ALL ON TABLE public.{t} FROM PUBLIC, anon, authenticated, service_role;\n\
             GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.{t} TO authenticated;\n\
             GRANT ALL ON TABLE public.{t} TO service_role;\n"
        );
    }
    one_transaction(&sql)
}

const UUID_RE: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// The private schema and the claim helpers.
pub fn rls_helpers_sql() -> String {
    one_transaction(&format!(
        "-- RLS, part 1: the helpers every policy calls, in a private schema (Supabase\n\
         -- forbids objects in `auth`, and `public` is exposed over the REST API).\n\
         -- Each reads one claim of the request's JWT through auth.jwt(); policies call\n\
         -- them wrapped as (select {PRIVATE_SCHEMA}.fn()) so Postgres evaluates them once per\n\
         -- statement, not once per row. The app role is the `user_role` claim, never\n\
         -- `role` (that one is the Postgres role: authenticated). A claim that is\n\
         -- missing or malformed yields NULL, which matches no row.\n\
         -- Append-only: never edit once shipped.\n\n\
         CREATE SCHEMA IF NOT EXISTS {PRIVATE_SCHEMA};\n\
         REVOKE ALL ON SCHEMA {PRIVATE_SCHEMA} FROM PUBLIC;\n\
         GRANT USAGE ON SCHEMA {PRIVATE_SCHEMA} TO authenticated, service_role;\n\n\
         -- The caller's shop: the `shop_id` claim.\n\
         CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.shop_id() RETURNS uuid\n\
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''\n\
         AS $$\n\
         \x20 SELECT CASE WHEN (auth.jwt() ->> 'shop_id') ~ '{UUID_RE}'\n\
         \x20             THEN (auth.jwt() ->> 'shop_id')::uuid END\n\
         $$;\n\n\
         -- The caller's app role: the `user_role` claim (one of the nine staff roles, or\n\
         -- 'hub' for the shop's hub).\n\
         CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.user_role() RETURNS text\n\
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''\n\
         AS $$\n\
         \x20 SELECT nullif(auth.jwt() ->> 'user_role', '')\n\
         $$;\n\n\
         -- The caller's user id: the `sub` claim (what auth.uid() returns), NULL when it is\n\
         -- not a UUID (auth.uid() would raise instead).\n\
         CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.user_id() RETURNS uuid\n\
         LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''\n\
         AS $$\n\
         \x20 SELECT CASE WHEN (auth.jwt() ->> 'sub') ~ '{UUID_RE}'\n\
         \x20             THEN (auth.jwt() ->> 'sub')::uuid END\n\
         $$;\n\n\
         REVOKE ALL ON FUNCTION {PRIVATE_SCHEMA}.shop_id() FROM PUBLIC;\n\
         REVOKE ALL ON FUNCTION {PRIVATE_SCHEMA}.user_role() FROM PUBLIC;\n\
         REVOKE ALL ON FUNCTION {PRIVATE_SCHEMA}.user_id() FROM PUBLIC;\n\
         GRANT EXECUTE ON FUNCTION {PRIVATE_SCHEMA}.shop_id() TO authenticated, service_role;\n\
         GRANT EXECUTE ON FUNCTION {PRIVATE_SCHEMA}.user_role() TO authenticated, service_role;\n\
         GRANT EXECUTE ON FUNCTION {PRIVATE_SCHEMA}.user_id() TO authenticated, service_role;\n"
    ))
}

const SHOP: &str = "shop_id = (SELECT app_private.shop_id())";
const APP_ROLE: &str = "(SELECT app_private.user_role())";
const USER_ID: &str = "(SELECT app_private.user_id())";

fn role_list(roles: &[Role]) -> String {
    quoted_list(&roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
}

/// Which side of a policy an expression is for, and so which extra conditions an
/// "own" or "self" row must meet.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    /// USING of select/delete.
    Read,
    /// WITH CHECK of insert: a new own row may not arrive approved.
    InsertCheck,
    /// USING of update: an own row may be changed only while not approved.
    UpdateUsing,
    /// WITH CHECK of update: still own, still not approved, own role unchanged.
    UpdateCheck,
}

fn staff_expr(t: &Table, a: &VerbAccess, side: Side) -> String {
    let mut alts = Vec::new();
    if !a.all.is_empty() {
        alts.push(format!("{APP_ROLE} IN ({})", role_list(&a.all)));
    }
    if !a.own.is_empty() {
        let owner = t.owner();
        let mut conds = vec![
            format!("{APP_ROLE} IN ({})", role_list(&a.own)),
            format!("{owner} = {USER_ID}"),
        ];
        for f in approval_fields(t) {
            match (side, f.ty) {
                (Side::InsertCheck, ColType::Bool) => conds.push(format!("{} = false", f.name)),
                (Side::InsertCheck, _) => conds.push(format!("{} IS NULL", f.name)),
                (Side::UpdateUsing | Side::UpdateCheck, ColType::Bool) => {
                    conds.push(format!("{} = false", f.name))
                }
                // approved_by on update: compared with the stored row by the guard trigger.
                _ => {}
            }
        }
        alts.push(format!("({})", conds.join(" AND ")));
    }
    if !a.self_profile.is_empty() {
        let mut conds = vec![
            format!("{APP_ROLE} IN ({})", role_list(&a.self_profile)),
            format!("id = {USER_ID}"),
        ];
        if side == Side::UpdateCheck && t.column("role").is_some() {
            // Own role can never change: it must stay the one the token carries.
            conds.push(format!("role = {APP_ROLE}"));
        }
        alts.push(format!("({})", conds.join(" AND ")));
    }
    let staff = if alts.len() == 1 {
        alts.remove(0)
    } else {
        format!("(\n        {}\n    )", alts.join("\n        OR "))
    };
    format!("{SHOP}\n    AND {staff}")
}

fn table_policies(t: &Table) -> String {
    let name = t.name;
    let id = TableId::by_name(name);
    let hub = format!("{SHOP} AND {APP_ROLE} = '{HUB_ROLE}'");
    let mut sql = format!(
        "-- {name}\n\
         CREATE POLICY {HUB_ALL} ON public.{name} FOR ALL TO authenticated\n\
         \x20   USING ({hub})\n\
         \x20   WITH CHECK ({hub});\n"
    );
    let Some(id) = id else { return sql };
    for verb in Verb::ALL {
        let a = VerbAccess::of(id, verb);
        if a.is_empty() {
            let _ = writeln!(
                sql,
                "-- no {} policy: no staff role may {} {name}",
                staff_policy_name(verb),
                verb.as_str()
            );
            continue;
        }
        let pname = staff_policy_name(verb);
        let body = match verb {
            Verb::Read => format!(
                "FOR SELECT TO authenticated\n    USING (\n    {}\n    )",
                staff_expr(t, &a, Side::Read)
            ),
            Verb::Insert => format!(
                "FOR INSERT TO authenticated\n    WITH CHECK (\n    {}\n    )",
                staff_expr(t, &a, Side::InsertCheck)
            ),
            Verb::Update => format!(
                "FOR UPDATE TO authenticated\n    USING (\n    {}\n    )\n    WITH CHECK (\n    {}\n    )",
                staff_expr(t, &a, Side::UpdateUsing),
                staff_expr(t, &a, Side::UpdateCheck)
            ),
            Verb::Delete => format!(
                "FOR DELETE TO authenticated\n    USING (\n    {}\n    )",
                staff_expr(t, &a, Side::Read)
            ),
        };
        let _ = writeln!(sql, "CREATE POLICY {pname} ON public.{name} {body};");
    }
    sql
}

/// Every policy: the role matrix (`docs/roles.md`) plus the hub.
pub fn rls_policies_sql() -> String {
    let mut sql = String::from(
        "-- RLS, part 3: the role matrix of DOMAIN.md (tests/matrix.tsv states it as data\n\
         -- and tests/it/rls.rs runs every cell of it against these policies).\n\
         --\n\
         -- Every policy is TO authenticated and starts with the caller's shop, so no row\n\
         -- is ever visible to, or can be written into, another shop; every INSERT and\n\
         -- UPDATE policy has WITH CHECK, so a row can never be moved into another shop.\n\
         --   hub_all        the shop's hub (user_role = 'hub'): every row of its shop, all\n\
         --                  verbs (it upserts: INSERT ... ON CONFLICT (id) DO UPDATE).\n\
         --   staff_<verb>   the nine staff roles, as the matrix says. \"Own\" rows are\n\
         --                  rows whose technician_id is the caller (the `sub` claim); an own\n\
         --                  labor entry can be changed only while not approved and never\n\
         --                  arrives approved. A user may update their own row (display\n\
         --                  name only; the guard triggers of part 4 compare the other\n\
         --                  columns with the stored row), never into another role.\n\
         -- A verb nobody may do has no staff policy at all (append-only tables:\n\
         -- ro_stage_history and signatures have no staff update or delete policy).\n\
         -- Change bytes: the hub reads and inserts them; nobody updates or deletes.\n\
         -- Append-only: never edit once shipped.\n\n",
    );
    for t in TABLES {
        sql.push_str(&table_policies(t));
        sql.push('\n');
    }
    let hub = format!("{SHOP} AND {APP_ROLE} = '{HUB_ROLE}'");
    let _ = write!(
        sql,
        "-- {CHANGES_TABLE}\n\
         CREATE POLICY {HUB_SELECT} ON public.{CHANGES_TABLE} FOR SELECT TO authenticated\n\
         \x20   USING ({hub});\n\
         CREATE POLICY {HUB_INSERT} ON public.{CHANGES_TABLE} FOR INSERT TO authenticated\n\
         \x20   WITH CHECK ({hub});\n"
    );
    one_transaction(&sql)
}

/// The guard triggers: the column rules a policy cannot state because they
/// compare the new row with the stored one.
pub fn rls_guards_sql() -> String {
    let mut sql = String::from(
        "-- RLS, part 4: guard triggers for the rules that compare a new row with the\n\
         -- stored one, which a policy cannot do without reading the table again.\n\
         -- BEFORE UPDATE row triggers see OLD and NEW directly: no table read, no RLS\n\
         -- recursion, no dependence on who owns the function. They act only when the\n\
         -- caller's only right to the row is self-profile or own-row access (the hub,\n\
         -- owners and managers are not held back), raise SQLSTATE 42501 like RLS\n\
         -- does, and never modify the row (updated_at is the hub's).\n\
         -- Append-only: never edit once shipped.\n\n",
    );
    for t in TABLES {
        let Some(id) = TableId::by_name(t.name) else {
            continue;
        };
        for g in expected_guards(t.name) {
            let update = VerbAccess::of(id, Verb::Update);
            let (roles, body) = match g.kind {
                // Written by hand in its own file (it guards inserts too).
                GuardKind::Accounts
                | GuardKind::LastOwner
                | GuardKind::Immutable
                | GuardKind::Columns => continue,
                GuardKind::SelfProfile => {
                    let mut keep = vec!["updated_at"];
                    keep.extend(SELF_EDITABLE_USER_FIELDS);
                    let minus: String = keep.iter().map(|k| format!(" - '{k}'")).collect();
                    (
                        update.self_profile.clone(),
                        format!(
                            "IF (to_jsonb(NEW){minus}) IS DISTINCT FROM (to_jsonb(OLD){minus}) THEN\n\
                             \x20     RAISE EXCEPTION 'a % may change only {} of their own user row', {APP_ROLE}\n\
                             \x20       USING ERRCODE = '42501';\n\
                             \x20   END IF;",
                            SELF_EDITABLE_USER_FIELDS.join(", ")
                        ),
                    )
                }
                GuardKind::Approval => {
                    let fields = approval_fields(t);
                    let cond = fields
                        .iter()
                        .map(|f| format!("NEW.{0} IS DISTINCT FROM OLD.{0}", f.name))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    let names = fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
                    (
                        update.own.clone(),
                        format!(
                            "IF {cond} THEN\n\
                             \x20     RAISE EXCEPTION 'a % may not change {names} of their own {}', {APP_ROLE}\n\
                             \x20       USING ERRCODE = '42501';\n\
                             \x20   END IF;",
                            t.name
                        ),
                    )
                }
            };
            let _ = writeln!(
                sql,
                "CREATE OR REPLACE FUNCTION {PRIVATE_SCHEMA}.{func}() RETURNS trigger\n\
                 LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''\n\
                 AS $$\n\
                 BEGIN\n\
                 \x20 IF {APP_ROLE} IN ({roles}) THEN\n\
                 \x20   {body}\n\
                 \x20 END IF;\n\
                 \x20 RETURN NEW;\n\
                 END\n\
                 $$;\n\
                 REVOKE ALL ON FUNCTION {PRIVATE_SCHEMA}.{func}() FROM PUBLIC;\n\
                 CREATE TRIGGER {trigger} BEFORE UPDATE ON public.{table}\n\
                 \x20   FOR EACH ROW EXECUTE FUNCTION {PRIVATE_SCHEMA}.{func}();\n",
                func = g.function,
                roles = role_list(&roles),
                trigger = g.trigger,
                table = g.table,
            );
        }
    }
    one_transaction(&sql)
}
