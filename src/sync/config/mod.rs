//! Sync configuration: the defaults, the environment, the per-shop non-secret
//! overrides in `shops.settings.sync`, the hub-only credentials, and validation
//! with the reason for every refusal.
//!
//! Layers, later wins: defaults → environment → `shops.settings.sync` (settings);
//! environment → `hub_secrets` (credentials).

use serde_json::{json, Map, Value};
use std::fmt;

pub const DEFAULT_INTERVAL_MS: u64 = 30_000;
pub const DEFAULT_RETRY_ATTEMPTS: u32 = 3;
pub const DEFAULT_RETRY_DELAY_MS: u64 = 5_000;
pub const DEFAULT_BATCH_SIZE: usize = 50;
pub const MAX_BATCH_SIZE: usize = 1000;
pub const MIN_INTERVAL_MS: u64 = 1000;

/// A hub-only secret: never printed (Debug and Display are redacted), shown back
/// only as set with at most its last four characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// "set (…abcd)": the last four characters, or none of a short secret.
    pub fn hint(&self) -> String {
        let n = self.0.chars().count();
        if n < 12 {
            "set".into()
        } else {
            let tail: String = self.0.chars().skip(n - 4).collect();
            format!("set (…{tail})")
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The five paid features (each only shapes the cost estimate today).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Features {
    pub bms_ingestion: bool,
    pub mobile_sync: bool,
    pub multi_location: bool,
    pub file_backup: bool,
    pub realtime_updates: bool,
}

/// Non-secret settings (what `shops.settings.sync` holds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub enabled: bool,
    pub features: Features,
    pub interval_ms: u64,
    pub retry_attempts: u32,
    pub retry_delay_ms: u64,
    pub batch_size: usize,
    /// The project's URL (`https://<ref>.supabase.co`), for the REST transport.
    pub supabase_url: Option<String>,
    /// A PEM file of the CA that signs a self-hosted database's certificate
    /// (else Mozilla's roots are trusted).
    pub db_ca_file: Option<String>,
    /// The REST API's base URL when it is not `<supabaseUrl>/rest/v1` (a
    /// self-hosted PostgREST serves at its root).
    pub rest_url: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            enabled: false,
            features: Features::default(),
            interval_ms: DEFAULT_INTERVAL_MS,
            retry_attempts: DEFAULT_RETRY_ATTEMPTS,
            retry_delay_ms: DEFAULT_RETRY_DELAY_MS,
            batch_size: DEFAULT_BATCH_SIZE,
            supabase_url: None,
            db_ca_file: None,
            rest_url: None,
        }
    }
}

/// The credential names, as the API and `hub_secrets` spell them, with their
/// environment variables.
pub const CREDENTIALS: &[(&str, &str)] = &[
    ("anonKey", "SUPABASE_ANON_KEY"),
    ("serviceRoleKey", "SUPABASE_SERVICE_ROLE_KEY"),
    ("dbUrl", "SUPABASE_DB_URL"),
    ("jwtSecret", "SUPABASE_JWT_SECRET"),
    ("jwtPrivateKey", "SUPABASE_JWT_PRIVATE_KEY"),
    ("jwtKeyId", "SUPABASE_JWT_KEY_ID"),
];

/// Hub-only credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The publishable (`sb_publishable_…`) or legacy anon key: the REST `apikey`.
    pub anon_key: Option<Secret>,
    /// Accepted from the environment, never used to write (it bypasses RLS).
    pub service_role_key: Option<Secret>,
    /// `postgres://…` with its password: the Postgres-wire transport.
    pub db_url: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub jwt_private_key: Option<Secret>,
    pub jwt_key_id: Option<Secret>,
}

