-- RLS, part 3: the role matrix of DOMAIN.md (tests/matrix.tsv states it as data
-- and tests/it/rls.rs runs every cell of it against these policies).
--
-- Every policy is TO authenticated and starts with the caller's shop, so no row
-- is ever visible to, or can be written into, another shop; every INSERT and
-- UPDATE policy has WITH CHECK, so a row can never be moved into another shop.
--   hub_all        the shop's hub (user_role = 'hub'): every row of its shop, all
--                  verbs (it upserts: INSERT ... ON CONFLICT (id) DO UPDATE).
--   staff_<verb>   the nine staff roles, as the matrix says. "Own" rows are
--                  rows whose technician_id is the caller (the `sub` claim); an own
--                  labor entry can be changed only while not approved and never
--                  arrives approved. A user may update their own row (display
--                  name only; the guard triggers of part 4 compare the other
--                  columns with the stored row), never into another role.
-- A verb nobody may do has no staff policy at all (append-only tables:
-- ro_stage_history and signatures have no staff update or delete policy).
-- Change bytes: the hub reads and inserts them; nobody updates or deletes.
-- Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

-- shops
CREATE POLICY hub_all ON public.shops FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.shops FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
-- no staff_insert policy: no staff role may insert shops
CREATE POLICY staff_update ON public.shops FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin')
    );
-- no staff_delete policy: no staff role may delete shops

-- users
CREATE POLICY hub_all ON public.users FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.users FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.users FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin')
    );
CREATE POLICY staff_update ON public.users FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin')
        OR ((SELECT app_private.user_role()) IN ('manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND id = (SELECT app_private.user_id()))
    )
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin')
        OR ((SELECT app_private.user_role()) IN ('manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND id = (SELECT app_private.user_id()) AND role = (SELECT app_private.user_role()))
    )
    );
CREATE POLICY staff_delete ON public.users FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner')
    );

-- customers
CREATE POLICY hub_all ON public.customers FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.customers FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.customers FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_update ON public.customers FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_delete ON public.customers FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- vehicles
CREATE POLICY hub_all ON public.vehicles FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.vehicles FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.vehicles FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_update ON public.vehicles FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_delete ON public.vehicles FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- insurance_companies
CREATE POLICY hub_all ON public.insurance_companies FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.insurance_companies FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.insurance_companies FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );
CREATE POLICY staff_update ON public.insurance_companies FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );
CREATE POLICY staff_delete ON public.insurance_companies FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- vendors
CREATE POLICY hub_all ON public.vendors FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.vendors FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.vendors FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    );
CREATE POLICY staff_update ON public.vendors FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    );
CREATE POLICY staff_delete ON public.vendors FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- claims
CREATE POLICY hub_all ON public.claims FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.claims FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.claims FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_update ON public.claims FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_delete ON public.claims FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- estimates
CREATE POLICY hub_all ON public.estimates FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.estimates FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.estimates FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_update ON public.estimates FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_delete ON public.estimates FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- estimate_lines
CREATE POLICY hub_all ON public.estimate_lines FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.estimate_lines FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.estimate_lines FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_update ON public.estimate_lines FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_delete ON public.estimate_lines FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- repair_orders
CREATE POLICY hub_all ON public.repair_orders FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.repair_orders FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.repair_orders FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_update ON public.repair_orders FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_delete ON public.repair_orders FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- production_stages
CREATE POLICY hub_all ON public.production_stages FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.production_stages FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.production_stages FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );
CREATE POLICY staff_update ON public.production_stages FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );
CREATE POLICY staff_delete ON public.production_stages FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- ro_stage_history
CREATE POLICY hub_all ON public.ro_stage_history FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.ro_stage_history FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.ro_stage_history FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
-- no staff_update policy: no staff role may update ro_stage_history
-- no staff_delete policy: no staff role may delete ro_stage_history

