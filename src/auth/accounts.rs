//! Accounts: creation, login, password change, role change and removal; the steps behind
//! `POST /api/users`, `POST /authenticate`, `POST /api/password` and `/api/users/<username>`,
//! free of HTTP types so that the admin bootstrap and tests can call them. A change that must
//! end sessions commits together with their end, through [`Revocation::end_user_sessions`].

use std::net::IpAddr;
use std::time::Instant;

use time::OffsetDateTime;

use uuid::Uuid;

use super::password::{HashError, PasswordHasher};
use super::sessions::{self as session, Issued, SessionDeps};
use super::throttle::{Attempt, LoginThrottle};
use crate::db::{sessions, to_db_time, users, Db};
use crate::domain::{Password, Role, Username};
use crate::error::ApiError;
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
    let created = db
        .run(move |conn| {
            users::create(
                conn,
                &users::NewUser {
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
    let attempt = throttle
        .begin_sign_up(addr, Instant::now())
        .map_err(too_many)?;
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

/// The services a login needs.
pub struct LoginDeps<'a> {
    pub hasher: &'a PasswordHasher,
    pub throttle: &'a LoginThrottle,
    pub sessions: SessionDeps<'a>,
}

/// A login: the new session, and a new device cookie value for the browser.
pub struct LoggedIn {
    pub issued: Issued,
    pub device: String,
}

/// Who is logging in from where: the client's address and the device cookie it presented.
pub struct Client<'a> {
    pub addr: Option<IpAddr>,
    pub device: Option<&'a str>,
    pub user_agent: String,
}

/// Checks the throttle (on the device's own budget when `client` presents a device cookie for
/// `username`), then the password (an unknown user costs one argon2 verification too, and fails
/// with the same error), and starts a session.
pub async fn login(
    deps: LoginDeps<'_>,
    username: &str,
    password: &str,
    client: Client<'_>,
) -> Result<LoggedIn, ApiError> {
    // A name that cannot exist is looked up as nobody: same path, same cost. Such names share
    // one throttle bucket, so junk input cannot grow the throttle's memory.
    let lookup = Username::parse(username).ok();
    let bucket = lookup
        .as_ref()
        .map(Username::as_str)
        .unwrap_or_default()
        .to_owned();
    let attempt = deps
        .throttle
        .begin_login(&bucket, client.addr, client.device, Instant::now())
        .map_err(too_many)?;
    let user = judged(deps.throttle, attempt, async {
        verify(deps.sessions.db, deps.hasher, lookup, password).await
    })
    .await?;
    let issued = session::start(
        &deps.sessions,
        &user.username,
        Role::from_stored(&user.role),
        client.user_agent,
    )
    .await?;
    Ok(LoggedIn {
        issued,
        device: deps.throttle.device_cookie(&user.username),
    })
}

fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError::TooManyRequests {
        retry_after_secs: wait.as_secs().max(1),
    }
}

/// The answer for a hashing job that did not run: a full queue is 503 with `Retry-After`.
fn hashing_failed(e: HashError) -> ApiError {
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
async fn judged<T>(
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

/// The user, if `password` is theirs; `InvalidCredentials` otherwise.
async fn verify(
    db: &Db,
    hasher: &PasswordHasher,
    lookup: Option<Username>,
    password: &str,
) -> Result<users::UserRow, ApiError> {
    let user = match lookup {
        Some(name) => db.run(move |conn| users::find(conn, name.as_str())).await?,
        None => None,
    };
    // An oversized password cannot match; it is verified as empty so its length costs nothing.
    let password = if password.len() <= 1024 { password } else { "" };
    let verified = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(hashing_failed)?;
    user.filter(|_| verified)
        .ok_or(ApiError::InvalidCredentials)
}

/// The caller of a password change: who, the session that goes on, and the token presented.
pub struct Caller<'a> {
    pub username: &'a str,
    pub sid: Option<Uuid>,
    /// The token's id: counts failures in place of a session id for tokens without one.
    pub jti: Uuid,
}

/// Changes the caller's password, ends every other session of theirs in the same transaction,
/// and re-issues the caller's access token (the cut-off refuses the one it presented). Wrong
/// current passwords count per session and per client key, never on the username: a session
/// holder must not be able to lock the owner's logins.
pub async fn change_password(
    deps: LoginDeps<'_>,
    revocation: &Revocation,
    caller: Caller<'_>,
    current: &str,
    new: String,
    addr: Option<IpAddr>,
) -> Result<PasswordChanged, ApiError> {
    let new = Password::parse(new).map_err(ApiError::Unprocessable)?;
    let lookup = Username::parse(caller.username).ok();
    let session = caller.sid.unwrap_or(caller.jti);
    let attempt = deps
        .throttle
        .begin_password_change(session, addr, Instant::now())
        .map_err(too_many)?;
    let user = judged(deps.throttle, attempt, async {
        verify(deps.sessions.db, deps.hasher, lookup, current).await
    })
    .await?;
    let hash = deps.hasher.hash(&new).await.map_err(hashing_failed)?;
    let now = OffsetDateTime::now_utc();
    let access_until =
        to_db_time(now + time::Duration::seconds(deps.sessions.codec.ttl().as_secs() as i64));
    let name = user.username.clone();
    let keep = caller.sid;
    let change: AccountChange = Box::new(move |conn| {
        if users::set_password(conn, &name, &hash)? == 0 {
            return Ok(Err(Refused::NotFound));
        }
        if let Some(sid) = keep {
            sessions::extend_access(conn, &sid.to_string(), access_until)?;
        }
        Ok(Ok(()))
    });
    let sessions_ended = revocation
        .end_user_sessions(&user.username, keep, Some(change))
        .await?
        .map_err(|_| ApiError::Unauthorized("the account no longer exists"))?;
    let role = Role::from_stored(&user.role);
    let (access_token, _) = deps
        .sessions
        .codec
        .issue(&user.username, role, keep, now)
        .map_err(|e| {
            rocket::error!("token signing failed: {e}");
            ApiError::Internal
        })?;
    Ok(PasswordChanged {
        access_token,
        sessions_ended,
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
    let name = username.to_owned();
    let account: AccountChange = Box::new(move |conn| {
        let Some(user) = users::find(conn, &name)? else {
            return Ok(Err(Refused::NotFound));
        };
        let stays_admin = change == AdminChange::SetRole(Role::Admin);
        if Role::from_stored(&user.role) == Role::Admin && !stays_admin {
            // Locked on PostgreSQL: two admins demoting each other at once cannot both pass.
            let admins = users::admins_locked(conn)?;
            if admins.iter().all(|a| *a == name) {
                return Ok(Err(Refused::Conflict(
                    "this is the last admin: promote another user first",
                )));
            }
        }
        match change {
            AdminChange::SetRole(role) => users::set_role(conn, &name, role.as_str())?,
            AdminChange::Remove => users::delete(conn, &name)?,
        };
        Ok(Ok(()))
    });
    match revocation
        .end_user_sessions(username, None, Some(account))
        .await?
    {
        Ok(ended) => Ok(ended),
        Err(Refused::NotFound) => Err(ApiError::NotFound("no such user")),
        Err(Refused::Conflict(why)) => Err(ApiError::Conflict(why)),
    }
}
