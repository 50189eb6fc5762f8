//! The command line as a newcomer meets it: `--help`, `init` once, a data dir from
//! a newer version refused.

use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_collisionos");

pub fn run(args: &[&str], data: &Path, password: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null());
    cmd.env_remove("COLLISIONOS_OWNER_PASSWORD");
    if let Some(p) = password {
        cmd.env("COLLISIONOS_OWNER_PASSWORD", p);
    }
    cmd.output().expect("run collisionos")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_explains_each_command_and_flag() {
    let out = Command::new(BIN).arg("--help").output().expect("help");
    assert!(out.status.success());
    let help = text(&out);
    for cmd in ["serve", "init", "backup", "cloud"] {
        assert!(help.contains(cmd), "--help lists {cmd}:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("help");
    let help = text(&out);
    for flag in [
        "--listen",
        "--data-dir",
        "COLLISIONOS_LISTEN",
        "COLLISIONOS_DATA_DIR",
        "0.0.0.0:8080",
        "./data",
    ] {
        assert!(help.contains(flag), "serve --help mentions {flag}:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["init", "--help"])
        .output()
        .expect("help");
    let help = text(&out);
    assert!(help.contains("COLLISIONOS_OWNER_PASSWORD"), "{help}");
    assert!(
        !help.contains("--password"),
        "a password is never an argument:\n{help}"
    );
}

#[test]
fn init_runs_once_and_needs_a_good_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let args = [
        "init",
        "--shop-name",
        "A1 Collision",
        "--owner-email",
        "a@a1.test",
    ];

    let short = run(&args, &data, Some("short"));
    assert!(!short.status.success());
    assert!(text(&short).contains("at least 8"), "{}", text(&short));

    let ok = run(&args, &data, Some("long enough password"));
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("created shop"));

    let again = run(&args, &data, Some("long enough password"));
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already has a shop"),
        "{}",
        text(&again)
    );

    // The secret is the owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("jwt_secret"))
            .map(|m| m.permissions().mode())
            .expect("the signing secret exists after init");
        assert_eq!(
            mode & 0o777,
            0o600,
            "jwt_secret is readable by its owner only"
        );
    }
}

#[test]
fn init_reads_the_password_from_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(BIN)
        .args([
            "init",
            "--shop-name",
            "Stdin Body",
            "--owner-email",
            "s@s.test",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("COLLISIONOS_OWNER_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"from standard input\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", text(&out));
    // The password read from stdin (without its newline) is the one that logs in.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (mut hub, url) = crate::crash::start_hub(dir.path());
    let login = |password: &'static str| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{url}/api/auth/login"))
                .json(&serde_json::json!({"email": "s@s.test", "password": password}))
                .send()
                .await
                .expect("login")
                .status()
        }
    };
    assert_eq!(rt.block_on(login("from standard input")), 200);
    assert_eq!(rt.block_on(login("from standard input\n")), 401);
    hub.kill().expect("stop the hub");
    hub.wait().expect("reap");
}

#[test]
fn a_data_dir_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let ok = run(
        &["init", "--shop-name", "Newer", "--owner-email", "n@n.test"],
        &data,
        Some("long enough password"),
    );
    assert!(ok.status.success(), "{}", text(&ok));
    {
        let db = rusqlite::Connection::open(data.join("collisionos.db")).expect("open");
        db.pragma_update(None, "user_version", 999).expect("bump");
    }
    let out = run(&["serve", "--listen", "127.0.0.1:0"], &data, None);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(
        msg.contains("newer collisionos") && msg.contains("999"),
        "{msg}"
    );
}
