//! The real `collisionos` binary for the tests that need a process of its own
//! (kill -9, SIGTERM, logs, restore, TLS): a `serve` command to adjust, and the
//! start that reads the line the hub prints once it listens.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_collisionos");

/// Runs `collisionos init` into `data`: a shop named `shop` whose owner is
/// `email` with `password`. Panics unless it succeeds.
pub fn init(data: &Path, shop: &str, email: &str, password: &str) {
    let out = Command::new(BIN)
        .args(["init", "--shop-name", shop, "--owner-email", email])
        .arg("--data-dir")
        .arg(data)
        .env("COLLISIONOS_OWNER_PASSWORD", password)
        .output()
        .expect("run init");
    assert!(out.status.success(), "init failed: {out:?}");
}

/// Puts the data dir `data` (made by `init`, no hub running) in the state
/// turning sync on leaves it in, through the hub's own first upload
/// (`Queue::queue_first_upload`): what `init` wrote is queued and every later
/// write waits past the change log's cursor. For the tests that check every
/// record's latest change waits for the cloud. Runs on a thread of its own, so sync and async tests can call it.
pub fn queue_writes(data: &Path) {
    let data = data.to_path_buf();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        rt.block_on(async {
            let store = collisionos::store::Store::open(&data).expect("open the store");
            let queue = collisionos::store::queue::Queue::open(&store).expect("the sync queue");
            queue
                .queue_first_upload("2026-01-01T00:00:00.000000Z".into())
                .await
                .expect("the first upload queued");
            drop(queue);
            store.close().await;
        });
    })
    .join()
    .expect("queue_writes");
}

/// `collisionos serve` on a free loopback port over `data`, warnings only on
/// stderr (inherited), stdout piped for the listening line. Add flags,
/// environment or another stderr before [`start`].
pub fn serve_command(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd
}

/// Starts `cmd` and returns the process and its base URL, read from the first
/// line it prints (`collisionos listening on URL`); the rest of stdout is
/// handed back for hubs that print more.
pub fn start_with(mut cmd: Command) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = cmd.spawn().expect("start collisionos serve");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("read the listening line");
    let url = line
        .trim()
        .strip_prefix("collisionos listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from the hub: {line:?}"))
        .to_string();
    (child, url, out)
}

/// [`start_with`] without the rest of stdout.
pub fn start(cmd: Command) -> (Child, String) {
    let (child, url, _) = start_with(cmd);
    (child, url)
}

/// Logs in to the hub at `url` and returns the bearer token.
pub async fn login(http: &reqwest::Client, url: &str, email: &str, password: &str) -> String {
    let res: serde_json::Value = http
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    res["token"]
        .as_str()
        .unwrap_or_else(|| panic!("login of {email} gave no token: {res}"))
        .to_string()
}
