//! Checking incoming JSON against the catalog: every field named, every type and
//! status list enforced, values normalised (UUIDs lower-case, instants in UTC with
//! a fixed width, VINs upper-case) before anything reaches the store.

use super::catalog::{ColType, Column, Table, STAGE_CODE};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

/// A stored scalar: what a column holds in SQLite and in the record's Automerge
/// document. JSON columns are held as their canonical text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Bool(bool),
}

/// The checked fields of one write, by column, in column-name order.
pub type Fields = BTreeMap<&'static str, Value>;

/// A field that failed its check: the field's name and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
    /// The same error for a field nested in a bulk request (`records[3].vin`).
    pub fn at_index(self, index: usize) -> Self {
        FieldError {
            field: format!("records[{index}].{}", self.field),
            message: self.message,
        }
    }
}

pub const MAX_TEXT_CHARS: usize = 10_000;

/// Fixed-width UTC timestamps sort correctly as text.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    utc_timestamp(t).unwrap_or_else(|| t.unix_timestamp().to_string())
}

/// The instant in the stored form (`2026-01-31T09:30:00.000000Z`), or `None` when
/// it has no such form: its UTC year is outside 0001..=9999 (an offset can carry a
/// valid RFC 3339 text past either end, e.g. `9999-12-31T23:59:59-01:00`).
pub fn utc_timestamp(t: OffsetDateTime) -> Option<String> {
    let t = t.checked_to_offset(UtcOffset::UTC)?;
    if !(1..=9999).contains(&t.year()) {
        return None;
    }
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.format(&fmt).ok()
}

pub fn now_timestamp() -> String {
    format_timestamp(OffsetDateTime::now_utc())
}

/// Seconds from an RFC 3339 instant (as the store writes them) to now; 0 for
/// one in the future, `None` for none or one that does not parse.
pub fn age_seconds(at: Option<&str>) -> Option<f64> {
    let at = OffsetDateTime::parse(at?, &Rfc3339).ok()?;
    Some((OffsetDateTime::now_utc() - at).as_seconds_f64().max(0.0))
}

pub fn parse_uuid(s: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::parse_str(s).ok().filter(|_| s.len() == 36)
}

fn type_name(ty: ColType) -> String {
    match ty {
        ColType::Text => "a string".into(),
        ColType::Email => "an e-mail address".into(),
        ColType::Uuid => "a UUID".into(),
        ColType::Ref(t) => format!("the id (UUID) of a {t} record"),
        ColType::Int => "a whole number".into(),
        ColType::Cents => "a whole number of cents".into(),
        ColType::Bool => "true or false".into(),
        ColType::Timestamp => "an RFC 3339 timestamp (2026-01-31T09:30:00Z)".into(),
        ColType::Date => "a date (YYYY-MM-DD)".into(),
        ColType::Decimal => "a decimal number as a string (\"1.5\")".into(),
        ColType::Json => "a JSON object".into(),
        ColType::Enum(values) => format!("one of {}", values.join(", ")),
        ColType::Vin => "a 17-character VIN (letters and digits, no I, O or Q)".into(),
        ColType::Stage => format!("a stage code: {STAGE_CODE}"),
    }
}

/// A NUL character (U+0000) is refused in any text: Postgres, where the cloud
/// keeps the shop's rows, cannot store it in `text` or `jsonb`, so a record
/// holding one would never reach the cloud (nor would its children).
fn nul(column: &str) -> FieldError {
    FieldError::new(
        column,
        "may not contain the NUL character (U+0000): the cloud's database cannot store it",
    )
}

