// Settings → Cloud Sync: credentials (named as the Supabase dashboard names
// them; stored on the hub and afterwards shown only as "set"), the connection
// test, the master switch (on only when the hub said yes), the five feature
// switches with their monthly cost, the timing (interval, batch size, retries;
// seconds on the page, milliseconds in the API). Live status, queue and history
// are in syncstatus.js. Owners and admins change things; managers look.
import { h, page, ready, toast } from "../dom.js";
import { get, put, post } from "../api.js";
import { mayManageSync, maySeeSync } from "../session.js";
import { statusPanel, queuePanel, historyPanel } from "./syncstatus.js";

/** [name, label, where in the Supabase dashboard, secret?] */
const FIELDS = [
  ["supabaseUrl", "Project URL", "Project Settings → Data API → Project URL (https://<ref>.supabase.co)", false],
  ["anonKey", "Publishable key (or legacy “anon public” key)", "Project Settings → API Keys → Publishable key. Never the secret or service_role key.", true],
  ["dbUrl", "Database connection string (URI)", "Connect (top bar) → Connection string → URI, Direct connection or Transaction pooler, with your database password in place of [YOUR-PASSWORD]", true],
  ["jwtSecret", "Legacy JWT secret", "Project Settings → JWT Keys → Legacy JWT Secret (needed with the Project URL and publishable key)", true],
  ["jwtPrivateKey", "JWT signing key: private key (PEM)", "Only if you imported your own key under Project Settings → JWT Keys → JWT Signing Keys", true],
  ["jwtKeyId", "JWT signing key: Key ID", "The Key ID shown beside that imported signing key", true],
];
const ADVANCED = [
  ["restUrl", "REST URL (self-hosted only)", "Leave empty for Supabase: the hub uses <Project URL>/rest/v1", false],
  ["dbCaFile", "Database CA file on this PC (self-hosted only)", "A PEM file path; leave empty for Supabase", false],
  ["serviceRoleKey", "service_role secret (not needed)", "The hub never writes with it: it bypasses Row Level Security. Leave empty.", true],
];

function input([name, text, where, secret], cfg) {
  const id = `sc-${name}`;
  const shown = secret ? cfg.credentials?.[name] : cfg[name];
  // A PEM key has line breaks, which a one-line input would drop.
  const multiline = name === "jwtPrivateKey";
  const el = h(multiline ? "textarea" : "input", {
    id,
    name,
    type: multiline ? undefined : secret ? "password" : "text",
    autocomplete: "off",
    spellcheck: "false",
    rows: multiline ? 3 : undefined,
    placeholder: secret && shown ? "Set — type a new value to replace it" : multiline ? "-----BEGIN PRIVATE KEY-----" : "",
  });
  if (!secret && shown) el.value = shown;
  const state = secret
    ? h("span.state", { dataset: { set: shown ? "1" : "0", for: name } }, shown ? String(shown) : "not set")
    : null;
  const remove = secret && shown ? h("button.secondary", { type: "button", dataset: { clear: name } }, "Remove") : null;
  remove?.addEventListener("click", async () => {
    if (!confirm(`Remove the stored ${text}?`)) return;
    await save({ credentials: { [name]: null } });
  });
  return h(
    "div",
    h("label", { for: id }, text, h("small.hint", where), el),
    h("div.actions", state, remove),
    h("p.field-error", { dataset: { errorFor: secret ? `credentials.${name}` : name } }),
  );
}

let rerender = () => {};
/** Saves `body` to the hub's sync config; a refusal is shown under the field it
 * names (in `form`) and in `errEl`. */
async function save(body, form = document.getElementById("sync-credentials"), errEl = document.getElementById("sync-save-error")) {
  clearErrors(form, errEl);
  try {
    await put("/api/sync/config", body);
    toast("Saved on the hub.");
    await rerender();
  } catch (err) {
    const slot = err.field && form.querySelector(`[data-error-for="${CSS.escape(err.field)}"]`);
    // The hub names the field as the API does ("retryDelayMs: must be …"):
    // on the page, the field's label says it.
    const why = err.field && err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
    const el = err.field && form.elements[err.field.replace(/^credentials\./, "")];
    const label = el?.labels?.[0]?.firstChild?.textContent?.trim();
    if (slot) slot.textContent = why;
    errEl.textContent = label ? `${label}: ${why}` : err.message;
  }
}

function clearErrors(form, errEl) {
  for (const p of form.querySelectorAll("[data-error-for]")) p.textContent = "";
  errEl.textContent = "";
}

