-- Deactivating an account ends its sessions for good.
--
-- A session's token is refused while its account is inactive, and (by the
-- credential stamp) once its password changes; but reactivating the account
-- made every token issued before the deactivation good again, so a tablet
-- or browser that was logged in when a person was let go came back with them.
-- `sessions_from` is when the account was last deactivated (Unix
-- milliseconds, as tokens carry their issue time): a token issued at or
-- before it is refused, one issued after a reactivation is not. The trigger sets it in the same
-- statement as the deactivation, whatever path made it (the API, a tablet's
-- change, a merge).
ALTER TABLE user_credentials ADD COLUMN sessions_from INTEGER;

CREATE TRIGGER users_deactivated_end_sessions
AFTER UPDATE OF active ON users
WHEN OLD.active = 1 AND NEW.active = 0
BEGIN
    UPDATE user_credentials
       SET sessions_from = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
     WHERE user_id = NEW.id;
END;
