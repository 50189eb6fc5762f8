// A record's form, drawn from the caller's catalog entry: one labelled control
// per column the caller may read (never a column hidden from them), read-only
// where the caller may not write it (and then never sent); API errors beside
// the field they name.
import { h, columnLabel, human } from "./dom.js";
import { user } from "./session.js";
import { show } from "./format.js";

const LONG = new Set(["notes", "description", "address", "error", "reason"]);

/** Whether the caller may write column `c` of `rec` (null: a new record). */
export function writable(t, c, rec) {
  if (!rec) return t.insert_columns ? t.insert_columns.includes(c.name) : t.access.insert !== "none";
  const me = user()?.id;
  const a = t.access.update;
  if (a === "none") return false;
  if (a === "self" && rec.id !== me) return false;
  if (a === "own" && rec[t.owner_column || "technician_id"] !== me) return false;
  return t.update_columns.includes(c.name);
}

function pad(n) {
  return String(n).padStart(2, "0");
}
function localInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function control(c, value, opts) {
  const id = `f-${c.name}`;
  const base = { id, name: c.name, "aria-describedby": `err-${c.name}` };
  let el;
  const options = (values, labelOf) => {
    const list = [];
    if (!c.required || value === null || value === undefined) list.push(h("option", { value: "" }, "—"));
    for (const v of values) list.push(h("option", { value: v }, labelOf(v)));
    if (value && !values.includes(value)) list.push(h("option", { value }, labelOf(value)));
    return list;
  };
  switch (c.type) {
    case "enum": {
      // The values the hub lets this role set, on a new record as on a change.
      const allowed = opts.t.update_values?.[c.name] || c.values;
      el = h("select", base, options(allowed, human));
      break;
    }
    case "stage":
      // A board column's own code is new text; elsewhere a stage is one of the board's.
      if (opts.name === "production_stages") {
        el = h("input", { ...base, type: "text", autocomplete: "off", placeholder: "lower-case letters, digits and _" });
        if (value) el.value = value;
        break;
      }
      el = h("select", base, options(opts.stages.map((s) => s.code), (v) => opts.stages.find((s) => s.code === v)?.name || human(v)));
      break;
    case "ref": {
      let m = opts.refs.get(c.ref) || new Map();
      if (opts.onlyMe === c.name) m = new Map([...m].filter(([id]) => id === user()?.id));
      const ids = [...m.keys()].sort((a, b) => m.get(a).localeCompare(m.get(b)));
      el = h("select", base, options(ids, (v) => m.get(v) || v.slice(0, 8)));
      break;
    }
    case "bool":
      el = h("input", { ...base, type: "checkbox", checked: !!value });
      return h("label.check", { for: id }, el, columnLabel(c.name));
    case "cents":
      el = h("input", { ...base, type: "number", step: "0.01", inputmode: "decimal", dataset: { cents: "1" } });
      if (value !== null && value !== undefined) el.value = (value / 100).toFixed(2);
      break;
    case "int":
      el = h("input", { ...base, type: "number", step: "1", inputmode: "numeric" });
      if (value !== null && value !== undefined) el.value = value;
      break;
    case "timestamp":
      el = h("input", { ...base, type: "datetime-local" });
      if (value) el.value = localInput(value);
      break;
    case "date":
      el = h("input", { ...base, type: "date" });
      if (value) el.value = value;
      break;
    case "email":
      el = h("input", { ...base, type: "email", autocomplete: "off" });
      if (value) el.value = value;
      break;
    default:
      el = LONG.has(c.name) ? h("textarea", base) : h("input", { ...base, type: "text" });
      if (value !== null && value !== undefined) el.value = value;
  }
  if (el.tagName === "SELECT") el.value = value ?? "";
  if (c.type === "cents") return h("label", { for: id }, `${columnLabel(c.name)} ($)`, el);
  return h("label", { for: id }, columnLabel(c.name), el);
}

