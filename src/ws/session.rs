//! One tablet's session, in its steps: hello (read and authenticate it),
//! welcome (register the device, subscribe to the shop's changes), replay
//! after `since`, then live changes, writes and heartbeats until either side
//! ends it. Each step ends the session by returning the [`End`] the socket is
//! closed with.

use super::protocol::{self, Incoming, Refused};
use super::socket::{binary_refused, frame, short, End, Out};
use super::{Limits, Published, Tablets};
use crate::api::extract::Caller;
use crate::api::{ApiError, AppState};
use crate::domain::TableId;
use crate::store::{WriteOp, WriteRequest};
use axum::extract::ws::{Message, WebSocket};
use axum::extract::FromRequestParts;
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// The longest a live socket goes on sending changes without checking its
/// token again (its writes and changes to accounts are checked at once).
const RECHECK_EVERY: Duration = Duration::from_secs(1);

/// Changes read from the log per page of a replay.
const REPLAY_PAGE: usize = 512;

pub(super) async fn session(
    stream: &mut SplitStream<WebSocket>,
    out: &Out,
    st: &AppState,
    tablets: &Tablets,
    limits: Limits,
    registered: &mut Option<u64>,
) -> End {
    let opened = async {
        let (hello, caller) = hello(stream, out, st, limits.hello_timeout).await?;
        let mut s = welcome(hello, caller, out, st, tablets, registered).await?;
        replay(&mut s, out, st, limits).await?;
        Ok(s)
    };
    match opened.await {
        Ok(mut s) => live(&mut s, stream, out, st, tablets, limits).await,
        Err(end) => end,
    }
}

/// A session past its hello: who it speaks for and how far it has sent.
struct Session {
    /// The hello's token, checked again while the socket lives.
    token: String,
    /// The caller as of the last check.
    caller: Caller,
    /// When the token was last checked.
    checked: Instant,
    device_id: String,
    /// Fires when the device is revoked (or the hub closes its sockets).
    revoked: watch::Receiver<Option<String>>,
    /// The shop's live changes, subscribed before the replay is read.
    feed: broadcast::Receiver<Arc<Published>>,
    /// The hello's `since`.
    since: i64,
    /// The last sequence sent (or passed over as not this tablet's).
    sent: i64,
}

impl Session {
    /// The caller as of now: the hello's token checked again, with the
    /// account as it stands. A socket lives for hours; an account deactivated,
    /// deleted or reset since hello ends it, and a role changed since hello is
    /// the role its next frame is filtered and its next write checked by (as
    /// an HTTP request's next request would be).
    async fn recheck(&mut self, st: &AppState) -> Result<(), End> {
        self.caller = authenticate(st, &self.token)
            .await
            .map_err(|e| End::Close(1008, short(&format!("signed out: {e}"))))?;
        self.checked = Instant::now();
        Ok(())
    }

