-- Revoked token ids. Never the token itself: a row is useless to whoever reads the table.
-- A row is kept until its token has expired (plus the validator's leeway), then purged.
CREATE TABLE blacklist (
    jti VARCHAR(36) PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    blacklisted_at TIMESTAMP NOT NULL
);
CREATE INDEX blacklist_expires_at_idx ON blacklist (expires_at);
CREATE INDEX blacklist_listing_idx ON blacklist (blacklisted_at, jti);