-- purchase_orders
CREATE POLICY hub_all ON public.purchase_orders FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.purchase_orders FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.purchase_orders FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    );
CREATE POLICY staff_update ON public.purchase_orders FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    );
CREATE POLICY staff_delete ON public.purchase_orders FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- parts
CREATE POLICY hub_all ON public.parts FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.parts FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.parts FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'estimator', 'parts_manager')
    );
CREATE POLICY staff_update ON public.parts FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_delete ON public.parts FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'parts_manager')
    );

-- labor_entries
CREATE POLICY hub_all ON public.labor_entries FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.labor_entries FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'accountant')
        OR ((SELECT app_private.user_role()) IN ('estimator', 'technician', 'parts_manager', 'receptionist') AND technician_id = (SELECT app_private.user_id()))
    )
    );
CREATE POLICY staff_insert ON public.labor_entries FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()) AND approved = false AND approved_by IS NULL)
    )
    );
CREATE POLICY staff_update ON public.labor_entries FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()) AND approved = false)
    )
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()) AND approved = false)
    )
    );
CREATE POLICY staff_delete ON public.labor_entries FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- time_clock
CREATE POLICY hub_all ON public.time_clock FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.time_clock FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'accountant')
        OR ((SELECT app_private.user_role()) IN ('estimator', 'technician', 'parts_manager', 'receptionist') AND technician_id = (SELECT app_private.user_id()))
    )
    );
CREATE POLICY staff_insert ON public.time_clock FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()))
    )
    );
CREATE POLICY staff_update ON public.time_clock FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()))
    )
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
        OR ((SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND technician_id = (SELECT app_private.user_id()))
    )
    );
CREATE POLICY staff_delete ON public.time_clock FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- invoices
CREATE POLICY hub_all ON public.invoices FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.invoices FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'accountant')
    );
CREATE POLICY staff_insert ON public.invoices FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
    );
CREATE POLICY staff_update ON public.invoices FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
    );
CREATE POLICY staff_delete ON public.invoices FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin')
    );

-- payments
CREATE POLICY hub_all ON public.payments FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.payments FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.payments FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_update ON public.payments FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
    );
CREATE POLICY staff_delete ON public.payments FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin')
    );

-- attachments
CREATE POLICY hub_all ON public.attachments FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.attachments FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.attachments FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_update ON public.attachments FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );
CREATE POLICY staff_delete ON public.attachments FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- signatures
CREATE POLICY hub_all ON public.signatures FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.signatures FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.signatures FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
-- no staff_update policy: no staff role may update signatures
-- no staff_delete policy: no staff role may delete signatures

-- loaner_vehicles
CREATE POLICY hub_all ON public.loaner_vehicles FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.loaner_vehicles FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.loaner_vehicles FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    );
CREATE POLICY staff_update ON public.loaner_vehicles FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    );
CREATE POLICY staff_delete ON public.loaner_vehicles FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- loaner_reservations
CREATE POLICY hub_all ON public.loaner_reservations FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.loaner_reservations FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.loaner_reservations FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    );
CREATE POLICY staff_update ON public.loaner_reservations FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'receptionist')
    );
CREATE POLICY staff_delete ON public.loaner_reservations FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- bms_imports
CREATE POLICY hub_all ON public.bms_imports FOR ALL TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub')
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY staff_select ON public.bms_imports FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant')
    );
CREATE POLICY staff_insert ON public.bms_imports FOR INSERT TO authenticated
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_update ON public.bms_imports FOR UPDATE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    )
    WITH CHECK (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator')
    );
CREATE POLICY staff_delete ON public.bms_imports FOR DELETE TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager')
    );

-- crdt_changes
CREATE POLICY hub_select ON public.crdt_changes FOR SELECT TO authenticated
    USING (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');
CREATE POLICY hub_insert ON public.crdt_changes FOR INSERT TO authenticated
    WITH CHECK (shop_id = (SELECT app_private.shop_id()) AND (SELECT app_private.user_role()) = 'hub');

COMMIT;
