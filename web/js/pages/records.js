// A table's records: search (over what is shown) and pages of 25. The records
// the caller may read are loaded newest first (500 a request, up to
// MAX_LOADED) so search needs no round trip; past that many, a search also asks
// the hub (`?q=`), which finds the older ones too.
import { h, page, ready, columnLabel } from "../dom.js";
import { get, listAll, qs, NEWEST } from "../api.js";
import { table, may } from "../session.js";
import { records, label, forget } from "../labels.js";
import { show, summaryColumns, titles } from "../format.js";
import { navigate } from "../router.js";
import * as live from "../live.js";

const PAGE = 25;

/** The label maps of every table the columns reference. */
export async function refMaps(cols) {
  const refs = new Map();
  await Promise.all(
    [...new Set(cols.filter((c) => c.type === "ref").map((c) => c.ref))].map(async (t) => {
      const rows = await records(t).catch(() => []);
      refs.set(t, new Map(rows.map((r) => [r.id, label(t, r)])));
    }),
  );
  return refs;
}

export async function render({ table: name }) {
  const t = table(name);
  const [plural, one] = titles(name);
  if (!t) {
    page("records", h("h1", plural), h("p.error", "Your role may not see these records."));
    ready("records");
    return;
  }
  forget();
  const cols = summaryColumns(name, t);
  const search = h("input#search", { type: "search", autocomplete: "off", placeholder: "Type to filter" });
  const tbody = h("tbody");
  const prev = h("button.secondary#prev-page", { type: "button" }, "Previous");
  const next = h("button.secondary#next-page", { type: "button" }, "Next");
  const where = h("span.hint", { "aria-live": "polite" });
  page(
    "records",
    h(
      "div.toolbar",
      h("h1", plural),
      h("label.inline", "Search ", search),
      may(name, "insert") ? h("a.button#new-record", { href: `/records/${name}/new` }, `New ${one}`) : null,
    ),
    h(
      "table#records-list",
      h("thead", h("tr", cols.map((c) => h("th", { scope: "col" }, columnLabel(c.name))))),
      tbody,
    ),
    h("div.pager", prev, next, where),
  );

  // Newest first: what the shop is working on now.
  const loaded = await listAll(name, NEWEST);
  const more = loaded.truncated;
  const rows = loaded.sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0));
  const refs = await refMaps(cols);
  // A board column's code is shown as typed; the columns in board order.
  const cell = (c, v) => (name === "production_stages" && c.name === "code" ? v ?? "" : show(c, v, refs));
  if (name === "production_stages") rows.sort((a, b) => a.position - b.position);
  let at = 0;
  let text = new Map();
  const textOf = (r) => {
    if (!text.has(r.id)) text.set(r.id, cols.map((c) => cell(c, r[c.name])).join(" ").toLowerCase());
    return text.get(r.id);
  };

  // What the hub found for a search (`asked`) beyond the loaded records.
  let asked = "";
  let found = [];
  let timer = null;
  async function ask(q) {
    const answer = await get(`/api/${name}${qs({ ...NEWEST, q, limit: 500 })}`).catch(() => null);
    if (search.value.trim().toLowerCase() !== q) return; // typed on since
    const have = new Set(rows.map((r) => r.id));
    asked = q;
    found = answer ? answer.data.filter((r) => !have.has(r.id)) : [];
    draw();
  }

  function draw() {
    const q = search.value.trim().toLowerCase();
    const hits = q ? rows.filter((r) => textOf(r).includes(q)).concat(q === asked ? found : []) : rows;
    if (at >= hits.length) at = Math.max(0, Math.floor((hits.length - 1) / PAGE) * PAGE);
    const frag = document.createDocumentFragment();
    for (const r of hits.slice(at, at + PAGE)) {
      const tr = h(
        "tr",
        { dataset: { id: r.id } },
        cols.map((c, i) =>
          h("td", i === 0 ? h("a", { href: `/records/${name}/${r.id}` }, String(cell(c, r[c.name])) || "(open)") : cell(c, r[c.name])),
        ),
      );
      tr.addEventListener("click", (e) => {
        if (!e.target.closest("a")) navigate(`/records/${name}/${r.id}`);
      });
      frag.append(tr);
    }
    if (!hits.length) frag.append(h("tr", h("td", { colspan: cols.length }, q ? "Nothing matches." : `No ${plural.toLowerCase()} yet.`)));
    tbody.replaceChildren(frag);
    prev.disabled = at === 0;
    next.disabled = at + PAGE >= hits.length;
    const span = `${at + 1}–${Math.min(at + PAGE, hits.length)}`;
    where.textContent = !hits.length
      ? ""
      : more && !q
        ? `${span} of the newest ${hits.length}; search to find older ones`
        : `${span} of ${hits.length}`;
  }

  search.addEventListener("input", () => {
    at = 0;
    draw();
    if (!more) return;
    clearTimeout(timer);
    const q = search.value.trim().toLowerCase();
    if (q && q.length <= 100) timer = setTimeout(() => ask(q), 250);
  });
  prev.addEventListener("click", () => {
    at = Math.max(0, at - PAGE);
    draw();
  });
  next.addEventListener("click", () => {
    at += PAGE;
    draw();
  });
  draw();
  const off = live.on((m) => {
    if (m.type !== "change" || m.table !== name) return;
    text.delete(m.id);
    const i = rows.findIndex((r) => r.id === m.id);
    if (!m.fields) {
      if (i >= 0) rows.splice(i, 1);
    } else if (i >= 0) rows[i] = m.fields;
    else rows.unshift(m.fields);
    draw();
  });
  live.connect();
  ready("records");
  return off;
}
