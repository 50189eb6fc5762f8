//! `install/install.sh --root DIR` lays out the service as a shop PC would get
//! it, and systemd itself accepts the unit (`systemd-analyze verify`).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_collisionos");

fn install(root: &Path, extra: &[&str]) -> std::process::Output {
    Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/install/install.sh"))
        .arg("--root")
        .arg(root)
        .args(["--binary", BIN])
        .args(extra)
        .output()
        .expect("run install.sh")
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Runs `systemd-analyze verify` on the unit inside `root`, with the machine's
/// own system units copied beside it (the unit depends on their targets).
/// Returns what it printed: systemd reports bad settings as warnings with exit 0.
fn verify(root: &Path) -> (bool, String) {
    let units = root.join("usr/lib/systemd");
    std::fs::create_dir_all(&units).expect("mkdir");
    let cp = Command::new("cp")
        .args(["-r", "/usr/lib/systemd/system"])
        .arg(&units)
        .status()
        .expect("cp (systemd's units are needed: tests/run.sh installs systemd)");
    assert!(cp.success(), "copy /usr/lib/systemd/system");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg("/etc/systemd/system/collisionos.service")
        .output()
        .expect("systemd-analyze (Debian's systemd package; tests/run.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_install_script_lays_out_a_unit_systemd_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let out = install(root, &[]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = root.join("usr/local/bin/collisionos");
    assert_eq!(mode(&bin), 0o755);
    assert_eq!(
        std::fs::read(&bin).expect("installed binary"),
        std::fs::read(BIN).expect("built binary")
    );
    assert_eq!(mode(&root.join("var/lib/collisionos")), 0o700, "data dir");
    assert_eq!(mode(&root.join("etc/collisionos/collisionos.env")), 0o640);
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/collisionos.service")).expect("unit");
    for line in [
        "User=collisionos",
        "ExecStart=/usr/local/bin/collisionos serve",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/collisionos",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "EnvironmentFile=-/etc/collisionos/collisionos.env",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit has {line}");
    }
    assert!(!unit.contains('@'), "every placeholder is filled: {unit}");

    let (ok, said) = verify(root);
    assert!(
        ok && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    // The check can fail: a setting systemd does not understand is reported.
    let path = root.join("etc/systemd/system/collisionos.service");
    std::fs::write(
        &path,
        unit.replace("PrivateTmp=yes", "PrivateTmp=sometimes"),
    )
    .expect("write");
    let (_, said) = verify(root);
    assert!(
        said.contains("collisionos.service:") && said.contains("sometimes"),
        "a bad setting is reported: {said}"
    );

    // Settings already written are kept on a second install.
    let env = root.join("etc/collisionos/collisionos.env");
    std::fs::write(&env, "COLLISIONOS_LISTEN=127.0.0.1:9000\n").expect("write");
    assert!(install(root, &[]).status.success());
    assert_eq!(
        std::fs::read_to_string(&env).expect("env"),
        "COLLISIONOS_LISTEN=127.0.0.1:9000\n"
    );
}

#[test]
fn a_dry_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = install(dir.path(), &["--dry-run"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("would run"));
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("read").collect();
    assert!(left.is_empty(), "a dry run wrote {left:?}");
}
