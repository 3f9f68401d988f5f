-- How many revocations (a logout, a session ended, a logout everywhere: one each) were
-- committed in each hour.
-- Kept apart from the blacklist, whose rows the purge deletes once their tokens expire, so the
-- admin page can chart the last day even when tokens live for an hour.
CREATE TABLE revocations_hourly (
    hour TIMESTAMP NOT NULL PRIMARY KEY,
    revoked BIGINT NOT NULL
);
