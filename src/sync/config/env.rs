//! Sync settings and credentials read from the environment variables.

use super::*;

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
