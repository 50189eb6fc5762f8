// How a column's value reads on screen, by the catalog's column type.
import { human, money, when } from "./dom.js";

/** Text for a value of column `col` (a catalog column); `refs` maps table → id → label. */
export function show(col, value, refs) {
  if (value === null || value === undefined || value === "") return "";
  switch (col?.type) {
    case "cents":
      return money(value);
    case "bool":
      return value ? "Yes" : "No";
    case "timestamp":
      return when(value);
    case "enum":
    case "stage":
      return human(value);
    case "ref":
      return refs?.get(col.ref)?.get(value) || String(value).slice(0, 8);
    case "json":
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

/** The columns a list of `table` shows, in order. */
export const SUMMARY = {
  customers: ["customer_number", "first_name", "last_name", "company_name", "phone", "email"],
  vehicles: ["customer_id", "year", "make", "model", "vin", "license_plate"],
  claims: ["claim_number", "customer_id", "insurance_company_id", "claim_status", "date_of_loss"],
  estimates: ["estimate_number", "customer_id", "vehicle_id", "estimate_status", "total_cents"],
  estimate_lines: ["line_number", "line_type", "description", "quantity", "total_cents"],
  repair_orders: ["ro_number", "customer_id", "vehicle_id", "stage", "ro_status", "priority"],
  purchase_orders: ["po_number", "vendor_id", "repair_order_id", "po_status", "total_cents"],
  invoices: ["invoice_number", "customer_id", "invoice_status", "total_cents", "balance_cents"],
  payments: ["invoice_id", "payment_method", "amount_cents", "payment_status", "received_at"],
  users: ["display_name", "email", "role", "active"],
  parts: ["description", "part_number", "part_status", "quantity_ordered", "quantity_received"],
  labor_entries: ["technician_id", "labor_type", "minutes", "approved"],
  production_stages: ["position", "name", "code", "category", "active"],
};

export function summaryColumns(name, t, max = 6) {
  const cols = t.columns.filter((c) => !t.private_columns.includes(c.name));
  const want = SUMMARY[name];
  if (want) return want.map((n) => cols.find((c) => c.name === n)).filter(Boolean);
  return cols.slice(0, max);
}

export const TITLES = {
  customers: ["Customers", "customer"],
  vehicles: ["Vehicles", "vehicle"],
  claims: ["Claims", "claim"],
  estimates: ["Estimates", "estimate"],
  estimate_lines: ["Estimate lines", "estimate line"],
  repair_orders: ["Repair orders", "repair order"],
  purchase_orders: ["Purchase orders", "purchase order"],
  invoices: ["Invoices", "invoice"],
  payments: ["Payments", "payment"],
  users: ["Users", "user"],
  parts: ["Parts", "part"],
  labor_entries: ["Labor", "labor entry"],
  production_stages: ["Board columns", "board column"],
  shops: ["Shops", "shop"],
  insurance_companies: ["Insurance companies", "insurance company"],
  vendors: ["Vendors", "vendor"],
  ro_stage_history: ["RO stage history", "RO stage move"],
  time_clock: ["Time clock", "time clock entry"],
  attachments: ["Attachments", "attachment"],
  signatures: ["Signatures", "signature"],
  loaner_vehicles: ["Loaner vehicles", "loaner vehicle"],
  loaner_reservations: ["Loaner reservations", "loaner reservation"],
  bms_imports: ["BMS imports", "BMS import"],
};

export function titles(name) {
  return TITLES[name] || [human(name), human(name).toLowerCase()];
}
