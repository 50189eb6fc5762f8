//! What a change-log entry does not store but its change says, read back the
//! same way by every reader of the log (the tablets' feed, a record's history,
//! the sync worker): a create's fields (its entry lists `[]`) and any change's
//! hash and actor (migration 0012 dropped their columns).

pub(super) use crate::crdt::chunk::change_ids;
use crate::crdt::chunk::ChangeIds;

/// The fields an entry's change set: its `fields` column, or for a create
/// logged with `[]` the keys its change puts (`crdt::created_fields`).
/// Entries logged before creates stopped listing them keep their lists.
pub(super) fn fields(op: &str, fields: &str, bytes: &[u8]) -> Vec<String> {
    if op == "create" && fields == "[]" {
        crate::crdt::created_fields(bytes)
    } else {
        serde_json::from_str(fields).unwrap_or_default()
    }
}

/// The hash and actor of an entry's change (column `col` holds its bytes).
/// Bytes that are not a change are refused as a conversion error naming the
/// column, never passed on with a made-up hash.
pub(super) fn ids(bytes: &[u8], col: usize) -> rusqlite::Result<ChangeIds> {
    change_ids(bytes).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Blob,
            "a change-log entry whose bytes are not an Automerge change".into(),
        )
    })
}
