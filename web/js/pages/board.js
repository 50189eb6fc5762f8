// The production board: repair orders in columns by stage, live over the
// WebSocket. A card moves by drag-and-drop or by its "Move to" select (the
// keyboard and touch path); filters by technician and priority.
import { h, page, ready, human, toast, when } from "../dom.js";
import { listAll, patch, NEWEST } from "../api.js";
import { table, role, user, may } from "../session.js";
import { label } from "../labels.js";
import { boardStages } from "../stages.js";
import * as live from "../live.js";

const PRIORITIES = ["urgent", "high", "normal", "low"];

export async function render() {
  const filterTech = h("select#filter-technician", h("option", { value: "" }, "Everyone"));
  const filterPrio = h(
    "select#filter-priority",
    h("option", { value: "" }, "Any priority"),
    PRIORITIES.map((p) => h("option", { value: p }, human(p))),
  );
  const board = h("div#board", { "aria-label": "Production board" });
  page(
    "board",
    h(
      "div.toolbar",
      h("h1", "Production board"),
      h("label.inline", "Technician ", filterTech),
      h("label.inline", "Priority ", filterPrio),
      may("production_stages", "insert") ? h("a", { href: "/records/production_stages" }, "Board columns") : null,
    ),
    board,
  );

  // Archived and cancelled orders are off the board (they stay in Records).
  const OFF = ["archived", "cancelled"];
  const [stages, ros, customers, vehicles, users] = await Promise.all([
    boardStages(),
    listAll("repair_orders", NEWEST).then((all) => all.filter((r) => !OFF.includes(r.ro_status))),
    listAll("customers", NEWEST).catch(() => []),
    listAll("vehicles", NEWEST).catch(() => []),
    listAll("users", NEWEST).catch(() => []),
  ]);
  const names = {
    customers: new Map(customers.map((r) => [r.id, label("customers", r)])),
    vehicles: new Map(vehicles.map((r) => [r.id, label("vehicles", r)])),
    users: new Map(users.map((r) => [r.id, label("users", r)])),
  };
  const ro = table("repair_orders");
  const canMove = ro && ro.update_columns.includes("stage");
  const byId = new Map();
  const gone = new Set();
  const columns = new Map();

  const moveTemplate = h(
    "select",
    { dataset: { move: "" } },
    stages.map((s) => h("option", { value: s.code }, s.name)),
  );

  function column(code) {
    if (columns.has(code)) return columns.get(code);
    const s = stages.find((x) => x.code === code) || { code, name: human(code) };
    const count = h("span.count", "0");
    const list = h("div.cards");
    const sec = h(
      "section.column",
      { dataset: { stage: code }, "aria-label": s.name },
      h("h2", h("span", s.name), count),
      list,
    );
    sec.addEventListener("dragover", (e) => {
      if (!canMove) return;
      e.preventDefault();
      sec.classList.add("over");
    });
    sec.addEventListener("dragleave", () => sec.classList.remove("over"));
    sec.addEventListener("drop", (e) => {
      e.preventDefault();
      sec.classList.remove("over");
      const id = e.dataTransfer.getData("text/plain");
      if (id && byId.has(id)) move(id, code);
    });
    const c = { sec, list, count };
    columns.set(code, c);
    if (!stages.some((x) => x.code === code)) {
      const opt = h("option", { value: code }, s.name);
      moveTemplate.append(opt);
    }
    board.append(sec);
    return c;
  }

  function cardFor(r) {
    const sel = moveTemplate.cloneNode(true);
    sel.disabled = !canMove;
    sel.addEventListener("change", () => move(r.id, sel.value));
    const selId = `move-${r.id}`;
    sel.id = selId;
    const tech = r.primary_technician_id ? names.users.get(r.primary_technician_id) || "" : "";
    const card = h(
      "article.card",
      {
        dataset: { roId: r.id, priority: r.priority || "normal", tech: r.primary_technician_id || "" },
        draggable: canMove,
      },
      h("h3", h("a", { href: `/records/repair_orders/${r.id}` }, r.ro_number)),
      h("p.vehicle", names.vehicles.get(r.vehicle_id) || "No vehicle"),
      h("p.customer", names.customers.get(r.customer_id) || ""),
      h(
        "p.meta",
        h("span.priority", { dataset: { priority: r.priority || "normal" } }, human(r.priority || "normal")),
        tech ? h("span.tech", tech) : null,
      ),
      r.hold_reason ? h("p.hold", { title: "On hold" }, `On hold: ${human(r.hold_reason)}`) : null,
      r.promised_at
        ? h("p.promised", { dataset: { late: Date.parse(r.promised_at) < Date.now() && r.stage !== "delivered" ? "1" : "0" } }, `Promised ${when(r.promised_at)}`)
        : null,
      h("div.move", h("label", { for: selId }, "Move to"), sel),
    );
    sel.value = r.stage;
    card.addEventListener("dragstart", (e) => {
      e.dataTransfer.setData("text/plain", r.id);
      e.dataTransfer.effectAllowed = "move";
      card.classList.add("dragging");
    });
    card.addEventListener("dragend", () => card.classList.remove("dragging"));
    return card;
  }

  /** Shows `r`; an older copy than the one shown is ignored unless `force` (a local move). */
  function place(r, force = false) {
    const old = byId.get(r.id);
    if (!force && old && !old.rec._local && old.rec.updated_at > r.updated_at) return;
    const card = cardFor(r);
    if (old) old.card.remove();
    byId.set(r.id, { rec: r, card });
    column(r.stage).list.prepend(card);
    applyFilter(card);
  }

  function unplace(id) {
    const old = byId.get(id);
    if (old) old.card.remove();
    byId.delete(id);
  }

  function counts() {
    for (const [, c] of columns) {
      c.count.textContent = String(c.list.querySelectorAll(".card:not([hidden])").length);
    }
  }

  function applyFilter(card) {
    const t = filterTech.value;
    const p = filterPrio.value;
    card.hidden = !!((t && card.dataset.tech !== t) || (p && card.dataset.priority !== p));
  }

  async function move(id, stage) {
    const entry = byId.get(id);
    if (!entry || entry.rec.stage === stage) return;
    const before = entry.rec;
    place({ ...before, stage, _local: true }, true);
    try {
      const rec = await patch(`/api/repair_orders/${id}`, { stage });
      place(rec);
    } catch (err) {
      place(before, true);
      toast(`Could not move ${before.ro_number}: ${err.message}`);
    }
    counts();
    byId.get(id)?.card.querySelector("select[data-move]")?.focus();
  }

  // First render: every column, every card, in one fragment.
  for (const s of stages) column(s.code);
  const frags = new Map();
  ros.sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  for (const r of ros) {
    if (!columns.has(r.stage)) column(r.stage);
    if (!frags.has(r.stage)) frags.set(r.stage, document.createDocumentFragment());
    const card = cardFor(r);
    byId.set(r.id, { rec: r, card });
    frags.get(r.stage).append(card);
  }
  for (const [code, frag] of frags) columns.get(code).list.append(frag);

  // Filters: technicians who have cards, and every technician.
  const techIds = new Set(ros.map((r) => r.primary_technician_id).filter(Boolean));
  for (const u of users) if (u.role === "technician") techIds.add(u.id);
  const mine = user()?.id;
  filterTech.append(
    ...[...techIds]
      .map((id) => [id, names.users.get(id) || id.slice(0, 8)])
      .sort((a, b) => a[1].localeCompare(b[1]))
      .map(([id, n]) => h("option", { value: id }, id === mine ? `${n} (me)` : n)),
  );
  const refilter = () => {
    for (const { card } of byId.values()) applyFilter(card);
    counts();
  };
  filterTech.addEventListener("change", refilter);
  filterPrio.addEventListener("change", refilter);
  if (role() === "technician" && mine) filterTech.value = "";
  counts();

  const off = live.on((m) => {
    if (m.type !== "change") return;
    if (m.table === "repair_orders") {
      if (!m.fields || OFF.includes(m.fields.ro_status)) {
        if (!m.fields) gone.add(m.id);
        unplace(m.id);
      } else if (!gone.has(m.id)) {
        place(m.fields);
      }
      counts();
    } else if (["customers", "vehicles", "users"].includes(m.table) && m.fields) {
      names[m.table].set(m.id, label(m.table, m.fields));
      for (const { rec } of [...byId.values()]) {
        if ([rec.customer_id, rec.vehicle_id, rec.primary_technician_id].includes(m.id)) {
          place(rec, true);
        }
      }
    }
  });
  live.connect();
  ready("board");
  return off;
}
