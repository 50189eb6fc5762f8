-- CollisionOS cloud mirror: crdt_changes keeps one secondary index, and a
-- narrower one. The change table is most of what a shop pays for in the cloud
-- (a repair order with ten updates: ~8.0 KB of change rows against ~0.5 KB of
-- row), and its two secondary indexes were a fifth of that:
--   crdt_changes_by_seq (shop_id, seq): no reader. The hub never reads the
--     cloud's changes back in sequence order, and a reader that wants a shop's
--     history in order has `seq` on every row.
--   crdt_changes_by_record (shop_id, table_name, record_id, seq): a record id
--     is a UUID, unique across tables and shops, so `record_id, seq` finds the
--     same rows in the same order (a shop's policy still confines them to the
--     shop) with 30 bytes less per entry.
-- Each change the hub pushes also updates one index less. Measured with
-- `sync_load --storage 3000` (3,000 repair orders, 10 updates each): change
-- table 8,020 B per order (heap 5,008, primary key 1,401, by_record 833,
-- by_seq 765) before this file. Append-only: never edit once shipped.

BEGIN;

DROP INDEX public.crdt_changes_by_seq;
DROP INDEX public.crdt_changes_by_record;
CREATE INDEX crdt_changes_by_record ON public.crdt_changes (record_id, seq);

COMMIT;
