-- The change log is the sync queue's source.
--
-- Until now every write that queued itself also inserted (or coalesced into) a
-- PENDING sync_queue item, in the write's transaction, and the worker read those
-- items. The change log already holds every change in order (seq), with its
-- record, so the item duplicated it on the write path: ~7 µs of the writer's
-- time per write, and the mark turning it COMPLETED another ~5 µs.
--
-- From this version the worker reads the change log past a cursor
-- (`log_cursor` in sync_state): every entry with a higher seq is waiting for the
-- cloud. Items remain for what the log cannot say: the first upload's
-- BULK_CREATE items, RETRY and FAILED pushes, records whose newer entries the
-- worker passed while their push was under way or held (folded into a PENDING
-- item), and the bounded COMPLETED history.
--
-- The cursor replaces `queue_writes`: turning sync on for the first time sets
-- it to the last seq (the first upload covers what came before). A database
-- that already queued its writes has an item for every entry not yet pushed,
-- so its cursor starts at its last seq.
INSERT INTO sync_state (key, value)
SELECT 'log_cursor', CAST(coalesce((SELECT max(seq) FROM change_log), 0) AS TEXT)
 WHERE EXISTS (SELECT 1 FROM sync_state WHERE key = 'queue_writes');
DELETE FROM sync_state WHERE key = 'queue_writes';
