// The signed-in session (token, user), the caller's catalog (what the role may
// read and write, from GET /api/ui/catalog) and the shop. Kept in
// localStorage so a bay tablet opens signed in, even while the hub is away.

const KEY = "cos.session";
const CATALOG = "cos.catalog";
const SHOP = "cos.shop";

let current = load(KEY);
let catalog = load(CATALOG);
let shop = load(SHOP);

function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

function save(key, value) {
  if (value === null) localStorage.removeItem(key);
  else localStorage.setItem(key, JSON.stringify(value));
}

// Another tab of this browser logged in, out, or changed the password: this
// one follows at once. Its copy in memory would otherwise be stale, and a
// stale token's 401 would clear the other tab's fresh session.
const followers = [];
window.addEventListener("storage", (e) => {
  if (e.key === KEY || e.key === null) {
    const before = current;
    current = load(KEY);
    catalog = load(CATALOG);
    shop = load(SHOP);
    for (const f of followers) f(before, current);
  } else if (e.key === CATALOG) catalog = load(CATALOG);
  else if (e.key === SHOP) shop = load(SHOP);
});

/** Calls `f(before, now)` when another tab changes the session. */
export function onOtherTab(f) {
  followers.push(f);
}

export function session() {
  if (current && current.expires_at && expiresMs(current.expires_at) < Date.now()) {
    clearSession();
  }
  return current;
}

export function setSession(s) {
  current = s;
  save(KEY, s);
}

export function clearSession() {
  current = catalog = shop = null;
  save(KEY, null);
  save(CATALOG, null);
  save(SHOP, null);
}

export const user = () => current?.user || null;
export const token = () => current?.token || null;
export const role = () => current?.user?.role || null;

export function setCatalog(c) {
  catalog = c;
  save(CATALOG, c);
}
export const getCatalog = () => catalog;

export function setShop(s) {
  shop = s;
  save(SHOP, s);
}
export const getShop = () => shop;

/** The catalog entry of a table the caller may read, or null. */
export function table(name) {
  return catalog?.tables?.[name] || null;
}

/** Whether the caller may do `verb` (read, insert, update, delete) on `name`. */
export function may(name, verb) {
  const t = table(name);
  return !!t && t.access[verb] !== "none";
}

/** Roles that see Settings → Cloud Sync (owner and admin manage it, managers view it). */
export function maySeeSync() {
  return ["owner", "admin", "manager"].includes(role());
}
export function mayManageSync() {
  return ["owner", "admin"].includes(role());
}
/** Roles that list the paired devices and revoke one (Settings → Devices). */
export function mayManageDevices() {
  return ["owner", "admin"].includes(role());
}

/** A token's expiry in ms: the hub gives Unix seconds; an ISO text is read too. */
function expiresMs(v) {
  return typeof v === "number" ? v * 1000 : Date.parse(v);
}
