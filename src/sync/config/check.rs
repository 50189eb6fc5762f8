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

/// The most attempts an item may be given before it is FAILED.
pub const MAX_RETRY_ATTEMPTS: u32 = 100;
/// The shortest first retry delay: retries with no wait in between spend an
/// item's attempts in a moment, before a passing trouble has passed.
pub const MIN_RETRY_DELAY_MS: u64 = 100;
/// The longest first retry delay: one hour.
pub const MAX_RETRY_DELAY_MS: u64 = 3_600_000;
/// The longest interval between pushes: one day.
pub const MAX_INTERVAL_MS: u64 = 86_400_000;
/// The longest URL or file path a setting may hold.
pub const MAX_SETTING_CHARS: usize = 2_048;
/// The longest credential (a 4096-bit RSA key in PEM is about 3,300 bytes).
pub const MAX_CREDENTIAL_BYTES: usize = 16_384;
/// The largest CA file read (a bundle of every public root is about 220 KB).
pub const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// What a numeric setting accepts, in the words its refusals use (whether the
/// value was of the wrong type or out of range, the owner reads the same rule).
pub fn number_rule(field: &str) -> String {
    match field {
        "batchSize" => format!("a whole number between 1 and {MAX_BATCH_SIZE}"),
        "intervalMs" => format!(
            "a whole number of milliseconds between {MIN_INTERVAL_MS} (1 second) and \
             {MAX_INTERVAL_MS} (one day)"
        ),
        "retryAttempts" => format!("a whole number between 1 and {MAX_RETRY_ATTEMPTS}"),
        "retryDelayMs" => {
            format!(
                "a whole number of milliseconds between {MIN_RETRY_DELAY_MS} (0.1 second) and \
                 {MAX_RETRY_DELAY_MS} (one hour)"
            )
        }
        _ => "a whole number".into(),
    }
}

/// Checks the numbers and the URL of `s`.
pub fn check_settings(s: &Settings) -> Result<(), ConfigError> {
    let out_of_range = |field: &str, got: u64| {
        ConfigError::new(field, format!("must be {}; got {got}", number_rule(field)))
    };
    if s.batch_size == 0 || s.batch_size > MAX_BATCH_SIZE {
        return Err(out_of_range("batchSize", s.batch_size as u64));
    }
    if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&s.interval_ms) {
        return Err(out_of_range("intervalMs", s.interval_ms));
    }
    if s.retry_attempts == 0 || s.retry_attempts > MAX_RETRY_ATTEMPTS {
        return Err(out_of_range("retryAttempts", s.retry_attempts.into()));
    }
    if !(MIN_RETRY_DELAY_MS..=MAX_RETRY_DELAY_MS).contains(&s.retry_delay_ms) {
        return Err(out_of_range("retryDelayMs", s.retry_delay_ms));
    }
    if let Some(u) = &s.supabase_url {
        check_https("supabaseUrl", u, &["https", "http"])?;
    }
    if let Some(u) = &s.rest_url {
        check_https("restUrl", u, &["https", "http"])?;
    }
    if let Some(path) = &s.db_ca_file {
        check_ca_path(path)?;
    }
    Ok(())
}

/// A URL or path setting is at most [`MAX_SETTING_CHARS`] characters.
fn within_setting_length(field: &str, raw: &str) -> Result<(), ConfigError> {
    if raw.chars().count() > MAX_SETTING_CHARS {
        return Err(ConfigError::new(
            field,
            format!("is longer than {MAX_SETTING_CHARS} characters"),
        ));
    }
    Ok(())
}

/// `dbCaFile` names a file on this PC: an absolute path, not a URL or a key
/// pasted into the wrong box (the setting is kept in `shops.settings`, which
/// every role reads and the cloud holds).
fn check_ca_path(path: &str) -> Result<(), ConfigError> {
    let field = "dbCaFile";
    within_setting_length(field, path)?;
    if path.contains("://") || path.contains("PRIVATE KEY") || path.chars().any(char::is_control) {
        return Err(ConfigError::new(
            field,
            "must be the path of a PEM file on this PC (it looks like a URL or a key; \
             credentials go in credentials.*)",
        ));
    }
    if !std::path::Path::new(path).is_absolute() {
        return Err(ConfigError::new(
            field,
            "must be an absolute path (the hub may run from any folder)",
        ));
    }
    Ok(())
}

