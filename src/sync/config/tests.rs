//! Unit tests of the sync configuration.

use super::*;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> Result<EnvConfig, ConfigError> {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvConfig::from_lookup(|k| m.get(k).cloned())
}

#[test]
fn defaults_without_environment() {
    let c = env(&[]).expect("defaults");
    assert_eq!(c.settings, Settings::default());
    assert!(!c.settings.enabled);
    assert_eq!(c.settings.features, Features::default());
    assert_eq!(c.settings.interval_ms, 30_000);
    assert_eq!(c.settings.retry_attempts, 3);
    assert_eq!(c.settings.retry_delay_ms, 5_000);
    assert_eq!(c.settings.batch_size, 50);
    assert_eq!(c.credentials, Credentials::default());
}

#[test]
fn environment_overrides_defaults() {
    let c = env(&[
        ("ENABLE_SUPABASE", "true"),
        ("SYNC_MOBILE", "1"),
        ("SYNC_REALTIME", "yes"),
        ("SYNC_INTERVAL_MS", "5000"),
        ("SYNC_BATCH_SIZE", "500"),
        ("SYNC_RETRY_ATTEMPTS", "7"),
        ("SYNC_RETRY_DELAY_MS", "250"),
        ("SUPABASE_URL", "https://abc.supabase.co"),
        (
            "SUPABASE_PUBLISHABLE_KEY",
            "sb_publishable_abcdefghijklmnop",
        ),
        ("SUPABASE_DB_URL", "postgres://u:pw@127.0.0.1:5432/db"),
    ])
    .expect("valid");
    assert!(c.settings.enabled);
    assert!(c.settings.features.mobile_sync && c.settings.features.realtime_updates);
    assert!(!c.settings.features.bms_ingestion);
    assert_eq!((c.settings.interval_ms, c.settings.batch_size), (5000, 500));
    assert_eq!(
        (c.settings.retry_attempts, c.settings.retry_delay_ms),
        (7, 250)
    );
    assert_eq!(
        c.credentials.anon_key.as_ref().map(Secret::expose),
        Some("sb_publishable_abcdefghijklmnop")
    );
    assert!(
        !env(&[("ENABLE_SUPABASE", "true"), ("SYNC_ENABLED", "false")])
            .expect("valid")
            .settings
            .enabled
    );
    let e = env(&[("SYNC_BATCH_SIZE", "0")]).expect_err("batch 0");
    assert_eq!(e.field, "batchSize");
    let e = env(&[("SYNC_ENABLED", "maybe")]).expect_err("not a bool");
    assert_eq!(e.field, "SYNC_ENABLED");
}

#[test]
fn validation_refuses_with_the_reason() {
    let base = Settings::default();
    for (patch, field, words) in [
        (json!({"batchSize": 0}), "batchSize", "between 1 and 1000"),
        (
            json!({"batchSize": 1001}),
            "batchSize",
            "between 1 and 1000",
        ),
        (json!({"intervalMs": 999}), "intervalMs", "between 1000"),
        (json!({"intervalMs": -1}), "intervalMs", "between 1000"),
        (
            json!({"intervalMs": u64::MAX}),
            "intervalMs",
            "86400000 (one day)",
        ),
        (json!({"retryDelayMs": 0}), "retryDelayMs", "between 100"),
        (
            json!({"retryDelayMs": 3_600_001}),
            "retryDelayMs",
            "3600000 (one hour)",
        ),
        (
            json!({"retryAttempts": 99_999_999_999u64}),
            "retryAttempts",
            "got 99999999999",
        ),
        // Settings are read by every role and held by the cloud: no secret
        // may ride in them.
        (
            json!({"supabaseUrl": "https://admin:pw@abc.supabase.co"}),
            "supabaseUrl",
            "user name or password",
        ),
        (
            json!({"restUrl": "https://abc.supabase.co/rest/v1?apikey=sb_secret_abc"}),
            "restUrl",
            "without ?",
        ),
        (
            json!({"supabaseUrl": format!("https://abc.supabase.co/{}", "a".repeat(2100))}),
            "supabaseUrl",
            "longer than 2048",
        ),
        (
            json!({"dbCaFile": "postgres://postgres:pw@db.abc.supabase.co/postgres"}),
            "dbCaFile",
            "looks like a URL or a key",
        ),
        (json!({"dbCaFile": "certs/ca.pem"}), "dbCaFile", "absolute"),
        (
            json!({"supabaseUrl": "http://abc.supabase.co"}),
            "supabaseUrl",
            "https",
        ),
        (json!({"supabaseUrl": "ftp://x"}), "supabaseUrl", "https://"),
        (json!({"enabled": "yes"}), "enabled", "true or false"),
        (json!({"batchSize": -1}), "batchSize", "whole number"),
        (json!({"colour": 1}), "colour", "unknown setting"),
        (
            json!({"features": {"teleport": true}}),
            "features.teleport",
            "unknown feature",
        ),
    ] {
        let e = base.overridden(&patch).expect_err("refused");
        assert_eq!(e.field, field, "{patch}");
        assert!(e.message.contains(words), "{patch}: {e}");
    }
    assert!(base
        .overridden(&json!({"supabaseUrl": "http://127.0.0.1:3000"}))
        .is_ok());
    let ok = base
        .overridden(
            &json!({"batchSize": 1000, "intervalMs": 1000, "features": {"fileBackup": true}}),
        )
        .expect("valid");
    assert_eq!(ok.batch_size, 1000);
    assert!(ok.features.file_backup);
}

