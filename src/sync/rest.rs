//! Transport 2: Supabase REST (PostgREST), with `reqwest` over rustls.
//!
//! Every request carries the `apikey` header (the publishable or legacy anon
//! key) and a short-lived hub JWT (`role`/`aud` authenticated, `shop_id`,
//! `user_role` hub, `sub` the hub's id, `exp` in five minutes) signed with the
//! project's legacy JWT secret (HS256) or an imported private key (ES256/RS256,
//! with its `kid`). Rows: one bulk upsert per table (`on_conflict=id`,
//! `Prefer: resolution=merge-duplicates`), deletes as `id=in.(…)`, change bytes
//! with `on_conflict=record_id,change_hash` and `resolution=ignore-duplicates`. Each
//! request is its own transaction, so tables go in the catalog's dependency
//! order and deletes in reverse. Errors are classified by their PostgREST or
//! Postgres `code` first, the HTTP status second; `Retry-After` is honoured.

use super::config::{ConfigError, Credentials, Secret};
use super::sink::{
    row_json, BoxFut, CheckOutcome, CheckStep, Claims, CloudSink, FailureKind, RowBatch, SinkError,
    CHANGES_PER_CALL,
};
use crate::domain::TableId;
use crate::store::queue::ChangeEntry;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN_TTL_SECS: i64 = 300;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

enum Signer {
    Hs256(EncodingKey),
    Asymmetric {
        key: EncodingKey,
        alg: Algorithm,
        kid: Option<String>,
    },
}

pub struct RestSink {
    base: String,
    api_key: Secret,
    signer: Signer,
    http: reqwest::Client,
}

impl RestSink {
    /// A sink to the REST API at `base` (e.g. `https://<ref>.supabase.co/rest/v1`).
    pub fn new(base: &str, c: &Credentials) -> Result<RestSink, ConfigError> {
        let api_key = c.anon_key.clone().ok_or_else(|| {
            ConfigError::new(
                "credentials.anonKey",
                "is required for the REST transport (the project's publishable or anon key)",
            )
        })?;
        let signer =
            match (&c.jwt_private_key, &c.jwt_secret) {
                (Some(pem), _) => {
                    let pem = pem.expose().as_bytes();
                    let (key, alg) = match EncodingKey::from_ec_pem(pem) {
                        Ok(k) => (k, Algorithm::ES256),
                        Err(_) => (
                            EncodingKey::from_rsa_pem(pem).map_err(|_| {
                                ConfigError::new(
                                "credentials.jwtPrivateKey",
                                "is neither a P-256 (ES256) nor an RSA (RS256) private key in PEM",
                            )
                            })?,
                            Algorithm::RS256,
                        ),
                    };
                    Signer::Asymmetric {
                        key,
                        alg,
                        kid: c.jwt_key_id.as_ref().map(|k| k.expose().to_string()),
                    }
                }
                (None, Some(secret)) => {
                    Signer::Hs256(EncodingKey::from_secret(secret.expose().as_bytes()))
                }
                (None, None) => return Err(ConfigError::new(
                    "credentials.jwtSecret",
                    "the REST transport signs the hub's token: set the project's JWT secret, or \
                     a private key (credentials.jwtPrivateKey) and its key id",
                )),
            };
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ConfigError::new("supabaseUrl", format!("HTTP client: {e}")))?;
        Ok(RestSink {
            base: base.trim_end_matches('/').to_string(),
            api_key,
            signer,
            http,
        })
    }

    /// The hub's short-lived token for `claims`.
    pub fn token(&self, claims: &Claims) -> Result<String, SinkError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let body = json!({
            "role": claims.role,
            "aud": claims.aud,
            "shop_id": claims.shop_id,
            "user_role": claims.user_role,
            "sub": claims.sub,
            "iat": now,
            "exp": now + TOKEN_TTL_SECS,
        });
        let (header, key) = match &self.signer {
            Signer::Hs256(k) => (Header::new(Algorithm::HS256), k),
            Signer::Asymmetric { key, alg, kid } => {
                let mut h = Header::new(*alg);
                h.kid = kid.clone();
                (h, key)
            }
        };
        jsonwebtoken::encode(&header, &body, key)
            .map_err(|e| SinkError::permanent(format!("could not sign the hub's token: {e}")))
    }

    async fn send(
        &self,
        claims: &Claims,
        method: reqwest::Method,
        path: &str,
        prefer: &str,
        body: Option<String>,
    ) -> Result<String, SinkError> {
        let token = self.token(claims)?;
        let mut req = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .header("apikey", self.api_key.expose())
            .bearer_auth(token)
            .header("Prefer", prefer);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            SinkError::unreachable(format!("the cloud's REST API did not answer: {text}"))
        })?;
        if resp.status().is_success() {
            return resp.text().await.map_err(|e| {
                SinkError::unreachable(format!("the cloud's REST API answer was cut: {e}"))
            });
        }
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = resp.text().await.unwrap_or_default();
        Err(classify(status, &text, retry_after))
    }
}