impl Credentials {
    pub fn get(&self, name: &str) -> Option<&Secret> {
        match name {
            "anonKey" => self.anon_key.as_ref(),
            "serviceRoleKey" => self.service_role_key.as_ref(),
            "dbUrl" => self.db_url.as_ref(),
            "jwtSecret" => self.jwt_secret.as_ref(),
            "jwtPrivateKey" => self.jwt_private_key.as_ref(),
            "jwtKeyId" => self.jwt_key_id.as_ref(),
            _ => None,
        }
    }
    pub fn set(&mut self, name: &str, v: Option<Secret>) {
        let slot = match name {
            "anonKey" => &mut self.anon_key,
            "serviceRoleKey" => &mut self.service_role_key,
            "dbUrl" => &mut self.db_url,
            "jwtSecret" => &mut self.jwt_secret,
            "jwtPrivateKey" => &mut self.jwt_private_key,
            "jwtKeyId" => &mut self.jwt_key_id,
            _ => return,
        };
        *slot = v;
    }
    /// What the API may show: for each credential, "set (…abcd)" or null.
    pub fn shown(&self) -> Value {
        let mut m = Map::new();
        for (name, _) in CREDENTIALS {
            m.insert(
                (*name).into(),
                self.get(name).map_or(Value::Null, |s| json!(s.hint())),
            );
        }
        Value::Object(m)
    }
    /// Every secret value, to check that none leaked.
    pub fn values(&self) -> Vec<&str> {
        CREDENTIALS
            .iter()
            .filter_map(|(n, _)| self.get(n).map(Secret::expose))
            .collect()
    }
}

/// Sync configuration from the environment: the default settings and credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvConfig {
    pub settings: Settings,
    pub credentials: Credentials,
}

/// A refused configuration: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            field: field.into(),
            message: message.into(),
        }
    }
}

fn env_bool(field: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(ConfigError::new(
            field,
            format!("'{v}' is not true or false"),
        )),
    }
}

fn env_num<T: std::str::FromStr>(field: &str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| ConfigError::new(field, format!("'{v}' is not a whole number")))
}

impl EnvConfig {
    /// Reads the variables of the environment through `var` (the process's
    /// environment in `main`, a map in tests).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<EnvConfig, ConfigError> {
        let mut s = Settings::default();
        let supabase = var("ENABLE_SUPABASE")
            .map(|v| env_bool("ENABLE_SUPABASE", &v))
            .transpose()?;
        let sync = var("SYNC_ENABLED")
            .map(|v| env_bool("SYNC_ENABLED", &v))
            .transpose()?;
        s.enabled = sync.or(supabase).unwrap_or(false);
        for (name, slot) in [
            ("SYNC_BMS_INGESTION", &mut s.features.bms_ingestion),
            ("SYNC_MOBILE", &mut s.features.mobile_sync),
            ("SYNC_MULTI_LOCATION", &mut s.features.multi_location),
            ("SYNC_FILE_BACKUP", &mut s.features.file_backup),
            ("SYNC_REALTIME", &mut s.features.realtime_updates),
        ] {
            if let Some(v) = var(name) {
                *slot = env_bool(name, &v)?;
            }
        }
        if let Some(v) = var("SYNC_INTERVAL_MS") {
            s.interval_ms = env_num("SYNC_INTERVAL_MS", &v)?;
        }
        if let Some(v) = var("SYNC_BATCH_SIZE") {
            s.batch_size = env_num("SYNC_BATCH_SIZE", &v)?;
        }
        if let Some(v) = var("SYNC_RETRY_ATTEMPTS") {
            s.retry_attempts = env_num("SYNC_RETRY_ATTEMPTS", &v)?;
        }
        if let Some(v) = var("SYNC_RETRY_DELAY_MS") {
            s.retry_delay_ms = env_num("SYNC_RETRY_DELAY_MS", &v)?;
        }
        s.supabase_url = var("SUPABASE_URL").filter(|u| !u.trim().is_empty());
        s.db_ca_file = var("SUPABASE_DB_CA_FILE").filter(|u| !u.trim().is_empty());
        s.rest_url = var("SUPABASE_REST_URL").filter(|u| !u.trim().is_empty());
        let mut c = Credentials::default();
        for (name, env) in CREDENTIALS {
            let v = var(env).or_else(|| match *name {
                "anonKey" => var("SUPABASE_PUBLISHABLE_KEY"),
                _ => None,
            });
            c.set(name, v.filter(|v| !v.trim().is_empty()).map(Secret::new));
        }
        check_settings(&s)?;
        Ok(EnvConfig {
            settings: s,
            credentials: c,
        })
    }

    pub fn from_process_env() -> Result<EnvConfig, ConfigError> {
        EnvConfig::from_lookup(|k| std::env::var(k).ok())
    }
}

