-- The hub's tables lose their `(shop_id, updated_at)` indexes.
--
-- Nothing on the hub reads by `updated_at`: tablets resume by the change log's
-- `seq`, lists page by id, the sync worker reads its queue. Each of these
-- indexes only cost every write of its table a B-tree page (1.35 of the 15.6
-- WAL frames a lone repair-order create wrote) and every record an entry (83
-- bytes per repair order). The cloud keeps them, for "what changed since"
-- queries of its own clients; `domain::ddl::hub_index_columns` is the hub's list.
DROP INDEX IF EXISTS shops_by_updated_at;
DROP INDEX IF EXISTS users_by_updated_at;
DROP INDEX IF EXISTS customers_by_updated_at;
DROP INDEX IF EXISTS vehicles_by_updated_at;
DROP INDEX IF EXISTS insurance_companies_by_updated_at;
DROP INDEX IF EXISTS vendors_by_updated_at;
DROP INDEX IF EXISTS claims_by_updated_at;
DROP INDEX IF EXISTS estimates_by_updated_at;
DROP INDEX IF EXISTS estimate_lines_by_updated_at;
DROP INDEX IF EXISTS repair_orders_by_updated_at;
DROP INDEX IF EXISTS production_stages_by_updated_at;
DROP INDEX IF EXISTS ro_stage_history_by_updated_at;
DROP INDEX IF EXISTS purchase_orders_by_updated_at;
DROP INDEX IF EXISTS parts_by_updated_at;
DROP INDEX IF EXISTS labor_entries_by_updated_at;
DROP INDEX IF EXISTS time_clock_by_updated_at;
DROP INDEX IF EXISTS invoices_by_updated_at;
DROP INDEX IF EXISTS payments_by_updated_at;
DROP INDEX IF EXISTS attachments_by_updated_at;
DROP INDEX IF EXISTS signatures_by_updated_at;
DROP INDEX IF EXISTS loaner_vehicles_by_updated_at;
DROP INDEX IF EXISTS loaner_reservations_by_updated_at;
DROP INDEX IF EXISTS bms_imports_by_updated_at;
