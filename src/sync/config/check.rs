//! Validation of sync settings and credentials, each refusal naming the field
//! and the reason, and the transport the configuration makes ready.

use super::*;

/// Whether `host` is this machine (TLS is not required to reach it).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks the numbers and the URL of `s`.
pub fn check_settings(s: &Settings) -> Result<(), ConfigError> {
    if s.batch_size == 0 || s.batch_size > MAX_BATCH_SIZE {
        return Err(ConfigError::new(
            "batchSize",
            format!(
                "must be between 1 and {MAX_BATCH_SIZE} (got {})",
                s.batch_size
            ),
        ));
    }
    if s.interval_ms < MIN_INTERVAL_MS {
        return Err(ConfigError::new(
            "intervalMs",
            format!(
                "must be at least {MIN_INTERVAL_MS} ms (1 second); got {}",
                s.interval_ms
            ),
        ));
    }
    if s.retry_attempts == 0 || s.retry_attempts > 100 {
        return Err(ConfigError::new(
            "retryAttempts",
            "must be between 1 and 100",
        ));
    }
    if s.retry_delay_ms > 3_600_000 {
        return Err(ConfigError::new(
            "retryDelayMs",
            "must be at most 3600000 ms (one hour)",
        ));
    }
    if let Some(u) = &s.supabase_url {
        check_https("supabaseUrl", u, &["https", "http"])?;
    }
    if let Some(u) = &s.rest_url {
        check_https("restUrl", u, &["https", "http"])?;
    }
    Ok(())
}

/// A URL of one of `schemes`, and https (or TLS) unless the host is loopback.
fn check_https(field: &str, raw: &str, schemes: &[&str]) -> Result<url::Url, ConfigError> {
    let u = url::Url::parse(raw).map_err(|_| {
        ConfigError::new(field, format!("is not a URL (expected {}://…)", schemes[0]))
    })?;
    if !schemes.contains(&u.scheme()) {
        return Err(ConfigError::new(
            field,
            format!("must start with {}://", schemes[0]),
        ));
    }
    let host = u.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(ConfigError::new(field, "has no host"));
    }
    if u.scheme() == "http" && !is_loopback(host) {
        return Err(ConfigError::new(
            field,
            format!("must use https for {host}: only this machine (localhost) may use plain http"),
        ));
    }
    Ok(u)
}

/// Whether `key` bypasses RLS: a `sb_secret_…` key or a legacy JWT whose `role`
/// claim is `service_role`.
pub fn is_service_key(key: &str) -> bool {
    use base64::Engine;
    let key = key.trim();
    if key.starts_with("sb_secret_") {
        return true;
    }
    let mut parts = key.split('.');
    let (Some(_), Some(payload), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return false;
    };
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("role")
                .and_then(Value::as_str)
                .map(|r| r == "service_role")
        })
        .unwrap_or(false)
}

