-- RLS, part 4: guard triggers for the rules that compare a new row with the
-- stored one, which a policy cannot do without reading the table again.
-- BEFORE UPDATE row triggers see OLD and NEW directly: no table read, no RLS
-- recursion, no dependence on who owns the function. They act only when the
-- caller's only right to the row is self-profile or own-row access (the hub,
-- owners and managers are not held back), raise SQLSTATE 42501 like RLS
-- does, and never modify the row (updated_at is the hub's).
-- Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

CREATE OR REPLACE FUNCTION app_private.users_guard_self_profile() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  IF (SELECT app_private.user_role()) IN ('manager', 'service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') THEN
    IF (to_jsonb(NEW) - 'updated_at' - 'display_name') IS DISTINCT FROM (to_jsonb(OLD) - 'updated_at' - 'display_name') THEN
      RAISE EXCEPTION 'a % may change only display_name of their own user row', (SELECT app_private.user_role())
        USING ERRCODE = '42501';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.users_guard_self_profile() FROM PUBLIC;
CREATE TRIGGER guard_self_profile BEFORE UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app_private.users_guard_self_profile();

CREATE OR REPLACE FUNCTION app_private.labor_entries_guard_approval() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  IF (SELECT app_private.user_role()) IN ('service_advisor', 'estimator', 'technician', 'parts_manager', 'receptionist', 'accountant') THEN
    IF NEW.approved IS DISTINCT FROM OLD.approved OR NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
      RAISE EXCEPTION 'a % may not change approved, approved_by of their own labor_entries', (SELECT app_private.user_role())
        USING ERRCODE = '42501';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.labor_entries_guard_approval() FROM PUBLIC;
CREATE TRIGGER guard_approval BEFORE UPDATE ON public.labor_entries
    FOR EACH ROW EXECUTE FUNCTION app_private.labor_entries_guard_approval();

COMMIT;
