-- RLS: the claim helpers of 20261126000101 again, the same rules written in
-- PL/pgSQL. A SQL function that is SECURITY DEFINER with its own search_path
-- cannot be inlined, so Postgres parsed and planned its body each time a
-- statement first called it: the policies of one upsert call them several
-- times, and the hub's push of 50 repair orders spent ~0.3 ms of the cloud's
-- CPU there, a tenth of its two statements. PL/pgSQL plans the body once per
-- connection and keeps the plan. Same claims, same answers: a claim that is
-- missing or malformed still yields NULL; CREATE OR REPLACE keeps each
-- function's owner and grants. Append-only: never edit once shipped.

BEGIN;

-- The caller's shop: the `shop_id` claim.
CREATE OR REPLACE FUNCTION app_private.shop_id() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  claim text := auth.jwt() ->> 'shop_id';
BEGIN
  IF claim ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
    RETURN claim::uuid;
  END IF;
  RETURN NULL;
END
$$;

-- The caller's app role: the `user_role` claim (one of the nine staff roles, or
-- 'hub' for the shop's hub).
CREATE OR REPLACE FUNCTION app_private.user_role() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
AS $$
BEGIN
  RETURN nullif(auth.jwt() ->> 'user_role', '');
END
$$;

-- The caller's user id: the `sub` claim (what auth.uid() returns), NULL when it is
-- not a UUID (auth.uid() would raise instead).
CREATE OR REPLACE FUNCTION app_private.user_id() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = ''
AS $$
DECLARE
  claim text := auth.jwt() ->> 'sub';
BEGIN
  IF claim ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' THEN
    RETURN claim::uuid;
  END IF;
  RETURN NULL;
END
$$;

COMMIT;
