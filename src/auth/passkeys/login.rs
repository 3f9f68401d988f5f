//! Logging in with a passkey: alone (passwordless: the authenticator says whose credential it
//! is, from a discoverable credential), or as the second step after a password (the account's
//! own credentials are offered).
//!
//! Either way the answer is checked against the credential as stored now, and the credential's
//! new signature counter is written only if the stored one is still what was checked (one
//! conditional update): a counter that did not move forward, or two answers racing on the same
//! stored value, are refused. Synced passkeys report a counter of 0 throughout, which passes.

use std::net::IpAddr;
use std::time::Instant;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PublicKeyCredential, RequestChallengeResponse,
};

use super::ceremony::{self, Owner, Purpose};
use super::decode;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::auth::accounts::judged;
use crate::auth::device::DeviceKey;
use crate::auth::error::{AuthError, Throttled};
use crate::auth::login::{admit, record_failure, refuse_locked, trusted_device, Client, LoggedIn};
use crate::auth::mfa::challenge::{challenge_id, pending_user};
use crate::auth::session_tokens::{self, LoginBy};
use crate::db::passkeys::{self, PasskeyRow};
use crate::db::users::{self, UserRow};
use crate::db::{to_db_time, write_transaction};

/// How a credential id is stored and looked up: base64url, unpadded.
pub fn credential_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// A passkey's use, checked: its row id, its credential as read and as it must now be stored.
pub(crate) struct Use {
    pub passkey_id: String,
    pub seen: String,
    pub updated: String,
}

impl Use {
    /// Writes the use (the new counter, `last_used_at`); `Ok(false)` when the stored credential
    /// moved on since it was read (another answer won) or the passkey was removed.
    pub(crate) fn commit(
        &self,
        conn: &mut crate::db::DbConnection,
        now: OffsetDateTime,
    ) -> diesel::QueryResult<bool> {
        passkeys::record_use(
            conn,
            &self.passkey_id,
            &self.seen,
            &self.updated,
            to_db_time(now),
        )
    }
}

/// The stored signature counter (webauthn-rs keeps it private; its serialised form is stable,
/// since it is made to be stored).
fn stored_counter(passkey: &Passkey) -> Option<u64> {
    serde_json::to_value(passkey).ok()?["cred"]["counter"].as_u64()
}

/// Checks `result` against `row` as stored now: the counter must have moved forward unless both
/// are 0 (WebAuthn §6.1.1); a counter that went back suggests a cloned authenticator.
fn used(row: PasskeyRow, result: &AuthenticationResult) -> Result<Use, AuthError> {
    let mut passkey = decode(&row)?;
    let old = stored_counter(&passkey).ok_or(AuthError::Internal)?;
    let new = u64::from(result.counter());
    if (old != 0 || new != 0) && new <= old {
        log::warn!("a passkey's counter did not move forward ({old} then {new}): refused");
        return Err(AuthError::PasskeyRefused);
    }
    passkey.update_credential(result);
    let updated = serde_json::to_string(&passkey).map_err(|_| AuthError::Internal)?;
    Ok(Use {
        passkey_id: row.id,
        seen: row.credential,
        updated,
    })
}

/// A start refused by the address's login budget: counted for the audit trail like any 429.
fn refused_start(app: &App, addr: Option<IpAddr>, wait: std::time::Duration) -> AuthError {
    crate::auth::login::refused(app, addr, "", Throttled::Logins, wait)
}

fn refused(e: impl std::fmt::Display) -> AuthError {
    log::info!("a passkey assertion was refused: {e}");
    AuthError::PasskeyRefused
}

/// The options for a passwordless login: any discoverable credential of this site. Each start
/// counts as a login of the client's address, so one client cannot fill the ceremonies' table.
pub async fn start(app: &App, addr: Option<IpAddr>) -> Result<RequestChallengeResponse, AuthError> {
    let attempt = app
        .throttle
        .begin_passkey_start(addr, Instant::now())
        .map_err(|wait| refused_start(app, addr, wait))?;
    // A login counted per address stays counted whatever its outcome.
    app.throttle.succeeded(attempt);
    let (mut options, state) = app
        .passkeys
        .webauthn
        .start_discoverable_authentication()
        .map_err(|e| {
            log::error!("a passkey login could not start: {e}");
            AuthError::Internal
        })?;
    // webauthn-rs asks for the autofill UI; the page asks on a button instead.
    options.mediation = None;
    let anyone = Owner {
        user_id: None,
        mfa_challenge: None,
    };
    ceremony::store(app, Purpose::Login, anyone, &options, &state).await?;
    Ok(options)
}

