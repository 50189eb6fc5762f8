-- CollisionOS cloud mirror: crdt_changes keyed by (record_id, change_hash), the
-- hash as its 32 bytes, no actor column. The change table is most of what a
-- shop pays for in the cloud, and its key was a 64-character hex text: the
-- widest column of every row, repeated in the primary key, whose random values
-- dirtied a random page of that index with every change pushed. Now:
--   change_hash bytea (32 bytes, CHECKed): the same hash, half the bytes.
--   PRIMARY KEY (record_id, change_hash): still one row per change (a change
--     belongs to one record, so the hub's INSERT ... ON CONFLICT (record_id,
--     change_hash) DO NOTHING keeps exactly-once effect), and a record's changes
--     sit together in the index, so it also finds a record's history and
--     crdt_changes_by_record (record_id, seq) has no reader left. A record's
--     handful of changes sorts by seq in memory.
--   actor: dropped. It is in every change's bytes (a reader of the change
--     has it), and nothing queried it.
-- Measured on the changes of 10,000 repair orders with 10 updates each
-- (110,002 rows, copied in seq order into each layout): 6,850 -> 5,319 B per
-- repair order (-22%); inserting them in batches of 50 took 1.76 - 1.90 s
-- before, 1.02 - 1.07 s after. A hub older than this file sends text hashes,
-- which this column refuses: its `cloud check` names the column's type, and its
-- pushes fail as a schema error (FAILED, kept on the hub, retried from the hub's
-- API once it is updated).
-- Append-only: never edit once shipped.

BEGIN;

ALTER TABLE public.crdt_changes
    DROP CONSTRAINT crdt_changes_pkey,
    DROP CONSTRAINT crdt_changes_change_hash_check,
    DROP COLUMN actor,
    ALTER COLUMN change_hash TYPE bytea USING decode(change_hash, 'hex'),
    ADD CONSTRAINT crdt_changes_change_hash_check CHECK (length(change_hash) = 32),
    ADD CONSTRAINT crdt_changes_pkey PRIMARY KEY (record_id, change_hash);
DROP INDEX public.crdt_changes_by_record;

COMMIT;
