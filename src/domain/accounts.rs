//! The rules a table's records follow because they are also login accounts
//! (`users`), beyond the role matrix: in one place, so the API asks the table
//! instead of comparing table names.

use super::catalog::TableId;

impl TableId {
    /// Records of this table are login accounts: a password hash is kept beside
    /// each (never a column, never synced), and the API caches who they are.
    pub fn holds_accounts(self) -> bool {
        self == TableId::USERS
    }

    /// A create of this table must carry a `password` (not a column), and an
    /// update may carry a new one.
    pub fn takes_password(self) -> bool {
        self.holds_accounts()
    }

    /// Why a bulk create of this table is refused, if it is: each account needs
    /// its own password, so accounts are created one at a time.
    pub fn bulk_create_refusal(self) -> Option<&'static str> {
        self.holds_accounts()
            .then_some("users are created one at a time (each needs a password)")
    }

    /// Why `caller` may not delete record `id` of this table, if so: nobody
    /// deletes their own account (a shop could lock itself out).
    pub fn delete_refusal(self, id: &str, caller: &str) -> Option<&'static str> {
        (self.holds_accounts() && id == caller).then_some("you cannot delete your own account")
    }

    /// After a write of record `id` of this table changed it, the API's cache of
    /// accounts must forget it (role, active flag, credentials).
    pub fn write_changes_an_account(self) -> bool {
        self.holds_accounts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TABLES;

    #[test]
    fn only_users_are_accounts() {
        for (i, t) in TABLES.iter().enumerate() {
            let id = TableId::by_name(t.name).expect("by name");
            assert_eq!(id.holds_accounts(), t.name == "users", "{i} {}", t.name);
        }
        assert!(TableId::USERS.delete_refusal("a", "a").is_some());
        assert!(TableId::USERS.delete_refusal("a", "b").is_none());
        assert!(TableId::PARTS.delete_refusal("a", "a").is_none());
        assert!(TableId::USERS.bulk_create_refusal().is_some());
        assert!(TableId::PARTS.bulk_create_refusal().is_none());
    }
}
