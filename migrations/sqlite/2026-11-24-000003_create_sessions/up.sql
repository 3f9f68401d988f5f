-- One row per login. A session is live while `ended_at` is NULL and `expires_at` (the expiry of
-- its newest refresh token) is ahead. Once ended, its id stays revoked until `access_until`, the
-- expiry of the last access token issued for it; then the purge deletes the row.
-- No foreign key to users: a deleted user's ended sessions must outlive the account.
CREATE TABLE sessions (
    id VARCHAR(36) PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    access_until TIMESTAMP NOT NULL,
    user_agent VARCHAR(256) NOT NULL,
    ended_at TIMESTAMP
);
CREATE INDEX sessions_username_idx ON sessions (username);
CREATE INDEX sessions_ended_at_idx ON sessions (ended_at);
CREATE INDEX sessions_access_until_idx ON sessions (access_until);

-- Refresh tokens, by the SHA-256 of their value (never the value). A used token is kept until
-- it expires, so that presenting it again is recognised as reuse.
CREATE TABLE refresh_tokens (
    hash VARCHAR(64) PRIMARY KEY NOT NULL,
    session_id VARCHAR(36) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- "Every access token of this user issued up to `cutoff` is refused" (logout everywhere,
-- password change, role change, removal). `cutoff` is a time-ordered UUID (v7) compared with
-- the tokens' ids; the row is kept until every token it can refuse has expired.
CREATE TABLE user_cutoffs (
    username VARCHAR(64) PRIMARY KEY NOT NULL,
    cutoff VARCHAR(36) NOT NULL,
    cut_at TIMESTAMP NOT NULL,
    kept_until TIMESTAMP NOT NULL
);
CREATE INDEX user_cutoffs_cut_at_idx ON user_cutoffs (cut_at);
CREATE INDEX user_cutoffs_kept_until_idx ON user_cutoffs (kept_until);
