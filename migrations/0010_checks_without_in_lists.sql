-- CollisionOS Hub schema, version 10: every CHECK that limits a column to a list
-- of three or more values is written as `=` comparisons joined by OR instead of
-- `col IN ('a', 'b', 'c')`. The two say the same; the difference is speed. SQLite
-- evaluates a constant IN list of more than two values by building a temporary
-- B-tree, once per run of the statement, so each insert or update of a row paid
-- for one per such column (a repair order for three, a change-log entry for one,
-- a sync-queue item for two), all on the writer thread.
--
-- Nothing on disk changes but the text of each table's definition, so this uses
-- SQLite's documented procedure for changing a CHECK constraint without
-- rebuilding the table (writable_schema; every stored row already satisfies the
-- new text, which accepts exactly what the old one did). Creating and dropping a
-- scratch table at the end bumps the schema version, so every connection reads
-- the new definitions. The catalog renders shop tables the same way
-- (`domain::ddl::sqlite_one_of`).
-- Append-only: never edit this file once shipped.

PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (category IN (''before_damage'', ''during_repair'', ''after_repair'', ''damage_assessment'', ''supplement'', ''parts_received'', ''quality_check'', ''delivery'', ''insurance_doc'', ''other''))',
    'CHECK (category = ''before_damage'' OR category = ''during_repair'' OR category = ''after_repair'' OR category = ''damage_assessment'' OR category = ''supplement'' OR category = ''parts_received'' OR category = ''quality_check'' OR category = ''delivery'' OR category = ''insurance_doc'' OR category = ''other'')')
 WHERE type = 'table' AND name = 'attachments';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (import_status IN (''pending'', ''processing'', ''imported'', ''failed'', ''partial''))',
    'CHECK (import_status = ''pending'' OR import_status = ''processing'' OR import_status = ''imported'' OR import_status = ''failed'' OR import_status = ''partial'')')
 WHERE type = 'table' AND name = 'bms_imports';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (op IN (''create'', ''update'', ''delete''))',
    'CHECK (op = ''create'' OR op = ''update'' OR op = ''delete'')')
 WHERE type = 'table' AND name = 'change_log';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (claim_status IN (''open'', ''under_review'', ''approved'', ''supplement_requested'', ''supplement_approved'', ''denied'', ''closed'', ''cancelled''))',
    'CHECK (claim_status = ''open'' OR claim_status = ''under_review'' OR claim_status = ''approved'' OR claim_status = ''supplement_requested'' OR claim_status = ''supplement_approved'' OR claim_status = ''denied'' OR claim_status = ''closed'' OR claim_status = ''cancelled'')')
 WHERE type = 'table' AND name = 'claims';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (customer_type IN (''individual'', ''business'', ''insurance'', ''fleet''))',
    'CHECK (customer_type = ''individual'' OR customer_type = ''business'' OR customer_type = ''insurance'' OR customer_type = ''fleet'')')
 WHERE type = 'table' AND name = 'customers';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (preferred_contact IN (''phone'', ''email'', ''sms'', ''mail''))',
    'CHECK (preferred_contact = ''phone'' OR preferred_contact = ''email'' OR preferred_contact = ''sms'' OR preferred_contact = ''mail'')')
 WHERE type = 'table' AND name = 'customers';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (line_type IN (''part'', ''labor'', ''paint'', ''material'', ''sublet'', ''tax'', ''discount'', ''other''))',
    'CHECK (line_type = ''part'' OR line_type = ''labor'' OR line_type = ''paint'' OR line_type = ''material'' OR line_type = ''sublet'' OR line_type = ''tax'' OR line_type = ''discount'' OR line_type = ''other'')')
 WHERE type = 'table' AND name = 'estimate_lines';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (part_type IN (''oem'', ''aftermarket'', ''used'', ''reconditioned''))',
    'CHECK (part_type = ''oem'' OR part_type = ''aftermarket'' OR part_type = ''used'' OR part_type = ''reconditioned'')')
 WHERE type = 'table' AND name = 'estimate_lines';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (labor_type IN (''body'', ''paint'', ''frame'', ''mechanical'', ''electrical'', ''glass'', ''detail'', ''prep'', ''quality_control'', ''other''))',
    'CHECK (labor_type = ''body'' OR labor_type = ''paint'' OR labor_type = ''frame'' OR labor_type = ''mechanical'' OR labor_type = ''electrical'' OR labor_type = ''glass'' OR labor_type = ''detail'' OR labor_type = ''prep'' OR labor_type = ''quality_control'' OR labor_type = ''other'')')
 WHERE type = 'table' AND name = 'estimate_lines';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (estimate_status IN (''draft'', ''pending_review'', ''sent'', ''approved'', ''rejected'', ''revised'', ''supplement'', ''converted''))',
    'CHECK (estimate_status = ''draft'' OR estimate_status = ''pending_review'' OR estimate_status = ''sent'' OR estimate_status = ''approved'' OR estimate_status = ''rejected'' OR estimate_status = ''revised'' OR estimate_status = ''supplement'' OR estimate_status = ''converted'')')
 WHERE type = 'table' AND name = 'estimates';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (invoice_status IN (''draft'', ''sent'', ''partial'', ''paid'', ''overdue'', ''void''))',
    'CHECK (invoice_status = ''draft'' OR invoice_status = ''sent'' OR invoice_status = ''partial'' OR invoice_status = ''paid'' OR invoice_status = ''overdue'' OR invoice_status = ''void'')')
 WHERE type = 'table' AND name = 'invoices';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (labor_type IN (''body'', ''paint'', ''frame'', ''mechanical'', ''electrical'', ''glass'', ''detail'', ''prep'', ''quality_control'', ''other''))',
    'CHECK (labor_type = ''body'' OR labor_type = ''paint'' OR labor_type = ''frame'' OR labor_type = ''mechanical'' OR labor_type = ''electrical'' OR labor_type = ''glass'' OR labor_type = ''detail'' OR labor_type = ''prep'' OR labor_type = ''quality_control'' OR labor_type = ''other'')')
 WHERE type = 'table' AND name = 'labor_entries';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (reservation_status IN (''pending'', ''confirmed'', ''out'', ''returned'', ''cancelled'', ''no_show''))',
    'CHECK (reservation_status = ''pending'' OR reservation_status = ''confirmed'' OR reservation_status = ''out'' OR reservation_status = ''returned'' OR reservation_status = ''cancelled'' OR reservation_status = ''no_show'')')
 WHERE type = 'table' AND name = 'loaner_reservations';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (loaner_status IN (''available'', ''reserved'', ''out'', ''maintenance'', ''retired''))',
    'CHECK (loaner_status = ''available'' OR loaner_status = ''reserved'' OR loaner_status = ''out'' OR loaner_status = ''maintenance'' OR loaner_status = ''retired'')')
 WHERE type = 'table' AND name = 'loaner_vehicles';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (part_type IN (''oem'', ''aftermarket'', ''used'', ''reconditioned''))',
    'CHECK (part_type = ''oem'' OR part_type = ''aftermarket'' OR part_type = ''used'' OR part_type = ''reconditioned'')')
 WHERE type = 'table' AND name = 'parts';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (part_status IN (''needed'', ''sourcing'', ''quoted'', ''ordered'', ''backordered'', ''shipped'', ''received'', ''inspected'', ''installed'', ''returned'', ''cancelled''))',
    'CHECK (part_status = ''needed'' OR part_status = ''sourcing'' OR part_status = ''quoted'' OR part_status = ''ordered'' OR part_status = ''backordered'' OR part_status = ''shipped'' OR part_status = ''received'' OR part_status = ''inspected'' OR part_status = ''installed'' OR part_status = ''returned'' OR part_status = ''cancelled'')')
 WHERE type = 'table' AND name = 'parts';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (payment_method IN (''cash'', ''check'', ''credit_card'', ''debit_card'', ''e_transfer'', ''insurance_direct'', ''financing'', ''other''))',
    'CHECK (payment_method = ''cash'' OR payment_method = ''check'' OR payment_method = ''credit_card'' OR payment_method = ''debit_card'' OR payment_method = ''e_transfer'' OR payment_method = ''insurance_direct'' OR payment_method = ''financing'' OR payment_method = ''other'')')
 WHERE type = 'table' AND name = 'payments';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (payment_status IN (''pending'', ''completed'', ''failed'', ''refunded''))',
    'CHECK (payment_status = ''pending'' OR payment_status = ''completed'' OR payment_status = ''failed'' OR payment_status = ''refunded'')')
 WHERE type = 'table' AND name = 'payments';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (po_status IN (''draft'', ''pending_approval'', ''approved'', ''sent'', ''acknowledged'', ''partially_received'', ''received'', ''cancelled'', ''closed'', ''disputed''))',
    'CHECK (po_status = ''draft'' OR po_status = ''pending_approval'' OR po_status = ''approved'' OR po_status = ''sent'' OR po_status = ''acknowledged'' OR po_status = ''partially_received'' OR po_status = ''received'' OR po_status = ''cancelled'' OR po_status = ''closed'' OR po_status = ''disputed'')')
 WHERE type = 'table' AND name = 'purchase_orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (ro_status IN (''draft'', ''estimate_pending'', ''estimate_approved'', ''parts_ordered'', ''parts_hold'', ''in_production'', ''quality_control'', ''supplement_pending'', ''supplement_approved'', ''customer_approval'', ''ready_for_delivery'', ''completed'', ''delivered'', ''invoiced'', ''paid'', ''archived'', ''cancelled''))',
    'CHECK (ro_status = ''draft'' OR ro_status = ''estimate_pending'' OR ro_status = ''estimate_approved'' OR ro_status = ''parts_ordered'' OR ro_status = ''parts_hold'' OR ro_status = ''in_production'' OR ro_status = ''quality_control'' OR ro_status = ''supplement_pending'' OR ro_status = ''supplement_approved'' OR ro_status = ''customer_approval'' OR ro_status = ''ready_for_delivery'' OR ro_status = ''completed'' OR ro_status = ''delivered'' OR ro_status = ''invoiced'' OR ro_status = ''paid'' OR ro_status = ''archived'' OR ro_status = ''cancelled'')')
 WHERE type = 'table' AND name = 'repair_orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (priority IN (''low'', ''normal'', ''high'', ''urgent''))',
    'CHECK (priority = ''low'' OR priority = ''normal'' OR priority = ''high'' OR priority = ''urgent'')')
 WHERE type = 'table' AND name = 'repair_orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (hold_reason IN (''parts_delay'', ''insurance_approval'', ''customer_approval'', ''supplement_review'', ''sublet_delay'', ''technician_unavailable'', ''equipment_down'', ''other''))',
    'CHECK (hold_reason = ''parts_delay'' OR hold_reason = ''insurance_approval'' OR hold_reason = ''customer_approval'' OR hold_reason = ''supplement_review'' OR hold_reason = ''sublet_delay'' OR hold_reason = ''technician_unavailable'' OR hold_reason = ''equipment_down'' OR hold_reason = ''other'')')
 WHERE type = 'table' AND name = 'repair_orders';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (operation IN (''CREATE'', ''UPDATE'', ''DELETE'', ''BULK_CREATE''))',
    'CHECK (operation = ''CREATE'' OR operation = ''UPDATE'' OR operation = ''DELETE'' OR operation = ''BULK_CREATE'')')
 WHERE type = 'table' AND name = 'sync_queue';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''PENDING'', ''PROCESSING'', ''COMPLETED'', ''FAILED'', ''RETRY''))',
    'CHECK (status = ''PENDING'' OR status = ''PROCESSING'' OR status = ''COMPLETED'' OR status = ''FAILED'' OR status = ''RETRY'')')
 WHERE type = 'table' AND name = 'sync_queue';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (status IN (''clocked_in'', ''on_break'', ''clocked_out''))',
    'CHECK (status = ''clocked_in'' OR status = ''on_break'' OR status = ''clocked_out'')')
 WHERE type = 'table' AND name = 'time_clock';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (role IN (''owner'', ''admin'', ''manager'', ''service_advisor'', ''estimator'', ''technician'', ''parts_manager'', ''receptionist'', ''accountant''))',
    'CHECK (role = ''owner'' OR role = ''admin'' OR role = ''manager'' OR role = ''service_advisor'' OR role = ''estimator'' OR role = ''technician'' OR role = ''parts_manager'' OR role = ''receptionist'' OR role = ''accountant'')')
 WHERE type = 'table' AND name = 'users';
UPDATE sqlite_schema SET sql = replace(sql,
    'CHECK (vendor_type IN (''oem'', ''aftermarket'', ''recycled'', ''remanufactured'', ''paint_supplier'', ''sublet'', ''other''))',
    'CHECK (vendor_type = ''oem'' OR vendor_type = ''aftermarket'' OR vendor_type = ''recycled'' OR vendor_type = ''remanufactured'' OR vendor_type = ''paint_supplier'' OR vendor_type = ''sublet'' OR vendor_type = ''other'')')
 WHERE type = 'table' AND name = 'vendors';

PRAGMA writable_schema = OFF;
CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
