-- RLS, part 1: the helpers every policy calls, in a private schema (Supabase
-- forbids objects in `auth`, and `public` is exposed over the REST API).
-- Each reads one claim of the request's JWT through auth.jwt(); policies call
-- them wrapped as (select app_private.fn()) so Postgres evaluates them once per
-- statement, not once per row. The app role is the `user_role` claim, never
-- `role` (that one is the Postgres role: authenticated). A claim that is
-- missing or malformed yields NULL, which matches no row.
-- Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

CREATE SCHEMA IF NOT EXISTS app_private;
REVOKE ALL ON SCHEMA app_private FROM PUBLIC;
GRANT USAGE ON SCHEMA app_private TO authenticated, service_role;

-- The caller's shop: the `shop_id` claim.
CREATE OR REPLACE FUNCTION app_private.shop_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT CASE WHEN (auth.jwt() ->> 'shop_id') ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
              THEN (auth.jwt() ->> 'shop_id')::uuid END
$$;

-- The caller's app role: the `user_role` claim (one of the nine staff roles, or
-- 'hub' for the shop's hub).
CREATE OR REPLACE FUNCTION app_private.user_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT nullif(auth.jwt() ->> 'user_role', '')
$$;

-- The caller's user id: the `sub` claim (what auth.uid() returns), NULL when it is
-- not a UUID (auth.uid() would raise instead).
CREATE OR REPLACE FUNCTION app_private.user_id() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''
AS $$
  SELECT CASE WHEN (auth.jwt() ->> 'sub') ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
              THEN (auth.jwt() ->> 'sub')::uuid END
$$;

REVOKE ALL ON FUNCTION app_private.shop_id() FROM PUBLIC;
REVOKE ALL ON FUNCTION app_private.user_role() FROM PUBLIC;
REVOKE ALL ON FUNCTION app_private.user_id() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_private.shop_id() TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION app_private.user_role() TO authenticated, service_role;
GRANT EXECUTE ON FUNCTION app_private.user_id() TO authenticated, service_role;

COMMIT;
