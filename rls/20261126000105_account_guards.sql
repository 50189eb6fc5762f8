-- RLS, part 5: account guards, the same rules the hub's API applies
-- (src/domain/policy.rs, check_user_admin): nobody changes their own role or
-- active flag (no self-promotion, no locking the shop out), and only an owner
-- grants the owner role or changes an owner's account. The hub (user_role = 'hub')
-- writes what its API already allowed, and a session without app claims
-- (service_role, the SQL editor, migrations) is not a staff request: neither is
-- held back.
-- Append-only: never edit once shipped.

CREATE OR REPLACE FUNCTION app_private.users_guard_accounts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  caller_role text := (SELECT app_private.user_role());
  caller_id uuid := (SELECT app_private.user_id());
BEGIN
  IF caller_role IS NULL OR caller_role = 'hub' THEN
    RETURN NEW;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.id = caller_id
     AND (NEW.role IS DISTINCT FROM OLD.role OR NEW.active IS DISTINCT FROM OLD.active) THEN
    RAISE EXCEPTION 'nobody changes their own role or active flag'
      USING ERRCODE = '42501';
  END IF;
  IF caller_role IS DISTINCT FROM 'owner'
     AND (NEW.role = 'owner' OR (TG_OP = 'UPDATE' AND OLD.role = 'owner')) THEN
    RAISE EXCEPTION 'only an owner grants the owner role or changes an owner''s account'
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.users_guard_accounts() FROM PUBLIC;
CREATE TRIGGER guard_accounts BEFORE INSERT OR UPDATE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app_private.users_guard_accounts();
