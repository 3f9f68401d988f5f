//! A WebAuthn ceremony between its start and its finish. webauthn-rs's state must stay on the
//! server (a client that held it could answer the same challenge twice), so it is a row, named
//! by the SHA-256 of the challenge: the finish reads the challenge back from the client data the
//! authenticator signed, so no cookie is needed, and one delete takes the row, so a ceremony is
//! answered once, on one instance or several. A replayed answer finds nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::app::App;
use crate::auth::error::AuthError;
use crate::db::webauthn_challenges::{self, CeremonyRow};
use crate::db::{to_db_time, write_transaction, Db};

/// How long a ceremony waits for the browser: as long as the options' own timeout (300 s).
pub const TTL: time::Duration = time::Duration::minutes(5);
/// Ceremonies one account may have waiting; a new one ends the oldest past it.
pub const MAX_PER_ACCOUNT: i64 = 10;
/// Passwordless logins that may wait at once, all clients together: anyone may start one, so the
/// table is bounded here; past it, a start answers 503 until some finish or expire.
pub const MAX_ANONYMOUS: i64 = 10_000;

/// What a ceremony is for; a finish takes only a ceremony of its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    /// Passwordless: the account is learnt from the answer.
    Login,
    /// After a password step: bound to the account and to that step's challenge.
    SecondFactor,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::SecondFactor => "second_factor",
        }
    }
}

/// Who a ceremony belongs to: nobody yet (a passwordless login), or an account (and, for a
/// second step, that step's challenge id).
pub struct Owner {
    pub user_id: Option<String>,
    pub mfa_challenge: Option<String>,
}

/// The stored id of a challenge given as base64url (padding tolerated).
fn id_of(challenge: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(challenge.trim_end_matches('='))
        .ok()?;
    Some(hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The id of the challenge in the options sent to the browser (`{publicKey: {challenge}}`).
fn id_of_options(options: &impl Serialize) -> Option<String> {
    let value = serde_json::to_value(options).ok()?;
    id_of(value.get("publicKey")?.get("challenge")?.as_str()?)
}

/// The id of the challenge the authenticator signed, from the answer's client data.
fn id_of_client_data(client_data_json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(client_data_json).ok()?;
    id_of(value.get("challenge")?.as_str()?)
}

/// Stores the state of a ceremony whose options are `options`.
pub(crate) async fn store(
    app: &App,
    purpose: Purpose,
    owner: Owner,
    options: &impl Serialize,
    state: &impl Serialize,
) -> Result<(), AuthError> {
    let (Some(id), Ok(state)) = (id_of_options(options), serde_json::to_string(state)) else {
        log::error!("a WebAuthn ceremony could not be encoded");
        return Err(AuthError::Internal);
    };
    let now = OffsetDateTime::now_utc();
    let row = CeremonyRow {
        id,
        purpose: purpose.as_str().to_owned(),
        user_id: owner.user_id,
        mfa_challenge: owner.mfa_challenge,
        state,
        created_at: to_db_time(now),
        expires_at: to_db_time(now + TTL),
    };
    let stored = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                if row.user_id.is_none()
                    && webauthn_challenges::anonymous_waiting(conn, row.created_at)?
                        >= MAX_ANONYMOUS
                {
                    return Ok(false);
                }
                webauthn_challenges::insert(conn, &row, MAX_PER_ACCOUNT)?;
                Ok(true)
            })
        })
        .await?;
    if !stored {
        log::warn!("{MAX_ANONYMOUS} passwordless logins are waiting: a new one is refused");
        return Err(AuthError::Busy);
    }
    Ok(())
}

/// Takes the live ceremony of `purpose` that the answer with this client data belongs to: its
/// row and its state. `PasskeyRefused` when there is none (never was, expired, of another
/// purpose, or answered already).
pub(crate) async fn take<S: DeserializeOwned>(
    app: &App,
    purpose: Purpose,
    client_data_json: &[u8],
) -> Result<(CeremonyRow, S), AuthError> {
    let id = id_of_client_data(client_data_json).ok_or(AuthError::PasskeyRefused)?;
    let now = to_db_time(OffsetDateTime::now_utc());
    let row = app
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                webauthn_challenges::take(conn, &id, purpose.as_str(), now)
            })
        })
        .await?
        .ok_or(AuthError::PasskeyRefused)?;
    let state = serde_json::from_str(&row.state).map_err(|e| {
        log::error!("a stored WebAuthn ceremony does not decode: {e}");
        AuthError::Internal
    })?;
    Ok((row, state))
}

/// Deletes ceremonies that expired unanswered (the scheduled purge calls it); logged in one line.
pub async fn purge_expired(db: &Db, batch: i64) {
    let now = to_db_time(OffsetDateTime::now_utc());
    match db
        .run(move |conn| webauthn_challenges::purge(conn, now, batch))
        .await
    {
        Ok(rows) => {
            log::info!(target: "jwt_blacklist::purge", rows = rows; "webauthn ceremony purge");
        }
        Err(e) => log::error!(
            target: "jwt_blacklist::purge",
            "webauthn ceremony purge failed, will retry on the next run: {e}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_and_the_client_data_name_the_same_ceremony() {
        let options = serde_json::json!({"publicKey": {"challenge": "AAECAwQ"}});
        let client_data = br#"{"type":"webauthn.get","challenge":"AAECAwQ","origin":"x"}"#;
        let id = id_of_options(&options).expect("an id");
        assert_eq!(Some(id.clone()), id_of_client_data(client_data));
        assert_eq!(Some(id), id_of("AAECAwQ="), "padding is tolerated");
        assert_eq!(None, id_of_client_data(b"not json"));
        assert_ne!(id_of("AAECAwQ"), id_of("AAECAwU"));
    }
}
