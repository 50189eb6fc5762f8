-- CollisionOS cloud mirror, part 3: explicit grants on every table.
-- A Supabase project's default privileges give anon, authenticated and
-- service_role ALL on new tables in public; take that back first, then give
-- only what is meant: authenticated the four DML verbs (RLS narrows them to
-- rows; no TRUNCATE, which RLS would not see), service_role everything, anon
-- nothing. Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

GRANT USAGE ON SCHEMA public TO authenticated, service_role;

REVOKE ALL ON TABLE public.shops FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.shops TO authenticated;
GRANT ALL ON TABLE public.shops TO service_role;

REVOKE ALL ON TABLE public.users FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.users TO authenticated;
GRANT ALL ON TABLE public.users TO service_role;

REVOKE ALL ON TABLE public.customers FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.customers TO authenticated;
GRANT ALL ON TABLE public.customers TO service_role;

REVOKE ALL ON TABLE public.vehicles FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.vehicles TO authenticated;
GRANT ALL ON TABLE public.vehicles TO service_role;

REVOKE ALL ON TABLE public.insurance_companies FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.insurance_companies TO authenticated;
GRANT ALL ON TABLE public.insurance_companies TO service_role;

REVOKE ALL ON TABLE public.vendors FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.vendors TO authenticated;
GRANT ALL ON TABLE public.vendors TO service_role;

REVOKE ALL ON TABLE public.claims FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.claims TO authenticated;
GRANT ALL ON TABLE public.claims TO service_role;

REVOKE ALL ON TABLE public.estimates FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.estimates TO authenticated;
GRANT ALL ON TABLE public.estimates TO service_role;

REVOKE ALL ON TABLE public.estimate_lines FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.estimate_lines TO authenticated;
GRANT ALL ON TABLE public.estimate_lines TO service_role;

REVOKE ALL ON TABLE public.repair_orders FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.repair_orders TO authenticated;
GRANT ALL ON TABLE public.repair_orders TO service_role;

REVOKE ALL ON TABLE public.production_stages FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.production_stages TO authenticated;
GRANT ALL ON TABLE public.production_stages TO service_role;

REVOKE ALL ON TABLE public.ro_stage_history FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.ro_stage_history TO authenticated;
GRANT ALL ON TABLE public.ro_stage_history TO service_role;

REVOKE ALL ON TABLE public.purchase_orders FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.purchase_orders TO authenticated;
GRANT ALL ON TABLE public.purchase_orders TO service_role;

REVOKE ALL ON TABLE public.parts FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.parts TO authenticated;
GRANT ALL ON TABLE public.parts TO service_role;

REVOKE ALL ON TABLE public.labor_entries FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.labor_entries TO authenticated;
GRANT ALL ON TABLE public.labor_entries TO service_role;

REVOKE ALL ON TABLE public.time_clock FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.time_clock TO authenticated;
GRANT ALL ON TABLE public.time_clock TO service_role;

REVOKE ALL ON TABLE public.invoices FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.invoices TO authenticated;
GRANT ALL ON TABLE public.invoices TO service_role;

REVOKE ALL ON TABLE public.payments FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.payments TO authenticated;
GRANT ALL ON TABLE public.payments TO service_role;

REVOKE ALL ON TABLE public.attachments FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.attachments TO authenticated;
GRANT ALL ON TABLE public.attachments TO service_role;

REVOKE ALL ON TABLE public.signatures FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.signatures TO authenticated;
GRANT ALL ON TABLE public.signatures TO service_role;

REVOKE ALL ON TABLE public.loaner_vehicles FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.loaner_vehicles TO authenticated;
GRANT ALL ON TABLE public.loaner_vehicles TO service_role;

REVOKE ALL ON TABLE public.loaner_reservations FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.loaner_reservations TO authenticated;
GRANT ALL ON TABLE public.loaner_reservations TO service_role;

REVOKE ALL ON TABLE public.bms_imports FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.bms_imports TO authenticated;
GRANT ALL ON TABLE public.bms_imports TO service_role;

REVOKE ALL ON TABLE public.crdt_changes FROM PUBLIC, anon, authenticated, service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.crdt_changes TO authenticated;
GRANT ALL ON TABLE public.crdt_changes TO service_role;

COMMIT;
