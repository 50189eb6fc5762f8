-- Bootstrap for a plain Postgres (15+): what a Supabase project already has and the
-- cloud migrations and policies rely on. Never apply this to a Supabase project.
--
--   roles   anon, authenticated, service_role (NOLOGIN; service_role BYPASSRLS),
--           authenticator (LOGIN NOINHERIT, member of the three, like PostgREST's)
--   schema  auth, with auth.jwt(), auth.uid() and auth.role() defined as Supabase
--           defines them: they read the request's claims from the settings
--           `request.jwt.claims` (the JSON PostgREST sets per transaction) or the
--           older per-claim `request.jwt.claim.*`.
--   grants  Supabase's default privileges: every table, sequence and function the
--           applying role creates in public is granted to anon, authenticated and
--           service_role. So a table here is reachable the moment it exists, as on
--           a Supabase project, unless RLS is on: the migrations enable it in the
--           transaction that creates the table, and the grants file takes the
--           default grants back.
--
-- Idempotent: safe to run again, and on several databases of one cluster (roles
-- are cluster-wide; a role that already exists, even one created concurrently by
-- another database's bootstrap, is left as it is).

DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('anon', 'NOLOGIN NOINHERIT'),
      ('authenticated', 'NOLOGIN NOINHERIT'),
      ('service_role', 'NOLOGIN NOINHERIT BYPASSRLS'),
      ('authenticator', 'LOGIN NOINHERIT')) AS v(name, options)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I %s', r.name, r.options);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile by a concurrent bootstrap
      END;
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role' AND rolbypassrls) THEN
    ALTER ROLE service_role BYPASSRLS;
  END IF;
  FOR r IN SELECT unnest(ARRAY['anon', 'authenticated', 'service_role']) AS name LOOP
    IF NOT pg_has_role('authenticator', r.name, 'MEMBER') THEN
      BEGIN
        EXECUTE format('GRANT %I TO authenticator', r.name);
      EXCEPTION WHEN unique_violation THEN
        NULL;
      END;
    END IF;
  END LOOP;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$
  SELECT nullif(
    coalesce(
      current_setting('request.jwt.claim.sub', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'sub')
    ),
    ''
  )::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT nullif(
    coalesce(
      current_setting('request.jwt.claim.role', true),
      (current_setting('request.jwt.claims', true)::jsonb ->> 'role')
    ),
    ''
  )::text
$$;

GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role() TO anon, authenticated, service_role;

ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
