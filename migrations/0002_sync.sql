-- CollisionOS Hub schema, version 2: the hub's own cloud-sync state. None of these
-- tables is a shop table: nothing here is ever synced, listed by the API, or put in
-- an Automerge document. Append-only: never edit this file once shipped.

-- Credentials for the shop's cloud (API key, database URL with its password, JWT
-- secret or private key). Hub-only: never in shops.settings, never in a response,
-- a log line or the cloud. The API shows only that each is set.
CREATE TABLE hub_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Small facts of the sync worker: the shop it syncs, the hub's cloud identity,
-- the last sync and error, running totals, the initial upload's progress.
CREATE TABLE sync_state (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Per record: the highest change-log seq whose change bytes (and row state) have
-- reached the cloud. The next push of the record sends only the changes after it.
CREATE TABLE sync_pushed (
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    change_seq INTEGER NOT NULL,
    PRIMARY KEY (table_name, record_id)
) STRICT, WITHOUT ROWID;
