//! Accounts: creation, password change, role change and removal; the steps behind
//! `POST /api/users`, `POST /api/password` and `/api/users/<username>`, free of HTTP types so
//! that the admin bootstrap and tests can call them. A change that must end sessions commits
//! together with their end, through [`Revocation::end_user_sessions`], which also moves the
//! account's generation on: a login whose password check began before it cannot commit.

use std::net::IpAddr;
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::claims::{Subject, TokenCodec};
use super::password::{HashError, PasswordHasher};
use super::throttle::{Attempt, LoginThrottle};
use crate::db::users::{self, UserRow};
use crate::db::{to_db_time, Db};
use crate::domain::{Password, Role, Username};
use crate::error::{ApiError, Throttled};
use crate::revocation::{AccountChange, Refused, Revocation};

/// Creates the account; `Err(UsernameTaken)` when the name exists.
pub async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    username: &Username,
    password: &Password,
    role: Role,
) -> Result<(), ApiError> {
    let hash = hasher.hash(password).await.map_err(hashing_failed)?;
    let name = username.as_str().to_owned();
    let created_at = to_db_time(OffsetDateTime::now_utc());
    let id = Uuid::new_v4().to_string();
    let created = db
        .run(move |conn| {
            users::create(
                conn,
                &users::NewUser {
                    id: &id,
                    username: &name,
                    password_hash: &hash,
                    role: role.as_str(),
                    created_at,
                },
            )
        })
        .await?;
    if created {
        Ok(())
    } else {
        Err(ApiError::UsernameTaken)
    }
}

/// A sign-up from `addr`: counted per client key whatever its outcome (but given back when the
/// server was too busy to try), then the account is created with the `user` role.
pub async fn sign_up(
    db: &Db,
    hasher: &PasswordHasher,
    throttle: &LoginThrottle,
    addr: Option<IpAddr>,
    username: &str,
    password: String,
) -> Result<Username, ApiError> {
    let _slot = throttle.in_flight(addr).map_err(too_many_in_flight)?;
    let attempt = throttle
        .begin_sign_up(addr, Instant::now())
        .map_err(|wait| ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
            reason: Throttled::SignUps,
        })?;
    let created = async {
        let username = Username::parse(username).map_err(ApiError::Unprocessable)?;
        let password = Password::parse(password).map_err(ApiError::Unprocessable)?;
        create(db, hasher, &username, &password, Role::User).await?;
        Ok(username)
    }
    .await;
    match created {
        Err(ApiError::Busy { .. } | ApiError::Unavailable) => throttle.cancel(attempt),
        _ => throttle.succeeded(attempt),
    }
    created
}

pub(super) fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
        reason: Throttled::Failures,
    }
}

/// A client with too many password checks in flight: 429 at once, before any work.
pub(super) fn too_many_in_flight(wait: std::time::Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
        reason: Throttled::InFlight,
    }
}

/// The answer for a hashing job that did not run: a full queue is 503 with `Retry-After`.
pub(super) fn hashing_failed(e: HashError) -> ApiError {
    match e {
        HashError::Busy => ApiError::Busy {
            retry_after_secs: 1,
        },
        e => {
            rocket::error!("password hashing failed: {e}");
            ApiError::Internal
        }
    }
}

/// Settles an admitted attempt by the outcome of its password check: a wrong password counts
/// as a failure; any other error (a full hashing queue, the store down) tells nothing about
/// the password and is given back.
pub(super) async fn judged<T>(
    throttle: &LoginThrottle,
    attempt: Attempt,
    check: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let outcome = check.await;
    match &outcome {
        Ok(_) => throttle.succeeded(attempt),
        Err(ApiError::InvalidCredentials) => {}
        Err(_) => throttle.cancel(attempt),
    }
    outcome
}

/// The account called `name` (whatever its case), if any.
pub(super) async fn find(db: &Db, name: Option<Username>) -> Result<Option<UserRow>, ApiError> {
    match name {
        Some(name) => Ok(db.run(move |conn| users::find(conn, name.as_str())).await?),
        None => Ok(None),
    }
}

/// The user, if `password` is theirs; `InvalidCredentials` otherwise. An unknown user costs one
/// argon2 verification too.
pub(super) async fn check_password(
    hasher: &PasswordHasher,
    user: Option<UserRow>,
    password: &str,
) -> Result<UserRow, ApiError> {
    // An oversized password cannot match; it is verified as empty so its length costs nothing.
    let password = if password.len() <= 1024 { password } else { "" };
    let verified = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(hashing_failed)?;
    user.filter(|_| verified)
        .ok_or(ApiError::InvalidCredentials)
}