#[test]
fn a_service_role_key_is_refused_as_the_write_key() {
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let service = format!(
        "{}.{}.sig",
        b64(json!({"alg": "HS256"})),
        b64(json!({"role": "service_role", "iss": "supabase"}))
    );
    let anon = format!(
        "{}.{}.sig",
        b64(json!({"alg": "HS256"})),
        b64(json!({"role": "anon", "iss": "supabase"}))
    );
    assert!(is_service_key(&service));
    assert!(is_service_key("sb_secret_abcdef"));
    // The same claims in base64's other alphabet (`+`, `/`) are refused too.
    let std_b64 = base64::engine::general_purpose::STANDARD_NO_PAD
        .encode(json!({"role": "service_role", "x": "?>?"}).to_string());
    assert!(std_b64.contains('+'), "{std_b64}");
    assert!(is_service_key(&format!("eyJ.{std_b64}.sig")));
    assert!(!is_service_key(&anon));
    assert!(!is_service_key("sb_publishable_abcdef"));
    let e = check_credential("anonKey", &service).expect_err("service key");
    assert_eq!(e.field, "credentials.anonKey");
    assert!(e.message.contains("Row Level Security"), "{e}");
    assert!(check_credential("anonKey", "sb_secret_xyz").is_err());
    assert!(check_credential("anonKey", &anon).is_ok());
    assert!(check_credential("jwtKeyId", "key 1").is_err());
    assert!(check_credential("jwtKeyId", "a6f1-2b").is_ok());
    assert!(check_credential("jwtSecret", &"s".repeat(20_000)).is_err());
    let mut c = Credentials {
        service_role_key: Some(Secret::new(service)),
        ..Default::default()
    };
    let s = Settings {
        supabase_url: Some("https://abc.supabase.co".into()),
        ..Default::default()
    };
    let e = ready(&s, &c).expect_err("only the service key");
    assert!(e.message.contains("never writes with it"), "{e}");
    c.db_url = Some(Secret::new("postgres://postgres:pw@127.0.0.1:5432/x"));
    assert_eq!(ready(&s, &c), Ok(Transport::Postgres));
    c.db_url = Some(Secret::new("postgres://postgres:pw@db.example.com:5432/x"));
    assert_eq!(
        ready(&s, &c),
        Ok(Transport::Postgres),
        "TLS outside loopback"
    );
    assert!(db_tls(&s, &c).expect("tls").is_some());
    c.db_url = Some(Secret::new(
        "postgres://postgres:pw@db.example.com:5432/x?sslmode=disable",
    ));
    assert_eq!(
        ready(&s, &c).expect_err("no TLS").field,
        "credentials.dbUrl"
    );
    c.db_url = Some(Secret::new("postgres://postgres:pw@localhost:5432/x"));
    assert!(db_tls(&s, &c).expect("plain on loopback").is_none());
    let with_ca = Settings {
        db_ca_file: Some("/nonexistent/ca.pem".into()),
        ..s.clone()
    };
    c.db_url = Some(Secret::new(
        "postgres://postgres:pw@localhost:5432/x?sslmode=require",
    ));
    assert_eq!(
        ready(&with_ca, &c).expect_err("no CA file").field,
        "dbCaFile"
    );
}

#[test]
fn secrets_are_redacted() {
    let s = Secret::new("super-secret-password-1234");
    assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    assert_eq!(s.hint(), "set (…1234)");
    assert_eq!(Secret::new("short").hint(), "set");
    let c = Credentials {
        db_url: Some(s.clone()),
        ..Default::default()
    };
    let shown = c.shown().to_string();
    assert!(!shown.contains("super-secret"), "{shown}");
    // A database URL is shown by its host: its tail may be the password.
    let c = Credentials {
        db_url: Some(Secret::new("postgres://db.example.com/x?password=AbCd1234")),
        ..Default::default()
    };
    assert_eq!(c.shown()["dbUrl"], "set (host db.example.com)");
    assert!(!format!("{c:?}").contains("super-secret"));
}

/// A CA path naming a FIFO (or a device) is refused at once: opening it must
/// not wait for a writer while it holds a request thread of the hub.
#[test]
fn a_ca_file_that_is_not_a_regular_file_is_refused_without_waiting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("ca.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("coreutils' mkfifo runs");
    assert!(made.success(), "mkfifo");
    let s = Settings {
        db_ca_file: Some(fifo.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let c = Credentials {
        db_url: Some(Secret::new(
            "postgres://postgres:pw@localhost:5432/x?sslmode=require",
        )),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(db_tls(&s, &c).map(|_| ())));
    let answer = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("db_tls answered instead of waiting on the FIFO");
    let e = answer.expect_err("a FIFO is not a CA file");
    assert_eq!(e.field, "dbCaFile");
    assert!(e.message.contains("not a regular file"), "{e}");
    let big = dir.path().join("big.pem");
    std::fs::write(&big, vec![b'a'; (MAX_CA_FILE_BYTES + 1) as usize]).expect("write");
    let s = Settings {
        db_ca_file: Some(big.to_string_lossy().into_owned()),
        ..Default::default()
    };
    let c = Credentials {
        db_url: Some(Secret::new(
            "postgres://postgres:pw@localhost:5432/x?sslmode=require",
        )),
        ..Default::default()
    };
    let e = db_tls(&s, &c).map(|_| ()).expect_err("too large");
    assert!(e.message.contains("too large"), "{e}");
}
