//! Tokens whose signature has already been verified, so that a browser presenting the same
//! cookie on every request pays for HMAC and JSON parsing once, not every time.
//!
//! Only what the validator checks once and for all is remembered: the exact token text was
//! correctly signed with our key and algorithm, names our issuer and has the required claims.
//! Expiry is time-dependent and is checked again on every hit, exactly as the validator does;
//! revocation is not a property of the token and is always asked of the revocation view. The
//! whole token text is the key (compared in full on a hit), and only verified tokens are ever
//! inserted, so a forged token can neither hit nor fill the cache.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use super::claims::Claims;
use crate::config::LEEWAY_SECS;

const SHARDS: usize = 16;
/// Per shard; a full shard is emptied (the tokens in it are verified again on their next use).
/// About 16 x 1024 x 0.5 KiB = 8 MiB at most.
const SHARD_CAPACITY: usize = 1024;

/// Token text to its verified claims.
type Shard = RwLock<HashMap<Arc<str>, Arc<Claims>>>;

pub struct VerifiedTokens {
    hasher: RandomState,
    shards: Box<[Shard]>,
}

impl Default for VerifiedTokens {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
        }
    }
}

impl VerifiedTokens {
    fn shard(&self, token: &str) -> &Shard {
        &self.shards[(self.hasher.hash_one(token) as usize) % SHARDS]
    }

    /// The claims of `token` if it was verified before and has not expired at `now_secs`
    /// (with the validator's leeway).
    pub fn get(&self, token: &str, now_secs: i64) -> Option<Arc<Claims>> {
        let map = self.shard(token).read().unwrap_or_else(|e| e.into_inner());
        let claims = map.get(token)?;
        (claims.exp >= now_secs - LEEWAY_SECS as i64).then(|| claims.clone())
    }

    /// Whether `token` is remembered, whatever its expiry.
    #[cfg(test)]
    pub fn holds(&self, token: &str) -> bool {
        let map = self.shard(token).read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(token)
    }

    /// Remembers a token that the validator has just accepted.
    pub fn insert(&self, token: &str, claims: Arc<Claims>) {
        let mut map = self.shard(token).write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= SHARD_CAPACITY {
            map.clear();
        }
        map.insert(Arc::from(token), claims);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    fn claims(exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            uid: uuid::Uuid::nil(),
            sub: "alice".into(),
            role: Role::User,
            jti: uuid::Uuid::new_v4(),
            sid: uuid::Uuid::now_v7(),
            iat: 0,
            exp,
            iss: "test".into(),
        })
    }

    #[test]
    fn a_hit_needs_the_exact_token_text() {
        let cache = VerifiedTokens::default();
        cache.insert("aaa.bbb.ccc", claims(1_000));
        assert!(cache.get("aaa.bbb.ccc", 500).is_some());
        assert!(cache.get("aaa.bbb.ccd", 500).is_none());
        assert!(cache.get("aaa.bbb.cc", 500).is_none());
    }

    #[test]
    fn an_expired_token_misses_exactly_when_the_validator_would_refuse_it() {
        let cache = VerifiedTokens::default();
        cache.insert("t", claims(1_000));
        let leeway = LEEWAY_SECS as i64;
        assert!(cache.get("t", 1_000 + leeway).is_some());
        assert!(cache.get("t", 1_000 + leeway + 1).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedTokens::default();
        for i in 0..(SHARDS * SHARD_CAPACITY * 3) {
            cache.insert(&format!("token-{i}"), claims(1_000));
        }
        let held: usize = cache
            .shards
            .iter()
            .map(|s| s.read().map(|m| m.len()).unwrap_or(0))
            .sum();
        assert!(held <= SHARDS * SHARD_CAPACITY, "{held}");
    }
}
