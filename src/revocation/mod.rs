//! Revocation is decided here, and only here: the guard asks [`Revocation::check`]; logout,
//! ending a session and ending every session of a user (logout everywhere, a password or role
//! change, a removal) go through [`Revocation::logout`], [`Revocation::end_session`] and
//! [`Revocation::end_user_sessions`]; the purge calls [`Revocation::purge`].
//!
//! In the default `memory` mode the answer comes from an in-process [`View`] of the blacklist:
//! loaded at start, written through on logout (commit, then view, then answer), trimmed by the
//! purge, and on PostgreSQL kept current with the other instances by a listener. When the view
//! cannot vouch for its own freshness the check fails, and the guard answers 503. In `database`
//! mode every check is one indexed lookup in the table.

mod account;
mod expiry;
mod freshness;
mod listener;
mod listing;
mod load;
mod logouts;
mod memory;
mod notice;
mod pacing;
mod view;
mod work;
mod writer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;
use uuid::Uuid;

pub use self::account::{AccountChange, Refused};
pub use self::freshness::Freshness;
pub use self::listener::APPLICATION_NAME as LISTENER_APPLICATION_NAME;
pub use self::listing::HourCount;
use self::memory::Memory;
use self::pacing::Pacer;
pub use self::view::{Entry, Presented, View};
pub use self::writer::{Login, Outcome};
use self::writer::{Work, Writer};
use crate::audit::Event;
use crate::config::{RevocationCheck, RevocationSettings, LEEWAY_SECS};
use crate::db::user_cutoffs;
use crate::db::{blacklist, revocations_hourly, sessions, sessions_over, to_db_time, Db, DbError};
use crate::telemetry::metrics::Metrics;

/// A token to revoke: its id, owner and expiry (the row is kept until then).
#[derive(Debug, Clone)]
pub struct Revoked {
    pub jti: Uuid,
    pub username: String,
    pub expires_at: OffsetDateTime,
}

/// Why a check has no answer; the caller must refuse the request (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("the revocation view has not been confirmed current within revocation_max_staleness")]
    Stale,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why an account change or a login's session was not committed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The account refused it; nothing of the job was committed.
    #[error("refused: {0:?}")]
    Refused(Refused),
    /// The database did not commit it.
    #[error(transparent)]
    Store(#[from] DbError),
}

/// What the metrics show of the view.
pub struct ViewState {
    pub entries: usize,
    /// `None` while the view has no proof of being current.
    pub staleness: Option<std::time::Duration>,
    pub current: bool,
}

/// Answers "is this token revoked?" and records revocations. Cheap to clone.
#[derive(Clone)]
pub struct Revocation {
    db: Db,
    /// The longest an access token lives: how long a per-user cut-off must be kept.
    token_ttl: std::time::Duration,
    /// `None` in `database` mode.
    memory: Option<Memory>,
    writer: Writer,
}

