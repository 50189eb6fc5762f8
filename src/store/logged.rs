//! What a change-log entry does not store but its change says, read back the
//! same way by every reader of the log (the tablets' feed, a record's history,
//! the sync worker): a create's fields (its entry lists `[]`) and any change's
//! hash and actor (migration 0012 dropped their columns).

/// A change's hash and actor, read from its header; `None` for bytes that are
/// not a change (damaged), which no reader passes on with a made-up hash.
pub(super) use crate::crdt::chunk::change_ids;

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
