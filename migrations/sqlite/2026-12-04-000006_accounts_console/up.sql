-- Locking an account: set with the lock, cleared by an unlock. The account is locked while
-- `locked_at` is set and `locked_until` is NULL (until unlocked) or still ahead, so a lock with an
-- end lifts by itself without a job.
ALTER TABLE users ADD COLUMN locked_at TIMESTAMP;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;
ALTER TABLE users ADD COLUMN lock_reason VARCHAR(200);
-- Set by the transaction that commits a login's session.
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP;

-- What a person recognises a session by: the address it logged in from, a device label parsed
-- from its User-Agent at login, and a name its owner may give it.
ALTER TABLE sessions ADD COLUMN ip VARCHAR(45);
ALTER TABLE sessions ADD COLUMN device VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN name VARCHAR(64);

-- Security events: who logged in, failed, was throttled or changed what. Written in the
-- transaction of the change they record; ids only grow, so pages are taken by id.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TIMESTAMP NOT NULL,
    kind VARCHAR(40) NOT NULL,
    actor VARCHAR(64) NOT NULL,
    username VARCHAR(64),
    -- The account the event is about, so that a re-created name does not inherit its history.
    user_id VARCHAR(36),
    session_id VARCHAR(36),
    ip VARCHAR(45),
    user_agent VARCHAR(256),
    -- A small JSON object, never a secret.
    detail TEXT NOT NULL,
    -- How many occurrences the row stands for (throttled attempts are counted, not listed).
    count BIGINT NOT NULL DEFAULT 1,
    -- Set on counted rows: the key (kind, client, username, minute) they are counted under.
    dedup VARCHAR(200)
);
CREATE UNIQUE INDEX audit_events_dedup_idx ON audit_events (dedup);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_username_idx ON audit_events (lower(username), id);
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, id);
CREATE INDEX audit_events_kind_idx ON audit_events (kind, id);
