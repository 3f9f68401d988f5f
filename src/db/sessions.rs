//! Queries on `sessions` (and the first refresh token a login creates).
//!
//! Writes that race each other (a rotation, a logout, a logout everywhere) meet on the session
//! row: each updates it under the condition `ended_at IS NULL`, so the database orders them and
//! the loser sees the winner's outcome. Every function that writes expects to run inside a
//! transaction opened with [`super::write_transaction`].

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::{refresh_tokens, sessions, user_cutoffs};
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
    pub ip: Option<String>,
    pub device: String,
    pub name: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSessionRow<'a> {
    id: &'a str,
    user_id: &'a str,
    username: &'a str,
    access_issued_at: PrimitiveDateTime,
    created_at: PrimitiveDateTime,
    last_used_at: PrimitiveDateTime,
    expires_at: PrimitiveDateTime,
    access_until: PrimitiveDateTime,
    user_agent: &'a str,
    ip: Option<&'a str>,
    device: &'a str,
    remember: bool,
}

/// A new login: the session and its first refresh token.
pub struct NewSession<'a> {
    pub id: &'a str,
    /// The account's id: the session belongs to it, not to the name.
    pub user_id: &'a str,
    /// The name as stored, shown in lists.
    pub username: &'a str,
    /// When the access token issued with it was issued (its `iat`).
    pub access_issued_at: PrimitiveDateTime,
    pub user_agent: &'a str,
    pub ip: Option<&'a str>,
    /// A label a person recognises ("Firefox 133 on Linux").
    pub device: &'a str,
    /// Whether the login asked to be remembered (persistent cookies, the longer lifetime).
    pub remember: bool,
    pub refresh_hash: &'a str,
    pub now: PrimitiveDateTime,
    pub refresh_expires_at: PrimitiveDateTime,
    pub access_expires_at: PrimitiveDateTime,
}

pub fn create(conn: &mut DbConnection, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(NewSessionRow {
            id: new.id,
            user_id: new.user_id,
            username: new.username,
            access_issued_at: new.access_issued_at,
            created_at: new.now,
            last_used_at: new.now,
            expires_at: new.refresh_expires_at,
            access_until: new.access_expires_at,
            user_agent: new.user_agent,
            ip: new.ip,
            device: new.device,
            remember: new.remember,
        })
        .execute(conn)?;
    diesel::insert_into(refresh_tokens::table)
        .values(super::refresh_tokens::NewRefreshRow {
            hash: new.refresh_hash,
            session_id: new.id,
            created_at: new.now,
            expires_at: new.refresh_expires_at,
        })
        .execute(conn)?;
    Ok(())
}

/// An access token's issue time as sessions keep it: whole seconds, as the token's `iat`.
pub fn issued_at(t: time::OffsetDateTime) -> PrimitiveDateTime {
    let secs = time::OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t);
    super::to_db_time(secs)
}

/// Records that the session's latest access token was issued at `issued_at` and lives until
/// `until`: older tokens no longer end the session at logout, and the session's id must be
/// refused at least that long once it ends.
pub fn reissued(
    conn: &mut DbConnection,
    id: &str,
    issued_at: PrimitiveDateTime,
    until: PrimitiveDateTime,
) -> QueryResult<()> {
    diesel::update(sessions::table.filter(sessions::id.eq(id)))
        .set(sessions::access_issued_at.eq(issued_at))
        .execute(conn)?;
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::access_until.lt(until)),
    )
    .set(sessions::access_until.eq(until))
    .execute(conn)?;
    Ok(())
}

/// The live sessions of the account `user_id` at `now`, newest first.
pub fn live_for(
    conn: &mut DbConnection,
    user_id: &str,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.desc(), sessions::id.asc()))
        .select(SessionRow::as_select())
        .load(conn)
}

/// How many live sessions each of the accounts `user_ids` has at `now` (accounts with none are
/// left out).
pub fn live_counts(
    conn: &mut DbConnection,
    user_ids: &[String],
    now: PrimitiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    sessions::table
        .filter(sessions::user_id.eq_any(user_ids))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .group_by(sessions::user_id)
        .select((sessions::user_id, diesel::dsl::count_star()))
        .load(conn)
}

/// When the session `id` began and whether its login asked to be remembered: what its absolute
/// end follows from.
pub fn started(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<(PrimitiveDateTime, bool)>> {
    sessions::table
        .find(id)
        .select((sessions::created_at, sessions::remember))
        .get_result(conn)
        .optional()
}

/// The account (id, name) the session `id` belongs to.
pub fn owner(conn: &mut DbConnection, id: &str) -> QueryResult<Option<(String, String)>> {
    sessions::table
        .find(id)
        .select((sessions::user_id, sessions::username))
        .get_result(conn)
        .optional()
}

/// Names the live session `id` of the account `user_id`; `Ok(false)` when it is not theirs,
/// not live, or unknown.
pub fn rename(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
    name: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::expires_at.gt(now)),
    )
    .set(sessions::name.eq(Some(name)))
    .execute(conn)?;
    Ok(changed > 0)
}

