// The hub's WebSocket (/api/ws), the same protocol the bay tablets speak
// (src/ws/mod.rs): hello with the session's token and this browser's device
// id, then live `change` / `conflict` messages; writes answered `ack` or
// `error` by op id. Reconnects on its own; pages subscribe with on().

import { token } from "./session.js";

const DEVICE_KEY = "cos.device";
let ws = null;
let wanted = false;
let state = "offline";
let firstAttempt = true; // no socket has closed yet on this page
let seq = null;
let retry = 500;
let timer = null;
let pinger = null;
const listeners = new Set();
const stateListeners = new Set();
const waiting = new Map(); // op_id → {resolve, reject}

/** This browser's device id (chosen once, kept in localStorage). */
export function deviceId() {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    const r = crypto.getRandomValues(new Uint8Array(9));
    id = "web-" + [...r].map((b) => b.toString(16).padStart(2, "0")).join("");
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export const state_ = () => state;
/** True while the page's first socket is still being opened (not yet known to fail). */
export const opening = () => firstAttempt && wanted && state !== "online";
export { state_ as state };

function setState(s) {
  if (s === state) return;
  state = s;
  for (const f of stateListeners) f(s);
}

export function onState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

/** Subscribes to every message from the hub; returns the unsubscribe. */
export function on(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function connect() {
  const was = wanted;
  wanted = true;
  if (!was) for (const f of stateListeners) f(state);
  if (ws && ws.readyState <= 1) return;
  const t = token();
  if (!t) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  let sock;
  try {
    sock = new WebSocket(`${proto}//${location.host}/api/ws`);
  } catch {
    return later();
  }
  ws = sock;
  const resumed = seq !== null;
  sock.onopen = () => {
    // A first connection asks for no replay (an unknown, far-ahead sequence):
    // the page reads the current records over HTTP and merges what comes live.
    sock.send(
      JSON.stringify({
        type: "hello",
        v: 1,
        token: t,
        device_id: deviceId(),
        since: seq ?? Number.MAX_SAFE_INTEGER,
      }),
    );
  };
  sock.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (m.type === "welcome") {
      retry = 500;
      if (seq === null || seq > m.seq) seq = m.seq;
    } else if (m.type === "caught_up" || m.type === "resync") {
      // A resync on a reconnect (we were too far behind, or the hub's log is
      // not the one we knew): what the page shows may be stale, so it is drawn
      // again from the HTTP API. The first hello asks for it on purpose.
      if (m.type === "resync" && resumed) import("./router.js").then((r) => r.render());
      seq = m.seq;
      if (m.type === "caught_up") setState("online");
    } else if (m.type === "change" || m.type === "conflict") {
      if (m.seq > (seq ?? 0)) seq = m.seq;
    } else if (m.type === "ack" || (m.type === "error" && m.op_id)) {
      const w = waiting.get(m.op_id);
      waiting.delete(m.op_id);
      if (w) m.type === "ack" ? w.resolve(m) : w.reject(m);
    }
    for (const f of listeners) {
      try {
        f(m);
      } catch (e) {
        console.error(e);
      }
    }
  };
  sock.onclose = (ev) => {
    if (ws === sock) ws = null;
    firstAttempt = false;
    if (ev.code === 1008) {
      // Refused (an ended session, a revoked device): ask the API, which sends
      // an ended session to the login page; otherwise try again slowly.
      // A session that is still good (its token was replaced, as after the
      // user's own password change) connects again at once.
      retry = 30000;
      const revoked = /revoked/.test(ev.reason || "");
      import("./api.js")
        .then((a) => a.get("/api/auth/me"))
        .then(() => {
          if (!revoked && wanted && !ws) {
            retry = 500;
            later();
          }
        })
        .catch(() => {});
    }
    clearInterval(pinger);
    for (const [, w] of waiting) w.reject({ code: "offline", message: "the hub went away" });
    waiting.clear();
    setState("offline");
    if (wanted) later();
  };
  sock.onerror = () => {};
  clearInterval(pinger);
  pinger = setInterval(() => sock.readyState === 1 && sock.send('{"type":"ping"}'), 15000);
}

function later() {
  clearTimeout(timer);
  timer = setTimeout(connect, retry);
  retry = Math.min(retry * 2, 4000);
}

export function disconnect() {
  wanted = false;
  clearTimeout(timer);
  seq = null;
  if (ws) ws.close(1000, "signed out");
  ws = null;
  setState("offline");
}

/** Tries again now (a page noticed the hub is back). */
export function nudge() {
  if (!ws && wanted) {
    retry = 500;
    connect();
  }
}

/** Sends one write; resolves with its ack, rejects with the hub's error. */
export function write(msg, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== 1 || state !== "online") {
      return reject({ code: "offline", message: "the hub cannot be reached" });
    }
    const t = setTimeout(() => {
      waiting.delete(msg.op_id);
      reject({ code: "timeout", message: "the hub did not answer in time" });
    }, timeoutMs);
    waiting.set(msg.op_id, {
      resolve: (m) => (clearTimeout(t), resolve(m)),
      reject: (m) => (clearTimeout(t), reject(m)),
    });
    ws.send(JSON.stringify({ type: "write", ...msg }));
  });
}
