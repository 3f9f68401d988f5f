//! Sessions: one per login, continued by rotating its refresh token, listed to its owner.
//! The steps behind `/authenticate`, `/refresh` and `/api/sessions`, free of HTTP types.
//!
//! Ending sessions is revocation, and goes through [`Revocation`]; this module starts and
//! continues them.

use time::OffsetDateTime;
use uuid::Uuid;

use super::claims::{Claims, Subject, TokenCodec};
use super::device::{DeviceKey, Nonce};
use super::refresh::RefreshTokens;
use crate::config::{AccountLimits, RefreshSettings};
use crate::db::refresh_tokens::{self, Rotate, Rotation};
use crate::db::sessions::{self, SessionRow};
use crate::db::users::UserRow;
use crate::db::{to_db_time, write_transaction, Db};
use crate::domain::Role;
use crate::error::ApiError;
use crate::revocation::{Login, Revocation};

/// The longest user agent kept (the rest is cut), so that a client cannot fill the table.
const MAX_USER_AGENT: usize = 256;

/// What a login or a refresh hands to the client: an access token and a refresh token.
pub struct Issued {
    pub access_token: String,
    pub claims: Claims,
    pub refresh_token: String,
}

/// The services sessions need.
pub struct SessionDeps<'a> {
    pub db: &'a Db,
    pub codec: &'a TokenCodec,
    pub refresh: &'a RefreshTokens,
    pub revocation: &'a Revocation,
    pub settings: RefreshSettings,
    pub limits: AccountLimits,
}

fn duration(std: std::time::Duration) -> time::Duration {
    time::Duration::try_from(std).unwrap_or(time::Duration::days(365))
}

fn signing_failed(e: jsonwebtoken::errors::Error) -> ApiError {
    rocket::error!("token signing failed: {e}");
    ApiError::Internal
}

/// Keeps printable ASCII of the client's `User-Agent`, at most [`MAX_USER_AGENT`] bytes.
pub fn clean_user_agent(raw: Option<&str>) -> String {
    raw.unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_USER_AGENT)
        .collect()
}

/// Starts a session for `user`, whose password was just verified against the row as read, from
/// device `device`. Committed only if the account has not changed since that read (else the
/// login is refused: 401 when the account is gone, 409 when it changed); the account's oldest
/// sessions past `max_sessions_per_user` end with it.
pub async fn start(
    deps: &SessionDeps<'_>,
    user: &UserRow,
    user_agent: String,
    device: &Nonce,
) -> Result<Issued, ApiError> {
    let now = OffsetDateTime::now_utc();
    let sid = Uuid::new_v4();
    let subject = Subject {
        uid: Uuid::parse_str(&user.id).ok(),
        username: &user.username,
        role: Role::from_stored(&user.role),
    };
    let (access_token, claims) = deps
        .codec
        .issue(subject, Some(sid), now)
        .map_err(signing_failed)?;
    let refresh_token = deps.refresh.mint();
    let login = Login {
        user_id: user.id.clone(),
        generation: user.generation,
        username: user.username.clone(),
        session_id: sid,
        access_issued_at: OffsetDateTime::from_unix_timestamp(claims.iat).unwrap_or(now),
        user_agent,
        refresh_hash: RefreshTokens::hash(&refresh_token),
        now,
        refresh_expires_at: now + duration(deps.settings.ttl),
        access_expires_at: claims.expires_at(),
        device: DeviceKey::id_of(device),
        max_sessions: i64::from(deps.limits.max_sessions_per_user),
        max_devices: i64::from(deps.limits.max_devices_per_user),
    };
    match deps.revocation.start_session(login).await? {
        Ok(_) => Ok(Issued {
            access_token,
            claims,
            refresh_token,
        }),
        Err(crate::revocation::Refused::NotFound) => Err(ApiError::InvalidCredentials),
        Err(why) => Err(super::accounts::refused(why)),
    }
}

/// Why a refresh was refused; the caller's cookies should go.
const DEAD: ApiError =
    ApiError::Unauthorized("the refresh token is unknown, expired, or its session has ended");
pub const REUSED: ApiError = ApiError::Unauthorized(
    "this refresh token was already used: the session has ended on every device",
);

/// Rotates `presented`: a new access token and the successor refresh token. A token rotated
/// longer than the grace ago ends its whole session (someone else holds a copy).
pub async fn refresh(deps: &SessionDeps<'_>, presented: &str) -> Result<Issued, ApiError> {
    if !RefreshTokens::well_formed(presented) {
        return Err(DEAD);
    }
    let now = OffsetDateTime::now_utc();
    let successor = deps.refresh.successor(presented);
    let presented_hash = RefreshTokens::hash(presented);
    let successor_hash = RefreshTokens::hash(&successor);
    let refresh_expires_at = to_db_time(now + duration(deps.settings.ttl));
    let access_expires_at = to_db_time(now + duration(deps.codec.ttl()));
    let grace = duration(deps.settings.reuse_grace);
    let jti = Uuid::now_v7();
    let rotation = deps
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                refresh_tokens::rotate(
                    conn,
                    &Rotate {
                        access_issued_at: sessions::issued_at(now),
                        presented_hash: &presented_hash,
                        successor_hash: &successor_hash,
                        now: to_db_time(now),
                        grace,
                        refresh_expires_at,
                        access_expires_at,
                    },
                )
            })
        })
        .await?;
    let continued = match rotation {
        Rotation::Rotated(c) | Rotation::WithinGrace(c) => c,
        Rotation::Dead => return Err(DEAD),
        Rotation::Reused { session_id } => {
            let sid = Uuid::parse_str(&session_id).map_err(|_| DEAD)?;
            deps.revocation.end_session(sid, None).await?;
            rocket::warn!("refresh token reuse: session {sid} ended");
            return Err(REUSED);
        }
    };
    let sid = Uuid::parse_str(&continued.session_id).map_err(|_| DEAD)?;
    let subject = Subject {
        uid: Uuid::parse_str(&continued.user_id).ok(),
        username: &continued.username,
        role: Role::from_stored(&continued.role),
    };
    let (access_token, claims) = deps
        .codec
        .issue_with_id(subject, Some(sid), jti, now)
        .map_err(signing_failed)?;
    Ok(Issued {
        access_token,
        claims,
        refresh_token: successor,
    })
}

/// A live session as its owner or an admin sees it.
pub struct Listed {
    pub row: SessionRow,
    pub current: bool,
}

/// The live sessions of the account `user_id`, newest first; `current` marks the caller's.
pub async fn list(db: &Db, user_id: &str, current: Option<Uuid>) -> Result<Vec<Listed>, ApiError> {
    let id = user_id.to_owned();
    let now = to_db_time(OffsetDateTime::now_utc());
    let rows = db
        .run(move |conn| sessions::live_for(conn, &id, now))
        .await?;
    let current = current.map(|c| c.to_string());
    Ok(rows
        .into_iter()
        .map(|row| Listed {
            current: current.as_deref() == Some(row.id.as_str()),
            row,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_cut_and_cleaned() {
        assert_eq!(clean_user_agent(None), "");
        assert_eq!(clean_user_agent(Some("curl/8.5\r\n\u{7}x")), "curl/8.5x");
        assert_eq!(clean_user_agent(Some(&"a".repeat(1000))).len(), 256);
    }
}
