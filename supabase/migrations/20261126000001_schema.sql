-- CollisionOS cloud mirror, part 1: every table of the catalog
-- (src/domain/catalog.rs), same column names and status lists as the hub's SQLite.
-- Append-only: never edit once shipped; add a later-timestamped file instead.
-- Written by `cargo run --example gen_cloud_sql`; tests/it/cloud.rs holds it to
-- the catalog and to the SQLite schema.
--
-- Same-shop references are composite foreign keys onto UNIQUE (shop_id, id),
-- DEFERRABLE INITIALLY DEFERRED so one sync batch can land in any order inside
-- its transaction. Nothing here sets or rewrites created_at / updated_at: the
-- hub's values are the truth.
-- One transaction: applied whole or not at all.

BEGIN;

CREATE TABLE public.shops (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL CHECK (shop_id = id),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    name text NOT NULL,
    phone text,
    email text,
    address text,
    city text,
    region text,
    postal_code text,
    country text,
    timezone text NOT NULL DEFAULT 'UTC',
    currency text NOT NULL DEFAULT 'USD',
    tax_id text,
    tax_id_secondary text,
    body_labor_rate_cents bigint,
    paint_labor_rate_cents bigint,
    frame_labor_rate_cents bigint,
    mechanical_labor_rate_cents bigint,
    settings jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT shops_shop_id_id_key UNIQUE (shop_id, id)
);
ALTER TABLE public.shops ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.shops FORCE ROW LEVEL SECURITY;
CREATE INDEX shops_by_updated_at ON public.shops (shop_id, updated_at);

CREATE TABLE public.users (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')),
    hourly_rate_cents bigint,
    active boolean NOT NULL DEFAULT true,
    CONSTRAINT users_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT users_shop_id_email_key UNIQUE (shop_id, email)
);
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;
CREATE INDEX users_by_updated_at ON public.users (shop_id, updated_at);

CREATE TABLE public.customers (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    customer_number text NOT NULL,
    first_name text,
    last_name text,
    company_name text,
    email text,
    phone text,
    mobile text,
    address text,
    city text,
    region text,
    postal_code text,
    customer_type text NOT NULL DEFAULT 'individual' CHECK (customer_type IN ('individual', 'business', 'insurance', 'fleet')),
    preferred_contact text NOT NULL DEFAULT 'phone' CHECK (preferred_contact IN ('phone', 'email', 'sms', 'mail')),
    notes text,
    CONSTRAINT customers_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT customers_shop_id_customer_number_key UNIQUE (shop_id, customer_number)
);
ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.customers FORCE ROW LEVEL SECURITY;
CREATE INDEX customers_by_last_name_id ON public.customers (shop_id, last_name, id);
CREATE INDEX customers_by_updated_at ON public.customers (shop_id, updated_at);

