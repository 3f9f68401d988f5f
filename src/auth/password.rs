//! Password hashing with argon2id (PHC strings), on a few threads of its own: each hash takes
//! 19 MiB and tens of milliseconds of CPU, so unbounded logins would starve the server.
//!
//! The threads are fixed in number (so at most that many 19 MiB work areas exist, and the
//! allocator keeps at most that many for reuse) and run at a lower scheduling priority (nice
//! +10), so that a burst of logins slows other logins, not the guard on every protected request.
//! The queue in front of them is bounded: when it is full a request is refused at once
//! ([`HashError::Busy`], answered 503 with `Retry-After`), so a flood sheds load instead of
//! delaying every later login without limit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::oneshot;

use crate::domain::Password;

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("hashing task failed: {0}")]
    Task(String),
    /// Every thread is busy and the queue is full: says nothing about the password.
    #[error("the password hashing queue is full")]
    Busy,
}

type Job = Box<dyn FnOnce() + Send>;

fn spawn_workers(n: usize, waiting: usize) -> Result<mpsc::SyncSender<Job>, HashError> {
    let (jobs, queue) = mpsc::sync_channel::<Job>(waiting);
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..n {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("argon2-{i}"))
            .spawn(move || {
                crate::background::lower_current_thread_priority();
                loop {
                    // The lock is held only while waiting for the next job, never while hashing.
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job loses its answer (the caller gets an error), not the
                        // thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                }
            })
            .map_err(|e| HashError::Task(e.to_string()))?;
    }
    Ok(jobs)
}

/// Hashes and verifies passwords; verifying for an unknown user costs the same as for a known one.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::SyncSender<Job>,
    /// A hash of a random password, verified against when the user does not exist.
    dummy_hash: Arc<str>,
    /// Argon2 verifications run so far: shows that every login attempt pays the same cost.
    verifications: Arc<AtomicU64>,
}

fn argon2() -> Argon2<'static> {
    // The parameters are constants within argon2's documented ranges.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(HashError::Argon2)
}

fn verify_blocking(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl PasswordHasher {
    /// Builds the hasher with `max_concurrent` threads and room for `queue` waiting jobs; runs
    /// one hash (the dummy), so call it off the async workers.
    pub fn new(max_concurrent: usize, queue: usize) -> Result<Self, HashError> {
        use rand::distributions::{Alphanumeric, DistString};
        let random = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32);
        Ok(Self {
            jobs: spawn_workers(max_concurrent.max(1), queue.max(1))?,
            dummy_hash: hash_blocking(&random)?.into(),
            verifications: Arc::new(AtomicU64::new(0)),
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.clone();
        self.blocking(move || hash_blocking(password.expose()))
            .await?
    }

    /// `stored` is the user's PHC string, or `None` for an unknown user (always `false`, same cost).
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, HashError> {
        let password = password.to_owned();
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| self.dummy_hash.to_string());
        let counter = self.verifications.clone();
        let ok = self
            .blocking(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                verify_blocking(&password, &phc)
            })
            .await?;
        Ok(ok && known)
    }

    /// How many argon2 verifications have run.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    async fn blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, HashError> {
        let (done, result) = oneshot::channel();
        // Never waits for room: a full queue is refused at once.
        self.jobs
            .try_send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|e| match e {
                mpsc::TrySendError::Full(_) => HashError::Busy,
                mpsc::TrySendError::Disconnected(_) => {
                    HashError::Task("the hashing threads have stopped".into())
                }
            })?;
        result
            .await
            .map_err(|_| HashError::Task("a hashing thread failed".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_strings_with_the_owasp_parameters() {
        let phc = hash_blocking("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse battery", &phc));
        assert!(!verify_blocking("wrong horse battery", &phc));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_on_its_own_threads_at_a_lower_priority_than_requests() {
        let hasher = PasswordHasher::new(2, 4).expect("hasher");
        use crate::background::tests::nice;
        let caller = nice().expect("caller's nice value");
        let (name, hashing) = hasher
            .blocking(|| (std::thread::current().name().map(str::to_owned), nice()))
            .await
            .expect("job ran");
        assert!(name.is_some_and(|n| n.starts_with("argon2-")));
        assert!(
            hashing.expect("nice value") > caller,
            "priority not lowered"
        );
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once_and_frees_up_when_the_thread_does() {
        use std::time::Duration;
        use tokio::time::timeout;
        let hasher = PasswordHasher::new(1, 1).expect("hasher");
        let (started, is_started) = mpsc::channel();
        let (release, wait) = mpsc::channel::<()>();
        let mut first = Box::pin(hasher.blocking(move || {
            let _ = started.send(());
            let _ = wait.recv();
        }));
        // One poll submits the job; the thread takes it and blocks until released.
        assert!(timeout(Duration::ZERO, &mut first).await.is_err());
        is_started.recv().expect("the thread took the first job");
        let mut queued = Box::pin(hasher.blocking(|| 2));
        assert!(
            timeout(Duration::ZERO, &mut queued).await.is_err(),
            "queued"
        );
        // The thread is busy and the queue full: refused on the first poll, without waiting.
        let third = timeout(Duration::ZERO, hasher.blocking(|| 3)).await;
        assert!(matches!(third, Ok(Err(HashError::Busy))), "{third:?}");
        release.send(()).expect("release");
        first.await.expect("first ran");
        assert_eq!(queued.await.expect("queued ran"), 2);
        assert_eq!(hasher.blocking(|| 4).await.expect("room again"), 4);
    }

    #[test]
    fn a_garbage_stored_hash_never_verifies() {
        assert!(!verify_blocking("anything at all", "not a phc string"));
    }
}
