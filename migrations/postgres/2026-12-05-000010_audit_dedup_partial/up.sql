-- Only counted rows (throttled attempts) have a dedup key; every other event left a NULL entry
-- in this index, one more index write per logout for nothing. The upsert of counted rows names
-- the predicate (`ON CONFLICT (dedup) WHERE dedup IS NOT NULL`).
DROP INDEX audit_events_dedup_idx;
CREATE UNIQUE INDEX audit_events_dedup_idx ON audit_events (dedup) WHERE dedup IS NOT NULL;
