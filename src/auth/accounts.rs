//! Accounts: creation, sign-up, password change, role change and removal; the steps behind
//! `POST /api/users`, `POST /api/password` and `/api/users/<username>`, free of HTTP types so
//! that the admin bootstrap and tests can call them. A change that must end sessions commits
//! together with their end, through [`Revocation::end_user_sessions`], which also moves the
//! account's generation on: a login whose password check began before it cannot commit.

use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

use super::claims::Subject;
use super::error::{AuthError, Throttled};
use super::password::{HashError, PasswordHasher};
use super::throttle::{Attempt, LoginThrottle};
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::users::{self, UserRow};
use crate::db::{audit_events, to_db_time, write_transaction, Db};
use crate::domain::{Password, Role, Username};
use crate::revocation::{AccountChange, ChangeError, Refused};

/// Creates the account, with its `user.created` event in the same transaction (`by`: who
/// created it, from where); `Err(UsernameTaken)` when the name exists.
pub async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    username: &Username,
    password: &Password,
    role: Role,
    by: (Actor, Source),
) -> Result<(), AuthError> {
    let hash = hasher.hash(password).await.map_err(hashing_failed)?;
    let name = username.as_str().to_owned();
    let now = OffsetDateTime::now_utc();
    let id = Uuid::new_v4().to_string();
    let event = Event::new(Kind::UserCreated, by.0, by.1)
        .about(&name, &id)
        .with("role", role.as_str());
    let created = db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let created = users::create(
                    conn,
                    &users::NewUser {
                        id: &id,
                        username: &name,
                        password_hash: &hash,
                        role: role.as_str(),
                        created_at: to_db_time(now),
                    },
                )?;
                if created {
                    audit_events::insert(conn, &event.row(now))?;
                }
                Ok(created)
            })
        })
        .await?;
    if created {
        Ok(())
    } else {
        Err(AuthError::UsernameTaken)
    }
}

/// A sign-up from `addr`: counted per client key whatever its outcome (but given back when the
/// server was too busy to try), then the account is created with the `user` role.
pub async fn sign_up(
    app: &App,
    source: Source,
    username: &str,
    password: String,
) -> Result<Username, AuthError> {
    let addr = source.ip;
    let throttle = &app.throttle;
    let _slot = throttle
        .in_flight(addr)
        .map_err(|wait| throttled(Throttled::InFlight, wait))?;
    let attempt = throttle
        .begin_sign_up(addr, Instant::now())
        .map_err(|wait| throttled(Throttled::SignUps, wait))?;
    let created: Result<Username, AuthError> = async {
        let username = Username::parse(username).map_err(AuthError::Invalid)?;
        let password = Password::parse(password).map_err(AuthError::Invalid)?;
        let by = (Actor::Subject, source);
        create(&app.db, &app.hasher, &username, &password, Role::User, by).await?;
        app.metrics.audit_events(Kind::UserCreated, 1);
        Ok(username)
    }
    .await;
    match &created {
        Err(e) if e.untried() => throttle.cancel(attempt),
        _ => throttle.succeeded(attempt),
    }
    created
}

/// A limit refused the attempt.
pub(super) fn throttled(limit: Throttled, wait: std::time::Duration) -> AuthError {
    AuthError::Throttled { limit, wait }
}

/// A hashing job that did not run: a full queue says nothing about the password.
pub(super) fn hashing_failed(e: HashError) -> AuthError {
    match e {
        HashError::Busy => AuthError::Busy,
        e => {
            log::error!("password hashing failed: {e}");
            AuthError::Internal
        }
    }
}

/// Settles an admitted attempt by the outcome of its password (or second factor's) check: a
/// wrong password or code, or a refused passkey, counts as a failure; any other error (a full hashing queue, the store
/// down) tells nothing about the password and is given back.
pub(super) async fn judged<T>(
    throttle: &LoginThrottle,
    attempt: Attempt,
    check: impl std::future::Future<Output = Result<T, AuthError>>,
) -> Result<T, AuthError> {
    let (value, attempt) = judged_pending(throttle, attempt, check).await?;
    throttle.succeeded(attempt);
    Ok(value)
}

/// As [`judged`], but a right answer leaves the attempt to the caller: a right password that
/// only opens a second step must not clear this client's failures (wrong codes count there),
/// so the login gives it back and the second step settles its own.
pub(super) async fn judged_pending<T>(
    throttle: &LoginThrottle,
    attempt: Attempt,
    check: impl std::future::Future<Output = Result<T, AuthError>>,
) -> Result<(T, Attempt), AuthError> {
    match check.await {
        Ok(value) => Ok((value, attempt)),
        Err(
            e @ (AuthError::InvalidCredentials
            | AuthError::InvalidCode { .. }
            | AuthError::PasskeyRefused),
        ) => Err(e),
        Err(e) => {
            throttle.cancel(attempt);
            Err(e)
        }
    }
}

