//! Headless Chromium driven through WebDriver: one `chromedriver` per test on a
//! free loopback port, sessions of a given window size, waits on a selector or
//! a condition with a deadline (polling the page is waiting on a condition, not
//! sleeping and hoping), screenshots, and the label check every page must pass.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a page may take to show what a test waits for.
pub const WAIT: Duration = Duration::from_secs(15);

/// `chromedriver`: `COLLISIONOS_CHROMEDRIVER`, else the one on PATH. The tests
/// fail (never skip) without it; `tests/run.sh` installs Debian's.
fn chromedriver_path() -> PathBuf {
    if let Some(p) = std::env::var_os("COLLISIONOS_CHROMEDRIVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromedriver is not installed (neither COLLISIONOS_CHROMEDRIVER nor PATH has it). \
                 The browser tests need Debian's chromium and chromium-driver: run tests/run.sh, \
                 or `apt-get install chromium chromium-driver`."
            )
        })
}

/// The Chromium binary for chromedriver: `COLLISIONOS_CHROMIUM`, else Debian's.
fn chromium_path() -> Option<String> {
    std::env::var("COLLISIONOS_CHROMIUM")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| {
            std::path::Path::new("/usr/bin/chromium")
                .exists()
                .then(|| "/usr/bin/chromium".to_string())
        })
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Option<Child>,
    addr: std::net::SocketAddr,
    pub url: String,
}

impl Drop for Driver {
    /// Asks chromedriver to shut down, which quits every browser it started
    /// (a test that failed never closed its sessions), then makes sure it ended.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
        {
            let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        // It exits once its browsers are gone; if it does not, it is killed.
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = child.wait();
                let _ = tx.send(());
            });
            if rx.recv_timeout(Duration::from_secs(10)).is_err() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

