-- A record's saved document is its last snapshot followed by the change chunks
-- appended since (Automerge loads such a sequence of chunks as one document).
-- `chunks` counts the appended ones; the writer folds them into a new snapshot
-- (compacts the document) once there are enough, so a write costs the size of
-- its change, not of the record's whole history, and a load stays cheap.
ALTER TABLE crdt_docs ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0 CHECK (chunks >= 0);