/// A PostgREST error: by its `code` first (a Postgres SQLSTATE or `PGRSTnnn`),
/// then by the HTTP status.
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> SinkError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = v["code"].as_str().unwrap_or("").to_string();
    let mut message = match v["message"].as_str() {
        Some(m) => m.to_string(),
        None => format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        ),
    };
    if !code.is_empty() {
        message.push_str(&format!(" ({code})"));
    }
    if let Some(d) = v["details"].as_str() {
        message.push_str(&format!(": {d}"));
    }
    let by_code = if let Some(n) = code.strip_prefix("PGRST") {
        match n {
            // Could not connect to the database / pool timeout / schema cache load.
            "000" | "001" | "002" | "003" => Some(FailureKind::Unreachable),
            // The hub's token refused (JWT errors): no record's fault.
            "300" | "301" | "302" | "303" => Some(FailureKind::Refused),
            _ => Some(FailureKind::Permanent),
        }
    } else if code.len() == 5 {
        Some(FailureKind::of_sqlstate(&code))
    } else {
        None
    };
    let kind = by_code.unwrap_or(match status {
        // The gateway refused the API key or the token: no record's fault.
        401 => FailureKind::Refused,
        429 => FailureKind::Transient,
        502..=504 => FailureKind::Unreachable,
        500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    });
    SinkError {
        kind,
        message,
        retry_after,
    }
}

impl RestSink {
    /// One bulk upsert per table (catalog order), then deletes (reverse order).
    async fn push_rows(&self, claims: &Claims, rows: &RowBatch<'_>) -> Result<(), SinkError> {
        for (table, ups) in &rows.upserts {
            self.send(
                claims,
                reqwest::Method::POST,
                &format!("{}?on_conflict=id", table.name()),
                "resolution=merge-duplicates,return=minimal",
                Some(Value::Array(ups.iter().map(|r| row_json(r)).collect()).to_string()),
            )
            .await?;
        }
        for (table, ids) in &rows.deletes {
            self.send(
                claims,
                reqwest::Method::DELETE,
                &format!("{}?id=in.({})", table.name(), ids.join(",")),
                "return=minimal",
                None,
            )
            .await?;
        }
        Ok(())
    }

    /// The change bytes, those already there (by change hash) ignored.
    async fn push_changes(
        &self,
        claims: &Claims,
        changes: &[&ChangeEntry],
    ) -> Result<(), SinkError> {
        if changes.is_empty() {
            return Ok(());
        }
        let body = super::sink::changes_json(changes);
        self.send(
            claims,
            reqwest::Method::POST,
            "crdt_changes?on_conflict=record_id,change_hash",
            "resolution=ignore-duplicates,return=minimal",
            Some(body),
        )
        .await
        .map(drop)
    }
}

