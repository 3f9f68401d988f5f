DROP INDEX audit_events_dedup_idx;
CREATE UNIQUE INDEX audit_events_dedup_idx ON audit_events (dedup);
