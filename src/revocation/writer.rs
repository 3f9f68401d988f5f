//! Durable revocations, committed in groups.
//!
//! Every logout must be committed (and, on SQLite, synced to disk) before it is answered. One
//! thread takes the revocations waiting at that moment and commits them in one transaction, so
//! a burst of N logouts costs one sync instead of N, and a lone logout waits for nobody. After
//! the commit, and before any caller is answered, the entries go into this instance's view (and
//! out to the other instances, by a NOTIFY that commits with the rows).
//!
//! A revocation is a token id, the end of one session, or the end of every session of a user
//! with a per-user cut-off; the last may carry a change to the account (a new password, a new
//! role, its removal) that commits with it or not at all.
//!
//! Each job may carry the audit event that records it: written in the job's transaction, and
//! only when the job did something (a refused change, or a logout that revoked nothing, writes
//! none).
//!
//! Logins commit their session here too: a login's session is committed only if the account's
//! generation is the one read before its password check, in the same transaction as the end
//! of its oldest sessions past the cap. So a login in flight and an account change are ordered
//! by the database (the account's row), and whichever comes second sees the first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::oneshot;
use uuid::Uuid;

use super::account::Refused;
use super::logouts;
use super::notice;
use super::view::{Entry, View};
pub use super::work::{Login, Outcome, Work};
use crate::audit::Event;
use crate::db::audit_events::NewEvent;
use crate::db::group_tail::{self, Tail};
use crate::db::sessions::{EndBy, NewSession};
use crate::db::users;
use crate::db::{blacklist, devices, from_db_time, sessions, user_cutoffs};
use crate::db::{to_db_time, write_transaction, Db, DbConnection, DbError};
use crate::telemetry::metrics::Metrics;

/// More than this many waiting revocations go in the next transaction.
const MAX_GROUP: usize = 512;

/// How often an idle writer looks whether the server is stopping.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// One revocation to commit, and where to send the outcome.
struct Job {
    work: Work,
    event: Option<Event>,
    done: oneshot::Sender<Result<Outcome, DbError>>,
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    /// How long a caller waits for its commit (`db_timeout_ms`).
    timeout: Duration,
}

impl Writer {
    /// Starts the writer thread; it ends when `stop` is set or every handle is gone.
    pub fn spawn(
        db: Db,
        view: Option<Arc<View>>,
        metrics: Metrics,
        stop: Arc<AtomicBool>,
    ) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        let timeout = db.timeout();
        std::thread::Builder::new()
            .name("revocation-writer".into())
            .spawn(move || {
                let done = Done {
                    view: view.as_deref(),
                    metrics: &metrics,
                };
                run(&db, done, &queue, &stop)
            })?;
        Ok(Self { jobs, timeout })
    }

    /// Commits the work; `Err` means it may not be committed. Gives up after `db_timeout_ms`
    /// (a lock, a lost connection, a long queue): the caller answers 503, never a 200 for a
    /// revocation that is not durable. A job given up on before the writer reached it is
    /// dropped, not committed behind the caller's back; one already in a transaction may still
    /// commit, which only revokes what the client asked to revoke.
    pub async fn submit(&self, work: Work, event: Option<Event>) -> Result<Outcome, DbError> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { work, event, done })
            .map_err(|_| DbError::Internal("the revocation writer has stopped".into()))?;
        match tokio::time::timeout(self.timeout, outcome).await {
            Ok(answer) => {
                answer.map_err(|_| DbError::Internal("the revocation writer has stopped".into()))?
            }
            Err(_) => Err(DbError::TimedOut(self.timeout)),
        }
    }
}

/// Where committed work goes before its caller is answered.
#[derive(Clone, Copy)]
struct Done<'a> {
    view: Option<&'a View>,
    metrics: &'a Metrics,
}

