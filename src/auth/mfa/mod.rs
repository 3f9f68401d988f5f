//! A second factor: TOTP with single-use recovery codes, or a passkey
//! ([`crate::auth::passkeys`]). TOTP's enrolment, turning it off and new recovery codes are
//! here; the second step of a login is [`challenge`]. Free of HTTP.
//!
//! Enrolment is two steps so that nobody is locked out by a secret their app never stored: a
//! pending secret is shown, and TOTP is on only once a code from it came back. Turning TOTP on
//! or off commits with its audit event in one transaction. An admin's removal of every factor is
//! an account change ([`crate::revocation::AccountChange::RemoveFactors`]): it ends the user's
//! sessions in the same transaction.

pub mod challenge;
pub mod recovery;
pub mod sealing;
pub mod totp;

use time::OffsetDateTime;
use uuid::Uuid;

use super::accounts::{verify_current, Caller};
use super::error::AuthError;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::{
    audit_events, mfa_totp, passkeys, recovery_codes, to_db_time, users, write_transaction,
    DbConnection,
};
use diesel::QueryResult;

/// A way to pass the second step of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    RecoveryCode,
    Passkey,
}

impl Method {
    /// The name the API and the audit trail use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Passkey => "passkey",
        }
    }
}

/// An account's second factors, as its owner sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    /// A secret was handed out and awaits its first code.
    pub totp_pending: bool,
    pub recovery_codes_left: i64,
    /// Registered passkeys.
    pub passkeys: i64,
}

impl Factors {
    /// What a login of this account may pass its second step with; empty without a factor.
    pub fn methods(&self) -> Vec<Method> {
        let mut methods = Vec::new();
        if self.totp {
            methods.push(Method::Totp);
            if self.recovery_codes_left > 0 {
                methods.push(Method::RecoveryCode);
            }
        }
        if self.passkeys > 0 {
            methods.push(Method::Passkey);
        }
        methods
    }

    pub(crate) fn read(conn: &mut DbConnection, user_id: &str) -> QueryResult<Self> {
        let passkeys = passkeys::count(conn, user_id)?;
        let Some(row) = mfa_totp::find(conn, user_id)? else {
            return Ok(Self {
                passkeys,
                ..Self::default()
            });
        };
        let totp = row.confirmed_at.is_some();
        Ok(Self {
            totp,
            totp_pending: !totp,
            passkeys,
            recovery_codes_left: if totp {
                recovery_codes::left(conn, user_id)?
            } else {
                0
            },
        })
    }
}

/// The caller's factors, for their page.
pub async fn status(app: &App, uid: Uuid) -> Result<Factors, AuthError> {
    let id = uid.to_string();
    Ok(app.db.run(move |conn| Factors::read(conn, &id)).await?)
}

/// A new pending TOTP secret for the caller (replacing a pending one), and what their app needs
/// to store it. Refused while TOTP is on.
pub async fn start_totp(
    app: &App,
    uid: Uuid,
    username: &str,
) -> Result<totp::Enrolment, AuthError> {
    let secret = totp::new_secret();
    let id = uid.to_string();
    let sealed = app.mfa.seal(&id, &secret);
    let now = to_db_time(OffsetDateTime::now_utc());
    let stored = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| mfa_totp::set_pending(conn, &id, &sealed, now))
        })
        .await?;
    if !stored {
        return Err(AuthError::FactorState(
            "TOTP is already on; turn it off first",
        ));
    }
    totp::enrolment(&secret, &app.config.jwt_issuer, username).ok_or_else(|| {
        log::error!("a TOTP enrolment could not be encoded");
        AuthError::Internal
    })
}

