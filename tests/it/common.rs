//! The harness every integration test uses (zero2prod's `tests/api/helpers.rs`
//! shape): [`TestHub::spawn`] starts a real hub on port 0 over a fresh temp data
//! dir and returns a typed client, read-only access to its SQLite file, a way to
//! add a second shop, and the table-driven fixtures ([`valid_body`],
//! [`patch_for`], [`TestHub::fixtures`]) the crud, matrix and bad-input tests share.
//!
//! Tracing output only when `TEST_LOG` is set (`TEST_LOG=1 cargo test --test it`).

use collisionos::api::AppState;
use collisionos::app::{init_shop, App, NewShop};
use collisionos::config::Config;
use collisionos::domain::policy::Principal;
use collisionos::domain::value::{parse_object, Mode};
use collisionos::domain::{TableId, TABLES};
use collisionos::store::{WriteOp, WriteRequest, DB_FILE};
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

pub const OWNER_EMAIL: &str = "owner@shop-a.test";
pub const OWNER_NAME: &str = "Olive Owner";
/// Every account the tests make has this password.
pub const PASSWORD: &str = "correct horse battery";

/// The tables whose business number the hub generates, stated here independently
/// of the catalog: (table, column, prefix).
pub const NUMBERED: &[(&str, &str, &str)] = &[
    ("customers", "customer_number", "CUST-"),
    ("vendors", "vendor_number", "VEN-"),
    ("estimates", "estimate_number", "EST-"),
    ("repair_orders", "ro_number", "RO-"),
    ("purchase_orders", "po_number", "PO-"),
    ("invoices", "invoice_number", "INV-"),
];

pub use collisionos::domain::catalog::ROLES;

static TRACING: Once = Once::new();

fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "debug".into()),
                )
                .with_test_writer()
                .try_init();
        }
    });
}

/// A number no other call in this test process gets: keeps e-mails, codes and
/// unit numbers unique within a shop.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

pub fn table_id(name: &str) -> TableId {
    TableId::by_name(name).unwrap_or_else(|| panic!("the catalog has no table {name}"))
}

/// Every table name, in the catalog's dependency order (parents first).
pub fn table_names() -> Vec<&'static str> {
    TABLES.iter().map(|t| t.name).collect()
}

pub fn api(table: &str) -> String {
    format!("/api/{table}")
}

pub fn api_id(table: &str, id: &str) -> String {
    format!("/api/{table}/{id}")
}

/// A signed-in user of some role.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
    pub email: String,
    pub display_name: String,
}

/// A second shop in the same hub, with its owner signed in.
#[derive(Debug, Clone)]
pub struct OtherShop {
    pub shop_id: String,
    pub owner: TestUser,
}

/// A hub serving on 127.0.0.1:<free port>, with one shop and its owner signed in.
pub struct TestHub {
    pub base_url: String,
    pub client: reqwest::Client,
    /// The running app's state: `hub.state.store` reaches the store directly.
    pub state: AppState,
    pub shop_id: String,
    pub owner: TestUser,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    // Last, so the server is told to stop before the directory goes.
    dir: tempfile::TempDir,
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestHub {
    /// A hub whose writes queue themselves for the cloud from the first one
    /// (as after sync was first switched on), so the queue is there to check;
    /// [`TestHub::spawn_local_only`] for one that never had sync on.
    pub async fn spawn() -> TestHub {
        TestHub::spawn_with(true).await
    }

    /// A hub that has never had cloud sync on: its writes leave the queue alone.
    pub async fn spawn_local_only() -> TestHub {
        TestHub::spawn_with(false).await
    }

    async fn spawn_with(queueing: bool) -> TestHub {
        init_tracing();
        let dir = tempfile::tempdir().expect("a temp data dir");
        let listen = "127.0.0.1:0".parse().expect("a socket address");
        let config = Config::new(listen, dir.path().to_path_buf());
        let app = App::build(&config).await.expect("the app builds");
        if queueing {
            app.state
                .sync
                .queue()
                .start_queueing()
                .await
                .expect("queueing on");
        }
        let (shop_id, owner_id) = init_shop(
            app.store(),
            NewShop {
                shop_name: "Shop A Collision",
                owner_email: OWNER_EMAIL,
                owner_name: OWNER_NAME,
                password: PASSWORD.to_string(),
            },
        )
        .await
        .expect("init_shop creates the shop and its owner");
        let state = app.state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("the bound address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = app.serve(listener, shutdown).await {
                eprintln!("the test hub stopped with an error: {e:#}");
            }
        });
        let mut hub = TestHub {
            base_url: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a reqwest client"),
            state,
            shop_id,
            owner: TestUser {
                id: owner_id,
                token: String::new(),
                email: OWNER_EMAIL.to_string(),
                display_name: OWNER_NAME.to_string(),
            },
            shutdown: Some(tx),
            dir,
        };
        hub.owner.token = hub.login(OWNER_EMAIL, PASSWORD).await;
        hub
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The owner's bearer token.
    pub fn owner_token(&self) -> &str {
        &self.owner.token
    }

