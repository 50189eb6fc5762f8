// The shop's board columns: its active production_stages by position, or the
// default board when it has none.
import { listAll } from "./api.js";
import { getCatalog } from "./session.js";
import { human } from "./dom.js";

export async function boardStages() {
  let rows = [];
  try {
    rows = await listAll("production_stages");
  } catch {}
  const active = rows.filter((r) => r.active !== false).sort((a, b) => a.position - b.position);
  if (active.length) return active.map((r) => ({ code: r.code, name: r.name }));
  const defaults = getCatalog()?.default_stages || [];
  return defaults.map((code) => ({ code, name: human(code) }));
}
