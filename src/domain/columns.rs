//! The column rules (`docs/roles.md`): the role matrix narrowed to
//! columns. The API asks [`hidden`] / [`redact`] before it answers with a record
//! and [`may_filter`] before it filters a list; [`check_update`] runs inside the
//! write transaction (from [`super::policy::check_row`]) with the stored row.
//! The cloud holds the same rules in `rls/20261126000106_columns.sql`, and
//! `tests/columns.tsv` states them as cases both enforcement points run.
//!
//! - `users.hourly_rate_cents` is read by FIN (owner, admin, manager, accountant)
//!   and by the user themself; to everyone else it is absent.
//! - `repair_orders`, for the roles that may update but not insert them
//!   (technician, parts_manager, receptionist, accountant): only `stage`,
//!   `hold_reason`, `notes` and `ro_status` among the production statuses. The
//!   money columns (`*_cents`) and the statuses invoiced, paid, archived and
//!   cancelled are FIN's: the accountant may change those too; the others
//!   neither set those statuses nor move a repair order out of them.
//! - `parts`, for the roles that may update but not insert them (outside MGMT,
//!   estimator, parts_manager): only `part_status` (to received, inspected or
//!   installed) and `quantity_received` (and notes, should the table get them).
//!
//! `id`, `shop_id` and `created_at` never reach [`check_update`]: they are not
//! fields a write can set.

use super::catalog::{ColType, TableId};
use super::policy::{access, Access, Role, Verb};
use super::value::{Fields, Value};

/// FIN: the roles that see money that is not theirs.
const FIN: [Role; 4] = [Role::Owner, Role::Admin, Role::Manager, Role::Accountant];

/// Columns of `users` only FIN and the user themself read.
pub const PRIVATE_USER_COLUMNS: &[&str] = &["hourly_rate_cents"];

/// The repair-order statuses a production role moves a repair order among.
pub const PRODUCTION_STATUSES: &[&str] = &[
    "in_production",
    "quality_control",
    "parts_hold",
    "ready_for_delivery",
];
/// The repair-order statuses that are FIN's (and the writers').
pub const FIN_STATUSES: &[&str] = &["invoiced", "paid", "archived", "cancelled"];
/// What a part may be marked by those who only handle it.
pub const HANDLED_PART_STATUSES: &[&str] = &["received", "inspected", "installed"];

fn is_fin(role: Role) -> bool {
    FIN.contains(&role)
}

/// Whether `role` reads every column of every row of `table`.
pub fn reads_all_columns(table: TableId, role: Role) -> bool {
    table != TableId::USERS || is_fin(role)
}

/// The columns of the row `record_id` of `table` that the caller (`role`, user
/// id `me`) may not read.
pub fn hidden(
    table: TableId,
    role: Role,
    me: Option<&str>,
    record_id: &str,
) -> &'static [&'static str] {
    if reads_all_columns(table, role) || me == Some(record_id) {
        &[]
    } else {
        PRIVATE_USER_COLUMNS
    }
}

/// Removes from a record's JSON (an object with its `id`) what the caller may
/// not read: the keys are absent, not null.
pub fn redact(table: TableId, role: Role, me: Option<&str>, record: &mut serde_json::Value) {
    let id = record
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string();
    let hide = hidden(table, role, me, &id);
    if let Some(obj) = record.as_object_mut() {
        for c in hide {
            obj.remove(*c);
        }
    }
}

/// Whether `role` may filter a list of `table` by `column`: a filter tells the
/// values of rows the caller may not read, so only those who read the column on
/// every row may filter by it.
pub fn may_filter(table: TableId, role: Role, column: &str) -> bool {
    reads_all_columns(table, role) || !PRIVATE_USER_COLUMNS.contains(&column)
}

/// Whether `role` is held to the narrow column rules of `table` on update: it
/// may update the table but not insert into it (repair orders and parts).
fn narrowed(table: TableId, role: Role) -> bool {
    (table == TableId::REPAIR_ORDERS || table == TableId::PARTS)
        && access(table, Verb::Update, role) == Access::All
        && access(table, Verb::Insert, role) == Access::Denied
}

fn is_money(table: TableId, column: &str) -> bool {
    table
        .def()
        .column(column)
        .is_some_and(|c| c.ty == ColType::Cents)
}

fn may_change(table: TableId, role: Role, column: &str) -> bool {
    if table == TableId::REPAIR_ORDERS {
        matches!(column, "stage" | "hold_reason" | "notes" | "ro_status")
            || (is_fin(role) && is_money(table, column))
    } else {
        matches!(column, "part_status" | "quantity_received" | "notes")
    }
}

