//! Passkeys (WebAuthn, checked by webauthn-rs): registering, listing, naming and removing
//! them; logging in with one, alone or as a second step, is [`login`]. Free of HTTP.
//!
//! A passkey is a factor: an account with one is asked for a second step after its password,
//! like an account with TOTP. Adding one moves the account's generation on (a password login
//! already in flight cannot skip the step now due) and commits with its `passkey.added` event;
//! removing one needs the password and commits with `passkey.removed`.
//!
//! webauthn-rs asks the authenticator for user verification (a PIN or a biometric) on every
//! passkey ceremony and refuses an answer without it: a passkey alone is then two factors
//! (something held, something known or been), which is what lets it log in without a password.

pub mod ceremony;
pub mod login;

use time::OffsetDateTime;
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Webauthn,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use self::ceremony::{Owner, Purpose};
use super::accounts::{verify_current, Caller};
use super::error::AuthError;
use super::session_tokens::valid_name;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::config::WebauthnSettings;
use crate::db::passkeys::{self, PasskeyRow};
use crate::db::{audit_events, from_db_time, to_db_time, users, write_transaction};

/// Passkeys one account may register.
pub const MAX_PER_ACCOUNT: i64 = 20;

/// The relying party: checks every ceremony against `webauthn_rp_id` and `webauthn_origin`.
pub struct Passkeys {
    webauthn: Webauthn,
}

impl Passkeys {
    pub fn new(settings: &WebauthnSettings) -> Result<Self, String> {
        let webauthn = settings.build().map_err(|e| format!("webauthn: {e}"))?;
        Ok(Self { webauthn })
    }
}

/// A passkey as its owner sees it.
pub struct Listed {
    pub id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<PasskeyRow> for Listed {
    fn from(row: PasskeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: from_db_time(row.created_at),
            last_used_at: row.last_used_at.map(from_db_time),
        }
    }
}

/// A stored credential as webauthn-rs reads it.
pub(crate) fn decode(row: &PasskeyRow) -> Result<Passkey, AuthError> {
    serde_json::from_str(&row.credential).map_err(|e| {
        log::error!("a stored passkey does not decode: {e}");
        AuthError::Internal
    })
}

/// The options for the browser to create a passkey for the caller: a discoverable credential
/// preferred (so it can log in without a username), with user verification, none of the
/// caller's own authenticators again.
pub async fn start_registration(
    app: &App,
    uid: Uuid,
    username: &str,
) -> Result<CreationChallengeResponse, AuthError> {
    let id = uid.to_string();
    let rows = app
        .db
        .run(move |conn| passkeys::for_user(conn, &id))
        .await?;
    if i64::try_from(rows.len()).unwrap_or(i64::MAX) >= MAX_PER_ACCOUNT {
        return Err(AuthError::FactorState(
            "this account has the most passkeys it may have: remove one first",
        ));
    }
    let exclude = rows
        .iter()
        .map(|row| decode(row).map(|p| p.cred_id().clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut options, state) = app
        .passkeys
        .webauthn
        .start_passkey_registration(uid, username, username, Some(exclude))
        .map_err(|e| {
            log::error!("a passkey registration could not start: {e}");
            AuthError::Internal
        })?;
    // webauthn-rs discourages resident keys; ask for one where the authenticator can keep it.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Preferred);
        selection.require_resident_key = false;
    }
    let owner = Owner {
        user_id: Some(uid.to_string()),
        mfa_challenge: None,
    };
    ceremony::store(app, Purpose::Register, owner, &options, &state).await?;
    Ok(options)
}

