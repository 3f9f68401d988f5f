//! Queries on `mfa_totp`: one TOTP secret per account, sealed, pending until confirmed.
//!
//! Replay is refused here, in SQL: a code is taken only by moving `last_step` forward, in one
//! conditional update, so two requests with the same code (or an older one) cannot both pass,
//! on one instance or several.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::mfa_totp;
use super::DbConnection;

/// A stored TOTP secret.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = mfa_totp)]
pub struct TotpRow {
    pub user_id: String,
    pub secret_sealed: String,
    pub created_at: PrimitiveDateTime,
    pub confirmed_at: Option<PrimitiveDateTime>,
    pub last_step: Option<i64>,
}

pub fn find(conn: &mut DbConnection, user_id: &str) -> QueryResult<Option<TotpRow>> {
    mfa_totp::table
        .filter(mfa_totp::user_id.eq(user_id))
        .select(TotpRow::as_select())
        .get_result(conn)
        .optional()
}

/// Stores a pending secret, replacing a pending one; `Ok(false)` when TOTP is already on (a
/// confirmed secret is replaced only by turning TOTP off first). Two enrolments started at once
/// both succeed (the later secret is the pending one): an insert that finds the row another
/// request just inserted replaces it, rather than reading it as TOTP being on.
pub fn set_pending(
    conn: &mut DbConnection,
    user_id: &str,
    sealed: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let replace_pending = |conn: &mut DbConnection| {
        diesel::update(
            mfa_totp::table
                .filter(mfa_totp::user_id.eq(user_id))
                .filter(mfa_totp::confirmed_at.is_null()),
        )
        .set((
            mfa_totp::secret_sealed.eq(sealed),
            mfa_totp::created_at.eq(now),
        ))
        .execute(conn)
    };
    if replace_pending(conn)? > 0 {
        return Ok(true);
    }
    let insert = diesel::insert_into(mfa_totp::table).values((
        mfa_totp::user_id.eq(user_id),
        mfa_totp::secret_sealed.eq(sealed),
        mfa_totp::created_at.eq(now),
    ));
    let inserted = match conn {
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Pg(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    // Not inserted: a row exists, confirmed (TOTP is on) or pending since the update above.
    Ok(inserted > 0 || replace_pending(conn)? > 0)
}

/// Turns the pending secret on, its first code's `step` taken; `Ok(false)` when there is no
/// pending secret (none, or already confirmed by a concurrent request).
pub fn confirm(
    conn: &mut DbConnection,
    user_id: &str,
    step: i64,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        mfa_totp::table
            .filter(mfa_totp::user_id.eq(user_id))
            .filter(mfa_totp::confirmed_at.is_null()),
    )
    .set((
        mfa_totp::confirmed_at.eq(Some(now)),
        mfa_totp::last_step.eq(Some(step)),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Takes `step` for a confirmed secret: `Ok(true)` only if no code of this step or a later one
/// was taken before.
pub fn take_step(conn: &mut DbConnection, user_id: &str, step: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        mfa_totp::table
            .filter(mfa_totp::user_id.eq(user_id))
            .filter(mfa_totp::confirmed_at.is_not_null())
            .filter(
                mfa_totp::last_step
                    .is_null()
                    .or(mfa_totp::last_step.lt(step)),
            ),
    )
    .set(mfa_totp::last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(updated > 0)
}

/// Holds the account's confirmed secret until the transaction ends (a no-op update takes the
/// row's lock on PostgreSQL; SQLite's write transaction holds the file): `Ok(false)` when TOTP
/// is not on. Changes that replace recovery codes or turn TOTP off take it first, so two of
/// them in flight run one after the other instead of each missing the other's rows.
pub fn hold_confirmed(conn: &mut DbConnection, user_id: &str) -> QueryResult<bool> {
    let held = diesel::update(
        mfa_totp::table
            .filter(mfa_totp::user_id.eq(user_id))
            .filter(mfa_totp::confirmed_at.is_not_null()),
    )
    .set(mfa_totp::confirmed_at.eq(mfa_totp::confirmed_at))
    .execute(conn)?;
    Ok(held > 0)
}

/// Removes every second factor of the account (its secret, recovery codes, passkeys and
/// pending second steps), inside the transaction of the change that removes them: an admin's,
/// or the account's removal. How many factors went (TOTP and passkeys).
pub fn remove_all_factors(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    let removed = remove_totp(conn, user_id)? + super::passkeys::delete_for_user(conn, user_id)?;
    super::webauthn_challenges::delete_for_user(conn, user_id)?;
    Ok(removed)
}

/// Turns TOTP off: its secret, the recovery codes, and the pending second steps (which were
/// offered it).
pub fn remove_totp(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    let removed = delete(conn, user_id)?;
    super::recovery_codes::delete(conn, user_id)?;
    super::mfa_challenges::delete_for_user(conn, user_id)?;
    Ok(removed)
}

/// Removes the account's secret, pending or confirmed; how many rows went (0 or 1).
pub fn delete(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(mfa_totp::table.filter(mfa_totp::user_id.eq(user_id))).execute(conn)
}

/// Which of `user_ids` have TOTP on.
pub fn confirmed_among(conn: &mut DbConnection, user_ids: &[String]) -> QueryResult<Vec<String>> {
    mfa_totp::table
        .filter(mfa_totp::user_id.eq_any(user_ids))
        .filter(mfa_totp::confirmed_at.is_not_null())
        .select(mfa_totp::user_id)
        .load(conn)
}
