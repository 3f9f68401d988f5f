//! What an admin does to other accounts: list and look them up, change a role, remove, lock
//! and unlock; the steps behind `/api/users` and `/api/users/<username>/...`, free of HTTP.
//!
//! Every change that takes something away (a role, the account, the right to log in) commits
//! through the revocation writer with the end of the account's sessions, the move of its
//! generation (so a login in flight cannot commit after it) and its audit event, in one
//! transaction. An unlock takes nothing away and commits with its event alone.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::{OffsetDateTime, PrimitiveDateTime};
use utoipa::ToSchema;

use super::error::AuthError;
use super::mfa::Method;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::users::{self, Filter, UserRow};
use crate::db::{
    audit_events, from_db_time, mfa_totp, passkeys, sessions, to_db_time, write_transaction, Db,
};
use crate::domain::{Password, Role, Username};
use crate::revocation::AccountChange;

/// Who acts as the admin (an admin account over HTTP, or the operator at the command line),
/// and from where.
pub struct Admin {
    pub actor: Actor,
    pub source: Source,
}

impl Admin {
    /// The admin account `username`, from `source`.
    pub fn named(username: &str, source: Source) -> Self {
        Self {
            actor: Actor::Named(username.to_owned()),
            source,
        }
    }

    /// The operator at the server's command line.
    pub fn cli() -> Self {
        Self {
            actor: Actor::Cli,
            source: Source::default(),
        }
    }

    fn event(&self, kind: Kind) -> Event {
        Event::new(kind, self.actor.clone(), self.source.clone())
    }
}

// The body of `GET /api/users/<name>` and each item of `GET /api/users`, which the command
// line's `user show --json` and `user list --json` print as well: one shape, defined once.
/// An account as the console shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserAccount)]
pub struct Account {
    pub username: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
    /// Whether the account is locked now.
    pub locked: bool,
    /// When the lock ends by itself; `null` while locked means until an admin unlocks.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<OffsetDateTime>,
    pub lock_reason: Option<String>,
    /// Sessions live now.
    pub live_sessions: i64,
    /// The account's second factors (`totp`, `passkey`), empty without one.
    #[schema(value_type = Vec<FactorName>)]
    pub mfa: Vec<&'static str>,
}

/// A kind of second factor (schema only).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum FactorName {
    Totp,
    Passkey,
}

impl Account {
    /// `factors`: whether the account has TOTP on, and a passkey.
    fn from_row(
        row: UserRow,
        live_sessions: i64,
        factors: (bool, bool),
        now: PrimitiveDateTime,
    ) -> Self {
        let locked = row.locked_at(now);
        let named = [(factors.0, Method::Totp), (factors.1, Method::Passkey)];
        Self {
            mfa: named
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, m)| m.as_str())
                .collect(),
            role: Role::from_stored(&row.role),
            created_at: from_db_time(row.created_at),
            last_login_at: row.last_login_at.map(from_db_time),
            locked_until: row.locked_until.filter(|_| locked).map(from_db_time),
            lock_reason: row.lock_reason.filter(|_| locked),
            locked,
            live_sessions,
            username: row.username,
        }
    }
}

/// What a listing selects.
pub struct Query {
    pub name_contains: Option<String>,
    pub role: Option<Role>,
    pub locked: Option<bool>,
    pub limit: u32,
    pub offset: u64,
}

/// One page of accounts by name, and how many the query selects in all.
pub async fn list(db: &Db, query: Query) -> Result<(Vec<Account>, i64), AuthError> {
    let now = to_db_time(OffsetDateTime::now_utc());
    let filter = Filter {
        name_contains: query.name_contains,
        role: query.role.map(|r| r.as_str().to_owned()),
        locked: query.locked,
        now: Some(now),
    };
    let limit = i64::from(query.limit);
    let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
    let (rows, total, counts) = db
        .run(move |conn| {
            let (rows, total) = users::list(conn, &filter, limit, offset)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let counts = sessions::live_counts(conn, &ids, now)?;
            let totp = mfa_totp::confirmed_among(conn, &ids)?;
            let passkeys = passkeys::among(conn, &ids)?;
            Ok((rows, total, (counts, totp, passkeys)))
        })
        .await?;
    let (counts, totp, passkeys) = counts;
    let counts: HashMap<String, i64> = counts.into_iter().collect();
    let totp: HashSet<String> = totp.into_iter().collect();
    let passkeys: HashSet<String> = passkeys.into_iter().collect();
    let accounts = rows
        .into_iter()
        .map(|row| {
            let live = counts.get(&row.id).copied().unwrap_or(0);
            let factors = (totp.contains(&row.id), passkeys.contains(&row.id));
            Account::from_row(row, live, factors, now)
        })
        .collect();
    Ok((accounts, total))
}

/// How many accounts are locked now.
pub async fn locked_count(app: &App) -> Result<i64, AuthError> {
    let now = to_db_time(OffsetDateTime::now_utc());
    Ok(app
        .db
        .run(move |conn| users::locked_count(conn, now))
        .await?)
}

