-- The sync queue fills only once cloud sync has been switched on.
--
-- Until an owner first turns sync on, nothing leaves the hub, and turning it on
-- queues every record that exists then (the first upload). A queue item
-- written before that moment is never needed: it only held one PENDING row
-- (and two index entries, ~260 bytes) per record for as long as the shop
-- stayed offline-only, which is forever for a shop that never turns it on.
--
-- The writer queues a write while `sync_state` holds `queue_writes`. Turning
-- sync on sets it (in a writer job, before the first upload scans the tables,
-- so every record is either seen by the scan or queued by its write), and
-- nothing removes it: after that, writes made while sync is off again still
-- queue, and turning it back on pushes them.
--
-- A database made before this migration keeps queueing as it did if it has
-- ever queued anything or started a first upload.
INSERT INTO sync_state (key, value)
SELECT 'queue_writes', 'on'
 WHERE EXISTS (SELECT 1 FROM sync_queue)
    OR EXISTS (SELECT 1 FROM sync_state WHERE key = 'initial_upload');
