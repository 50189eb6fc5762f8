-- The change log keeps neither a change's hash nor its actor.
--
-- Both are in the change's bytes: the actor is in the chunk's header, and the
-- hash is the SHA-256 of the chunk (its first four bytes are the chunk's
-- checksum). `crdt::chunk::change_ids` reads them back in about a microsecond
-- per change, for the two readers that want them: the sync worker (the cloud
-- keys change rows by hash and stores the actor) and a record's history. As
-- text they were 96 of the ~300 bytes each entry spent beside its change:
-- 6% of a new repair order on the hub, and 13% of one with ten updates.
--
-- Neither column has an index or a constraint, so SQLite drops them in place;
-- every row is rewritten once, in this migration's transaction. The space
-- they held is reused by later writes (a VACUUM would return it at once).
ALTER TABLE change_log DROP COLUMN change_hash;
ALTER TABLE change_log DROP COLUMN actor;
