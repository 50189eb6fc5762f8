// Boot: routes, the signed-in check, the shell, the WebSocket, the service worker.
import { route, start, setOnNavigate } from "./router.js";
import { session, setCatalog, getCatalog } from "./session.js";
import { drawShell, startShell, loadShop, markCurrent } from "./shell.js";
import { get } from "./api.js";
import * as live from "./live.js";

const PUBLIC = ["/setup", "/login"];
let setupNeeded = false;

route("/", () => import("./pages/misc.js"));
route("/setup", () => import("./pages/auth.js").then((m) => ({ render: m.renderSetup })));
route("/login", () => import("./pages/auth.js").then((m) => ({ render: m.renderLogin })));
route("/board", () => import("./pages/board.js"));
route("/tablet", () => import("./pages/tablet.js"));
route("/conflicts", () => import("./pages/conflicts.js"));
route("/settings/sync", () => import("./pages/sync.js"));
route("/settings/devices", () => import("./pages/devices.js"));
route("/records/:table", () => import("./pages/records.js"));
route("/records/:table/new", () => import("./pages/record.js"));
route("/records/:table/:id", () => import("./pages/record.js"));

setOnNavigate((path) => {
  markCurrent();
  if (setupNeeded && path !== "/setup") return "/setup";
  if (!setupNeeded && path === "/setup" && session()) return "/board";
  if (!session() && !PUBLIC.includes(path)) return "/login";
  if (session() && path === "/login") return "/board";
  if (path === "/" && session()) return "/board";
  return null;
});

/** After login (or at start): the caller's catalog, the shop, the socket. */
export async function signedIn() {
  try {
    setCatalog(await get("/api/ui/catalog"));
  } catch (e) {
    if (!getCatalog()) throw e;
  }
  drawShell();
  loadShop();
  live.connect();
}

async function boot() {
  startShell();
  if (session()) {
    // Signed in: the hub has a shop. The kept catalog draws the menu at once;
    // a fresh one follows (and redraws it) without holding the page up.
    const fresh = signedIn();
    if (getCatalog()) fresh.catch(() => {});
    else await fresh.catch(() => {});
  } else {
    try {
      const res = await fetch("/api/setup", { cache: "no-store" });
      setupNeeded = !!(await res.json()).needed;
    } catch {
      setupNeeded = false; // the hub is away: work from what this browser has
    }
  }
  drawShell();
  await start();
}

export function setupDone() {
  setupNeeded = false;
}

boot().catch((err) => {
  document.getElementById("main").textContent = `The page could not start: ${err.message}`;
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
}