    // ------------------------------------------------------------ HTTP client

    /// Sends `body` (raw bytes) with exactly these extra headers; no token is
    /// added. The answer's body is parsed as JSON, or kept as a JSON string if it
    /// is not JSON (so a test asserting on its shape fails with the text shown).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .body(body);
        for (k, v) in headers {
            req = req.header(
                HeaderName::from_bytes(k.as_bytes()).expect("a header name"),
                HeaderValue::from_str(v).expect("a header value"),
            );
        }
        let resp = req.send().await.expect("the hub answers");
        read(resp).await
    }

    /// Sends JSON (if any) with the bearer token (if any).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        if let Some(t) = token {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("the hub answers");
        read(resp).await
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn try_login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(&json!({ "email": email, "password": password })),
        )
        .await
    }

    /// Logs in and returns the bearer token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let (status, body) = self.try_login(email, password).await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login of {email} gave no token: {body}"))
            .to_string()
    }

    /// Creates a record as `token` and returns it; panics unless it is 201.
    pub async fn create(&self, table: &str, token: &str, body: &Value) -> Value {
        let (status, rec) = self.post(&api(table), token, body).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create {table} with {body}: {rec}"
        );
        rec
    }

    /// Reads a record as the owner (the reference view of "what is stored").
    pub async fn read_as_owner(&self, table: &str, id: &str) -> (StatusCode, Value) {
        self.get(&api_id(table, id), &self.owner.token).await
    }

    /// Creates a user of `role` through the API as the owner, and logs them in.
    pub async fn user(&self, role: &str) -> TestUser {
        self.user_of(&self.owner, role).await
    }

    /// Creates a user of `role` through the API as `by` (an owner or admin of
    /// some shop), and logs them in.
    pub async fn user_of(&self, by: &TestUser, role: &str) -> TestUser {
        let n = unique();
        let email = format!("{role}-{n}@staff.test");
        let display_name = format!("{} {n}", role.replace('_', " "));
        let rec = self
            .create(
                "users",
                &by.token,
                &json!({
                    "email": email,
                    "display_name": display_name,
                    "role": role,
                    "password": PASSWORD,
                }),
            )
            .await;
        let id = rec["id"].as_str().expect("a user id").to_string();
        let token = self.login(&email, PASSWORD).await;
        TestUser {
            id,
            token,
            email,
            display_name,
        }
    }

    /// Adds a second shop with its own owner, written through the store as the hub
    /// itself (the API's `init` refuses a second shop), and signs that owner in.
    pub async fn second_shop(&self, name: &str) -> OtherShop {
        let store = &self.state.store;
        let shops = table_id("shops");
        let users = table_id("users");
        let shop_uuid = uuid::Uuid::now_v7();
        let shop_id = shop_uuid.hyphenated().to_string();
        let who = Principal::system(collisionos::domain::ShopId::new(shop_id.clone()));
        let (_, fields) = parse_object(shops.def(), &json!({ "name": name }), Mode::Create)
            .expect("a valid shop");
        store
            .write(WriteRequest {
                who: who.clone(),
                table: shops,
                op: WriteOp::Create {
                    id: Some(shop_uuid),
                    fields,
                },
                skip_sync: false,
                password_hash: None,
            })
            .await
            .expect("the second shop is written");
        let n = unique();
        let email = format!("owner-{n}@other-shop.test");
        let display_name = format!("{name} Owner");
        let (_, fields) = parse_object(
            users.def(),
            &json!({ "email": email, "display_name": display_name, "role": "owner" }),
            Mode::Create,
        )
        .expect("a valid owner");
        let hash = collisionos::auth::hash_password(PASSWORD.to_string())
            .await
            .expect("hash the password");
        let out = store
            .write(WriteRequest {
                who,
                table: users,
                op: WriteOp::Create { id: None, fields },
                skip_sync: false,
                password_hash: Some(hash),
            })
            .await
            .expect("the second shop's owner is written");
        let id = out.records.first().expect("the owner record").id.clone();
        let token = self.login(&email, PASSWORD).await;
        OtherShop {
            shop_id,
            owner: TestUser {
                id,
                token,
                email,
                display_name,
            },
        }
    }

    /// One valid record of every table, created through the API as `by` (an owner)
    /// in dependency order; `shops` is `by`'s own shop.
    pub async fn fixtures(&self, by: &TestUser, shop_id: &str) -> Refs {
        let mut refs = Refs::default();
        refs.set("shops", shop_id);
        for table in table_names() {
            if table == "shops" {
                continue;
            }
            let rec = self
                .create(table, &by.token, &valid_body(table, &refs))
                .await;
            refs.set(table, rec["id"].as_str().expect("an id"));
        }
        refs
    }

    // ------------------------------------------------------------ the SQLite file

    /// A read-only connection to the hub's database, to check what is stored.
    pub fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open_with_flags(
            self.data_dir().join(DB_FILE),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the hub's database read-only");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("set a busy timeout");
        conn
    }

    /// A fingerprint of everything stored: each table's row count, the change
    /// log's last sequence, the queue's size and coalescing state, the documents'
    /// total size, the counters. Equal snapshots mean nothing was written.
    pub fn snapshot(&self) -> Snapshot {
        let db = self.db();
        let one = |sql: &str| -> String {
            db.query_row(sql, [], |r| r.get(0))
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        };
        let mut s = Snapshot::new();
        for t in table_names() {
            s.insert(
                t.to_string(),
                one(&format!(
                    "SELECT COUNT(*) || ' rows, last updated ' || COALESCE(MAX(updated_at), '-') FROM {t}"
                )),
            );
        }
        for (k, sql) in [
            (
                "change_log",
                "SELECT COUNT(*) || ' rows, max seq ' || COALESCE(MAX(seq), 0) FROM change_log",
            ),
            (
                "sync_queue",
                "SELECT COUNT(*) || ' rows, seqs ' || COALESCE(SUM(change_seq), 0) \
                 || ', ops ' || COALESCE(group_concat(operation || status), '') FROM sync_queue",
            ),
            (
                "crdt_docs",
                "SELECT COUNT(*) || ' docs, ' || COALESCE(SUM(length(doc)), 0) || ' bytes, ' \
                 || COALESCE(SUM(deleted), 0) || ' deleted' FROM crdt_docs",
            ),
            ("conflicts", "SELECT COUNT(*) || ' rows' FROM conflicts"),
            (
                "counters",
                "SELECT COALESCE(group_concat(name || '=' || last), '') FROM counters",
            ),
            (
                "user_credentials",
                "SELECT COUNT(*) || ' rows, last changed ' || COALESCE(MAX(changed_at), '-') \
                 FROM user_credentials",
            ),
        ] {
            s.insert(k.to_string(), one(sql));
        }
        s
    }

    /// How many rows of `table` belong to `shop_id`.
    pub fn count(&self, table: &str, shop_id: &str) -> i64 {
        self.db()
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE shop_id = ?1"),
                [shop_id],
                |r| r.get(0),
            )
            .expect("count rows")
    }
}

