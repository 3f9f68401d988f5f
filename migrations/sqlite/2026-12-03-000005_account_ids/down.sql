DROP TABLE health_probe;
DROP TABLE devices;
ALTER TABLE sessions DROP COLUMN access_issued_at;
DROP INDEX sessions_user_id_idx;
ALTER TABLE sessions DROP COLUMN user_id;
DROP INDEX users_username_lower_idx;
DROP INDEX users_id_idx;
ALTER TABLE users DROP COLUMN generation;
ALTER TABLE users DROP COLUMN id;