/// The CA file's bytes: a regular file of at most [`MAX_CA_FILE_BYTES`],
/// opened without waiting (a FIFO or a device named here must not hold the
/// request that names it).
fn read_ca_file(path: &str) -> Result<Vec<u8>, ConfigError> {
    use std::io::Read;
    let refuse = |why: String| ConfigError::new("dbCaFile", format!("cannot use {path}: {why}"));
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.custom_flags(libc::O_NONBLOCK);
    }
    let file = open.open(path).map_err(|e| refuse(e.to_string()))?;
    let meta = file.metadata().map_err(|e| refuse(e.to_string()))?;
    if !meta.is_file() {
        return Err(refuse("it is not a regular file".into()));
    }
    if meta.len() > MAX_CA_FILE_BYTES {
        return Err(refuse(format!(
            "it is larger than {} KiB, too large for a CA file",
            MAX_CA_FILE_BYTES / 1024
        )));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CA_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse(e.to_string()))?;
    Ok(bytes)
}

/// A URL of one of `schemes`, and https (or TLS) unless the host is loopback.
fn check_https(field: &str, raw: &str, schemes: &[&str]) -> Result<url::Url, ConfigError> {
    within_setting_length(field, raw)?;
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
    // The setting is kept in `shops.settings`, which every role reads and the
    // cloud holds: a password or key riding in the URL would be published.
    if !u.username().is_empty() || u.password().is_some() {
        return Err(ConfigError::new(
            field,
            "must not carry a user name or password; credentials go in credentials.*",
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(ConfigError::new(
            field,
            "must be the project's address alone, without ?… or #… (keys go in \
             credentials.anonKey)",
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
    // JWTs use the URL-safe alphabet; a key re-encoded with `+` and `/` must
    // not pass for an anon key either.
    let payload = payload.trim_end_matches('=');
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(payload))
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
    if v.len() > MAX_CREDENTIAL_BYTES {
        return Err(ConfigError::new(
            field,
            format!("is longer than {MAX_CREDENTIAL_BYTES} bytes"),
        ));
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
        "jwtKeyId" => {
            if v.len() > 256 || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::new(
                    field,
                    "must be the key's id as the project's JWKS lists it (`kid`): at most 256 \
                     characters, no spaces",
                ));
            }
        }
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
        Some(path) => Some(read_ca_file(path)?),
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

/// Which cloud `t` pushes to, as a digest (the hub keeps it to notice a
/// different cloud, and it need not show where): the database's hosts, ports,
/// name and user for the Postgres wire (on Supabase's pooler the user names
/// the project), the REST API's base URL for REST. A password or key is no
/// part of it: changing one reaches the same cloud.
pub fn cloud_target(s: &Settings, c: &Credentials, t: Transport) -> String {
    use sha2::Digest;
    let target = match t {
        Transport::Postgres => {
            let url = c.db_url.as_ref().map(Secret::expose).unwrap_or_default();
            match url.parse::<tokio_postgres::Config>() {
                Ok(cfg) => {
                    let user = cfg.get_user().unwrap_or_default();
                    let ports = match cfg.get_ports() {
                        [] => vec![5432],
                        p => p.to_vec(),
                    };
                    format!(
                        "postgres {:?} {:?} {} {}",
                        cfg.get_hosts(),
                        ports,
                        cfg.get_dbname().unwrap_or(user),
                        user
                    )
                }
                Err(_) => format!("postgres {url}"),
            }
        }
        Transport::Rest => format!(
            "rest {}",
            s.rest_base().unwrap_or_default().trim_end_matches('/')
        ),
    };
    hex::encode(sha2::Sha256::digest(target.as_bytes()))
}
