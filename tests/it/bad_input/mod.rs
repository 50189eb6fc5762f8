//! Malformed, mistyped, oversized and unauthenticated requests: each is answered
//! with the right 4xx and a body shaped `{"error":{"code","message"}}` (naming the
//! field where there is one), and NOTHING stored changes: every table's rows, the
//! change log, the sync queue and the records themselves are compared before and
//! after each request ([`Setup::refused`]).
//!
//! - [`bodies`]: malformed JSON, non-object bodies, bad bulk envelopes, oversized bodies (413).
//! - [`routes`]: unknown tables, endpoints, records, ids and columns, bad list queries, wrong methods (405).
//! - [`fields`]: wrong types, statuses, VINs, missing and hub-set fields, unknown references (422).
//! - [`tokens`]: missing, malformed, expired and forged tokens (401), and bad logins.

mod bodies;
mod fields;
mod routes;
mod tokens;

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(super) const JSON: (&str, &str) = ("content-type", "application/json");

/// A hub with a few records whose state every case compares.
pub(super) struct Setup {
    pub(super) hub: TestHub,
    pub(super) refs: Refs,
    watched: Vec<(&'static str, String)>,
}

impl Setup {
    pub(super) async fn new() -> Setup {
        let hub = TestHub::spawn().await;
        let owner = hub.owner.clone();
        let refs = hub.fixtures(&owner, &hub.shop_id).await;
        let watched = [
            "shops",
            "users",
            "customers",
            "vehicles",
            "repair_orders",
            "estimates",
            "labor_entries",
        ]
        .into_iter()
        .map(|t| {
            let id = if t == "shops" {
                hub.shop_id.clone()
            } else {
                refs.id(t).to_string()
            };
            (t, id)
        })
        .collect();
        Setup { hub, refs, watched }
    }

    async fn records(&self) -> Vec<(StatusCode, Value)> {
        let mut out = Vec::new();
        for (t, id) in &self.watched {
            out.push(self.hub.read_as_owner(t, id).await);
        }
        out
    }

    pub(super) fn bearer(&self) -> String {
        format!("Bearer {}", self.hub.owner_token())
    }

    /// Sends the request and checks the answer and that nothing changed.
    pub(super) async fn refused(
        &self,
        case: &str,
        got: impl std::future::Future<Output = (StatusCode, Value)>,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        let before = (self.hub.snapshot(), self.records().await);
        let got = got.await;
        let named = assert_error(&got, status, code, case);
        if let Some(f) = field {
            assert_eq!(
                named.as_deref(),
                Some(f),
                "{case}: the error names {named:?}: {}",
                got.1
            );
        }
        let after = (self.hub.snapshot(), self.records().await);
        assert_eq!(
            snapshot_diff(&before.0, &after.0),
            Vec::<String>::new(),
            "{case}: the store changed"
        );
        assert_eq!(before.1, after.1, "{case}: a record changed");
    }

    /// `refused` for a JSON-ish body sent as raw bytes with the owner's token.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn raw(
        &self,
        case: &str,
        method: Method,
        path: &str,
        body: impl Into<Vec<u8>>,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        let auth = self.bearer();
        let headers = [JSON, ("authorization", auth.as_str())];
        let body: Vec<u8> = body.into();
        self.refused(
            case,
            self.hub.raw(method, path, &headers, body),
            status,
            code,
            field,
        )
        .await;
    }

    /// `refused` for a JSON value sent with the owner's token.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn json(
        &self,
        case: &str,
        method: Method,
        path: &str,
        body: Value,
        status: StatusCode,
        code: &str,
        field: Option<&str>,
    ) {
        self.raw(case, method, path, body.to_string(), status, code, field)
            .await;
    }
}

pub(super) const BAD: StatusCode = StatusCode::BAD_REQUEST;
