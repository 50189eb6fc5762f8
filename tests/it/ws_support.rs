//! A bay tablet for the WebSocket tests: a real tokio-tungstenite client that
//! says hello, keeps every message it receives, and keeps its own view of the
//! records from the `change` messages (what the tablet's board would show).
//! Waits are on messages; the timeout is only a guard against a hang.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest any single expected message may take before the test fails.
pub const GUARD: Duration = Duration::from_secs(20);

pub fn ws_url(base_url: &str) -> String {
    format!("{}/api/ws", base_url.replacen("http://", "ws://", 1))
}

pub async fn open(base_url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(base_url))
        .await
        .expect("the WebSocket opens");
    ws
}

/// Opens a socket and says hello, reading nothing: for a hello the test
/// expects refused, or a socket it leaves unread on purpose.
pub async fn hello_unread(base_url: &str, token: &str, device_id: &str) -> Ws {
    let mut ws = open(base_url).await;
    ws.send(Message::text(
        json!({ "type": "hello", "v": 1, "token": token, "device_id": device_id, "since": 0 })
            .to_string(),
    ))
    .await
    .expect("send hello");
    ws
}

/// The close code of a close frame (`Status` when the socket dropped without one).
pub fn code_of(
    f: &Option<CloseFrame>,
) -> tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode {
    f.as_ref()
        .map(|f| f.code)
        .unwrap_or(tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode::Status)
}

/// What came in: a JSON message, or how the socket ended.
#[derive(Debug)]
pub enum Got {
    Json(Value),
    Closed(Option<CloseFrame>),
}

/// The next JSON message or the end of the socket (pings and pongs skipped).
pub async fn recv(ws: &mut Ws) -> Got {
    let deadline = tokio::time::Instant::now() + GUARD * 2;
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("a message within the guard time");
        match m {
            None => return Got::Closed(None),
            Some(Err(_)) => return Got::Closed(None),
            Some(Ok(Message::Text(t))) => {
                return Got::Json(serde_json::from_str(&t).expect("the hub sends JSON"))
            }
            Some(Ok(Message::Close(f))) => return Got::Closed(f),
            Some(Ok(Message::Binary(b))) => panic!("the hub sent a binary frame: {b:?}"),
            Some(Ok(_)) => continue,
        }
    }
}

/// Reads until the socket closes; answers the close frame (and the messages
/// before it).
pub async fn until_closed(ws: &mut Ws) -> (Option<CloseFrame>, Vec<Value>) {
    let mut seen = Vec::new();
    loop {
        match recv(ws).await {
            Got::Json(v) => seen.push(v),
            Got::Closed(f) => return (f, seen),
        }
    }
}

pub struct Tablet {
    pub ws: Ws,
    pub device_id: String,
    pub actor: String,
    /// Every message received since hello, in order.
    pub seen: Vec<Value>,
    /// The records as this tablet's board shows them, by (table, id).
    pub view: HashMap<(String, String), Value>,
    /// The open conflicts of each record, from `conflict` messages.
    pub conflicts: HashMap<(String, String), Value>,
    /// The highest change sequence received.
    pub seq: i64,
}

impl Tablet {
    /// Opens a socket, says hello, and reads up to `caught_up` (the replay).
    pub async fn connect(base_url: &str, token: &str, device_id: &str, since: i64) -> Tablet {
        let mut ws = open(base_url).await;
        ws.send(Message::text(
            json!({ "type": "hello", "v": 1, "token": token, "device_id": device_id, "since": since })
                .to_string(),
        ))
        .await
        .expect("send hello");
        let welcome = match recv(&mut ws).await {
            Got::Json(v) => v,
            Got::Closed(f) => panic!("closed instead of welcome: {f:?}"),
        };
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        let mut t = Tablet {
            ws,
            device_id: device_id.to_string(),
            actor: welcome["actor"].as_str().expect("an actor").to_string(),
            seen: Vec::new(),
            view: HashMap::new(),
            conflicts: HashMap::new(),
            seq: since,
        };
        t.until(|m| m["type"] == "caught_up").await;
        t
    }

    /// The next message (kept in `seen`, applied to `view`).
    pub async fn next(&mut self) -> Value {
        let m = match recv(&mut self.ws).await {
            Got::Json(v) => v,
            Got::Closed(f) => {
                let last: Vec<String> = self.seen[self.seen.len().saturating_sub(3)..]
                    .iter()
                    .map(|m| m.to_string().chars().take(200).collect())
                    .collect();
                panic!(
                    "{}: the socket closed: {f:?}; last seen {last:?}",
                    self.device_id
                )
            }
        };
        let key = |m: &Value| {
            (
                m["table"].as_str().unwrap_or_default().to_string(),
                m["id"].as_str().unwrap_or_default().to_string(),
            )
        };
        match m["type"].as_str() {
            Some("change") => {
                self.seq = self.seq.max(m["seq"].as_i64().expect("a seq"));
                self.view.insert(key(&m), m["fields"].clone());
            }
            Some("caught_up") => {
                self.seq = self.seq.max(m["seq"].as_i64().expect("a seq"));
            }
            Some("conflict") => {
                self.conflicts.insert(key(&m), m["conflicts"].clone());
            }
            _ => {}
        }
        self.seen.push(m.clone());
        m
    }

    /// Reads until a message matches; answers it. Fails if none does within
    /// the guard time.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + GUARD;
        loop {
            let m = tokio::time::timeout_at(deadline, self.next())
                .await
                .unwrap_or_else(|_| {
                    let last: Vec<String> = self.seen[self.seen.len().saturating_sub(6)..]
                        .iter()
                        .map(|m| m.to_string().chars().take(300).collect())
                        .collect();
                    panic!(
                        "{}: no matching message within the guard time; last seen {last:?}",
                        self.device_id,
                    )
                });
            if pred(&m) {
                return m;
            }
        }
    }

    /// Reads until a change with a sequence of at least `seq` has come.
    pub async fn until_seq(&mut self, seq: i64) {
        if self.seq < seq {
            self.until(|m| m["type"] == "change" && m["seq"].as_i64() >= Some(seq))
                .await;
        }
    }

    pub async fn send(&mut self, v: &Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("send a message");
    }

    /// Sends a write and answers its `ack` or `error`.
    pub async fn write(&mut self, w: Value) -> Value {
        let op_id = w["op_id"].clone();
        let mut msg = w;
        msg["type"] = json!("write");
        self.send(&msg).await;
        self.until(|m| (m["type"] == "ack" || m["type"] == "error") && m["op_id"] == op_id)
            .await
    }

    /// Sends a write that must be acknowledged; answers the ack.
    pub async fn write_ok(&mut self, w: Value) -> Value {
        let ack = self.write(w).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        ack
    }

    /// The `change` messages received, in order.
    pub fn changes(&self) -> Vec<&Value> {
        self.seen.iter().filter(|m| m["type"] == "change").collect()
    }
}

/// The heads of a record as the HTTP API answers it.
pub fn heads_of(rec: &Value) -> Value {
    rec["_heads"].clone()
}
