//! Reads the live schema of a Postgres database (schema `public`) from
//! `pg_catalog`: tables, columns, single-column CHECK constraints, RLS flags,
//! policies, triggers, table grants, and the helper functions the policies call.

use anyhow::Context;
use std::collections::BTreeMap;
use tokio_postgres::Client;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveColumn {
    pub name: String,
    /// Canonical spelling (see [`canonical_type`]): `uuid`, `bigint`, `timestamptz`, ...
    pub pg_type: String,
    pub not_null: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePolicy {
    pub name: String,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    pub roles: Vec<String>,
    pub permissive: bool,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveForeignKey {
    pub columns: Vec<String>,
    pub target: String,
    pub target_columns: Vec<String>,
    pub deferrable: bool,
    pub initially_deferred: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTable {
    pub name: String,
    /// In column order.
    pub columns: Vec<LiveColumn>,
    /// Single-column CHECK constraint definitions, by column
    /// (`pg_get_constraintdef`, e.g. `CHECK ((role = ANY (ARRAY['owner'::text, ...])))`).
    pub checks: BTreeMap<String, Vec<String>>,
    /// The primary key's columns.
    pub primary_key: Vec<String>,
    /// UNIQUE constraints' column lists, in key order.
    pub uniques: Vec<Vec<String>>,
    pub foreign_keys: Vec<LiveForeignKey>,
    pub rls_enabled: bool,
    pub rls_forced: bool,
    pub policies: Vec<LivePolicy>,
    /// Names of the user (non-internal) triggers.
    pub triggers: Vec<String>,
    /// Table privileges by grantee (`PUBLIC` for the public pseudo-role):
    /// `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`, `TRIGGER`.
    pub grants: BTreeMap<String, Vec<String>>,
}

impl LiveTable {
    pub fn column(&self, name: &str) -> Option<&LiveColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The value list of a `CHECK (col IN (...))` on this column, if it has one.
    pub fn status_list(&self, column: &str) -> Option<Vec<String>> {
        self.checks
            .get(column)?
            .iter()
            .find_map(|def| parse_status_list(def))
    }

    pub fn policy(&self, name: &str) -> Option<&LivePolicy> {
        self.policies.iter().find(|p| p.name == name)
    }
}

/// A view of schema `public`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveView {
    /// In column order.
    pub columns: Vec<String>,
    /// Privileges by grantee, as for tables.
    pub grants: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSchema {
    pub tables: BTreeMap<String, LiveTable>,
    pub views: BTreeMap<String, LiveView>,
    /// Functions of the schemas `auth` and `app_private`, as `schema.name`.
    pub functions: Vec<String>,
}

/// One spelling per type, so `int8`, `bigint` and `postgres_type`'s names compare.
pub fn canonical_type(t: &str) -> String {
    match t {
        "int8" | "bigint" => "bigint",
        "bool" | "boolean" => "boolean",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "int4" | "integer" => "integer",
        "varchar" | "character varying" => "varchar",
        other => other,
    }
    .to_string()
}

/// The values of `col IN ('a', 'b')` as Postgres stores it:
/// `CHECK ((col = ANY (ARRAY['a'::text, 'b'::text])))`. `None` for other checks.
pub fn parse_status_list(def: &str) -> Option<Vec<String>> {
    if !def.contains("= ANY (ARRAY[") {
        return None;
    }
    Some(quoted_literals(def))
}

/// Every single-quoted literal of an SQL text, unescaped, in order.
pub fn quoted_literals(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    s.push('\'');
                } else {
                    break;
                }
            } else {
                s.push(c);
            }
        }
        out.push(s);
    }
    out
}

const TABLES_SQL: &str = "
SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')";

const COLUMNS_SQL: &str = "
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum";

const CHECKS_SQL: &str = "
SELECT c.relname::text, a.attname::text, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
WHERE n.nspname = 'public' AND con.contype = 'c' AND cardinality(con.conkey) = 1
ORDER BY c.relname, con.conname";

const KEYS_SQL: &str = "
SELECT c.relname::text, con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.ord),
       coalesce(f.relname::text, ''),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num ORDER BY k.ord),
       con.condeferrable, con.condeferred
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class f ON f.oid = con.confrelid
WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f')
ORDER BY c.relname, con.conname";

const POLICIES_SQL: &str = "
SELECT tablename::text, policyname::text, cmd::text, roles::text[],
       permissive = 'PERMISSIVE', qual::text, with_check::text
FROM pg_policies WHERE schemaname = 'public'
ORDER BY tablename, policyname";

const TRIGGERS_SQL: &str = "
SELECT c.relname::text, t.tgname::text
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT t.tgisinternal
ORDER BY c.relname, t.tgname";

