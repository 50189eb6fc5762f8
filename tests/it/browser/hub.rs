//! The hub the browser talks to: the real `collisionos serve` binary on a
//! loopback port over a temp data dir, started with sync credentials in its
//! environment (secrets the browser must never receive), the one-time setup
//! code read from its console, stopped and restarted on the same port and data
//! dir, and a small API client for what a test seeds or checks directly.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const OWNER_EMAIL: &str = "owner@browser.test";
pub const OWNER_NAME: &str = "Olive Owner";
pub const SHOP_NAME: &str = "Bayside Collision";
pub const PASSWORD: &str = "correct horse battery";

/// Cloud credentials every browser-test hub holds (its environment), so that
/// every scenario's recording is searched for them.
pub const ANON_KEY: &str = "sb_publishable_browser-anon-8841-kq";
pub const SERVICE_KEY: &str = "sb_secret_browser-service-2290-vx";
pub const JWT_SECRET: &str = "browser-jwt-secret-5f1c9e77a0b24d6e-jw";
pub const PRIVATE_KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIbrowserprivatekeybody7319pk\n-----END PRIVATE KEY-----";
pub const PRIVATE_KEY_BODY: &str = "MIIbrowserprivatekeybody7319pk";
/// The cloud database password (in `SUPABASE_DB_URL`, or typed into the page).
pub const DB_PASSWORD: &str = "dbpw-browser-Qz83-unique";

/// A running (or stopped) hub. Killed when dropped.
pub struct Hub {
    child: Option<Child>,
    /// `127.0.0.1:port`: the same across restarts.
    pub addr: String,
    /// `http://addr`, for the test's own API calls (the browser uses the proxy).
    pub url: String,
    pub http: reqwest::Client,
    env: Vec<(String, String)>,
    pub setup_code: Option<String>,
    // Last: the hub is killed (Drop) before its directory goes.
    pub data: tempfile::TempDir,
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The environment of every browser-test hub: credentials, sync off.
/// `db_url` is the cloud database URL to hold (it carries [`DB_PASSWORD`]).
pub fn secret_env(db_url: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        ("SUPABASE_ANON_KEY", ANON_KEY),
        ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY),
        ("SUPABASE_JWT_SECRET", JWT_SECRET),
        ("SUPABASE_JWT_PRIVATE_KEY", PRIVATE_KEY),
        ("SYNC_INTERVAL_MS", "1000"),
        ("SYNC_RETRY_DELAY_MS", "500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect::<Vec<_>>();
    if let Some(u) = db_url {
        env.push(("SUPABASE_DB_URL".into(), u.to_string()));
    }
    env
}

impl Hub {
    /// A hub with no shop yet (first run), its setup code read from the console.
    pub fn start_empty(env: Vec<(String, String)>) -> Hub {
        let data = tempfile::tempdir().expect("a temp data dir");
        let mut hub = Hub {
            child: None,
            addr: "127.0.0.1:0".into(),
            url: String::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            env,
            setup_code: None,
            data,
        };
        hub.setup_code = hub.launch(true);
        hub
    }

    /// A hub whose shop was set up (through `POST /api/setup` with the code
    /// from the console); returns it with the owner's token.
    pub async fn start_with_shop(env: Vec<(String, String)>) -> (Hub, String) {
        let hub = Hub::start_empty(env);
        let token = hub.set_up().await;
        (hub, token)
    }

