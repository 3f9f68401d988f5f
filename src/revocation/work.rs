//! What a request asks the revocation writer to commit ([`Work`], a login's session among it),
//! and what the writer answers ([`Outcome`]).

use time::OffsetDateTime;
use uuid::Uuid;

use super::account::{AccountChange, Refused};
use super::view::Entry;
use crate::audit::Kind;
use crate::db::blacklist;

/// A login whose password was verified against the account at `generation`.
pub struct Login {
    pub user_id: String,
    pub generation: i64,
    pub username: String,
    pub session_id: Uuid,
    /// The access token's `iat`, whole seconds.
    pub access_issued_at: OffsetDateTime,
    pub user_agent: String,
    /// The client's address and the device label shown in session lists.
    pub ip: Option<String>,
    pub device_label: String,
    pub refresh_hash: String,
    pub now: OffsetDateTime,
    pub refresh_expires_at: OffsetDateTime,
    pub access_expires_at: OffsetDateTime,
    /// Persistent cookies and the longer lifetime (`remember`).
    pub remember: bool,
    /// The device cookie's nonce (hex): the one presented, or a new one.
    pub device: String,
    pub max_sessions: i64,
    pub max_devices: i64,
}

/// What a request asks the writer to commit.
pub enum Work {
    /// A logout: the token's id (when it still needs refusing) and the token's session.
    /// `session` is the token's session and its `iat` plus the refresh grace: only a token
    /// issued that late ends it (the session's latest, or one just before it).
    Logout {
        token: Option<(blacklist::Entry, Entry)>,
        session: Option<(Uuid, OffsetDateTime)>,
    },
    /// Ends one session if it is live (and, with `owner`, belongs to that account id).
    EndSession { id: Uuid, owner: Option<String> },
    /// Ends every session of the account `username` but `keep`, refuses every access token of
    /// theirs issued so far (a cut-off kept until `kept_until`, Unix seconds), forgets their
    /// devices and moves the account's generation on. `keep` is re-issued a token.
    EndUser {
        username: String,
        keep: Option<Uuid>,
        kept_until: i64,
        account: Option<AccountChange>,
    },
    /// Starts a session, if the account has not changed since its password was checked.
    StartSession(Box<Login>),
}

/// What was committed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// A logout's token id was new to the blacklist.
    pub token_added: bool,
    pub sessions_ended: usize,
    /// The account change refused; nothing of this job was committed.
    pub refused: Option<Refused>,
    /// The id of the access token the kept session of an `EndUser` is to be issued (taken after
    /// the cut-off, so that the cut-off does not refuse it).
    pub reissued: Option<Uuid>,
    /// The account a job acted on, with its name as stored.
    pub account: Option<(String, String)>,
    /// The kind of the audit event written with the job, if one was.
    pub recorded: Option<Kind>,
}
