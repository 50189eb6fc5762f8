//! `collisionos cloud check --db-url ...`: holds a live cloud database to the
//! catalog and the role matrix, and lists every difference.
//!
//! ```no_run
//! # async fn run(url: &str) -> anyhow::Result<()> {
//! let report = collisionos::cloud::check::check(url, None).await?;
//! println!("{report}");
//! if !report.is_ok() {
//!     std::process::exit(1);
//! }
//! # Ok(()) }
//! ```

use super::expected::{
    expected_tables, expected_views, ExpectedTable, ValueCheck, CHANGES_KEY, CHANGES_TABLE,
    HELPER_FUNCTIONS,
};
use super::introspect::{live_schema, LiveSchema, LiveTable};
use std::fmt;
use tokio_postgres::Client;

/// One difference between the live database and what the catalog expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    MissingTable {
        table: String,
    },
    MissingColumn {
        table: String,
        column: String,
    },
    /// A column the catalog does not have: the hub never writes it, and the
    /// mirror is no longer the same shape as the hub's SQLite.
    ExtraColumn {
        table: String,
        column: String,
    },
    TypeMismatch {
        table: String,
        column: String,
        expected: String,
        found: String,
    },
    NullabilityMismatch {
        table: String,
        column: String,
        expected_not_null: bool,
    },
    StatusListMismatch {
        table: String,
        column: String,
        expected: Vec<String>,
        /// `None`: the column has no `CHECK (col IN (...))` at all.
        found: Option<Vec<String>>,
    },
    /// A VIN length or stage-code CHECK is missing.
    MissingValueCheck {
        table: String,
        column: String,
        what: &'static str,
    },
    /// The primary key is not `(id)` (`(record_id, change_hash)` for the change table).
    PrimaryKeyMismatch {
        table: String,
        expected: Vec<String>,
        found: Vec<String>,
    },
    MissingUnique {
        table: String,
        columns: Vec<String>,
    },
    MissingForeignKey {
        table: String,
        columns: Vec<String>,
        target: String,
    },
    /// A foreign key that is not `DEFERRABLE INITIALLY DEFERRED`.
    ForeignKeyNotDeferred {
        table: String,
        columns: Vec<String>,
    },
    RlsNotEnabled {
        table: String,
    },
    RlsNotForced {
        table: String,
    },
    MissingPolicy {
        table: String,
        policy: String,
        command: &'static str,
    },
    PolicyCommandMismatch {
        table: String,
        policy: String,
        expected: &'static str,
        found: String,
    },
    /// A policy that is not `TO authenticated` only, or is restrictive.
    PolicyShape {
        table: String,
        policy: String,
        detail: String,
    },
    /// A policy the catalog does not know: any permissive policy widens access.
    UnexpectedPolicy {
        table: String,
        policy: String,
    },
    MissingTrigger {
        table: String,
        trigger: String,
    },
    /// A grant that must not exist (anon or PUBLIC, or TRUNCATE to authenticated).
    UnexpectedGrant {
        table: String,
        grantee: String,
        privilege: String,
    },
    MissingGrant {
        table: String,
        grantee: String,
        privilege: String,
    },
    MissingFunction {
        function: String,
    },
    MissingView {
        view: String,
    },
    /// A view's columns differ from the expected ones (e.g. it shows a column the
    /// column rules keep from most roles).
    ViewColumns {
        view: String,
        expected: Vec<String>,
        found: Vec<String>,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Problem::*;
        match self {
            MissingTable { table } => write!(f, "missing table {table}"),
            MissingColumn { table, column } => write!(f, "missing column {table}.{column}"),
            ExtraColumn { table, column } => {
                write!(f, "unexpected column {table}.{column} (not in the catalog)")
            }
            TypeMismatch {
                table,
                column,
                expected,
                found,
            } => write!(
                f,
                "type mismatch on {table}.{column}: expected {expected}, found {found}"
            ),
            NullabilityMismatch {
                table,
                column,
                expected_not_null,
            } => write!(
                f,
                "nullability mismatch on {table}.{column}: expected {}",
                if *expected_not_null {
                    "NOT NULL"
                } else {
                    "nullable"
                }
            ),
            StatusListMismatch {
                table,
                column,
                expected,
                found,
            } => match found {
                Some(found) => write!(
                    f,
                    "status list mismatch on {table}.{column}: expected ({}), found ({})",
                    expected.join(", "),
                    found.join(", ")
                ),
                None => write!(
                    f,
                    "status list mismatch on {table}.{column}: expected CHECK ({column} IN ({})), found none",
                    expected.join(", ")
                ),
            },
            MissingValueCheck {
                table,
                column,
                what,
            } => write!(f, "missing {what} CHECK on {table}.{column}"),
            PrimaryKeyMismatch {
                table,
                expected,
                found,
            } => write!(
                f,
                "primary key of {table} is ({}), expected ({})",
                found.join(", "),
                expected.join(", ")
            ),
            MissingUnique { table, columns } => {
                write!(f, "missing UNIQUE ({}) on {table}", columns.join(", "))
            }
            MissingForeignKey {
                table,
                columns,
                target,
            } => write!(
                f,
                "missing foreign key ({}) on {table} referencing {target}",
                columns.join(", ")
            ),
            ForeignKeyNotDeferred { table, columns } => write!(
                f,
                "foreign key ({}) on {table} is not DEFERRABLE INITIALLY DEFERRED",
                columns.join(", ")
            ),
            RlsNotEnabled { table } => write!(f, "row level security not enabled on {table}"),
            RlsNotForced { table } => write!(f, "row level security not forced on {table}"),
            MissingPolicy {
                table,
                policy,
                command,
            } => write!(f, "missing policy {policy} ({command}) on {table}"),
            PolicyCommandMismatch {
                table,
                policy,
                expected,
                found,
            } => write!(
                f,
                "policy {policy} on {table} is FOR {found}, expected FOR {expected}"
            ),
            PolicyShape {
                table,
                policy,
                detail,
            } => write!(f, "policy {policy} on {table}: {detail}"),
            UnexpectedPolicy { table, policy } => {
                write!(f, "unexpected policy {policy} on {table} (not in the matrix)")
            }
            MissingTrigger { table, trigger } => {
                write!(f, "missing guard trigger {trigger} on {table}")
            }
            UnexpectedGrant {
                table,
                grantee,
                privilege,
            } => write!(f, "unexpected grant: {privilege} on {table} to {grantee}"),
            MissingGrant {
                table,
                grantee,
                privilege,
            } => write!(f, "missing grant: {privilege} on {table} to {grantee}"),
            MissingFunction { function } => write!(f, "missing function {function}()"),
            MissingView { view } => write!(f, "missing view {view}"),
            ViewColumns {
                view,
                expected,
                found,
            } => write!(
                f,
                "view {view} has columns {}, expected {}",
                found.join(", "),
                expected.join(", ")
            ),
        }
    }
}

