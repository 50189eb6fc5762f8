use crate::domain::value::FieldError;

/// Why a store operation failed. Each variant maps to one HTTP status in `api`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Missing, or another shop's, or not visible to the caller: all look the same.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(String),
    /// A field's value is wrong in a way only the database can tell (a reference to
    /// a record that does not exist in this shop, an unknown stage).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The request itself asks for what is not allowed, whatever is stored (a
    /// value the database's checks refuse, a base the hub does not know, a
    /// setting changed only through its own endpoints): a bad field, not a bad
    /// reference.
    #[error(transparent)]
    Refused(FieldError),
    /// The write clashes with stored data (a number or e-mail already used, a
    /// record still referenced, an id already taken).
    #[error("{0}")]
    Conflict(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("internal store error: {0}")]
    Internal(String),
    /// A record's stored history does not load (damaged on disk): it can be
    /// read, not changed, until the hub is restored from a backup.
    #[error("{0}")]
    Damaged(String),
}

impl StoreError {
    /// The refusal for a record whose stored document does not load: a change
    /// of it in the change log, or its snapshot, is damaged.
    pub fn damaged(table: crate::domain::TableId, id: &str, e: &dyn std::fmt::Display) -> Self {
        StoreError::Damaged(format!(
            "the stored change history of {table} {id} is damaged (it does not load as an \
             Automerge document: {e}); the record can be read but not changed until the hub \
             is restored from a backup"
        ))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Internal(e.to_string())
    }
}

impl From<crate::crdt::CrdtError> for StoreError {
    fn from(e: crate::crdt::CrdtError) -> Self {
        match e {
            crate::crdt::CrdtError::UnknownBase(h) => StoreError::Refused(FieldError::new(
                "_base",
                format!("names a change this record does not have ({h})"),
            )),
            other => StoreError::Internal(other.to_string()),
        }
    }
}
