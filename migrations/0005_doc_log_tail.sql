-- A record's document is no longer stored twice. Until now `crdt_docs.doc` held
-- a snapshot followed by a copy of every change chunk since, while the change
-- log holds the same change bytes. With `log_after` set, `doc` is only the last
-- snapshot (empty for a record never compacted) and the document is that
-- snapshot followed by the record's change-log bytes with `seq > log_after`, in
-- `seq` order (Automerge loads such a sequence of chunks as one document).
-- `chunks` still counts the changes after the snapshot. NULL `log_after` marks
-- a row written before this migration, whose `doc` is the whole document; the
-- writer turns it into the new form at the record's next write.
ALTER TABLE crdt_docs ADD COLUMN log_after INTEGER CHECK (log_after >= 0);
