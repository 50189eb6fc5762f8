//! `GET /api/ui/catalog`: what the web UI needs to draw forms and menus for
//! the caller, derived from the catalog, the role matrix and the column rules
//! (never a second copy of them in JavaScript): every table the caller may
//! read, with its columns (type, required, default, status values, the table a
//! reference points at), what the caller may do with it, the columns hidden on
//! other people's rows, the columns the caller may set on a create, and the
//! columns (and status values) the caller may set on an update. Read-only; nothing in it is a secret.

use super::extract::{Caller, NoInput};
use super::ApiError;
use crate::domain::catalog::{Default as ColDefault, STAGES};
use crate::domain::columns::{self, PRIVATE_USER_COLUMNS};
use crate::domain::policy::SELF_EDITABLE_USER_FIELDS;
use crate::domain::policy::{access, Access, Role, Verb, APPROVAL_FIELDS};
use crate::domain::value::{Fields, Value};
use crate::domain::{ColType, Column, TableId};
use axum::Json;
use serde_json::{json, Value as Json_};

fn access_name(a: Access) -> &'static str {
    match a {
        Access::All => "all",
        Access::Own => "own",
        Access::SelfProfile => "self",
        Access::Denied => "none",
    }
}

fn type_name(ty: ColType) -> &'static str {
    match ty {
        ColType::Text => "text",
        ColType::Email => "email",
        ColType::Uuid => "uuid",
        ColType::Ref(_) => "ref",
        ColType::Int => "int",
        ColType::Cents => "cents",
        ColType::Bool => "bool",
        ColType::Timestamp => "timestamp",
        ColType::Date => "date",
        ColType::Decimal => "decimal",
        ColType::Json => "json",
        ColType::Enum(_) => "enum",
        ColType::Vin => "vin",
        ColType::Stage => "stage",
    }
}

fn default_json(d: ColDefault) -> Json_ {
    match d {
        ColDefault::None => Json_::Null,
        ColDefault::Text(t) => json!(t),
        ColDefault::Int(i) => json!(i),
        ColDefault::Bool(b) => json!(b),
        ColDefault::Json(j) => serde_json::from_str(j).unwrap_or(Json_::Null),
    }
}

/// A value of the column's type, to ask the column rules about the column.
fn sample(col: &Column) -> Value {
    match col.ty {
        ColType::Int | ColType::Cents => Value::Int(1),
        ColType::Bool => Value::Bool(true),
        ColType::Enum(values) => Value::Text(values.first().copied().unwrap_or("").into()),
        ColType::Stage => Value::Text("intake".into()),
        _ => Value::Text("x".into()),
    }
}

/// Whether the column rules let `role` set `col` to `value` on an update (and
/// an account's role, whether `role` may grant it).
fn may_set(table: TableId, role: Role, col: &'static str, value: Value) -> bool {
    if let (true, "role", Value::Text(r)) = (table == TableId::USERS, col, &value) {
        if !crate::domain::policy::may_grant(role, r) {
            return false;
        }
    }
    let fields: Fields = [(col, value)].into_iter().collect();
    columns::check_update(table, role, None, &fields).is_ok()
}

/// The columns `role` may change on an update of `table`, and the status
/// values it may set where the rules narrow them (column → values).
fn update_rules(table: TableId, role: Role) -> (Vec<&'static str>, Json_) {
    let def = table.def();
    let mut cols = Vec::new();
    let mut narrowed_values = serde_json::Map::new();
    let a = access(table, Verb::Update, role);
    for col in def.columns {
        let ok = match a {
            Access::Denied => false,
            Access::SelfProfile => SELF_EDITABLE_USER_FIELDS.contains(&col.name),
            Access::Own if APPROVAL_FIELDS.contains(&col.name) => false,
            _ => match col.ty {
                ColType::Enum(values) => {
                    let allowed: Vec<&str> = values
                        .iter()
                        .copied()
                        .filter(|v| may_set(table, role, col.name, Value::Text((*v).into())))
                        .collect();
                    if !allowed.is_empty() && allowed.len() < values.len() {
                        narrowed_values.insert(col.name.into(), json!(allowed));
                    }
                    !allowed.is_empty()
                }
                _ => may_set(table, role, col.name, sample(col)),
            },
        };
        if ok {
            cols.push(col.name);
        }
    }
    (cols, Json_::Object(narrowed_values))
}

fn column_json(col: &Column) -> Json_ {
    let mut c = json!({
        "name": col.name,
        "type": type_name(col.ty),
        "required": col.required,
        "default": default_json(col.default),
    });
    match col.ty {
        ColType::Enum(values) => c["values"] = json!(values),
        ColType::Ref(t) => c["ref"] = json!(t),
        _ => {}
    }
    c
}

/// `GET /api/ui/catalog`.
pub async fn catalog(caller: Caller, _: NoInput) -> Result<Json<Json_>, ApiError> {
    let role = caller.role;
    let mut tables = serde_json::Map::new();
    for t in TableId::all() {
        let read = access(t, Verb::Read, role);
        if read == Access::Denied {
            continue;
        }
        let def = t.def();
        // Columns hidden from this role on rows that are not the caller's own.
        let private: Vec<&str> = if columns::reads_all_columns(t, role) {
            Vec::new()
        } else {
            PRIVATE_USER_COLUMNS.to_vec()
        };
        let (update_columns, update_values) = update_rules(t, role);
        // A row a role may add only as its own is never added approved.
        let insert = access(t, Verb::Insert, role);
        let insert_columns: Vec<&str> = def
            .columns
            .iter()
            .map(|c| c.name)
            .filter(|c| match insert {
                Access::Denied => false,
                Access::Own => !APPROVAL_FIELDS.contains(c),
                _ => true,
            })
            .collect();
        tables.insert(
            def.name.into(),
            json!({
                "access": {
                    "read": access_name(read),
                    "insert": access_name(insert),
                    "update": access_name(access(t, Verb::Update, role)),
                    "delete": access_name(access(t, Verb::Delete, role)),
                },
                "owner_column": def.owner_column,
                "numbering": def.numbering.map(|n| n.column),
                "columns": def.columns.iter().map(column_json).collect::<Vec<_>>(),
                "private_columns": private,
                "insert_columns": insert_columns,
                "update_columns": update_columns,
                "update_values": update_values,
            }),
        );
    }
    Ok(Json(json!({
        "role": role.as_str(),
        "user_id": caller.user_id,
        "shop_id": caller.shop_id.as_str(),
        "default_stages": STAGES,
        "tables": tables,
    })))
}