fn has_nul(v: &Json) -> bool {
    match v {
        Json::String(s) => s.contains('\0'),
        Json::Array(a) => a.iter().any(has_nul),
        Json::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// Checks one JSON value against its column.
pub fn check(col: &Column, v: &Json) -> Result<Value, FieldError> {
    let wrong = || FieldError::new(col.name, format!("must be {}", type_name(col.ty)));
    if v.is_null() {
        return if col.required {
            Err(FieldError::new(col.name, "may not be null"))
        } else {
            Ok(Value::Null)
        };
    }
    let text = || -> Result<&str, FieldError> {
        let s = v.as_str().ok_or_else(wrong)?;
        if s.chars().count() > MAX_TEXT_CHARS {
            return Err(FieldError::new(
                col.name,
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            ));
        }
        if s.contains('\0') {
            return Err(nul(col.name));
        }
        Ok(s)
    };
    Ok(match col.ty {
        ColType::Text => {
            let s = text()?;
            if col.required && s.trim().is_empty() {
                return Err(FieldError::new(col.name, "may not be empty"));
            }
            Value::Text(s.to_string())
        }
        ColType::Email => {
            let s = text()?.trim();
            let ok = s.len() <= 254
                && s.split('@').count() == 2
                && !s.starts_with('@')
                && !s.ends_with('@')
                && !s.contains(char::is_whitespace);
            if !ok {
                return Err(wrong());
            }
            Value::Text(s.to_lowercase())
        }
        ColType::Uuid | ColType::Ref(_) => {
            let id = parse_uuid(text()?).ok_or_else(wrong)?;
            Value::Text(id.hyphenated().to_string())
        }
        ColType::Int | ColType::Cents => Value::Int(v.as_i64().ok_or_else(wrong)?),
        ColType::Bool => Value::Bool(v.as_bool().ok_or_else(wrong)?),
        ColType::Timestamp => {
            let t = OffsetDateTime::parse(text()?, &Rfc3339).map_err(|_| wrong())?;
            Value::Text(utc_timestamp(t).ok_or_else(|| {
                FieldError::new(
                    col.name,
                    "is outside the instants this hub stores (0001-01-01 to 9999-12-31 in UTC)",
                )
            })?)
        }
        ColType::Date => {
            let d = Date::parse(text()?, format_description!("[year]-[month]-[day]"))
                .map_err(|_| wrong())?;
            Value::Text(d.to_string())
        }
        ColType::Decimal => {
            let s = text()?;
            let digits = s.strip_prefix('-').unwrap_or(s);
            let mut parts = digits.splitn(2, '.');
            let whole = parts.next().unwrap_or("");
            let frac = parts.next();
            let ok = s.len() <= 24
                && !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit())
                && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(wrong());
            }
            Value::Text(s.to_string())
        }
        ColType::Json => {
            if !v.is_object() {
                return Err(wrong());
            }
            if has_nul(v) {
                return Err(nul(col.name));
            }
            Value::Text(v.to_string())
        }
        ColType::Enum(values) => {
            let s = v.as_str().ok_or_else(wrong)?;
            if !values.contains(&s) {
                return Err(FieldError::new(
                    col.name,
                    format!("'{s}' is not one of {}", values.join(", ")),
                ));
            }
            Value::Text(s.to_string())
        }
        ColType::Vin => {
            let s = text()?.trim().to_ascii_uppercase();
            let ok = s.len() == 17
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'I' | b'O' | b'Q'));
            if !ok {
                return Err(wrong());
            }
            Value::Text(s)
        }
        ColType::Stage => {
            let s = text()?;
            if !is_stage_code(s) {
                return Err(wrong());
            }
            Value::Text(s.to_string())
        }
    })
}

pub fn is_stage_code(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The default value of a column for a create that does not give it.
pub fn default_value(col: &Column) -> Value {
    use super::catalog::Default as D;
    match col.default {
        D::None => Value::Null,
        D::Text(s) | D::Json(s) => Value::Text(s.to_string()),
        D::Int(i) => Value::Int(i),
        D::Bool(b) => Value::Bool(b),
    }
}

/// Converts a stored value back to JSON for an API answer.
pub fn to_json(col_ty: ColType, v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Int(i) if col_ty == ColType::Bool => Json::Bool(*i != 0),
        Value::Int(i) => Json::from(*i),
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(s) if col_ty == ColType::Json => serde_json::from_str(s).unwrap_or(Json::Null),
        Value::Text(s) => Json::String(s.clone()),
    }
}

