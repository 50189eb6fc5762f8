-- CollisionOS Hub schema, version 1: every table of shared/DOMAIN.md, then the hub's own.
-- Append-only: never edit this file once shipped; add 0002_*.sql instead.
-- The shop tables were written from the catalog (src/domain/catalog.rs) by
-- `cargo run --example gen_schema`; tests/it/schema.rs holds them to it.

CREATE TABLE shops (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL CHECK (shop_id = id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    address TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    timezone TEXT NOT NULL DEFAULT 'UTC',
    currency TEXT NOT NULL DEFAULT 'USD',
    tax_id TEXT,
    tax_id_secondary TEXT,
    body_labor_rate_cents INTEGER,
    paint_labor_rate_cents INTEGER,
    frame_labor_rate_cents INTEGER,
    mechanical_labor_rate_cents INTEGER,
    settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
    UNIQUE (shop_id, id)
) STRICT;
CREATE INDEX shops_by_updated_at ON shops (shop_id, updated_at);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')),
    hourly_rate_cents INTEGER,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, email)
) STRICT;
CREATE INDEX users_by_updated_at ON users (shop_id, updated_at);

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    customer_number TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    company_name TEXT,
    email TEXT,
    phone TEXT,
    mobile TEXT,
    address TEXT,
    city TEXT,
    region TEXT,
    postal_code TEXT,
    customer_type TEXT NOT NULL DEFAULT 'individual' CHECK (customer_type IN ('individual', 'business', 'insurance', 'fleet')),
    preferred_contact TEXT NOT NULL DEFAULT 'phone' CHECK (preferred_contact IN ('phone', 'email', 'sms', 'mail')),
    notes TEXT,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, customer_number)
) STRICT;
CREATE INDEX customers_by_last_name_id ON customers (shop_id, last_name, id);
CREATE INDEX customers_by_updated_at ON customers (shop_id, updated_at);

CREATE TABLE vehicles (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    customer_id TEXT CHECK (length(customer_id) = 36),
    vin TEXT CHECK (length(vin) = 17),
    year INTEGER,
    make TEXT,
    model TEXT,
    trim TEXT,
    color TEXT,
    paint_code TEXT,
    license_plate TEXT,
    odometer INTEGER,
    odometer_unit TEXT NOT NULL DEFAULT 'km' CHECK (odometer_unit IN ('km', 'mi')),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id)
) STRICT;
CREATE INDEX vehicles_by_customer_id_id ON vehicles (shop_id, customer_id, id);
CREATE INDEX vehicles_by_vin_id ON vehicles (shop_id, vin, id);
CREATE INDEX vehicles_by_updated_at ON vehicles (shop_id, updated_at);

CREATE TABLE insurance_companies (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT,
    is_drp INTEGER NOT NULL DEFAULT 0 CHECK (is_drp IN (0, 1)),
    claims_phone TEXT,
    claims_email TEXT,
    body_labor_rate_cents INTEGER,
    paint_labor_rate_cents INTEGER,
    frame_labor_rate_cents INTEGER,
    mechanical_labor_rate_cents INTEGER,
    UNIQUE (shop_id, id)
) STRICT;
CREATE INDEX insurance_companies_by_updated_at ON insurance_companies (shop_id, updated_at);

CREATE TABLE vendors (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    vendor_number TEXT NOT NULL,
    name TEXT NOT NULL,
    vendor_type TEXT NOT NULL DEFAULT 'other' CHECK (vendor_type IN ('oem', 'aftermarket', 'recycled', 'remanufactured', 'paint_supplier', 'sublet', 'other')),
    contact_name TEXT,
    phone TEXT,
    email TEXT,
    payment_terms TEXT,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, vendor_number)
) STRICT;
CREATE INDEX vendors_by_updated_at ON vendors (shop_id, updated_at);

