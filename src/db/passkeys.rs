//! Queries on `passkeys`: an account's registered WebAuthn credentials.
//!
//! A credential's signature counter moves forward only through [`record_use`], in one
//! conditional update on the stored counter, so two assertions checked at once against the same
//! stored value cannot both move it (the second is refused as a replay).

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::passkeys;
use super::DbConnection;

/// A registered passkey.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    /// The credential id, base64url.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON: public key and counter, no secret.
    pub credential: String,
    pub created_at: PrimitiveDateTime,
    pub last_used_at: Option<PrimitiveDateTime>,
}

/// Stores a new passkey; `Ok(false)` when its credential is registered already (to any account).
pub fn insert(conn: &mut DbConnection, row: &PasskeyRow) -> QueryResult<bool> {
    let insert = diesel::insert_into(passkeys::table).values(row);
    let inserted = match conn {
        DbConnection::Sqlite(c) => insert.on_conflict_do_nothing().execute(c)?,
        DbConnection::Pg(c) => insert.on_conflict_do_nothing().execute(c)?,
    };
    Ok(inserted > 0)
}

/// The account's passkeys, oldest first.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order((passkeys::created_at.asc(), passkeys::id.asc()))
        .select(PasskeyRow::as_select())
        .load(conn)
}

/// How many passkeys the account has.
pub fn count(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// Which of `user_ids` have a passkey.
pub fn among(conn: &mut DbConnection, user_ids: &[String]) -> QueryResult<Vec<String>> {
    passkeys::table
        .filter(passkeys::user_id.eq_any(user_ids))
        .select(passkeys::user_id)
        .distinct()
        .load(conn)
}

/// The account's passkey whose credential id is `credential_id` (base64url).
pub fn find_credential(
    conn: &mut DbConnection,
    user_id: &str,
    credential_id: &str,
) -> QueryResult<Option<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .filter(passkeys::credential_id.eq(credential_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()
}

/// Renames the account's passkey `id`; the row as renamed, `None` when it is not theirs.
pub fn rename(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
    name: &str,
) -> QueryResult<Option<PasskeyRow>> {
    diesel::update(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .set(passkeys::name.eq(name))
    .execute(conn)?;
    passkeys::table
        .filter(passkeys::id.eq(id))
        .filter(passkeys::user_id.eq(user_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()
}

/// Removes the account's passkey `id`; the row removed, `None` when it was not theirs.
pub fn remove(conn: &mut DbConnection, user_id: &str, id: &str) -> QueryResult<Option<PasskeyRow>> {
    let row = passkeys::table
        .filter(passkeys::id.eq(id))
        .filter(passkeys::user_id.eq(user_id))
        .select(PasskeyRow::as_select())
        .get_result(conn)
        .optional()?;
    if row.is_some() {
        diesel::delete(passkeys::table.filter(passkeys::id.eq(id))).execute(conn)?;
    }
    Ok(row)
}

/// Stores the credential as updated by a passing assertion (its counter), if the stored one is
/// still `seen` (what the assertion was checked against); `Ok(false)` when another assertion
/// moved it meanwhile, or the passkey is gone.
pub fn record_use(
    conn: &mut DbConnection,
    id: &str,
    seen: &str,
    updated: &str,
    now: PrimitiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::credential.eq(seen)),
    )
    .set((
        passkeys::credential.eq(updated),
        passkeys::last_used_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n > 0)
}

/// Removes every passkey of the account; how many went.
pub fn delete_for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<usize> {
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)
}
