// Small DOM helpers shared by every page: an element builder, labels for
// codes and money, and the page-ready marker the browser tests wait on.

/** h("tag.class#id", {attrs, on: {event: fn}}, ...children) */
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec) || [];
  const el = document.createElement(m[1] || "div");
  for (const part of (m[2] || "").match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** "parts_ordering" → "Parts ordering" */
export function human(code) {
  if (code === null || code === undefined || code === "") return "";
  const s = String(code).replace(/_/g, " ");
  return s[0].toUpperCase() + s.slice(1);
}

/** Columns whose `_id` is part of the name, not a reference. */
const NAMED_IDS = { tax_id: "Tax ID", tax_id_secondary: "Second tax ID" };

/** A column name as a label: "primary_technician_id" → "Primary technician". */
export function columnLabel(name) {
  if (NAMED_IDS[name]) return NAMED_IDS[name];
  return human(name.replace(/_cents$/, "").replace(/_id$/, "").replace(/_at$/, ""))
    .replace(/\bVin\b/, "VIN").replace(/\bRo\b/, "RO").replace(/\bPo\b/, "PO");
}

export function money(cents) {
  if (cents === null || cents === undefined || cents === "") return "";
  return (Number(cents) / 100).toLocaleString(undefined, { style: "currency", currency: "USD" });
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Replaces the page's content and names the page (not ready yet). */
export function page(name, ...children) {
  document.body.dataset.ready = "0";
  document.body.dataset.page = name;
  const main = $("#main");
  main.replaceChildren(...children.flat().filter(Boolean));
  return main;
}

/** The page has finished its first render (the tests wait on this). */
export function ready(name) {
  document.body.dataset.page = name;
  document.body.dataset.ready = "1";
}

let toastTimer;
/** A short message at the bottom of the screen. */
export function toast(text) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

/** A form's values as an object of strings. */
export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

/** A unique id (UUID v4) for client-minted records and operation ids. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