/// What a write's body may carry besides the table's columns.
#[derive(Debug, Default)]
pub struct Envelope {
    /// A client-minted id (creates only).
    pub id: Option<uuid::Uuid>,
    /// `_base`: the heads the writer last saw (updates only), as hex change hashes.
    pub base: Option<Vec<String>>,
    /// `shop_id` as sent, if sent; the caller checks it is the caller's own shop.
    pub shop_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Checks a JSON object for a create or an update of `table`: every key must be a
/// column (or one of the envelope keys the mode allows), every value must fit.
pub fn parse_object(
    table: &Table,
    body: &Json,
    mode: Mode,
) -> Result<(Envelope, Fields), FieldError> {
    let obj = body
        .as_object()
        .ok_or_else(|| FieldError::new("body", "must be a JSON object"))?;
    let mut env = Envelope::default();
    let mut fields = Fields::new();
    for (key, v) in obj {
        match (key.as_str(), mode) {
            ("id", Mode::Create) => {
                let id = v
                    .as_str()
                    .and_then(parse_uuid)
                    .ok_or_else(|| FieldError::new("id", "must be a UUID"))?;
                env.id = Some(id);
            }
            ("_base", Mode::Update) => {
                let heads = v
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|h| {
                                h.as_str()
                                    .filter(|s| {
                                        s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
                                    })
                                    .map(str::to_ascii_lowercase)
                            })
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| {
                        FieldError::new("_base", "must be a list of change hashes (64 hex digits)")
                    })?;
                // No heads would mean "I saw nothing": every field a conflict.
                if heads.is_empty() {
                    return Err(FieldError::new(
                        "_base",
                        "must name at least one change hash: the `_heads` you last read",
                    ));
                }
                env.base = Some(heads);
            }
            ("shop_id", _) => {
                env.shop_id = Some(
                    v.as_str()
                        .ok_or_else(|| FieldError::new("shop_id", "must be a UUID"))?
                        .to_ascii_lowercase(),
                );
            }
            ("id" | "created_at" | "updated_at" | "_heads", _) => {
                return Err(FieldError::new(
                    key,
                    "is set by the hub and cannot be written",
                ));
            }
            (name, _) => {
                let col = table.column(name).ok_or_else(|| {
                    FieldError::new(name, format!("is not a column of {}", table.name))
                })?;
                fields.insert(col.name, check(col, v)?);
            }
        }
    }
    if mode == Mode::Create {
        for col in table.columns {
            if fields.contains_key(col.name) {
                continue;
            }
            let generated = table.numbering.is_some_and(|n| n.column == col.name);
            let value = default_value(col);
            if col.required && value == Value::Null && !generated {
                return Err(FieldError::new(col.name, "is required"));
            }
            if !generated {
                fields.insert(col.name, value);
            }
        }
    } else if fields.is_empty() && env.shop_id.is_none() {
        return Err(FieldError::new("body", "names no field to change"));
    }
    Ok((env, fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TableId;
    use serde_json::json;

    fn table(name: &str) -> &'static Table {
        TableId::by_name(name).map(TableId::def).expect("table")
    }

    #[test]
    fn create_fills_defaults_and_leaves_the_number_to_the_hub() {
        let (_, f) = parse_object(table("repair_orders"), &json!({}), Mode::Create).expect("ok");
        assert_eq!(f.get("stage"), Some(&Value::Text("intake".into())));
        assert!(!f.contains_key("ro_number"));
    }

    #[test]
    fn names_the_bad_field() {
        let e = parse_object(
            table("vehicles"),
            &json!({"year": "nineteen"}),
            Mode::Create,
        )
        .expect_err("bad");
        assert_eq!(e.field, "year");
        let e = parse_object(table("vehicles"), &json!({"colour": "red"}), Mode::Create)
            .expect_err("unknown");
        assert_eq!(e.field, "colour");
        let e = parse_object(
            table("repair_orders"),
            &json!({"priority": "whenever"}),
            Mode::Update,
        )
        .expect_err("enum");
        assert!(e.message.contains("urgent"), "{e}");
    }

    #[test]
    fn normalises_values() {
        let col = table("vehicles").column("vin").expect("vin");
        assert_eq!(
            check(col, &json!("1hgcm82633a004352")),
            Ok(Value::Text("1HGCM82633A004352".into()))
        );
        assert!(check(col, &json!("1HGCM82633A00435O")).is_err());
        let col = table("repair_orders").column("promised_at").expect("col");
        assert_eq!(
            check(col, &json!("2026-03-01T10:00:00-05:00")),
            Ok(Value::Text("2026-03-01T15:00:00.000000Z".into()))
        );
        let col = table("estimate_lines").column("labor_hours").expect("col");
        assert!(check(col, &json!("2.5")).is_ok());
        assert!(check(col, &json!(2.5)).is_err());
        assert!(check(col, &json!("2.")).is_err());
    }
}
