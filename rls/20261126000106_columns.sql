-- RLS, part 6: the column rules of the role matrix (the hub's API applies the
-- same rules: src/domain/columns.rs; tests/columns.tsv states them as cases that
-- tests/it/columns_api.rs and tests/it/columns_rls.rs both run).
--
--   guard_immutable   every table: id, shop_id and created_at of an existing row
--                     never change, for anyone. The hub writes back what it
--                     already holds (its upserts set them to equal values), which
--                     is no change.
--   guard_columns     repair_orders, for the roles that may update but not insert
--                     them (technician, parts_manager, receptionist, accountant):
--                     only stage, hold_reason, notes and ro_status among
--                     in_production, quality_control, parts_hold and
--                     ready_for_delivery; the money columns (*_cents) and the
--                     statuses invoiced, paid, archived and cancelled are FIN's,
--                     so the accountant may change those as well, the others
--                     neither set them nor move a repair order out of them.
--                     parts, for roles outside owner, admin, manager, estimator
--                     and parts_manager: only part_status (to received, inspected
--                     or installed) and quantity_received.
--   users.hourly_rate_cents  readable by FIN (owner, admin, manager, accountant),
--                     by the user themself and by the hub. A policy cannot hide
--                     a column and column privileges cannot tell staff from the
--                     hub (both are the Postgres role authenticated, and the hub's
--                     upsert reads EXCLUDED.hourly_rate_cents, which needs SELECT
--                     on it), so: the users rows themselves are readable by FIN,
--                     the hub and each user's own row; everyone of the shop reads
--                     the profile columns of every user through the view
--                     public.user_profiles, which has no hourly_rate_cents.
-- Guards act on UPDATE only (an insert is the matrix's), compare NEW with OLD,
-- raise SQLSTATE 42501 like RLS does with the field first in the message, and
-- never modify the row.
-- One transaction: applied whole or not at all.

BEGIN;

CREATE OR REPLACE FUNCTION app_private.guard_immutable() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  IF NEW.id IS DISTINCT FROM OLD.id THEN
    RAISE EXCEPTION 'id: the id of an existing % row never changes', TG_TABLE_NAME
      USING ERRCODE = '42501';
  END IF;
  IF NEW.shop_id IS DISTINCT FROM OLD.shop_id THEN
    RAISE EXCEPTION 'shop_id: a % row never moves to another shop', TG_TABLE_NAME
      USING ERRCODE = '42501';
  END IF;
  IF NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'created_at: the creation time of a % row never changes', TG_TABLE_NAME
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.guard_immutable() FROM PUBLIC;
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.shops
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.customers
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.vehicles
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.insurance_companies
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.vendors
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.claims
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.estimates
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.estimate_lines
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.repair_orders
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.production_stages
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.ro_stage_history
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.purchase_orders
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.parts
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.labor_entries
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.time_clock
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.invoices
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.payments
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.attachments
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.signatures
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.loaner_vehicles
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.loaner_reservations
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();
CREATE TRIGGER guard_immutable BEFORE UPDATE ON public.bms_imports
    FOR EACH ROW EXECUTE FUNCTION app_private.guard_immutable();

CREATE OR REPLACE FUNCTION app_private.repair_orders_guard_columns() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  caller text := (SELECT app_private.user_role());
  fin boolean := (SELECT app_private.user_role()) = 'accountant';
  production text[] := ARRAY['in_production', 'quality_control', 'parts_hold', 'ready_for_delivery'];
  fin_statuses text[] := ARRAY['invoiced', 'paid', 'archived', 'cancelled'];
  field text;
BEGIN
  IF caller IS NULL OR caller NOT IN ('technician', 'parts_manager', 'receptionist', 'accountant') THEN
    RETURN NEW;
  END IF;
  SELECT n.key INTO field
  FROM jsonb_each(to_jsonb(NEW)) AS n
  WHERE n.key NOT IN ('updated_at', 'stage', 'hold_reason', 'notes', 'ro_status')
    AND NOT (fin AND n.key LIKE '%\_cents')
    AND n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key)
  ORDER BY n.key
  LIMIT 1;
  IF field IS NOT NULL THEN
    RAISE EXCEPTION '%: a % may change only stage, hold_reason, notes and ro_status of a repair order', field, caller
      USING ERRCODE = '42501';
  END IF;
  IF NEW.ro_status IS DISTINCT FROM OLD.ro_status
     AND (NOT (NEW.ro_status = ANY (production) OR (fin AND NEW.ro_status = ANY (fin_statuses)))
          OR (NOT fin AND OLD.ro_status = ANY (fin_statuses))) THEN
    RAISE EXCEPTION 'ro_status: a % moves a repair order only among in_production, quality_control, parts_hold and ready_for_delivery', caller
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.repair_orders_guard_columns() FROM PUBLIC;
CREATE TRIGGER guard_columns BEFORE UPDATE ON public.repair_orders
    FOR EACH ROW EXECUTE FUNCTION app_private.repair_orders_guard_columns();

CREATE OR REPLACE FUNCTION app_private.parts_guard_columns() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  caller text := (SELECT app_private.user_role());
  field text;
BEGIN
  IF caller IS NULL OR caller NOT IN ('service_advisor', 'technician', 'receptionist', 'accountant') THEN
    RETURN NEW;
  END IF;
  SELECT n.key INTO field
  FROM jsonb_each(to_jsonb(NEW)) AS n
  WHERE n.key NOT IN ('updated_at', 'part_status', 'quantity_received', 'notes')
    AND n.value IS DISTINCT FROM (to_jsonb(OLD) -> n.key)
  ORDER BY n.key
  LIMIT 1;
  IF field IS NOT NULL THEN
    RAISE EXCEPTION '%: a % may change only part_status and quantity_received of a part', field, caller
      USING ERRCODE = '42501';
  END IF;
  IF NEW.part_status IS DISTINCT FROM OLD.part_status
     AND NOT NEW.part_status = ANY (ARRAY['received', 'inspected', 'installed']) THEN
    RAISE EXCEPTION 'part_status: a % marks a part only received, inspected or installed', caller
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.parts_guard_columns() FROM PUBLIC;
CREATE TRIGGER guard_columns BEFORE UPDATE ON public.parts
    FOR EACH ROW EXECUTE FUNCTION app_private.parts_guard_columns();

-- users: whole rows for FIN, the hub (its own policy, hub_all) and each user's
-- own row; profiles of everyone through public.user_profiles.
DROP POLICY staff_select ON public.users;
CREATE POLICY staff_select ON public.users FOR SELECT TO authenticated
    USING (
    shop_id = (SELECT app_private.shop_id())
    AND (
        (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'accountant')
        OR ((SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') AND id = (SELECT app_private.user_id()))
    )
    );

-- The profile columns of every user of the caller's shop (DOMAIN.md: users are
-- readable by ALL, profile columns only). The view runs with its owner's rights
-- (it reads users past their row policy) and confines itself to the caller's
-- shop and to callers with an app role; security_barrier keeps a caller's own
-- WHERE functions from seeing rows before that filter.
CREATE VIEW public.user_profiles WITH (security_barrier = true) AS
    SELECT u.id, u.shop_id, u.created_at, u.updated_at, u.email, u.display_name, u.role, u.active
    FROM public.users u
    WHERE u.shop_id = (SELECT app_private.shop_id())
      AND (SELECT app_private.user_role()) IN ('owner', 'admin', 'manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant', 'hub');
REVOKE ALL ON TABLE public.user_profiles FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT ON TABLE public.user_profiles TO authenticated, service_role;

COMMIT;
