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
