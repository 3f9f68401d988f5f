//! Durable revocations, committed in groups.
//!
//! Every logout must be committed (and, on SQLite, synced to disk) before it is answered. One
//! thread takes the revocations waiting at that moment and commits them in one transaction, so
//! a burst of N logouts costs one sync instead of N, and a lone logout waits for nobody. After
//! the commit, and before any caller is answered, the entries go into this instance's view (and
//! out to the other instances, by a NOTIFY that commits with the rows).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use tokio::sync::oneshot;

use super::notice;
use super::view::{Entry, View};
use crate::db::{blacklist, Db, DbError};

/// More than this many waiting revocations go in the next transaction.
const MAX_GROUP: usize = 512;

/// How often an idle writer looks whether the server is stopping.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// One revocation to commit: the row, its view entry, and where to send the outcome.
struct Job {
    row: blacklist::Entry,
    entry: Entry,
    done: oneshot::Sender<Result<bool, DbError>>,
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread; it ends when `stop` is set or every handle is gone.
    pub fn spawn(db: Db, view: Option<Arc<View>>, stop: Arc<AtomicBool>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("revocation-writer".into())
            .spawn(move || run(&db, view.as_deref(), &queue, &stop))?;
        Ok(Self { jobs })
    }

    /// Commits the row and returns whether it was new; `Err` means it may not be committed.
    pub async fn revoke(&self, row: blacklist::Entry, entry: Entry) -> Result<bool, DbError> {
        let (done, outcome) = oneshot::channel();
        self.jobs
            .send(Job { row, entry, done })
            .map_err(|_| DbError::Internal("the revocation writer has stopped".into()))?;
        outcome
            .await
            .map_err(|_| DbError::Internal("the revocation writer has stopped".into()))?
    }
}

fn run(db: &Db, view: Option<&View>, queue: &mpsc::Receiver<Job>, stop: &AtomicBool) {
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
        match commit(db, &group) {
            Ok(added) => finish(view, group, added),
            // The database refused the group: one bad row must not fail the others, so retry
            // each alone. (An unreachable database fails them all at once.)
            Err(DbError::Query(_)) if group.len() > 1 => {
                for job in group {
                    match commit(db, std::slice::from_ref(&job)) {
                        Ok(added) => finish(view, vec![job], added),
                        Err(e) => {
                            let _ = job.done.send(Err(e));
                        }
                    }
                }
            }
            Err(e) => {
                for job in group {
                    let _ = job.done.send(Err(DbError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

/// Inserts the group's rows and announces them, in one transaction.
fn commit(db: &Db, group: &[Job]) -> Result<Vec<bool>, DbError> {
    db.run_blocking(|conn| {
        conn.transaction(|conn| {
            let added = group
                .iter()
                .map(|job| blacklist::insert_ignore(conn, &job.row).map(|n| n > 0))
                .collect::<Result<Vec<_>, _>>()?;
            let entries: Vec<Entry> = group.iter().map(|job| job.entry).collect();
            for payload in notice::encode(&entries) {
                blacklist::notify(conn, notice::CHANNEL, &payload)?;
            }
            Ok(added)
        })
    })
}

/// Committed: into the view first, then answer.
fn finish(view: Option<&View>, group: Vec<Job>, added: Vec<bool>) {
    for (job, added) in group.into_iter().zip(added) {
        if let Some(view) = view {
            view.apply(job.entry);
        }
        let _ = job.done.send(Ok(added));
    }
}
