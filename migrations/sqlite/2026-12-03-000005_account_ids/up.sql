-- Accounts get a stable id and a generation. Sessions and device cookies belong to the id, so a
-- re-created username inherits nothing; every account change that must stop logins in flight
-- (password, role, logout everywhere, removal) moves the generation on, and a login commits its
-- session only if the generation it read before the password check is still current.
ALTER TABLE users ADD COLUMN id VARCHAR(36) NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
UPDATE users SET id = lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
    || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + abs(random()) % 4, 1)
    || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)));
CREATE UNIQUE INDEX users_id_idx ON users (id);
-- Usernames are unique whatever their case (`Admin` beside `admin` would pass as the same name
-- to apps that compare names without case). Fails if two names already differ only in case.
CREATE UNIQUE INDEX users_username_lower_idx ON users (lower(username));

ALTER TABLE sessions ADD COLUMN user_id VARCHAR(36) NOT NULL DEFAULT '';
UPDATE sessions SET user_id = COALESCE((SELECT id FROM users WHERE users.username = sessions.username), '');
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
-- When the session's most recent access token was issued (its `iat`): only that token, expired
-- or not, or one issued within the refresh grace before it (another tab refreshing at the same
-- moment), ends the session at logout; an older one ends nothing. NULL for sessions from before
-- this column (any of their tokens ends them).
ALTER TABLE sessions ADD COLUMN access_issued_at TIMESTAMP;

-- Browsers that logged in as the account (the device cookies' nonces, which are useless without
-- the server's key). Removed whenever the account's credentials change; capped per account.
CREATE TABLE devices (
    id VARCHAR(32) PRIMARY KEY NOT NULL,
    user_id VARCHAR(36) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP NOT NULL
);
CREATE INDEX devices_user_id_idx ON devices (user_id, last_login_at);

-- One row the readiness probe rewrites: `GET /health` fails while the database refuses writes.
CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY NOT NULL,
    written_at TIMESTAMP NOT NULL
);
INSERT INTO health_probe (id, written_at) VALUES (1, CURRENT_TIMESTAMP);