    /// `Err` with the reason once the device has been revoked (or the hub
    /// closed it).
    fn still_paired(&self) -> Result<(), End> {
        match self.revoked.has_changed() {
            Ok(false) => Ok(()),
            _ => Err(End::Close(1008, close_reason(&self.revoked))),
        }
    }
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

/// Why the hub closed this device's sockets: the reason its revoke sent.
fn close_reason(revoked: &watch::Receiver<Option<String>>) -> String {
    revoked
        .borrow()
        .clone()
        .unwrap_or_else(|| "closed by the hub".into())
}

/// The first message, which must be a hello with a valid token: the hello and
/// the caller it authenticates.
async fn hello(
    stream: &mut SplitStream<WebSocket>,
    out: &Out,
    st: &AppState,
    within: Duration,
) -> Result<(protocol::Hello, Caller), End> {
    let say_hello_first = || End::Close(1008, "say hello first".into());
    let first = tokio::time::timeout(within, stream.next())
        .await
        .map_err(|_| End::Close(1008, "say hello first (no hello in time)".into()))?;
    let Some(text) = frame(first)? else {
        let _ = out.send(&binary_refused()).await;
        return Err(say_hello_first());
    };
    let hello = match protocol::parse(&text) {
        Ok(Incoming::Hello(h)) => h,
        other => {
            let r = match other {
                Err(r) => r,
                Ok(_) => Refused {
                    code: "hello_first",
                    message: "the first message must be a hello".into(),
                    op_id: None,
                },
            };
            let _ = out.send(&protocol::error(&r)).await;
            return Err(say_hello_first());
        }
    };
    if hello.v != protocol::VERSION {
        return Err(End::Close(
            1008,
            format!(
                "protocol version {} is not spoken here (only {})",
                hello.v,
                protocol::VERSION
            ),
        ));
    }
    if hello.since < 0 {
        return Err(End::Close(
            1008,
            "since must be a sequence (0 or more)".into(),
        ));
    }
    let caller = authenticate(st, &hello.token)
        .await
        .map_err(|e| End::Close(1008, short(&e.to_string())))?;
    Ok((hello, caller))
}

/// After a good hello: the device registered (its actor assigned on first
/// contact), the shop's feed subscribed, and `welcome` sent.
async fn welcome(
    hello: protocol::Hello,
    caller: Caller,
    out: &Out,
    st: &AppState,
    tablets: &Tablets,
    registered: &mut Option<u64>,
) -> Result<Session, End> {
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
        Ok(None) => {
            return Err(End::Close(
                1011,
                "the device could not be registered".into(),
            ))
        }
        Err(e) => {
            let e = ApiError::from(e);
            let _ = out.send(&protocol::api_error(None, &e)).await;
            return Err(End::Close(1008, short(&e.to_string())));
        }
    };
    let (socket_id, revoked) = tablets.register(&device.id);
    *registered = Some(socket_id);
    // A revoke that landed between the registration and now closed nothing yet.
    match st.store.device(&caller.shop_id, &device.id).await {
        Ok(Some(d)) if d.revoked_at.is_none() => {}
        _ => return Err(End::Close(1008, "this device was revoked".into())),
    }
    tablets.start_feed(&st.store);
    let feed = tablets.subscribe(caller.shop_id.as_str());
    let now = *st.store.commits().borrow();
    out.send(&protocol::welcome(&device.id, &device.actor, now))
        .await?;
    Ok(Session {
        token: hello.token,
        caller,
        checked: Instant::now(),
        device_id: device.id,
        revoked,
        feed,
        since: hello.since,
        sent: hello.since,
    })
}

/// Every change after `since` the tablet may read, a page at a time, then
/// `caught_up`; a `since` unknown here or too far behind gets `resync`.
async fn replay(s: &mut Session, out: &Out, st: &AppState, limits: Limits) -> Result<(), End> {
    let now = *st.store.commits().borrow();
    if s.since > now {
        s.sent = now;
        out.send(&protocol::resync("unknown_sequence", now)).await?;
    } else if now - s.since > limits.max_replay {
        s.sent = now;
        out.send(&protocol::resync("too_far_behind", now)).await?;
    } else {
        loop {
            s.recheck(st).await?;
            let page = st
                .store
                .feed_after(s.sent, Some(s.caller.shop_id.clone()), REPLAY_PAGE)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "replay to a tablet failed");
                    End::Close(1011, "the hub could not read its change log".into())
                })?;
            let n = page.len();
            for e in page {
                // A revoke ends the replay too, not only the live feed.
                s.still_paired()?;
                s.sent = e.seq;
                for m in protocol::for_caller(&s.caller, &e) {
                    out.send(&m).await?;
                }
            }
            if n < REPLAY_PAGE {
                break;
            }
        }
    }
    out.send(&protocol::caught_up(s.sent)).await
}

