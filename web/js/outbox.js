// The tablet's queue of writes waiting for the hub, in IndexedDB (it survives
// a reload and the hub being away), plus a small key/value store for the last
// data the tablet saw. Each write has an op id, so replaying it twice applies
// it once (the hub remembers op ids).
import * as live from "./live.js";
import { user } from "./session.js";

const DB = "collisionos";
let dbp = null;
const countListeners = new Set();

function db() {
  if (!dbp) {
    dbp = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => {
        const d = req.result;
        d.createObjectStore("outbox", { keyPath: "n", autoIncrement: true });
        d.createObjectStore("kv");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbp;
}

async function tx(store, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(store, mode);
    const s = t.objectStore(store);
    let out;
    Promise.resolve(fn(s)).then((v) => (out = v));
    t.oncomplete = () => resolve(out);
    t.onerror = () => reject(t.error);
  });
}

const req = (r) => new Promise((res, rej) => ((r.onsuccess = () => res(r.result)), (r.onerror = () => rej(r.error))));

/** The signed-in user's waiting writes, oldest first (another user's wait for them). */
export async function all() {
  const me = user()?.id;
  const rows = await tx("outbox", "readonly", (s) => req(s.getAll()));
  return rows.filter((w) => w.user === me);
}

export async function count() {
  return (await all()).length;
}

async function remove(n) {
  await tx("outbox", "readwrite", (s) => req(s.delete(n)));
  notify();
}

async function notify() {
  const n = await count();
  for (const f of countListeners) f(n);
}

export function onCount(fn) {
  countListeners.add(fn);
  notify();
  return () => countListeners.delete(fn);
}

export async function kvGet(key) {
  return tx("kv", "readonly", (s) => req(s.get(key)));
}
export async function kvSet(key, value) {
  return tx("kv", "readwrite", (s) => req(s.put(value, key)));
}

/** Forgets the data kept for starts without the hub (at logout): what a
 * person saw is not left for the next one. Waiting writes stay; each goes out
 * when its author logs in again. */
export async function kvClear() {
  return tx("kv", "readwrite", (s) => req(s.clear()));
}

let opCounter = 0;
/** Queues a write ({table, id, op, fields, base}) and sends what is waiting. */
export async function enqueue(write) {
  const op_id = `${live.deviceId()}-${Date.now().toString(36)}-${(opCounter++).toString(36)}`;
  await tx("outbox", "readwrite", (s) => req(s.add({ ...write, op_id, user: user()?.id })));
  await notify();
  flush();
  return op_id;
}

let flushing = null;
const refusedListeners = new Set();
/** Called with (write, error) when the hub refuses a queued write for good. */
export function onRefused(fn) {
  refusedListeners.add(fn);
  return () => refusedListeners.delete(fn);
}

/** Sends the waiting writes in order, one at a time; stops at the first that cannot go. */
export function flush() {
  if (flushing) return flushing;
  flushing = (async () => {
    try {
      for (const w of await all()) {
        if (live.state() !== "online") return;
        const { n, user: _who, ...msg } = w;
        try {
          await live.write(msg);
          await remove(n);
        } catch (err) {
          if (err.code === "offline" || err.code === "timeout") return;
          await remove(n);
          for (const f of refusedListeners) f(w, err);
        }
      }
    } finally {
      flushing = null;
    }
  })();
  return flushing;
}

live.onState((s) => s === "online" && flush());
