//! HTTPS for the tablets on the real binary: a client that trusts the shop's CA
//! logs in over TLS, one that does not is refused, and plain HTTP stays
//! available only where configured (loopback).

use crate::cli::{run, text};
use serde_json::json;
use std::io::BufRead;
use std::process::Command;

const PASSWORD: &str = "https test password";

#[tokio::test]
async fn a_client_trusting_the_ca_logs_in_over_tls_and_plain_http_stays_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::sync_tls::certificates(dir.path());
    let data = dir.path().join("data");
    let init = run(
        &[
            "init",
            "--shop-name",
            "TLS Body",
            "--owner-email",
            "s@s.test",
        ],
        &data,
        Some(PASSWORD),
    );
    assert!(init.status.success(), "{}", text(&init));
    let mut cmd = crate::binary::serve_command(&data);
    cmd.args(["--http-listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(dir.path().join("leaf.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("leaf.key"));
    let (mut hub, url, mut out) = crate::binary::start_with(cmd);
    let https = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("{url:?}"))
        .to_string();
    let mut line = String::new();
    out.read_line(&mut line).expect("second line");
    let plain = line
        .trim()
        .strip_prefix("collisionos also listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    assert!(
        plain.starts_with("127.0.0.1:"),
        "plain HTTP only on loopback: {plain}"
    );
    let port = https.rsplit(':').next().expect("port");

    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(dir.path().join("ca.pem")).expect("ca.pem"))
            .expect("a CA certificate");
    let trusting = reqwest::Client::builder()
        .add_root_certificate(ca)
        .resolve("localhost", ([127, 0, 0, 1], 0).into())
        .build()
        .expect("client");
    let login = json!({"email": "s@s.test", "password": PASSWORD});
    let res = trusting
        .post(format!("https://localhost:{port}/api/auth/login"))
        .json(&login)
        .send()
        .await
        .expect("a login over TLS");
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-content-type-options").is_some());

    let untrusting = reqwest::Client::new();
    let refused = untrusting
        .post(format!("https://localhost:{port}/api/auth/login"))
        .json(&login)
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client that does not trust the CA is refused"
    );

    let cleartext = untrusting
        .post(format!("http://{https}/api/auth/login"))
        .json(&login)
        .send()
        .await;
    assert!(
        cleartext.map(|r| r.status() != 200).unwrap_or(true),
        "no plain HTTP on the TLS port"
    );
    let res = untrusting
        .post(format!("http://{plain}/api/auth/login"))
        .json(&login)
        .send()
        .await
        .expect("plain HTTP on loopback");
    assert_eq!(res.status(), 200);

    let _ = Command::new("kill")
        .args(["-TERM", &hub.id().to_string()])
        .status();
    let status = hub.wait().expect("wait");
    assert!(status.success());
}

#[test]
fn a_key_that_does_not_fit_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    crate::sync_tls::certificates(dir.path());
    let out = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            dir.path().join("leaf.pem").to_str().expect("utf-8"),
            "--tls-key",
            dir.path().join("ca.key").to_str().expect("utf-8"),
        ],
        &dir.path().join("data"),
        None,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("do not go together"), "{}", text(&out));
}
