//! A login, the steps behind `POST /authenticate`, free of HTTP types.
//!
//! The order matters: the client's slot for password checks, the throttle (trusted only for a
//! device the account still lists), the password check (argon2, on the account as read before
//! it), then the session, committed only if the account has not changed since it was read. A
//! password change, role change, removal or logout everywhere that commits while the password
//! is being checked therefore stops the login, rather than being outlived by it.
//!
//! Each outcome leaves its audit event: a success in the transaction of its session, a failure
//! one row, a refusal by the throttle a count (see [`crate::audit::floods`]). A locked account
//! is told so only after its password was proved; a wrong password is the same failure as for
//! any other account.

use std::net::IpAddr;
use std::time::Instant;

use super::accounts::{check_password, find, judged_pending, throttled};
use super::device::{DeviceKey, Nonce};
use super::error::{AuthError, Throttled};
use super::mfa::challenge::{self, Pending};
use super::mfa::Factors;
use super::session_tokens::{self, Issued, LoginBy};
use super::throttle::Attempt;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::{audit_events, devices, to_db_time, users, Db};
use crate::domain::Username;
use time::OffsetDateTime;

/// Where a right password leads: a session, or a second step for an account with a factor.
pub enum Step {
    LoggedIn(LoggedIn),
    SecondFactor(Pending),
}

/// A login: the new session, and the device cookie value for the browser.
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

/// Checks the throttle (on the device's own budget when `client` presents a device cookie the
/// account still lists), then the password (an unknown user costs one argon2 verification too,
/// and fails with the same error), and starts a session; or, for an account with a second
/// factor, opens its challenge (see [`crate::auth::mfa::challenge`]) and starts nothing yet.
/// `remember` ("keep me signed in"): persistent cookies and `session_max_lifetime`; without it,
/// cookies that end with the browser and `session_max_lifetime_unremembered`. A second step
/// keeps the choice made here.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    client: Client<'_>,
    remember: bool,
) -> Result<Step, AuthError> {
    let throttle = &app.throttle;
    // A name that cannot exist is looked up as nobody: same path, same cost. Such names share
    // one throttle bucket, so junk input cannot grow the throttle's memory. Names are counted
    // and devices bound whatever the case they are typed in.
    let lookup = Username::parse(username).ok();
    let bucket = lookup
        .as_ref()
        .map(|u| u.as_str().to_ascii_lowercase())
        .unwrap_or_default();
    let _slot = throttle
        .in_flight(client.addr)
        .map_err(|wait| refused(app, client.addr, &bucket, Throttled::InFlight, wait))?;
    let signed = client
        .device
        .and_then(|d| throttle.device_nonce(d, &bucket));
    let db = &app.db;
    // Only a cookie this server signed costs a lookup before the throttle: whether the account
    // still lists the device decides which budget the attempt counts on.
    let (user, trusted) = match signed {
        Some(nonce) => trusted_lookup(db, lookup.clone(), nonce).await?,
        None => (None, None),
    };
    let attempt = admit(app, client.addr, &bucket, trusted)?;
    let source = Source {
        ip: client.addr,
        user_agent: Some(client.user_agent.clone()),
    };
    // The account the password was checked against, if any: its owner sees the failure among
    // their own events.
    let mut known = None;
    let checked = judged_pending(throttle, attempt, async {
        let user = match (signed, user) {
            (Some(_), user) => user,
            (None, _) => find(db, lookup.clone()).await?,
        };
        known = user.as_ref().map(|u| (u.username.clone(), u.id.clone()));
        check_password(&app.hasher, user, password).await
    })
    .await;
    let (user, attempt) = match checked {
        Err(AuthError::InvalidCredentials) => {
            let event = Event::new(Kind::LoginFailed, Actor::Subject, source)
                .with("reason", "invalid_credentials");
            let event = match (&known, &lookup) {
                (Some((name, id)), _) => event.about(name, id),
                (None, Some(typed)) => event.named(typed.as_str()),
                (None, None) => event,
            };
            record_failure(app, event).await;
            return Err(AuthError::InvalidCredentials);
        }
        other => other?,
    };
    let methods = {
        let id = user.id.clone();
        db.run(move |conn| Factors::read(conn, &id)).await
    };
    let methods = match methods {
        Ok(factors) => factors.methods(),
        Err(e) => {
            throttle.cancel(attempt);
            return Err(e.into());
        }
    };
    if methods.is_empty() {
        throttle.succeeded(attempt);
    } else {
        // The password alone is not a login: this client's failures stand until a code passes.
        throttle.cancel(attempt);
    }
    if user.locked_at(to_db_time(OffsetDateTime::now_utc())) {
        return Err(refuse_locked(app, &user, source).await);
    }
    if !methods.is_empty() {
        return Ok(Step::SecondFactor(
            challenge::begin(app, &user, methods, remember).await?,
        ));
    }
    // The browser stays one device: the presented one when its cookie is ours, else a new one.
    let nonce = signed.unwrap_or_else(DeviceKey::new_nonce);
    let issued =
        session_tokens::start(app, &user, source, &nonce, LoginBy::Password, remember).await?;
    Ok(Step::LoggedIn(LoggedIn {
        issued,
        device: throttle.device_cookie(&nonce, &user.username.to_ascii_lowercase()),
    }))
}

