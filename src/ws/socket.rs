//! One tablet's socket: hello (authenticate, register the device), replay after
//! `since`, then live changes, writes and heartbeats until either side ends it.
//! The sink belongs to a writer task fed by a bounded queue; a tablet whose
//! queue is full, or whose broadcast receiver lagged, is sent `resync` and
//! dropped.

use super::protocol::{self, Incoming, Refused};
use super::{Limits, Tablets, MAX_MESSAGE};
use crate::api::extract::Caller;
use crate::api::records::{check_shop, check_shop_unchanged};
use crate::api::{ApiError, AppState};
use crate::domain::policy::Verb;
use crate::domain::value::{parse_object, parse_uuid, FieldError, Mode};
use crate::domain::TableId;
use crate::store::{DeviceWrite, WriteOp, WriteRequest};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::FromRequestParts;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// How a session ended, and what the socket is told.
enum End {
    /// Closed with this code and reason.
    Close(u16, String),
    /// Fell behind: `resync`, then closed.
    Behind,
    /// The tablet went away (or stopped answering): nothing more to send.
    Gone,
}

/// The sending half of a socket, as the session sees it.
struct Out {
    queue: mpsc::Sender<Message>,
    kill: Option<oneshot::Sender<Vec<Message>>>,
    /// Frames the writer task has sent so far.
    progress: Arc<AtomicU64>,
}

impl Out {
    /// Queues a message, waiting for room (replies and the replay: the tablet's
    /// own pace). `false`: the socket is gone.
    async fn send(&self, m: &Json) -> bool {
        self.queue
            .send(Message::Text(m.to_string().into()))
            .await
            .is_ok()
    }

    /// Queues a live message without waiting. `false`: the queue is full (the
    /// tablet cannot keep up) or the socket is gone.
    fn offer(&self, m: Message) -> bool {
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
    let end = session(
        &mut stream,
        &mut out,
        &st,
        &tablets,
        limits,
        &mut registered,
    )
    .await;
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
fn frame(m: Option<Result<Message, axum::Error>>) -> Result<Option<String>, End> {
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
fn short(s: &str) -> String {
    let mut end = s.len().min(120);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn binary_refused() -> Json {
    protocol::error(&Refused {
        code: "binary_frame",
        message: "this hub speaks JSON text frames only".into(),
        op_id: None,
    })
}

async fn authenticate(st: &AppState, token: &str) -> Result<Caller, ApiError> {
    // The same extractor as every HTTP request, so a WebSocket is let in by
    // exactly the checks a request is.
    let req = axum::http::Request::builder()
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {}", token.trim()),
        )
        .body(())
        .map_err(|_| ApiError::Unauthorized("the token is not a valid header value".into()))?;
    let (mut parts, ()) = req.into_parts();
    Caller::from_request_parts(&mut parts, st).await
}

/// The caller as of now: the hello's token checked again, with the account as
/// it stands. A socket lives for hours; an account deactivated, deleted or
/// reset since hello ends it, and a role changed since hello is the role its
/// next frame is filtered and its next write checked by (as an HTTP request's
/// next request would be).
async fn current(st: &AppState, token: &str) -> Result<Caller, End> {
    authenticate(st, token)
        .await
        .map_err(|e| End::Close(1008, short(&format!("signed out: {e}"))))
}

/// The longest a live socket goes on sending changes without checking its
/// token again (its writes and changes to accounts are checked at once).
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// Why the hub closed this device's sockets: the reason its revoke sent.
fn close_reason(revoked: &tokio::sync::watch::Receiver<Option<String>>) -> String {
    revoked
        .borrow()
        .clone()
        .unwrap_or_else(|| "closed by the hub".into())
}

/// `Some(reason)` once the device has been revoked (or the hub closed it).
fn revocation(revoked: &tokio::sync::watch::Receiver<Option<String>>) -> Option<String> {
    match revoked.has_changed() {
        Ok(false) => None,
        _ => Some(close_reason(revoked)),
    }
}

async fn session(
    stream: &mut SplitStream<WebSocket>,
    out: &mut Out,
    st: &AppState,
    tablets: &Tablets,
    limits: Limits,
    registered: &mut Option<u64>,
) -> End {
    // ---- hello
    let first = match tokio::time::timeout(limits.hello_timeout, stream.next()).await {
        Err(_) => return End::Close(1008, "say hello first (no hello in time)".into()),
        Ok(m) => m,
    };
    let text = match frame(first) {
        Err(end) => return end,
        Ok(None) => {
            out.send(&binary_refused()).await;
            return End::Close(1008, "say hello first".into());
        }
        Ok(Some(t)) => t,
    };
    let hello = match protocol::parse(&text) {
        Ok(Incoming::Hello(h)) => h,
        Ok(_) => {
            let r = Refused {
                code: "hello_first",
                message: "the first message must be a hello".into(),
                op_id: None,
            };
            out.send(&protocol::error(&r)).await;
            return End::Close(1008, "say hello first".into());
        }
        Err(r) => {
            out.send(&protocol::error(&r)).await;
            return End::Close(1008, "say hello first".into());
        }
    };
    if hello.v != protocol::VERSION {
        return End::Close(
            1008,
            format!(
                "protocol version {} is not spoken here (only {})",
                hello.v,
                protocol::VERSION
            ),
        );
    }
    if hello.since < 0 {
        return End::Close(1008, "since must be a sequence (0 or more)".into());
    }
    let token = hello.token;
    let mut caller = match authenticate(st, &token).await {
        Ok(c) => c,
        Err(e) => return End::Close(1008, short(&e.to_string())),
    };
    let device = match st
        .store
        .write(WriteRequest {
            who: caller.principal(),
            table: TableId::USERS,
            op: WriteOp::RegisterDevice {
                device_id: hello.device_id.clone(),
            },
            skip_sync: true,
            password_hash: None,
        })
        .await
        .map(|o| o.device)
    {
        Ok(Some(d)) => d,
        Ok(None) => return End::Close(1011, "the device could not be registered".into()),
        Err(e) => {
            let e = ApiError::from(e);
            out.send(&protocol::api_error(None, &e)).await;
            return End::Close(1008, short(&e.to_string()));
        }
    };
    let (socket_id, mut revoked) = tablets.register(&device.id);
    *registered = Some(socket_id);
    // A revoke that landed between the registration and now closed nothing yet.
    match st.store.device(&caller.shop_id, &device.id).await {
        Ok(Some(d)) if d.revoked_at.is_none() => {}
        _ => return End::Close(1008, "this device was revoked".into()),
    }
    tablets.start_feed(&st.store);
    let mut live = tablets.subscribe(caller.shop_id.as_str());
    let now = *st.store.commits().borrow();
    if !out
        .send(&protocol::welcome(&device.id, &device.actor, now))
        .await
    {
        return End::Gone;
    }

    // ---- replay after `since`
    let mut sent = hello.since;
    if hello.since > now {
        sent = now;
        out.send(&protocol::resync("unknown_sequence", now)).await;
    } else if now - hello.since > limits.max_replay {
        sent = now;
        out.send(&protocol::resync("too_far_behind", now)).await;
    } else {
        const PAGE: usize = 512;
        loop {
            caller = match current(st, &token).await {
                Ok(c) => c,
                Err(end) => return end,
            };
            let page = match st
                .store
                .feed_after(sent, Some(caller.shop_id.clone()), PAGE)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "replay to a tablet failed");
                    return End::Close(1011, "the hub could not read its change log".into());
                }
            };
            let n = page.len();
            for e in page {
                // A revoke ends the replay too, not only the live feed.
                if let Some(reason) = revocation(&revoked) {
                    return End::Close(1008, reason);
                }
                sent = e.seq;
                for m in protocol::for_caller(&caller, &e) {
                    if !out.send(&m).await {
                        return End::Gone;
                    }
                }
            }
            if n < PAGE {
                break;
            }
        }
    }
    if !out.send(&protocol::caught_up(sent)).await {
        return End::Gone;
    }

