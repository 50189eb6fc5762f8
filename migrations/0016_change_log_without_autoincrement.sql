-- The change log numbers its entries without AUTOINCREMENT.
--
-- AUTOINCREMENT keeps the highest seq ever used in `sqlite_sequence`, so a
-- row deleted at the end is never numbered again; to do so SQLite reads and
-- rewrites that table's page in every transaction that adds an entry. That was
-- one of the ~13 pages each create's commit wrote, for a guarantee the change
-- log already has: nothing deletes its entries (tablets resume and the sync
-- worker reads past a seq, and both need every number to stay taken). A plain
-- INTEGER PRIMARY KEY numbers a new row one past the highest, which for a log
-- that only grows is the same sequence. The trigger below makes "only grows"
-- a rule of the database instead of a habit of the code.
--
-- The table's pages do not change, only the text of its definition, so this
-- uses writable_schema as 0010 did. `RESET` makes this connection parse the
-- schema again (it would otherwise keep numbering through the counter until
-- closed), and the scratch table bumps the schema version for every other
-- connection. Append-only: never edit this file once shipped.

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'seq INTEGER PRIMARY KEY AUTOINCREMENT', 'seq INTEGER PRIMARY KEY')
 WHERE type = 'table' AND name = 'change_log';
PRAGMA writable_schema = RESET;
DELETE FROM sqlite_sequence WHERE name = 'change_log';

CREATE TRIGGER change_log_only_grows BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log entries are never deleted');
END;

CREATE TABLE schema_version_bump (x INTEGER);
DROP TABLE schema_version_bump;
