//! Ids with their own types where a mix-up would otherwise compile: a shop id
//! passed where a record id is wanted (or the reverse) is a type error.
//!
//! A [`ShopId`] is the tenant: every row, read and write is confined by it.
//! Record ids (and user ids, which are `users` record ids) stay strings: they
//! are always named next to their table, and the store checks them within the
//! shop. On the wire and in SQL a `ShopId` is its plain UUID text.

use std::fmt;

/// The id of a shop (a tenant), as the lower-case hyphenated UUID text stored
/// in every row's `shop_id`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ShopId(String);

impl ShopId {
    /// Wraps text already known to be a shop id (read from the database, a
    /// signed token, or minted by the hub).
    pub fn new(id: impl Into<String>) -> ShopId {
        ShopId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShopId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<uuid::Uuid> for ShopId {
    fn from(u: uuid::Uuid) -> ShopId {
        ShopId(u.hyphenated().to_string())
    }
}

impl PartialEq<str> for ShopId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ShopId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ShopId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}
