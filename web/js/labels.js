// Human labels for records (what a foreign-key select or a card shows), and a
// per-page memo of the lists they come from.
import { listAll, NEWEST } from "./api.js";
import { may } from "./session.js";

const LABEL = {
  customers: (r) =>
    [r.first_name, r.last_name].filter(Boolean).join(" ") || r.company_name || r.customer_number,
  vehicles: (r) => [r.year, r.make, r.model].filter(Boolean).join(" ") || r.vin || "Vehicle",
  users: (r) => r.display_name || r.email,
  repair_orders: (r) => r.ro_number,
  estimates: (r) => r.estimate_number,
  claims: (r) => r.claim_number,
  invoices: (r) => r.invoice_number,
  purchase_orders: (r) => r.po_number,
  vendors: (r) => r.name,
  insurance_companies: (r) => r.name,
  estimate_lines: (r) => `#${r.line_number} ${r.description || r.line_type}`,
  attachments: (r) => r.file_name,
  loaner_vehicles: (r) => r.unit_number,
  production_stages: (r) => r.name,
  shops: (r) => r.name,
};

export function label(table, rec) {
  if (!rec) return "";
  const f = LABEL[table];
  const s = f ? f(rec) : null;
  return s ? String(s) : rec.id.slice(0, 8);
}

let memo = new Map();

/** Forgets the lists (a new page, or a record was written). */
export function forget() {
  memo = new Map();
}

/** Every record of `table` the caller may read (memoised for the page). */
export function records(table) {
  if (!may(table, "read")) return Promise.resolve([]);
  if (!memo.has(table)) {
    memo.set(table, listAll(table, NEWEST).catch((e) => {
      memo.delete(table);
      throw e;
    }));
  }
  return memo.get(table);
}

/** A map id → label for `table`. */
export async function labels(table) {
  const rows = await records(table);
  return new Map(rows.map((r) => [r.id, label(table, r)]));
}
