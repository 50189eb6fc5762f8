//! What the cloud mirror must contain, derived from the catalog
//! ([`crate::domain::catalog`]) and the role matrix ([`crate::domain::policy`]).
//!
//! The generator ([`super::ddl`]) wrote the SQL from this, and `cloud check`
//! ([`super::check`]) holds a live database to it, so the names here (policy names,
//! trigger names, helper functions) are a contract with the shipped SQL files.

use crate::domain::catalog::{ColType, Table, TableId, TABLES};
use crate::domain::ddl::postgres_type;
use crate::domain::policy::{access, Access, Role, Verb, APPROVAL_FIELDS};

/// The cloud-only table holding Automerge change bytes, keyed by
/// `(record_id, change_hash)` ([`CHANGES_KEY`]).
pub const CHANGES_TABLE: &str = "crdt_changes";

/// The primary key of [`CHANGES_TABLE`]: a change belongs to one record, and a
/// record's changes sit together in the index (its history reads through it).
pub const CHANGES_KEY: [&str; 2] = ["record_id", "change_hash"];

/// The private schema holding the RLS helper functions and guard triggers.
pub const PRIVATE_SCHEMA: &str = "app_private";

/// The app-role claim value of a shop's hub (the machine role of `docs/roles.md`).
pub const HUB_ROLE: &str = "hub";

/// The JWT claims the policies read. `role` is the Postgres role (always
/// `authenticated` for the hub and staff); the app role is in `user_role`.
pub const CLAIM_SHOP_ID: &str = "shop_id";
pub const CLAIM_USER_ROLE: &str = "user_role";
pub const CLAIM_SUB: &str = "sub";

/// Helper functions the policies call, as `schema.name`.
pub const HELPER_FUNCTIONS: &[&str] = &[
    "auth.jwt",
    "auth.uid",
    "app_private.shop_id",
    "app_private.user_role",
    "app_private.user_id",
];

/// A check on a column's values besides its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueCheck {
    None,
    /// `CHECK (col IN (...))`, the same list as SQLite.
    Statuses(&'static [&'static str]),
    /// `CHECK (length(col) = 17)`.
    VinLength,
    /// `CHECK (col ~ '^[a-z0-9_]{1,40}$')`.
    StageCode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedColumn {
    pub name: &'static str,
    /// As `postgres_type` spells it (`uuid`, `bigint`, `timestamptz`, ...).
    pub pg_type: &'static str,
    pub not_null: bool,
    pub check: ValueCheck,
}

/// The SQL command a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    All,
    Select,
    Insert,
    Update,
    Delete,
}

impl Command {
    /// As `pg_policies.cmd` spells it.
    pub fn as_sql(self) -> &'static str {
        match self {
            Command::All => "ALL",
            Command::Select => "SELECT",
            Command::Insert => "INSERT",
            Command::Update => "UPDATE",
            Command::Delete => "DELETE",
        }
    }

    pub fn of(verb: Verb) -> Command {
        match verb {
            Verb::Read => Command::Select,
            Verb::Insert => Command::Insert,
            Verb::Update => Command::Update,
            Verb::Delete => Command::Delete,
        }
    }
}

/// A policy every cloud database must have (all are `TO authenticated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedPolicy {
    pub name: &'static str,
    pub command: Command,
}

/// A `BEFORE UPDATE` trigger guarding columns RLS cannot compare with the stored row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardTrigger {
    pub table: &'static str,
    pub trigger: &'static str,
    /// The trigger function, in [`PRIVATE_SCHEMA`].
    pub function: &'static str,
    pub kind: GuardKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardKind {
    /// Callers with only self-profile access may change nothing but
    /// [`crate::domain::policy::SELF_EDITABLE_USER_FIELDS`] (and `updated_at`).
    SelfProfile,
    /// Callers with only own-row access may not change the approval fields.
    Approval,
    /// Nobody changes their own role or active flag or deletes their own
    /// account; only an owner grants the owner role or changes an owner's
    /// account (hand-written: `rls/20261126000105_account_guards.sql`).
    Accounts,
    /// At commit: a shop never loses its last active owner (same file; a
    /// deferred constraint trigger).
    LastOwner,
    /// Nobody changes `id`, `shop_id` or `created_at` of a row (hand-written:
    /// `rls/20261126000106_columns.sql`, like the two below).
    Immutable,
    /// The narrowed column rules of [`crate::domain::columns`] (repair orders, parts).
    Columns,
}

