// One record: view and edit (or create, at /records/<table>/new, prefilled from
// the query string), delete when the role may; below it what belongs to it
// (parts, labor and stage history of a repair order, lines of an estimate, …)
// and its change history.
import { h, page, ready, toast, human } from "../dom.js";
import { get, post, patch, del, listAll } from "../api.js";
import { table, may, user, session, setSession } from "../session.js";
import { buildForm } from "../form.js";
import { label, forget } from "../labels.js";
import { refMaps } from "./records.js";
import { titles } from "../format.js";
import { boardStages } from "../stages.js";
import { navigate } from "../router.js";
import { related, changes, roExtras } from "./related.js";
import * as live from "../live.js";
import { loadShop, drawShell } from "../shell.js";

const PARENTS = ["estimate_id", "repair_order_id", "invoice_id", "purchase_order_id"];

export async function render({ table: name, id, query }) {
  const t = table(name);
  const [plural, one] = titles(name);
  if (!t) {
    page("record", h("h1", plural), h("p.error", "Your role may not see these records."));
    ready("record");
    return;
  }
  const isNew = !id;
  if (isNew && t.access.insert === "none") {
    page("record", h("h1", `New ${one}`), h("p.error", `Your role may not add ${plural.toLowerCase()}.`));
    ready("record");
    return;
  }
  page("record", h("p", "Loading…"));
  forget();
  const refs = await refMaps(t.columns);
  const stages = t.columns.some((c) => c.type === "stage") ? await boardStages() : [];
  let rec = null;
  if (!isNew) {
    try {
      rec = await get(`/api/${name}/${id}`);
    } catch (err) {
      page("record", h("h1", `No such ${one}`), h("p.error", err.message), h("a", { href: `/records/${name}` }, `All ${plural.toLowerCase()}`));
      ready("record");
      return;
    }
  }
  const prefill = Object.fromEntries(query ? [...query.entries()] : []);
  // Rows a role may add only as its own (a technician's time): they are the caller's.
  const ownerCol = t.owner_column || "technician_id";
  if (isNew && t.access.insert === "own" && !prefill[ownerCol]) prefill[ownerCol] = user().id;
  if (isNew && name === "estimate_lines" && prefill.estimate_id && !prefill.line_number) {
    const lines = await listAll("estimate_lines", { estimate_id: prefill.estimate_id }).catch(() => []);
    prefill.line_number = 1 + Math.max(0, ...lines.map((l) => l.line_number || 0));
  }
  const extra = [];
  if (name === "users" && (isNew || t.access.update === "all")) {
    const text = isNew ? "Password (8 characters or more)" : "New password (leave empty to keep it)";
    extra.push(
      h(
        "div",
        h("label", { for: "f-password" }, text,
          h("input", { id: "f-password", name: "password", type: "password", autocomplete: "new-password", dataset: { extra: "1" } })),
        h("p.field-error", { dataset: { errorFor: "password" } }),
      ),
    );
  }
  const f = buildForm({ name, t, rec, prefill, refs, stages, extra, submitText: isNew ? `Create ${one}` : "Save changes" });
  let dirty = false;
  f.form.addEventListener("input", () => (dirty = true));
  f.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    f.clearErrors();
    const body = f.body();
    const button = f.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      if (isNew) {
        const made = await post(`/api/${name}`, body);
        navigate(`/records/${name}/${made.id}`);
      } else {
        if (!Object.keys(body).length) {
          toast("Nothing changed.");
          return;
        }
        await patch(`/api/${name}/${rec.id}`, { ...body, _base: rec._heads });
        toast("Saved.");
        if (name === "shops") await loadShop(); // the header shows its name
        if (name === "users" && rec.id === user()?.id && "display_name" in body) {
          // ...and yours.
          setSession({ ...session(), user: { ...user(), display_name: body.display_name } });
          drawShell();
        }
        navigate(location.pathname, { replace: true });
      }
    } catch (err) {
      f.showError(err);
    } finally {
      button.disabled = false;
    }
  });

  const title = isNew ? `New ${one}` : `${human(one)} ${label(name, rec)}`;
  // A shop sees only its own row: no list to go back to.
  const actions = h("div.actions", name === "shops" ? null : h("a", { href: `/records/${name}` }, `All ${plural.toLowerCase()}`));
  // The record this one belongs to (a line's estimate, a part's repair order, ...).
  const src = rec || prefill;
  for (const c of t.columns) {
    if (c.type === "ref" && PARENTS.includes(c.name) && src[c.name] && refs.get(c.ref)?.has(src[c.name])) {
      actions.prepend(h("a", { href: `/records/${c.ref}/${src[c.name]}` }, `${human(titles(c.ref)[1])} ${refs.get(c.ref).get(src[c.name])}`));
    }
  }
  if (!isNew && may(name, "delete")) {
    const b = h("button.danger", { type: "button" }, "Delete");
    b.addEventListener("click", async () => {
      if (!confirm(`Delete ${one} ${label(name, rec)}? This cannot be undone.`)) return;
      try {
        await del(`/api/${name}/${rec.id}`);
        navigate(`/records/${name}`);
      } catch (err) {
        toast(err.message);
      }
    });
    actions.append(b);
  }
  const sections = [];
  if (!isNew) {
    if (name === "users" && rec.id === user().id) sections.push(passwordPanel());
    if (name === "repair_orders") sections.push(...roExtras(rec, stages));
    sections.push(...related(name, rec));
    sections.push(changes(name, rec));
  }
  page("record", h("div.toolbar", h("h1", title), actions), h("section.panel", f.form), sections.map((s) => s.el));
  await Promise.all(sections.map((s) => s.load().catch((err) => s.fail?.(err))));
  const off = live.on((m) => {
    if (m.type !== "change" || isNew) return;
    for (const s of sections) if (s.wants?.(m)) s.load().catch(() => {});
    if (m.table === name && m.id === rec.id && m.author !== user().id) {
      // Changed elsewhere. An untouched form is drawn again with the new values;
      // an edited one keeps what its editor saw (its _base), so saving merges.
      if (!dirty) navigate(location.pathname + location.search, { replace: true });
      else f.showError({ message: "Someone else changed this record meanwhile: what you save is merged with it, and a field you both changed is kept as a conflict." });
    }
  });
  live.connect();
  ready("record");
  return off;
}

/** Changing one's own password (every other session of the account ends). */
function passwordPanel() {
  const error = h("p.error#password-error", { role: "alert" });
  const field = (name, text, auto) =>
    h("label", { for: `pw-${name}` }, text, h("input", { id: `pw-${name}`, name, type: "password", autocomplete: auto }));
  const form = h(
    "form#password-form",
    { novalidate: true },
    h("div.cols2", field("current_password", "Current password", "current-password"), field("new_password", "New password (8 characters or more)", "new-password")),
    h("div.actions", h("button", { type: "submit" }, "Change my password")),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const r = await post("/api/auth/password", {
        current_password: form.elements.current_password.value,
        new_password: form.elements.new_password.value,
      });
      setSession({ ...session(), token: r.token, expires_at: r.expires_at });
      form.reset();
      toast("Password changed. Your other sessions have ended.");
    } catch (err) {
      error.textContent = err.field ? `${err.field.replace("_", " ")}: ${err.message}` : err.message;
    }
  });
  return { el: h("section.panel", h("h2", "My password"), form), load: async () => {} };
}
