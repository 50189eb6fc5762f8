//! The SQLite schema as it is on disk after the migrations: tables, columns,
//! NOT NULLs and `CHECK (col IN (...))` status lists. The parity tests compare it
//! with the cloud's Postgres schema and with the catalog.

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteColumn {
    pub name: String,
    /// The declared type (`TEXT`, `INTEGER`, ...), as written.
    pub decl_type: String,
    pub not_null: bool,
    pub primary_key: bool,
    /// The default as SQL text (`'UTC'`, `0`), if any.
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteTable {
    pub name: String,
    /// In column order.
    pub columns: Vec<SqliteColumn>,
    /// `CHECK (col IN ('a', 'b'))` lists of quoted values, by column. Lists of
    /// anything but string literals (`active IN (0, 1)`) are not status lists and
    /// are left out.
    pub status_lists: BTreeMap<String, Vec<String>>,
    /// The `CREATE TABLE` statement.
    pub sql: String,
}

impl SqliteTable {
    pub fn column(&self, name: &str) -> Option<&SqliteColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Creates (or opens) the SQLite file at `path` and brings it to this build's schema.
pub fn migrate_file(path: &Path) -> anyhow::Result<()> {
    let mut conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    super::migrations::apply(&mut conn).with_context(|| format!("migrating {}", path.display()))?;
    Ok(())
}

/// Every table of the SQLite file at `db_path` (opened read-only), by name order;
/// SQLite's own `sqlite_*` tables are left out.
pub fn sqlite_schema(db_path: &Path) -> anyhow::Result<Vec<SqliteTable>> {
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {} read-only", db_path.display()))?;
    let mut stmt = conn.prepare(
        "SELECT name, sql FROM sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )?;
    let tables: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(tables.len());
    for (name, sql) in tables {
        let mut info = conn.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid")?;
        let columns = info
            .query_map([&name], |r| {
                Ok(SqliteColumn {
                    name: r.get(0)?,
                    decl_type: r.get(1)?,
                    not_null: r.get::<_, i64>(2)? != 0,
                    default: r.get(3)?,
                    primary_key: r.get::<_, i64>(4)? != 0,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(SqliteTable {
            status_lists: status_lists(&sql),
            name,
            columns,
            sql,
        });
    }
    Ok(out)
}

/// The status lists of a `CREATE TABLE` statement: `CHECK (col IN ('a', 'b'))`,
/// or the same written as `CHECK (col = 'a' OR col = 'b' OR col = 'c')` (how
/// lists of three or more values are stored since migration 0010).
pub fn status_lists(sql: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let upper = sql.to_ascii_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at + "CHECK".len();
        from = start;
        let body = sql[start..].trim_start().strip_prefix('(');
        if let Some((col, values)) =
            body.and_then(|b| parse_in_list(b).or_else(|| parse_or_list(b)))
        {
            out.insert(col, values);
        }
    }
    out
}

/// The identifier at the start of `s` (after blanks), and the rest.
fn ident(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let len = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (len > 0).then(|| s.split_at(len))
}

/// `kw` (any case) at the start of `s` (after blanks), and the rest.
fn keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let s = s.trim_start();
    s.get(..kw.len())?
        .eq_ignore_ascii_case(kw)
        .then(|| &s[kw.len()..])
}

/// The SQL string literal at the start of `s` (after blanks), and the rest.
fn literal(s: &str) -> Option<(String, &str)> {
    let body = s.trim_start().strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices();
    loop {
        let (i, c) = chars.next()?;
        if c != '\'' {
            value.push(c);
        } else if body[i + 1..].starts_with('\'') {
            value.push('\'');
            chars.next();
        } else {
            return Some((value, &body[i + 1..]));
        }
    }
}

/// Parses `col IN ('a', 'b'))` (after the check's opening parenthesis).
fn parse_in_list(s: &str) -> Option<(String, Vec<String>)> {
    let (col, rest) = ident(s)?;
    let mut rest = keyword(rest, "IN")?.trim_start().strip_prefix('(')?;
    let mut values = Vec::new();
    loop {
        let (value, after) = literal(rest)?;
        values.push(value);
        let after = after.trim_start();
        if let Some(r) = after.strip_prefix(',') {
            rest = r;
        } else {
            after.strip_prefix(')')?;
            return Some((col.to_string(), values));
        }
    }
}

/// Parses `col = 'a' OR col = 'b')` (after the check's opening parenthesis):
/// every comparison on the same column, with a string literal.
fn parse_or_list(s: &str) -> Option<(String, Vec<String>)> {
    let (col, _) = ident(s)?;
    let mut rest = s;
    let mut values = Vec::new();
    loop {
        let (c, after) = ident(rest)?;
        if c != col {
            return None;
        }
        let (value, after) = literal(after.trim_start().strip_prefix('=')?)?;
        values.push(value);
        if after.trim_start().starts_with(')') {
            return Some((col.to_string(), values));
        }
        rest = keyword(after, "OR")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_are_parsed_and_non_string_lists_skipped() {
        let sql = "CREATE TABLE t (\n  role TEXT NOT NULL CHECK (role IN ('owner', 'it''s')),\n  \
                   active INTEGER CHECK (active IN (0, 1)),\n  vin TEXT CHECK (length(vin) = 17),\n  \
                   s TEXT check ( s in ('a') )\n)";
        let lists = status_lists(sql);
        assert_eq!(lists.len(), 2);
        assert_eq!(lists["role"], ["owner", "it's"]);
        assert_eq!(lists["s"], ["a"]);
    }

    #[test]
    fn status_lists_written_as_comparisons_are_parsed() {
        let sql = "CREATE TABLE t (\n  op TEXT NOT NULL CHECK (op = 'create' OR op = 'it''s' or op = 'delete'),\n  \
                   shop_id TEXT CHECK (shop_id = id),\n  \
                   mixed TEXT CHECK (mixed = 'a' OR other = 'b'),\n  \
                   n INTEGER CHECK (n = 1 OR n = 2)\n)";
        let lists = status_lists(sql);
        assert_eq!(lists.len(), 1, "{lists:?}");
        assert_eq!(lists["op"], ["create", "it's", "delete"]);
    }
}