    // ---- live
    let mut closing = tablets.closing();
    let mut ping = tokio::time::interval(limits.ping_every);
    ping.tick().await;
    let mut heard = Instant::now();
    let mut checked = Instant::now();
    let mut progressed = out.progress.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            biased;
            _ = revoked.changed() => return End::Close(1008, close_reason(&revoked)),
            _ = closing.changed() => return End::Close(1001, "the hub is stopping".into()),
            m = stream.next() => {
                heard = Instant::now();
                let text = match frame(m) {
                    Err(end) => return end,
                    Ok(None) => {
                        if !out.send(&binary_refused()).await {
                            return End::Gone;
                        }
                        continue;
                    }
                    Ok(Some(t)) if t.is_empty() => continue,
                    Ok(Some(t)) => t,
                };
                let answer = match protocol::parse(&text) {
                    Ok(Incoming::Write(w)) => {
                        caller = match current(st, &token).await {
                            Ok(c) => c,
                            Err(end) => return end,
                        };
                        write(st, &caller, &device.id, w).await
                    }
                    Ok(Incoming::Ping) => json!({ "type": "pong" }),
                    Ok(Incoming::Hello(_)) => protocol::error(&Refused {
                        code: "invalid_message",
                        message: "hello was already said on this socket".into(),
                        op_id: None,
                    }),
                    Err(r) => protocol::error(&r),
                };
                if !out.send(&answer).await {
                    return End::Gone;
                }
            }
            // A change waits for room in the tablet's queue (its backlog
            // waits in the shop's broadcast meanwhile; one too far behind
            // there gets `Lagged`); no room within the send timeout: behind.
            ev = live.recv() => match ev {
                Ok(p) => {
                    if p.entry.seq <= sent {
                        continue;
                    }
                    // A change to an account is checked against at once (it may
                    // be this one's role or deactivation); otherwise at most
                    // once a second, so a bulk import's thousands of changes
                    // are not thousands of token checks per tablet.
                    if p.entry.table == TableId::USERS || checked.elapsed() >= RECHECK_EVERY {
                        caller = match current(st, &token).await {
                            Ok(c) => c,
                            Err(end) => return end,
                        };
                        checked = Instant::now();
                    }
                    sent = p.entry.seq;
                    for m in protocol::frames_for(&caller, &p) {
                        let m = Message::Text(m);
                        match tokio::time::timeout(limits.send_timeout, out.queue.send(m)).await {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => return End::Gone,
                            Err(_) => return End::Behind,
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => return End::Behind,
                Err(broadcast::error::RecvError::Closed) => {
                    return End::Close(1001, "the hub is stopping".into())
                }
            },
            _ = ping.tick() => {
                // A quiet socket still ends when its token expires or its
                // account is closed.
                if let Err(end) = current(st, &token).await {
                    return end;
                }
                let now_progress = out.progress.load(Ordering::Relaxed);
                let moved = now_progress != progressed;
                progressed = now_progress;
                let queued = out.queue.capacity() < out.queue.max_capacity();
                if queued && !moved {
                    // Frames waiting and none left in a whole interval: the
                    // tablet stopped reading.
                    return End::Behind;
                }
                if heard.elapsed() > limits.ping_every * 3 {
                    // No frame (not even a pong) through three pings: gone.
                    return End::Gone;
                }
                if out.queue.capacity() > 0 && !out.offer(Message::Ping(Vec::new().into())) {
                    return End::Behind;
                }
            }
        }
    }
}

/// A tablet's write, checked as the HTTP API checks one (the table half of the
/// role matrix, the body against the catalog; the row half in the writer),
/// answered `ack` or `error`.
async fn write(st: &AppState, caller: &Caller, device_id: &str, w: protocol::Write) -> Json {
    let op_id = w.op_id.clone();
    if !crate::store::devices::valid_id(&op_id) {
        let e = ApiError::from(FieldError::new(
            "op_id",
            format!(
                "must be 1 to {} letters, digits or - _ . :",
                crate::store::devices::MAX_ID_CHARS
            ),
        ));
        return protocol::api_error(Some(&op_id), &e);
    }
    match apply_write(st, caller, device_id, w).await {
        Ok(ack) => ack,
        Err(e) => protocol::api_error(Some(&op_id), &e),
    }
}

async fn apply_write(
    st: &AppState,
    caller: &Caller,
    device_id: &str,
    w: protocol::Write,
) -> Result<Json, ApiError> {
    let table = TableId::by_name(&w.table)
        .ok_or_else(|| FieldError::new("table", format!("no table named '{}'", w.table)))?;
    let verb = match w.op.as_deref().unwrap_or("update") {
        "update" => Verb::Update,
        "create" => Verb::Insert,
        "delete" => Verb::Delete,
        other => {
            return Err(FieldError::new(
                "op",
                format!("'{other}' is not one of update, create, delete"),
            )
            .into())
        }
    };
    if table == TableId::USERS && verb != Verb::Update {
        return Err(FieldError::new("table", "accounts are created and deleted over HTTP").into());
    }
    crate::api::records::allowed(table, verb, caller)?;
    let mut body = w.fields.unwrap_or_else(|| json!({}));
    let Some(obj) = body.as_object_mut() else {
        return Err(FieldError::new("fields", "must be a JSON object").into());
    };
    let record_id = |id: &Option<String>| {
        id.as_deref()
            .and_then(parse_uuid)
            .map(|u| u.hyphenated().to_string())
            .ok_or_else(ApiError::not_found)
    };
    let op = match verb {
        Verb::Insert => {
            if w.base.is_some() {
                return Err(FieldError::new("base", "a create has no base").into());
            }
            if let Some(id) = &w.id {
                obj.insert("id".into(), json!(id));
            }
            let (env, fields) = parse_object(table.def(), &body, Mode::Create)?;
            check_shop(env.shop_id.as_ref(), caller)?;
            WriteOp::Create { id: env.id, fields }
        }
        Verb::Update => {
            let id = record_id(&w.id)?;
            if let Some(base) = w.base {
                obj.insert("_base".into(), base);
            }
            let (env, fields) = parse_object(table.def(), &body, Mode::Update)?;
            check_shop_unchanged(env.shop_id.as_ref(), caller)?;
            WriteOp::Update {
                id,
                fields,
                base: env.base,
            }
        }
        Verb::Delete | Verb::Read => {
            if !obj.is_empty() {
                return Err(FieldError::new("fields", "a delete carries no fields").into());
            }
            WriteOp::Delete {
                id: record_id(&w.id)?,
            }
        }
    };
    let out = st
        .store
        .write(WriteRequest {
            who: caller.principal(),
            table,
            op: WriteOp::Device {
                device: DeviceWrite {
                    device_id: device_id.to_string(),
                    op_id: w.op_id.clone(),
                },
                op: Box::new(op),
            },
            skip_sync: false,
            password_hash: None,
        })
        .await?;
    if let Some(prev) = out.replayed {
        return Ok(protocol::ack(
            &w.op_id,
            &prev.record_id,
            prev.seq,
            &prev.heads,
            true,
        ));
    }
    let rec = out
        .records
        .first()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a write answered no record")))?;
    if table == TableId::USERS {
        st.accounts.forget(&rec.id);
    }
    Ok(protocol::ack(&w.op_id, &rec.id, out.seq, &rec.heads, false))
}
