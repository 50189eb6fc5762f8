//! The role matrix (`docs/roles.md`), as one table. The API asks [`policy`] on every
//! request and [`check_row`] inside the write transaction; the cloud's RLS policies
//! implement the same table, and `tests/matrix.tsv` states it a third time,
//! independently, for the tests that hold both enforcement points to it.

use super::catalog::TableId;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Manager,
    ServiceAdvisor,
    Estimator,
    Technician,
    PartsManager,
    Receptionist,
    Accountant,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Owner,
        Role::Admin,
        Role::Manager,
        Role::ServiceAdvisor,
        Role::Estimator,
        Role::Technician,
        Role::PartsManager,
        Role::Receptionist,
        Role::Accountant,
    ];

    pub fn as_str(self) -> &'static str {
        super::catalog::ROLES[self as usize]
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl Role {
    /// The role with its article, for messages: "a technician", "an owner".
    pub fn with_article(self) -> String {
        let article = match self.as_str().as_bytes().first() {
            Some(b'a' | b'e' | b'i' | b'o' | b'u') => "an",
            _ => "a",
        };
        format!("{article} {self}")
    }
}

/// The refusal of a verb on a table by the table half of the matrix, in the
/// same words wherever it is checked (HTTP, tablets, the writer).
pub fn not_allowed(role: Role, verb: Verb, table: &str) -> String {
    format!("{} may not {} {table}", role.with_article(), verb.as_str())
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(())
    }
}

/// A set of roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles(u16);

impl Roles {
    pub const NONE: Roles = Roles(0);
    pub const ALL: Roles = Roles(0x1ff);
    pub const fn of(roles: &[Role]) -> Roles {
        let mut bits = 0;
        let mut i = 0;
        while i < roles.len() {
            bits |= roles[i].bit();
            i += 1;
        }
        Roles(bits)
    }
    pub const fn plus(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }
}

use Role::*;
const MGMT: Roles = Roles::of(&[Owner, Admin, Manager]);
const FIN: Roles = Roles::of(&[Owner, Admin, Manager, Accountant]);
const OWNER_ADMIN: Roles = Roles::of(&[Owner, Admin]);
const WRITERS: Roles = MGMT.plus(Roles::of(&[ServiceAdvisor, Estimator]));
const FRONT_DESK: Roles = MGMT.plus(Roles::of(&[ServiceAdvisor, Receptionist]));

/// Who may do one verb on one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// These roles, on every row of their shop.
    Roles(Roles),
    /// These roles on every row; every other role on its own rows only (rows whose
    /// owner column is the caller). On update, a row the caller owns may be changed
    /// only while it is not approved, and `approved`/`approved_by` never.
    RolesOrOwn(Roles),
    /// These roles on every row; every user on their own row, profile name only
    /// (users: "a user may edit own name and password, never own role").
    RolesOrSelf(Roles),
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub read: Rule,
    pub insert: Rule,
    pub update: Rule,
    pub delete: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    Read,
    Insert,
    Update,
    Delete,
}

impl Verb {
    pub const ALL: [Verb; 4] = [Verb::Read, Verb::Insert, Verb::Update, Verb::Delete];
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Read => "read",
            Verb::Insert => "insert",
            Verb::Update => "update",
            Verb::Delete => "delete",
        }
    }
}

const fn p(read: Rule, insert: Rule, update: Rule, delete: Rule) -> Policy {
    Policy {
        read,
        insert,
        update,
        delete,
    }
}
const fn r(roles: Roles) -> Rule {
    Rule::Roles(roles)
}
const NOBODY: Rule = Rule::Roles(Roles::NONE);
const EVERYONE: Rule = Rule::Roles(Roles::ALL);

