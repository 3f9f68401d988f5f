//! Queries on `refresh_tokens`: rotation, with reuse detection.
//!
//! Writes that race each other (a rotation, a logout, a logout everywhere) meet on the session
//! row: each updates it under the condition `ended_at IS NULL`, so the database orders them and
//! the loser sees the winner's outcome. [`rotate`] expects to run inside a transaction opened
//! with [`super::write_transaction`].

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use super::schema::{refresh_tokens, sessions, users};
use super::sessions::reissued;
use super::DbConnection;

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(super) struct NewRefreshRow<'a> {
    pub hash: &'a str,
    pub session_id: &'a str,
    pub created_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
}

/// A rotation request: the presented token's hash, its successor's, and the instants involved.
pub struct Rotate<'a> {
    pub presented_hash: &'a str,
    pub successor_hash: &'a str,
    pub now: PrimitiveDateTime,
    pub grace: Duration,
    /// Until when the refresh token (and the session) and the access token the rotation
    /// issues may live, given the session's start and its `remember` (see
    /// `crate::auth::lifetime`).
    pub bounds: &'a dyn Fn(PrimitiveDateTime, bool) -> Ends,
    /// When the access token the rotation issues is issued: from now on the session's latest.
    pub access_issued_at: PrimitiveDateTime,
}

/// Until when a rotation's tokens may live.
#[derive(Debug, Clone, Copy)]
pub struct Ends {
    pub refresh: PrimitiveDateTime,
    pub access: PrimitiveDateTime,
}

/// The session a refresh continues, with its owner's current role.
#[derive(Debug, Clone)]
pub struct Continued {
    pub session_id: String,
    pub user_id: String,
    pub username: String,
    pub role: String,
    /// Whether its login asked to be remembered.
    pub remember: bool,
    /// What the rotation may issue.
    pub ends: Ends,
}

/// What presenting a refresh token amounted to.
#[derive(Debug)]
pub enum Rotation {
    /// This caller rotated the token: the successor row now exists.
    Rotated(Continued),
    /// Another caller rotated it less than `grace` ago: the successor is the same one.
    /// (A grace of zero turns this off.)
    WithinGrace(Continued),
    /// Rotated longer ago than `grace`: a copy is in other hands. The session must end.
    Reused { session_id: String },
    /// Unknown, expired, or its session has ended (or its user is gone).
    Dead,
}

/// The rotation as one step: the token is marked used only if it was not (a conditional
/// update, so that of many concurrent callers exactly one wins), and the session is continued
/// only if it has not ended (so that a committed logout beats any later refresh).
pub fn rotate(conn: &mut DbConnection, r: &Rotate<'_>) -> QueryResult<Rotation> {
    let won = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::hash.eq(r.presented_hash))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::expires_at.gt(r.now)),
    )
    .set(refresh_tokens::used_at.eq(r.now))
    .execute(conn)?
        == 1;
    let Some((session_id, expires_at, used_at)) = refresh_tokens::table
        .find(r.presented_hash)
        .select((
            refresh_tokens::session_id,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
        ))
        .get_result::<(String, PrimitiveDateTime, Option<PrimitiveDateTime>)>(conn)
        .optional()?
    else {
        return Ok(Rotation::Dead);
    };
    if !won {
        if expires_at <= r.now {
            return Ok(Rotation::Dead);
        }
        let rotated_at = used_at.unwrap_or(r.now);
        if r.now - rotated_at >= r.grace {
            return Ok(if is_live(conn, &session_id)? {
                Rotation::Reused { session_id }
            } else {
                Rotation::Dead
            });
        }
    }
    let Some((created_at, remember)) = sessions::table
        .filter(sessions::id.eq(&session_id))
        .filter(sessions::ended_at.is_null())
        .select((sessions::created_at, sessions::remember))
        .get_result::<(PrimitiveDateTime, bool)>(conn)
        .optional()?
    else {
        return Ok(Rotation::Dead);
    };
    let mut ends = (r.bounds)(created_at, remember);
    if !won {
        // The successor exists already, with the expiry its rotation gave it: the cookie that
        // carries it must not outlive it.
        let successor = refresh_tokens::table
            .find(r.successor_hash)
            .select(refresh_tokens::expires_at)
            .get_result::<PrimitiveDateTime>(conn)
            .optional()?;
        ends.refresh = successor.map_or(ends.refresh, |at| at.min(ends.refresh));
    }
    // Past its absolute end already: a session older than a lifetime lowered since, or started
    // before there was one. Nothing it would issue may live.
    if ends.refresh <= r.now {
        return Ok(Rotation::Dead);
    }
    // Continue the session, unless it has ended. A rotation slides its expiry (up to the
    // session's absolute end); the grace path does not (the winner already did).
    let live = sessions::table
        .filter(sessions::id.eq(&session_id))
        .filter(sessions::ended_at.is_null());
    let continued = if won {
        diesel::update(live)
            .set((
                sessions::last_used_at.eq(r.now),
                sessions::expires_at.eq(ends.refresh),
            ))
            .execute(conn)?
    } else {
        diesel::update(live)
            .set(sessions::last_used_at.eq(r.now))
            .execute(conn)?
    };
    if continued == 0 {
        return Ok(Rotation::Dead);
    }
    reissued(conn, &session_id, r.access_issued_at, ends.access)?;
    if won {
        diesel::insert_into(refresh_tokens::table)
            .values(NewRefreshRow {
                hash: r.successor_hash,
                session_id: &session_id,
                created_at: r.now,
                expires_at: ends.refresh,
            })
            .execute(conn)?;
    }
    // The account as it is now: its current name and role (a session of a removed account was
    // ended with it, so this finds nothing only for rows older than account ids).
    let owner = sessions::table
        .inner_join(users::table.on(users::id.eq(sessions::user_id)))
        .filter(sessions::id.eq(&session_id))
        .select((users::id, users::username, users::role))
        .get_result::<(String, String, String)>(conn)
        .optional()?;
    let Some((user_id, username, role)) = owner else {
        return Ok(Rotation::Dead);
    };
    let continued = Continued {
        session_id,
        user_id,
        username,
        role,
        remember,
        ends,
    };
    Ok(if won {
        Rotation::Rotated(continued)
    } else {
        Rotation::WithinGrace(continued)
    })
}

fn is_live(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::ended_at.is_null()),
    ))
    .get_result(conn)
}