CREATE TABLE claims (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    customer_id TEXT CHECK (length(customer_id) = 36),
    vehicle_id TEXT CHECK (length(vehicle_id) = 36),
    insurance_company_id TEXT CHECK (length(insurance_company_id) = 36),
    claim_number TEXT NOT NULL,
    policy_number TEXT,
    date_of_loss TEXT,
    adjuster_name TEXT,
    adjuster_phone TEXT,
    adjuster_email TEXT,
    deductible_cents INTEGER NOT NULL DEFAULT 0,
    claim_status TEXT NOT NULL DEFAULT 'open' CHECK (claim_status IN ('open', 'under_review', 'approved', 'supplement_requested', 'supplement_approved', 'denied', 'closed', 'cancelled')),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id),
    FOREIGN KEY (shop_id, vehicle_id) REFERENCES vehicles (shop_id, id),
    FOREIGN KEY (shop_id, insurance_company_id) REFERENCES insurance_companies (shop_id, id)
) STRICT;
CREATE INDEX claims_by_customer_id_id ON claims (shop_id, customer_id, id);
CREATE INDEX claims_by_claim_status_id ON claims (shop_id, claim_status, id);
CREATE INDEX claims_by_vehicle_id ON claims (shop_id, vehicle_id);
CREATE INDEX claims_by_insurance_company_id ON claims (shop_id, insurance_company_id);
CREATE INDEX claims_by_updated_at ON claims (shop_id, updated_at);

CREATE TABLE estimates (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    estimate_number TEXT NOT NULL,
    customer_id TEXT CHECK (length(customer_id) = 36),
    vehicle_id TEXT CHECK (length(vehicle_id) = 36),
    claim_id TEXT CHECK (length(claim_id) = 36),
    estimate_status TEXT NOT NULL DEFAULT 'draft' CHECK (estimate_status IN ('draft', 'pending_review', 'sent', 'approved', 'rejected', 'revised', 'supplement', 'converted')),
    parts_total_cents INTEGER NOT NULL DEFAULT 0,
    labor_total_cents INTEGER NOT NULL DEFAULT 0,
    paint_total_cents INTEGER NOT NULL DEFAULT 0,
    materials_total_cents INTEGER NOT NULL DEFAULT 0,
    sublet_total_cents INTEGER NOT NULL DEFAULT 0,
    tax_total_cents INTEGER NOT NULL DEFAULT 0,
    total_cents INTEGER NOT NULL DEFAULT 0,
    supplement_number INTEGER NOT NULL DEFAULT 0,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, estimate_number),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id),
    FOREIGN KEY (shop_id, vehicle_id) REFERENCES vehicles (shop_id, id),
    FOREIGN KEY (shop_id, claim_id) REFERENCES claims (shop_id, id)
) STRICT;
CREATE INDEX estimates_by_customer_id_id ON estimates (shop_id, customer_id, id);
CREATE INDEX estimates_by_estimate_status_id ON estimates (shop_id, estimate_status, id);
CREATE INDEX estimates_by_vehicle_id ON estimates (shop_id, vehicle_id);
CREATE INDEX estimates_by_claim_id ON estimates (shop_id, claim_id);
CREATE INDEX estimates_by_updated_at ON estimates (shop_id, updated_at);

CREATE TABLE estimate_lines (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    estimate_id TEXT NOT NULL CHECK (length(estimate_id) = 36),
    line_number INTEGER NOT NULL,
    line_type TEXT NOT NULL CHECK (line_type IN ('part', 'labor', 'paint', 'material', 'sublet', 'tax', 'discount', 'other')),
    operation TEXT,
    description TEXT,
    part_number TEXT,
    part_type TEXT CHECK (part_type IN ('oem', 'aftermarket', 'used', 'reconditioned')),
    quantity TEXT NOT NULL DEFAULT '1',
    unit_price_cents INTEGER NOT NULL DEFAULT 0,
    labor_hours TEXT,
    labor_type TEXT CHECK (labor_type IN ('body', 'paint', 'frame', 'mechanical', 'electrical', 'glass', 'detail', 'prep', 'quality_control', 'other')),
    total_cents INTEGER NOT NULL DEFAULT 0,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, estimate_id, line_number),
    FOREIGN KEY (shop_id, estimate_id) REFERENCES estimates (shop_id, id)
) STRICT;
CREATE INDEX estimate_lines_by_estimate_id ON estimate_lines (shop_id, estimate_id);
CREATE INDEX estimate_lines_by_updated_at ON estimate_lines (shop_id, updated_at);

