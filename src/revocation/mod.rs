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

    /// Deletes rows whose tokens the validator would refuse anyway: `expires_at + leeway < now`.
    pub async fn purge(&self, now: OffsetDateTime, batch: i64) -> Result<usize, DbError> {
        let cutoff = to_db_time(now - time::Duration::seconds(LEEWAY_SECS as i64));
        self.db
            .run(move |conn| blacklist::purge_expired(conn, cutoff, batch))
            .await
    }
}
