//! The 13 sync endpoints: the role matrix, bad input refused naming the field
//! with nothing changed, enable refusing when the connection test fails,
//! clearing only what the owner confirms, and the views. One job per file:
//!
//! - `access`: who may call which endpoint;
//! - `config`: configuration refused field by field, enable refusing when the
//!   connection test fails;
//! - `queue`: clearing the queue, and a local-only hub that keeps none until
//!   its first enable;
//! - `views`: status, cost, test-connection, force-sync, history and stats.

mod access;
mod config;
mod queue;
mod views;

use crate::common::TestHub;

/// The shop's stored settings text, straight from SQLite.
pub(super) fn stored_settings(hub: &TestHub) -> String {
    hub.db()
        .query_row(
            "SELECT settings FROM shops WHERE id = ?1",
            [&hub.shop_id],
            |r| r.get(0),
        )
        .expect("the shop's settings")
}
