//! The in-process revocation view: every revoked token id that can still matter, in memory.
//!
//! Each entry is what a revocation says and until when it matters: a token id is kept until the
//! token's own expiry, after which the validator refuses the token anyway and the entry can go.
//! New kinds of revocation (a session id, "every token of user U issued before T") become new
//! [`Entry`] variants kept here, so the guard keeps asking one place.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

use uuid::Uuid;

/// One revocation, as loaded from the database or announced by another instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The token with this id is refused until it expires (`exp`, Unix seconds).
    Token { jti: Uuid, exp: i64 },
}

/// What the guard presents: the facts of a correctly signed, unexpired token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented {
    pub jti: Uuid,
}

/// Shards keep each lock's hold short: a trim walks one shard at a time while requests read the
/// others, and writers to different shards do not wait on each other.
const SHARDS: usize = 64;

/// Revoked token ids with their expiry. 16 bytes of id and 4 of expiry per entry.
pub struct View {
    tokens: Box<[RwLock<HashMap<Uuid, u32>>]>,
    /// The latest trim's cutoff: an entry expiring before it is dead on arrival (an
    /// announcement that arrives after the purge that would have removed it).
    trimmed_before: AtomicI64,
}

impl Default for View {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

/// Expiries are kept as u32 Unix seconds (good until 2106); earlier or later values saturate,
/// which keeps a far-future entry for longer, never shorter.
fn compact_exp(exp: i64) -> u32 {
    exp.clamp(0, i64::from(u32::MAX)) as u32
}

fn shard_of(jti: &Uuid) -> usize {
    // The last byte of a v4 UUID is random.
    usize::from(jti.as_bytes()[15]) % SHARDS
}

impl View {
    /// A view sized for about `expected` entries, so that loading does not rehash.
    pub fn with_capacity(expected: usize) -> Self {
        let per_shard = expected / SHARDS + 1;
        let tokens = (0..SHARDS)
            .map(|_| RwLock::new(HashMap::with_capacity(per_shard)))
            .collect();
        Self {
            tokens,
            trimmed_before: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether the presented token is revoked.
    pub fn is_revoked(&self, token: &Presented) -> bool {
        let shard = &self.tokens[shard_of(&token.jti)];
        // A poisoned lock only means a writer panicked mid-insert; the map is still valid.
        let map = shard.read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(&token.jti)
    }

    pub fn apply(&self, entry: Entry) {
        match entry {
            Entry::Token { jti, exp } => {
                if exp < self.trimmed_before.load(Ordering::Acquire) {
                    return;
                }
                let mut map = self.tokens[shard_of(&jti)]
                    .write()
                    .unwrap_or_else(|e| e.into_inner());
                let exp = compact_exp(exp);
                map.entry(jti)
                    .and_modify(|e| *e = (*e).max(exp))
                    .or_insert(exp);
            }
        }
    }

    /// Drops every entry that expired before `cutoff` (Unix seconds); returns how many went.
    pub fn trim(&self, cutoff: i64) -> usize {
        self.trimmed_before.fetch_max(cutoff, Ordering::AcqRel);
        let cutoff = compact_exp(cutoff);
        self.tokens
            .iter()
            .map(|shard| {
                let mut map = shard.write().unwrap_or_else(|e| e.into_inner());
                let before = map.len();
                map.retain(|_, exp| *exp >= cutoff);
                before - map.len()
            })
            .sum()
    }

    pub fn len(&self) -> usize {
        self.tokens
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(exp: i64) -> (Uuid, Entry) {
        let jti = Uuid::new_v4();
        (jti, Entry::Token { jti, exp })
    }

    #[test]
    fn an_applied_token_is_revoked_and_another_is_not() {
        let view = View::default();
        let (jti, entry) = token(2_000_000_000);
        view.apply(entry);
        assert!(view.is_revoked(&Presented { jti }));
        assert!(!view.is_revoked(&Presented {
            jti: Uuid::new_v4()
        }));
    }

    #[test]
    fn applying_twice_keeps_one_entry_with_the_later_expiry() {
        let view = View::default();
        let jti = Uuid::new_v4();
        view.apply(Entry::Token { jti, exp: 100 });
        view.apply(Entry::Token { jti, exp: 50 });
        assert_eq!(view.len(), 1);
        assert_eq!(view.trim(60), 0, "the later expiry (100) was kept");
        assert_eq!(view.trim(101), 1);
    }

    #[test]
    fn trim_drops_only_entries_that_expired_before_the_cutoff() {
        let view = View::with_capacity(1000);
        let (old, e) = token(999);
        view.apply(e);
        let (edge, e) = token(1000);
        view.apply(e);
        let (live, e) = token(5000);
        view.apply(e);
        assert_eq!(view.trim(1000), 1);
        assert!(!view.is_revoked(&Presented { jti: old }));
        assert!(view.is_revoked(&Presented { jti: edge }));
        assert!(view.is_revoked(&Presented { jti: live }));
    }

    #[test]
    fn an_entry_announced_after_a_trim_that_covers_it_is_not_kept() {
        let view = View::default();
        view.trim(1000);
        let (late, e) = token(999);
        view.apply(e);
        let (live, e) = token(1000);
        view.apply(e);
        assert!(!view.is_revoked(&Presented { jti: late }));
        assert!(view.is_revoked(&Presented { jti: live }));
    }

    #[test]
    fn out_of_range_expiries_saturate_instead_of_wrapping() {
        let view = View::default();
        let (far, e) = token(i64::MAX);
        view.apply(e);
        assert_eq!(view.trim(i64::from(u32::MAX) - 1), 0);
        assert!(view.is_revoked(&Presented { jti: far }));
    }
}
