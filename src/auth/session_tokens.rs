//! A session's token pairs: the first at login (with the session's row), each next one at a
//! refresh (rotation, with reuse detection), and the list of live sessions. The steps behind
//! `/authenticate`, `/refresh` and `/api/sessions`, free of HTTP types.
//!
//! Ending sessions is revocation, and goes through [`crate::revocation::Revocation`]; this
//! module starts and continues them.

use time::OffsetDateTime;
use uuid::Uuid;

use super::accounts::{account_uid, find, signing_failed};
use super::claims::{Claims, Subject};
use super::device::{DeviceKey, Nonce};
use super::device_label;
use super::error::AuthError;
use super::lifetime;
use super::mfa::Method;
use super::refresh::RefreshTokens;
use crate::app::App;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::refresh_tokens::{self, Ends, Rotate, Rotation};
use crate::db::sessions::{self, SessionRow};
use crate::db::users::UserRow;
use crate::db::{from_db_time, to_db_time, write_transaction, Db};
use crate::domain::{Role, Username};
use crate::revocation::{ChangeError, Login, Refused};

/// The longest user agent kept (the rest is cut), so that a client cannot fill the table.
const MAX_USER_AGENT: usize = 256;

/// What a login or a refresh hands to the client: an access token and a refresh token.
pub struct Issued {
    pub access_token: String,
    pub claims: Claims,
    pub refresh_token: String,
    /// When the refresh token expires: the idle or absolute end of the session, or its own.
    pub refresh_until: OffsetDateTime,
    /// Whether the login asked to be remembered: if not, the client should keep neither token
    /// beyond the browser's life (cookies without an expiry).
    pub remember: bool,
}

impl Issued {
    /// How long the access and the refresh token live from the access token's issue.
    pub fn lifetimes(&self) -> (time::Duration, time::Duration) {
        let iat =
            OffsetDateTime::from_unix_timestamp(self.claims.iat).unwrap_or(self.refresh_until);
        let access = time::Duration::seconds(self.claims.exp - self.claims.iat);
        let refresh = time::Duration::seconds((self.refresh_until - iat).whole_seconds());
        (access, refresh)
    }
}

fn duration(std: std::time::Duration) -> time::Duration {
    time::Duration::try_from(std).unwrap_or(time::Duration::days(365))
}

/// Keeps printable ASCII of the client's `User-Agent`, at most [`MAX_USER_AGENT`] bytes.
pub fn clean_user_agent(raw: Option<&str>) -> String {
    raw.unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(MAX_USER_AGENT)
        .collect()
}

/// How a login proved who it is, recorded in its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginBy {
    Password,
    /// The password, then a second step passed with this method.
    SecondFactor(Method),
    /// A passkey alone (`login.passkey`).
    Passkey,
}

/// Starts a session for `user`, whose password was just verified against the row as read, from
/// device `device`. Committed only if the account has not changed since that read (else the
/// login is refused: as a wrong password when the account is gone, `AccountChanged` when it
/// changed); the account's oldest sessions past `max_sessions_per_user` end with it.
/// `by`: how the login proved itself, recorded in its event; `remember`: whether the session
/// is to outlive the browser (and its lifetime, see [`super::lifetime`]).
pub async fn start(
    app: &App,
    user: &UserRow,
    source: Source,
    device: &Nonce,
    by: LoginBy,
    remember: bool,
) -> Result<Issued, AuthError> {
    let user_agent = source.user_agent.clone().unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    let bounds = lifetime::Policy::of(&app.config).bounds(now, remember, now);
    let sid = Uuid::new_v4();
    let subject = Subject {
        uid: account_uid(&user.id)?,
        username: &user.username,
        role: Role::from_stored(&user.role),
    };
    let (access_token, claims) = app
        .codec
        .issue_until(subject, sid, Uuid::now_v7(), now, Some(bounds.access_until))
        .map_err(signing_failed)?;
    let refresh_token = app.refresh_tokens.mint();
    let login = Login {
        user_id: user.id.clone(),
        generation: user.generation,
        username: user.username.clone(),
        session_id: sid,
        access_issued_at: OffsetDateTime::from_unix_timestamp(claims.iat).unwrap_or(now),
        device_label: device_label::label(&user_agent),
        user_agent,
        ip: source.ip.map(|ip| ip.to_string()),
        refresh_hash: RefreshTokens::hash(&refresh_token),
        now,
        refresh_expires_at: bounds.refresh_until,
        access_expires_at: claims.expires_at(),
        remember,
        device: DeviceKey::id_of(device),
        max_sessions: i64::from(app.config.limits.max_sessions_per_user),
        max_devices: i64::from(app.config.limits.max_devices_per_user),
    };
    let kind = match by {
        LoginBy::Passkey => Kind::LoginPasskey,
        _ => Kind::LoginSucceeded,
    };
    let mut event = Event::new(kind, Actor::Subject, source)
        .about(&user.username, &user.id)
        .session(sid);
    if let LoginBy::SecondFactor(method) = by {
        event = event.with("second_factor", method.as_str());
    }
    match app.revocation.start_session(login, event).await {
        Ok(_) => Ok(Issued {
            access_token,
            claims,
            refresh_token,
            refresh_until: bounds.refresh_until,
            remember,
        }),
        Err(ChangeError::Refused(Refused::NotFound)) => Err(AuthError::InvalidCredentials),
        Err(e) => Err(AuthError::from_change(e)),
    }
}

