//! Queries on `webauthn_challenges`: WebAuthn ceremonies between their start and finish. The
//! state is taken by one delete, so it is used once, on one instance or several.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::webauthn_challenges;
use super::DbConnection;

/// A ceremony waiting for the browser's answer.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webauthn_challenges)]
pub struct CeremonyRow {
    /// SHA-256 (hex) of the challenge.
    pub id: String,
    pub purpose: String,
    pub user_id: Option<String>,
    /// For a second step: the id of the login challenge it belongs to.
    pub mfa_challenge: Option<String>,
    pub state: String,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
}

/// Stores a ceremony. With a `user_id`, the account's oldest ones past `keep - 1` end, so that
/// an account has at most `keep` waiting however often it starts one.
pub fn insert(conn: &mut DbConnection, row: &CeremonyRow, keep: i64) -> QueryResult<()> {
    if let Some(user_id) = &row.user_id {
        let older: Vec<String> = webauthn_challenges::table
            .filter(webauthn_challenges::user_id.eq(user_id))
            .order((
                webauthn_challenges::created_at.desc(),
                webauthn_challenges::id.desc(),
            ))
            .select(webauthn_challenges::id)
            .offset(keep - 1)
            .load(conn)?;
        if !older.is_empty() {
            diesel::delete(
                webauthn_challenges::table.filter(webauthn_challenges::id.eq_any(&older)),
            )
            .execute(conn)?;
        }
    }
    diesel::insert_into(webauthn_challenges::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// Takes the live ceremony `id` for `purpose`: the row for the one caller whose delete removed
/// it, `None` for anyone else (no such ceremony, expired, or already taken).
pub fn take(
    conn: &mut DbConnection,
    id: &str,
    purpose: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Option<CeremonyRow>> {
    let row = webauthn_challenges::table
        .filter(webauthn_challenges::id.eq(id))
        .select(CeremonyRow::as_select())
        .get_result(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let deleted = diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::id.eq(id)))
        .execute(conn)?;
    let live = deleted > 0 && row.purpose == purpose && row.expires_at > now;
    Ok(live.then_some(row))
}

/// Ends every ceremony of the account.
pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::user_id.eq(user_id)))
        .execute(conn)
}

/// How many ceremonies without an account (passwordless logins) are waiting.
pub fn anonymous_waiting(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<i64> {
    webauthn_challenges::table
        .filter(webauthn_challenges::user_id.is_null())
        .filter(webauthn_challenges::expires_at.gt(now))
        .count()
        .get_result(conn)
}

/// Removes up to `batch` ceremonies expired before `now`; how many went.
pub fn purge(conn: &mut DbConnection, now: PrimitiveDateTime, batch: i64) -> QueryResult<usize> {
    let expired: Vec<String> = webauthn_challenges::table
        .filter(webauthn_challenges::expires_at.le(now))
        .select(webauthn_challenges::id)
        .limit(batch)
        .load(conn)?;
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::id.eq_any(&expired)))
        .execute(conn)
}