const GRANTS_SQL: &str = "
SELECT c.relname::text, coalesce(r.rolname::text, 'PUBLIC'), acl.privilege_type::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) acl
LEFT JOIN pg_roles r ON r.oid = acl.grantee
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
ORDER BY 1, 2, 3";

const VIEWS_SQL: &str = "
SELECT c.relname::text,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum),
       ARRAY(SELECT coalesce(r.rolname::text, 'PUBLIC') || ' ' || acl.privilege_type::text
             FROM aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) acl
             LEFT JOIN pg_roles r ON r.oid = acl.grantee
             ORDER BY 1)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'v'
ORDER BY 1";

const FUNCTIONS_SQL: &str = "
SELECT n.nspname::text || '.' || p.proname::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname IN ('auth', 'app_private')
ORDER BY 1";

/// Reads the schema `public` of the database `client` is connected to.
pub async fn live_schema(client: &Client) -> anyhow::Result<LiveSchema> {
    let mut schema = LiveSchema::default();
    for row in client
        .query(TABLES_SQL, &[])
        .await
        .context("reading tables")?
    {
        let name: String = row.get(0);
        schema.tables.insert(
            name.clone(),
            LiveTable {
                name,
                rls_enabled: row.get(1),
                rls_forced: row.get(2),
                ..LiveTable::default()
            },
        );
    }
    for row in client
        .query(COLUMNS_SQL, &[])
        .await
        .context("reading columns")?
    {
        let table: String = row.get(0);
        if let Some(t) = schema.tables.get_mut(&table) {
            let ty: String = row.get(2);
            t.columns.push(LiveColumn {
                name: row.get(1),
                pg_type: canonical_type(&ty),
                not_null: row.get(3),
            });
        }
    }
    for row in client
        .query(CHECKS_SQL, &[])
        .await
        .context("reading CHECK constraints")?
    {
        let table: String = row.get(0);
        if let Some(t) = schema.tables.get_mut(&table) {
            t.checks.entry(row.get(1)).or_default().push(row.get(2));
        }
    }
    for row in client.query(KEYS_SQL, &[]).await.context("reading keys")? {
        let table: String = row.get(0);
        let Some(t) = schema.tables.get_mut(&table) else {
            continue;
        };
        let kind: String = row.get(1);
        let columns: Vec<String> = row.get(2);
        match kind.as_str() {
            "p" => t.primary_key = columns,
            "u" => t.uniques.push(columns),
            _ => t.foreign_keys.push(LiveForeignKey {
                columns,
                target: row.get(3),
                target_columns: row.get(4),
                deferrable: row.get(5),
                initially_deferred: row.get(6),
            }),
        }
    }
    for row in client
        .query(POLICIES_SQL, &[])
        .await
        .context("reading policies")?
    {
        let table: String = row.get(0);
        if let Some(t) = schema.tables.get_mut(&table) {
            t.policies.push(LivePolicy {
                name: row.get(1),
                command: row.get(2),
                roles: row.get(3),
                permissive: row.get(4),
                using: row.get(5),
                with_check: row.get(6),
            });
        }
    }
    for row in client
        .query(TRIGGERS_SQL, &[])
        .await
        .context("reading triggers")?
    {
        let table: String = row.get(0);
        if let Some(t) = schema.tables.get_mut(&table) {
            t.triggers.push(row.get(1));
        }
    }
    for row in client
        .query(GRANTS_SQL, &[])
        .await
        .context("reading grants")?
    {
        let table: String = row.get(0);
        if let Some(t) = schema.tables.get_mut(&table) {
            t.grants.entry(row.get(1)).or_default().push(row.get(2));
        }
    }
    for row in client
        .query(VIEWS_SQL, &[])
        .await
        .context("reading views")?
    {
        let mut view = LiveView {
            columns: row.get(1),
            ..LiveView::default()
        };
        for grant in row.get::<_, Vec<String>>(2) {
            if let Some((grantee, privilege)) = grant.split_once(' ') {
                view.grants
                    .entry(grantee.to_string())
                    .or_default()
                    .push(privilege.to_string());
            }
        }
        schema.views.insert(row.get(0), view);
    }
    schema.functions = client
        .query(FUNCTIONS_SQL, &[])
        .await
        .context("reading functions")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_parse_from_postgres_constraint_text() {
        let def = "CHECK ((role = ANY (ARRAY['owner'::text, 'it''s'::text])))";
        assert_eq!(
            parse_status_list(def),
            Some(vec!["owner".to_string(), "it's".to_string()])
        );
        assert_eq!(parse_status_list("CHECK ((length(vin) = 17))"), None);
    }
}