/// The keys `shops.settings.sync` and `PUT /api/sync/config` accept.
pub const SETTING_KEYS: &[&str] = &[
    "enabled",
    "features",
    "intervalMs",
    "retryAttempts",
    "retryDelayMs",
    "batchSize",
    "supabaseUrl",
    "dbCaFile",
    "restUrl",
];
const FEATURE_KEYS: &[&str] = &[
    "bmsIngestion",
    "mobileSync",
    "multiLocation",
    "fileBackup",
    "realtimeUpdates",
];

fn as_bool(field: &str, v: &Value) -> Result<bool, ConfigError> {
    v.as_bool()
        .ok_or_else(|| ConfigError::new(field, "must be true or false"))
}

fn as_u64(field: &str, v: &Value) -> Result<u64, ConfigError> {
    v.as_u64()
        .ok_or_else(|| ConfigError::new(field, "must be a whole number, 0 or more"))
}

impl Settings {
    /// Applies the overrides of `obj` (camelCase keys). Unknown keys and wrong
    /// types are refused, naming the key; nothing is applied then.
    pub fn overridden(&self, obj: &Value) -> Result<Settings, ConfigError> {
        let map = obj
            .as_object()
            .ok_or_else(|| ConfigError::new("body", "must be a JSON object"))?;
        let mut s = self.clone();
        for (k, v) in map {
            match k.as_str() {
                "enabled" => s.enabled = as_bool(k, v)?,
                "features" => {
                    let f = v.as_object().ok_or_else(|| {
                        ConfigError::new("features", "must be an object of true/false switches")
                    })?;
                    for (fk, fv) in f {
                        let field = format!("features.{fk}");
                        let slot = match fk.as_str() {
                            "bmsIngestion" => &mut s.features.bms_ingestion,
                            "mobileSync" => &mut s.features.mobile_sync,
                            "multiLocation" => &mut s.features.multi_location,
                            "fileBackup" => &mut s.features.file_backup,
                            "realtimeUpdates" => &mut s.features.realtime_updates,
                            _ => {
                                return Err(ConfigError::new(
                                    field,
                                    format!("unknown feature; known: {}", FEATURE_KEYS.join(", ")),
                                ))
                            }
                        };
                        *slot = as_bool(&field, fv)?;
                    }
                }
                "intervalMs" => s.interval_ms = as_u64(k, v)?,
                "retryAttempts" => {
                    s.retry_attempts = u32::try_from(as_u64(k, v)?)
                        .map_err(|_| ConfigError::new(k, "is too large"))?
                }
                "retryDelayMs" => s.retry_delay_ms = as_u64(k, v)?,
                "batchSize" => {
                    s.batch_size = usize::try_from(as_u64(k, v)?)
                        .map_err(|_| ConfigError::new(k, "is too large"))?
                }
                "restUrl" => {
                    s.rest_url = match v {
                        Value::Null => None,
                        Value::String(u) if u.trim().is_empty() => None,
                        Value::String(u) => Some(u.trim().to_string()),
                        _ => return Err(ConfigError::new(k, "must be a URL string or null")),
                    }
                }
                "dbCaFile" => {
                    s.db_ca_file = match v {
                        Value::Null => None,
                        Value::String(u) if u.trim().is_empty() => None,
                        Value::String(u) => Some(u.trim().to_string()),
                        _ => return Err(ConfigError::new(k, "must be a file path or null")),
                    }
                }
                "supabaseUrl" => {
                    s.supabase_url = match v {
                        Value::Null => None,
                        Value::String(u) if u.trim().is_empty() => None,
                        Value::String(u) => Some(u.trim().to_string()),
                        _ => return Err(ConfigError::new(k, "must be a URL string or null")),
                    }
                }
                _ => {
                    return Err(ConfigError::new(
                        k.as_str(),
                        format!("unknown setting; known: {}", SETTING_KEYS.join(", ")),
                    ))
                }
            }
        }
        check_settings(&s)?;
        Ok(s)
    }

    /// The REST API's base: `restUrl`, else `<supabaseUrl>/rest/v1`.
    pub fn rest_base(&self) -> Option<String> {
        self.rest_url.clone().or_else(|| {
            self.supabase_url
                .as_ref()
                .map(|u| format!("{}/rest/v1", u.trim_end_matches('/')))
        })
    }

    /// The form kept in `shops.settings.sync` (no secret).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

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
) -> Result<Option<super::tls::RustlsConnect>, ConfigError> {
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
    super::tls::RustlsConnect::new(ca.as_deref())
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

#[cfg(test)]
mod tests;