/// The matrix, by table name. `policy()` looks a table up here; a table missing
/// from this list is a compile-time-visible test failure (see the tests below).
const MATRIX: &[(&str, Policy)] = &[
    ("shops", p(EVERYONE, NOBODY, r(OWNER_ADMIN), NOBODY)),
    (
        "users",
        p(
            EVERYONE,
            r(OWNER_ADMIN),
            Rule::RolesOrSelf(OWNER_ADMIN),
            r(Roles::of(&[Owner])),
        ),
    ),
    ("customers", p(EVERYONE, EVERYONE, EVERYONE, r(MGMT))),
    ("vehicles", p(EVERYONE, EVERYONE, EVERYONE, r(MGMT))),
    (
        "insurance_companies",
        p(EVERYONE, r(MGMT), r(MGMT), r(MGMT)),
    ),
    ("production_stages", p(EVERYONE, r(MGMT), r(MGMT), r(MGMT))),
    (
        "vendors",
        p(
            EVERYONE,
            r(MGMT.plus(Roles::of(&[PartsManager]))),
            r(MGMT.plus(Roles::of(&[PartsManager]))),
            r(MGMT),
        ),
    ),
    ("claims", p(EVERYONE, r(WRITERS), r(WRITERS), r(MGMT))),
    ("estimates", p(EVERYONE, r(WRITERS), r(WRITERS), r(MGMT))),
    (
        "estimate_lines",
        p(EVERYONE, r(WRITERS), r(WRITERS), r(MGMT)),
    ),
    ("bms_imports", p(EVERYONE, r(WRITERS), r(WRITERS), r(MGMT))),
    ("repair_orders", p(EVERYONE, r(WRITERS), EVERYONE, r(MGMT))),
    ("ro_stage_history", p(EVERYONE, EVERYONE, NOBODY, NOBODY)),
    (
        "parts",
        p(
            EVERYONE,
            r(MGMT.plus(Roles::of(&[Estimator, PartsManager]))),
            EVERYONE,
            r(MGMT.plus(Roles::of(&[PartsManager]))),
        ),
    ),
    (
        "purchase_orders",
        p(
            EVERYONE,
            r(MGMT.plus(Roles::of(&[PartsManager]))),
            r(MGMT.plus(Roles::of(&[PartsManager]))),
            r(MGMT),
        ),
    ),
    ("labor_entries", TECH_TIME),
    ("time_clock", TECH_TIME),
    (
        "invoices",
        p(
            r(FIN.plus(Roles::of(&[ServiceAdvisor]))),
            r(FIN),
            r(FIN),
            r(OWNER_ADMIN),
        ),
    ),
    (
        "payments",
        p(
            r(FIN.plus(Roles::of(&[ServiceAdvisor, Receptionist]))),
            r(FIN.plus(Roles::of(&[Receptionist]))),
            r(FIN),
            r(OWNER_ADMIN),
        ),
    ),
    ("attachments", p(EVERYONE, EVERYONE, r(MGMT), r(MGMT))),
    ("signatures", p(EVERYONE, EVERYONE, NOBODY, NOBODY)),
    (
        "loaner_vehicles",
        p(EVERYONE, r(FRONT_DESK), r(FRONT_DESK), r(MGMT)),
    ),
    (
        "loaner_reservations",
        p(EVERYONE, r(FRONT_DESK), r(FRONT_DESK), r(MGMT)),
    ),
];

const TECH_TIME: Policy = p(
    Rule::RolesOrOwn(MGMT.plus(Roles::of(&[ServiceAdvisor, Accountant]))),
    Rule::RolesOrOwn(MGMT),
    Rule::RolesOrOwn(MGMT),
    r(MGMT),
);

pub fn policy(table: TableId) -> &'static Policy {
    let name = table.name();
    MATRIX
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p)
        .unwrap_or(&DENY_ALL)
}

const DENY_ALL: Policy = p(NOBODY, NOBODY, NOBODY, NOBODY);

impl Policy {
    pub fn rule(&self, verb: Verb) -> Rule {
        match verb {
            Verb::Read => self.read,
            Verb::Insert => self.insert,
            Verb::Update => self.update,
            Verb::Delete => self.delete,
        }
    }
}