function credentialsForm(cfg) {
  const form = h(
    "form#sync-credentials",
    { novalidate: true },
    h("div.cols2", FIELDS.map((f) => input(f, cfg))),
    h("details", h("summary", "Self-hosted and other settings"), h("div.cols2", ADVANCED.map((f) => input(f, cfg)))),
    h("div.actions", h("button#sync-save", { type: "submit" }, "Save credentials")),
    h("p.error#sync-save-error", { role: "alert" }),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const body = { credentials: {} };
    for (const f of [...FIELDS, ...ADVANCED]) {
      const v = form.elements[f[0]].value.trim();
      if (f[3]) {
        if (v) body.credentials[f[0]] = v;
      } else if (v !== (cfg[f[0]] || "")) body[f[0]] = v || null;
    }
    if (!Object.keys(body.credentials).length) delete body.credentials;
    if (!Object.keys(body).length) return toast("Nothing to save: type a new value first.");
    save(body);
  });
  return form;
}

/** [name in the config, label, hint, unit: how many ms one shown unit is (1: as is)] */
const TIMING = [
  ["intervalMs", "Sync at least every (seconds)", "New changes go out within moments; this is the longest wait between two runs. At least 1 second.", 1000],
  ["batchSize", "Records per batch", "How many records one push carries (1 to 1000).", 1],
  ["retryAttempts", "Attempts before a change is marked failed", "When the cloud refuses a change for now (1 to 100). An unreachable cloud spends none.", 1],
  ["retryDelayMs", "First retry after (seconds)", "At least 0.1 second; each further retry waits twice as long, up to an hour.", 1000],
];

function timingForm(cfg) {
  const field = ([name, text, hint, unit]) => {
    const id = `st-${name}`;
    const el = h("input", { id, name, type: "number", inputmode: "decimal", min: 0, step: "any", value: String(cfg[name] / unit) });
    return h("div", h("label", { for: id }, text, h("small.hint", hint), el), h("p.field-error", { dataset: { errorFor: name } }));
  };
  const err = h("p.error#sync-timing-error", { role: "alert" });
  const form = h("form#sync-timing", { novalidate: true }, h("div.cols2", TIMING.map(field)), h("div.actions", h("button#sync-timing-save", { type: "submit" }, "Save timing")), err);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    clearErrors(form, err);
    const body = {};
    for (const [name, text, , unit] of TIMING) {
      const raw = form.elements[name].value.trim();
      const n = Number(raw);
      if (raw === "" || !Number.isFinite(n) || n < 0) {
        form.querySelector(`[data-error-for="${name}"]`).textContent = "must be a number, 0 or more";
        err.textContent = `${text}: must be a number, 0 or more`;
        return;
      }
      const v = Math.round(n * unit);
      if (v !== cfg[name]) body[name] = v;
    }
    if (!Object.keys(body).length) return toast("Nothing to save: the timing is unchanged.");
    save(body, form, err);
  });
  return h("section.panel", h("h2", "Timing"), h("p.hint", "How often the hub sends, and how it retries. The defaults suit most shops."), form);
}

function testPanel() {
  const result = h("ul.plain#sync-test-result", { "aria-live": "polite" });
  const b = h("button.secondary#sync-test", { type: "button" }, "Test connection");
  b.addEventListener("click", async () => {
    b.disabled = true;
    result.replaceChildren(h("li", "Testing…"));
    try {
      const r = await post("/api/sync/test-connection");
      showChecks(result, r);
    } catch (err) {
      result.replaceChildren(h("li", { dataset: { check: err.field || "configuration", ok: "0" } }, err.message));
    } finally {
      b.disabled = false;
    }
  });
  return h("section.panel", h("h2", "Connection test"), h("p.hint", "Checks that the cloud answers, accepts the credentials, and has the tables and security policies this hub expects."), b, result);
}

const CHECK_NAMES = { reachable: "Reachable", credentials: "Credentials accepted", schema: "Tables and policies" };
function showChecks(list, outcome) {
  list.replaceChildren(
    ...(outcome?.steps || []).map((s) =>
      h("li", { dataset: { check: s.name, ok: s.ok ? "1" : "0" } }, h("b", `${CHECK_NAMES[s.name] || s.name}: `), s.message),
    ),
  );
}

