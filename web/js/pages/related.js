// What belongs to a record, shown under its form: each a section with a
// load() (and wants(message) to reload on a live change). A repair order's
// stage, stage history, parts and labor; an estimate's lines; an invoice's
// payments; a customer's vehicles; a purchase order's parts; and every
// record's change history.
import { h, human, when, columnLabel } from "../dom.js";
import { get, listAll, qs } from "../api.js";
import { table, may } from "../session.js";
import { show, summaryColumns, titles } from "../format.js";
import { refMaps } from "./records.js";

const CHILDREN = {
  repair_orders: [
    ["parts", "repair_order_id", "ro-parts"],
    ["labor_entries", "repair_order_id", "ro-labor"],
  ],
  estimates: [["estimate_lines", "estimate_id", "estimate-lines"]],
  invoices: [["payments", "invoice_id", "invoice-payments"]],
  customers: [["vehicles", "customer_id", "customer-vehicles"]],
  purchase_orders: [["parts", "purchase_order_id", "po-parts"]],
};

function section(id, title, ...rest) {
  const body = h("div", { id });
  return { el: h("section.panel", h("h2", title), ...rest, body), body };
}

/** A small table of the child records of `rec`, with an "Add" link. */
function childList(child, fk, id, rec) {
  const t = table(child);
  if (!t) return null;
  const [plural, one] = titles(child);
  const add = may(child, "insert")
    ? h("a.button.secondary", { href: `/records/${child}/new${qs({ [fk]: rec.id })}` }, `Add ${one}`)
    : null;
  const s = section(id, plural, add);
  const cols = summaryColumns(child, t, 5).filter((c) => c.name !== fk);
  s.load = async () => {
    const [rows, refs] = await Promise.all([listAll(child, { [fk]: rec.id }), refMaps(cols)]);
    if (!rows.length) {
      s.body.replaceChildren(h("p.hint", `No ${plural.toLowerCase()} yet.`));
      return;
    }
    s.body.replaceChildren(
      h(
        "table",
        h("thead", h("tr", cols.map((c) => h("th", { scope: "col" }, columnLabel(c.name))))),
        h(
          "tbody",
          rows.map((r) =>
            h(
              "tr",
              { dataset: { id: r.id } },
              cols.map((c, i) => {
                const v = show(c, r[c.name], refs) || (i === 0 ? "(open)" : "");
                return h("td", i === 0 ? h("a", { href: `/records/${child}/${r.id}` }, v) : v);
              }),
            ),
          ),
        ),
      ),
    );
  };
  s.wants = (m) => m.table === child && (m.fields?.[fk] === rec.id || !m.fields);
  s.fail = (err) => s.body.replaceChildren(h("p.error", err.message));
  return s;
}

export function related(name, rec) {
  return (CHILDREN[name] || []).map(([child, fk, id]) => childList(child, fk, id, rec)).filter(Boolean);
}

/** A repair order's current stage and its moves on the board. */
export function roExtras(rec, stages) {
  const stageName = (c) => stages.find((s) => s.code === c)?.name || human(c);
  const now = h("p.stage-now#ro-stage", { dataset: { stage: rec.stage } }, stageName(rec.stage));
  const stage = { el: h("section.panel", h("h2", "Stage"), now), load: async () => {} };
  stage.wants = (m) => m.table === "repair_orders" && m.id === rec.id && m.fields;
  stage.load = async () => {};
  const hist = section("ro-history", "Stage history");
  const list = h("ul.plain");
  hist.body.append(list);
  hist.load = async () => {
    const [rows, fresh] = await Promise.all([
      listAll("ro_stage_history", { repair_order_id: rec.id }),
      get(`/api/repair_orders/${rec.id}`),
    ]);
    now.textContent = stageName(fresh.stage);
    now.dataset.stage = fresh.stage;
    const users = (await refMaps([{ type: "ref", ref: "users" }])).get("users");
    rows.sort((a, b) => (a.moved_at < b.moved_at ? -1 : 1));
    list.replaceChildren(
      ...(rows.length
        ? rows.map((r) =>
            h(
              "li",
              { dataset: { from: r.from_stage || "", to: r.to_stage } },
              h("b", `${r.from_stage ? stageName(r.from_stage) : "(new)"} → ${stageName(r.to_stage)}`),
              ` — ${when(r.moved_at)}`,
              r.moved_by ? ` by ${users?.get(r.moved_by) || "someone"}` : "",
              r.reason ? ` (${r.reason})` : "",
            ),
          )
        : [h("li.hint", "Not moved yet.")]),
    );
  };
  hist.wants = (m) =>
    (m.table === "ro_stage_history" && m.fields?.repair_order_id === rec.id) ||
    (m.table === "repair_orders" && m.id === rec.id);
  return [stage, hist];
}

/** Every change of the record, oldest first: who, when, which fields, from where. */
export function changes(name, rec) {
  const id = name === "repair_orders" ? "ro-changes" : "record-changes";
  const s = section(id, "Change history");
  const list = h("ol.plain");
  s.body.append(list);
  s.load = async () => {
    const rows = [];
    let cursor = null;
    do {
      const p = await get(`/api/${name}/${rec.id}/history${qs({ limit: 500, cursor })}`);
      rows.push(...p.data);
      cursor = p.next_cursor;
    } while (cursor && rows.length < 2000);
    list.replaceChildren(
      ...rows.map((c) =>
        h(
          "li",
          { dataset: { seq: c.seq } },
          h("b", human(c.op)),
          ` ${when(c.at)} by ${c.author?.display_name || "the hub"}`,
          c.device ? ` on ${c.device}` : "",
          c.fields?.length ? h("div.hint", `Changed: ${c.fields.map(columnLabel).join(", ")}`) : null,
        ),
      ),
    );
  };
  s.wants = (m) => m.table === name && m.id === rec.id;
  s.fail = (err) => s.body.replaceChildren(h("p.error", err.message));
  return s;
}
