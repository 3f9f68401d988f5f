//! Changes to an account that commit in the writer's transaction, together with the end of
//! the account's sessions, or not at all. One variant per kind of change: a new kind (a lock, a
//! factor removed) is a variant here and an arm in [`AccountChange::apply`].

use diesel::QueryResult;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::db::users::{self, UserRow};
use crate::db::{to_db_time, DbConnection};
use crate::domain::Role;

/// A change to an account, applied to the account's row as read and locked by the writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A new password hash, set only if the account is still the one whose current password
    /// was checked (same id, same generation).
    SetPassword {
        user_id: String,
        generation: i64,
        hash: String,
    },
    /// A new role; demoting the last admin is refused.
    SetRole(Role),
    /// The account goes; removing the last admin is refused.
    Remove,
    /// Every second factor of the account goes (TOTP, recovery codes, pending second steps).
    RemoveFactors,
    /// The account is locked from `at` until `until` (or until unlocked); locking the last
    /// admin who is not locked is refused.
    Lock {
        reason: String,
        at: PrimitiveDateTime,
        until: Option<PrimitiveDateTime>,
    },
}

/// Why an account change or a login's session did not commit (nothing of its job did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No account of that name (or id) exists.
    NotFound,
    /// The change would leave the server without an admin.
    LastAdmin,
    /// The account changed since the caller read it (its generation moved on).
    Changed,
}

impl AccountChange {
    /// Checks, then writes: a refusal leaves the transaction as it found it. May run again
    /// when a group is retried one job at a time.
    pub(super) fn apply(
        &self,
        conn: &mut DbConnection,
        user: &UserRow,
    ) -> QueryResult<Result<(), Refused>> {
        match self {
            Self::SetPassword {
                user_id,
                generation,
                hash,
            } => {
                if user.id != *user_id || user.generation != *generation {
                    return Ok(Err(Refused::Changed));
                }
                users::set_password(conn, &user.id, hash)?;
            }
            Self::SetRole(role) => {
                if *role != Role::Admin && is_last_admin(conn, user)? {
                    return Ok(Err(Refused::LastAdmin));
                }
                users::set_role(conn, &user.id, role.as_str())?;
            }
            Self::Remove => {
                if is_last_admin(conn, user)? {
                    return Ok(Err(Refused::LastAdmin));
                }
                crate::db::mfa_totp::remove_all_factors(conn, &user.id)?;
                users::delete(conn, &user.id)?;
            }
            Self::RemoveFactors => {
                crate::db::mfa_totp::remove_all_factors(conn, &user.id)?;
            }
            Self::Lock { reason, at, until } => {
                if is_last_admin(conn, user)? {
                    return Ok(Err(Refused::LastAdmin));
                }
                users::lock(conn, &user.id, reason, *at, *until)?;
            }
        }
        Ok(Ok(()))
    }
}

/// Whether `user` is an admin and no other admin can log in (none, or all locked): demoting,
/// removing or locking them would leave nobody to unlock the others.
fn is_last_admin(conn: &mut DbConnection, user: &UserRow) -> QueryResult<bool> {
    if Role::from_stored(&user.role) != Role::Admin {
        return Ok(false);
    }
    let now = to_db_time(OffsetDateTime::now_utc());
    let admins = users::unlocked_admins_locked(conn, now)?;
    Ok(admins.iter().all(|a| *a == user.id))
}