CREATE TABLE repair_orders (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    ro_number TEXT NOT NULL,
    customer_id TEXT CHECK (length(customer_id) = 36),
    vehicle_id TEXT CHECK (length(vehicle_id) = 36),
    claim_id TEXT CHECK (length(claim_id) = 36),
    estimate_id TEXT CHECK (length(estimate_id) = 36),
    ro_status TEXT NOT NULL DEFAULT 'draft' CHECK (ro_status IN ('draft', 'estimate_pending', 'estimate_approved', 'parts_ordered', 'parts_hold', 'in_production', 'quality_control', 'supplement_pending', 'supplement_approved', 'customer_approval', 'ready_for_delivery', 'completed', 'delivered', 'invoiced', 'paid', 'archived', 'cancelled')),
    stage TEXT NOT NULL DEFAULT 'intake' CHECK (length(stage) BETWEEN 1 AND 40 AND stage NOT GLOB '*[^a-z0-9_]*'),
    priority TEXT NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    hold_reason TEXT CHECK (hold_reason IN ('parts_delay', 'insurance_approval', 'customer_approval', 'supplement_review', 'sublet_delay', 'technician_unavailable', 'equipment_down', 'other')),
    primary_technician_id TEXT CHECK (length(primary_technician_id) = 36),
    promised_at TEXT,
    delivered_at TEXT,
    parts_total_cents INTEGER NOT NULL DEFAULT 0,
    labor_total_cents INTEGER NOT NULL DEFAULT 0,
    total_cents INTEGER NOT NULL DEFAULT 0,
    notes TEXT,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, ro_number),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id),
    FOREIGN KEY (shop_id, vehicle_id) REFERENCES vehicles (shop_id, id),
    FOREIGN KEY (shop_id, claim_id) REFERENCES claims (shop_id, id),
    FOREIGN KEY (shop_id, estimate_id) REFERENCES estimates (shop_id, id),
    FOREIGN KEY (shop_id, primary_technician_id) REFERENCES users (shop_id, id)
) STRICT;
CREATE INDEX repair_orders_by_stage_id ON repair_orders (shop_id, stage, id);
CREATE INDEX repair_orders_by_ro_status_id ON repair_orders (shop_id, ro_status, id);
CREATE INDEX repair_orders_by_customer_id_id ON repair_orders (shop_id, customer_id, id);
CREATE INDEX repair_orders_by_primary_technician_id_id ON repair_orders (shop_id, primary_technician_id, id);
CREATE INDEX repair_orders_by_vehicle_id ON repair_orders (shop_id, vehicle_id);
CREATE INDEX repair_orders_by_claim_id ON repair_orders (shop_id, claim_id);
CREATE INDEX repair_orders_by_estimate_id ON repair_orders (shop_id, estimate_id);
CREATE INDEX repair_orders_by_updated_at ON repair_orders (shop_id, updated_at);

CREATE TABLE production_stages (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 40 AND code NOT GLOB '*[^a-z0-9_]*'),
    position INTEGER NOT NULL,
    category TEXT,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, code)
) STRICT;
CREATE INDEX production_stages_by_updated_at ON production_stages (shop_id, updated_at);

CREATE TABLE ro_stage_history (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    repair_order_id TEXT NOT NULL CHECK (length(repair_order_id) = 36),
    from_stage TEXT CHECK (length(from_stage) BETWEEN 1 AND 40 AND from_stage NOT GLOB '*[^a-z0-9_]*'),
    to_stage TEXT NOT NULL CHECK (length(to_stage) BETWEEN 1 AND 40 AND to_stage NOT GLOB '*[^a-z0-9_]*'),
    moved_by TEXT CHECK (length(moved_by) = 36),
    reason TEXT,
    moved_at TEXT NOT NULL,
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id),
    FOREIGN KEY (shop_id, moved_by) REFERENCES users (shop_id, id)
) STRICT;
CREATE INDEX ro_stage_history_by_repair_order_id_id ON ro_stage_history (shop_id, repair_order_id, id);
CREATE INDEX ro_stage_history_by_moved_by ON ro_stage_history (shop_id, moved_by);
CREATE INDEX ro_stage_history_by_updated_at ON ro_stage_history (shop_id, updated_at);

