//! Queries on `users`.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use time::PrimitiveDateTime;

use super::schema::users;
use super::DbConnection;

/// A stored account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at: PrimitiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: PrimitiveDateTime,
}

pub fn find(conn: &mut DbConnection, name: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(name)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts the user; `Ok(false)` when the name is already taken (also under a race).
pub fn create(conn: &mut DbConnection, user: &NewUser<'_>) -> QueryResult<bool> {
    match diesel::insert_into(users::table).values(user).execute(conn) {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn set_password(conn: &mut DbConnection, name: &str, hash: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(name))
        .set(users::password_hash.eq(hash))
        .execute(conn)
}

pub fn set_role(conn: &mut DbConnection, name: &str, role: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(name))
        .set(users::role.eq(role))
        .execute(conn)
}

pub fn delete(conn: &mut DbConnection, name: &str) -> QueryResult<usize> {
    diesel::delete(users::table.find(name)).execute(conn)
}

/// The admins' names. On PostgreSQL their rows stay locked until the transaction ends, so that
/// concurrent demotions are decided one after the other (SQLite has one writer anyway).
pub fn admins_locked(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let admins = users::table
        .filter(users::role.eq("admin"))
        .select(users::username);
    match conn {
        DbConnection::Pg(c) => admins.for_update().load(c),
        DbConnection::Sqlite(c) => admins.load(c),
    }
}
