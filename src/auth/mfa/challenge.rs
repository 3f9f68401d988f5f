//! The second step of a login. After the right password, an account with a factor gets a
//! challenge instead of a session: a random token (the `mfa` cookie) whose SHA-256 names a row
//! bound to the account and to its generation at the password check. A password change, lock,
//! removal or logout everywhere moves the generation on, which voids the challenge; so does
//! its fifth wrong code, or five minutes.
//!
//! Each code is judged by the login throttle like a password (per client and username, and the
//! username's ceilings), so guessing across many challenges is bounded by the same budgets as
//! guessing passwords. A TOTP code is taken by its step, a recovery code is spent and a
//! passkey's counter moves on, each in one conditional update: none passes twice, on one instance
//! or several.

use time::OffsetDateTime;

use super::{recovery, totp, Method};
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::auth::accounts::judged;
use crate::auth::device::DeviceKey;
use crate::auth::error::{AuthError, Throttled};
use crate::auth::login::{admit, record_failure, refused, trusted_device, Client, LoggedIn};
use crate::auth::passkeys::login::{check_second_factor, Use};
use crate::auth::refresh::RefreshTokens;
use crate::auth::session_tokens::{self, LoginBy};
use crate::db::mfa_challenges::{self, ChallengeRow};
use crate::db::users::UserRow;
use crate::db::{audit_events, mfa_totp, recovery_codes, to_db_time, write_transaction};
use webauthn_rs::prelude::PublicKeyCredential;

/// Wrong codes a challenge takes before it ends.
pub const MAX_FAILURES: i32 = 5;
/// Challenges an account may have waiting at once: a new one ends the oldest past it, so the
/// table stays bounded by accounts, not by how often a password is given.
pub const MAX_PENDING: i64 = 10;
/// How long a challenge waits for its code (the `mfa` cookie's Max-Age too).
pub const TTL: time::Duration = time::Duration::minutes(5);

/// A login waiting for its second factor.
pub struct Pending {
    /// The `mfa` cookie's value; only its hash is stored.
    pub token: String,
    pub methods: Vec<Method>,
}

/// What the second step presents.
pub enum Proof<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
    /// A passkey's answer to the step's own ceremony (`passkeys::login::start_second_factor`).
    Passkey(&'a PublicKeyCredential),
}

impl Proof<'_> {
    fn method(&self) -> Method {
        match self {
            Self::Totp(_) => Method::Totp,
            Self::RecoveryCode(_) => Method::RecoveryCode,
            Self::Passkey(_) => Method::Passkey,
        }
    }
}

/// The stored id of the challenge whose cookie holds `token`: its SHA-256, in hex, as refresh
/// tokens are stored (the token is minted like one too: 256 random bits).
pub fn challenge_id(token: &str) -> String {
    RefreshTokens::hash(token)
}

/// Opens a challenge for `user`, whose password was just proved against the row as read.
pub(crate) async fn begin(
    app: &App,
    user: &UserRow,
    methods: Vec<Method>,
    remember: bool,
) -> Result<Pending, AuthError> {
    let token = app.refresh_tokens.mint();
    let now = OffsetDateTime::now_utc();
    let row = ChallengeRow {
        id: challenge_id(&token),
        user_id: user.id.clone(),
        generation: user.generation,
        failures: 0,
        created_at: to_db_time(now),
        expires_at: to_db_time(now + TTL),
        remember,
    };
    app.db
        .run(move |conn| {
            write_transaction(conn, |conn| mfa_challenges::insert(conn, &row, MAX_PENDING))
        })
        .await?;
    Ok(Pending { token, methods })
}