/// What the caller may do before any row is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every row of the shop.
    All,
    /// Only rows whose owner column is the caller.
    Own,
    /// Only the caller's own user row, profile fields only.
    SelfProfile,
    Denied,
}

pub fn access(table: TableId, verb: Verb, role: Role) -> Access {
    match policy(table).rule(verb) {
        Rule::Roles(set) if set.contains(role) => Access::All,
        Rule::Roles(_) => Access::Denied,
        Rule::RolesOrOwn(set) if set.contains(role) => Access::All,
        Rule::RolesOrOwn(_) => Access::Own,
        Rule::RolesOrSelf(set) if set.contains(role) => Access::All,
        Rule::RolesOrSelf(_) => Access::SelfProfile,
    }
}

/// The profile fields a user may change on their own row.
pub const SELF_EDITABLE_USER_FIELDS: &[&str] = &["display_name"];
/// Fields an owner of a row (a technician) may never set on it.
pub const APPROVAL_FIELDS: &[&str] = &["approved", "approved_by"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::TABLES;

    #[test]
    fn refusals_name_the_role_with_its_article() {
        assert_eq!(
            not_allowed(Role::Estimator, Verb::Read, "payments"),
            "an estimator may not read payments"
        );
        assert_eq!(Role::Technician.with_article(), "a technician");
        assert_eq!(Role::Owner.with_article(), "an owner");
    }

    #[test]
    fn every_table_has_a_row_in_the_matrix() {
        for t in TABLES {
            assert!(
                MATRIX.iter().any(|(n, _)| *n == t.name),
                "{} has no policy",
                t.name
            );
        }
        assert_eq!(MATRIX.len(), TABLES.len());
    }

    #[test]
    fn nobody_deletes_their_own_account_and_narrowed_roles_name_the_field() {
        use crate::domain::value::{Fields, Value};
        let owner = Principal {
            shop_id: super::super::ShopId::new("s"),
            user_id: Some("u1".into()),
            role: Role::Owner,
        };
        let none = Fields::new();
        let got = check_row(
            TableId::USERS,
            Verb::Delete,
            &owner,
            "u1",
            Some(&none),
            &none,
        );
        assert!(
            matches!(&got, Err(Refusal::Forbidden(m)) if m.starts_with("id:")),
            "{got:?}"
        );
        assert_eq!(
            check_row(
                TableId::USERS,
                Verb::Delete,
                &owner,
                "u2",
                Some(&none),
                &none
            ),
            Ok(())
        );
        let tech = Principal {
            role: Role::Technician,
            ..owner
        };
        let stored: Fields = [("priority", Value::Text("normal".into()))]
            .into_iter()
            .collect();
        let change: Fields = [("priority", Value::Text("urgent".into()))]
            .into_iter()
            .collect();
        let got = check_row(
            TableId::REPAIR_ORDERS,
            Verb::Update,
            &tech,
            "r1",
            Some(&stored),
            &change,
        );
        assert!(
            matches!(&got, Err(Refusal::Forbidden(m)) if m.starts_with("priority:")),
            "{got:?}"
        );
    }

    #[test]
    fn role_names_match_the_catalog() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
    }
}

/// Who is asking: a signed-in user of one shop, or the hub itself (for `init`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub shop_id: super::ShopId,
    /// The user's id; `None` for the hub acting on its own (`collisionos init`).
    pub user_id: Option<String>,
    pub role: Role,
}

impl Principal {
    pub fn system(shop_id: super::ShopId) -> Principal {
        Principal {
            shop_id,
            user_id: None,
            role: Role::Owner,
        }
    }
}

/// Why a row-level check refused a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The row is not visible to the caller: answered exactly like a missing row.
    NotFound,
    /// Visible, but this change is not allowed; the message says why.
    Forbidden(String),
}

