//! Queries on `devices`: the browsers that logged in as an account (see
//! [`crate::auth::device`]). A device counts as trusted only while its row exists, so removing
//! the rows voids the cookies at once, on every instance.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::devices;
use super::DbConnection;

/// Whether the device `id` is one of the account's.
pub fn is_known(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        devices::table
            .filter(devices::id.eq(id))
            .filter(devices::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Records a login of the account from device `id` (a new row, or the known one renewed),
/// then forgets the account's least recently used devices beyond `max`.
pub fn logged_in(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    now: PrimitiveDateTime,
    max: i64,
) -> QueryResult<()> {
    let renewed = diesel::update(
        devices::table
            .filter(devices::id.eq(id))
            .filter(devices::user_id.eq(user_id)),
    )
    .set(devices::last_login_at.eq(now))
    .execute(conn)?;
    if renewed == 0 {
        // A nonce another account holds (a shared browser) is that account's: this login
        // takes it over, as the cookie now speaks for this account.
        diesel::delete(devices::table.filter(devices::id.eq(id))).execute(conn)?;
        diesel::insert_into(devices::table)
            .values((
                devices::id.eq(id),
                devices::user_id.eq(user_id),
                devices::created_at.eq(now),
                devices::last_login_at.eq(now),
            ))
            .execute(conn)?;
    }
    let beyond: Vec<String> = devices::table
        .filter(devices::user_id.eq(user_id))
        .order((devices::last_login_at.desc(), devices::id.desc()))
        .offset(max)
        .limit(1000)
        .select(devices::id)
        .load(conn)?;
    if !beyond.is_empty() {
        diesel::delete(devices::table.filter(devices::id.eq_any(&beyond))).execute(conn)?;
    }
    Ok(())
}

/// Forgets every device of the account: its credentials changed (or it is gone).
pub fn forget_all(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(devices::table.filter(devices::user_id.eq(user_id))).execute(conn)
}
