// The app shell: header (shop, user and role, hub and cloud state), the menu
// for the caller's role (a link is absent when the role may not read it) and
// logout.
import { h, $ } from "./dom.js";
import { get, reachability } from "./api.js";
import { session, user, may, maySeeSync, mayManageDevices, clearSession, getShop, setShop, onOtherTab } from "./session.js";
import * as live from "./live.js";

const MENU = [
  ["board", "/board", "Board", () => may("repair_orders", "read")],
  ["tablet", "/tablet", "Bay tablet", () => may("repair_orders", "read")],
  ["customers", "/records/customers", "Customers"],
  ["vehicles", "/records/vehicles", "Vehicles"],
  ["claims", "/records/claims", "Claims"],
  ["estimates", "/records/estimates", "Estimates"],
  ["repair_orders", "/records/repair_orders", "Repair orders"],
  ["purchase_orders", "/records/purchase_orders", "Purchase orders"],
  ["invoices", "/records/invoices", "Invoices"],
  ["payments", "/records/payments", "Payments"],
  ["users", "/records/users", "Users", () => may("users", "insert")],
  // Every role may list the conflicts on what it reads (there is no
  // `conflicts` table in the catalog to ask).
  ["conflicts", "/conflicts", "Conflicts", () => true],
  // The shop's own details and labor rates: the generic record page of its row.
  ["shop", () => `/records/shops/${user().shop_id}`, "Shop", () => may("shops", "update")],
  ["sync", "/settings/sync", "Cloud Sync", maySeeSync],
  // Paired tablets and browsers, to revoke a lost one.
  ["devices", "/settings/devices", "Devices", mayManageDevices],
];

let hubOnline = true;

export function drawShell() {
  const s = session();
  const nav = $("#menu");
  $("#logout").hidden = !s;
  if (!s) {
    nav.hidden = true;
    nav.replaceChildren();
    $("#who").textContent = "";
    $("#shop-name").textContent = "";
    return;
  }
  const u = user();
  $("#who").replaceChildren(
    h("a", { href: `/records/users/${u.id}`, title: "Your account" }, `${u.display_name} (${u.role})`),
  );
  $("#shop-name").textContent = getShop()?.name || "";
  const links = MENU.filter(([name, , , ok]) => (ok ? ok() : may(name, "read"))).map(
    ([name, href, text]) => h("a", { href: typeof href === "function" ? href() : href, dataset: { nav: name } }, text),
  );
  nav.replaceChildren(...links);
  nav.hidden = false;
  markCurrent();
}

/** Marks the menu link of the current page (aria-current). */
export function markCurrent() {
  const path = location.pathname;
  for (const a of document.querySelectorAll("#menu a")) {
    const href = a.getAttribute("href");
    const on = path === href || path.startsWith(href + "/");
    if (on) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

/** Loads the shop's record for the header (kept for offline starts). */
export async function loadShop() {
  const u = user();
  if (!u) return;
  try {
    const shop = await get(`/api/shops/${u.shop_id}`);
    setShop({ id: shop.id, name: shop.name });
    $("#shop-name").textContent = shop.name;
  } catch {}
}

function setConn(online) {
  const el = $("#conn-state");
  const state = online ? "online" : "offline";
  if (el.dataset.state !== state) {
    el.dataset.state = state;
    el.textContent = online ? "Hub online" : "Offline";
  }
}

function updateConn() {
  // Signed in: the WebSocket says whether the hub is there; else the last request.
  // (while the page's first socket opens, the last HTTP answer speaks for the hub)
  setConn(session() ? live.state() === "online" || (live.opening() && hubOnline) : hubOnline);
}

/** The cloud badge, from /api/health (no secret, readable by every role). */
async function pollCloud() {
  if (document.hidden) return;
  const el = $("#cloud-state");
  try {
    const res = await fetch("/api/health", { cache: "no-store" });
    const hb = await res.json();
    hubOnline = true;
    const c = hb.cloud;
    let state = "off";
    let text = "Cloud off";
    if (c && c.enabled) {
      if (c.reachable === false || hb.sync_queue?.failed > 0) {
        state = "error";
        text = "Cloud error";
      } else if (hb.sync_queue?.waiting > 0) {
        state = "pending";
        text = `Cloud: ${hb.sync_queue.waiting} waiting`;
      } else {
        state = "ok";
        text = "Cloud backed up";
      }
    }
    el.dataset.state = state;
    el.textContent = text;
  } catch {
    hubOnline = false;
  }
  updateConn();
}

export function startShell() {
  reachability.onChange = (ok) => {
    hubOnline = ok;
    updateConn();
  };
  live.onState(updateConn);
  $("#logout").addEventListener("click", async () => {
    const { count, kvClear } = await import("./outbox.js");
    const waiting = await count().catch(() => 0);
    if (waiting && !confirm(`${waiting} change(s) have not reached the hub yet. They will be sent when you log in again. Log out?`)) return;
    // The hub ends the token too (a copy of it is then no good); offline, the
    // token stays good on the hub until it expires.
    const { post } = await import("./api.js");
    await post("/api/auth/logout").catch(() => {});
    await kvClear().catch(() => {});
    clearSession();
    live.disconnect();
    updateConn();
    drawShell();
    const { navigate } = await import("./router.js");
    navigate("/login");
  });
  // Another tab logged out: so does this one. Someone else logged in there:
  // this tab starts again as them (a new token of the same person, after a
  // password change, is simply used).
  onOtherTab((before, now) => {
    if (!now) {
      live.disconnect();
      location.assign("/login");
    } else if (before?.user?.id !== now.user?.id) {
      location.assign("/");
    }
  });
  pollCloud();
  setInterval(pollCloud, 5000);
  updateConn();
}