/// Live changes, the tablet's writes and pings, and the heartbeat, until a
/// side ends the session.
async fn live(
    s: &mut Session,
    stream: &mut SplitStream<WebSocket>,
    out: &Out,
    st: &AppState,
    tablets: &Tablets,
    limits: Limits,
) -> End {
    let mut closing = tablets.closing();
    let mut ping = tokio::time::interval(limits.ping_every);
    ping.tick().await;
    let mut heard = Instant::now();
    let mut progressed = out.progress.load(Ordering::Relaxed);
    loop {
        let step = tokio::select! {
            biased;
            _ = s.revoked.changed() => Err(End::Close(1008, close_reason(&s.revoked))),
            _ = closing.changed() => Err(End::Close(1001, "the hub is stopping".into())),
            m = stream.next() => {
                heard = Instant::now();
                incoming(s, m, out, st).await
            }
            ev = s.feed.recv() => change(s, ev, out, st, limits).await,
            _ = ping.tick() => heartbeat(s, out, st, limits, heard, &mut progressed).await,
        };
        if let Err(end) = step {
            return end;
        }
    }
}

/// One frame from the tablet: a write (checked with the account as it stands
/// now), a ping, or something refused with an `error`.
async fn incoming(
    s: &mut Session,
    m: Option<Result<Message, axum::Error>>,
    out: &Out,
    st: &AppState,
) -> Result<(), End> {
    let text = match frame(m)? {
        None => return out.send(&binary_refused()).await,
        Some(t) if t.is_empty() => return Ok(()),
        Some(t) => t,
    };
    let answer = match protocol::parse(&text) {
        Ok(Incoming::Write(w)) => {
            s.recheck(st).await?;
            super::write::write(st, &s.caller, &s.device_id, w).await
        }
        Ok(Incoming::Ping) => json!({ "type": "pong" }),
        Ok(Incoming::Hello(_)) => protocol::error(&Refused {
            code: "invalid_message",
            message: "hello was already said on this socket".into(),
            op_id: None,
        }),
        Err(r) => protocol::error(&r),
    };
    out.send(&answer).await
}

/// One committed change of the shop, sent as this tablet's user may read it.
/// A change waits for room in the tablet's queue (its backlog waits in the
/// shop's broadcast meanwhile; one too far behind there gets `Lagged`); no
/// room within the send timeout: behind.
async fn change(
    s: &mut Session,
    ev: Result<Arc<Published>, broadcast::error::RecvError>,
    out: &Out,
    st: &AppState,
    limits: Limits,
) -> Result<(), End> {
    let p = match ev {
        Ok(p) => p,
        Err(broadcast::error::RecvError::Lagged(_)) => return Err(End::Behind),
        Err(broadcast::error::RecvError::Closed) => {
            return Err(End::Close(1001, "the hub is stopping".into()))
        }
    };
    if p.entry.seq <= s.sent {
        return Ok(());
    }
    // A change to an account is checked against at once (it may be this
    // one's role or deactivation); otherwise at most once a second, so a bulk
    // import's thousands of changes are not thousands of token checks per
    // tablet.
    if p.entry.table == TableId::USERS || s.checked.elapsed() >= RECHECK_EVERY {
        s.recheck(st).await?;
    }
    s.sent = p.entry.seq;
    for m in protocol::frames_for(&s.caller, &p) {
        match tokio::time::timeout(limits.send_timeout, out.queue.send(Message::Text(m))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(End::Gone),
            Err(_) => return Err(End::Behind),
        }
    }
    Ok(())
}

/// Every ping interval: a quiet socket still ends when its token expires or
/// its account is closed; a tablet that stopped reading, or went silent, is
/// dropped; otherwise it is pinged.
async fn heartbeat(
    s: &mut Session,
    out: &Out,
    st: &AppState,
    limits: Limits,
    heard: Instant,
    progressed: &mut u64,
) -> Result<(), End> {
    s.recheck(st).await?;
    let now_progress = out.progress.load(Ordering::Relaxed);
    let moved = now_progress != *progressed;
    *progressed = now_progress;
    let queued = out.queue.capacity() < out.queue.max_capacity();
    if queued && !moved {
        // Frames waiting and none left in a whole interval: the tablet
        // stopped reading.
        return Err(End::Behind);
    }
    if heard.elapsed() > limits.ping_every * 3 {
        // No frame (not even a pong) through three pings: gone.
        return Err(End::Gone);
    }
    if out.queue.capacity() > 0 && !out.offer(Message::Ping(Vec::new().into())) {
        return Err(End::Behind);
    }
    Ok(())
}