CREATE TABLE purchase_orders (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    po_number TEXT NOT NULL,
    vendor_id TEXT CHECK (length(vendor_id) = 36),
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    po_status TEXT NOT NULL DEFAULT 'draft' CHECK (po_status IN ('draft', 'pending_approval', 'approved', 'sent', 'acknowledged', 'partially_received', 'received', 'cancelled', 'closed', 'disputed')),
    ordered_at TEXT,
    expected_at TEXT,
    subtotal_cents INTEGER NOT NULL DEFAULT 0,
    tax_cents INTEGER NOT NULL DEFAULT 0,
    total_cents INTEGER NOT NULL DEFAULT 0,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, po_number),
    FOREIGN KEY (shop_id, vendor_id) REFERENCES vendors (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id)
) STRICT;
CREATE INDEX purchase_orders_by_vendor_id_id ON purchase_orders (shop_id, vendor_id, id);
CREATE INDEX purchase_orders_by_po_status_id ON purchase_orders (shop_id, po_status, id);
CREATE INDEX purchase_orders_by_repair_order_id_id ON purchase_orders (shop_id, repair_order_id, id);
CREATE INDEX purchase_orders_by_updated_at ON purchase_orders (shop_id, updated_at);

CREATE TABLE parts (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    estimate_line_id TEXT CHECK (length(estimate_line_id) = 36),
    vendor_id TEXT CHECK (length(vendor_id) = 36),
    purchase_order_id TEXT CHECK (length(purchase_order_id) = 36),
    part_number TEXT,
    description TEXT NOT NULL,
    part_type TEXT CHECK (part_type IN ('oem', 'aftermarket', 'used', 'reconditioned')),
    quantity_ordered INTEGER NOT NULL DEFAULT 1,
    quantity_received INTEGER NOT NULL DEFAULT 0,
    cost_cents INTEGER NOT NULL DEFAULT 0,
    price_cents INTEGER NOT NULL DEFAULT 0,
    part_status TEXT NOT NULL DEFAULT 'needed' CHECK (part_status IN ('needed', 'sourcing', 'quoted', 'ordered', 'backordered', 'shipped', 'received', 'inspected', 'installed', 'returned', 'cancelled')),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id),
    FOREIGN KEY (shop_id, estimate_line_id) REFERENCES estimate_lines (shop_id, id),
    FOREIGN KEY (shop_id, vendor_id) REFERENCES vendors (shop_id, id),
    FOREIGN KEY (shop_id, purchase_order_id) REFERENCES purchase_orders (shop_id, id)
) STRICT;
CREATE INDEX parts_by_repair_order_id_id ON parts (shop_id, repair_order_id, id);
CREATE INDEX parts_by_part_status_id ON parts (shop_id, part_status, id);
CREATE INDEX parts_by_purchase_order_id_id ON parts (shop_id, purchase_order_id, id);
CREATE INDEX parts_by_estimate_line_id ON parts (shop_id, estimate_line_id);
CREATE INDEX parts_by_vendor_id ON parts (shop_id, vendor_id);
CREATE INDEX parts_by_updated_at ON parts (shop_id, updated_at);

CREATE TABLE labor_entries (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    technician_id TEXT NOT NULL CHECK (length(technician_id) = 36),
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    labor_type TEXT NOT NULL CHECK (labor_type IN ('body', 'paint', 'frame', 'mechanical', 'electrical', 'glass', 'detail', 'prep', 'quality_control', 'other')),
    started_at TEXT,
    ended_at TEXT,
    minutes INTEGER NOT NULL DEFAULT 0,
    approved INTEGER NOT NULL DEFAULT 0 CHECK (approved IN (0, 1)),
    approved_by TEXT CHECK (length(approved_by) = 36),
    notes TEXT,
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, technician_id) REFERENCES users (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id),
    FOREIGN KEY (shop_id, approved_by) REFERENCES users (shop_id, id)
) STRICT;
CREATE INDEX labor_entries_by_technician_id_id ON labor_entries (shop_id, technician_id, id);
CREATE INDEX labor_entries_by_repair_order_id_id ON labor_entries (shop_id, repair_order_id, id);
CREATE INDEX labor_entries_by_approved_by ON labor_entries (shop_id, approved_by);
CREATE INDEX labor_entries_by_updated_at ON labor_entries (shop_id, updated_at);

CREATE TABLE time_clock (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    technician_id TEXT NOT NULL CHECK (length(technician_id) = 36),
    clock_in TEXT NOT NULL,
    clock_out TEXT,
    break_minutes INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'clocked_in' CHECK (status IN ('clocked_in', 'on_break', 'clocked_out')),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, technician_id) REFERENCES users (shop_id, id)
) STRICT;
CREATE INDEX time_clock_by_technician_id_id ON time_clock (shop_id, technician_id, id);
CREATE INDEX time_clock_by_updated_at ON time_clock (shop_id, updated_at);

