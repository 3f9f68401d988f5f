//! Sessions: one per login, continued by rotating its refresh token, listed to its owner.
//! The steps behind `/authenticate`, `/refresh` and `/api/sessions`, free of HTTP types.
//!
//! Ending sessions is revocation, and goes through [`Revocation`]; this module starts and
//! continues them.

use time::OffsetDateTime;
use uuid::Uuid;

use super::claims::{Claims, TokenCodec};
use super::refresh::RefreshTokens;
use crate::config::RefreshSettings;
use crate::db::sessions::{self, NewSession, Rotate, Rotation, SessionRow};
use crate::db::{to_db_time, write_transaction, Db};
use crate::domain::Role;
use crate::error::ApiError;
use crate::revocation::Revocation;

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
    pub settings: RefreshSettings,
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

/// Starts a session for a user whose password was just verified.
pub async fn start(
    deps: &SessionDeps<'_>,
    username: &str,
    role: Role,
    user_agent: String,
) -> Result<Issued, ApiError> {
    let now = OffsetDateTime::now_utc();
    let sid = Uuid::new_v4();
    let (access_token, claims) = deps
        .codec
        .issue(username, role, Some(sid), now)
        .map_err(signing_failed)?;
    let refresh_token = deps.refresh.mint();
    let hash = RefreshTokens::hash(&refresh_token);
    let name = username.to_owned();
    let refresh_expires_at = to_db_time(now + duration(deps.settings.ttl));
    let access_expires_at = to_db_time(claims.expires_at());
    deps.db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                sessions::create(
                    conn,
                    &NewSession {
                        id: &sid.to_string(),
                        username: &name,
                        user_agent: &user_agent,
                        refresh_hash: &hash,
                        now: to_db_time(now),
                        refresh_expires_at,
                        access_expires_at,
                    },
                )
            })
        })
        .await?;
    Ok(Issued {
        access_token,
        claims,
        refresh_token,
    })
}

/// Why a refresh was refused; the caller's cookies should go.
const DEAD: ApiError =
    ApiError::Unauthorized("the refresh token is unknown, expired, or its session has ended");
pub const REUSED: ApiError = ApiError::Unauthorized(
    "this refresh token was already used: the session has ended on every device",
);

/// Rotates `presented`: a new access token and the successor refresh token. A token rotated
/// longer than the grace ago ends its whole session (someone else holds a copy).
pub async fn refresh(
    deps: &SessionDeps<'_>,
    revocation: &Revocation,
    presented: &str,
) -> Result<Issued, ApiError> {
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
    let rotation = deps
        .db
        .run(move |conn| {
            write_transaction(conn, |conn| {
                sessions::rotate(
                    conn,
                    &Rotate {
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
            revocation.end_session(sid, None).await?;
            rocket::warn!("refresh token reuse: session {sid} ended");
            return Err(REUSED);
        }
    };
    let sid = Uuid::parse_str(&continued.session_id).map_err(|_| DEAD)?;
    let role = Role::from_stored(&continued.role);
    let (access_token, claims) = deps
        .codec
        .issue(&continued.username, role, Some(sid), now)
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

/// The live sessions of `username`, newest first; `current` marks the caller's.
pub async fn list(db: &Db, username: &str, current: Option<Uuid>) -> Result<Vec<Listed>, ApiError> {
    let name = username.to_owned();
    let now = to_db_time(OffsetDateTime::now_utc());
    let rows = db
        .run(move |conn| sessions::live_for(conn, &name, now))
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
