// Conflicts: fields two devices changed to different values at the same time.
// Each shows every value with who set it, on which device, and when; one tap
// keeps that value (POST /api/conflicts/{table}/{id}/resolve).
import { h, page, ready, human, when, columnLabel, toast } from "../dom.js";
import { get, post, qs } from "../api.js";
import { table } from "../session.js";
import { records, label } from "../labels.js";
import { titles } from "../format.js";
import * as live from "../live.js";

function valueText(t, field, v) {
  if (v === null || v === undefined) return "(empty)";
  const c = t?.columns.find((x) => x.name === field);
  if (c?.type === "cents") return (v / 100).toFixed(2);
  if (c?.type === "enum" || c?.type === "stage") return human(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

export async function render() {
  const list = h("div#conflicts-list", { "aria-live": "polite" });
  page(
    "conflicts",
    h("h1", "Conflicts"),
    h(
      "p.hint",
      "When two tablets or people change the same field at the same time while apart, both values are kept here until someone picks one.",
    ),
    list,
  );
  const users = new Map((await records("users").catch(() => [])).map((u) => [u.id, label("users", u)]));
  const recLabels = new Map();

  async function recordLabel(tbl, id) {
    const key = `${tbl}/${id}`;
    if (!recLabels.has(key)) {
      recLabels.set(key, get(`/api/${tbl}/${id}`).then((r) => label(tbl, r)).catch(() => id.slice(0, 8)));
    }
    return recLabels.get(key);
  }

  async function draw() {
    const rows = [];
    let cursor = null;
    do {
      const p = await get(`/api/conflicts${qs({ limit: 500, cursor })}`);
      rows.push(...p.data);
      cursor = p.next_cursor;
    } while (cursor && rows.length < 2000);
    if (!rows.length) {
      list.replaceChildren(h("p", "No conflicts. Everything agrees."));
      return;
    }
    const items = await Promise.all(
      rows.map(async (c) => {
        const t = table(c.table);
        const [, one] = titles(c.table);
        const name = await recordLabel(c.table, c.record_id);
        const details = Array.isArray(c.details) && c.details.length
          ? c.details
          : (c.candidates || []).map((value) => ({ value }));
        // Settling writes the field: only who may change that column (a
        // technician may not settle a repair order's money).
        const mayResolve = t && t.access.update !== "none" && (t.update_columns || []).includes(c.field);
        return h(
          "article.conflict",
          { dataset: { conflictId: `${c.table}/${c.record_id}/${c.field}`, table: c.table, recordId: c.record_id, field: c.field } },
          h(
            "h2",
            `${human(one)} `,
            h("a", { href: `/records/${c.table}/${c.record_id}` }, name),
            ` — ${columnLabel(c.field)}`,
          ),
          h("p.hint", `Table ${c.table}, field ${c.field}, found ${when(c.detected_at)}`),
          h(
            "div.candidates",
            details.map((d, i) => {
              const b = mayResolve
                ? h("button", { type: "button", dataset: { resolve: String(i) } }, `Keep “${valueText(t, c.field, d.value)}”`)
                : null;
              b?.addEventListener("click", async () => {
                b.disabled = true;
                try {
                  await post(`/api/conflicts/${c.table}/${c.record_id}/resolve`, { field: c.field, value: d.value });
                  toast("Resolved.");
                  await draw();
                } catch (err) {
                  b.disabled = false;
                  toast(err.message);
                }
              });
              return h(
                "div.candidate",
                h("span.value", valueText(t, c.field, d.value)),
                i === 0 ? h("span.hint", "Shown now") : null,
                h("span", `By ${users.get(d.author) || (d.author ? d.author.slice(0, 8) : "unknown")}`),
                h("span", `On ${d.device || "the hub"}`),
                d.at ? h("span", when(d.at)) : null,
                b,
              );
            }),
          ),
        );
      }),
    );
    list.replaceChildren(...items);
  }

  await draw();
  const off = live.on((m) => m.type === "conflict" && draw().catch(() => {}));
  live.connect();
  ready("conflicts");
  return off;
}
