//! SQL for the shop tables, built once from the catalog (invariant 6: no name in
//! these statements comes from a request), and the conversion between SQLite rows
//! and [`Record`]s.

use crate::domain::catalog::{ColType, SYSTEM_COLUMNS};
use crate::domain::value::{to_json, Fields, Value};
use crate::domain::{ShopId, TableId, TABLES};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::ToSql;
use serde_json::{Map, Value as Json};
use std::sync::OnceLock;

/// A stored record: the row (last-writer-wins view) and its document's heads.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub table: TableId,
    pub id: String,
    pub shop_id: ShopId,
    pub created_at: String,
    pub updated_at: String,
    /// Every business column of the table.
    pub fields: Fields,
    pub heads: Vec<String>,
}

impl Record {
    pub fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert("id".into(), Json::String(self.id.clone()));
        m.insert("shop_id".into(), Json::String(self.shop_id.to_string()));
        m.insert("created_at".into(), Json::String(self.created_at.clone()));
        m.insert("updated_at".into(), Json::String(self.updated_at.clone()));
        let def = self.table.def();
        for col in def.columns {
            let v = self.fields.get(col.name).unwrap_or(&Value::Null);
            m.insert(col.name.into(), to_json(col.ty, v));
        }
        m.insert(
            "_heads".into(),
            Json::Array(self.heads.iter().cloned().map(Json::String).collect()),
        );
        Json::Object(m)
    }
}

/// Where one key of a record's JSON object comes from.
#[derive(Debug, Clone, Copy)]
enum JsonKey {
    Id,
    ShopId,
    CreatedAt,
    UpdatedAt,
    Column(usize),
    Heads,
}

/// A table's JSON keys in the order [`Record::to_json`]'s map (a `BTreeMap`)
/// writes them: sorted by name.
fn json_keys(table: TableId) -> &'static [(&'static str, JsonKey)] {
    static ALL: OnceLock<Vec<Vec<(&'static str, JsonKey)>>> = OnceLock::new();
    &ALL.get_or_init(|| {
        TABLES
            .iter()
            .map(|t| {
                let mut keys = vec![
                    ("id", JsonKey::Id),
                    ("shop_id", JsonKey::ShopId),
                    ("created_at", JsonKey::CreatedAt),
                    ("updated_at", JsonKey::UpdatedAt),
                ];
                keys.extend(
                    t.columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.name, JsonKey::Column(i))),
                );
                keys.push(("_heads", JsonKey::Heads));
                // As a map would: the last of equal names wins, then by name.
                keys.reverse();
                keys.sort_by(|a, b| a.0.cmp(b.0));
                keys.dedup_by(|later, earlier| later.0 == earlier.0);
                keys
            })
            .collect()
    })[table.0 as usize]
}

/// Writes the same JSON as `Record::to_json` (same keys, order and values)
/// without building a `serde_json::Value` first: a list of 50 spent more time
/// building and dropping those maps than reading its rows.
impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let keys = json_keys(self.table);
        let columns = self.table.def().columns;
        let mut map = s.serialize_map(Some(keys.len()))?;
        for (name, key) in keys {
            match key {
                JsonKey::Id => map.serialize_entry(name, &self.id)?,
                JsonKey::ShopId => map.serialize_entry(name, &self.shop_id)?,
                JsonKey::CreatedAt => map.serialize_entry(name, &self.created_at)?,
                JsonKey::UpdatedAt => map.serialize_entry(name, &self.updated_at)?,
                JsonKey::Heads => map.serialize_entry(name, &self.heads)?,
                JsonKey::Column(i) => {
                    let col = &columns[*i];
                    match (self.fields.get(col.name).unwrap_or(&Value::Null), col.ty) {
                        (Value::Null, _) => map.serialize_entry(name, &())?,
                        (Value::Int(i), ColType::Bool) => map.serialize_entry(name, &(*i != 0))?,
                        (Value::Int(i), _) => map.serialize_entry(name, i)?,
                        (Value::Bool(b), _) => map.serialize_entry(name, b)?,
                        (v @ Value::Text(_), ColType::Json) => {
                            map.serialize_entry(name, &to_json(col.ty, v))?
                        }
                        (Value::Text(t), _) => map.serialize_entry(name, t)?,
                    }
                }
            }
        }
        map.end()
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
        })
    }
}

pub fn from_sql(ty: ColType, v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if ty == ColType::Bool => Value::Bool(i != 0),
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Text(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Value::Text(String::from_utf8_lossy(t).into_owned())
        }
    }
}

