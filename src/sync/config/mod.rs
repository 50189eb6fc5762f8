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
    /// What the API may show: for each credential, "set (…abcd)" or null. A
    /// database URL's last characters may be its password (`?password=…`) or
    /// its database name: it is shown by its host alone.
    pub fn shown(&self) -> Value {
        let mut m = Map::new();
        for (name, _) in CREDENTIALS {
            let hint = |s: &Secret| match *name {
                "dbUrl" => url::Url::parse(s.expose())
                    .ok()
                    .and_then(|u| u.host_str().map(|h| format!("set (host {h})")))
                    .unwrap_or_else(|| "set".into()),
                _ => s.hint(),
            };
            m.insert(
                (*name).into(),
                self.get(name).map_or(Value::Null, |s| json!(hint(s))),
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
        .ok_or_else(|| ConfigError::new(field, format!("must be {}", number_rule(field))))
}

/// `n` in the setting's own integer type, or its rule with the number given.
fn narrowed<T: TryFrom<u64>>(field: &str, n: u64) -> Result<T, ConfigError> {
    T::try_from(n)
        .map_err(|_| ConfigError::new(field, format!("must be {}; got {n}", number_rule(field))))
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
                "retryAttempts" => s.retry_attempts = narrowed(k, as_u64(k, v)?)?,
                "retryDelayMs" => s.retry_delay_ms = as_u64(k, v)?,
                "batchSize" => s.batch_size = narrowed(k, as_u64(k, v)?)?,
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

mod check;
mod env;
pub use check::*;

#[cfg(test)]
mod tests;
