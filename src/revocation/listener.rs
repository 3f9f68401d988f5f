//! The PostgreSQL listener: how an instance learns other instances' revocations, and proves
//! that it has learnt all of them.
//!
//! A dedicated session (outside the pool: LISTEN belongs to a session) listens on the
//! revocation channel. After every (re)connect it catches up from the table, then every quarter
//! of `max_staleness` it sends itself a heartbeat on a channel of its own. PostgreSQL delivers
//! notifications in commit order, so when the heartbeat comes back every revocation committed
//! before it was sent has been applied: the view is confirmed current as of the send. When the
//! connection fails the proof is withdrawn at once (the guard answers 503) and the listener
//! reconnects with a growing delay, catching up before it confirms again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{PgConnection, RunQueryDsl};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::freshness::Freshness;
use super::view::View;
use super::{load, notice};
use crate::db::{Db, DbConnection, DbError};

/// How often the session is polled for notifications: the delay a remote revocation adds.
const POLL: Duration = Duration::from_millis(5);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(2);

/// Shown in `pg_stat_activity.application_name`.
pub const APPLICATION_NAME: &str = "jwt-blacklist-listener";

/// What the listener shares with the rest of the server.
pub struct Shared {
    pub db: Db,
    pub view: Arc<View>,
    pub freshness: Arc<Freshness>,
    pub max_staleness: Duration,
    pub stop: Arc<AtomicBool>,
    /// Successful connections so far (1 after start; more after each reconnect).
    pub sessions: AtomicU64,
}

/// Starts the listener thread; `ready` fires after the first full load and heartbeat, or with
/// the reason the first connection failed.
pub fn spawn(shared: Arc<Shared>) -> std::io::Result<oneshot::Receiver<Result<usize, String>>> {
    let (ready, started) = oneshot::channel();
    std::thread::Builder::new()
        .name("revocation-listener".into())
        .spawn(move || run(&shared, ready))?;
    Ok(started)
}

fn run(shared: &Shared, ready: oneshot::Sender<Result<usize, String>>) {
    let mut ready = Some(ready);
    // Wall-clock time of the last confirmation: where the next catch-up starts.
    let mut confirmed_at: Option<OffsetDateTime> = None;
    let mut retry = FIRST_RETRY;
    let heartbeat_channel = format!("jwt_blacklist_hb_{}", uuid::Uuid::new_v4().simple());
    while !shared.stop.load(Ordering::Acquire) {
        let mut confirmed = false;
        let outcome = session(
            shared,
            &heartbeat_channel,
            &mut confirmed_at,
            &mut ready,
            &mut confirmed,
        );
        shared.freshness.invalidate();
        let Err(cause) = outcome else { return };
        if let Some(ready) = ready.take() {
            let _ = ready.send(Err(cause.to_string()));
            return;
        }
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        if confirmed {
            retry = FIRST_RETRY;
            log::warn!(
                "revocation listener lost its connection ({cause}); the guard answers 503 until it is back"
            );
        }
        sleep_unless_stopped(shared, retry);
        retry = (retry * 2).min(MAX_RETRY);
    }
}

fn sleep_unless_stopped(shared: &Shared, total: Duration) {
    let until = Instant::now() + total;
    while Instant::now() < until && !shared.stop.load(Ordering::Acquire) {
        std::thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
    }
}

/// One connected session; returns `Ok` only when the server is stopping.
fn session(
    shared: &Shared,
    heartbeat_channel: &str,
    confirmed_at: &mut Option<OffsetDateTime>,
    ready: &mut Option<oneshot::Sender<Result<usize, String>>>,
    confirmed: &mut bool,
) -> Result<(), DbError> {
    let conn = shared.db.dedicated_pg(APPLICATION_NAME)?;
    let mut conn = DbConnection::Pg(conn);
    conn.batch_execute(&format!(
        "LISTEN {}; LISTEN {heartbeat_channel}",
        notice::CHANNEL
    ))?;
    shared.sessions.fetch_add(1, Ordering::AcqRel);
    // Listening already: whatever commits from here on is announced; the table has the rest.
    let loaded = match *confirmed_at {
        None => load::everything(&mut conn, &shared.view, OffsetDateTime::now_utc())?,
        Some(at) => load::since(&mut conn, &shared.view, at)?,
    };
    let DbConnection::Pg(conn) = &mut conn else {
        return Err(DbError::Internal("the listener needs PostgreSQL".into()));
    };
    let interval = shared.max_staleness / 4;
    let mut seq: u64 = 0;
    loop {
        seq += 1;
        let sent = Instant::now();
        let sent_wall = OffsetDateTime::now_utc();
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<diesel::sql_types::Text, _>(heartbeat_channel)
            .bind::<diesel::sql_types::Text, _>(seq.to_string())
            .execute(conn)?;
        wait_for_heartbeat(shared, conn, heartbeat_channel, seq, sent)?;
        shared.freshness.confirm(sent);
        *confirmed_at = Some(sent_wall);
        *confirmed = true;
        if let Some(ready) = ready.take() {
            let _ = ready.send(Ok(loaded));
        } else if seq == 1 {
            log::info!("revocation listener connected again; caught up {loaded} entries");
        }
        // Until the next heartbeat: apply announcements as they come.
        let next = sent + interval;
        while Instant::now() < next {
            if shared.stop.load(Ordering::Acquire) {
                return Ok(());
            }
            drain(conn, heartbeat_channel, &shared.view)?;
            std::thread::sleep(POLL);
        }
    }
}

/// Applies announcements until the heartbeat `seq` comes back; fails past `max_staleness`.
fn wait_for_heartbeat(
    shared: &Shared,
    conn: &mut PgConnection,
    heartbeat_channel: &str,
    seq: u64,
    sent: Instant,
) -> Result<(), DbError> {
    let expected = seq.to_string();
    loop {
        if drain(conn, heartbeat_channel, &shared.view)?.as_deref() == Some(expected.as_str()) {
            return Ok(());
        }
        if sent.elapsed() > shared.max_staleness || shared.stop.load(Ordering::Acquire) {
            return Err(DbError::Unavailable(
                "the heartbeat did not come back".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Applies every notification received so far; returns the last heartbeat payload seen.
fn drain(
    conn: &mut PgConnection,
    heartbeat_channel: &str,
    view: &View,
) -> Result<Option<String>, DbError> {
    let mut heartbeat = None;
    for note in conn.notifications_iter() {
        let note = note?;
        if note.channel == heartbeat_channel {
            heartbeat = Some(note.payload);
            continue;
        }
        for entry in notice::decode(&note.payload) {
            match entry {
                Ok(entry) => view.apply(entry),
                Err(line) => log::warn!(
                    "revocation listener: line {line} of a notification from process {} is not understood",
                    note.process_id
                ),
            }
        }
    }
    Ok(heartbeat)
}