function masterSwitch(status) {
  const sw = h("input#sync-enabled", { type: "checkbox", role: "switch", checked: !!status.syncEnabled, disabled: !mayManageSync() });
  const err = h("p.error#sync-error", { role: "alert" });
  let busy = false;
  sw.addEventListener("change", async () => {
    if (busy) return;
    err.textContent = "";
    const on = sw.checked;
    busy = true;
    sw.setAttribute("aria-busy", "true");
    try {
      if (on) {
        const r = await post("/api/sync/enable");
        sw.checked = !!r.syncEnabled;
        showChecks(document.getElementById("sync-test-result"), r.check);
      } else {
        await post("/api/sync/disable");
        sw.checked = false;
      }
    } catch (e) {
      sw.checked = !on; // never shown on when the hub refused
      err.textContent = e.message;
      if (e.body?.error?.check) showChecks(document.getElementById("sync-test-result"), e.body.error.check);
    } finally {
      busy = false;
      sw.removeAttribute("aria-busy");
    }
  });
  return h(
    "section.panel",
    h("h2", "Cloud backup"),
    h("label.switch", { for: "sync-enabled" }, sw, "Back up this shop to its Supabase project (off: this PC only)"),
    mayManageSync() ? null : h("p.hint", "Only the shop's owner or an admin turns cloud backup on or off."),
    err,
  );
}

async function featuresPanel() {
  const cost = await get("/api/sync/cost-estimate");
  const total = h("b#sync-cost-total", `$${cost.totalMonthlyUsd}`);
  const rows = cost.features.map((f) => {
    const id = `feat-${f.feature}`;
    const sw = h("input", { id, type: "checkbox", role: "switch", checked: !!f.enabled, disabled: !mayManageSync(), dataset: { feature: f.feature } });
    sw.addEventListener("change", async () => {
      try {
        await put("/api/sync/config", { features: { [f.feature]: sw.checked } });
        const c = await get("/api/sync/cost-estimate");
        total.textContent = `$${c.totalMonthlyUsd}`;
      } catch (err) {
        sw.checked = !sw.checked;
        toast(err.message);
      }
    });
    return h("li", h("label.switch", { for: id }, sw, f.label), h("span", { dataset: { costFor: f.feature } }, `$${f.monthlyUsd} a month`));
  });
  return h(
    "section.panel",
    h("h2", "Features"),
    h("ul.plain.features", rows),
    h("p", "Base plan: ", `$${cost.base.monthlyUsd} (${cost.base.includes}). Total each month: `, total),
  );
}

export async function render() {
  if (!maySeeSync()) {
    page("sync", h("h1", "Cloud Sync"), h("p.error", "Only owners, admins and managers see the cloud settings."));
    ready("sync");
    return;
  }
  const parts = [];
  const stops = [];
  rerender = async () => {
    const status = await get("/api/sync/status");
    const cfg = mayManageSync() ? await get("/api/sync/config") : null;
    const now = mayManageSync() ? h("button#sync-now", { type: "button" }, "Sync now") : null;
    now?.addEventListener("click", async () => {
      now.disabled = true;
      try {
        const r = await post("/api/sync/trigger");
        toast(outcomeText(r.outcome));
      } catch (err) {
        toast(err.message);
      } finally {
        now.disabled = false;
      }
    });
    for (const s of stops.splice(0)) s();
    const st = statusPanel(status, now);
    const q = queuePanel();
    const hi = historyPanel();
    stops.push(st.stop, q.stop, hi.stop);
    parts.splice(0, parts.length,
      masterSwitch(status),
      cfg ? h("section.panel", h("h2", "Credentials"), h("p.hint", "Stored on this hub only. Once saved, a secret is shown only as “set”."), credentialsForm(cfg)) : null,
      cfg ? testPanel() : null,
      st.el,
      await featuresPanel(),
      cfg ? timingForm(cfg) : null,
      q.el,
      hi.el,
    );
    page("sync", h("h1", "Settings → Cloud Sync"), parts);
    await Promise.all([q.load(), hi.load()]);
    ready("sync");
  };
  await rerender();
  return () => stops.forEach((s) => s());
}

/** A sync run's outcome in words. */
function outcomeText(o = {}) {
  if (o.disabled) return "Cloud backup is off: turn it on first.";
  if (o.not_ready || o.notReady) return `Not ready: ${o.not_ready || o.notReady}`;
  if (o.unreachable) return `The cloud could not be reached: ${o.unreachable}`;
  const parts = [`${o.pushed || 0} sent`];
  if (o.retried) parts.push(`${o.retried} to try again`);
  if (o.failed) parts.push(`${o.failed} failed`);
  if (o.more) parts.push("more waiting");
  return `Sync ran: ${parts.join(", ")}.`;
}