/// Passes the second step of the challenge `token` with `proof`: the session starts (as the
/// password step would have started it) and the challenge is used up.
pub async fn finish(
    app: &App,
    token: &str,
    proof: Proof<'_>,
    client: Client<'_>,
) -> Result<LoggedIn, AuthError> {
    let id = challenge_id(token);
    let (user, remember) = pending_user(app, &id).await?;
    let bucket = user.username.to_ascii_lowercase();
    let source = Source {
        ip: client.addr,
        user_agent: Some(client.user_agent.clone()),
    };
    let throttle = &app.throttle;
    let _slot = throttle
        .in_flight(client.addr)
        .map_err(|wait| refused(app, client.addr, &bucket, Throttled::InFlight, wait))?;
    let signed = client
        .device
        .and_then(|d| throttle.device_nonce(d, &bucket));
    let trusted = trusted_device(app, &user.id, signed).await?;
    let attempt = admit(app, client.addr, &bucket, trusted)?;
    let checked = judged(
        throttle,
        attempt,
        check(app, &id, &user, &proof, source.clone()),
    )
    .await;
    let method = match checked {
        Err(AuthError::InvalidCode { .. }) => {
            return Err(failed(app, &id, &user, &proof, source).await);
        }
        other => other?,
    };
    let nonce = signed.unwrap_or_else(DeviceKey::new_nonce);
    let issued = session_tokens::start(
        app,
        &user,
        source,
        &nonce,
        LoginBy::SecondFactor(method),
        remember,
    )
    .await?;
    Ok(LoggedIn {
        issued,
        device: throttle.device_cookie(&nonce, &bucket),
    })
}

/// The account the challenge `id` waits for, if the challenge is live and the account is as it
/// was at the password check (a voided challenge is removed), and the login's `remember`.
pub(crate) async fn pending_user(app: &App, id: &str) -> Result<(UserRow, bool), AuthError> {
    let id = id.to_owned();
    let now = OffsetDateTime::now_utc();
    let found = app
        .db
        .run(move |conn| {
            let Some(challenge) = mfa_challenges::find(conn, &id, to_db_time(now))? else {
                return Ok(None);
            };
            let user = crate::db::users::find_by_id(conn, &challenge.user_id)?;
            let valid = user.filter(|u| {
                u.generation == challenge.generation
                    && !u.locked_at(to_db_time(now))
                    && challenge.failures < MAX_FAILURES
            });
            if valid.is_none() {
                mfa_challenges::take(conn, &id)?;
            }
            Ok(valid.map(|user| (user, challenge.remember)))
        })
        .await?;
    found.ok_or(AuthError::ChallengeGone)
}

