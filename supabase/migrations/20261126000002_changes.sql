-- CollisionOS cloud mirror, part 2: the Automerge change bytes of every record.
-- Keyed by the change hash, so the hub's at-least-once upload (INSERT ... ON
-- CONFLICT (change_hash) DO NOTHING) has exactly-once effect. Rows are immutable.
-- Append-only: never edit once shipped.
-- One transaction: applied whole or not at all.

BEGIN;

CREATE TABLE public.crdt_changes (
    change_hash text PRIMARY KEY CHECK (change_hash ~ '^[0-9a-f]{64}$'),
    shop_id uuid NOT NULL REFERENCES public.shops (id) DEFERRABLE INITIALLY DEFERRED,
    table_name text NOT NULL CHECK (table_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    record_id uuid NOT NULL,
    seq bigint NOT NULL,
    actor text NOT NULL,
    author_id uuid,
    bytes bytea NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX crdt_changes_by_record ON public.crdt_changes (shop_id, table_name, record_id, seq);
CREATE INDEX crdt_changes_by_seq ON public.crdt_changes (shop_id, seq);
ALTER TABLE public.crdt_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.crdt_changes FORCE ROW LEVEL SECURITY;

COMMIT;
