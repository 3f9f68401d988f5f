DROP TABLE audit_events;
ALTER TABLE sessions DROP COLUMN name;
ALTER TABLE sessions DROP COLUMN device;
ALTER TABLE sessions DROP COLUMN ip;
ALTER TABLE users DROP COLUMN last_login_at;
ALTER TABLE users DROP COLUMN lock_reason;
ALTER TABLE users DROP COLUMN locked_until;
ALTER TABLE users DROP COLUMN locked_at;
