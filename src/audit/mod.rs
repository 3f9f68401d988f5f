//! The audit trail: security events (logins, failures, throttling, logouts, account changes),
//! free of HTTP.
//!
//! An event that records a change is written by the transaction that makes the change: the
//! revocation writer's for everything that ends sessions or starts one, the account's own for
//! the rest. That gives no change without its event and no event without its change. Throttled
//! attempts are counted, not listed ([`floods`]), so a flood of 429s cannot grow the table
//! faster than one row per client and name per minute.

pub mod floods;
pub mod listing;

use std::net::IpAddr;
use std::time::Duration;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::audit_events::{self, NewEvent};
use crate::db::{to_db_time, Db, DbError};

/// What happened. Later features add their kinds here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    Logout,
    LogoutAll,
    SessionEnded,
    /// A session past its idle or absolute end, ended by the purge.
    SessionExpired,
    RefreshReuseDetected,
    PasswordChanged,
    UserCreated,
    UserDeleted,
    RoleChanged,
    UserLocked,
    UserUnlocked,
    MfaEnabled,
    MfaDisabled,
    MfaFailed,
    RecoveryCodeUsed,
    PasskeyAdded,
    PasskeyRemoved,
    LoginPasskey,
}

impl Kind {
    pub const ALL: [Kind; 21] = [
        Kind::LoginSucceeded,
        Kind::LoginFailed,
        Kind::LoginThrottled,
        Kind::Logout,
        Kind::LogoutAll,
        Kind::SessionEnded,
        Kind::SessionExpired,
        Kind::RefreshReuseDetected,
        Kind::PasswordChanged,
        Kind::UserCreated,
        Kind::UserDeleted,
        Kind::RoleChanged,
        Kind::UserLocked,
        Kind::UserUnlocked,
        Kind::MfaEnabled,
        Kind::MfaDisabled,
        Kind::MfaFailed,
        Kind::RecoveryCodeUsed,
        Kind::PasskeyAdded,
        Kind::PasskeyRemoved,
        Kind::LoginPasskey,
    ];

    /// The name stored and shown (`login.succeeded`); stable, filters and SIEMs match on it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LoginSucceeded => "login.succeeded",
            Kind::LoginFailed => "login.failed",
            Kind::LoginThrottled => "login.throttled",
            Kind::Logout => "logout",
            Kind::LogoutAll => "logout_all",
            Kind::SessionEnded => "session.ended",
            Kind::SessionExpired => "session.expired",
            Kind::RefreshReuseDetected => "refresh.reuse_detected",
            Kind::PasswordChanged => "password.changed",
            Kind::UserCreated => "user.created",
            Kind::UserDeleted => "user.deleted",
            Kind::RoleChanged => "role.changed",
            Kind::UserLocked => "user.locked",
            Kind::UserUnlocked => "user.unlocked",
            Kind::MfaEnabled => "mfa.enabled",
            Kind::MfaDisabled => "mfa.disabled",
            Kind::MfaFailed => "mfa.failed",
            Kind::RecoveryCodeUsed => "recovery_code.used",
            Kind::PasskeyAdded => "passkey.added",
            Kind::PasskeyRemoved => "passkey.removed",
            Kind::LoginPasskey => "login.passkey",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// Where a request came from, as far as the server can tell.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub ip: Option<IpAddr>,
    /// Already cleaned and cut (see `session_tokens::clean_user_agent`).
    pub user_agent: Option<String>,
}

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The account the event is about (its name as stored, filled in when the event is
    /// written).
    Subject,
    /// Someone else: an admin, by name.
    Named(String),
    /// The server itself (a refresh-token reuse, a cap on sessions).
    System,
    /// An operator at the server's command line (`jwt-blacklist user ...`): stored and shown
    /// as `cli`, since the command knows no account of theirs.
    Cli,
}

/// One event, before it is written.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub actor: Actor,
    /// The account concerned, by name as stored (or as typed, for a failure on no account).
    pub username: Option<String>,
    /// The account concerned, by id: what a user's own list selects on.
    pub user_id: Option<String>,
    pub session_id: Option<Uuid>,
    pub source: Source,
    /// Small, and never a secret: counts, roles, reasons, a limit's name.
    pub detail: Map<String, Value>,
}

impl Event {
    pub fn new(kind: Kind, actor: Actor, source: Source) -> Self {
        Self {
            kind,
            actor,
            username: None,
            user_id: None,
            session_id: None,
            source,
            detail: Map::new(),
        }
    }

    /// About the account `id` called `name`.
    pub fn about(mut self, name: &str, id: &str) -> Self {
        self.username = Some(name.to_owned());
        self.user_id = Some(id.to_owned());
        self
    }

    /// About a name that may not be an account (a failed login's, as typed).
    pub fn named(mut self, name: &str) -> Self {
        self.username = Some(name.to_owned());
        self
    }

    pub fn session(mut self, id: Uuid) -> Self {
        self.session_id = Some(id);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.detail.insert(key.to_owned(), value.into());
        self
    }

    /// The row to insert at `at`.
    pub fn row(&self, at: OffsetDateTime) -> NewEvent {
        let actor = match &self.actor {
            Actor::Subject => self
                .username
                .clone()
                .unwrap_or_else(|| "anonymous".to_owned()),
            Actor::Named(name) => name.clone(),
            Actor::System => "system".to_owned(),
            Actor::Cli => "cli".to_owned(),
        };
        NewEvent {
            at: to_db_time(at),
            kind: self.kind.as_str().to_owned(),
            actor,
            username: self.username.clone(),
            user_id: self.user_id.clone(),
            session_id: self.session_id.map(|s| s.to_string()),
            ip: self.source.ip.map(|ip| ip.to_string()),
            user_agent: self.source.user_agent.clone().filter(|ua| !ua.is_empty()),
            detail: Value::Object(self.detail.clone()).to_string(),
            count: 1,
            dedup: None,
        }
    }
}

/// Deletes events older than `retention`, `batch` rows per statement, on a background thread;
/// returns how many went.
pub async fn purge(db: &Db, retention: Duration, batch: i64) -> Result<usize, DbError> {
    let cutoff = OffsetDateTime::now_utc() - retention;
    let db = db.clone();
    crate::background::run("audit-purge", move || {
        db.run_blocking(|conn| audit_events::purge(conn, to_db_time(cutoff), batch))
    })
    .await
    .map_err(DbError::Internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("login"), None);
    }

    #[test]
    fn the_actor_of_a_subject_event_is_the_account_itself() {
        let event = Event::new(Kind::Logout, Actor::Subject, Source::default()).about("ann", "id");
        assert_eq!(event.row(OffsetDateTime::now_utc()).actor, "ann");
        let event = Event::new(Kind::SessionEnded, Actor::System, Source::default());
        assert_eq!(event.row(OffsetDateTime::now_utc()).actor, "system");
        let event = Event::new(Kind::UserLocked, Actor::Cli, Source::default()).about("ann", "id");
        assert_eq!(event.row(OffsetDateTime::now_utc()).actor, "cli");
    }
}
