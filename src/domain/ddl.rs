//! DDL derived from the catalog. Used once to write each table's first migration
//! (`examples/gen_schema.rs`); after that the migrations are append-only files, and
//! the parity tests compare the live schemas with the catalog instead.

use super::catalog::{ColType, Column, Default, Table, TABLES};
use std::fmt::Write;

/// The SQLite storage class of a column type (tables are `STRICT`).
pub fn sqlite_type(ty: ColType) -> &'static str {
    match ty {
        ColType::Int | ColType::Cents | ColType::Bool => "INTEGER",
        _ => "TEXT",
    }
}

/// The Postgres type a column maps to in the cloud mirror.
pub fn postgres_type(ty: ColType) -> &'static str {
    match ty {
        ColType::Uuid | ColType::Ref(_) => "uuid",
        ColType::Int | ColType::Cents => "bigint",
        ColType::Bool => "boolean",
        ColType::Timestamp => "timestamptz",
        ColType::Date => "date",
        ColType::Decimal => "numeric",
        ColType::Json => "jsonb",
        ColType::Text | ColType::Email | ColType::Enum(_) | ColType::Vin | ColType::Stage => "text",
    }
}

fn quoted_list(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition "`column` is one of `values`", for a SQLite `CHECK`. More than
/// two values are written as `=` comparisons joined by `OR`, not as `IN (…)`:
/// SQLite evaluates a constant `IN` list of three or more values by building a
/// temporary B-tree, once per run of the statement, so every insert of a row
/// paid for one per such column (a repair order for three) on the writer
/// thread. Measured by inserting 20,000 rows, 10 per transaction: a repair
/// order 33 → 19.5 µs, a change-log entry 11.5 → 7.5 µs, a sync-queue item
/// 13 → 6.8 µs. Migration 0010 rewrote the checks stored in a database the
/// same way.
pub fn sqlite_one_of(column: &str, values: &[&str]) -> String {
    if values.len() <= 2 {
        return format!("{column} IN ({})", quoted_list(values));
    }
    values
        .iter()
        .map(|v| format!("{column} = '{v}'"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

fn sqlite_column(c: &Column) -> String {
    let mut s = format!("    {} {}", c.name, sqlite_type(c.ty));
    if c.required {
        s.push_str(" NOT NULL");
    }
    match c.default {
        Default::None => {}
        Default::Text(v) | Default::Json(v) => {
            let _ = write!(s, " DEFAULT '{v}'");
        }
        Default::Int(v) => {
            let _ = write!(s, " DEFAULT {v}");
        }
        Default::Bool(v) => {
            let _ = write!(s, " DEFAULT {}", i32::from(v));
        }
    }
    let n = c.name;
    match c.ty {
        ColType::Enum(values) => {
            let _ = write!(s, " CHECK ({})", sqlite_one_of(n, values));
        }
        ColType::Bool => {
            let _ = write!(s, " CHECK ({n} IN (0, 1))");
        }
        ColType::Vin => {
            let _ = write!(s, " CHECK (length({n}) = 17)");
        }
        ColType::Stage => {
            let _ = write!(
                s,
                " CHECK (length({n}) BETWEEN 1 AND 40 AND {n} NOT GLOB '*[^a-z0-9_]*')"
            );
        }
        ColType::Json => {
            let _ = write!(s, " CHECK (json_valid({n}))");
        }
        ColType::Uuid | ColType::Ref(_) => {
            let _ = write!(s, " CHECK (length({n}) = 36)");
        }
        _ => {}
    }
    s
}

/// `CREATE TABLE` and `CREATE INDEX` statements for one table, in SQLite (the
/// schema a new database gets; migrations reach the same from older ones).
pub fn sqlite_table(t: &Table) -> String {
    let mut sql = sqlite_create_table(t);
    for index in sqlite_indexes(t) {
        let _ = writeln!(sql, "{index};");
    }
    sql
}

/// The `CREATE INDEX` statements of one table, in SQLite. An index whose first
/// column may be NULL leaves NULL out (`WHERE col IS NOT NULL`): the hub looks
/// rows up by equality only (`col = ?`, which implies `IS NOT NULL`, so SQLite
/// uses the partial index), and a record whose reference is unset (a repair
/// order without a claim, estimate or technician yet) then costs no entry in that
/// index: fewer bytes, and fewer pages for its write to dirty and fsync.
pub fn sqlite_indexes(t: &Table) -> Vec<String> {
    hub_index_columns(t)
        .into_iter()
        .map(|cols| {
            format!(
                "CREATE INDEX {} ON {} (shop_id, {}){}",
                index_name(t, &cols),
                t.name,
                cols.join(", "),
                index_predicate(t, &cols)
                    .map(|p| format!(" WHERE {p}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

/// The name of a catalog index (`cols`, after `shop_id`), the same in SQLite
/// and in the cloud.
pub fn index_name(t: &Table, cols: &[&str]) -> String {
    format!("{}_by_{}", t.name, cols.join("_"))
}

/// The predicate of a catalog index (`cols`, after `shop_id`): `col IS NOT NULL`
/// when its first column may be NULL, else none. The hub's SQLite and the
/// cloud's Postgres index the same way.
pub fn index_predicate(t: &Table, cols: &[&str]) -> Option<String> {
    let first = cols.first()?;
    t.column(first)
        .is_some_and(|c| !c.required)
        .then(|| format!("{first} IS NOT NULL"))
}

/// The `CREATE TABLE` statement of one table, in SQLite.
pub fn sqlite_create_table(t: &Table) -> String {
    let mut lines = vec![
        "    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36)".to_string(),
        if t.name == "shops" {
            "    shop_id TEXT NOT NULL CHECK (shop_id = id)".to_string()
        } else {
            "    shop_id TEXT NOT NULL REFERENCES shops (id)".to_string()
        },
        "    created_at TEXT NOT NULL".to_string(),
        "    updated_at TEXT NOT NULL".to_string(),
    ];
    lines.extend(t.columns.iter().map(sqlite_column));
    lines.push("    UNIQUE (shop_id, id)".to_string());
    if let Some(n) = t.numbering {
        lines.push(format!("    UNIQUE (shop_id, {})", n.column));
    }
    for u in t.unique {
        lines.push(format!("    UNIQUE (shop_id, {})", u.join(", ")));
    }
    for (col, target) in t.refs() {
        lines.push(format!(
            "    FOREIGN KEY (shop_id, {col}) REFERENCES {target} (shop_id, id)"
        ));
    }
    format!(
        "CREATE TABLE {} (\n{}\n) STRICT;\n",
        t.name,
        lines.join(",\n")
    )
}

/// The secondary indexes of a table: every reference column (so deletes of a parent
/// and same-shop reference checks are index lookups), every listed index with `id`
/// appended (so a filtered list pages in id order straight off the index), and
/// `updated_at` for "what changed since".
pub fn index_columns(t: &Table) -> Vec<Vec<&'static str>> {
    let mut out: Vec<Vec<&'static str>> = Vec::new();
    for cols in t.indexes {
        let mut v = cols.to_vec();
        v.push("id");
        out.push(v);
    }
    for (col, _) in t.refs() {
        if !out.iter().any(|v| v[0] == col) {
            out.push(vec![col]);
        }
    }
    out.push(vec!["updated_at"]);
    out
}

/// The hub's secondary indexes: the cloud's ([`index_columns`]) without
/// `updated_at`. The hub never reads by it (tablets resume by the change log's
/// `seq`, lists page by id), so on the hub that index only cost each write a
/// B-tree page and each record its entry (83 bytes per repair order, 1.35 of a
/// lone create's 15.6 WAL frames); the cloud keeps it for "what changed since"
/// queries of its own clients. Migration 0009 dropped it from existing data dirs.
pub fn hub_index_columns(t: &Table) -> Vec<Vec<&'static str>> {
    index_columns(t)
        .into_iter()
        .filter(|cols| cols.as_slice() != ["updated_at"])
        .collect()
}

/// The whole catalog as SQLite DDL, tables in dependency order.
pub fn sqlite_schema() -> String {
    TABLES
        .iter()
        .map(sqlite_table)
        .collect::<Vec<_>>()
        .join("\n")
}