/// Stops the background threads when dropped (kept in Rocket's state, so: with the server).
pub struct Shutdown {
    stop: Arc<AtomicBool>,
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl Revocation {
    /// Builds the view (loading the table) and starts the writer and, on PostgreSQL, the
    /// listener; returns once the view is current. The error says what failed.
    pub async fn start(
        db: Db,
        settings: RevocationSettings,
        metrics: Metrics,
    ) -> Result<(Self, Shutdown), String> {
        let stop = Arc::new(AtomicBool::new(false));
        let shutdown = Shutdown { stop: stop.clone() };
        let memory = match settings.check {
            RevocationCheck::Database => None,
            RevocationCheck::Memory => Some(Memory::start(&db, settings, stop.clone()).await?),
        };
        let view = memory.as_ref().map(|m| m.view.clone());
        let writer = Writer::spawn(db.clone(), view, metrics, stop)
            .map_err(|e| format!("cannot start the revocation writer: {e}"))?;
        let token_ttl = settings.token_ttl;
        Ok((
            Self {
                db,
                token_ttl,
                memory,
                writer,
            },
            shutdown,
        ))
    }

    /// Whether the presented token is revoked; `Err` when that cannot be known right now.
    pub async fn check(&self, token: Presented<'_>) -> Result<bool, CheckError> {
        match &self.memory {
            Some(memory) => memory.check(&token),
            None => {
                let jti = token.jti.to_string();
                let sid = token.sid.to_string();
                let username = token.username.to_owned();
                let facts = self
                    .db
                    .run(move |conn| sessions::revocation_facts(conn, &jti, &sid, &username))
                    .await?;
                let cut = facts
                    .issued_before
                    .and_then(|c| uuid::Uuid::parse_str(&c).ok())
                    .is_some_and(|c| token.issued_by(c));
                Ok(facts.token_or_session || cut)
            }
        }
    }

    /// Logs a token out: commits its id (when `token` is given) and the end of its session
    /// (`session`: the session, and the token's `iat` plus the refresh grace: it ends the
    /// session only if the session's latest token was issued by then), then puts both into the
    /// view. `event` is written with it if it revoked anything.
    pub async fn logout(
        &self,
        token: Option<Revoked>,
        session: Option<(Uuid, OffsetDateTime)>,
        now: OffsetDateTime,
        event: Option<Event>,
    ) -> Result<Outcome, DbError> {
        let token = token.map(|token| {
            let row = blacklist::Entry {
                jti: token.jti.to_string(),
                username: token.username,
                expires_at: to_db_time(token.expires_at),
                blacklisted_at: to_db_time(now),
            };
            let entry = Entry::Token {
                jti: token.jti,
                exp: token.expires_at.unix_timestamp(),
            };
            (row, entry)
        });
        self.writer
            .submit(Work::Logout { token, session }, event)
            .await
    }

    /// Ends the session `id` if it is live (and, given `owner`, an account id, theirs); returns
    /// whether it was. `event` is written with it if it was.
    pub async fn end_session(
        &self,
        id: Uuid,
        owner: Option<&str>,
        event: Option<Event>,
    ) -> Result<bool, DbError> {
        let owner = owner.map(str::to_owned);
        let outcome = self
            .writer
            .submit(Work::EndSession { id, owner }, event)
            .await?;
        Ok(outcome.sessions_ended > 0)
    }

    /// Ends every session of the account `username` but `keep`, refuses every access token of
    /// theirs issued until now and voids their device cookies, after applying `account` in the
    /// same transaction. Returns what was committed (with the id `keep`'s new token must carry),
    /// or why the account change refused (then nothing happened, `event` included).
    pub async fn end_user_sessions(
        &self,
        username: &str,
        keep: Option<Uuid>,
        account: Option<AccountChange>,
        event: Event,
    ) -> Result<Outcome, ChangeError> {
        let kept_until = OffsetDateTime::now_utc().unix_timestamp()
            + i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let outcome = self
            .writer
            .submit(
                Work::EndUser {
                    username: username.to_owned(),
                    keep,
                    kept_until,
                    account,
                },
                Some(event),
            )
            .await?;
        match outcome.refused {
            Some(refused) => Err(ChangeError::Refused(refused)),
            None => Ok(outcome),
        }
    }

    /// Commits a login's session unless the account changed since its password was checked;
    /// ends its oldest sessions past the cap. Returns how many ended, or why it refused.
    pub async fn start_session(&self, login: Login, event: Event) -> Result<usize, ChangeError> {
        let outcome = self
            .writer
            .submit(Work::StartSession(Box::new(login)), Some(event))
            .await?;
        match outcome.refused {
            Some(refused) => Err(ChangeError::Refused(refused)),
            None => Ok(outcome.sessions_ended),
        }
    }

    /// Deletes rows whose tokens the validator would refuse anyway, and trims the view alike,
    /// in batches paced by their own duration (see [`pacing`]), starting at `batch` rows.
    pub async fn purge(&self, now: OffsetDateTime, batch: i64) -> Result<usize, DbError> {
        let cutoff = purge_cutoff(now);
        let view = self.memory.as_ref().map(|m| m.view.clone());
        let db = self.db.clone();
        let purge = move || {
            if let Some(view) = view {
                view.trim(cutoff.unix_timestamp());
            }
            let cutoff = to_db_time(cutoff);
            let mut pace = Pacer::new(batch);
            let mut deleted =
                pace.drain(|n| db.run_blocking(|c| blacklist::delete_expired(c, cutoff, n)))?;
            deleted += pace.drain(|n| {
                db.run_blocking(|c| sessions_over::delete_refresh_tokens(c, cutoff, n))
            })?;
            deleted +=
                pace.drain(|n| db.run_blocking(|c| sessions_over::delete_sessions(c, cutoff, n)))?;
            deleted += db.run_blocking(|c| user_cutoffs::purge(c, cutoff))?;
            let hours = cutoff - revocations_hourly::KEPT;
            db.run_blocking(|c| revocations_hourly::purge(c, hours))?;
            log::debug!(
                target: "jwt_blacklist::purge",
                busy_ms = pace.busy.as_millis(), rested_ms = pace.rested.as_millis(),
                last_batch = pace.batch();
                "purge paced"
            );
            Ok(deleted)
        };
        tokio::task::spawn_blocking(purge)
            .await
            .map_err(|e| DbError::Internal(format!("the purge failed: {e}")))?
    }

    /// Whether checks can be answered now (for the readiness probe).
    pub fn ready(&self) -> Result<(), CheckError> {
        match &self.memory {
            Some(m) if !m.freshness.is_current(Instant::now()) => Err(CheckError::Stale),
            _ => Ok(()),
        }
    }

    /// Entries in the view (`None` in database mode).
    pub fn view_len(&self) -> Option<usize> {
        self.memory.as_ref().map(|m| m.view.len())
    }

    /// The view's size and freshness, for the metrics (database mode has no view: it is
    /// reported empty and current).
    pub fn view_state(&self) -> ViewState {
        let now = Instant::now();
        match &self.memory {
            Some(m) => ViewState {
                entries: m.view.len(),
                staleness: m.freshness.staleness(now),
                current: m.freshness.is_current(now),
            },
            None => ViewState {
                entries: 0,
                staleness: Some(std::time::Duration::ZERO),
                current: true,
            },
        }
    }

    /// How many times the PostgreSQL listener has connected (`None` without a listener).
    pub fn listener_sessions(&self) -> Option<u64> {
        let listener = self.memory.as_ref()?.listener.as_ref()?;
        Some(listener.sessions.load(Ordering::Acquire))
    }
}

/// The whole memory-mode check: the staleness rule, then the lookup. Public so that the
/// benchmarks measure exactly what the guard runs.
pub fn check_view(
    view: &View,
    freshness: &Freshness,
    token: &Presented<'_>,
) -> Result<bool, CheckError> {
    if !freshness.is_current(Instant::now()) {
        return Err(CheckError::Stale);
    }
    Ok(view.is_revoked(token))
}

/// Rows expiring strictly before this instant may go. The validator compares in whole seconds
/// and accepts a token while `exp >= now_secs - leeway`, so the cutoff is taken in whole seconds
/// too: a sub-second cutoff would drop a row up to a second before its token stops working.
/// (Across instances this assumes clocks agree to within the leeway.)
pub fn purge_cutoff(now: OffsetDateTime) -> OffsetDateTime {
    let secs = now.unix_timestamp() - LEEWAY_SECS as i64;
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_keeps_every_row_whose_token_the_validator_still_accepts() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).expect("ts")
            + time::Duration::milliseconds(900);
        let cutoff = purge_cutoff(now);
        // At now_secs = 1_000_000 the validator still accepts exp = 999_995 (= now_secs - 5).
        let last_accepted = OffsetDateTime::from_unix_timestamp(999_995).expect("ts");
        assert!(
            last_accepted >= cutoff,
            "a row still needed would be purged"
        );
        let first_refused = OffsetDateTime::from_unix_timestamp(999_994).expect("ts");
        assert!(first_refused < cutoff, "a dead row would be kept");
    }
}
