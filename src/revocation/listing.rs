//! What admins read of the revocations: a page of the blacklist and the hourly counts. Reads
//! only; here so that routes never touch the revocation tables themselves.

use time::OffsetDateTime;

use super::Revocation;
use crate::db::{blacklist, from_db_time, revocations_hourly, to_db_time, DbError};

/// Revocations committed in one hour.
pub struct HourCount {
    pub hour: OffsetDateTime,
    pub revoked: i64,
}

impl Revocation {
    /// One page of blacklist rows, newest first, and how many there are in all.
    pub async fn blacklist_page(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<blacklist::Entry>, i64), DbError> {
        self.db
            .run(move |conn| blacklist::page(conn, limit, offset))
            .await
    }

    /// Revocations in each of the 24 hours up to `now`'s, oldest first, zeros included.
    pub async fn hourly(&self, now: OffsetDateTime) -> Result<Vec<HourCount>, DbError> {
        let current = revocations_hourly::hour_of(to_db_time(now));
        let first = current - time::Duration::hours(23);
        let counted = self
            .db
            .run(move |conn| revocations_hourly::since(conn, first))
            .await?;
        Ok((0..24)
            .map(|i| {
                let at = first + time::Duration::hours(i);
                let revoked = counted
                    .iter()
                    .find(|(h, _)| *h == at)
                    .map_or(0, |(_, n)| *n);
                HourCount {
                    hour: from_db_time(at),
                    revoked,
                }
            })
            .collect())
    }
}
