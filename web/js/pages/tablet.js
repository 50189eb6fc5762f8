// Bay-tablet mode: big targets, the signed-in user's repair orders (every open
// one when none is assigned to them), move stage, mark parts received, add
// notes, clock in and out. Writes go over the WebSocket through the outbox
// (IndexedDB), so they wait there while the hub is away and replay, once each,
// when it is back. The last data seen is kept for a start without the hub.
import { h, page, ready, human, when, toast, uuid } from "../dom.js";
import { get, listAll, NEWEST } from "../api.js";
import { user, table } from "../session.js";
import { label } from "../labels.js";
import { boardStages } from "../stages.js";
import * as live from "../live.js";
import * as outbox from "../outbox.js";

const DONE_PARTS = ["received", "inspected", "installed", "returned", "cancelled"];

async function load(me) {
  const [stages, all, clock] = await Promise.all([
    boardStages(),
    listAll("repair_orders", NEWEST),
    listAll("time_clock", { technician_id: me, status: "clocked_in" }).catch(() => []),
  ]);
  const open = all.filter((r) => !["archived", "cancelled"].includes(r.ro_status));
  let ros = open.filter((r) => r.primary_technician_id === me);
  const mineOnly = ros.length > 0;
  if (!mineOnly) ros = open.filter((r) => r.stage !== "delivered").slice(0, 60);
  // Urgent work first; delivered cars last.
  const rank = (r) => (r.stage === "delivered" ? 10 : 0) + ["urgent", "high", "normal", "low"].indexOf(r.priority || "normal");
  ros.sort((a, b) => rank(a) - rank(b));
  const ids = new Set(ros.map((r) => r.id));
  const [parts, customers, vehicles] = await Promise.all([
    ros.length ? listAll("parts", NEWEST).then((p) => p.filter((x) => ids.has(x.repair_order_id))) : [],
    listAll("customers", NEWEST).catch(() => []),
    listAll("vehicles", NEWEST).catch(() => []),
  ]);
  const need = (key) => new Set(ros.map((r) => r[key]));
  const cs = need("customer_id");
  const vs = need("vehicle_id");
  return {
    stages,
    mineOnly,
    ros,
    parts,
    shift: clock[0] || null,
    names: {
      customers: Object.fromEntries(customers.filter((c) => cs.has(c.id)).map((c) => [c.id, label("customers", c)])),
      vehicles: Object.fromEntries(vehicles.filter((v) => vs.has(v.id)).map((v) => [v.id, label("vehicles", v)])),
    },
  };
}