/// The account called `name` (whatever its case), if any.
pub(super) async fn find(db: &Db, name: Option<Username>) -> Result<Option<UserRow>, AuthError> {
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
) -> Result<UserRow, AuthError> {
    // An oversized password cannot match; it is verified as empty so its length costs nothing.
    let password = if password.len() <= 1024 { password } else { "" };
    let verified = hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(hashing_failed)?;
    user.filter(|_| verified)
        .ok_or(AuthError::InvalidCredentials)
}

/// The caller of a password change: who, and the session that goes on.
pub struct Caller<'a> {
    pub username: &'a str,
    pub sid: Uuid,
}

/// Changes the caller's password, ends every other session of theirs and voids their device
/// cookies in the same transaction, and re-issues the caller's access token (the cut-off
/// refuses the one it presented). The new password is set only if the account has not changed
/// since the current one was checked. Wrong current passwords count per session and per client
/// key, never on the username: a session holder must not be able to lock the owner's logins.
pub async fn change_password(
    app: &App,
    caller: Caller<'_>,
    current: &str,
    new: String,
    source: Source,
) -> Result<PasswordChanged, AuthError> {
    let new = Password::parse(new).map_err(AuthError::Invalid)?;
    let user = verify_current(app, &caller, current, source.ip).await?;
    let hash = app.hasher.hash(&new).await.map_err(hashing_failed)?;
    let change = AccountChange::SetPassword {
        user_id: user.id.clone(),
        generation: user.generation,
        hash,
    };
    let keep = caller.sid;
    let event = Event::new(Kind::PasswordChanged, Actor::Subject, source).session(keep);
    let outcome = app
        .revocation
        .end_user_sessions(&user.username, Some(keep), Some(change), event)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(Refused::NotFound) => AuthError::AccountGone,
            e => AuthError::from_change(e),
        })?;
    let subject = Subject {
        uid: account_uid(&user.id)?,
        username: &user.username,
        role: Role::from_stored(&user.role),
    };
    let jti = outcome.reissued.unwrap_or_else(Uuid::now_v7);
    // The new token ends with the session, as every token of the session does.
    let sid = keep.to_string();
    let started = app
        .db
        .run(move |conn| crate::db::sessions::started(conn, &sid))
        .await?;
    let remember = started.is_none_or(|(_, remember)| remember);
    let until = started.and_then(|(created_at, remember)| {
        (app.config.lifetime).ends_at(crate::db::from_db_time(created_at), remember)
    });
    let (access_token, claims) = app
        .codec
        .issue_until(subject, keep, jti, OffsetDateTime::now_utc(), until)
        .map_err(signing_failed)?;
    Ok(PasswordChanged {
        access_token,
        sessions_ended: outcome.sessions_ended,
        cookie_max_age: remember.then(|| time::Duration::seconds(claims.exp - claims.iat)),
    })
}

/// The caller's account, if `current` is its password. Wrong passwords count per session and
/// per client key, never on the username: a session holder must not be able to lock the
/// owner's logins.
pub(super) async fn verify_current(
    app: &App,
    caller: &Caller<'_>,
    current: &str,
    addr: Option<std::net::IpAddr>,
) -> Result<UserRow, AuthError> {
    let lookup = Username::parse(caller.username).ok();
    let _slot = app
        .throttle
        .in_flight(addr)
        .map_err(|wait| throttled(Throttled::InFlight, wait))?;
    let attempt = app
        .throttle
        .begin_password_change(caller.sid, addr, Instant::now())
        .map_err(|wait| throttled(Throttled::Failures, wait))?;
    judged(&app.throttle, attempt, async {
        check_password(&app.hasher, find(&app.db, lookup).await?, current).await
    })
    .await
}

/// An account id as stored: always a UUID (written by [`create`] or the migration that added
/// ids); anything else is a broken row, logged here.
pub(super) fn account_uid(stored: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(stored).map_err(|e| {
        log::error!("an account id in the database is not a UUID: {e}");
        AuthError::Internal
    })
}

/// A token that could not be signed: logged here, answered as an internal failure.
pub(super) fn signing_failed(e: jsonwebtoken::errors::Error) -> AuthError {
    log::error!("token signing failed: {e}");
    AuthError::Internal
}

/// A changed password: the caller's re-issued access token, and how many other sessions ended.
pub struct PasswordChanged {
    pub access_token: String,
    pub sessions_ended: usize,
    /// How long the new token lives, when the session is remembered (its cookie lasts as
    /// long); `None` for a session whose cookies end with the browser.
    pub cookie_max_age: Option<time::Duration>,
}

/// Logout everywhere: ends every session of `username` and refuses every token issued to them
/// so far. Returns how many sessions ended.
pub async fn logout_everywhere(
    app: &App,
    username: &str,
    sid: Uuid,
    source: Source,
) -> Result<usize, AuthError> {
    let event = Event::new(Kind::LogoutAll, Actor::Subject, source).session(sid);
    let outcome = app
        .revocation
        .end_user_sessions(username, None, None, event)
        .await
        .map_err(|e| match e {
            ChangeError::Refused(_) => AuthError::AccountGone,
            e => AuthError::from_change(e),
        })?;
    Ok(outcome.sessions_ended)
}
