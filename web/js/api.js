// The JSON API (README, "The API"): one fetch wrapper with the session's
// token, errors as ApiError (status, code, field), and paged reads.
import { token, clearSession } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error || {};
    super(e.message || `the hub answered ${status}`);
    this.status = status;
    this.code = e.code || "error";
    this.field = e.field || null;
    this.body = body;
  }
}

/** Called when the hub cannot be reached at all (the shell shows "offline"). */
export const reachability = { onChange: () => {} };

export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    reachability.onChange(false);
    const e = new ApiError(0, { error: { code: "offline", message: "the hub cannot be reached" } });
    e.offline = true;
    throw e;
  }
  reachability.onChange(true);
  const data = await res.json().catch(() => ({}));
  // A 401 from login or a password change is a wrong password; from anywhere
  // else (`/api/auth/me` included) the session has ended.
  // (Only if the token refused is still the session's: another tab may have
  // replaced it meanwhile.)
  if (res.status === 401 && t && t === token() && (!path.startsWith("/api/auth/") || path === "/api/auth/me")) {
    clearSession();
    location.assign("/login");
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);

/** A query string from an object, skipping empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") p.set(k, v);
  }
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The most records of a table a page loads (`NEWEST` lists keep the newest). */
export const MAX_LOADED = 5000;

/** Filters that list a whole table newest first: past `MAX_LOADED` records,
 * the oldest are the ones left out (what the shop works on now is recent). */
export const NEWEST = Object.freeze({ order: "newest" });

/** Every record of a table (500 a request), up to `max`; `truncated` on the
 * answer says there were more. */
export async function listAll(table, filters = {}, max = MAX_LOADED) {
  const out = [];
  let cursor = null;
  do {
    const page = await get(`/api/${table}${qs({ ...filters, limit: 500, cursor })}`);
    out.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  out.truncated = Boolean(cursor);
  return out;
}
