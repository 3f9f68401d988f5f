//! Queries on `mfa_challenges`: logins waiting for their second factor. Each is used once
//! (taken by one delete) and counts its failures in SQL, so neither holds across instances
//! only by luck.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::mfa_challenges;
use super::DbConnection;

/// A pending second step.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mfa_challenges)]
pub struct ChallengeRow {
    /// SHA-256 (hex) of the cookie's value.
    pub id: String,
    pub user_id: String,
    pub generation: i64,
    pub failures: i32,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    /// The login's `remember`, for the session it starts.
    pub remember: bool,
}

/// Stores a new challenge, ending the account's oldest ones past `keep - 1`, so that however
/// often its password is given, an account has at most `keep` challenges waiting.
pub fn insert(conn: &mut DbConnection, row: &ChallengeRow, keep: i64) -> QueryResult<()> {
    let older: Vec<String> = mfa_challenges::table
        .filter(mfa_challenges::user_id.eq(&row.user_id))
        .order((mfa_challenges::created_at.desc(), mfa_challenges::id.desc()))
        .select(mfa_challenges::id)
        .offset(keep - 1)
        .load(conn)?;
    if !older.is_empty() {
        diesel::delete(mfa_challenges::table.filter(mfa_challenges::id.eq_any(&older)))
            .execute(conn)?;
    }
    diesel::insert_into(mfa_challenges::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// The challenge of id `id`, if it has not expired at `now`.
pub fn find(
    conn: &mut DbConnection,
    id: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<ChallengeRow>> {
    mfa_challenges::table
        .filter(mfa_challenges::id.eq(id))
        .filter(mfa_challenges::expires_at.gt(now))
        .select(ChallengeRow::as_select())
        .get_result(conn)
        .optional()
}

/// Counts a failure; the count after it, or `None` when the challenge is gone meanwhile.
pub fn fail(conn: &mut DbConnection, id: &str) -> QueryResult<Option<i32>> {
    diesel::update(mfa_challenges::table.filter(mfa_challenges::id.eq(id)))
        .set(mfa_challenges::failures.eq(mfa_challenges::failures + 1))
        .execute(conn)?;
    mfa_challenges::table
        .filter(mfa_challenges::id.eq(id))
        .select(mfa_challenges::failures)
        .get_result(conn)
        .optional()
}

/// Ends the challenge; `Ok(true)` for the one caller that ended it.
pub fn take(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(mfa_challenges::table.filter(mfa_challenges::id.eq(id))).execute(conn)? > 0)
}

/// Ends every challenge of the account (its factors changed, or it went).
pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::user_id.eq(user_id))).execute(conn)
}

/// Removes up to `batch` challenges expired before `now`; how many went.
pub fn purge(conn: &mut DbConnection, now: PrimitiveDateTime, batch: i64) -> QueryResult<usize> {
    let expired: Vec<String> = mfa_challenges::table
        .filter(mfa_challenges::expires_at.le(now))
        .select(mfa_challenges::id)
        .limit(batch)
        .load(conn)?;
    diesel::delete(mfa_challenges::table.filter(mfa_challenges::id.eq_any(&expired))).execute(conn)
}
