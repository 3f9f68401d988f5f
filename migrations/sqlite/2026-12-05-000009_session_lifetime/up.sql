-- Remember-me: a login with `remember: false` gets cookies that end with the browser and the
-- shorter absolute lifetime (`session_max_lifetime_unremembered`); its rotations keep both.
-- Sessions started before this existed were remembered.
ALTER TABLE sessions ADD COLUMN remember BOOLEAN NOT NULL DEFAULT TRUE;
-- A login waiting for its second factor carries the choice to the session it starts.
ALTER TABLE mfa_challenges ADD COLUMN remember BOOLEAN NOT NULL DEFAULT TRUE;
-- The purge looks for live sessions past their expiry (idle or absolute end) to end them.
CREATE INDEX sessions_live_expiry ON sessions (expires_at) WHERE ended_at IS NULL;