/// A view of the cloud mirror: its columns, in order; `authenticated` may
/// SELECT it, anon and PUBLIC nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedView {
    pub name: &'static str,
    pub columns: Vec<&'static str>,
}

/// The view every user of a shop reads profiles through: the users columns
/// without those the column rules keep to FIN and the user themself.
pub const PROFILE_VIEW: &str = "user_profiles";

pub fn expected_views() -> Vec<ExpectedView> {
    let users = TableId::USERS.def();
    vec![ExpectedView {
        name: PROFILE_VIEW,
        columns: users
            .all_column_names()
            .filter(|c| !crate::domain::columns::PRIVATE_USER_COLUMNS.contains(c))
            .collect(),
    }]
}

/// A foreign key, `DEFERRABLE INITIALLY DEFERRED` so one sync batch can land in
/// any order inside its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedForeignKey {
    pub columns: Vec<&'static str>,
    pub target: &'static str,
    pub target_columns: Vec<&'static str>,
}

/// One table of the cloud mirror.
#[derive(Debug, Clone)]
pub struct ExpectedTable {
    pub name: &'static str,
    pub columns: Vec<ExpectedColumn>,
    /// UNIQUE constraints (column lists), besides the primary key.
    pub uniques: Vec<Vec<&'static str>>,
    pub foreign_keys: Vec<ExpectedForeignKey>,
    pub policies: Vec<ExpectedPolicy>,
    pub guards: Vec<GuardTrigger>,
}

impl ExpectedTable {
    pub fn column(&self, name: &str) -> Option<&ExpectedColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Policy names. One `hub_all` per catalog table, and one `staff_<verb>` per
/// verb that any staff role may do at all.
pub const HUB_ALL: &str = "hub_all";
pub const HUB_SELECT: &str = "hub_select";
pub const HUB_INSERT: &str = "hub_insert";

pub fn staff_policy_name(verb: Verb) -> &'static str {
    match verb {
        Verb::Read => "staff_select",
        Verb::Insert => "staff_insert",
        Verb::Update => "staff_update",
        Verb::Delete => "staff_delete",
    }
}

fn value_check(ty: ColType) -> ValueCheck {
    match ty {
        ColType::Enum(values) => ValueCheck::Statuses(values),
        ColType::Vin => ValueCheck::VinLength,
        ColType::Stage => ValueCheck::StageCode,
        _ => ValueCheck::None,
    }
}

fn system_columns() -> [ExpectedColumn; 4] {
    let c = |name, pg_type| ExpectedColumn {
        name,
        pg_type,
        not_null: true,
        check: ValueCheck::None,
    };
    [
        c("id", "uuid"),
        c("shop_id", "uuid"),
        c("created_at", "timestamptz"),
        c("updated_at", "timestamptz"),
    ]
}

/// The columns of a catalog table in the cloud, system columns first, in order.
pub fn columns(t: &Table) -> Vec<ExpectedColumn> {
    let mut out = system_columns().to_vec();
    out.extend(t.columns.iter().map(|c| ExpectedColumn {
        name: c.name,
        pg_type: postgres_type(c.ty),
        not_null: c.required,
        check: value_check(c.ty),
    }));
    out
}

/// The columns of [`CHANGES_TABLE`].
pub fn change_columns() -> Vec<ExpectedColumn> {
    let c = |name, pg_type, not_null| ExpectedColumn {
        name,
        pg_type,
        not_null,
        check: ValueCheck::None,
    };
    vec![
        c("change_hash", "bytea", true),
        c("shop_id", "uuid", true),
        c("table_name", "text", true),
        c("record_id", "uuid", true),
        c("seq", "bigint", true),
        c("author_id", "uuid", false),
        c("bytes", "bytea", true),
        c("created_at", "timestamptz", true),
    ]
}

/// Which roles get which kind of access to one verb of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerbAccess {
    pub all: Vec<Role>,
    pub own: Vec<Role>,
    pub self_profile: Vec<Role>,
}