/// Checks one credential's shape (not whether the cloud accepts it).
pub fn check_credential(name: &str, value: &str) -> Result<(), ConfigError> {
    let field = format!("credentials.{name}");
    let v = value.trim();
    if v.is_empty() {
        return Err(ConfigError::new(field, "is empty (send null to remove it)"));
    }
    match name {
        "anonKey" => {
            if is_service_key(v) {
                return Err(ConfigError::new(
                    field,
                    "is a service-role (or sb_secret_) key, which bypasses Row Level Security; \
                     the hub writes only with the publishable or anon key so the cloud confines \
                     it to its shop",
                ));
            }
            if v.contains("://") || v.contains("PRIVATE KEY") {
                return Err(ConfigError::new(
                    field,
                    "does not look like an API key (it looks like a URL or a private key)",
                ));
            }
        }
        "serviceRoleKey" => {}
        "dbUrl" => {
            let u = url::Url::parse(v)
                .map_err(|_| ConfigError::new(&field, "is not a postgres:// connection URL"))?;
            if !matches!(u.scheme(), "postgres" | "postgresql") {
                return Err(ConfigError::new(
                    field,
                    "must be a postgres:// (or postgresql://) connection URL",
                ));
            }
            if u.host_str().unwrap_or("").is_empty() {
                return Err(ConfigError::new(field, "has no host"));
            }
        }
        "jwtSecret" => {
            if v.len() < 32 {
                return Err(ConfigError::new(
                    field,
                    "is shorter than 32 characters; copy the project's whole JWT secret",
                ));
            }
            if v.contains("PRIVATE KEY") {
                return Err(ConfigError::new(
                    field,
                    "is a private key: put it in credentials.jwtPrivateKey",
                ));
            }
        }
        "jwtPrivateKey" => {
            if !v.contains("PRIVATE KEY") {
                return Err(ConfigError::new(
                    field,
                    "must be a PEM private key (-----BEGIN PRIVATE KEY-----)",
                ));
            }
        }
        "jwtKeyId" => {}
        _ => {
            return Err(ConfigError::new(
                field,
                format!(
                    "unknown credential; known: {}",
                    CREDENTIALS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
    Ok(())
}

/// The TLS the database URL needs: always outside this machine (a URL that
/// disables it there is refused), on loopback only when the URL asks
/// (`sslmode=require`). Roots: the CA file if set, else Mozilla's.
pub fn db_tls(
    s: &Settings,
    c: &Credentials,
) -> Result<Option<crate::sync::tls::RustlsConnect>, ConfigError> {
    let field = "credentials.dbUrl";
    let Some(db) = &c.db_url else {
        return Ok(None);
    };
    let u = url::Url::parse(db.expose()).map_err(|_| ConfigError::new(field, "is not a URL"))?;
    let host = u.host_str().unwrap_or("").to_string();
    let mode = u
        .query_pairs()
        .find(|(k, _)| k == "sslmode")
        .map(|(_, v)| v.to_string());
    let wanted = matches!(
        mode.as_deref(),
        Some("require") | Some("verify-ca") | Some("verify-full")
    );
    if !is_loopback(&host) && matches!(mode.as_deref(), Some("disable") | Some("allow")) {
        return Err(ConfigError::new(
            field,
            format!(
                "{host} is not this machine: the connection must use TLS (remove sslmode={})",
                mode.unwrap_or_default()
            ),
        ));
    }
    if is_loopback(&host) && !wanted {
        return Ok(None);
    }
    let ca = match &s.db_ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| ConfigError::new("dbCaFile", format!("cannot read {path}: {e}")))?,
        ),
        None => None,
    };
    crate::sync::tls::RustlsConnect::new(ca.as_deref())
        .map(Some)
        .map_err(|m| ConfigError::new("dbCaFile", m))
}

/// The transport the credentials select.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Postgres,
    Rest,
}

/// Checks that sync can run with `s` and `c`, and picks the transport: the
/// Postgres wire when a database URL is set, else REST.
pub fn ready(s: &Settings, c: &Credentials) -> Result<Transport, ConfigError> {
    check_settings(s)?;
    for (name, _) in CREDENTIALS {
        if let Some(v) = c.get(name) {
            check_credential(name, v.expose())?;
        }
    }
    if c.db_url.is_some() {
        db_tls(s, c)?;
        return Ok(Transport::Postgres);
    }
    if s.rest_base().is_some() {
        if c.anon_key.is_none() {
            if c.service_role_key.is_some() {
                return Err(ConfigError::new(
                    "credentials.anonKey",
                    "only the service-role key is configured; the hub never writes with it \
                     (it bypasses Row Level Security). Set the publishable or anon key.",
                ));
            }
            return Err(ConfigError::new(
                "credentials.anonKey",
                "is required for the REST transport (the project's publishable or anon key)",
            ));
        }
        if c.jwt_secret.is_none() && c.jwt_private_key.is_none() {
            return Err(ConfigError::new(
                "credentials.jwtSecret",
                "the REST transport signs the hub's token: set the project's JWT secret, or a \
                 private key (credentials.jwtPrivateKey) and its key id",
            ));
        }
        return Ok(Transport::Rest);
    }
    Err(ConfigError::new(
        "credentials.dbUrl",
        "no cloud is configured: set credentials.dbUrl (the project's Postgres connection URL), \
         or supabaseUrl with the anon key and the JWT secret (REST)",
    ))
}
