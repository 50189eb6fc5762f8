//! The real binary's logs at the most verbose level, in both formats: they
//! never hold a password, a token, the signing secret or a password hash, JSON
//! logs are one JSON object per line, and a request's id is in its log lines.

use crate::cli::{run, text};
use serde_json::{json, Value};
use std::process::Command;

const PASSWORD: &str = "logs test password one";
const NEW_PASSWORD: &str = "logs test password two";

/// Runs the hub with `format` at trace level, does a day's worth of secret
/// handling through it, stops it, and returns everything it logged.
fn logged(format: &str) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let init = run(
        &[
            "init",
            "--shop-name",
            "Logs Body",
            "--owner-email",
            "l@l.test",
        ],
        &data,
        Some(PASSWORD),
    );
    assert!(init.status.success(), "{}", text(&init));
    let log_path = dir.path().join("hub.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut cmd = crate::binary::serve_command(&data);
    cmd.args(["--log-format", format])
        .env("RUST_LOG", "trace")
        .stderr(log);
    let (mut hub, url) = crate::binary::start(cmd);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let secrets = rt.block_on(async {
        let http = reqwest::Client::new();
        let login: Value = http
            .post(format!("{url}/api/auth/login"))
            .header("x-request-id", "trace-me-7")
            .json(&json!({"email": "l@l.test", "password": PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("body");
        let token = login["token"].as_str().expect("token").to_string();
        let changed: Value = http
            .post(format!("{url}/api/auth/password"))
            .bearer_auth(&token)
            .json(&json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}))
            .send()
            .await
            .expect("password")
            .json()
            .await
            .expect("body");
        let new_token = changed["token"].as_str().unwrap_or_default().to_string();
        let _ = http
            .post(format!("{url}/api/users"))
            .bearer_auth(&new_token)
            .json(
                &json!({"email": "t@l.test", "display_name": "T", "role": "technician",
                          "password": "a technician's secret"}),
            )
            .send()
            .await
            .expect("create user");
        let _ = http
            .post(format!("{url}/api/auth/login"))
            .json(&json!({"email": "l@l.test", "password": "a wrong guess"}))
            .send()
            .await;
        vec![
            PASSWORD.to_string(),
            NEW_PASSWORD.to_string(),
            "a technician's secret".to_string(),
            "a wrong guess".to_string(),
            token,
            new_token,
        ]
    });
    let _ = Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status();
    let _ = hub.wait();
    let logs = std::fs::read_to_string(&log_path).expect("logs");
    let mut secrets = secrets;
    let jwt = std::fs::read(data.join("jwt_secret")).expect("secret");
    secrets.push(String::from_utf8_lossy(&jwt).into_owned());
    secrets.push(hex_of(&jwt));
    let db = rusqlite::Connection::open(data.join("collisionos.db")).expect("db");
    let mut stmt = db
        .prepare("SELECT password_hash FROM user_credentials")
        .expect("prepare");
    let hashes: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("hashes");
    assert_eq!(hashes.len(), 2);
    secrets.extend(hashes);
    (logs, secrets)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn trace_logs_hold_no_secret_in_either_format() {
    for format in ["text", "json"] {
        let (logs, secrets) = logged(format);
        assert!(
            logs.lines().count() > 5,
            "{format}: the hub logged little: {logs}"
        );
        for s in &secrets {
            assert!(!s.is_empty());
            assert!(
                !logs.contains(s.as_str()),
                "{format} logs hold a secret: {s:?}"
            );
        }
        assert!(
            logs.contains("trace-me-7"),
            "{format}: the request id is logged"
        );
        if format == "json" {
            for line in logs.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                assert!(v.get("level").is_some(), "{line}");
            }
        }
    }
}
