DROP INDEX sessions_live_expiry;
ALTER TABLE mfa_challenges DROP COLUMN remember;
ALTER TABLE sessions DROP COLUMN remember;
