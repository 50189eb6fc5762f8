//! What one caller may read of a record: the role matrix's read half
//! (`domain::policy::access`, the same call the HTTP reads make) and the
//! column rules for reads. Used for every change a tablet is sent and for the
//! `/automerge` download.

use crate::api::extract::Caller;
use crate::domain::policy::{access, Access, Verb};
use crate::domain::{columns, TableId};
use crate::store::Record;
use serde_json::Value as Json;

/// May `caller` read `column` of the record `record_id` of `table`? The
/// column rules of `domain::columns`, the same the HTTP reads apply.
pub fn may_read_column(caller: &Caller, table: TableId, record_id: &str, column: &str) -> bool {
    !hidden_columns(caller, table, record_id).contains(&column)
}

/// May `caller` read the record at all (table access, and own rows where the
/// role sees only its own)?
pub fn may_read_row(caller: &Caller, rec: &Record) -> bool {
    match access(rec.table, Verb::Read, caller.role) {
        Access::All => true,
        Access::Denied => false,
        Access::Own => rec.table.def().owned_by(&rec.fields, &caller.user_id),
        Access::SelfProfile => rec.table == TableId::USERS && rec.id == caller.user_id,
    }
}

/// The record as `caller` may read it (the columns they may not read left
/// out), or `None` when they may not read it.
pub fn row_json(caller: &Caller, rec: &Record) -> Option<Json> {
    if !may_read_row(caller, rec) {
        return None;
    }
    let mut json = rec.to_json();
    columns::redact(rec.table, caller.role, Some(&caller.user_id), &mut json);
    Some(json)
}

/// The columns of `table` a document of record `record_id` could carry that
/// `caller` may not read.
pub fn hidden_columns(caller: &Caller, table: TableId, record_id: &str) -> Vec<&'static str> {
    columns::hidden(table, caller.role, Some(&caller.user_id), record_id).to_vec()
}