/// Judges `proof` for `user`: the method it passed with, or `InvalidCode` (wrong, used, or a
/// method the account does not have). A right proof is used up together with the challenge
/// `id`, in one transaction: of concurrent requests on one challenge one passes (the others
/// find it gone, and their codes stay unused), and a busy SQLite sees one write per step.
async fn check(
    app: &App,
    id: &str,
    user: &UserRow,
    proof: &Proof<'_>,
    source: Source,
) -> Result<Method, AuthError> {
    let uid = user.id.clone();
    let now = OffsetDateTime::now_utc();
    // What the transaction spends: a TOTP step, or a recovery code (and its event).
    let spend = match proof {
        Proof::Totp(code) => {
            let row = app.db.run({
                let uid = uid.clone();
                move |conn| mfa_totp::find(conn, &uid)
            });
            let Some(row) = row.await?.filter(|r| r.confirmed_at.is_some()) else {
                return Err(wrong());
            };
            let Some(secret) = app.mfa.open(&uid, &row.secret_sealed) else {
                log::error!("a TOTP secret does not open: was server_secret changed?");
                return Err(AuthError::Internal);
            };
            let unix = u64::try_from(now.unix_timestamp()).unwrap_or(0);
            let step = totp::matching_step(&secret, code, unix).ok_or_else(wrong)?;
            Spend::Step(step)
        }
        Proof::RecoveryCode(code) => {
            let code = recovery::normalise(code).ok_or_else(wrong)?;
            let event = Event::new(Kind::RecoveryCodeUsed, Actor::Subject, source)
                .about(&user.username, &uid);
            Spend::Code(app.mfa.recovery_hash(&uid, &code), event)
        }
        Proof::Passkey(credential) => {
            // A refused answer is a wrong proof: it counts like a wrong code.
            match check_second_factor(app, id, user, credential).await {
                Ok(used) => Spend::Passkey(used),
                Err(AuthError::PasskeyRefused) => return Err(wrong()),
                Err(e) => return Err(e),
            }
        }
    };
    let method = proof.method();
    let id = id.to_owned();
    let verdict = app
        .db
        .run(move |conn| {
            let mut refused = None;
            let spent = write_transaction(conn, |conn| {
                // The challenge first: a request that lost the race on it keeps its code unused
                // and is not counted as a wrong code.
                if !mfa_challenges::take(conn, &id)? {
                    refused = Some(AuthError::ChallengeGone);
                } else {
                    let fresh = match &spend {
                        Spend::Step(step) => mfa_totp::take_step(conn, &uid, *step)?,
                        Spend::Code(hash, _) => {
                            recovery_codes::spend(conn, &uid, hash, to_db_time(now))?
                        }
                        Spend::Passkey(used) => used.commit(conn, now)?,
                    };
                    if !fresh {
                        refused = Some(wrong());
                    }
                }
                if refused.is_some() {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                if let Spend::Code(_, event) = spend {
                    let left = recovery_codes::left(conn, &uid)?;
                    audit_events::insert(conn, &event.with("left", left).row(now))?;
                }
                Ok(())
            });
            match (spent, refused) {
                (Ok(()), _) => Ok(Ok(())),
                (Err(diesel::result::Error::RollbackTransaction), Some(why)) => Ok(Err(why)),
                (Err(e), _) => Err(e),
            }
        })
        .await?;
    verdict?;
    if method == Method::RecoveryCode {
        app.metrics.audit_events(Kind::RecoveryCodeUsed, 1);
    }
    Ok(method)
}

/// What a right proof uses up.
enum Spend {
    Step(i64),
    /// The code's hash, and its `recovery_code.used` event.
    Code(String, Event),
    /// A passkey's new counter.
    Passkey(Use),
}

fn wrong() -> AuthError {
    AuthError::InvalidCode {
        challenge_ended: false,
    }
}

/// Counts a wrong code on the challenge (ending it at [`MAX_FAILURES`]) and records it.
async fn failed(
    app: &App,
    id: &str,
    user: &UserRow,
    proof: &Proof<'_>,
    source: Source,
) -> AuthError {
    let id = id.to_owned();
    let ended = app
        .db
        .run(move |conn| {
            let failures = mfa_challenges::fail(conn, &id)?;
            let ended = failures.is_none_or(|n| n >= MAX_FAILURES);
            if ended {
                mfa_challenges::take(conn, &id)?;
            }
            Ok(ended)
        })
        .await
        // The store failed after a wrong code: the challenge may still count it; say it ended.
        .unwrap_or(true);
    let method = proof.method();
    let event = Event::new(Kind::MfaFailed, Actor::Subject, source)
        .about(&user.username, &user.id)
        .with("method", method.as_str())
        .with("challenge_ended", ended);
    record_failure(app, event).await;
    AuthError::InvalidCode {
        challenge_ended: ended,
    }
}

/// Deletes challenges that expired unanswered (the scheduled purge calls it), so the table holds
/// only the last five minutes' logins; logged in one line.
pub async fn purge_expired(db: &crate::db::Db, batch: i64) {
    let now = to_db_time(OffsetDateTime::now_utc());
    match db
        .run(move |conn| mfa_challenges::purge(conn, now, batch))
        .await
    {
        Ok(rows) => log::info!(target: "jwt_blacklist::purge", rows = rows; "mfa challenge purge"),
        Err(e) => log::error!(
            target: "jwt_blacklist::purge",
            "mfa challenge purge failed, will retry on the next run: {e}"
        ),
    }
}
