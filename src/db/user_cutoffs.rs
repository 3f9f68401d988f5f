//! Queries on `user_cutoffs`: "every access token of this user issued up to `cutoff` is
//! refused" (logout everywhere, a password or role change, a removal).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::user_cutoffs;
use super::DbConnection;

/// Records (or moves forward) the cut-off of `username`.
pub fn set(
    conn: &mut DbConnection,
    username: &str,
    cutoff: &str,
    cut_at: PrimitiveDateTime,
    kept_until: PrimitiveDateTime,
) -> QueryResult<()> {
    let row = (
        user_cutoffs::username.eq(username),
        user_cutoffs::cutoff.eq(cutoff),
        user_cutoffs::cut_at.eq(cut_at),
        user_cutoffs::kept_until.eq(kept_until),
    );
    let update = (
        user_cutoffs::cutoff.eq(cutoff),
        user_cutoffs::cut_at.eq(cut_at),
        user_cutoffs::kept_until.eq(kept_until),
    );
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(user_cutoffs::table)
            .values(row)
            .on_conflict(user_cutoffs::username)
            .do_update()
            .set(update)
            .execute(c)?,
        DbConnection::Pg(c) => diesel::insert_into(user_cutoffs::table)
            .values(row)
            .on_conflict(user_cutoffs::username)
            .do_update()
            .set(update)
            .execute(c)?,
    };
    Ok(())
}

/// A per-user cut-off as the revocation view needs it.
#[derive(Debug, Clone, Queryable)]
pub struct Cutoff {
    pub username: String,
    pub cutoff: String,
    pub kept_until: PrimitiveDateTime,
}

/// Cut-offs that still matter at `live_at`, or only those set since `cut_from`.
pub fn cutoffs(
    conn: &mut DbConnection,
    live_at: PrimitiveDateTime,
    cut_from: Option<PrimitiveDateTime>,
) -> QueryResult<Vec<Cutoff>> {
    let mut query = user_cutoffs::table
        .filter(user_cutoffs::kept_until.ge(live_at))
        .select((
            user_cutoffs::username,
            user_cutoffs::cutoff,
            user_cutoffs::kept_until,
        ))
        .into_boxed();
    if let Some(from) = cut_from {
        query = query.filter(user_cutoffs::cut_at.ge(from));
    }
    query.load(conn)
}

/// Deletes the cut-offs that can refuse no token any more (past `kept_until`).
pub fn purge(conn: &mut DbConnection, cutoff: PrimitiveDateTime) -> QueryResult<usize> {
    diesel::delete(user_cutoffs::table.filter(user_cutoffs::kept_until.lt(cutoff))).execute(conn)
}
