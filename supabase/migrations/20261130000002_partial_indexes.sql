-- CollisionOS cloud mirror: a catalog index whose first column may be NULL
-- leaves NULL out (`WHERE col IS NOT NULL`), as the hub's SQLite does. Each
-- index is (shop_id, col, ...); a read that filters on col (`=`, `IN`, a
-- range) implies IS NOT NULL, so Postgres still uses it. A record whose
-- reference is unset (a repair order without a claim, estimate or
-- technician yet) then costs no entry, no write and no bytes in that index.
-- Same names, so nothing that names an index changes. Written by
-- `collisionos::cloud::ddl::partial_indexes_sql`; tests/it/cloud_indexes.rs
-- holds this file to it. Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

DROP INDEX public.customers_by_last_name_id;
CREATE INDEX customers_by_last_name_id ON public.customers (shop_id, last_name, id) WHERE last_name IS NOT NULL;
DROP INDEX public.vehicles_by_customer_id_id;
CREATE INDEX vehicles_by_customer_id_id ON public.vehicles (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX public.vehicles_by_vin_id;
CREATE INDEX vehicles_by_vin_id ON public.vehicles (shop_id, vin, id) WHERE vin IS NOT NULL;
DROP INDEX public.claims_by_customer_id_id;
CREATE INDEX claims_by_customer_id_id ON public.claims (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX public.claims_by_vehicle_id;
CREATE INDEX claims_by_vehicle_id ON public.claims (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX public.claims_by_insurance_company_id;
CREATE INDEX claims_by_insurance_company_id ON public.claims (shop_id, insurance_company_id) WHERE insurance_company_id IS NOT NULL;
DROP INDEX public.estimates_by_customer_id_id;
CREATE INDEX estimates_by_customer_id_id ON public.estimates (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX public.estimates_by_vehicle_id;
CREATE INDEX estimates_by_vehicle_id ON public.estimates (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX public.estimates_by_claim_id;
CREATE INDEX estimates_by_claim_id ON public.estimates (shop_id, claim_id) WHERE claim_id IS NOT NULL;
DROP INDEX public.repair_orders_by_customer_id_id;
CREATE INDEX repair_orders_by_customer_id_id ON public.repair_orders (shop_id, customer_id, id) WHERE customer_id IS NOT NULL;
DROP INDEX public.repair_orders_by_primary_technician_id_id;
CREATE INDEX repair_orders_by_primary_technician_id_id ON public.repair_orders (shop_id, primary_technician_id, id) WHERE primary_technician_id IS NOT NULL;
DROP INDEX public.repair_orders_by_vehicle_id;
CREATE INDEX repair_orders_by_vehicle_id ON public.repair_orders (shop_id, vehicle_id) WHERE vehicle_id IS NOT NULL;
DROP INDEX public.repair_orders_by_claim_id;
CREATE INDEX repair_orders_by_claim_id ON public.repair_orders (shop_id, claim_id) WHERE claim_id IS NOT NULL;
DROP INDEX public.repair_orders_by_estimate_id;
CREATE INDEX repair_orders_by_estimate_id ON public.repair_orders (shop_id, estimate_id) WHERE estimate_id IS NOT NULL;
DROP INDEX public.ro_stage_history_by_moved_by;
CREATE INDEX ro_stage_history_by_moved_by ON public.ro_stage_history (shop_id, moved_by) WHERE moved_by IS NOT NULL;
DROP INDEX public.purchase_orders_by_vendor_id_id;
CREATE INDEX purchase_orders_by_vendor_id_id ON public.purchase_orders (shop_id, vendor_id, id) WHERE vendor_id IS NOT NULL;
DROP INDEX public.purchase_orders_by_repair_order_id_id;
CREATE INDEX purchase_orders_by_repair_order_id_id ON public.purchase_orders (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.parts_by_repair_order_id_id;
CREATE INDEX parts_by_repair_order_id_id ON public.parts (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.parts_by_purchase_order_id_id;
CREATE INDEX parts_by_purchase_order_id_id ON public.parts (shop_id, purchase_order_id, id) WHERE purchase_order_id IS NOT NULL;
DROP INDEX public.parts_by_estimate_line_id;
CREATE INDEX parts_by_estimate_line_id ON public.parts (shop_id, estimate_line_id) WHERE estimate_line_id IS NOT NULL;
DROP INDEX public.parts_by_vendor_id;
CREATE INDEX parts_by_vendor_id ON public.parts (shop_id, vendor_id) WHERE vendor_id IS NOT NULL;
DROP INDEX public.labor_entries_by_repair_order_id_id;
CREATE INDEX labor_entries_by_repair_order_id_id ON public.labor_entries (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.labor_entries_by_approved_by;
CREATE INDEX labor_entries_by_approved_by ON public.labor_entries (shop_id, approved_by) WHERE approved_by IS NOT NULL;
DROP INDEX public.invoices_by_repair_order_id_id;
CREATE INDEX invoices_by_repair_order_id_id ON public.invoices (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.invoices_by_customer_id;
CREATE INDEX invoices_by_customer_id ON public.invoices (shop_id, customer_id) WHERE customer_id IS NOT NULL;
DROP INDEX public.attachments_by_repair_order_id_id;
CREATE INDEX attachments_by_repair_order_id_id ON public.attachments (shop_id, repair_order_id, id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.attachments_by_taken_by;
CREATE INDEX attachments_by_taken_by ON public.attachments (shop_id, taken_by) WHERE taken_by IS NOT NULL;
DROP INDEX public.signatures_by_image_attachment_id;
CREATE INDEX signatures_by_image_attachment_id ON public.signatures (shop_id, image_attachment_id) WHERE image_attachment_id IS NOT NULL;
DROP INDEX public.loaner_reservations_by_customer_id;
CREATE INDEX loaner_reservations_by_customer_id ON public.loaner_reservations (shop_id, customer_id) WHERE customer_id IS NOT NULL;
DROP INDEX public.loaner_reservations_by_repair_order_id;
CREATE INDEX loaner_reservations_by_repair_order_id ON public.loaner_reservations (shop_id, repair_order_id) WHERE repair_order_id IS NOT NULL;
DROP INDEX public.bms_imports_by_estimate_id;
CREATE INDEX bms_imports_by_estimate_id ON public.bms_imports (shop_id, estimate_id) WHERE estimate_id IS NOT NULL;

COMMIT;
