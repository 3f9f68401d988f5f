//! Password hashing with argon2id (PHC strings), on blocking threads with bounded concurrency:
//! each hash takes 19 MiB and tens of milliseconds, so unbounded logins would starve the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

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
}

/// Hashes and verifies passwords; verifying for an unknown user costs the same as for a known one.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
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
    /// Builds the hasher; runs one hash (the dummy), so call it off the async workers.
    pub fn new(max_concurrent: usize) -> Result<Self, HashError> {
        use rand::distributions::{Alphanumeric, DistString};
        let random = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 32);
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
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
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| HashError::Task(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await
        .map_err(|e| HashError::Task(e.to_string()))
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

    #[test]
    fn a_garbage_stored_hash_never_verifies() {
        assert!(!verify_blocking("anything at all", "not a phc string"));
    }
}