fn run(db: &Db, done: Done<'_>, queue: &mpsc::Receiver<Job>, stop: &AtomicBool) {
    loop {
        let first = match queue.recv_timeout(IDLE_POLL) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) if stop.load(Ordering::Acquire) => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        // Callers that gave up were answered 503: committing their work now would, for an
        // account change, do what the client was told did not happen.
        group.retain(|job| !job.done.is_closed());
        if group.is_empty() {
            continue;
        }
        match commit(db, &group) {
            Ok(results) => finish(done, group, results),
            // The database refused the group: one bad row must not fail the others, so retry
            // each alone. (An unreachable database fails them all at once.)
            Err(DbError::Query(_)) if group.len() > 1 => {
                for job in group.into_iter().filter(|job| !job.done.is_closed()) {
                    match commit(db, std::slice::from_ref(&job)) {
                        Ok(results) => finish(done, vec![job], results),
                        Err(e) => {
                            let _ = job.done.send(Err(e));
                        }
                    }
                }
            }
            Err(e) => {
                let e = e.to_string();
                for job in group {
                    let _ = job.done.send(Err(DbError::Unavailable(e.clone())));
                }
            }
        }
    }
}

/// Commits every job of the group and announces its entries, in one transaction.
fn commit(db: &Db, group: &[Job]) -> Result<Vec<(Outcome, Vec<Entry>)>, DbError> {
    db.run_blocking(|conn| {
        write_transaction(conn, |conn| {
            let now = OffsetDateTime::now_utc();
            let mut events = Vec::new();
            // On PostgreSQL the group's logouts go first, all in one statement.
            let works: Vec<&Work> = group.iter().map(|job| &job.work).collect();
            let logouts = logouts::execute_all(conn, &works, now)?;
            let results = group
                .iter()
                .zip(logouts)
                .map(|(job, batched)| {
                    let (mut outcome, entries) = match batched {
                        Some(executed) => executed,
                        None => execute(conn, &job.work, now)?,
                    };
                    events.extend(record(conn, job, &mut outcome, now)?);
                    Ok::<_, diesel::result::Error>((outcome, entries))
                })
                .collect::<Result<Vec<_>, _>>()?;
            // One per logout, session ended or logout-all that revoked anything: what a
            // person did, not how many rows it took.
            let revoked = results
                .iter()
                .filter(|(o, _)| o.token_added || o.sessions_ended > 0)
                .count();
            // Notices go to the other instances, which only PostgreSQL has.
            let notices = match conn {
                DbConnection::Pg(_) => {
                    let entries: Vec<Entry> = results
                        .iter()
                        .flat_map(|(_, entries)| entries.iter().cloned())
                        .collect();
                    notice::encode(&entries)
                }
                DbConnection::Sqlite(_) => Vec::new(),
            };
            let tail = Tail {
                events: &events,
                revoked: (to_db_time(now), revoked as i64),
                channel: notice::CHANNEL,
                notices: &notices,
            };
            group_tail::write(conn, &tail)?;
            Ok(results)
        })
    })
}