/// Turns TOTP on when `code` is a current code of the pending secret, with a new set of
/// recovery codes (returned once, stored hashed) and the `mfa.enabled` event, in one
/// transaction. The code's step counts as used.
pub async fn confirm_totp(
    app: &App,
    caller: Caller<'_>,
    uid: Uuid,
    code: &str,
    source: Source,
) -> Result<Vec<String>, AuthError> {
    let id = uid.to_string();
    let codes = recovery::new_set();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| recovery::normalise(c))
        .map(|c| app.mfa.recovery_hash(&id, &c))
        .collect();
    let now = OffsetDateTime::now_utc();
    let unix = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    let event = Event::new(Kind::MfaEnabled, Actor::Subject, source)
        .about(caller.username, &id)
        .session(caller.sid)
        .with("method", Method::Totp.as_str());
    let code = code.to_owned();
    let keys = app.mfa.clone();
    let outcome = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let pending = mfa_totp::find(conn, &id)?.filter(|r| r.confirmed_at.is_none());
                let Some(row) = pending else {
                    return Ok(Err(AuthError::FactorState(
                        "no TOTP secret is pending; start the enrolment again",
                    )));
                };
                let Some(secret) = keys.open(&id, &row.secret_sealed) else {
                    return Ok(Err(AuthError::Internal));
                };
                let Some(step) = totp::matching_step(&secret, &code, unix) else {
                    return Ok(Err(AuthError::InvalidCode {
                        challenge_ended: false,
                    }));
                };
                if !mfa_totp::confirm(conn, &id, step, to_db_time(now))? {
                    return Ok(Err(AuthError::FactorState("TOTP is already on")));
                }
                recovery_codes::replace(conn, &id, &hashes, to_db_time(now))?;
                // A password login whose check began before this cannot start a session
                // without the second step now due.
                users::advance_generation(conn, &id)?;
                audit_events::insert(conn, &event.row(now))?;
                Ok(Ok(()))
            })
        })
        .await?;
    if let Err(AuthError::Internal) = outcome {
        log::error!("a pending TOTP secret does not open: was server_secret changed?");
    }
    outcome?;
    app.metrics.audit_events(Kind::MfaEnabled, 1);
    Ok(codes)
}

/// Turns the caller's TOTP off (and voids their recovery codes and pending second steps) once
/// `current` proved their password, with the `mfa.disabled` event.
pub async fn disable_totp(
    app: &App,
    caller: Caller<'_>,
    current: &str,
    source: Source,
) -> Result<(), AuthError> {
    let user = verify_current(app, &caller, current, source.ip).await?;
    let event = Event::new(Kind::MfaDisabled, Actor::Subject, source)
        .about(&user.username, &user.id)
        .session(caller.sid)
        .with("method", Method::Totp.as_str());
    let removed = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let on = mfa_totp::hold_confirmed(conn, &user.id)?;
                mfa_totp::remove_totp(conn, &user.id)?;
                if on {
                    audit_events::insert(conn, &event.row(OffsetDateTime::now_utc()))?;
                }
                Ok(on)
            })
        })
        .await?;
    if !removed {
        return Err(AuthError::FactorState("TOTP is not on"));
    }
    app.metrics.audit_events(Kind::MfaDisabled, 1);
    Ok(())
}

/// A new set of recovery codes for the caller, the old ones void, once `current` proved their
/// password. Only while TOTP is on.
pub async fn new_recovery_codes(
    app: &App,
    caller: Caller<'_>,
    current: &str,
    source: Source,
) -> Result<Vec<String>, AuthError> {
    let user = verify_current(app, &caller, current, source.ip).await?;
    let codes = recovery::new_set();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| recovery::normalise(c))
        .map(|c| app.mfa.recovery_hash(&user.id, &c))
        .collect();
    let now = to_db_time(OffsetDateTime::now_utc());
    let replaced = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if !mfa_totp::hold_confirmed(conn, &user.id)? {
                    return Ok(false);
                }
                recovery_codes::replace(conn, &user.id, &hashes, now)?;
                Ok(true)
            })
        })
        .await?;
    if !replaced {
        return Err(AuthError::FactorState("TOTP is not on"));
    }
    Ok(codes)
}