/// The refusal of a locked account whose owner just proved who they are (a password, a
/// passkey), with its `login.failed` event: only then is the lock told.
pub(crate) async fn refuse_locked(app: &App, user: &users::UserRow, source: Source) -> AuthError {
    let event = Event::new(Kind::LoginFailed, Actor::Subject, source)
        .about(&user.username, &user.id)
        .with("reason", "account_locked");
    record_failure(app, event).await;
    AuthError::Locked {
        until: user.locked_until.map(crate::db::from_db_time),
    }
}

/// The device `signed` (a device cookie this server signed) when the account `user_id` still
/// lists it: such a browser counts on its own budget.
pub(crate) async fn trusted_device(
    app: &App,
    user_id: &str,
    signed: Option<Nonce>,
) -> Result<Option<Nonce>, AuthError> {
    let Some(nonce) = signed else {
        return Ok(None);
    };
    let (uid, device) = (user_id.to_owned(), DeviceKey::id_of(&nonce));
    let known = app
        .db
        .run(move |conn| devices::is_known(conn, &uid, &device))
        .await?;
    Ok(known.then_some(nonce))
}

/// A refusal by the throttle for `bucket`: counted for the audit trail, not written (see
/// `audit::floods`), so a flood of 429s costs no row each.
pub(crate) fn refused(
    app: &App,
    addr: Option<IpAddr>,
    bucket: &str,
    limit: Throttled,
    wait: std::time::Duration,
) -> AuthError {
    app.floods
        .note(addr, bucket, limit.name(), OffsetDateTime::now_utc());
    throttled(limit, wait)
}

/// Admits a login attempt (a password or a second step's code) on `bucket`'s budgets, on the
/// device's own when `trusted`; a refusal says whether the address's logins or the failures
/// ran out.
pub(crate) fn admit(
    app: &App,
    addr: Option<IpAddr>,
    bucket: &str,
    trusted: Option<Nonce>,
) -> Result<Attempt, AuthError> {
    let (throttle, now) = (&app.throttle, Instant::now());
    throttle
        .begin_login(bucket, addr, trusted, now)
        .map_err(|wait| match throttle.logins_spent(addr, now) {
            true => refused(app, addr, bucket, Throttled::Logins, wait),
            false => refused(app, addr, bucket, Throttled::Failures, wait),
        })
}

/// Writes a failed login's (or second step's) event. A failure to write is logged, not
/// answered: the client is owed the outcome of its login, which did not depend on the row.
pub(crate) async fn record_failure(app: &App, event: Event) {
    let kind = event.kind;
    let row = event.row(OffsetDateTime::now_utc());
    match app
        .db
        .run(move |conn| audit_events::insert(conn, &row))
        .await
    {
        Ok(()) => app.metrics.audit_events(kind, 1),
        Err(e) => log::error!("a failed login could not be recorded: {e}"),
    }
}

/// The account, and the device when the account lists it.
async fn trusted_lookup(
    db: &Db,
    lookup: Option<Username>,
    nonce: Nonce,
) -> Result<(Option<users::UserRow>, Option<Nonce>), AuthError> {
    let Some(name) = lookup else {
        return Ok((None, None));
    };
    let id = DeviceKey::id_of(&nonce);
    Ok(db
        .run(move |conn| {
            let Some(user) = users::find(conn, name.as_str())? else {
                return Ok((None, None));
            };
            let known = devices::is_known(conn, &user.id, &id)?;
            Ok((Some(user), known.then_some(nonce)))
        })
        .await?)
}