impl Driver {
    pub async fn start() -> Driver {
        let exe = chromedriver_path();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port for chromedriver")
            .port();
        let child = Command::new(&exe)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let driver = Driver {
            child: Some(child),
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await {
                if let Ok(v) = r.json::<Value>().await {
                    if v["value"]["ready"] == true {
                        return driver;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver ({}) did not become ready on port {port}",
                exe.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium session whose viewport is `w`×`h` CSS pixels,
    /// opening pages of `base` (the test's proxy in front of the hub).
    pub async fn session(&self, base: &str, w: u32, h: u32) -> Browser {
        let mut opts = json!({
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-extensions",
                "--force-device-scale-factor=1",
                format!("--window-size={w},{h}"),
            ]
        });
        if let Some(bin) = chromium_path() {
            opts["binary"] = json!(bin);
        }
        let caps = json!({ "browserName": "chrome", "goog:chromeOptions": opts });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver: {e}"));
        let session = client
            .session_id()
            .await
            .expect("the session id")
            .expect("a session id");
        let b = Browser {
            c: client,
            base: base.to_string(),
            w,
            h,
            cdp: format!("{}/session/{session}/goog/cdp/execute", self.url),
        };
        // The window has a frame even headless: size it so the viewport is w×h
        // (a resize lands asynchronously, so wait for it and size again if needed).
        let deadline = Instant::now() + WAIT;
        loop {
            let got = b
                .js("return [window.innerWidth, window.innerHeight, window.outerWidth, window.outerHeight]")
                .await;
            let n = |i: usize| got[i].as_i64().unwrap_or(0);
            if (n(0), n(1)) == (i64::from(w), i64::from(h)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the viewport stays {}x{}, not {w}x{h}",
                n(0),
                n(1)
            );
            let (ow, oh) = (
                i64::from(w) + (n(2) - n(0)).max(0),
                i64::from(h) + (n(3) - n(1)).max(0),
            );
            b.c.set_window_size(ow as u32, oh as u32)
                .await
                .expect("window size");
            b.wait_js(
                "the window to take its new size",
                "return window.outerWidth === arguments[0] && window.outerHeight === arguments[1]",
                vec![json!(ow), json!(oh)],
            )
            .await;
        }
        b
    }
}

/// One browser session (its own profile: storage, service worker, IndexedDB).
pub struct Browser {
    pub c: Client,
    /// Base URL the pages are opened from (the recording proxy).
    pub base: String,
    pub w: u32,
    pub h: u32,
    /// Chromedriver's endpoint for Chrome DevTools commands of this session.
    cdp: String,
}

impl Browser {
    pub async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        self.c
            .current_url()
            .await
            .expect("the current URL")
            .path()
            .to_string()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`).
    pub async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.c
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub async fn js(&self, script: &str) -> Value {
        self.js_with(script, vec![]).await
    }

    /// A Chrome DevTools command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let res = reqwest::Client::new()
            .post(&self.cdp)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"));
        let ok = res.status().is_success();
        let v: Value = res.json().await.expect("a JSON answer");
        assert!(ok, "{cmd}: {v}");
        v["value"].clone()
    }

    /// What the page shows, for a failure message.
    pub async fn describe(&self) -> String {
        let url = self
            .c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let text = self
            .c
            .execute(
                "return document.body ? document.body.innerText.slice(0, 1500) : '(no body)'",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        let attrs = self
            .c
            .execute(
                "return document.body ? JSON.stringify(document.body.dataset) : ''",
                vec![],
            )
            .await
            .unwrap_or(Value::Null);
        format!(
            "[{}x{}] at {url}, body data {attrs}, text:\n{}",
            self.w,
            self.h,
            text.as_str().unwrap_or("")
        )
    }

    /// Waits until `css` matches an element, and returns it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, WAIT).await
    }

    pub async fn wait_for_within(&self, css: &str, within: Duration) -> Element {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(e) = self.c.find(Locator::Css(css)).await {
                return e;
            }
            if Instant::now() > deadline {
                panic!(
                    "no element matches {css} after {within:?}; {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `script` (a function body) returns something truthy, and
    /// returns it. `what` names the condition in the failure message.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        self.wait_js_within(what, script, args, WAIT).await
    }

    /// Waits until the records list (`#records-list`) shows `id` alone.
    pub async fn wait_only_row(&self, what: &str, id: &str) {
        self.wait_js(
            what,
            "const ids = [...document.querySelectorAll('#records-list tr[data-id]')].map(r => r.dataset.id);
             return ids.length === 1 && ids[0] === arguments[0]",
            vec![json!(id)],
        )
        .await;
    }

    pub async fn wait_js_within(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        within: Duration,
    ) -> Value {
        let deadline = Instant::now() + within;
        let mut last = Value::Null;
        loop {
            // A navigation under way makes a script fail: try again.
            if let Ok(v) = self.c.execute(script, args.clone()).await {
                let truthy = !matches!(&v, Value::Null | Value::Bool(false))
                    && v != json!("")
                    && v != json!(0);
                if truthy {
                    return v;
                }
                last = v;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {within:?} for {what} (last {last}); {}",
                    self.describe().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for `page` to finish its first render (`body[data-ready="1"]`).
    pub async fn wait_page(&self, page: &str) {
        self.wait_for(&format!("body[data-ready=\"1\"][data-page=\"{page}\"]"))
            .await;
    }

    /// Waits for any page to finish its first render; returns its name.
    pub async fn wait_ready(&self) -> String {
        self.wait_js(
            "a page to be ready",
            "return document.body && document.body.dataset.ready === '1' && document.body.dataset.page",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The trimmed text of the first element matching `css` ("" when none).
    pub async fn text_of(&self, css: &str) -> String {
        self.js_with(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : ''",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits until the trimmed text of `css` equals `want`.
    pub async fn wait_text(&self, css: &str, want: &str) {
        self.wait_js(
            &format!("{css} to read {want:?}"),
            "const e = document.querySelector(arguments[0]); return !!e && e.textContent.trim() === arguments[1]",
            vec![json!(css), json!(want)],
        )
        .await;
    }

    /// Waits until `css` has some text; returns it.
    pub async fn wait_some_text(&self, css: &str) -> String {
        self.wait_js(
            &format!("{css} to show some text"),
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : ''",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Sets the field `name` of the form `form` (clears it, types `value`).
    pub async fn fill(&self, form: &str, name: &str, value: &str) {
        let e = self.wait_for(&format!("{form} [name=\"{name}\"]")).await;
        e.clear().await.ok();
        e.send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("typing into {form} [name={name}]: {err}"));
    }

    /// Chooses `value` in the `<select name=name>` of `form`.
    pub async fn choose(&self, form: &str, name: &str, value: &str) {
        let css = format!("{form} select[name=\"{name}\"]");
        // Options may arrive after the form (they are other records).
        self.wait_for(&format!("{css} option[value=\"{value}\"]"))
            .await;
        let e = self.wait_for(&css).await;
        e.select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("choosing {value} in {css}: {err}"));
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait_for(css).await;
        e.click()
            .await
            .unwrap_or_else(|err| panic!("clicking {css}: {err}"));
    }

    /// Signs in as `email` and opens the bay tablet (`/tablet`), ready.
    pub async fn open_tablet(&self, email: &str, password: &str) {
        self.login(email, password).await;
        self.goto("/tablet").await;
        self.wait_ready().await;
    }

    /// The string `script` returns; panics naming `what` when it is not one.
    pub async fn js_string(&self, script: &str, what: &str) -> String {
        let v = self.js(script).await;
        v.as_str()
            .unwrap_or_else(|| panic!("{what}: {v}"))
            .to_string()
    }

    /// Signs in through the login page and waits for the board.
    pub async fn login(&self, email: &str, password: &str) {
        self.goto("/login").await;
        self.wait_for("#login-form").await;
        self.fill("#login-form", "email", email).await;
        self.fill("#login-form", "password", password).await;
        self.click("#login-form [type=submit]").await;
        self.wait_page("board").await;
    }

    /// Writes the viewport to `target/screenshots/<name>-<w>x<h>.png` and checks
    /// the image is the whole viewport.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.c.screenshot().await.expect("a screenshot");
        assert_eq!(&png[1..4], b"PNG", "a PNG");
        let (w, h) = (
            u32::from_be_bytes(png[16..20].try_into().expect("width")),
            u32::from_be_bytes(png[20..24].try_into().expect("height")),
        );
        assert_eq!((w, h), (self.w, self.h), "{name}: the viewport's size");
        let dir = screenshots_dir();
        std::fs::create_dir_all(&dir).expect("the screenshots folder");
        let path = dir.join(format!("{name}-{}x{}.png", self.w, self.h));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// The whole page, below the fold too, to
    /// `target/screenshots/<name>-<w>x<h>-full.png`.
    pub async fn full_screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let height = self
            .js("return Math.max(document.documentElement.scrollHeight, window.innerHeight)")
            .await
            .as_f64()
            .expect("a height");
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": self.w, "height": height, "scale": 1}}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64");
        let path = screenshots_dir().join(format!("{name}-{}x{}-full.png", self.w, self.h));
        std::fs::create_dir_all(screenshots_dir()).expect("the screenshots folder");
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Form controls without a label, and buttons without a name, on this page.
    pub async fn unlabelled(&self) -> Vec<String> {
        let v = self
            .js(r#"
const bad = [];
const named = (e) => (e.getAttribute('aria-label') || '').trim() !== '' ||
  (e.getAttribute('aria-labelledby') || '').trim() !== '';
const describe = (e) => e.outerHTML.slice(0, 160);
for (const e of document.querySelectorAll('input, select, textarea')) {
  if (e.type === 'hidden') continue;
  if (!(e.labels && e.labels.length > 0) && !named(e)) bad.push('no label: ' + describe(e));
}
for (const b of document.querySelectorAll('button')) {
  if (b.textContent.trim() === '' && !named(b) && (b.title || '').trim() === '')
    bad.push('button without text: ' + describe(b));
}
return bad;"#)
            .await;
        serde_json::from_value(v).expect("a list")
    }

    pub async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// Where the screenshots go: `target/screenshots/` of the repository.
pub fn screenshots_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}
