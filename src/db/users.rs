//! Queries on `users`.
//!
//! An account is its `id` (a UUID that never changes and is never re-used); its name is unique
//! whatever its case, and found whatever case it is typed in. `generation` moves on with every
//! change that must stop what was decided before it (a new password, role, a logout everywhere,
//! removal): a login commits its session only while the generation it read is still current.

use diesel::prelude::*;
use diesel::sql_types::Text;
use time::PrimitiveDateTime;

use super::schema::users;
use super::DbConnection;

diesel::define_sql_function! {
    /// SQL's `lower()`, which both backends have; names are ASCII, so it folds them exactly.
    fn lower(x: Text) -> Text;
}

diesel::define_sql_function! {
    /// `lower()` of a column that may be NULL.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<Text>) -> diesel::sql_types::Nullable<Text>;
}

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: PrimitiveDateTime,
    pub generation: i64,
    pub locked_at: Option<PrimitiveDateTime>,
    pub locked_until: Option<PrimitiveDateTime>,
    pub lock_reason: Option<String>,
    pub last_login_at: Option<PrimitiveDateTime>,
}

impl UserRow {
    /// Whether the account is locked at `now`: a lock whose end has passed has lifted.
    pub fn locked_at(&self, now: PrimitiveDateTime) -> bool {
        self.locked_at.is_some() && self.locked_until.is_none_or(|until| until > now)
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: PrimitiveDateTime,
}

/// The account called `name`, whatever the case it is written in.
pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(lower(users::username).eq(name.to_ascii_lowercase()))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// The account of id `id`.
pub fn find_by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// Inserts the user; `Ok(false)` when the name is already taken in any case (also under a race).
/// `ON CONFLICT DO NOTHING` rather than catching the violation: on PostgreSQL a failed statement
/// would abort the transaction the insert runs in (with its audit event).
pub fn create(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<bool> {
    let insert = diesel::insert_into(users::table).values(user);
    let inserted = match conn {
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Pg(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    Ok(inserted > 0)
}

/// The account called `name`, locked for a change (on PostgreSQL, until the transaction ends,
/// so that a login committing its session waits for the change or the change waits for it),
/// with its generation moved on. The row is returned as it was read.
pub fn lock_for_change(conn: &mut DbConnection, name: &str) -> QueryResult<Option<UserRow>> {
    let row = match conn {
        DbConnection::Pg(c) => users::table
            .filter(lower(users::username).eq(name.to_ascii_lowercase()))
            .select(UserRow::as_select())
            .for_update()
            .get_result(c)
            .optional()?,
        DbConnection::Sqlite(_) => find(conn, name)?,
    };
    if let Some(user) = &row {
        diesel::update(users::table.filter(users::id.eq(&user.id)))
            .set(users::generation.eq(users::generation + 1))
            .execute(conn)?;
    }
    Ok(row)
}

/// The account's current generation, the row held (on PostgreSQL) against changes until the
/// transaction ends; `None` when the account is gone.
pub fn generation_held(conn: &mut DbConnection, id: &str) -> QueryResult<Option<i64>> {
    let query = users::table
        .filter(users::id.eq(id))
        .select(users::generation);
    match conn {
        DbConnection::Pg(c) => query.for_share().get_result(c).optional(),
        DbConnection::Sqlite(c) => query.get_result(c).optional(),
    }
}

pub fn set_password(conn: &mut DbConnection, id: &str, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

pub fn set_role(conn: &mut DbConnection, id: &str, role: &str) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::role.eq(role))
        .execute(conn)
}

/// Moves the account's generation on, for a change that ends no session but must still stop a
/// login whose password check began before it (turning a second factor on).
pub fn advance_generation(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::generation.eq(users::generation + 1))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(users::table.filter(users::id.eq(id))).execute(conn)
}

/// Locks the account (a new lock replaces the one it may have).
pub fn lock(
    conn: &mut DbConnection,
    id: &str,
    reason: &str,
    at: PrimitiveDateTime,
    until: Option<PrimitiveDateTime>,
) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set((
            users::locked_at.eq(Some(at)),
            users::locked_until.eq(until),
            users::lock_reason.eq(Some(reason)),
        ))
        .execute(conn)
}

/// Lifts the account's lock; `Ok(false)` when there is no such account.
pub fn unlock(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let changed = diesel::update(users::table.filter(users::id.eq(id)))
        .set((
            users::locked_at.eq(None::<PrimitiveDateTime>),
            users::locked_until.eq(None::<PrimitiveDateTime>),
            users::lock_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(changed > 0)
}

/// Records a login's time, in the transaction that commits its session.
pub fn logged_in(conn: &mut DbConnection, id: &str, at: PrimitiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::last_login_at.eq(Some(at)))
        .execute(conn)
        .map(drop)
}

/// Key of the PostgreSQL advisory lock that orders changes which could remove the last admin.
const ADMINS_LOCK: i64 = 0x6a77_7462_6164_6d6e;

/// The ids of admins not locked at `now`, read under a lock that orders every change which
/// could leave no admin (on PostgreSQL an advisory lock held to the end of the transaction: two
/// admins demoting or locking each other at once are decided one after the other; SQLite has
/// one writer anyway). Not row locks: each change already holds its target's row, and locking
/// the others' would deadlock.
pub fn unlocked_admins_locked(
    conn: &mut DbConnection,
    now: PrimitiveDateTime,
) -> QueryResult<Vec<String>> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({ADMINS_LOCK})")).execute(c)?;
    }
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::locked_at.is_null().or(users::locked_until.le(now)))
        .select(users::id)
        .load(conn)
}

/// Which accounts a listing selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A piece of the name, any case.
    pub name_contains: Option<String>,
    pub role: Option<String>,
    /// `Some(true)`: locked at `now`; `Some(false)`: not locked.
    pub locked: Option<bool>,
    pub now: Option<PrimitiveDateTime>,
}

/// One page of the accounts of `filter`, by name, and how many there are in all.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<UserRow>, i64)> {
    let total = filtered(filter).count().get_result(conn)?;
    let rows = filtered(filter)
        .order(users::username.asc())
        .limit(limit)
        .offset(offset)
        .select(UserRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

fn filtered(filter: &Filter) -> users::BoxedQuery<'static, <DbConnection as Connection>::Backend> {
    let mut query = users::table.into_boxed();
    if let Some(part) = &filter.name_contains {
        // `\` escapes the pattern's own wildcards, so `_` and `%` in the search match themselves.
        let escaped = part
            .to_ascii_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        query = query.filter(
            lower(users::username)
                .like(format!("%{escaped}%"))
                .escape('\\'),
        );
    }
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(role.clone()));
    }
    if let (Some(locked), Some(now)) = (filter.locked, filter.now) {
        let is_locked = users::locked_at.is_not_null().and(
            users::locked_until
                .is_null()
                .or(users::locked_until.gt(now)),
        );
        query = match locked {
            true => query.filter(is_locked),
            false => query.filter(diesel::dsl::not(is_locked)),
        };
    }
    query
}

/// How many accounts are locked at `now` (for the metrics).
pub fn locked_count(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<i64> {
    filtered(&Filter {
        locked: Some(true),
        now: Some(now),
        ..Filter::default()
    })
    .count()
    .get_result(conn)
}
