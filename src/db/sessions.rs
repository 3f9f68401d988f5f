//! Queries on `sessions`, `refresh_tokens` and `user_cutoffs`.
//!
//! Writes that race each other (a rotation, a logout, a logout everywhere) meet on the session
//! row: each updates it under the condition `ended_at IS NULL`, so the database orders them and
//! the loser sees the winner's outcome. Every function that writes expects to run inside a
//! transaction opened with [`super::write_transaction`].

use diesel::prelude::*;
use time::{Duration, PrimitiveDateTime};

use super::schema::{refresh_tokens, sessions, user_cutoffs, users};
use super::DbConnection;

/// A session as listed to its owner or an admin.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: String,
    pub username: String,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: PrimitiveDateTime,
    pub expires_at: PrimitiveDateTime,
    pub user_agent: String,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSessionRow<'a> {
    id: &'a str,
    username: &'a str,
    created_at: PrimitiveDateTime,
    last_used_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    access_until: PrimitiveDateTime,
    user_agent: &'a str,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
struct NewRefreshRow<'a> {
    hash: &'a str,
    session_id: &'a str,
    created_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
}

/// A new login: the session and its first refresh token.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub user_agent: &'a str,
    pub refresh_hash: &'a str,
    pub now: PrimitiveDateTime,
    pub refresh_expires_at: PrimitiveDateTime,
    pub access_expires_at: PrimitiveDateTime,
}

pub fn create(conn: &mut DbConnection, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(NewSessionRow {
            id: new.id,
            username: new.username,
            created_at: new.now,
            last_used_at: new.now,
            expires_at: new.refresh_expires_at,
            access_until: new.access_expires_at,
            user_agent: new.user_agent,
        })
        .execute(conn)?;
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshRow {
            hash: new.refresh_hash,
            session_id: new.id,
            created_at: new.now,
            expires_at: new.refresh_expires_at,
        })
        .execute(conn)?;
    Ok(())
}

/// A rotation request: the presented token's hash, its successor's, and the instants involved.
pub struct Rotate<'a> {
    pub presented_hash: &'a str,
    pub successor_hash: &'a str,
    pub now: PrimitiveDateTime,
    pub grace: Duration,
    pub refresh_expires_at: PrimitiveDateTime,
    pub access_expires_at: PrimitiveDateTime,
}

/// The session a refresh continues, with its owner's current role.
#[derive(Debug, Clone)]
pub struct Continued {
    pub session_id: String,
    pub username: String,
    pub role: String,
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
        .first::<(String, PrimitiveDateTime, Option<PrimitiveDateTime>)>(conn)
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
    // Continue the session, unless it has ended. A rotation slides its expiry; the grace path
    // does not (the winner already did).
    let live = sessions::table
        .filter(sessions::id.eq(&session_id))
        .filter(sessions::ended_at.is_null());
    let continued = if won {
        diesel::update(live)
            .set((
                sessions::last_used_at.eq(r.now),
                sessions::expires_at.eq(r.refresh_expires_at),
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
    extend_access(conn, &session_id, r.access_expires_at)?;
    if won {
        diesel::insert_into(refresh_tokens::table)
            .values(NewRefreshRow {
                hash: r.successor_hash,
                session_id: &session_id,
                created_at: r.now,
                expires_at: r.refresh_expires_at,
            })
            .execute(conn)?;
    }
    let owner = sessions::table
        .inner_join(users::table.on(users::username.eq(sessions::username)))
        .filter(sessions::id.eq(&session_id))
        .select((sessions::username, users::role))
        .first::<(String, String)>(conn)
        .optional()?;
    let Some((username, role)) = owner else {
        return Ok(Rotation::Dead);
    };
    let continued = Continued {
        session_id,
        username,
        role,
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

/// Records that an access token of this session lives until `until`: the session's id must be
/// refused at least that long once it ends.
pub fn extend_access(
    conn: &mut DbConnection,
    id: &str,
    until: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::access_until.lt(until)),
    )
    .set(sessions::access_until.eq(until))
    .execute(conn)?;
    Ok(())
}

/// The live sessions of `username` at `now`, newest first.
pub fn live_for(
    conn: &mut DbConnection,
    username: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::username.eq(username))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.desc(), sessions::id.asc()))
        .select(SessionRow::as_select())
        .load(conn)
}

/// An ended session: its id, refused until `access_until`.
#[derive(Debug, Clone, Queryable)]
pub struct Ended {
    pub id: String,
    pub access_until: PrimitiveDateTime,
}