/// Whether `role` may settle a conflict on `column` of `table`. Settling
/// writes the chosen value on the record's heads, which supersedes the other
/// candidates even when it equals the value shown now: a write the column
/// rules would let through as "no change", so the rule is asked of the column
/// itself, whatever the value.
pub fn may_settle(table: TableId, role: Role, column: &str) -> bool {
    !narrowed(table, role) || may_change(table, role, column)
}

fn text(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    }
}

/// The column rules of an update by `role`: `current` is the stored row,
/// `changes` the fields the write sets (a field set to the value it holds is no
/// change). `Err` names the field first: `"field: why"`.
pub fn check_update(
    table: TableId,
    role: Role,
    current: Option<&Fields>,
    changes: &Fields,
) -> Result<(), String> {
    if !narrowed(table, role) {
        return Ok(());
    }
    let stored = |f: &str| current.and_then(|c| c.get(f));
    let changed: Vec<(&'static str, &Value)> = changes
        .iter()
        .filter(|(f, v)| stored(f) != Some(*v))
        .map(|(f, v)| (*f, v))
        .collect();
    if let Some((f, _)) = changed.iter().find(|(f, _)| !may_change(table, role, f)) {
        return Err(if table == TableId::REPAIR_ORDERS {
            format!(
                "{f}: {} may change only stage, hold_reason, notes and ro_status of a repair order",
                role.with_article()
            )
        } else {
            format!(
                "{f}: {} may change only part_status and quantity_received of a part",
                role.with_article()
            )
        });
    }
    for (f, v) in changed {
        let new = text(Some(v)).unwrap_or_default();
        match (table, f) {
            (TableId::REPAIR_ORDERS, "ro_status") => {
                let old = text(stored(f)).unwrap_or_default();
                let fin = is_fin(role);
                let to_ok =
                    PRODUCTION_STATUSES.contains(&new) || (fin && FIN_STATUSES.contains(&new));
                let from_ok = fin || !FIN_STATUSES.contains(&old);
                if !(to_ok && from_ok) {
                    return Err(format!(
                        "ro_status: {} moves a repair order only among in_production, quality_control, parts_hold and ready_for_delivery",
                        role.with_article()
                    ));
                }
            }
            (TableId::PARTS, "part_status") if !HANDLED_PART_STATUSES.contains(&new) => {
                return Err(format!(
                    "part_status: {} marks a part only received, inspected or installed",
                    role.with_article()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, Value)]) -> Fields {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn narrowed_roles_are_those_that_update_but_do_not_insert() {
        let ro: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| narrowed(TableId::REPAIR_ORDERS, *r))
            .collect();
        assert_eq!(
            ro,
            [
                Role::Technician,
                Role::PartsManager,
                Role::Receptionist,
                Role::Accountant
            ]
        );
        let parts: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| narrowed(TableId::PARTS, *r))
            .collect();
        assert_eq!(
            parts,
            [
                Role::ServiceAdvisor,
                Role::Technician,
                Role::Receptionist,
                Role::Accountant
            ]
        );
    }

    #[test]
    fn unchanged_values_are_no_change_and_refusals_name_the_field() {
        let stored = fields(&[
            ("total_cents", Value::Int(100)),
            ("ro_status", Value::Text("invoiced".into())),
        ]);
        let same = fields(&[("total_cents", Value::Int(100))]);
        let tech = Role::Technician;
        assert_eq!(
            check_update(TableId::REPAIR_ORDERS, tech, Some(&stored), &same),
            Ok(())
        );
        let more = fields(&[("total_cents", Value::Int(101))]);
        let err = check_update(TableId::REPAIR_ORDERS, tech, Some(&stored), &more);
        assert!(
            matches!(&err, Err(m) if m.starts_with("total_cents:")),
            "{err:?}"
        );
        let out = fields(&[("ro_status", Value::Text("in_production".into()))]);
        let err = check_update(TableId::REPAIR_ORDERS, tech, Some(&stored), &out);
        assert!(
            matches!(&err, Err(m) if m.starts_with("ro_status:")),
            "{err:?}"
        );
        assert_eq!(
            check_update(
                TableId::REPAIR_ORDERS,
                Role::Accountant,
                Some(&stored),
                &out
            ),
            Ok(())
        );
    }

    #[test]
    fn the_rate_is_hidden_from_all_but_fin_and_the_user() {
        assert!(
            hidden(TableId::USERS, Role::Technician, Some("a"), "b").contains(&"hourly_rate_cents")
        );
        assert!(hidden(TableId::USERS, Role::Technician, Some("a"), "a").is_empty());
        assert!(hidden(TableId::USERS, Role::Accountant, Some("a"), "b").is_empty());
        assert!(hidden(TableId::REPAIR_ORDERS, Role::Technician, Some("a"), "b").is_empty());
        assert!(!may_filter(
            TableId::USERS,
            Role::Receptionist,
            "hourly_rate_cents"
        ));
        assert!(may_filter(TableId::USERS, Role::Receptionist, "role"));
    }
}
