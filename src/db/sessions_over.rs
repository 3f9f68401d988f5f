//! Sessions that are over: live ones past their expiry (the purge ends them, see
//! `crate::revocation`), and rows that can no longer matter (the purge deletes them).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{refresh_tokens, sessions};
use super::DbConnection;

/// Up to `batch` live sessions whose refresh expiry (idle or absolute end included) is before
/// `before`: over, but not yet ended.
pub fn expired(
    conn: &mut DbConnection,
    before: PrimitiveDateTime,
    batch: i64,
) -> QueryResult<Vec<String>> {
    sessions::table
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.lt(before))
        .select(sessions::id)
        .limit(batch)
        .load(conn)
}

/// Deletes up to `batch` refresh tokens past their expiry before `cutoff`.
pub fn delete_refresh_tokens(
    conn: &mut DbConnection,
    cutoff: PrimitiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    let tokens: Vec<String> = refresh_tokens::table
        .filter(refresh_tokens::expires_at.lt(cutoff))
        .select(refresh_tokens::hash)
        .limit(batch)
        .load(conn)?;
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::hash.eq_any(&tokens))).execute(conn)
}

/// Deletes up to `batch` sessions that are over (ended, or past their refresh expiry) and
/// whose last access token expired before `cutoff`.
pub fn delete_sessions(
    conn: &mut DbConnection,
    cutoff: PrimitiveDateTime,
    batch: i64,
) -> QueryResult<usize> {
    let over: Vec<String> = sessions::table
        .filter(sessions::access_until.lt(cutoff))
        .filter(
            sessions::ended_at
                .is_not_null()
                .or(sessions::expires_at.lt(cutoff)),
        )
        .select(sessions::id)
        .limit(batch)
        .load(conn)?;
    diesel::delete(sessions::table.filter(sessions::id.eq_any(&over))).execute(conn)
}