/// One job's statements; returns its outcome and the view entries it creates. (On PostgreSQL a
/// logout never comes here: see [`logouts`].)
fn execute(
    conn: &mut DbConnection,
    work: &Work,
    now: OffsetDateTime,
) -> diesel::QueryResult<(Outcome, Vec<Entry>)> {
    let at = to_db_time(now);
    let mut outcome = Outcome::default();
    let mut entries = Vec::new();
    let mut ended_sessions = Vec::new();
    match work {
        Work::Logout { token, session } => {
            if let Some((row, entry)) = token {
                outcome.token_added = blacklist::insert_ignore(conn, row)? > 0;
                entries.push(entry.clone());
            }
            if let Some((sid, latest_from)) = session {
                let by = EndBy::TokenIssuedBy(to_db_time(*latest_from));
                ended_sessions.extend(sessions::end(conn, &sid.to_string(), by, at)?);
            }
        }
        Work::EndSession { id, owner } => {
            let by = owner.as_deref().map_or(EndBy::Anyone, EndBy::Owner);
            ended_sessions.extend(sessions::end(conn, &id.to_string(), by, at)?);
        }
        Work::EndUser {
            username,
            keep,
            kept_until,
            account,
        } => {
            let Some(user) = users::lock_for_change(conn, username)? else {
                outcome.refused = Some(Refused::NotFound);
                return Ok((outcome, Vec::new()));
            };
            if let Some(change) = account {
                if let Err(refused) = change.apply(conn, &user)? {
                    outcome.refused = Some(refused);
                    return Ok((outcome, Vec::new()));
                }
            }
            let keep = keep.map(|k| k.to_string());
            ended_sessions = sessions::end_all(conn, &user.id, keep.as_deref(), at)?;
            devices::forget_all(conn, &user.id)?;
            // Taken here, inside the transaction: every token this process issued before this
            // instant has a smaller id, every token issued after it a greater one.
            let issued_before = Uuid::now_v7();
            let kept_until_at = OffsetDateTime::from_unix_timestamp(*kept_until)
                .unwrap_or(now + time::Duration::days(30));
            let kept_until_db = to_db_time(kept_until_at);
            user_cutoffs::set(
                conn,
                &user.username,
                &issued_before.to_string(),
                at,
                kept_until_db,
            )?;
            if let Some(keep) = &keep {
                let jti = Uuid::now_v7();
                sessions::reissued(conn, keep, sessions::issued_at(now), kept_until_db)?;
                outcome.reissued = Some(jti);
            }
            entries.push(Entry::UserCutoff {
                username: user.username.as_str().into(),
                issued_before,
                exp: *kept_until,
            });
            outcome.account = Some((user.id, user.username));
        }
        Work::StartSession(login) => {
            match users::generation_held(conn, &login.user_id)? {
                Some(current) if current == login.generation => {}
                current => {
                    let why = current.map_or(Refused::NotFound, |_| Refused::Changed);
                    outcome.refused = Some(why);
                    return Ok((outcome, Vec::new()));
                }
            }
            let now = to_db_time(login.now);
            sessions::create(
                conn,
                &NewSession {
                    id: &login.session_id.to_string(),
                    user_id: &login.user_id,
                    username: &login.username,
                    access_issued_at: sessions::issued_at(login.access_issued_at),
                    user_agent: &login.user_agent,
                    ip: login.ip.as_deref(),
                    device: &login.device_label,
                    refresh_hash: &login.refresh_hash,
                    now,
                    refresh_expires_at: to_db_time(login.refresh_expires_at),
                    access_expires_at: to_db_time(login.access_expires_at),
                    remember: login.remember,
                },
            )?;
            devices::logged_in(conn, &login.user_id, &login.device, now, login.max_devices)?;
            users::logged_in(conn, &login.user_id, now)?;
            ended_sessions = sessions::end_beyond(conn, &login.user_id, login.max_sessions, now)?;
        }
    }
    outcome.sessions_ended = ended_sessions.len();
    entries.extend(ended_sessions.into_iter().filter_map(session_entry));
    Ok((outcome, entries))
}

/// The job's event, completed with what it did, if the job did something.
fn record(
    conn: &mut DbConnection,
    job: &Job,
    outcome: &mut Outcome,
    now: OffsetDateTime,
) -> diesel::QueryResult<Option<NewEvent>> {
    let Some(event) = &job.event else {
        return Ok(None);
    };
    let acted = match &job.work {
        _ if outcome.refused.is_some() => false,
        Work::Logout { .. } | Work::EndSession { .. } => {
            outcome.token_added || outcome.sessions_ended > 0
        }
        Work::EndUser { .. } | Work::StartSession(_) => true,
    };
    if !acted {
        return Ok(None);
    }
    let mut event = event.clone();
    if let (None, Some((id, name))) = (&event.user_id, &outcome.account) {
        event = event.about(name, id);
    }
    if let (None, Work::EndSession { id, .. }) = (&event.user_id, &job.work) {
        if let Some((user_id, name)) = sessions::owner(conn, &id.to_string())? {
            event = event.about(&name, &user_id);
        }
    }
    if outcome.sessions_ended > 0 {
        event = event.with("sessions_ended", outcome.sessions_ended);
    }
    outcome.recorded = Some(event.kind);
    Ok(Some(event.row(now)))
}

fn session_entry(ended: sessions::Ended) -> Option<Entry> {
    Some(Entry::Session {
        sid: Uuid::parse_str(&ended.id).ok()?,
        exp: from_db_time(ended.access_until).unix_timestamp(),
    })
}

/// Committed: into the view first, then answer.
fn finish(done: Done<'_>, group: Vec<Job>, results: Vec<(Outcome, Vec<Entry>)>) {
    for (job, (outcome, entries)) in group.into_iter().zip(results) {
        if let Some(kind) = outcome.recorded {
            done.metrics.audit_events(kind, 1);
        }
        if let Some(view) = done.view {
            for entry in entries {
                view.apply(entry);
            }
        }
        let _ = job.done.send(Ok(outcome));
    }
}