pub type Snapshot = BTreeMap<String, String>;

/// The keys whose values differ between two snapshots (for a readable failure).
pub fn snapshot_diff(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: {v} -> {}", after.get(k).map_or("?", |s| s.as_str())))
        .collect()
}

async fn read(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let bytes = resp.bytes().await.expect("read the answer's body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// Asserts the answer is an error of this status and code, shaped
/// `{"error":{"code","message"}}` (plus `field` for field errors), and returns
/// the `field` it names, if any.
#[track_caller]
pub fn assert_error(
    got: &(StatusCode, Value),
    status: StatusCode,
    code: &str,
    what: &str,
) -> Option<String> {
    let (s, body) = got;
    assert_eq!(*s, status, "{what}: status (body {body})");
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: the error body is not an object: {body}"));
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        vec!["error"],
        "{what}: {body}"
    );
    let err = &body["error"];
    assert_eq!(err["code"], json!(code), "{what}: {body}");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what}: the error has no message: {body}"
    );
    err.get("field").map(|f| {
        f.as_str()
            .unwrap_or_else(|| panic!("{what}: field is not a string: {body}"))
            .to_string()
    })
}

/// The id of one record of each table, to point references at.
#[derive(Debug, Clone, Default)]
pub struct Refs(BTreeMap<&'static str, String>);

impl Refs {
    pub fn set(&mut self, table: &str, id: &str) {
        let name = table_id(table).name();
        self.0.insert(name, id.to_string());
    }

    pub fn id(&self, table: &str) -> &str {
        self.0
            .get(table)
            .unwrap_or_else(|| panic!("no {table} fixture yet (fixtures come in dependency order)"))
    }

    pub fn ids(&self) -> impl Iterator<Item = (&'static str, &String)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }
}

/// A valid create body for `table`, referencing the records in `refs`. Values that
/// must be unique per shop (e-mails, codes, unit numbers, line numbers) are unique.
/// `shops` gives a body the API will refuse (nobody inserts shops) but that is
/// otherwise well-formed.
pub fn valid_body(table: &str, refs: &Refs) -> Value {
    let n = unique();
    let r = |t: &str| refs.id(t).to_string();
    match table {
        "shops" => json!({ "name": format!("Shop {n}"), "phone": "555-0100" }),
        "users" => json!({
            "email": format!("user-{n}@staff.test"),
            "display_name": format!("User {n}"),
            "role": "technician",
            "password": PASSWORD,
        }),
        "customers" => json!({
            "first_name": "Ada",
            "last_name": format!("Lovelace {n}"),
            "email": format!("ada-{n}@example.com"),
            "phone": "555-0101",
            "customer_type": "individual",
        }),
        "vehicles" => json!({
            "customer_id": r("customers"),
            "vin": "1HGCM82633A004352",
            "year": 2019,
            "make": "Honda",
            "model": "Accord",
            "color": "Silver",
        }),
        "insurance_companies" => json!({
            "name": format!("Insurer {n}"),
            "code": format!("INS{n}"),
            "is_drp": true,
            "claims_email": "claims@insurer.test",
        }),
        "vendors" => json!({ "name": format!("Vendor {n}"), "vendor_type": "oem" }),
        "claims" => json!({
            "claim_number": format!("CLM-{n}"),
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "insurance_company_id": r("insurance_companies"),
            "date_of_loss": "2026-01-15",
            "deductible_cents": 50000,
        }),
        "estimates" => json!({
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "claim_id": r("claims"),
            "total_cents": 125000,
        }),
        "estimate_lines" => json!({
            "estimate_id": r("estimates"),
            "line_number": n,
            "line_type": "part",
            "description": "Front bumper cover",
            "part_type": "oem",
            "quantity": "1",
            "unit_price_cents": 42000,
            "labor_hours": "2.5",
        }),
        "repair_orders" => json!({
            "customer_id": r("customers"),
            "vehicle_id": r("vehicles"),
            "estimate_id": r("estimates"),
            "priority": "normal",
            "promised_at": "2026-02-01T17:00:00Z",
        }),
        "production_stages" => json!({
            "name": format!("Stage {n}"),
            "code": format!("stage_{n}"),
            "position": n,
        }),
        "ro_stage_history" => json!({
            "repair_order_id": r("repair_orders"),
            "from_stage": "intake",
            "to_stage": "blueprint",
            "moved_at": "2026-01-16T09:30:00Z",
        }),
        "purchase_orders" => json!({
            "vendor_id": r("vendors"),
            "repair_order_id": r("repair_orders"),
            "subtotal_cents": 42000,
        }),
        "parts" => json!({
            "repair_order_id": r("repair_orders"),
            "estimate_line_id": r("estimate_lines"),
            "vendor_id": r("vendors"),
            "purchase_order_id": r("purchase_orders"),
            "part_number": format!("PN-{n}"),
            "description": "Bumper cover",
            "cost_cents": 30000,
            "price_cents": 42000,
        }),
        "labor_entries" => json!({
            "technician_id": r("users"),
            "repair_order_id": r("repair_orders"),
            "labor_type": "body",
            "minutes": 30,
        }),
        "time_clock" => json!({
            "technician_id": r("users"),
            "clock_in": "2026-01-16T08:00:00Z",
        }),
        "invoices" => json!({
            "repair_order_id": r("repair_orders"),
            "customer_id": r("customers"),
            "total_cents": 150000,
            "balance_cents": 150000,
        }),
        "payments" => json!({
            "invoice_id": r("invoices"),
            "payment_method": "credit_card",
            "amount_cents": 50000,
        }),
        "attachments" => json!({
            "repair_order_id": r("repair_orders"),
            "category": "before_damage",
            "file_name": format!("photo-{n}.jpg"),
            "mime_type": "image/jpeg",
            "size_bytes": 123456,
        }),
        "signatures" => json!({
            "document_type": "estimate",
            "document_id": r("estimates"),
            "signer_name": "Ada Lovelace",
            "signed_at": "2026-01-16T10:00:00Z",
        }),
        "loaner_vehicles" => json!({
            "unit_number": format!("L-{n}"),
            "vin": "JTDKB20U093123456",
            "make": "Toyota",
            "model": "Corolla",
        }),
        "loaner_reservations" => json!({
            "loaner_vehicle_id": r("loaner_vehicles"),
            "customer_id": r("customers"),
            "repair_order_id": r("repair_orders"),
        }),
        "bms_imports" => json!({
            "file_name": format!("estimate-{n}.xml"),
            "provider": "CCC ONE",
            "estimate_id": r("estimates"),
        }),
        other => panic!("valid_body has no body for table {other}: add one"),
    }
}

/// One field each table's update tests change, and a value no fixture has (so a
/// filter on it finds exactly the patched records).
pub fn patch_for(table: &str) -> (&'static str, Value) {
    match table {
        "shops" => ("phone", json!("555-0199")),
        "users" => ("display_name", json!("Renamed Person")),
        "customers" => ("notes", json!("prefers text messages")),
        "vehicles" => ("color", json!("Candy Apple Red")),
        "insurance_companies" => ("claims_phone", json!("555-0142")),
        "vendors" => ("payment_terms", json!("Net 30")),
        "claims" => ("claim_status", json!("under_review")),
        "estimates" => ("estimate_status", json!("sent")),
        "estimate_lines" => ("operation", json!("replace")),
        "repair_orders" => ("stage", json!("paint_booth")),
        "production_stages" => ("category", json!("refinish")),
        "ro_stage_history" => ("reason", json!("waiting on parts")),
        "purchase_orders" => ("po_status", json!("sent")),
        "parts" => ("part_status", json!("installed")),
        "labor_entries" => ("minutes", json!(45)),
        "time_clock" => ("break_minutes", json!(15)),
        "invoices" => ("invoice_status", json!("sent")),
        "payments" => ("reference", json!("auth-7731")),
        "attachments" => ("category", json!("after_repair")),
        "signatures" => ("signer_role", json!("customer")),
        "loaner_vehicles" => ("plate", json!("LOAN 42")),
        "loaner_reservations" => ("reservation_status", json!("confirmed")),
        "bms_imports" => ("import_status", json!("imported")),
        other => panic!("patch_for has no field for table {other}: add one"),
    }
}

/// The value to put in a query string to filter by a patch value.
pub fn query_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