/// The statements of one table.
pub struct TableSql {
    /// `id, shop_id, created_at, updated_at, <columns...>` in catalog order.
    pub columns: String,
    pub insert: String,
    pub update: String,
    pub delete: String,
    /// `SELECT <columns>, heads FROM t LEFT JOIN crdt_docs ...` without a WHERE.
    pub select: String,
}

pub fn sql(table: TableId) -> &'static TableSql {
    static ALL: OnceLock<Vec<TableSql>> = OnceLock::new();
    &ALL.get_or_init(|| TABLES.iter().map(build).collect())[table.0 as usize]
}

fn build(t: &crate::domain::Table) -> TableSql {
    let names: Vec<&str> = t.all_column_names().collect();
    let columns = names.join(", ");
    let placeholders = (1..=names.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sets = names
        .iter()
        .enumerate()
        .skip(2)
        .map(|(i, n)| format!("{n} = ?{}", i + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let qualified = names
        .iter()
        .map(|n| format!("t.{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    TableSql {
        insert: format!("INSERT INTO {} ({columns}) VALUES ({placeholders})", t.name),
        update: format!(
            "UPDATE {} SET {sets} WHERE id = ?1 AND shop_id = ?2",
            t.name
        ),
        delete: format!("DELETE FROM {} WHERE id = ?1 AND shop_id = ?2", t.name),
        select: format!(
            "SELECT {qualified}, d.heads FROM {} t LEFT JOIN crdt_docs d \
             ON d.table_name = '{}' AND d.record_id = t.id",
            t.name, t.name
        ),
        columns,
    }
}

/// The values of a record in `TableSql::columns` order, for insert and update.
pub fn row_params(r: &Record) -> Vec<Value> {
    let mut v = vec![
        Value::Text(r.id.clone()),
        Value::Text(r.shop_id.to_string()),
        Value::Text(r.created_at.clone()),
        Value::Text(r.updated_at.clone()),
    ];
    for col in r.table.def().columns {
        v.push(r.fields.get(col.name).cloned().unwrap_or(Value::Null));
    }
    v
}

/// Reads a row selected with `TableSql::select`.
pub fn read_row(table: TableId, row: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let text = |i: usize| -> rusqlite::Result<String> { row.get(i) };
    let def = table.def();
    let mut fields = Fields::new();
    let base = SYSTEM_COLUMNS.len();
    for (i, col) in def.columns.iter().enumerate() {
        fields.insert(col.name, from_sql(col.ty, row.get_ref(base + i)?));
    }
    let heads: Option<String> = row.get(base + def.columns.len())?;
    Ok(Record {
        table,
        id: text(0)?,
        shop_id: ShopId::new(text(1)?),
        created_at: text(2)?,
        updated_at: text(3)?,
        fields,
        heads: heads
            .map(|h| {
                h.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// A shop id binds as its text.
impl ToSql for ShopId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(
            self.as_str().as_bytes(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_serializes_exactly_as_its_json_value() {
        for table in TableId::all() {
            for variant in 0..3 {
                let mut fields = Fields::new();
                for (i, col) in table.def().columns.iter().enumerate() {
                    let v = match (col.ty, (i + variant) % 3) {
                        (_, 0) => Value::Null,
                        (ColType::Int | ColType::Cents, _) => Value::Int(-42 + i as i64),
                        (ColType::Bool, 1) => Value::Int(1),
                        (ColType::Bool, _) => Value::Bool(false),
                        (ColType::Json, 1) => Value::Text(r#"{"z":1,"a":[true,"x"]}"#.into()),
                        (ColType::Json, _) => Value::Text("not json".into()),
                        _ => Value::Text(format!("\"quoted\" \\ é ✓ \u{1} {}", col.name)),
                    };
                    fields.insert(col.name, v);
                }
                let rec = Record {
                    table,
                    id: "0190f3c4-0000-7000-8000-000000000001".into(),
                    shop_id: ShopId::new("0190f3c4-0000-7000-8000-000000000002"),
                    created_at: "2025-01-01T00:00:00.000000Z".into(),
                    updated_at: "2025-01-02T00:00:00.000000Z".into(),
                    fields,
                    heads: (0..variant).map(|h| format!("{h:064x}")).collect(),
                };
                let direct = serde_json::to_string(&rec).expect("serialize");
                assert_eq!(direct, rec.to_json().to_string(), "{table}");
            }
        }
    }
}
