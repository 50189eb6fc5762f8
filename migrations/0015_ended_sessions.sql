-- "Log out" ends that session on the hub, not only in the browser.
--
-- A token is good until it expires; logging out used to forget it in the
-- browser alone, so a copy (another tab, a saved request, a shared PC's
-- history) stayed good for hours. Each logged-out token is kept here by its
-- account and issue time (Unix milliseconds, as tokens carry it) until it
-- would have expired (`expires_at`, Unix seconds: the token's `exp`), and a
-- request bearing it is refused. The person's other sessions are untouched.
CREATE TABLE ended_sessions (
    user_id TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, issued_ms)
) STRICT, WITHOUT ROWID;