impl CloudSink for RestSink {
    /// Each request is its own transaction: rows, then change bytes in calls of
    /// [`CHANGES_PER_CALL`]; all idempotent, so a push cut between them is
    /// simply sent again.
    fn push<'a>(
        &'a self,
        claims: &'a Claims,
        rows: &'a RowBatch<'a>,
        changes: &'a [&'a ChangeEntry],
    ) -> BoxFut<'a, Result<(), SinkError>> {
        Box::pin(async move {
            self.push_rows(claims, rows).await?;
            for chunk in changes.chunks(CHANGES_PER_CALL) {
                self.push_changes(claims, chunk).await?;
            }
            Ok(())
        })
    }

    /// `GET crdt_changes?record_id=eq.…&change_hash=eq.\x…`: the hash as
    /// PostgREST reads a `bytea` (its `\x` hex text), the answer a JSON array.
    fn has_change<'a>(
        &'a self,
        claims: &'a Claims,
        record_id: &'a str,
        hash: &'a str,
    ) -> BoxFut<'a, Result<bool, SinkError>> {
        Box::pin(async move {
            super::sink::change_hash_bytes(hash)?;
            let record =
                url::form_urlencoded::byte_serialize(record_id.as_bytes()).collect::<String>();
            let body = self
                .send(
                    claims,
                    reqwest::Method::GET,
                    &format!(
                        "crdt_changes?select=record_id&record_id=eq.{record}&change_hash=eq.%5Cx{hash}&limit=1"
                    ),
                    "count=none",
                    None,
                )
                .await?;
            match serde_json::from_str::<Value>(&body) {
                Ok(Value::Array(rows)) => Ok(!rows.is_empty()),
                _ => Err(SinkError::transient(format!(
                    "the cloud's REST API answered a change lookup with something else than a list: {}",
                    body.chars().take(200).collect::<String>()
                ))),
            }
        })
    }

    fn check<'a>(&'a self, claims: &'a Claims) -> BoxFut<'a, CheckOutcome> {
        Box::pin(async move {
            let mut steps = Vec::new();
            match self
                .send(
                    claims,
                    reqwest::Method::GET,
                    "shops?select=id&limit=1",
                    "count=none",
                    None,
                )
                .await
            {
                Ok(_) => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: true,
                        message: "the cloud's REST API answered".into(),
                    });
                    steps.push(CheckStep {
                        name: "credentials",
                        ok: true,
                        message: "the API key and the hub's token were accepted".into(),
                    });
                }
                Err(e) if e.kind == FailureKind::Unreachable => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: false,
                        message: format!("could not reach the cloud's REST API: {e}"),
                    });
                    return CheckOutcome::from_steps(steps);
                }
                Err(e) => {
                    steps.push(CheckStep {
                        name: "reachable",
                        ok: true,
                        message: "the cloud's REST API answered".into(),
                    });
                    steps.push(CheckStep {
                        name: "credentials",
                        ok: false,
                        message: format!("the cloud refused the hub's key or token: {e}"),
                    });
                    return CheckOutcome::from_steps(steps);
                }
            }
            let mut missing = Vec::new();
            for t in TableId::all().map(|t| t.name()).chain(["crdt_changes"]) {
                let key = if t == "crdt_changes" {
                    "change_hash"
                } else {
                    "id"
                };
                if let Err(e) = self
                    .send(
                        claims,
                        reqwest::Method::GET,
                        &format!("{t}?select={key}&limit=0"),
                        "count=none",
                        None,
                    )
                    .await
                {
                    missing.push(format!("{t}: {e}"));
                }
            }
            steps.push(if missing.is_empty() {
                CheckStep {
                    name: "schema",
                    ok: true,
                    message: "every table this hub syncs is there".into(),
                }
            } else {
                CheckStep {
                    name: "schema",
                    ok: false,
                    message: format!(
                        "the cloud lacks tables this hub syncs; apply the supabase/ and rls/ files. {}",
                        missing.join("; ")
                    ),
                }
            });
            CheckOutcome::from_steps(steps)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_code_then_status() {
        let rls = classify(
            403,
            r#"{"code":"42501","message":"new row violates row-level security policy for table \"customers\""}"#,
            None,
        );
        assert_eq!(rls.kind, FailureKind::Permanent);
        assert!(rls.message.contains("row-level security") && rls.message.contains("42501"));
        assert_eq!(
            classify(
                409,
                r#"{"code":"40001","message":"could not serialize"}"#,
                None
            )
            .kind,
            FailureKind::Transient
        );
        assert_eq!(
            classify(
                503,
                r#"{"code":"PGRST000","message":"Could not connect"}"#,
                None
            )
            .kind,
            FailureKind::Unreachable
        );
        assert_eq!(
            classify(401, r#"{"code":"PGRST301","message":"JWSError"}"#, None).kind,
            FailureKind::Refused,
            "a refused token is the hub's credentials, not a record's fault"
        );
        assert_eq!(
            classify(401, r#"{"message":"Invalid API key"}"#, None).kind,
            FailureKind::Refused
        );
        // No code: the status decides; Retry-After is kept.
        let busy = classify(429, "slow down", Some(Duration::from_secs(7)));
        assert_eq!(busy.kind, FailureKind::Transient);
        assert_eq!(busy.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(classify(502, "", None).kind, FailureKind::Unreachable);
        assert_eq!(classify(500, "", None).kind, FailureKind::Transient);
        assert_eq!(classify(400, "bad", None).kind, FailureKind::Permanent);
        // A code wins over the status.
        assert_eq!(
            classify(500, r#"{"code":"23505","message":"duplicate key"}"#, None).kind,
            FailureKind::Permanent
        );
        // A parent not in the cloud yet: try later.
        assert_eq!(
            classify(
                409,
                r#"{"code":"23503","message":"violates foreign key"}"#,
                None
            )
            .kind,
            FailureKind::Transient
        );
    }

    #[test]
    fn the_hub_token_carries_the_claims_and_expires_soon() {
        let creds = Credentials {
            anon_key: Some(Secret::new("sb_publishable_abcdefghijklmnop")),
            jwt_secret: Some(Secret::new("a-very-long-project-jwt-secret-0123456789")),
            ..Default::default()
        };
        let sink = RestSink::new("http://127.0.0.1:3000/", &creds).expect("a sink");
        assert_eq!(sink.base, "http://127.0.0.1:3000");
        let claims = Claims::hub(
            "0190f3c4-0000-7000-8000-000000000002",
            "0190f3c4-0000-4000-8000-000000000009",
        );
        let token = sink.token(&claims).expect("a token");
        let mut v = jsonwebtoken::Validation::new(Algorithm::HS256);
        v.set_audience(&["authenticated"]);
        let got = jsonwebtoken::decode::<Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"a-very-long-project-jwt-secret-0123456789"),
            &v,
        )
        .expect("verifies with the project's secret");
        let c = got.claims;
        assert_eq!(c["role"], "authenticated");
        assert_eq!(c["user_role"], "hub");
        assert_eq!(c["shop_id"], "0190f3c4-0000-7000-8000-000000000002");
        assert_eq!(c["sub"], "0190f3c4-0000-4000-8000-000000000009");
        let ttl = c["exp"].as_i64().unwrap_or(0) - c["iat"].as_i64().unwrap_or(0);
        assert_eq!(ttl, TOKEN_TTL_SECS);
        // Without a signing key there is no REST sink, and the error says which field.
        let e = RestSink::new(
            "http://127.0.0.1:3000",
            &Credentials {
                anon_key: creds.anon_key.clone(),
                ..Default::default()
            },
        )
        .err()
        .expect("refused");
        assert_eq!(e.field, "credentials.jwtSecret");
    }
}