/// An ended session: its id, refused until `access_until`.
#[derive(Debug, Clone, Queryable)]
pub struct Ended {
    pub id: String,
    pub access_until: PrimitiveDateTime,
}

/// Which session to end, and who may end it.
pub enum EndBy<'a> {
    /// An admin, or the server itself: any live session.
    Anyone,
    /// Its owner (the account's id), from the session list.
    Owner(&'a str),
    /// A logout with an access token of the session, given as the token's `iat` plus the
    /// refresh grace: only the session's latest token (or one issued within the grace before
    /// it, by a tab refreshing at the same moment) ends it. An older one, say weeks old and
    /// expired, must not be able to end a session refreshed since.
    TokenIssuedBy(PrimitiveDateTime),
}

/// Ends the session `id` if `by` may; `None` when there is no such live session.
pub fn end(
    conn: &mut DbConnection,
    id: &str,
    by: EndBy<'_>,
    now: PrimitiveDateTime,
) -> QueryResult<Option<Ended>> {
    // One static query per case, not a boxed one: diesel caches the prepared statement of a
    // static query only, and on SQLite every logout runs this.
    let live = sessions::table
        .filter(sessions::id.eq(id))
        .filter(sessions::ended_at.is_null());
    let columns = (sessions::id, sessions::access_until);
    let found = match by {
        EndBy::Anyone => live.select(columns).get_result::<Ended>(conn),
        EndBy::Owner(user_id) => live
            .filter(sessions::user_id.eq(user_id))
            .select(columns)
            .get_result(conn),
        EndBy::TokenIssuedBy(latest_from) => live
            .filter(
                sessions::access_issued_at
                    .is_null()
                    .or(sessions::access_issued_at.le(latest_from)),
            )
            .select(columns)
            .get_result(conn),
    }
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

/// Ends every session of the account `user_id` except `keep`; returns those it ended. On
/// PostgreSQL the rows are locked as they are read, so none can be continued between the read
/// and the update.
pub fn end_all(
    conn: &mut DbConnection,
    user_id: &str,
    keep: Option<&str>,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<Ended>> {
    let live = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::id.ne(keep.unwrap_or("")))
        .select((sessions::id, sessions::access_until));
    let ended: Vec<Ended> = match conn {
        DbConnection::Pg(c) => live.for_update().load(c)?,
        DbConnection::Sqlite(c) => live.load(c)?,
    };
    end_listed(conn, &ended, now)?;
    Ok(ended)
}

/// Ends the oldest live sessions of the account `user_id` beyond the newest `keep`; returns
/// those it ended (a new login past `max_sessions_per_user` ends the oldest).
pub fn end_beyond(
    conn: &mut DbConnection,
    user_id: &str,
    keep: i64,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<Ended>> {
    let oldest = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .offset(keep)
        .limit(10_000)
        .select((sessions::id, sessions::access_until));
    let ended: Vec<Ended> = match conn {
        DbConnection::Pg(c) => oldest.for_update().load(c)?,
        DbConnection::Sqlite(c) => oldest.load(c)?,
    };
    end_listed(conn, &ended, now)?;
    Ok(ended)
}

fn end_listed(conn: &mut DbConnection, ended: &[Ended], now: PrimitiveDateTime) -> QueryResult<()> {
    let ids: Vec<&str> = ended.iter().map(|e| e.id.as_str()).collect();
    for chunk in ids.chunks(500) {
        diesel::update(sessions::table.filter(sessions::id.eq_any(chunk)))
            .set(sessions::ended_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
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

/// What `revocation_check = "database"` asks per request: whether the token id is blacklisted or
/// its session has ended, and the user's cut-off if there is one.
pub struct RevocationFacts {
    pub token_or_session: bool,
    /// The user's cut-off: tokens whose id is not greater are refused.
    pub issued_before: Option<String>,
}

pub fn revocation_facts(
    conn: &mut DbConnection,
    jti: &str,
    sid: &str,
    username: &str,
) -> QueryResult<RevocationFacts> {
    let mut revoked = super::blacklist::contains(conn, jti)?;
    if !revoked {
        revoked = diesel::select(diesel::dsl::exists(
            sessions::table
                .filter(sessions::id.eq(sid))
                .filter(sessions::ended_at.is_not_null()),
        ))
        .get_result(conn)?;
    }
    let issued_before = user_cutoffs::table
        .find(username)
        .select(user_cutoffs::cutoff)
        .get_result(conn)
        .optional()?;
    Ok(RevocationFacts {
        token_or_session: revoked,
        issued_before,
    })
}