/// Ends the session `id` (if `owner` is given, only if it belongs to them); `None` when there
/// is no such live session.
pub fn end(
    conn: &mut DbConnection,
    id: &str,
    owner: Option<&str>,
    now: PrimitiveDateTime,
) -> QueryResult<Option<Ended>> {
    let mut target = sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::ended_at.is_null())
        .into_boxed();
    if let Some(owner) = owner {
        target = target.filter(sessions::username.eq(owner));
    }
    let found = target
        .select((sessions::id, sessions::access_until))
        .first::<Ended>(conn)
        .optional()?;
    let Some(found) = found else { return Ok(None) };
    let ended = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(now))
    .execute(conn)?;
    Ok((ended == 1).then_some(found))
}

/// Ends every session of `username` except `keep`; returns those it ended. On PostgreSQL the
/// rows are locked as they are read, so none can be continued between the read and the update.
pub fn end_all(
    conn: &mut DbConnection,
    username: &str,
    keep: Option<&str>,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<Ended>> {
    let live = sessions::table
        .filter(sessions::username.eq(username))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::id.ne(keep.unwrap_or("")))
        .select((sessions::id, sessions::access_until));
    let ended: Vec<Ended> = match conn {
        DbConnection::Pg(c) => live.for_update().load(c)?,
        DbConnection::Sqlite(c) => live.load(c)?,
    };
    let ids: Vec<&str> = ended.iter().map(|e| e.id.as_str()).collect();
    for chunk in ids.chunks(500) {
        diesel::update(sessions::table.filter(sessions::id.eq_any(chunk)))
            .set(sessions::ended_at.eq(now))
            .execute(conn)?;
    }
    Ok(ended)
}

/// Records (or moves forward) the cut-off of `username`.
pub fn set_cutoff(
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

/// Sessions ended whose ids still matter at `live_at` (for loading the view), or, with
/// `ended_from`, only those ended since then (for catching up).
pub fn ended(
    conn: &mut DbConnection,
    live_at: PrimitiveDateTime,
    ended_from: Option<PrimitiveDateTime>,
) -> QueryResult<Vec<Ended>> {
    let mut query = sessions::table
        .filter(sessions::ended_at.is_not_null())
        .filter(sessions::access_until.ge(live_at))
        .select((sessions::id, sessions::access_until))
        .into_boxed();
    if let Some(from) = ended_from {
        query = query.filter(sessions::ended_at.ge(from));
    }
    query.load(conn)
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

/// Deletes, up to `batch` rows per table per statement, what can no longer matter before
/// `cutoff`: refresh tokens past their expiry, sessions that are over (ended, or past their
/// refresh expiry) and whose last access token has expired, and cut-offs past `kept_until`.
pub fn purge(conn: &mut DbConnection, cutoff: PrimitiveDateTime, batch: i64) -> QueryResult<usize> {
    let mut purged = 0;
    loop {
        let tokens: Vec<String> = refresh_tokens::table
            .filter(refresh_tokens::expires_at.lt(cutoff))
            .select(refresh_tokens::hash)
            .limit(batch)
            .load(conn)?;
        let done = (tokens.len() as i64) < batch;
        purged +=
            diesel::delete(refresh_tokens::table.filter(refresh_tokens::hash.eq_any(&tokens)))
                .execute(conn)?;
        if done {
            break;
        }
    }
    loop {
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
        let done = (over.len() as i64) < batch;
        purged +=
            diesel::delete(sessions::table.filter(sessions::id.eq_any(&over))).execute(conn)?;
        if done {
            break;
        }
    }
    purged += diesel::delete(user_cutoffs::table.filter(user_cutoffs::kept_until.lt(cutoff)))
        .execute(conn)?;
    Ok(purged)
}

/// What `revocation_check = "database"` asks per request: whether the token id is blacklisted or
/// its session has ended, and the user's cut-off if there is one.
pub struct RevocationFacts {
    pub token_or_session: bool,
    pub cutoff: Option<String>,
}

pub fn revocation_facts(
    conn: &mut DbConnection,
    jti: &str,
    sid: Option<&str>,
    username: &str,
) -> QueryResult<RevocationFacts> {
    let mut revoked = super::blacklist::contains(conn, jti)?;
    if let (false, Some(sid)) = (revoked, sid) {
        revoked = diesel::select(diesel::dsl::exists(
            sessions::table
                .filter(sessions::id.eq(sid))
                .filter(sessions::ended_at.is_not_null()),
        ))
        .get_result(conn)?;
    }
    let cutoff = user_cutoffs::table
        .find(username)
        .select(user_cutoffs::cutoff)
        .first(conn)
        .optional()?;
    Ok(RevocationFacts {
        token_or_session: revoked,
        cutoff,
    })
}