/// The outcome of a check: empty `problems` means the database matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub problems: Vec<Problem>,
    pub tables_checked: usize,
    pub policies_checked: usize,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return writeln!(
                f,
                "cloud schema OK: {} tables and {} policies match the catalog",
                self.tables_checked, self.policies_checked
            );
        }
        writeln!(
            f,
            "cloud schema has {} problem(s) ({} tables, {} policies checked):",
            self.problems.len(),
            self.tables_checked,
            self.policies_checked
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

/// Connects to `db_url` (a `postgres://` URL) with the sync worker's TLS
/// rules and checks it: TLS always outside this machine (a URL that turns it
/// off there is refused), on loopback when the URL asks (`sslmode=require`);
/// roots from `ca_file` if given, else Mozilla's. A check over plain text to
/// a remote database could be answered "schema OK" by anyone in between.
pub async fn check(db_url: &str, ca_file: Option<&str>) -> anyhow::Result<CheckReport> {
    use crate::sync::config::{db_tls, Credentials, Secret, Settings};
    let settings = Settings {
        db_ca_file: ca_file.map(str::to_string),
        ..Settings::default()
    };
    let credentials = Credentials {
        db_url: Some(Secret::new(db_url)),
        ..Credentials::default()
    };
    let tls = db_tls(&settings, &credentials).map_err(|e| anyhow::anyhow!("{e}"))?;
    let sink = crate::sync::pg::PgSink::with_tls(Secret::new(db_url), tls);
    let client = sink.connect().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    check_client(&client).await
}

/// Checks the database `client` is connected to.
pub async fn check_client(client: &Client) -> anyhow::Result<CheckReport> {
    let live = live_schema(client).await?;
    Ok(compare(&live))
}

const STAFF_DML: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

/// Compares a live schema with the catalog's expectations.
pub fn compare(live: &LiveSchema) -> CheckReport {
    let mut report = CheckReport::default();
    for function in HELPER_FUNCTIONS {
        if !live.functions.iter().any(|f| f == function) {
            report.problems.push(Problem::MissingFunction {
                function: (*function).to_string(),
            });
        }
    }
    for expected in expected_tables() {
        report.tables_checked += 1;
        report.policies_checked += expected.policies.len();
        match live.tables.get(expected.name) {
            None => report.problems.push(Problem::MissingTable {
                table: expected.name.to_string(),
            }),
            Some(table) => compare_table(&expected, table, &mut report.problems),
        }
    }
    for expected in expected_views() {
        let Some(view) = live.views.get(expected.name) else {
            report.problems.push(Problem::MissingView {
                view: expected.name.to_string(),
            });
            continue;
        };
        if view.columns != expected.columns {
            report.problems.push(Problem::ViewColumns {
                view: expected.name.to_string(),
                expected: expected.columns.iter().map(|c| c.to_string()).collect(),
                found: view.columns.clone(),
            });
        }
        compare_grants(
            expected.name,
            &view.grants,
            &["SELECT"],
            &mut report.problems,
        );
    }
    report
}

fn compare_table(expected: &ExpectedTable, live: &LiveTable, out: &mut Vec<Problem>) {
    let table = || expected.name.to_string();
    for col in &expected.columns {
        let Some(found) = live.column(col.name) else {
            out.push(Problem::MissingColumn {
                table: table(),
                column: col.name.to_string(),
            });
            continue;
        };
        if found.pg_type != col.pg_type {
            out.push(Problem::TypeMismatch {
                table: table(),
                column: col.name.to_string(),
                expected: col.pg_type.to_string(),
                found: found.pg_type.clone(),
            });
        }
        if found.not_null != col.not_null {
            out.push(Problem::NullabilityMismatch {
                table: table(),
                column: col.name.to_string(),
                expected_not_null: col.not_null,
            });
        }
        let checks = live.checks.get(col.name).cloned().unwrap_or_default();
        match col.check {
            ValueCheck::None => {}
            ValueCheck::Statuses(values) => {
                let found = live.status_list(col.name);
                if found
                    .as_deref()
                    .map(|f| f.iter().map(String::as_str).collect::<Vec<_>>())
                    != Some(values.to_vec())
                {
                    out.push(Problem::StatusListMismatch {
                        table: table(),
                        column: col.name.to_string(),
                        expected: values.iter().map(|v| v.to_string()).collect(),
                        found,
                    });
                }
            }
            ValueCheck::VinLength => {
                if !checks
                    .iter()
                    .any(|d| d.contains("length(") && d.contains("17"))
                {
                    out.push(Problem::MissingValueCheck {
                        table: table(),
                        column: col.name.to_string(),
                        what: "VIN length",
                    });
                }
            }
            ValueCheck::StageCode => {
                if !checks.iter().any(|d| d.contains("[a-z0-9_]{1,40}")) {
                    out.push(Problem::MissingValueCheck {
                        table: table(),
                        column: col.name.to_string(),
                        what: "stage code",
                    });
                }
            }
        }
    }
    for col in &live.columns {
        if expected.column(&col.name).is_none() {
            out.push(Problem::ExtraColumn {
                table: table(),
                column: col.name.clone(),
            });
        }
    }
    let pk: &[&str] = if expected.name == CHANGES_TABLE {
        &CHANGES_KEY
    } else {
        &["id"]
    };
    if live.primary_key != pk {
        out.push(Problem::PrimaryKeyMismatch {
            table: table(),
            expected: pk.iter().map(|c| c.to_string()).collect(),
            found: live.primary_key.clone(),
        });
    }
    for u in &expected.uniques {
        if !live.uniques.iter().any(|l| l == u) {
            out.push(Problem::MissingUnique {
                table: table(),
                columns: u.iter().map(|c| c.to_string()).collect(),
            });
        }
    }
    for fk in &expected.foreign_keys {
        let found = live.foreign_keys.iter().find(|l| {
            l.columns == fk.columns
                && l.target == fk.target
                && l.target_columns == fk.target_columns
        });
        match found {
            None => out.push(Problem::MissingForeignKey {
                table: table(),
                columns: fk.columns.iter().map(|c| c.to_string()).collect(),
                target: fk.target.to_string(),
            }),
            Some(l) if !(l.deferrable && l.initially_deferred) => {
                out.push(Problem::ForeignKeyNotDeferred {
                    table: table(),
                    columns: l.columns.clone(),
                })
            }
            Some(_) => {}
        }
    }
    if !live.rls_enabled {
        out.push(Problem::RlsNotEnabled { table: table() });
    }
    if !live.rls_forced {
        out.push(Problem::RlsNotForced { table: table() });
    }
    for p in &expected.policies {
        let Some(found) = live.policy(p.name) else {
            out.push(Problem::MissingPolicy {
                table: table(),
                policy: p.name.to_string(),
                command: p.command.as_sql(),
            });
            continue;
        };
        if found.command != p.command.as_sql() {
            out.push(Problem::PolicyCommandMismatch {
                table: table(),
                policy: p.name.to_string(),
                expected: p.command.as_sql(),
                found: found.command.clone(),
            });
        }
        if found.roles != ["authenticated"] {
            out.push(Problem::PolicyShape {
                table: table(),
                policy: p.name.to_string(),
                detail: format!(
                    "applies to {}, expected authenticated only",
                    found.roles.join(", ")
                ),
            });
        }
        if !found.permissive {
            out.push(Problem::PolicyShape {
                table: table(),
                policy: p.name.to_string(),
                detail: "is RESTRICTIVE, expected PERMISSIVE".to_string(),
            });
        }
        let writes = matches!(p.command.as_sql(), "ALL" | "INSERT" | "UPDATE");
        if writes && found.with_check.is_none() {
            out.push(Problem::PolicyShape {
                table: table(),
                policy: p.name.to_string(),
                detail: "has no WITH CHECK".to_string(),
            });
        }
    }
    for p in &live.policies {
        if !expected.policies.iter().any(|e| e.name == p.name) {
            out.push(Problem::UnexpectedPolicy {
                table: table(),
                policy: p.name.clone(),
            });
        }
    }
    for g in &expected.guards {
        if !live.triggers.iter().any(|t| t == g.trigger) {
            out.push(Problem::MissingTrigger {
                table: table(),
                trigger: g.trigger.to_string(),
            });
        }
    }
    compare_grants(expected.name, &live.grants, &STAFF_DML, out);
}

/// Grants of a table or view: `authenticated` has exactly `wanted` (no more),
/// anon and PUBLIC nothing.
fn compare_grants(
    name: &str,
    grants: &std::collections::BTreeMap<String, Vec<String>>,
    wanted: &[&str],
    out: &mut Vec<Problem>,
) {
    for (grantee, privileges) in grants {
        for privilege in privileges {
            let bad = match grantee.as_str() {
                "anon" | "PUBLIC" => true,
                "authenticated" => !wanted.contains(&privilege.as_str()),
                _ => false,
            };
            if bad {
                out.push(Problem::UnexpectedGrant {
                    table: name.to_string(),
                    grantee: grantee.clone(),
                    privilege: privilege.clone(),
                });
            }
        }
    }
    let authenticated = grants.get("authenticated").cloned().unwrap_or_default();
    for privilege in wanted {
        if !authenticated.iter().any(|p| p == privilege) {
            out.push(Problem::MissingGrant {
                table: name.to_string(),
                grantee: "authenticated".to_string(),
                privilege: privilege.to_string(),
            });
        }
    }
}