/// Rotates `presented`: a new access token and the successor refresh token. A token rotated
/// longer than the grace ago ends its whole session (someone else holds a copy).
pub async fn refresh(app: &App, presented: &str, source: Source) -> Result<Issued, AuthError> {
    if !RefreshTokens::well_formed(presented) {
        return Err(AuthError::RefreshDead);
    }
    let now = OffsetDateTime::now_utc();
    let successor = app.refresh_tokens.successor(presented);
    let presented_hash = RefreshTokens::hash(presented);
    let successor_hash = RefreshTokens::hash(&successor);
    let grace = duration(app.config.refresh.reuse_grace);
    let jti = Uuid::now_v7();
    let policy = lifetime::Policy::of(&app.config);
    let bounds = move |created_at, remember| {
        let b = policy.bounds(from_db_time(created_at), remember, now);
        Ends {
            refresh: to_db_time(b.refresh_until),
            access: to_db_time(b.access_until),
        }
    };
    let rotation = app
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
                        bounds: &bounds,
                    },
                )
            })
        })
        .await?;
    let continued = match rotation {
        Rotation::Rotated(c) | Rotation::WithinGrace(c) => c,
        Rotation::Dead => return Err(AuthError::RefreshDead),
        Rotation::Reused { session_id } => {
            let sid = Uuid::parse_str(&session_id).map_err(|_| AuthError::RefreshDead)?;
            let event = Event::new(Kind::RefreshReuseDetected, Actor::System, source).session(sid);
            app.revocation.end_session(sid, None, Some(event)).await?;
            log::warn!("refresh token reuse: session {sid} ended");
            return Err(AuthError::RefreshReused);
        }
    };
    let sid = Uuid::parse_str(&continued.session_id).map_err(|_| AuthError::RefreshDead)?;
    let subject = Subject {
        uid: account_uid(&continued.user_id)?,
        username: &continued.username,
        role: Role::from_stored(&continued.role),
    };
    let access_until = from_db_time(continued.ends.access);
    let (access_token, claims) = app
        .codec
        .issue_until(subject, sid, jti, now, Some(access_until))
        .map_err(signing_failed)?;
    Ok(Issued {
        access_token,
        claims,
        refresh_token: successor,
        refresh_until: from_db_time(continued.ends.refresh),
        remember: continued.remember,
    })
}

/// A live session as its owner or an admin sees it.
pub struct Listed {
    pub row: SessionRow,
    pub current: bool,
}

/// The live sessions of the account `user_id`, newest first; `current` marks the caller's.
pub async fn list(db: &Db, user_id: &str, current: Uuid) -> Result<Vec<Listed>, AuthError> {
    let id = user_id.to_owned();
    let now = to_db_time(OffsetDateTime::now_utc());
    let rows = db
        .run(move |conn| sessions::live_for(conn, &id, now))
        .await?;
    let current = current.to_string();
    Ok(rows
        .into_iter()
        .map(|row| Listed {
            current: current == row.id,
            row,
        })
        .collect())
}

/// The longest name a session or a passkey may be given, in characters.
pub const MAX_NAME: usize = 64;

/// A name a user gives one of their things (a session, a passkey), trimmed: 1 to [`MAX_NAME`]
/// characters, no control characters.
pub fn valid_name(name: &str) -> Result<String, AuthError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(AuthError::Invalid(format!(
            "`name` must be 1 to {MAX_NAME} characters, without control characters"
        )));
    }
    Ok(name.to_owned())
}

/// Names the caller's live session `id` (1 to 64 printable characters); `NoSuchSession` when
/// it is not one of theirs.
pub async fn rename(app: &App, user_id: &str, id: Uuid, name: &str) -> Result<String, AuthError> {
    let name = valid_name(name)?;
    let (owner, stored) = (user_id.to_owned(), name.clone());
    let now = to_db_time(OffsetDateTime::now_utc());
    let renamed = app
        .db
        .run(move |conn| {
            write_transaction(conn, |c| {
                sessions::rename(c, &id.to_string(), &owner, &stored, now)
            })
        })
        .await?;
    match renamed {
        true => Ok(name),
        false => Err(AuthError::NoSuchSession),
    }
}

/// The account called `username` (whatever its case) and its live sessions, for an admin;
/// `current` marks the admin's own if listed.
pub async fn list_of(
    db: &Db,
    username: &str,
    current: Uuid,
) -> Result<(UserRow, Vec<Listed>), AuthError> {
    let user = find(db, Username::parse(username).ok())
        .await?
        .ok_or(AuthError::NoSuchUser)?;
    let listed = list(db, &user.id, current).await?;
    Ok((user, listed))
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
