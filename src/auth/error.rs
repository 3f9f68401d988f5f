//! What the account, login and session services answer when a step does not happen: domain
//! outcomes, free of HTTP. The HTTP layer maps each to a status and a message in one place
//! (`http::error`).

use std::time::Duration;

use crate::db::DbError;
use crate::revocation::{ChangeError, Refused};

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// Failed password checks.
    Failures,
    /// Logins from this client, each counted whatever its outcome.
    Logins,
    /// Sign-ups from this client, each counted whatever its outcome.
    SignUps,
    /// This client already has the most password checks in flight that it may.
    InFlight,
}

impl Throttled {
    /// The limit's name, as the audit trail records it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Failures => "failures",
            Self::Logins => "logins",
            Self::SignUps => "sign_ups",
            Self::InFlight => "in_flight",
        }
    }
}

/// Why an account, login or session step did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// An unknown user or a wrong password: one outcome for both, so a guesser learns nothing.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The password was right, but the account is locked (until `until`, or until unlocked).
    /// Only a caller who proved the password learns it; a wrong one stays `InvalidCredentials`.
    #[error("account locked")]
    Locked { until: Option<time::OffsetDateTime> },
    /// A wrong second-factor code (or one already used); `challenge_ended` when it was the
    /// challenge's last allowed failure.
    #[error("invalid code")]
    InvalidCode { challenge_ended: bool },
    /// No pending second step for this cookie: never was, expired, used, or voided by a change
    /// to the account since its password was checked.
    #[error("no pending second factor")]
    ChallengeGone,
    /// A passkey's answer that does not verify (signature, origin, RP id, user verification, a
    /// counter that went backwards), or whose ceremony is not pending (never was, expired, or
    /// already answered: a replay).
    #[error("passkey refused")]
    PasskeyRefused,
    /// No passkey of that id belongs to the caller.
    #[error("no such passkey")]
    NoSuchPasskey,
    /// A second-factor change that does not fit the account's state (TOTP already on, none
    /// pending, not on); the text says which and is safe to show.
    #[error("second factor: {0}")]
    FactorState(&'static str),
    /// Input that cannot be a username or a password; the text says why and is safe to show.
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("username taken")]
    UsernameTaken,
    /// A limit refused the attempt; it may be tried again after `wait`.
    #[error("throttled ({limit:?})")]
    Throttled { limit: Throttled, wait: Duration },
    /// The password hashing queue is full: nothing was tried.
    #[error("password hashing queue full")]
    Busy,
    /// No account of that name (an admin's change).
    #[error("no such user")]
    NoSuchUser,
    /// No live session of that id belongs to the caller.
    #[error("no such session")]
    NoSuchSession,
    /// The caller's own account was removed meanwhile.
    #[error("account gone")]
    AccountGone,
    /// The change would leave the server without an admin.
    #[error("last admin")]
    LastAdmin,
    /// The account changed while this request was checked; nothing was committed.
    #[error("account changed meanwhile")]
    AccountChanged,
    /// A refresh token that is unknown, expired, or of an ended session.
    #[error("refresh token dead")]
    RefreshDead,
    /// A refresh token rotated longer than the grace ago: its session has ended.
    #[error("refresh token reused")]
    RefreshReused,
    /// The store did not answer or did not commit.
    #[error(transparent)]
    Store(#[from] DbError),
    /// A step that cannot fail on good data failed (signing, hashing); logged where it did.
    #[error("internal failure")]
    Internal,
}

impl AuthError {
    /// Whether the attempt told nothing about the password (the server could not try): such an
    /// attempt is given back to the throttle rather than counted.
    pub fn untried(&self) -> bool {
        match self {
            Self::Busy => true,
            Self::Store(DbError::Internal(_)) => false,
            Self::Store(_) => true,
            _ => false,
        }
    }

    /// An account change refused, read as a change to someone else's account (an admin's).
    pub fn from_change(err: ChangeError) -> Self {
        match err {
            ChangeError::Refused(Refused::NotFound) => Self::NoSuchUser,
            ChangeError::Refused(Refused::LastAdmin) => Self::LastAdmin,
            ChangeError::Refused(Refused::Changed) => Self::AccountChanged,
            ChangeError::Store(e) => Self::Store(e),
        }
    }
}