impl VerbAccess {
    pub fn of(table: TableId, verb: Verb) -> VerbAccess {
        let mut v = VerbAccess::default();
        for role in Role::ALL {
            match access(table, verb, role) {
                Access::All => v.all.push(role),
                Access::Own => v.own.push(role),
                Access::SelfProfile => v.self_profile.push(role),
                Access::Denied => {}
            }
        }
        v
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.own.is_empty() && self.self_profile.is_empty()
    }
}

/// The policies a table must have: `hub_all`, plus `staff_<verb>` for each verb
/// some staff role may do. [`CHANGES_TABLE`] has `hub_select` and `hub_insert` only
/// (change bytes are immutable; the hub uploads them with ON CONFLICT DO NOTHING).
pub fn expected_policies(table: &str) -> Vec<ExpectedPolicy> {
    if table == CHANGES_TABLE {
        return vec![
            ExpectedPolicy {
                name: HUB_SELECT,
                command: Command::Select,
            },
            ExpectedPolicy {
                name: HUB_INSERT,
                command: Command::Insert,
            },
        ];
    }
    let Some(id) = TableId::by_name(table) else {
        return Vec::new();
    };
    let mut out = vec![ExpectedPolicy {
        name: HUB_ALL,
        command: Command::All,
    }];
    for verb in Verb::ALL {
        if !VerbAccess::of(id, verb).is_empty() {
            out.push(ExpectedPolicy {
                name: staff_policy_name(verb),
                command: Command::of(verb),
            });
        }
    }
    out
}

/// The approval fields a table has (`approved`, `approved_by` on labor entries).
pub fn approval_fields(t: &Table) -> Vec<&'static crate::domain::catalog::Column> {
    APPROVAL_FIELDS.iter().filter_map(|f| t.column(f)).collect()
}

/// The guard triggers a table must have.
pub fn expected_guards(table: &str) -> Vec<GuardTrigger> {
    let Some(id) = TableId::by_name(table) else {
        return Vec::new();
    };
    let t = id.def();
    let update = VerbAccess::of(id, Verb::Update);
    let insert = VerbAccess::of(id, Verb::Insert);
    let mut out = vec![GuardTrigger {
        table: t.name,
        trigger: "guard_immutable",
        function: "guard_immutable",
        kind: GuardKind::Immutable,
    }];
    if !update.self_profile.is_empty() {
        out.push(GuardTrigger {
            table: t.name,
            trigger: "guard_self_profile",
            function: guard_function_name(t.name, GuardKind::SelfProfile),
            kind: GuardKind::SelfProfile,
        });
    }
    if t.name == "users" {
        out.push(GuardTrigger {
            table: t.name,
            trigger: "guard_accounts",
            function: "users_guard_accounts",
            kind: GuardKind::Accounts,
        });
        out.push(GuardTrigger {
            table: t.name,
            trigger: "guard_last_owner",
            function: "users_guard_last_owner",
            kind: GuardKind::LastOwner,
        });
    }
    // Roles that update a table they may not insert into are narrowed to a few
    // columns where the column rules say so.
    let narrowed = update.all.iter().any(|r| !insert.all.contains(r));
    if narrowed && (id == TableId::REPAIR_ORDERS || id == TableId::PARTS) {
        out.push(GuardTrigger {
            table: t.name,
            trigger: "guard_columns",
            function: guard_function_name(t.name, GuardKind::Columns),
            kind: GuardKind::Columns,
        });
    }
    if !update.own.is_empty() && !approval_fields(t).is_empty() {
        out.push(GuardTrigger {
            table: t.name,
            trigger: "guard_approval",
            function: guard_function_name(t.name, GuardKind::Approval),
            kind: GuardKind::Approval,
        });
    }
    out
}