    /// Sets the shop up through the API with the console's code; returns the
    /// owner's token.
    pub async fn set_up(&self) -> String {
        let code = self
            .setup_code
            .clone()
            .expect("a setup code on the console");
        let (s, b) = self
            .call(
                Method::POST,
                "/api/setup",
                None,
                Some(
                    json!({"code": code, "shop_name": SHOP_NAME, "owner_name": OWNER_NAME,
                            "email": OWNER_EMAIL, "password": PASSWORD}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "setup: {b}");
        self.login(OWNER_EMAIL, PASSWORD).await
    }

    /// Starts the binary on `self.addr`; returns the setup code it printed, if any.
    fn launch(&mut self, first_run: bool) -> Option<String> {
        let mut cmd = Command::new(crate::binary::BIN);
        cmd.args(["serve", "--listen", &self.addr, "--data-dir"])
            .arg(self.data.path())
            .env("RUST_LOG", "warn")
            .env_remove("SYNC_ENABLED")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start collisionos serve");
        // The console: the setup code (when there is no shop), then warnings,
        // passed on to the test's output (so is the reason a start fails); read
        // to the end so the hub never blocks on a full pipe.
        let err = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel::<Option<String>>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if let Some(code) = line.split("one-time setup code ").nth(1) {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(Some(code.trim().to_string()));
                    }
                } else if !line.trim().is_empty() {
                    eprintln!("hub: {line}");
                }
            }
        });
        let mut first = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut first).expect("read the listening line");
        // Kept open (a closed stdout would fail the hub's next print).
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let Some(url) = first.trim().strip_prefix("collisionos listening on ") else {
            let status = child.wait().expect("the hub's exit");
            panic!("the hub did not start ({status}; its console is above): {first:?}");
        };
        let url = url.to_string();
        self.addr = url
            .strip_prefix("http://")
            .expect("a plain-HTTP hub")
            .to_string();
        self.url = url;
        self.child = Some(child);
        // The code comes right after the listening line, or never (a shop exists).
        let wait = if first_run { 5000 } else { 300 };
        rx.recv_timeout(Duration::from_millis(wait)).ok().flatten()
    }

    /// Kills the hub (the shop's PC switched off); its port and data stay.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the hub again on the same port and data dir.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the hub first");
        let code = self.launch(false);
        assert!(code.is_none(), "a hub with a shop prints no setup code");
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = res.status();
        let text = res.text().await.expect("a body");
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        crate::binary::login(&self.http, &self.url, email, password).await
    }

    /// Creates a record through the API; returns it.
    pub async fn create(&self, token: &str, table: &str, body: Value) -> Value {
        let (s, b) = self
            .call(
                Method::POST,
                &format!("/api/{table}"),
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "create {table} {body}: {b}");
        b
    }

    pub async fn patch(&self, token: &str, table: &str, id: &str, body: Value) -> Value {
        let (s, b) = self
            .call(
                Method::PATCH,
                &format!("/api/{table}/{id}"),
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "patch {table} {id} {body}: {b}");
        b
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        let (s, b) = self.call(Method::GET, path, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {b}");
        b
    }

    /// A user of `role`, created by the owner; returns (id, email).
    pub async fn user(&self, owner: &str, role: &str, name: &str) -> (String, String) {
        let email = format!("{}@browser.test", name.to_lowercase().replace(' ', "."));
        let u = self
            .create(
                owner,
                "users",
                json!({"email": email, "display_name": name, "role": role,
                       "password": PASSWORD, "hourly_rate_cents": 4650}),
            )
            .await;
        (u["id"].as_str().expect("id").to_string(), email)
    }

    /// A customer, their vehicle and `n` repair orders (bulk); returns the ROs.
    pub async fn seed_ros(&self, token: &str, n: usize, extra: Value) -> Vec<Value> {
        let c = self
            .create(
                token,
                "customers",
                json!({"first_name": "Rita", "last_name": "Ramos"}),
            )
            .await;
        let v = self
            .create(
                token,
                "vehicles",
                json!({"customer_id": c["id"], "year": 2021, "make": "Toyota",
                       "model": "Camry", "vin": "4T1BF1FK5CU123456"}),
            )
            .await;
        let mut out = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(250) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|_| {
                    let mut r = json!({"customer_id": c["id"], "vehicle_id": v["id"]});
                    if let (Some(r), Some(e)) = (r.as_object_mut(), extra.as_object()) {
                        r.extend(e.clone());
                    }
                    r
                })
                .collect();
            out.extend(self.bulk(token, "repair_orders", records).await);
        }
        out
    }

    /// Creates `records` of `table` in one `POST /api/{table}/bulk` (at most
    /// 1,000); the created records, in order.
    pub async fn bulk(&self, token: &str, table: &str, records: Vec<Value>) -> Vec<Value> {
        let (s, b) = self
            .call(
                Method::POST,
                &format!("/api/{table}/bulk"),
                Some(token),
                Some(json!({ "records": records })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "bulk {table}: {b}");
        b["data"].as_array().expect("the created records").clone()
    }

    /// The hub's SQLite database, read-only.
    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open_with_flags(
            self.data.path().join(collisionos::store::DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the hub's database");
        c.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        c
    }

    /// Every secret of this hub the browser must never receive: the sync
    /// credentials, the JWT signing secret in the data dir (raw and as text),
    /// the users' password hashes, and the password itself.
    pub fn secrets(&self) -> Vec<(String, Vec<u8>)> {
        use base64::Engine;
        let mut out: Vec<(String, Vec<u8>)> = [
            ("anon key", ANON_KEY),
            ("service role key", SERVICE_KEY),
            ("cloud JWT secret", JWT_SECRET),
            ("cloud private key", PRIVATE_KEY_BODY),
            ("cloud database password", DB_PASSWORD),
            ("a user's password", PASSWORD),
        ]
        .iter()
        .map(|(n, s)| (n.to_string(), s.as_bytes().to_vec()))
        .collect();
        let jwt = std::fs::read(self.data.path().join("jwt_secret")).expect("the hub's jwt_secret");
        assert!(jwt.len() >= 32, "a real signing secret");
        out.push(("hub JWT secret (raw)".into(), jwt.clone()));
        out.push((
            "hub JWT secret (hex)".into(),
            hex::encode(&jwt).into_bytes(),
        ));
        for (n, e) in [
            ("base64", &base64::engine::general_purpose::STANDARD),
            (
                "base64url",
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ),
        ] {
            // Without the padding and the last (partial) character.
            let s = e.encode(&jwt);
            out.push((format!("hub JWT secret ({n})"), s.as_bytes()[..40].to_vec()));
        }
        let db = self.db();
        let mut st = db
            .prepare("SELECT password_hash FROM user_credentials")
            .expect("the credentials");
        let hashes: Vec<String> = st
            .query_map([], |r| r.get(0))
            .expect("hashes")
            .map(|r| r.expect("a hash"))
            .collect();
        assert!(!hashes.is_empty(), "the owner has a password hash");
        for h in hashes {
            // The whole hash and its digest (the last `$` part).
            let digest = h.rsplit('$').next().unwrap_or(&h).to_string();
            out.push(("a password hash".into(), h.into_bytes()));
            out.push(("a password hash's digest".into(), digest.into_bytes()));
        }
        out
    }
}
