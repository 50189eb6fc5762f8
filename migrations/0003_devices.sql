-- Bay tablets: device identities and the client operation ids already applied.

-- One row per tablet. The hub assigns each device a stable Automerge actor on
-- first contact; the device's writes are signed with it, so history and
-- conflicts say which tablet made a change. A revoked device opens no socket.
CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    shop_id TEXT NOT NULL REFERENCES shops (id),
    user_id TEXT NOT NULL,
    actor TEXT NOT NULL UNIQUE,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
CREATE INDEX devices_by_shop ON devices (shop_id, first_seen);

-- Client operation ids (idempotency keys) of tablet writes that were applied, with
-- the answer they got, written in the same transaction as the write: a retry after
-- a lost ack (even across a restart) gets the same answer and applies nothing.
-- Kept 30 days (longer than any offline period), then pruned by the writer.
CREATE TABLE device_ops (
    device_id TEXT NOT NULL,
    op_id TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    heads TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (device_id, op_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX device_ops_by_time ON device_ops (applied_at);

-- The device that made each change (NULL: the hub itself, or an HTTP client).
ALTER TABLE change_log ADD COLUMN device_id TEXT;

-- The record's open conflicts after a change, when the change altered them (a
-- conflict appeared or was resolved): the tablets' `conflict` event. NULL otherwise.
ALTER TABLE change_log ADD COLUMN conflicts TEXT CHECK (conflicts IS NULL OR json_valid(conflicts));

-- Each conflict's candidates in full: value, author, device, actor, time, and the winner.
ALTER TABLE conflicts ADD COLUMN detail TEXT CHECK (detail IS NULL OR json_valid(detail));