/// The account called `username` (any case).
pub async fn get(db: &Db, username: &str) -> Result<Account, AuthError> {
    let name = Username::parse(username).map_err(|_| AuthError::NoSuchUser)?;
    let now = to_db_time(OffsetDateTime::now_utc());
    let found = db
        .run(move |conn| {
            let Some(row) = users::find(conn, name.as_str())? else {
                return Ok(None);
            };
            let ids = std::slice::from_ref(&row.id);
            let counts = sessions::live_counts(conn, ids, now)?;
            let totp = !mfa_totp::confirmed_among(conn, ids)?.is_empty();
            let passkey = !passkeys::among(conn, ids)?.is_empty();
            Ok(Some((
                row,
                counts.first().map_or(0, |c| c.1),
                (totp, passkey),
            )))
        })
        .await?;
    let (row, live, factors) = found.ok_or(AuthError::NoSuchUser)?;
    Ok(Account::from_row(row, live, factors, now))
}

/// What an admin does to an account; each ends every session of the user at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    SetRole(Role),
    Remove,
}

/// Applies `change` to `username` and ends all their sessions, in one transaction with its
/// event. Refuses to leave the server without an admin. Returns how many sessions ended.
pub async fn administer(
    app: &App,
    admin: Admin,
    username: &str,
    change: AdminChange,
) -> Result<usize, AuthError> {
    let (account, event) = match change {
        AdminChange::SetRole(role) => (
            AccountChange::SetRole(role),
            admin.event(Kind::RoleChanged).with("role", role.as_str()),
        ),
        AdminChange::Remove => (AccountChange::Remove, admin.event(Kind::UserDeleted)),
    };
    let outcome = app
        .revocation
        .end_user_sessions(username, None, Some(account), event)
        .await
        .map_err(AuthError::from_change)?;
    Ok(outcome.sessions_ended)
}

/// Removes every second factor of `username` and ends all their sessions, in one transaction
/// with the `mfa.disabled` event (for an account that had none, the sessions still end: the
/// admin asked for a clean slate). Returns how many sessions ended.
pub async fn remove_factors(app: &App, admin: Admin, username: &str) -> Result<usize, AuthError> {
    let event = admin.event(Kind::MfaDisabled).with("method", "all");
    let outcome = app
        .revocation
        .end_user_sessions(username, None, Some(AccountChange::RemoveFactors), event)
        .await
        .map_err(AuthError::from_change)?;
    Ok(outcome.sessions_ended)
}

/// Gives `username` the password `new` (an operator's reset: no current password is asked)
/// and ends every session of theirs, in one transaction with its `password.changed` event.
/// The hash is set only if the account has not changed since it was read (else
/// `AccountChanged`, and nothing is). Returns how many sessions ended.
pub async fn set_password(
    app: &App,
    admin: Admin,
    username: &str,
    new: &Password,
) -> Result<usize, AuthError> {
    let name = Username::parse(username).map_err(|_| AuthError::NoSuchUser)?;
    let user = super::accounts::find(&app.db, Some(name))
        .await?
        .ok_or(AuthError::NoSuchUser)?;
    let hash = app
        .hasher
        .hash(new)
        .await
        .map_err(super::accounts::hashing_failed)?;
    let change = AccountChange::SetPassword {
        user_id: user.id.clone(),
        generation: user.generation,
        hash,
    };
    let event = admin.event(Kind::PasswordChanged);
    let outcome = app
        .revocation
        .end_user_sessions(&user.username, None, Some(change), event)
        .await
        .map_err(AuthError::from_change)?;
    Ok(outcome.sessions_ended)
}

/// A lock as committed.
pub struct Locked {
    pub username: String,
    pub locked_until: Option<OffsetDateTime>,
    pub sessions_ended: usize,
}

/// Locks `username` until `until` (or until unlocked) for `reason`, ending every session of
/// theirs on every instance in the same transaction. Refused for the last admin who can log in.
pub async fn lock(
    app: &App,
    admin: Admin,
    username: &str,
    reason: String,
    until: Option<OffsetDateTime>,
) -> Result<Locked, AuthError> {
    let now = OffsetDateTime::now_utc();
    if until.is_some_and(|until| until <= now) {
        return Err(AuthError::Invalid("`until` must be in the future".into()));
    }
    let mut event = admin
        .event(Kind::UserLocked)
        .with("reason", reason.as_str());
    if let Some(until) = until.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        event = event.with("until", until);
    }
    let change = AccountChange::Lock {
        reason,
        at: to_db_time(now),
        until: until.map(to_db_time),
    };
    let outcome = app
        .revocation
        .end_user_sessions(username, None, Some(change), event)
        .await
        .map_err(AuthError::from_change)?;
    let username = outcome
        .account
        .map_or_else(|| username.to_owned(), |(_, name)| name);
    Ok(Locked {
        username,
        locked_until: until.map(|t| from_db_time(to_db_time(t))),
        sessions_ended: outcome.sessions_ended,
    })
}

/// Lifts the lock of `username` (whether or not there is one), with its event; returns the name
/// as stored.
pub async fn unlock(app: &App, admin: Admin, username: &str) -> Result<String, AuthError> {
    let name = Username::parse(username).map_err(|_| AuthError::NoSuchUser)?;
    let event = admin.event(Kind::UserUnlocked);
    let unlocked = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(user) = users::find(conn, name.as_str())? else {
                    return Ok(None);
                };
                users::unlock(conn, &user.id)?;
                let now = OffsetDateTime::now_utc();
                let event = event.about(&user.username, &user.id);
                audit_events::insert(conn, &event.row(now))?;
                Ok(Some(user.username))
            })
        })
        .await?;
    let username = unlocked.ok_or(AuthError::NoSuchUser)?;
    app.metrics.audit_events(Kind::UserUnlocked, 1);
    Ok(username)
}