CREATE TABLE invoices (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    invoice_number TEXT NOT NULL,
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    customer_id TEXT CHECK (length(customer_id) = 36),
    invoice_status TEXT NOT NULL DEFAULT 'draft' CHECK (invoice_status IN ('draft', 'sent', 'partial', 'paid', 'overdue', 'void')),
    issued_at TEXT,
    due_at TEXT,
    subtotal_cents INTEGER NOT NULL DEFAULT 0,
    tax_cents INTEGER NOT NULL DEFAULT 0,
    total_cents INTEGER NOT NULL DEFAULT 0,
    paid_cents INTEGER NOT NULL DEFAULT 0,
    balance_cents INTEGER NOT NULL DEFAULT 0,
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, invoice_number),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id)
) STRICT;
CREATE INDEX invoices_by_repair_order_id_id ON invoices (shop_id, repair_order_id, id);
CREATE INDEX invoices_by_invoice_status_id ON invoices (shop_id, invoice_status, id);
CREATE INDEX invoices_by_customer_id ON invoices (shop_id, customer_id);
CREATE INDEX invoices_by_updated_at ON invoices (shop_id, updated_at);

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    invoice_id TEXT NOT NULL CHECK (length(invoice_id) = 36),
    payment_method TEXT NOT NULL CHECK (payment_method IN ('cash', 'check', 'credit_card', 'debit_card', 'e_transfer', 'insurance_direct', 'financing', 'other')),
    amount_cents INTEGER NOT NULL,
    received_at TEXT,
    reference TEXT,
    payment_status TEXT NOT NULL DEFAULT 'completed' CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded')),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, invoice_id) REFERENCES invoices (shop_id, id)
) STRICT;
CREATE INDEX payments_by_invoice_id_id ON payments (shop_id, invoice_id, id);
CREATE INDEX payments_by_updated_at ON payments (shop_id, updated_at);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    category TEXT NOT NULL DEFAULT 'other' CHECK (category IN ('before_damage', 'during_repair', 'after_repair', 'damage_assessment', 'supplement', 'parts_received', 'quality_check', 'delivery', 'insurance_doc', 'other')),
    file_name TEXT NOT NULL,
    mime_type TEXT,
    size_bytes INTEGER,
    sha256 TEXT,
    storage_key TEXT,
    taken_by TEXT CHECK (length(taken_by) = 36),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id),
    FOREIGN KEY (shop_id, taken_by) REFERENCES users (shop_id, id)
) STRICT;
CREATE INDEX attachments_by_repair_order_id_id ON attachments (shop_id, repair_order_id, id);
CREATE INDEX attachments_by_taken_by ON attachments (shop_id, taken_by);
CREATE INDEX attachments_by_updated_at ON attachments (shop_id, updated_at);

CREATE TABLE signatures (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    document_type TEXT NOT NULL,
    document_id TEXT NOT NULL CHECK (length(document_id) = 36),
    signer_name TEXT NOT NULL,
    signer_role TEXT,
    signed_at TEXT NOT NULL,
    image_attachment_id TEXT CHECK (length(image_attachment_id) = 36),
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, image_attachment_id) REFERENCES attachments (shop_id, id)
) STRICT;
CREATE INDEX signatures_by_document_id_id ON signatures (shop_id, document_id, id);
CREATE INDEX signatures_by_image_attachment_id ON signatures (shop_id, image_attachment_id);
CREATE INDEX signatures_by_updated_at ON signatures (shop_id, updated_at);

CREATE TABLE loaner_vehicles (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    unit_number TEXT NOT NULL,
    vin TEXT CHECK (length(vin) = 17),
    plate TEXT,
    make TEXT,
    model TEXT,
    loaner_status TEXT NOT NULL DEFAULT 'available' CHECK (loaner_status IN ('available', 'reserved', 'out', 'maintenance', 'retired')),
    UNIQUE (shop_id, id),
    UNIQUE (shop_id, unit_number)
) STRICT;
CREATE INDEX loaner_vehicles_by_updated_at ON loaner_vehicles (shop_id, updated_at);