/// A passwordless login: the answer to a pending [`start`] identifies the account; once it
/// verifies, the session starts as after a password (the throttle, a locked account and an
/// account change meanwhile are judged alike), recorded as `login.passkey`.
pub async fn finish(
    app: &App,
    credential: &PublicKeyCredential,
    client: Client<'_>,
    remember: bool,
) -> Result<LoggedIn, AuthError> {
    let source = Source {
        ip: client.addr,
        user_agent: Some(client.user_agent.clone()),
    };
    let client_data = &credential.response.client_data_json;
    let (_, state) =
        ceremony::take::<DiscoverableAuthentication>(app, Purpose::Login, client_data).await?;
    let (uid, cred_id) = app
        .passkeys
        .webauthn
        .identify_discoverable_authentication(credential)
        .map_err(refused)?;
    let (uid, key) = (uid.to_string(), credential_key(cred_id));
    let found = app
        .db
        .run(move |conn| {
            let Some(user) = users::find_by_id(conn, &uid)? else {
                return Ok(None);
            };
            Ok(passkeys::find_credential(conn, &uid, &key)?.map(|row| (user, row)))
        })
        .await?;
    let throttle = &app.throttle;
    let Some((user, row)) = found else {
        // Nobody's credential: a failure of this client's address (the bucket of names that
        // cannot exist), so that guessing is bounded here too.
        let attempt = admit(app, client.addr, "", None)?;
        let refusal = judged(throttle, attempt, async {
            Err::<(), _>(AuthError::PasskeyRefused)
        });
        let event =
            Event::new(Kind::LoginFailed, Actor::Subject, source).with("reason", "passkey_refused");
        record_failure(app, event).await;
        return Err(refusal.await.err().unwrap_or(AuthError::PasskeyRefused));
    };
    let bucket = user.username.to_ascii_lowercase();
    let signed = client
        .device
        .and_then(|d| throttle.device_nonce(d, &bucket));
    // A browser the account lists counts on its own budget, as at a password login.
    let trusted = trusted_device(app, &user.id, signed).await?;
    let attempt = admit(app, client.addr, &bucket, trusted)?;
    let checked = judged(throttle, attempt, async {
        let result = app
            .passkeys
            .webauthn
            .finish_discoverable_authentication_v2(credential, state, &decode(&row)?)
            .map_err(refused)?;
        let used = used(row, &result)?;
        let now = OffsetDateTime::now_utc();
        let fresh = app
            .db
            .run(move |conn| write_transaction(conn, |conn| used.commit(conn, now)))
            .await?;
        fresh.then_some(()).ok_or(AuthError::PasskeyRefused)
    })
    .await;
    if let Err(e) = checked {
        if matches!(e, AuthError::PasskeyRefused) {
            let event = Event::new(Kind::LoginFailed, Actor::Subject, source)
                .about(&user.username, &user.id)
                .with("reason", "passkey_refused");
            record_failure(app, event).await;
        }
        return Err(e);
    }
    if user.locked_at(to_db_time(OffsetDateTime::now_utc())) {
        return Err(refuse_locked(app, &user, source).await);
    }
    let nonce = signed.unwrap_or_else(DeviceKey::new_nonce);
    let issued =
        session_tokens::start(app, &user, source, &nonce, LoginBy::Passkey, remember).await?;
    Ok(LoggedIn {
        issued,
        device: throttle.device_cookie(&nonce, &bucket),
    })
}

/// The options for the second step of the login waiting on the challenge `token`: the
/// account's own passkeys.
pub async fn start_second_factor(
    app: &App,
    token: &str,
) -> Result<RequestChallengeResponse, AuthError> {
    let id = challenge_id(token);
    let (user, _) = pending_user(app, &id).await?;
    let uid = user.id.clone();
    let rows = app
        .db
        .run(move |conn| passkeys::for_user(conn, &uid))
        .await?;
    if rows.is_empty() {
        return Err(AuthError::FactorState("this account has no passkey"));
    }
    let creds = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
    let (options, state) = app
        .passkeys
        .webauthn
        .start_passkey_authentication(&creds)
        .map_err(|e| {
            log::error!("a passkey second step could not start: {e}");
            AuthError::Internal
        })?;
    let owner = Owner {
        user_id: Some(user.id),
        mfa_challenge: Some(id),
    };
    ceremony::store(app, Purpose::SecondFactor, owner, &options, &state).await?;
    Ok(options)
}

/// Checks a second step's answer for `user`, whose login waits on the challenge `challenge`:
/// the use to commit with the challenge, or `PasskeyRefused`.
pub(crate) async fn check_second_factor(
    app: &App,
    challenge: &str,
    user: &UserRow,
    credential: &PublicKeyCredential,
) -> Result<Use, AuthError> {
    let client_data = &credential.response.client_data_json;
    let (ceremony, state) =
        ceremony::take::<PasskeyAuthentication>(app, Purpose::SecondFactor, client_data).await?;
    let ours = ceremony.user_id.as_deref() == Some(user.id.as_str())
        && ceremony.mfa_challenge.as_deref() == Some(challenge);
    if !ours {
        return Err(AuthError::PasskeyRefused);
    }
    let result = app
        .passkeys
        .webauthn
        .finish_passkey_authentication(credential, &state)
        .map_err(refused)?;
    let (uid, key) = (user.id.clone(), credential_key(result.cred_id()));
    let row = app
        .db
        .run(move |conn| passkeys::find_credential(conn, &uid, &key))
        .await?
        .ok_or(AuthError::PasskeyRefused)?;
    used(row, &result)
}