export async function render() {
  const me = user().id;
  const cacheKey = `tablet:${me}`;
  const pending = h("span.pending#pending-count", { dataset: { count: "0" }, "aria-live": "polite" }, "0");
  const clock = h("button#clock", { type: "button" }, "Clock in");
  const list = h("div#my-ros");
  const scope = h("p.hint");
  page(
    "tablet",
    h(
      "div.tablet",
      h(
        "div.top",
        h("h1", "My repair orders"),
        h("span", "Waiting to send: ", pending),
        clock,
      ),
      scope,
      list,
    ),
  );

  let st;
  try {
    st = await load(me);
    outbox.kvSet(cacheKey, st).catch(() => {});
  } catch (err) {
    st = await outbox.kvGet(cacheKey).catch(() => null);
    if (!st) {
      list.replaceChildren(h("p.error", `The hub cannot be reached and this tablet has nothing saved yet: ${err.message}`));
      ready("tablet");
      return;
    }
    toast("The hub cannot be reached: showing what this tablet saw last.");
  }
  const save = () => outbox.kvSet(cacheKey, st).catch(() => {});
  scope.textContent = st.mineOnly
    ? "Repair orders assigned to you."
    : "None is assigned to you, so every open repair order is shown.";
  const roTable = table("repair_orders");
  const canMove = roTable?.update_columns.includes("stage");
  const canNote = roTable?.update_columns.includes("notes");
  const canPart = table("parts")?.update_columns.includes("part_status");
  const stageName = (c) => st.stages.find((s) => s.code === c)?.name || human(c);

  function drawClock() {
    clock.textContent = st.shift ? "Clock out" : "Clock in";
    clock.dataset.in = st.shift ? "1" : "0";
    clock.title = st.shift ? `Clocked in ${when(st.shift.clock_in)}` : "Not clocked in";
  }

  function card(r) {
    const sel = h("select", { id: `move-${r.id}`, dataset: { move: "" } }, st.stages.map((s) => h("option", { value: s.code }, s.name)));
    if (!st.stages.some((s) => s.code === r.stage)) sel.append(h("option", { value: r.stage }, human(r.stage)));
    sel.value = r.stage;
    sel.disabled = !canMove;
    const moveBtn = h("button", { type: "button", dataset: { action: "move" }, disabled: !canMove }, "Move");
    moveBtn.addEventListener("click", () => {
      if (sel.value !== r.stage) send("repair_orders", r, { stage: sel.value });
    });
    const note = h("textarea", { id: `note-${r.id}`, name: "note", rows: 2 });
    const noteBtn = h("button", { type: "button", dataset: { action: "note" }, disabled: !canNote }, "Add note");
    noteBtn.addEventListener("click", () => {
      const text = note.value.trim();
      if (!text) return note.focus();
      const line = `[${new Date().toLocaleString()} ${user().display_name}] ${text}`;
      send("repair_orders", r, { notes: r.notes ? `${r.notes}\n${line}` : line });
      note.value = "";
    });
    const parts = st.parts.filter((p) => p.repair_order_id === r.id);
    const partItems = parts.map((p) => {
      const done = DONE_PARTS.includes(p.part_status);
      const b = done
        ? h("span.ok", human(p.part_status))
        : h("button.secondary", { type: "button", dataset: { action: "part-received", partId: p.id }, disabled: !canPart }, "Received");
      if (!done) {
        b.addEventListener("click", () =>
          send("parts", p, { part_status: "received", quantity_received: p.quantity_ordered ?? 1 }),
        );
      }
      return h("li", { dataset: { partId: p.id } }, h("span", `${p.description}${p.part_number ? ` (${p.part_number})` : ""}`), b);
    });
    return h(
      "article.card",
      { dataset: { roId: r.id, priority: r.priority || "normal" } },
      h("h3", `${r.ro_number} · ${stageName(r.stage)}`),
      h("p.vehicle", st.names.vehicles[r.vehicle_id] || "No vehicle"),
      h("p.customer", st.names.customers[r.customer_id] || ""),
      r.hold_reason ? h("p.hold", `On hold: ${human(r.hold_reason)}`) : null,
      h("div.row", h("label", { for: `move-${r.id}` }, "Move to", sel), moveBtn),
      parts.length ? h("div", h("h4", "Parts"), h("ul.plain.parts", partItems)) : h("p.hint", "No parts on this order."),
      h("div.row", h("label", { for: `note-${r.id}` }, "Note", note), noteBtn),
      r.notes ? h("details", h("summary", "Notes so far"), h("p.notes", r.notes)) : null,
    );
  }

  function draw() {
    const typing = document.activeElement?.closest?.("#my-ros") ? document.activeElement.id : null;
    const drafts = new Map([...list.querySelectorAll("textarea")].map((t) => [t.id, t.value]));
    const frag = document.createDocumentFragment();
    for (const r of st.ros) frag.append(card(r));
    if (!st.ros.length) frag.append(h("p", "No repair orders to show."));
    list.replaceChildren(frag);
    for (const [id, v] of drafts) if (v && document.getElementById(id)) document.getElementById(id).value = v;
    if (typing) document.getElementById(typing)?.focus();
    drawClock();
  }

  /** Applies a write here at once, then queues it for the hub. */
  async function send(tbl, rec, fields, op = "update") {
    const base = rec._heads && rec._heads.length ? rec._heads : undefined;
    const list = tbl === "repair_orders" ? st.ros : tbl === "parts" ? st.parts : null;
    if (list) {
      const i = list.findIndex((x) => x.id === rec.id);
      if (i >= 0) list[i] = { ...list[i], ...fields };
    }
    save();
    draw();
    await outbox.enqueue({ table: tbl, id: rec.id, op, fields, ...(op === "update" && base ? { base } : {}) });
  }

  clock.addEventListener("click", async () => {
    const now = new Date().toISOString();
    if (st.shift) {
      const shift = st.shift;
      st.shift = null;
      await send("time_clock", shift, { clock_out: now, status: "clocked_out" });
    } else {
      const id = uuid();
      st.shift = { id, technician_id: me, clock_in: now, status: "clocked_in" };
      await send("time_clock", { id }, { technician_id: me, clock_in: now, status: "clocked_in" }, "create");
    }
  });

  const offCount = outbox.onCount((n) => {
    pending.textContent = String(n);
    pending.dataset.count = String(n);
  });
  /** A change the hub refused is undone here: the record as the hub holds it
   * (gone if the hub never had it), so the tablet never shows what the hub
   * does not hold. Anything else unclear: everything read again. */
  async function undo(w) {
    let fresh = null;
    try {
      fresh = await get(`/api/${w.table}/${encodeURIComponent(w.id)}`);
    } catch (err) {
      if (err.status !== 404) {
        try {
          Object.assign(st, await load(me));
        } catch {
          return;
        }
        save();
        draw();
        return;
      }
    }
    const list = w.table === "repair_orders" ? st.ros : w.table === "parts" ? st.parts : null;
    if (list) {
      const i = list.findIndex((x) => x.id === w.id);
      if (i >= 0 && fresh) list[i] = fresh;
      else if (i >= 0) list.splice(i, 1);
    } else if (w.table === "time_clock" && (st.shift?.id === w.id || !st.shift)) {
      st.shift = fresh && fresh.status !== "clocked_out" ? fresh : null;
    }
    save();
    draw();
  }
  const offRefused = outbox.onRefused((w, err) => {
    toast(`The hub refused a change (${w.table}): ${err.message}`);
    undo(w);
  });
  const offLive = live.on((m) => {
    if (m.type !== "change" || !m.fields) return;
    if (m.table === "repair_orders") {
      const i = st.ros.findIndex((r) => r.id === m.id);
      if (i >= 0) st.ros[i] = m.fields;
      else if (m.fields.primary_technician_id === me) st.ros.unshift(m.fields);
      else return;
    } else if (m.table === "parts") {
      const i = st.parts.findIndex((p) => p.id === m.id);
      if (i >= 0) st.parts[i] = m.fields;
      else if (st.ros.some((r) => r.id === m.fields.repair_order_id)) st.parts.push(m.fields);
      else return;
    } else if (m.table === "time_clock" && m.fields.technician_id === me) {
      st.shift = m.fields.status === "clocked_out" ? null : m.fields;
    } else return;
    save();
    draw();
  });
  draw();
  live.connect();
  outbox.flush();
  ready("tablet");
  return () => {
    offCount();
    offRefused();
    offLive();
  };
}