/// Checks the browser's new credential against the caller's pending registration and stores
/// it as `name`, with its event, in one transaction.
pub async fn finish_registration(
    app: &App,
    caller: Caller<'_>,
    uid: Uuid,
    name: &str,
    credential: &RegisterPublicKeyCredential,
    source: Source,
) -> Result<Listed, AuthError> {
    let name = valid_name(name)?;
    let client_data = &credential.response.client_data_json;
    let (row, state) =
        ceremony::take::<PasskeyRegistration>(app, Purpose::Register, client_data).await?;
    let id = uid.to_string();
    if row.user_id.as_deref() != Some(id.as_str()) {
        return Err(AuthError::PasskeyRefused);
    }
    let passkey = app
        .passkeys
        .webauthn
        .finish_passkey_registration(credential, &state)
        .map_err(|e| {
            log::info!("a passkey registration was refused: {e}");
            AuthError::PasskeyRefused
        })?;
    let stored = serde_json::to_string(&passkey).map_err(|_| AuthError::Internal)?;
    let now = OffsetDateTime::now_utc();
    let row = PasskeyRow {
        id: Uuid::new_v4().to_string(),
        user_id: id.clone(),
        credential_id: login::credential_key(passkey.cred_id()),
        name,
        credential: stored,
        created_at: to_db_time(now),
        last_used_at: None,
    };
    let event = Event::new(Kind::PasskeyAdded, Actor::Subject, source)
        .about(caller.username, &id)
        .session(caller.sid)
        .with("passkey", row.id.as_str())
        .with("name", row.name.as_str());
    let listed = Listed {
        id: row.id.clone(),
        name: row.name.clone(),
        created_at: from_db_time(row.created_at),
        last_used_at: None,
    };
    app.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if passkeys::count(conn, &id)? >= MAX_PER_ACCOUNT {
                    return Ok(Err(AuthError::FactorState(
                        "this account has the most passkeys it may have: remove one first",
                    )));
                }
                if !passkeys::insert(conn, &row)? {
                    return Ok(Err(AuthError::FactorState(
                        "this passkey is registered already",
                    )));
                }
                // A password login whose check began before this must not skip the step now due.
                users::advance_generation(conn, &id)?;
                audit_events::insert(conn, &event.row(now))?;
                Ok(Ok(()))
            })
        })
        .await??;
    app.metrics.audit_events(Kind::PasskeyAdded, 1);
    Ok(listed)
}

/// The caller's passkeys, oldest first.
pub async fn list(app: &App, uid: Uuid) -> Result<Vec<Listed>, AuthError> {
    let id = uid.to_string();
    let rows = app
        .db
        .run(move |conn| passkeys::for_user(conn, &id))
        .await?;
    Ok(rows.into_iter().map(Listed::from).collect())
}

/// Names the caller's passkey `id`.
pub async fn rename(app: &App, uid: Uuid, id: &str, name: &str) -> Result<Listed, AuthError> {
    let name = valid_name(name)?;
    let (owner, id) = (uid.to_string(), id.to_owned());
    let row = app
        .db
        .run(move |conn| passkeys::rename(conn, &owner, &id, &name))
        .await?;
    row.map(Listed::from).ok_or(AuthError::NoSuchPasskey)
}

/// Removes the caller's passkey `id` once `current` proved their password, with its event.
pub async fn remove(
    app: &App,
    caller: Caller<'_>,
    id: &str,
    current: &str,
    source: Source,
) -> Result<(), AuthError> {
    let user = verify_current(app, &caller, current, source.ip).await?;
    let event = Event::new(Kind::PasskeyRemoved, Actor::Subject, source)
        .about(&user.username, &user.id)
        .session(caller.sid)
        .with("passkey", id);
    let id = id.to_owned();
    let removed = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(removed) = passkeys::remove(conn, &user.id, &id)? else {
                    return Ok(false);
                };
                let event = event.with("name", removed.name);
                audit_events::insert(conn, &event.row(OffsetDateTime::now_utc()))?;
                Ok(true)
            })
        })
        .await?;
    if !removed {
        return Err(AuthError::NoSuchPasskey);
    }
    app.metrics.audit_events(Kind::PasskeyRemoved, 1);
    Ok(())
}