CREATE TABLE loaner_reservations (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    loaner_vehicle_id TEXT NOT NULL CHECK (length(loaner_vehicle_id) = 36),
    customer_id TEXT CHECK (length(customer_id) = 36),
    repair_order_id TEXT CHECK (length(repair_order_id) = 36),
    reservation_status TEXT NOT NULL DEFAULT 'pending' CHECK (reservation_status IN ('pending', 'confirmed', 'out', 'returned', 'cancelled', 'no_show')),
    out_at TEXT,
    back_at TEXT,
    odometer_out INTEGER,
    odometer_in INTEGER,
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, loaner_vehicle_id) REFERENCES loaner_vehicles (shop_id, id),
    FOREIGN KEY (shop_id, customer_id) REFERENCES customers (shop_id, id),
    FOREIGN KEY (shop_id, repair_order_id) REFERENCES repair_orders (shop_id, id)
) STRICT;
CREATE INDEX loaner_reservations_by_loaner_vehicle_id_id ON loaner_reservations (shop_id, loaner_vehicle_id, id);
CREATE INDEX loaner_reservations_by_customer_id ON loaner_reservations (shop_id, customer_id);
CREATE INDEX loaner_reservations_by_repair_order_id ON loaner_reservations (shop_id, repair_order_id);
CREATE INDEX loaner_reservations_by_updated_at ON loaner_reservations (shop_id, updated_at);

CREATE TABLE bms_imports (
    id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 36),
    shop_id TEXT NOT NULL REFERENCES shops (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT,
    import_status TEXT NOT NULL DEFAULT 'pending' CHECK (import_status IN ('pending', 'processing', 'imported', 'failed', 'partial')),
    estimate_id TEXT CHECK (length(estimate_id) = 36),
    error TEXT,
    provider TEXT,
    version TEXT,
    UNIQUE (shop_id, id),
    FOREIGN KEY (shop_id, estimate_id) REFERENCES estimates (shop_id, id)
) STRICT;
CREATE INDEX bms_imports_by_estimate_id ON bms_imports (shop_id, estimate_id);
CREATE INDEX bms_imports_by_updated_at ON bms_imports (shop_id, updated_at);

-- ---------------------------------------------------------------------------
-- Hub-only tables: never synced as rows, never returned as records.
-- ---------------------------------------------------------------------------

-- Facts about this hub: its Automerge actor id, when it was created.
CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Password hashes live here, not in `users`, so no query over a synced table can
-- ever carry one (invariant 7).
CREATE TABLE user_credentials (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    changed_at TEXT NOT NULL
) STRICT;

-- Per-shop counters for business numbers (RO-00001): one row per shop and kind,
-- bumped inside the write transaction by the single writer, so never raced.
CREATE TABLE counters (
    shop_id TEXT NOT NULL REFERENCES shops (id),
    name TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (shop_id, name)
) STRICT, WITHOUT ROWID;

-- One Automerge document per record: its latest saved form and heads. A deleted
-- record keeps its document (with the tombstone) so its history stays readable.
CREATE TABLE crdt_docs (
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    heads TEXT NOT NULL,
    doc BLOB NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    PRIMARY KEY (table_name, record_id)
) STRICT, WITHOUT ROWID;

-- The change log: every Automerge change with its bytes, in commit order. `seq` is
-- the monotonically increasing sequence tablets resume from; `change_hash` keys the
-- idempotent upload of the bytes to the cloud.
CREATE TABLE change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    change_hash TEXT NOT NULL UNIQUE,
    actor TEXT NOT NULL,
    author_id TEXT,
    fields TEXT NOT NULL CHECK (json_valid(fields)),
    bytes BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX change_log_by_record ON change_log (table_name, record_id, seq);

-- The durable queue to the cloud. At most one PENDING item per record: later writes
-- to the record coalesce into it (the cloud needs the latest state, not each step).
CREATE TABLE sync_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shop_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    operation TEXT NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE', 'BULK_CREATE')),
    status TEXT NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'RETRY')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    change_seq INTEGER NOT NULL,
    next_attempt_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX sync_queue_one_pending ON sync_queue (table_name, record_id)
    WHERE status = 'PENDING';
CREATE INDEX sync_queue_by_status ON sync_queue (status, id);

-- Fields whose concurrent edits Automerge kept side by side: listed until resolved.
CREATE TABLE conflicts (
    shop_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    field TEXT NOT NULL,
    candidates TEXT NOT NULL CHECK (json_valid(candidates)),
    detected_at TEXT NOT NULL,
    PRIMARY KEY (table_name, record_id, field)
) STRICT, WITHOUT ROWID;
CREATE INDEX conflicts_by_shop ON conflicts (shop_id, detected_at);
