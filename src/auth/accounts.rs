//! Account creation and login: the steps behind `POST /api/users` and `POST /authenticate`,
//! free of HTTP types so that the admin bootstrap and tests can call them.

use std::net::IpAddr;
use std::time::Instant;

use time::OffsetDateTime;

use super::claims::{Claims, TokenCodec};
use super::password::PasswordHasher;
use super::throttle::LoginThrottle;
use crate::db::{to_db_time, users, Db};
use crate::domain::{Password, Role, Username};
use crate::error::ApiError;

/// Creates the account; `Err(UsernameTaken)` when the name exists.
pub async fn create(
    db: &Db,
    hasher: &PasswordHasher,
    username: &Username,
    password: &Password,
    role: Role,
) -> Result<(), ApiError> {
    let hash = hasher.hash(password).await.map_err(|e| {
        rocket::error!("password hashing failed: {e}");
        ApiError::Internal
    })?;
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

/// What a successful login yields: the signed token and its claims.
pub struct Session {
    pub token: String,
    pub claims: Claims,
}

/// The services a login needs.
pub struct LoginDeps<'a> {
    pub db: &'a Db,
    pub hasher: &'a PasswordHasher,
    pub throttle: &'a LoginThrottle,
    pub codec: &'a TokenCodec,
}

/// Checks the throttle, then the password (an unknown user costs one argon2 verification too,
/// and fails with the same error), and issues a token.
pub async fn login(
    deps: LoginDeps<'_>,
    username: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> Result<Session, ApiError> {
    // A name that cannot exist is looked up as nobody: same path, same cost. Such names share
    // one throttle bucket, so junk input cannot grow the throttle's memory.
    let lookup = Username::parse(username).ok();
    let bucket = lookup
        .as_ref()
        .map(Username::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Err(wait) = deps.throttle.begin(&bucket, addr, Instant::now()) {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let outcome = check_and_issue(&deps, lookup, password).await;
    match &outcome {
        Ok(_) => deps.throttle.succeeded(&bucket, addr),
        Err(ApiError::InvalidCredentials) => {}
        // The store or the hasher failed: that attempt tells nothing about the password.
        Err(_) => deps.throttle.cancel(&bucket, addr),
    }
    outcome
}

async fn check_and_issue(
    deps: &LoginDeps<'_>,
    lookup: Option<Username>,
    password: &str,
) -> Result<Session, ApiError> {
    let user = match lookup {
        Some(name) => {
            deps.db
                .run(move |conn| users::find(conn, name.as_str()))
                .await?
        }
        None => None,
    };
    // An oversized password cannot match; it is verified as empty so its length costs nothing.
    let password = if password.len() <= 1024 { password } else { "" };
    let verified = deps
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(|e| {
            rocket::error!("password verification failed: {e}");
            ApiError::Internal
        })?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(ApiError::InvalidCredentials);
    };
    let (token, claims) = deps
        .codec
        .issue(
            &user.username,
            Role::from_stored(&user.role),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| {
            rocket::error!("token signing failed: {e}");
            ApiError::Internal
        })?;
    Ok(Session { token, claims })
}
