// Cloud Sync's live parts: status (polled every second while the page is
// open), the queue with its errors and retry of FAILED items, and history.
import { h, when, human, toast } from "../dom.js";
import { get, post, qs } from "../api.js";
import { mayManageSync } from "../session.js";

function lagText(lag) {
  const ms = lag?.ms;
  if (ms === null || ms === undefined) return "none";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60000)} min`;
}

function stat(id, label) {
  const b = h("b", { id }, "—");
  return [h("div.stat", h("span", label), b), b];
}

export function statusPanel(first, nowButton) {
  const [mode, modeEl] = stat("sync-mode", "Mode");
  const [pending, pendingEl] = stat("sync-pending", "Waiting to send");
  const [failed, failedEl] = stat("sync-failed", "Failed");
  const [last, lastEl] = stat("sync-last", "Last sync");
  const [lag, lagEl] = stat("sync-lag", "Oldest waiting");
  const progress = h("progress#sync-progress", { max: 1, value: 0 });
  const progressText = h("span.hint");
  const reason = h("p.error", { role: "status" });
  const el = h(
    "section.panel",
    h("h2", "Status"),
    h("div.stats", mode, pending, failed, last, lag),
    h("label", { for: "sync-progress" }, "First upload of existing records ", progressText, progress),
    reason,
    h("div.actions", nowButton),
  );
  function show(s) {
    modeEl.textContent = s.mode === "hybrid" ? "Hybrid (cloud on)" : "Local only";
    modeEl.dataset.mode = s.mode;
    pendingEl.textContent = String(s.pendingOperations ?? 0);
    failedEl.textContent = String(s.queue?.failed ?? 0);
    lastEl.textContent = s.lastSync ? when(s.lastSync) : "never";
    lagEl.textContent = lagText(s.lag);
    const up = s.initialUpload || {};
    progress.max = Math.max(1, up.total || 0);
    progress.value = up.total ? up.done : 0;
    const again = up.restartedAt ? ` · started again ${when(up.restartedAt)} because ${up.restartedBecause}` : "";
    progressText.textContent = (up.total ? `${up.done} of ${up.total} (${human(up.state)})` : human(up.state || "not started")) + again;
    const why = [];
    if (s.syncEnabled && s.lastError && (!s.lastSync || s.lastErrorAt > s.lastSync)) why.push(`Last error: ${s.lastError}`);
    if (!s.ready && s.notReadyReason) {
      // Off and never set up is not an error: say what to do, in plain words.
      why.push(s.syncEnabled
        ? `Cannot sync: ${s.notReadyReason}`
        : "No cloud is set up yet: fill in the credentials above, save, and test the connection.");
    }
    reason.textContent = why.join(" · ");
  }
  show(first);
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      show(await get("/api/sync/status"));
    } catch {}
    busy = false;
  }, 1000);
  return { el, stop: () => clearInterval(timer) };
}

export function queuePanel() {
  const tbody = h("tbody");
  const filter = h(
    "select#sync-queue-filter",
    h("option", { value: "" }, "All"),
    ["pending", "retry", "failed", "processing", "completed"].map((s) => h("option", { value: s }, human(s))),
  );
  const retryAll = mayManageSync()
    ? h("button.secondary#sync-retry-failed", { type: "button" }, "Retry every failed item")
    : null;
  retryAll?.addEventListener("click", () => retry(true));
  async function retry(which) {
    try {
      const r = await post("/api/sync/trigger", { retryFailed: which });
      toast(`${r.retriedFailed} item(s) sent again.`);
      await load();
    } catch (err) {
      toast(err.message);
    }
  }
  const el = h(
    "section.panel",
    h("h2", "Queue"),
    h("div.toolbar", h("label.inline", "Show ", filter), retryAll),
    h(
      "table#sync-queue",
      h("thead", h("tr", ["Status", "Record", "Operation", "Attempts", "Error", "Queued", ""].map((t) => h("th", { scope: "col" }, t)))),
      tbody,
    ),
  );
  let shown = "";
  async function load() {
    const r = await get(`/api/sync/queue${qs({ limit: 50, status: filter.value })}`);
    if (!filter.value) {
      // FAILED items wait for a person: always on top, however old.
      const failed = (await get("/api/sync/queue?status=failed&limit=50")).items;
      const ids = new Set(failed.map((i) => i.id));
      r.items = [...failed, ...r.items.filter((i) => !ids.has(i.id))];
    }
    const key = JSON.stringify(r.items.map((i) => [i.id, i.status, i.attempts, i.lastError]));
    if (key === shown) return;
    shown = key;
    tbody.replaceChildren(
      ...r.items.map((i) => {
        let b = null;
        if (i.status === "FAILED" && mayManageSync()) {
          b = h("button", { type: "button", dataset: { retry: String(i.id) } }, "Retry");
          b.addEventListener("click", () => retry([i.id]));
        }
        return h(
          "tr",
          { dataset: { queueId: String(i.id), status: i.status } },
          h("td", human(i.status.toLowerCase())),
          h("td", `${i.tableName} …${i.recordId.slice(-8)}`),
          h("td", human(i.operation.toLowerCase())),
          h("td", String(i.attempts)),
          h("td.error-text", i.lastError || ""),
          h("td", when(i.createdAt)),
          h("td", b),
        );
      }),
    );
    if (!r.items.length) tbody.append(h("tr", h("td", { colspan: 7 }, "The queue is empty.")));
  }
  filter.addEventListener("change", () => {
    shown = "";
    load();
  });
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      await load();
    } catch {}
    busy = false;
  }, 1000);
  return { el, load, stop: () => clearInterval(timer) };
}

export function historyPanel() {
  const list = h("tbody");
  const el = h(
    "section.panel",
    h("h2", "History (sent to the cloud)"),
    h("table#sync-history", h("thead", h("tr", ["Sent", "Record", "Operation"].map((t) => h("th", { scope: "col" }, t)))), list),
  );
  async function load() {
    const r = await get("/api/sync/history?limit=20");
    list.replaceChildren(
      ...r.items.map((i) =>
        h("tr", { dataset: { queueId: String(i.id) } }, h("td", when(i.updatedAt)), h("td", `${i.tableName} …${i.recordId.slice(-8)}`), h("td", human(i.operation.toLowerCase()))),
      ),
    );
    if (!r.items.length) list.append(h("tr", h("td", { colspan: 3 }, "Nothing sent yet.")));
  }
  const timer = setInterval(() => !document.hidden && load().catch(() => {}), 5000);
  return { el, load, stop: () => clearInterval(timer) };
}