/** The value a control holds, as the API wants it (a wrong one is sent as typed, so the API names it). */
function read(c, el) {
  if (c.type === "bool") return el.checked;
  const v = el.value.trim();
  if (v === "") return null;
  switch (c.type) {
    case "cents":
      return /^-?\d+(\.\d{0,2})?$/.test(v) ? Math.round(parseFloat(v) * 100) : v;
    case "int":
      return /^-?\d+$/.test(v) ? Number(v) : v;
    case "timestamp": {
      const d = new Date(v);
      return isNaN(d) ? v : d.toISOString();
    }
    default:
      return v;
  }
}

/**
 * buildForm({t, rec, prefill, refs, stages, extra}) → {form, body(), showError(err), clearErrors()}.
 * `extra` are controls appended before the submit button (e.g. a user's password).
 */
export function buildForm({ name, t, rec, prefill = {}, refs, stages, extra = [], submitText }) {
  const controls = [];
  const parts = [];
  const numbering = t.numbering;
  for (const c of t.columns) {
    const hidden = t.private_columns.includes(c.name) && !(rec && c.name in rec);
    if (hidden || c.type === "json") continue;
    // A new record's number defaults stay placeholders: typing replaces nothing.
    const numeric = c.type === "cents" || c.type === "int";
    const value = rec ? rec[c.name] : prefill[c.name] ?? (numeric ? null : c.default ?? null);
    const canWrite = writable(t, c, rec);
    let field;
    if (canWrite) {
      // A row the caller may add or change only as its own names the caller, no one else.
      const onlyMe = (rec ? t.access.update : t.access.insert) === "own" ? t.owner_column || "technician_id" : null;
      field = control(c, value, { name, t, rec, refs, stages, onlyMe });
      const el = field.querySelector("[name]");
      if (!rec && c.name === numbering) el.placeholder = "Given by the hub when left empty";
      if (!rec && numeric && c.default !== null && value === null) {
        el.placeholder = c.type === "cents" ? (c.default / 100).toFixed(2) : String(c.default);
      }
      controls.push({ c, el });
    } else {
      const id = `f-${c.name}`;
      field = h(
        "label",
        { for: id },
        columnLabel(c.name),
        h("input", { id, name: c.name, readonly: true, value: show(c, value, refs), dataset: { readonly: "1" } }),
      );
      if (!rec) continue; // a column the caller may not set on a new record is not offered
    }
    parts.push(
      h("div", { class: LONG.has(c.name) ? "wide" : "" }, field, h("p.field-error", { id: `err-${c.name}`, dataset: { errorFor: c.name } })),
    );
  }
  const formError = h("p.error#form-error", { role: "alert" });
  const submit = controls.length || extra.length ? h("button", { type: "submit" }, submitText || "Save") : null;
  const form = h(
    "form#record-form",
    { novalidate: true },
    h("div.grid-form", parts, extra),
    h("div.actions", submit),
    formError,
  );

  function body() {
    const out = {};
    for (const { c, el } of controls) {
      const v = read(c, el);
      if (rec) {
        const old = rec[c.name] ?? null;
        // A timestamp is shown to the minute: unchanged if the minute is the same.
        if (v === old || (c.type === "timestamp" && old && el.value === localInput(old))) continue;
      } else if (v === null || (v === false && c.default === null)) {
        continue;
      }
      out[c.name] = v;
    }
    for (const el of form.querySelectorAll("[data-extra]")) {
      if (el.value) out[el.name] = el.value;
    }
    return out;
  }

  function clearErrors() {
    formError.textContent = "";
    for (const p of form.querySelectorAll("[data-error-for]")) p.textContent = "";
  }

  function showError(err) {
    clearErrors();
    let field = err.field;
    let message = err.message || String(err);
    const m = /^([a-z_]+): (.*)$/s.exec(message);
    if (!field && m) field = m[1];
    if (field && m && m[1] === field) message = m[2];
    const slot = field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (slot) {
      slot.textContent = message;
      slot.closest("div")?.querySelector("[name]")?.focus();
      formError.textContent = `Please check ${columnLabel(field)}.`;
    } else {
      formError.textContent = field ? `${columnLabel(field)}: ${message}` : message;
    }
  }

  return { form, body, showError, clearErrors };
}
