-- Indexes whose first column may be NULL leave NULL out. The hub looks rows up
-- in them by equality only (`col = ?`, which implies `col IS NOT NULL`, so
-- SQLite still uses them), and a record whose reference is unset (a repair
-- order without a claim, an estimate or a technician yet) then costs no entry
-- in them: fewer bytes per record, and fewer pages for its write to dirty and
-- fsync. The catalog renders the same (`domain::ddl::sqlite_indexes`); a test
-- compares a new database's indexes with it.
DROP INDEX customers_by_last_name_id;
CREATE INDEX customers_by_last_name_id ON customers (shop_id, last_name, id) WHERE last_name IS NOT NULL;
DROP INDEX vehicles_by_customer_id_id;
CREATE INDEX vehicles_by_customer_id_id ON vehicles (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX vehicles_by_vin_id;
CREATE INDEX vehicles_by_vin_id ON vehicles (shop_id, vin, id) WHERE vin IS NOT NULL;
DROP INDEX claims_by_customer_id_id;
CREATE INDEX claims_by_customer_id_id ON claims (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX claims_by_vehicle_id;
CREATE INDEX claims_by_vehicle_id ON claims (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX claims_by_insurance_company_id;
CREATE INDEX claims_by_insurance_company_id ON claims (shop_id, insurance_company_id) WHERE insurance_company_id IS NOT NULL;
DROP INDEX estimates_by_customer_id_id;
CREATE INDEX estimates_by_customer_id_id ON estimates (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX estimates_by_vehicle_id;
CREATE INDEX estimates_by_vehicle_id ON estimates (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX estimates_by_claim_id;
CREATE INDEX estimates_by_claim_id ON estimates (shop_id, claim_id) WHERE claim_id IS NOT NULL;
DROP INDEX repair_orders_by_customer_id_id;
CREATE INDEX repair_orders_by_customer_id_id ON repair_orders (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX repair_orders_by_primary_technician_id_id;
CREATE INDEX repair_orders_by_primary_technician_id_id ON repair_orders (shop_id, primary_technician_id, id) WHERE primary_technician_id IS NOT NULL;
DROP INDEX repair_orders_by_vehicle_id;
CREATE INDEX repair_orders_by_vehicle_id ON repair_orders (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX repair_orders_by_claim_id;
CREATE INDEX repair_orders_by_claim_id ON repair_orders (shop_id, claim_id) WHERE claim_id IS NOT NULL;
DROP INDEX repair_orders_by_estimate_id;
CREATE INDEX repair_orders_by_estimate_id ON repair_orders (shop_id, estimate_id) WHERE estimate_id IS NOT NULL;
DROP INDEX ro_stage_history_by_moved_by;
CREATE INDEX ro_stage_history_by_moved_by ON ro_stage_history (shop_id, moved_by) WHERE moved_by IS NOT NULL;
DROP INDEX purchase_orders_by_vendor_id_id;
CREATE INDEX purchase_orders_by_vendor_id_id ON purchase_orders (shop_id, vendor_id, id) WHERE vendor_id IS NOT NULL;
DROP INDEX purchase_orders_by_repair_order_id_id;
CREATE INDEX purchase_orders_by_repair_order_id_id ON purchase_orders (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX parts_by_repair_order_id_id;
CREATE INDEX parts_by_repair_order_id_id ON parts (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX parts_by_purchase_order_id_id;
CREATE INDEX parts_by_purchase_order_id_id ON parts (shop_id, purchase_order_id, id) WHERE purchase_order_id IS NOT NULL;
DROP INDEX parts_by_estimate_line_id;
CREATE INDEX parts_by_estimate_line_id ON parts (shop_id, estimate_line_id) WHERE estimate_line_id IS NOT NULL;
DROP INDEX parts_by_vendor_id;
CREATE INDEX parts_by_vendor_id ON parts (shop_id, vendor_id) WHERE vendor_id IS NOT NULL;
DROP INDEX labor_entries_by_repair_order_id_id;
CREATE INDEX labor_entries_by_repair_order_id_id ON labor_entries (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX labor_entries_by_approved_by;
CREATE INDEX labor_entries_by_approved_by ON labor_entries (shop_id, approved_by) WHERE approved_by IS NOT NULL;
DROP INDEX invoices_by_repair_order_id_id;
CREATE INDEX invoices_by_repair_order_id_id ON invoices (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX invoices_by_customer_id;
CREATE INDEX invoices_by_customer_id ON invoices (shop_id, customer_id) WHERE customer_id IS NOT NULL;
DROP INDEX attachments_by_repair_order_id_id;
CREATE INDEX attachments_by_repair_order_id_id ON attachments (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX attachments_by_taken_by;
CREATE INDEX attachments_by_taken_by ON attachments (shop_id, taken_by) WHERE taken_by IS NOT NULL;
DROP INDEX signatures_by_image_attachment_id;
CREATE INDEX signatures_by_image_attachment_id ON signatures (shop_id, image_attachment_id) WHERE image_attachment_id IS NOT NULL;
DROP INDEX loaner_reservations_by_customer_id;
CREATE INDEX loaner_reservations_by_customer_id ON loaner_reservations (shop_id, customer_id) WHERE customer_id IS NOT NULL;
DROP INDEX loaner_reservations_by_repair_order_id;
CREATE INDEX loaner_reservations_by_repair_order_id ON loaner_reservations (shop_id, repair_order_id) WHERE repair_order_id IS NOT NULL;
DROP INDEX bms_imports_by_estimate_id;
CREATE INDEX bms_imports_by_estimate_id ON bms_imports (shop_id, estimate_id) WHERE estimate_id IS NOT NULL;