/// The checks that need the row itself, run inside the write transaction after
/// [`access`] allowed the verb: own rows, the self-profile, the column rules
/// ([`super::columns::check_update`]) and the account guards. `current` is the
/// stored row for update/delete; `changes` the fields the write sets.
pub fn check_row(
    table: TableId,
    verb: Verb,
    who: &Principal,
    record_id: &str,
    current: Option<&crate::domain::value::Fields>,
    changes: &crate::domain::value::Fields,
) -> Result<(), Refusal> {
    use crate::domain::value::Value;
    let def = table.def();
    let me = who.user_id.as_deref();
    let is_me = |v: Option<&Value>| matches!((v, me), (Some(Value::Text(s)), Some(m)) if s == m);
    match access(table, verb, who.role) {
        Access::Denied => return Err(Refusal::Forbidden(not_allowed(who.role, verb, def.name))),
        Access::All => {}
        Access::Own => {
            let owner = def.owner();
            if let Some(row) = current {
                if !is_me(row.get(owner)) {
                    return Err(Refusal::NotFound);
                }
                if row.get("approved") == Some(&Value::Bool(true)) {
                    return Err(Refusal::Forbidden(
                        "an approved entry can only be changed by a manager".into(),
                    ));
                }
            }
            // A create names every column, the approval ones at their defaults (not
            // approved, by nobody): only a value beyond those is an approval.
            let approves = |f: &&&str| match changes.get(**f) {
                None => false,
                Some(v) => current.is_some() || !matches!(v, Value::Null | Value::Bool(false)),
            };
            if let Some(f) = APPROVAL_FIELDS.iter().find(approves) {
                return Err(Refusal::Forbidden(format!(
                    "{f}: only a manager may approve time"
                )));
            }
            if changes.contains_key(owner) && !is_me(changes.get(owner)) {
                return Err(Refusal::Forbidden(format!(
                    "{owner}: you may only record your own time"
                )));
            }
        }
        Access::SelfProfile => {
            if me != Some(record_id) {
                return Err(Refusal::Forbidden(
                    "you may only edit your own profile".into(),
                ));
            }
            if let Some(f) = changes
                .keys()
                .find(|k| !SELF_EDITABLE_USER_FIELDS.contains(k))
            {
                return Err(Refusal::Forbidden(format!(
                    "{f}: you may change only your own display name"
                )));
            }
        }
    }
    if verb == Verb::Update {
        super::columns::check_update(table, who.role, current, changes)
            .map_err(Refusal::Forbidden)?;
    }
    if table == TableId::USERS && verb == Verb::Delete && me == Some(record_id) {
        return Err(Refusal::Forbidden(
            "id: you cannot delete your own account".into(),
        ));
    }
    if table == TableId::USERS && verb != Verb::Read {
        check_user_admin(who, record_id, current, changes)?;
    }
    Ok(())
}

/// Whether `who` may give an account the role `role`: only an owner grants
/// the owner role.
pub fn may_grant(who: Role, role: &str) -> bool {
    role != "owner" || who == Role::Owner
}

/// Guards on managing accounts, beyond the matrix: nobody changes their own role
/// or deactivates themselves (no self-promotion, no locking the shop out), and
/// only an owner grants the owner role or touches an owner's account.
fn check_user_admin(
    who: &Principal,
    record_id: &str,
    current: Option<&crate::domain::value::Fields>,
    changes: &crate::domain::value::Fields,
) -> Result<(), Refusal> {
    use crate::domain::value::Value;
    let owner = Value::Text("owner".into());
    if who.user_id.as_deref() == Some(record_id) {
        for f in ["role", "active"] {
            if changes.contains_key(f) && changes.get(f) != current.and_then(|c| c.get(f)) {
                return Err(Refusal::Forbidden(format!(
                    "{f}: you cannot change your own {f}"
                )));
            }
        }
    }
    let grant_refused =
        matches!(changes.get("role"), Some(Value::Text(r)) if !may_grant(who.role, r));
    let touches_owner = current.and_then(|c| c.get("role")) == Some(&owner);
    if grant_refused || (touches_owner && who.role != Role::Owner) {
        return Err(Refusal::Forbidden(
            "role: only an owner may grant the owner role or change an owner's account".into(),
        ));
    }
    Ok(())
}
