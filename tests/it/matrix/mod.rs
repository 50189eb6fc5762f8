//! The role matrix, held to `tests/matrix.tsv` (which states it independently of
//! `src/domain/policy.rs`): every table × verb × role through the API, as a user
//! of that role (`cells.rs`). Then the shop boundary (another shop's records are
//! invisible, untouchable and unreferenceable: `shop_boundary.rs`) and the guards
//! on changing roles and passwords (`account_guards.rs`). This file holds what
//! they share: the matrix as loaded from the file and the status check.
//!
//! Cells: `A` = allowed on every row of the caller's shop; `-` = 403 and nothing
//! stored changes; `O` = own rows only (technician_id = caller; updates only while
//! not approved, never `approved` itself); `S` = own user row only, display name only.

use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeMap;

pub(super) const VERBS: [&str; 4] = ["read", "insert", "update", "delete"];

/// `tests/matrix.tsv`: (table, verb) → role → cell.
pub(super) type Matrix = BTreeMap<(String, String), BTreeMap<String, char>>;

pub(super) fn load_matrix() -> Matrix {
    let mut m = Matrix::new();
    for c in crate::matrix_file::cases() {
        m.entry((c.table, c.verb))
            .or_default()
            .insert(c.role.to_string(), c.cell);
    }
    m
}

/// Fails the current cell with a message.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

pub(super) fn status_is(
    got: &(StatusCode, Value),
    want: StatusCode,
    what: &str,
) -> Result<(), String> {
    ensure!(
        got.0 == want,
        "{what}: expected {want}, got {} {}",
        got.0,
        got.1
    );
    if !want.is_success() {
        ensure!(
            got.1["error"]["code"].is_string() && got.1["error"]["message"].is_string(),
            "{what}: the error body is not shaped {{error:{{code,message}}}}: {}",
            got.1
        );
    }
    Ok(())
}

// After `ensure!`, so that the test files see the macro.
mod account_guards;
mod cells;
mod shop_boundary;
