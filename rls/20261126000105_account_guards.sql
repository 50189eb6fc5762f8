-- RLS, part 5: account guards, the same rules the hub's API applies
-- (src/domain/policy.rs, check_user_admin, and the writer's last-owner check):
--   * nobody changes their own role or active flag (no self-promotion, no
--     locking the shop out), judged on the row as stored (OLD), so changing the
--     row's id in the same UPDATE does not get around it;
--   * nobody deletes their own account;
--   * only an owner grants the owner role, changes or deletes an owner's account;
--   * a shop never loses its last active owner (no demotion, deactivation or
--     deletion of it), checked at commit so that one transaction may promote a
--     new owner and demote the old one in either order.
-- The hub (user_role = 'hub') writes what its API already allowed, and a session
-- without app claims (service_role, the SQL editor, migrations) is not a staff
-- request: the first three rules do not hold them back; the last owner rule
-- holds everyone. Changing a row's id is refused to everyone by the guard_immutable
-- triggers (part 6).
-- One transaction: applied whole or not at all.

BEGIN;

CREATE OR REPLACE FUNCTION app_private.users_guard_accounts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  caller_role text := (SELECT app_private.user_role());
  caller_id uuid := (SELECT app_private.user_id());
BEGIN
  IF caller_role IS NULL OR caller_role = 'hub' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.id = caller_id THEN
      RAISE EXCEPTION 'id: nobody deletes their own account'
        USING ERRCODE = '42501';
    END IF;
    IF caller_role IS DISTINCT FROM 'owner' AND OLD.role = 'owner' THEN
      RAISE EXCEPTION 'role: only an owner deletes an owner''s account'
        USING ERRCODE = '42501';
    END IF;
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND (OLD.id = caller_id OR NEW.id = caller_id) THEN
    IF NEW.role IS DISTINCT FROM OLD.role THEN
      RAISE EXCEPTION 'role: nobody changes their own role'
        USING ERRCODE = '42501';
    END IF;
    IF NEW.active IS DISTINCT FROM OLD.active THEN
      RAISE EXCEPTION 'active: nobody changes their own active flag'
        USING ERRCODE = '42501';
    END IF;
  END IF;
  IF caller_role IS DISTINCT FROM 'owner'
     AND (NEW.role = 'owner' OR (TG_OP = 'UPDATE' AND OLD.role = 'owner')) THEN
    RAISE EXCEPTION 'role: only an owner grants the owner role or changes an owner''s account'
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION app_private.users_guard_accounts() FROM PUBLIC;
CREATE TRIGGER guard_accounts BEFORE INSERT OR UPDATE OR DELETE ON public.users
    FOR EACH ROW EXECUTE FUNCTION app_private.users_guard_accounts();

-- Runs at commit for every row that was an active owner before an UPDATE or
-- DELETE: the shop (if it still exists) must still have an active owner.
CREATE OR REPLACE FUNCTION app_private.users_guard_last_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM public.shops s WHERE s.id = OLD.shop_id)
     AND NOT EXISTS (
       SELECT 1 FROM public.users u
       WHERE u.shop_id = OLD.shop_id AND u.role = 'owner' AND u.active
     ) THEN
    RAISE EXCEPTION 'role: a shop never loses its last active owner'
      USING ERRCODE = '42501';
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION app_private.users_guard_last_owner() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER guard_last_owner AFTER UPDATE OR DELETE ON public.users
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.role = 'owner' AND OLD.active)
    EXECUTE FUNCTION app_private.users_guard_last_owner();

COMMIT;
