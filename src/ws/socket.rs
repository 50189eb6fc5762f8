//! One tablet's socket: the session ([`super::session`]) reads it and queues
//! what to send; the sink belongs to a writer task fed by that bounded queue.
//! How the session ended decides the socket's last frames: a close with its
//! reason, or `resync` then a close for a tablet that fell behind.

use super::protocol::{self, Refused};
use super::session::session;
use super::MAX_MESSAGE;
use crate::api::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value as Json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How a session ended, and what the socket is told.
pub(super) enum End {
    /// Closed with this code and reason.
    Close(u16, String),
    /// Fell behind: `resync`, then closed.
    Behind,
    /// The tablet went away (or stopped answering): nothing more to send.
    Gone,
}

/// The sending half of a socket, as the session sees it.
pub(super) struct Out {
    pub(super) queue: mpsc::Sender<Message>,
    kill: Option<oneshot::Sender<Vec<Message>>>,
    /// Frames the writer task has sent so far.
    pub(super) progress: Arc<AtomicU64>,
}

impl Out {
    /// Queues a message, waiting for room (replies and the replay: the tablet's
    /// own pace). `Err(End::Gone)`: the socket is gone.
    pub(super) async fn send(&self, m: &Json) -> Result<(), End> {
        self.queue
            .send(Message::Text(m.to_string().into()))
            .await
            .map_err(|_| End::Gone)
    }

    /// Queues a live message without waiting. `false`: the queue is full (the
    /// tablet cannot keep up) or the socket is gone.
    pub(super) fn offer(&self, m: Message) -> bool {
        self.queue.try_send(m).is_ok()
    }
}

pub(super) async fn run(socket: WebSocket, st: AppState) {
    let tablets = st.tablets.clone();
    let limits = tablets.limits();
    let (sink, mut stream) = socket.split();
    let (queue, rx) = mpsc::channel(limits.outgoing.max(1));
    let (kill, kill_rx) = oneshot::channel();
    let progress = Arc::new(AtomicU64::new(0));
    let writer = tokio::spawn(write_loop(
        sink,
        rx,
        kill_rx,
        limits.send_timeout,
        progress.clone(),
    ));
    let mut out = Out {
        queue,
        kill: Some(kill),
        progress,
    };
    let mut registered = None;
    let end = session(&mut stream, &out, &st, &tablets, limits, &mut registered).await;
    if let Some(id) = registered {
        tablets.unregister(id);
    }
    match end {
        End::Close(code, reason) => {
            let _ = out
                .queue
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        End::Behind => {
            let seq = *st.store.commits().borrow();
            let last = vec![
                Message::Text(protocol::resync("fell_behind", seq).to_string().into()),
                Message::Close(Some(CloseFrame {
                    code: 1011,
                    reason: "this tablet fell behind: reload and reconnect".into(),
                })),
            ];
            if let Some(k) = out.kill.take() {
                let _ = k.send(last);
            }
        }
        End::Gone => {
            if let Some(k) = out.kill.take() {
                let _ = k.send(Vec::new());
            }
        }
    }
    drop(out);
    let _ = writer.await;
}

/// Sends what the queue holds, each frame within `timeout`; on `kill`, sends
/// the given last frames at once (past the queue) and stops.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    mut kill: oneshot::Receiver<Vec<Message>>,
    timeout: Duration,
    progress: Arc<AtomicU64>,
) {
    // The kill switch is used once; a session that ends without it (its
    // sender dropped) lets the queue drain in order (a close frame last).
    let mut kill_open = true;
    loop {
        tokio::select! {
            biased;
            last = &mut kill, if kill_open => {
                let Ok(last) = last else {
                    kill_open = false;
                    continue;
                };
                for m in last {
                    if !matches!(tokio::time::timeout(timeout.min(Duration::from_secs(1)), sink.send(m)).await, Ok(Ok(()))) {
                        break;
                    }
                }
                break;
            }
            m = rx.recv() => match m {
                Some(m) => {
                    if !matches!(tokio::time::timeout(timeout, sink.send(m)).await, Ok(Ok(()))) {
                        break;
                    }
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                None => break,
            },
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}

/// The next text message, or how the session ends instead.
pub(super) fn frame(m: Option<Result<Message, axum::Error>>) -> Result<Option<String>, End> {
    match m {
        None | Some(Ok(Message::Close(_))) => Err(End::Gone),
        // Past the WebSocket layer's own limit the message is not even read:
        // too big all the same (tungstenite's "Space limit exceeded").
        Some(Err(e)) if e.to_string().contains("Space limit exceeded") => Err(too_big()),
        Some(Err(e)) => Err(End::Close(1002, short(&format!("unreadable frame: {e}")))),
        Some(Ok(Message::Text(t))) if t.len() > MAX_MESSAGE => Err(too_big()),
        Some(Ok(Message::Text(t))) => Ok(Some(t.to_string())),
        Some(Ok(Message::Binary(_))) => Ok(None),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(Some(String::new())),
    }
}

/// The close of a message over [`MAX_MESSAGE`] (1009, "message too big").
fn too_big() -> End {
    End::Close(
        1009,
        format!("a message is at most {} KiB", MAX_MESSAGE / 1024),
    )
}

/// A close reason fits in 123 bytes.
pub(super) fn short(s: &str) -> String {
    let mut end = s.len().min(120);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

pub(super) fn binary_refused() -> Json {
    protocol::error(&Refused {
        code: "binary_frame",
        message: "this hub speaks JSON text frames only".into(),
        op_id: None,
    })
}