CREATE TABLE public.vehicles (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    customer_id uuid,
    vin text CHECK (length(vin) = 17),
    year bigint,
    make text,
    model text,
    trim text,
    color text,
    paint_code text,
    license_plate text,
    odometer bigint,
    odometer_unit text NOT NULL DEFAULT 'km' CHECK (odometer_unit IN ('km', 'mi')),
    CONSTRAINT vehicles_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT vehicles_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.vehicles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.vehicles FORCE ROW LEVEL SECURITY;
CREATE INDEX vehicles_by_customer_id_id ON public.vehicles (shop_id, customer_id, id);
CREATE INDEX vehicles_by_vin_id ON public.vehicles (shop_id, vin, id);
CREATE INDEX vehicles_by_updated_at ON public.vehicles (shop_id, updated_at);

CREATE TABLE public.insurance_companies (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    name text NOT NULL,
    code text,
    is_drp boolean NOT NULL DEFAULT false,
    claims_phone text,
    claims_email text,
    body_labor_rate_cents bigint,
    paint_labor_rate_cents bigint,
    frame_labor_rate_cents bigint,
    mechanical_labor_rate_cents bigint,
    CONSTRAINT insurance_companies_shop_id_id_key UNIQUE (shop_id, id)
);
ALTER TABLE public.insurance_companies ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.insurance_companies FORCE ROW LEVEL SECURITY;
CREATE INDEX insurance_companies_by_updated_at ON public.insurance_companies (shop_id, updated_at);

CREATE TABLE public.vendors (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    vendor_number text NOT NULL,
    name text NOT NULL,
    vendor_type text NOT NULL DEFAULT 'other' CHECK (vendor_type IN ('oem', 'aftermarket', 'recycled', 'remanufactured', 'paint_supplier', 'sublet', 'other')),
    contact_name text,
    phone text,
    email text,
    payment_terms text,
    CONSTRAINT vendors_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT vendors_shop_id_vendor_number_key UNIQUE (shop_id, vendor_number)
);
ALTER TABLE public.vendors ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.vendors FORCE ROW LEVEL SECURITY;
CREATE INDEX vendors_by_updated_at ON public.vendors (shop_id, updated_at);

CREATE TABLE public.claims (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    customer_id uuid,
    vehicle_id uuid,
    insurance_company_id uuid,
    claim_number text NOT NULL,
    policy_number text,
    date_of_loss date,
    adjuster_name text,
    adjuster_phone text,
    adjuster_email text,
    deductible_cents bigint NOT NULL DEFAULT 0,
    claim_status text NOT NULL DEFAULT 'open' CHECK (claim_status IN ('open', 'under_review', 'approved', 'supplement_requested', 'supplement_approved', 'denied', 'closed', 'cancelled')),
    CONSTRAINT claims_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT claims_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT claims_shop_id_vehicle_id_fkey FOREIGN KEY (shop_id, vehicle_id)
        REFERENCES public.vehicles (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT claims_shop_id_insurance_company_id_fkey FOREIGN KEY (shop_id, insurance_company_id)
        REFERENCES public.insurance_companies (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.claims ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.claims FORCE ROW LEVEL SECURITY;
CREATE INDEX claims_by_customer_id_id ON public.claims (shop_id, customer_id, id);
CREATE INDEX claims_by_claim_status_id ON public.claims (shop_id, claim_status, id);
CREATE INDEX claims_by_vehicle_id ON public.claims (shop_id, vehicle_id);
CREATE INDEX claims_by_insurance_company_id ON public.claims (shop_id, insurance_company_id);
CREATE INDEX claims_by_updated_at ON public.claims (shop_id, updated_at);

CREATE TABLE public.estimates (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    estimate_number text NOT NULL,
    customer_id uuid,
    vehicle_id uuid,
    claim_id uuid,
    estimate_status text NOT NULL DEFAULT 'draft' CHECK (estimate_status IN ('draft', 'pending_review', 'sent', 'approved', 'rejected', 'revised', 'supplement', 'converted')),
    parts_total_cents bigint NOT NULL DEFAULT 0,
    labor_total_cents bigint NOT NULL DEFAULT 0,
    paint_total_cents bigint NOT NULL DEFAULT 0,
    materials_total_cents bigint NOT NULL DEFAULT 0,
    sublet_total_cents bigint NOT NULL DEFAULT 0,
    tax_total_cents bigint NOT NULL DEFAULT 0,
    total_cents bigint NOT NULL DEFAULT 0,
    supplement_number bigint NOT NULL DEFAULT 0,
    CONSTRAINT estimates_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT estimates_shop_id_estimate_number_key UNIQUE (shop_id, estimate_number),
    CONSTRAINT estimates_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT estimates_shop_id_vehicle_id_fkey FOREIGN KEY (shop_id, vehicle_id)
        REFERENCES public.vehicles (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT estimates_shop_id_claim_id_fkey FOREIGN KEY (shop_id, claim_id)
        REFERENCES public.claims (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.estimates ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.estimates FORCE ROW LEVEL SECURITY;
CREATE INDEX estimates_by_customer_id_id ON public.estimates (shop_id, customer_id, id);
CREATE INDEX estimates_by_estimate_status_id ON public.estimates (shop_id, estimate_status, id);
CREATE INDEX estimates_by_vehicle_id ON public.estimates (shop_id, vehicle_id);
CREATE INDEX estimates_by_claim_id ON public.estimates (shop_id, claim_id);
CREATE INDEX estimates_by_updated_at ON public.estimates (shop_id, updated_at);

CREATE TABLE public.estimate_lines (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    estimate_id uuid NOT NULL,
    line_number bigint NOT NULL,
    line_type text NOT NULL CHECK (line_type IN ('part', 'labor', 'paint', 'material', 'sublet', 'tax', 'discount', 'other')),
    operation text,
    description text,
    part_number text,
    part_type text CHECK (part_type IN ('oem', 'aftermarket', 'used', 'reconditioned')),
    quantity numeric NOT NULL DEFAULT '1',
    unit_price_cents bigint NOT NULL DEFAULT 0,
    labor_hours numeric,
    labor_type text CHECK (labor_type IN ('body', 'paint', 'frame', 'mechanical', 'electrical', 'glass', 'detail', 'prep', 'quality_control', 'other')),
    total_cents bigint NOT NULL DEFAULT 0,
    CONSTRAINT estimate_lines_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT estimate_lines_shop_id_estimate_id_line_number_key UNIQUE (shop_id, estimate_id, line_number),
    CONSTRAINT estimate_lines_shop_id_estimate_id_fkey FOREIGN KEY (shop_id, estimate_id)
        REFERENCES public.estimates (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.estimate_lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.estimate_lines FORCE ROW LEVEL SECURITY;
CREATE INDEX estimate_lines_by_estimate_id ON public.estimate_lines (shop_id, estimate_id);
CREATE INDEX estimate_lines_by_updated_at ON public.estimate_lines (shop_id, updated_at);

CREATE TABLE public.repair_orders (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ro_number text NOT NULL,
    customer_id uuid,
    vehicle_id uuid,
    claim_id uuid,
    estimate_id uuid,
    ro_status text NOT NULL DEFAULT 'draft' CHECK (ro_status IN ('draft', 'estimate_pending', 'estimate_approved', 'parts_ordered', 'parts_hold', 'in_production', 'quality_control', 'supplement_pending', 'supplement_approved', 'customer_approval', 'ready_for_delivery', 'completed', 'delivered', 'invoiced', 'paid', 'archived', 'cancelled')),
    stage text NOT NULL DEFAULT 'intake' CHECK (stage ~ '^[a-z0-9_]{1,40}$'),
    priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    hold_reason text CHECK (hold_reason IN ('parts_delay', 'insurance_approval', 'customer_approval', 'supplement_review', 'sublet_delay', 'technician_unavailable', 'equipment_down', 'other')),
    primary_technician_id uuid,
    promised_at timestamptz,
    delivered_at timestamptz,
    parts_total_cents bigint NOT NULL DEFAULT 0,
    labor_total_cents bigint NOT NULL DEFAULT 0,
    total_cents bigint NOT NULL DEFAULT 0,
    notes text,
    CONSTRAINT repair_orders_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT repair_orders_shop_id_ro_number_key UNIQUE (shop_id, ro_number),
    CONSTRAINT repair_orders_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT repair_orders_shop_id_vehicle_id_fkey FOREIGN KEY (shop_id, vehicle_id)
        REFERENCES public.vehicles (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT repair_orders_shop_id_claim_id_fkey FOREIGN KEY (shop_id, claim_id)
        REFERENCES public.claims (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT repair_orders_shop_id_estimate_id_fkey FOREIGN KEY (shop_id, estimate_id)
        REFERENCES public.estimates (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT repair_orders_shop_id_primary_technician_id_fkey FOREIGN KEY (shop_id, primary_technician_id)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.repair_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.repair_orders FORCE ROW LEVEL SECURITY;
CREATE INDEX repair_orders_by_stage_id ON public.repair_orders (shop_id, stage, id);
CREATE INDEX repair_orders_by_ro_status_id ON public.repair_orders (shop_id, ro_status, id);
CREATE INDEX repair_orders_by_customer_id_id ON public.repair_orders (shop_id, customer_id, id);
CREATE INDEX repair_orders_by_primary_technician_id_id ON public.repair_orders (shop_id, primary_technician_id, id);
CREATE INDEX repair_orders_by_vehicle_id ON public.repair_orders (shop_id, vehicle_id);
CREATE INDEX repair_orders_by_claim_id ON public.repair_orders (shop_id, claim_id);
CREATE INDEX repair_orders_by_estimate_id ON public.repair_orders (shop_id, estimate_id);
CREATE INDEX repair_orders_by_updated_at ON public.repair_orders (shop_id, updated_at);

CREATE TABLE public.production_stages (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    name text NOT NULL,
    code text NOT NULL CHECK (code ~ '^[a-z0-9_]{1,40}$'),
    position bigint NOT NULL,
    category text,
    active boolean NOT NULL DEFAULT true,
    CONSTRAINT production_stages_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT production_stages_shop_id_code_key UNIQUE (shop_id, code)
);
ALTER TABLE public.production_stages ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.production_stages FORCE ROW LEVEL SECURITY;
CREATE INDEX production_stages_by_updated_at ON public.production_stages (shop_id, updated_at);

CREATE TABLE public.ro_stage_history (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    repair_order_id uuid NOT NULL,
    from_stage text CHECK (from_stage ~ '^[a-z0-9_]{1,40}$'),
    to_stage text NOT NULL CHECK (to_stage ~ '^[a-z0-9_]{1,40}$'),
    moved_by uuid,
    reason text,
    moved_at timestamptz NOT NULL,
    CONSTRAINT ro_stage_history_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT ro_stage_history_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT ro_stage_history_shop_id_moved_by_fkey FOREIGN KEY (shop_id, moved_by)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.ro_stage_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ro_stage_history FORCE ROW LEVEL SECURITY;
CREATE INDEX ro_stage_history_by_repair_order_id_id ON public.ro_stage_history (shop_id, repair_order_id, id);
CREATE INDEX ro_stage_history_by_moved_by ON public.ro_stage_history (shop_id, moved_by);
CREATE INDEX ro_stage_history_by_updated_at ON public.ro_stage_history (shop_id, updated_at);

CREATE TABLE public.purchase_orders (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    po_number text NOT NULL,
    vendor_id uuid,
    repair_order_id uuid,
    po_status text NOT NULL DEFAULT 'draft' CHECK (po_status IN ('draft', 'pending_approval', 'approved', 'sent', 'acknowledged', 'partially_received', 'received', 'cancelled', 'closed', 'disputed')),
    ordered_at timestamptz,
    expected_at timestamptz,
    subtotal_cents bigint NOT NULL DEFAULT 0,
    tax_cents bigint NOT NULL DEFAULT 0,
    total_cents bigint NOT NULL DEFAULT 0,
    CONSTRAINT purchase_orders_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT purchase_orders_shop_id_po_number_key UNIQUE (shop_id, po_number),
    CONSTRAINT purchase_orders_shop_id_vendor_id_fkey FOREIGN KEY (shop_id, vendor_id)
        REFERENCES public.vendors (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT purchase_orders_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.purchase_orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.purchase_orders FORCE ROW LEVEL SECURITY;
CREATE INDEX purchase_orders_by_vendor_id_id ON public.purchase_orders (shop_id, vendor_id, id);
CREATE INDEX purchase_orders_by_po_status_id ON public.purchase_orders (shop_id, po_status, id);
CREATE INDEX purchase_orders_by_repair_order_id_id ON public.purchase_orders (shop_id, repair_order_id, id);
CREATE INDEX purchase_orders_by_updated_at ON public.purchase_orders (shop_id, updated_at);

CREATE TABLE public.parts (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    repair_order_id uuid,
    estimate_line_id uuid,
    vendor_id uuid,
    purchase_order_id uuid,
    part_number text,
    description text NOT NULL,
    part_type text CHECK (part_type IN ('oem', 'aftermarket', 'used', 'reconditioned')),
    quantity_ordered bigint NOT NULL DEFAULT 1,
    quantity_received bigint NOT NULL DEFAULT 0,
    cost_cents bigint NOT NULL DEFAULT 0,
    price_cents bigint NOT NULL DEFAULT 0,
    part_status text NOT NULL DEFAULT 'needed' CHECK (part_status IN ('needed', 'sourcing', 'quoted', 'ordered', 'backordered', 'shipped', 'received', 'inspected', 'installed', 'returned', 'cancelled')),
    CONSTRAINT parts_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT parts_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT parts_shop_id_estimate_line_id_fkey FOREIGN KEY (shop_id, estimate_line_id)
        REFERENCES public.estimate_lines (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT parts_shop_id_vendor_id_fkey FOREIGN KEY (shop_id, vendor_id)
        REFERENCES public.vendors (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT parts_shop_id_purchase_order_id_fkey FOREIGN KEY (shop_id, purchase_order_id)
        REFERENCES public.purchase_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.parts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.parts FORCE ROW LEVEL SECURITY;
CREATE INDEX parts_by_repair_order_id_id ON public.parts (shop_id, repair_order_id, id);
CREATE INDEX parts_by_part_status_id ON public.parts (shop_id, part_status, id);
CREATE INDEX parts_by_purchase_order_id_id ON public.parts (shop_id, purchase_order_id, id);
CREATE INDEX parts_by_estimate_line_id ON public.parts (shop_id, estimate_line_id);
CREATE INDEX parts_by_vendor_id ON public.parts (shop_id, vendor_id);
CREATE INDEX parts_by_updated_at ON public.parts (shop_id, updated_at);

CREATE TABLE public.labor_entries (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    technician_id uuid NOT NULL,
    repair_order_id uuid,
    labor_type text NOT NULL CHECK (labor_type IN ('body', 'paint', 'frame', 'mechanical', 'electrical', 'glass', 'detail', 'prep', 'quality_control', 'other')),
    started_at timestamptz,
    ended_at timestamptz,
    minutes bigint NOT NULL DEFAULT 0,
    approved boolean NOT NULL DEFAULT false,
    approved_by uuid,
    notes text,
    CONSTRAINT labor_entries_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT labor_entries_shop_id_technician_id_fkey FOREIGN KEY (shop_id, technician_id)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT labor_entries_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT labor_entries_shop_id_approved_by_fkey FOREIGN KEY (shop_id, approved_by)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.labor_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.labor_entries FORCE ROW LEVEL SECURITY;
CREATE INDEX labor_entries_by_technician_id_id ON public.labor_entries (shop_id, technician_id, id);
CREATE INDEX labor_entries_by_repair_order_id_id ON public.labor_entries (shop_id, repair_order_id, id);
CREATE INDEX labor_entries_by_approved_by ON public.labor_entries (shop_id, approved_by);
CREATE INDEX labor_entries_by_updated_at ON public.labor_entries (shop_id, updated_at);

CREATE TABLE public.time_clock (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    technician_id uuid NOT NULL,
    clock_in timestamptz NOT NULL,
    clock_out timestamptz,
    break_minutes bigint NOT NULL DEFAULT 0,
    status text NOT NULL DEFAULT 'clocked_in' CHECK (status IN ('clocked_in', 'on_break', 'clocked_out')),
    CONSTRAINT time_clock_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT time_clock_shop_id_technician_id_fkey FOREIGN KEY (shop_id, technician_id)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.time_clock ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.time_clock FORCE ROW LEVEL SECURITY;
CREATE INDEX time_clock_by_technician_id_id ON public.time_clock (shop_id, technician_id, id);
CREATE INDEX time_clock_by_updated_at ON public.time_clock (shop_id, updated_at);

CREATE TABLE public.invoices (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    invoice_number text NOT NULL,
    repair_order_id uuid,
    customer_id uuid,
    invoice_status text NOT NULL DEFAULT 'draft' CHECK (invoice_status IN ('draft', 'sent', 'partial', 'paid', 'overdue', 'void')),
    issued_at timestamptz,
    due_at timestamptz,
    subtotal_cents bigint NOT NULL DEFAULT 0,
    tax_cents bigint NOT NULL DEFAULT 0,
    total_cents bigint NOT NULL DEFAULT 0,
    paid_cents bigint NOT NULL DEFAULT 0,
    balance_cents bigint NOT NULL DEFAULT 0,
    CONSTRAINT invoices_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT invoices_shop_id_invoice_number_key UNIQUE (shop_id, invoice_number),
    CONSTRAINT invoices_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT invoices_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.invoices FORCE ROW LEVEL SECURITY;
CREATE INDEX invoices_by_repair_order_id_id ON public.invoices (shop_id, repair_order_id, id);
CREATE INDEX invoices_by_invoice_status_id ON public.invoices (shop_id, invoice_status, id);
CREATE INDEX invoices_by_customer_id ON public.invoices (shop_id, customer_id);
CREATE INDEX invoices_by_updated_at ON public.invoices (shop_id, updated_at);

CREATE TABLE public.payments (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    invoice_id uuid NOT NULL,
    payment_method text NOT NULL CHECK (payment_method IN ('cash', 'check', 'credit_card', 'debit_card', 'e_transfer', 'insurance_direct', 'financing', 'other')),
    amount_cents bigint NOT NULL,
    received_at timestamptz,
    reference text,
    payment_status text NOT NULL DEFAULT 'completed' CHECK (payment_status IN ('pending', 'completed', 'failed', 'refunded')),
    CONSTRAINT payments_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT payments_shop_id_invoice_id_fkey FOREIGN KEY (shop_id, invoice_id)
        REFERENCES public.invoices (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.payments FORCE ROW LEVEL SECURITY;
CREATE INDEX payments_by_invoice_id_id ON public.payments (shop_id, invoice_id, id);
CREATE INDEX payments_by_updated_at ON public.payments (shop_id, updated_at);

CREATE TABLE public.attachments (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    repair_order_id uuid,
    category text NOT NULL DEFAULT 'other' CHECK (category IN ('before_damage', 'during_repair', 'after_repair', 'damage_assessment', 'supplement', 'parts_received', 'quality_check', 'delivery', 'insurance_doc', 'other')),
    file_name text NOT NULL,
    mime_type text,
    size_bytes bigint,
    sha256 text,
    storage_key text,
    taken_by uuid,
    CONSTRAINT attachments_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT attachments_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT attachments_shop_id_taken_by_fkey FOREIGN KEY (shop_id, taken_by)
        REFERENCES public.users (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.attachments FORCE ROW LEVEL SECURITY;
CREATE INDEX attachments_by_repair_order_id_id ON public.attachments (shop_id, repair_order_id, id);
CREATE INDEX attachments_by_taken_by ON public.attachments (shop_id, taken_by);
CREATE INDEX attachments_by_updated_at ON public.attachments (shop_id, updated_at);

CREATE TABLE public.signatures (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    document_type text NOT NULL,
    document_id uuid NOT NULL,
    signer_name text NOT NULL,
    signer_role text,
    signed_at timestamptz NOT NULL,
    image_attachment_id uuid,
    CONSTRAINT signatures_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT signatures_shop_id_image_attachment_id_fkey FOREIGN KEY (shop_id, image_attachment_id)
        REFERENCES public.attachments (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.signatures ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.signatures FORCE ROW LEVEL SECURITY;
CREATE INDEX signatures_by_document_id_id ON public.signatures (shop_id, document_id, id);
CREATE INDEX signatures_by_image_attachment_id ON public.signatures (shop_id, image_attachment_id);
CREATE INDEX signatures_by_updated_at ON public.signatures (shop_id, updated_at);

CREATE TABLE public.loaner_vehicles (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    unit_number text NOT NULL,
    vin text CHECK (length(vin) = 17),
    plate text,
    make text,
    model text,
    loaner_status text NOT NULL DEFAULT 'available' CHECK (loaner_status IN ('available', 'reserved', 'out', 'maintenance', 'retired')),
    CONSTRAINT loaner_vehicles_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT loaner_vehicles_shop_id_unit_number_key UNIQUE (shop_id, unit_number)
);
ALTER TABLE public.loaner_vehicles ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.loaner_vehicles FORCE ROW LEVEL SECURITY;
CREATE INDEX loaner_vehicles_by_updated_at ON public.loaner_vehicles (shop_id, updated_at);

CREATE TABLE public.loaner_reservations (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    loaner_vehicle_id uuid NOT NULL,
    customer_id uuid,
    repair_order_id uuid,
    reservation_status text NOT NULL DEFAULT 'pending' CHECK (reservation_status IN ('pending', 'confirmed', 'out', 'returned', 'cancelled', 'no_show')),
    out_at timestamptz,
    back_at timestamptz,
    odometer_out bigint,
    odometer_in bigint,
    CONSTRAINT loaner_reservations_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT loaner_reservations_shop_id_loaner_vehicle_id_fkey FOREIGN KEY (shop_id, loaner_vehicle_id)
        REFERENCES public.loaner_vehicles (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT loaner_reservations_shop_id_customer_id_fkey FOREIGN KEY (shop_id, customer_id)
        REFERENCES public.customers (shop_id, id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT loaner_reservations_shop_id_repair_order_id_fkey FOREIGN KEY (shop_id, repair_order_id)
        REFERENCES public.repair_orders (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.loaner_reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.loaner_reservations FORCE ROW LEVEL SECURITY;
CREATE INDEX loaner_reservations_by_loaner_vehicle_id_id ON public.loaner_reservations (shop_id, loaner_vehicle_id, id);
CREATE INDEX loaner_reservations_by_customer_id ON public.loaner_reservations (shop_id, customer_id);
CREATE INDEX loaner_reservations_by_repair_order_id ON public.loaner_reservations (shop_id, repair_order_id);
CREATE INDEX loaner_reservations_by_updated_at ON public.loaner_reservations (shop_id, updated_at);

CREATE TABLE public.bms_imports (
    id uuid PRIMARY KEY,
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    file_name text NOT NULL,
    sha256 text,
    import_status text NOT NULL DEFAULT 'pending' CHECK (import_status IN ('pending', 'processing', 'imported', 'failed', 'partial')),
    estimate_id uuid,
    error text,
    provider text,
    version text,
    CONSTRAINT bms_imports_shop_id_id_key UNIQUE (shop_id, id),
    CONSTRAINT bms_imports_shop_id_estimate_id_fkey FOREIGN KEY (shop_id, estimate_id)
        REFERENCES public.estimates (shop_id, id) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE public.bms_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.bms_imports FORCE ROW LEVEL SECURITY;
CREATE INDEX bms_imports_by_estimate_id ON public.bms_imports (shop_id, estimate_id);
CREATE INDEX bms_imports_by_updated_at ON public.bms_imports (shop_id, updated_at);

COMMIT;