fn guard_function_name(table: &'static str, kind: GuardKind) -> &'static str {
    // Names are needed as `&'static str`; the set of guarded tables is tiny and
    // fixed by the catalog, so spell them out rather than leak strings.
    match (table, kind) {
        ("users", GuardKind::SelfProfile) => "users_guard_self_profile",
        ("labor_entries", GuardKind::Approval) => "labor_entries_guard_approval",
        ("time_clock", GuardKind::Approval) => "time_clock_guard_approval",
        ("repair_orders", GuardKind::Columns) => "repair_orders_guard_columns",
        ("parts", GuardKind::Columns) => "parts_guard_columns",
        (_, GuardKind::Columns) => "guard_columns",
        (_, GuardKind::LastOwner) => "users_guard_last_owner",
        (_, GuardKind::Immutable) => "guard_immutable",
        (_, GuardKind::SelfProfile) => "guard_self_profile",
        (_, GuardKind::Approval) => "guard_approval",
        (_, GuardKind::Accounts) => "users_guard_accounts",
    }
}

/// The per-shop unique keys of a catalog table: `(shop_id, id)` (the target of
/// same-shop references), the business number, and the catalog's `unique` lists.
pub fn uniques(t: &Table) -> Vec<Vec<&'static str>> {
    let mut out = vec![vec!["shop_id", "id"]];
    if let Some(n) = t.numbering {
        out.push(vec!["shop_id", n.column]);
    }
    for u in t.unique {
        let mut v = vec!["shop_id"];
        v.extend_from_slice(u);
        out.push(v);
    }
    out
}

fn shop_fk() -> ExpectedForeignKey {
    ExpectedForeignKey {
        columns: vec!["shop_id"],
        target: "shops",
        target_columns: vec!["id"],
    }
}

/// The foreign keys of a catalog table: `shop_id` onto the shop, and every
/// reference as a composite same-shop key `(shop_id, col)` onto `(shop_id, id)`.
pub fn foreign_keys(t: &Table) -> Vec<ExpectedForeignKey> {
    let mut out = Vec::new();
    if t.name != "shops" {
        out.push(shop_fk());
    }
    for (col, target) in t.refs() {
        out.push(ExpectedForeignKey {
            columns: vec!["shop_id", col],
            target,
            target_columns: vec!["shop_id", "id"],
        });
    }
    out
}

/// Every table of the cloud mirror: the catalog's, in dependency order, then
/// [`CHANGES_TABLE`].
pub fn expected_tables() -> Vec<ExpectedTable> {
    let mut out: Vec<ExpectedTable> = TABLES
        .iter()
        .map(|t| ExpectedTable {
            name: t.name,
            columns: columns(t),
            uniques: uniques(t),
            foreign_keys: foreign_keys(t),
            policies: expected_policies(t.name),
            guards: expected_guards(t.name),
        })
        .collect();
    out.push(ExpectedTable {
        name: CHANGES_TABLE,
        columns: change_columns(),
        uniques: Vec::new(),
        foreign_keys: vec![shop_fk()],
        policies: expected_policies(CHANGES_TABLE),
        guards: Vec::new(),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_has_a_hub_policy_and_append_only_tables_have_no_staff_update() {
        for t in expected_tables() {
            assert!(
                t.policies.iter().any(|p| p.name.starts_with("hub_")),
                "{}",
                t.name
            );
        }
        for name in ["ro_stage_history", "signatures"] {
            let p = expected_policies(name);
            assert!(!p.iter().any(|p| p.name == "staff_update"), "{name}");
            assert!(!p.iter().any(|p| p.name == "staff_delete"), "{name}");
        }
    }

    #[test]
    fn guards_exist_where_rls_cannot_see_the_old_row() {
        let names =
            |t: &str| -> Vec<&str> { expected_guards(t).iter().map(|g| g.trigger).collect() };
        assert_eq!(
            names("users"),
            [
                "guard_immutable",
                "guard_self_profile",
                "guard_accounts",
                "guard_last_owner"
            ]
        );
        assert_eq!(
            names("labor_entries"),
            ["guard_immutable", "guard_approval"]
        );
        // time_clock has owners but no approval fields.
        assert_eq!(names("time_clock"), ["guard_immutable"]);
        assert_eq!(names("customers"), ["guard_immutable"]);
        assert_eq!(names("repair_orders"), ["guard_immutable", "guard_columns"]);
        assert_eq!(names("parts"), ["guard_immutable", "guard_columns"]);
        let view = &expected_views()[0];
        assert!(!view.columns.contains(&"hourly_rate_cents"));
        assert!(view.columns.contains(&"display_name"));
    }
}
