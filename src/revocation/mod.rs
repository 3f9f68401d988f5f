//! The revocation check that the guard runs on every protected request, and the write that
//! logout makes. Kept behind one small type so that a faster check (a cache kept coherent with
//! the table) can replace the lookup without touching the guard or the routes.

use time::OffsetDateTime;

use crate::config::LEEWAY_SECS;
use crate::db::{blacklist, to_db_time, Db, DbError};

/// A token to revoke: its id, owner and expiry (the row is kept until then).
#[derive(Debug, Clone)]
pub struct Revoked {
    pub jti: String,
    pub username: String,
    pub expires_at: OffsetDateTime,
}

/// Answers "is this token id revoked?" and records revocations.
#[derive(Clone)]
pub struct Revocation {
    db: Db,
}

impl Revocation {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// `Err` means the answer is unknown; the caller must refuse the request (fail closed).
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, DbError> {
        let jti = jti.to_owned();
        self.db
            .run(move |conn| blacklist::contains(conn, &jti))
            .await
    }

    /// Commits the revocation before returning; revoking twice adds no second row.
    /// Returns whether a new row was written.
    pub async fn revoke(&self, token: Revoked, now: OffsetDateTime) -> Result<bool, DbError> {
        let entry = blacklist::Entry {
            jti: token.jti,
            username: token.username,
            expires_at: to_db_time(token.expires_at),
            blacklisted_at: to_db_time(now),
        };
        self.db
            .run(move |conn| blacklist::insert_ignore(conn, &entry))
            .await
            .map(|n| n > 0)
    }

    /// Deletes rows whose tokens the validator would refuse anyway.
    pub async fn purge(&self, now: OffsetDateTime, batch: i64) -> Result<usize, DbError> {
        let cutoff = to_db_time(purge_cutoff(now));
        self.db
            .run(move |conn| blacklist::purge_expired(conn, cutoff, batch))
            .await
    }
}

/// Rows expiring strictly before this instant may go. The validator compares in whole seconds
/// and accepts a token while `exp >= now_secs - leeway`, so the cutoff is taken in whole seconds
/// too: a sub-second cutoff would drop a row up to a second before its token stops working.
/// (Across instances this assumes clocks agree to within the leeway.)
pub fn purge_cutoff(now: OffsetDateTime) -> OffsetDateTime {
    let secs = now.unix_timestamp() - LEEWAY_SECS as i64;
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_keeps_every_row_whose_token_the_validator_still_accepts() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).expect("ts")
            + time::Duration::milliseconds(900);
        let cutoff = purge_cutoff(now);
        // At now_secs = 1_000_000 the validator still accepts exp = 999_995 (= now_secs - 5).
        let last_accepted = OffsetDateTime::from_unix_timestamp(999_995).expect("ts");
        assert!(
            last_accepted >= cutoff,
            "a row still needed would be purged"
        );
        let first_refused = OffsetDateTime::from_unix_timestamp(999_994).expect("ts");
        assert!(first_refused < cutoff, "a dead row would be kept");
    }
}