/// The answer for an account change or login that the database refused.
pub(super) fn refused(why: Refused) -> ApiError {
    match why {
        Refused::NotFound => ApiError::NotFound("no such user"),
        Refused::Conflict(why) => ApiError::Conflict(why),
        Refused::Changed => {
            ApiError::Conflict("the account changed while this request was checked; try again")
        }
    }
}

/// The caller of a password change: who, the session that goes on, and the token presented.
pub struct Caller<'a> {
    pub username: &'a str,
    pub sid: Option<Uuid>,
    /// The token's id: counts failures in place of a session id for tokens without one.
    pub jti: Uuid,
}

/// What a password change needs.
pub struct PasswordDeps<'a> {
    pub hasher: &'a PasswordHasher,
    pub throttle: &'a LoginThrottle,
    pub db: &'a Db,
    pub codec: &'a TokenCodec,
    pub revocation: &'a Revocation,
}

/// Changes the caller's password, ends every other session of theirs and voids their device
/// cookies in the same transaction, and re-issues the caller's access token (the cut-off
/// refuses the one it presented). The new password is set only if the account has not changed
/// since the current one was checked. Wrong current passwords count per session and per client
/// key, never on the username: a session holder must not be able to lock the owner's logins.
pub async fn change_password(
    deps: PasswordDeps<'_>,
    caller: Caller<'_>,
    current: &str,
    new: String,
    addr: Option<IpAddr>,
) -> Result<PasswordChanged, ApiError> {
    let new = Password::parse(new).map_err(ApiError::Unprocessable)?;
    let lookup = Username::parse(caller.username).ok();
    let session = caller.sid.unwrap_or(caller.jti);
    let _slot = deps.throttle.in_flight(addr).map_err(too_many_in_flight)?;
    let attempt = deps
        .throttle
        .begin_password_change(session, addr, Instant::now())
        .map_err(too_many)?;
    let user = judged(deps.throttle, attempt, async {
        check_password(deps.hasher, find(deps.db, lookup).await?, current).await
    })
    .await?;
    let hash = deps.hasher.hash(&new).await.map_err(hashing_failed)?;
    let (id, generation) = (user.id.clone(), user.generation);
    let change: AccountChange = Box::new(move |conn, current| {
        if current.id != id || current.generation != generation {
            return Ok(Err(Refused::Changed));
        }
        users::set_password(conn, &current.id, &hash)?;
        Ok(Ok(()))
    });
    let keep = caller.sid;
    let outcome = deps
        .revocation
        .end_user_sessions(&user.username, keep, Some(change))
        .await?
        .map_err(|why| match why {
            Refused::NotFound => ApiError::Unauthorized("the account no longer exists"),
            why => refused(why),
        })?;
    let subject = Subject {
        uid: Uuid::parse_str(&user.id).ok(),
        username: &user.username,
        role: Role::from_stored(&user.role),
    };
    let jti = outcome.reissued.unwrap_or_else(Uuid::now_v7);
    let (access_token, _) = deps
        .codec
        .issue_with_id(subject, keep, jti, OffsetDateTime::now_utc())
        .map_err(|e| {
            rocket::error!("token signing failed: {e}");
            ApiError::Internal
        })?;
    Ok(PasswordChanged {
        access_token,
        sessions_ended: outcome.sessions_ended,
    })
}

/// A changed password: the caller's re-issued access token, and how many other sessions ended.
pub struct PasswordChanged {
    pub access_token: String,
    pub sessions_ended: usize,
}

/// What an admin does to an account; both end every session of the user at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    SetRole(Role),
    Remove,
}

/// Applies `change` to `username` and ends all their sessions, in one transaction. Refuses
/// to leave the server without an admin. Returns how many sessions ended.
pub async fn administer(
    revocation: &Revocation,
    username: &str,
    change: AdminChange,
) -> Result<usize, ApiError> {
    let account: AccountChange = Box::new(move |conn, user: &UserRow| {
        let stays_admin = change == AdminChange::SetRole(Role::Admin);
        if Role::from_stored(&user.role) == Role::Admin && !stays_admin {
            let admins = users::admins_locked(conn)?;
            if admins.iter().all(|a| *a == user.id) {
                return Ok(Err(Refused::Conflict(
                    "this is the last admin: promote another user first",
                )));
            }
        }
        match change {
            AdminChange::SetRole(role) => users::set_role(conn, &user.id, role.as_str())?,
            AdminChange::Remove => users::delete(conn, &user.id)?,
        };
        Ok(Ok(()))
    });
    let outcome = revocation
        .end_user_sessions(username, None, Some(account))
        .await?
        .map_err(refused)?;
    Ok(outcome.sessions_ended)
}
