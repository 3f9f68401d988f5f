//! The in-process revocation view: every revocation that can still matter, in memory.
//!
//! Each entry is what a revocation says and until when it matters: a token id or a session id is
//! kept until the last token it can refuse has expired, after which the validator refuses that
//! token anyway and the entry can go. Every kind of revocation is an [`Entry`] variant kept here,
//! so the guard asks one place, with no database round trip.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use uuid::Uuid;

/// One revocation, as loaded from the database or announced by another instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// The token with this id is refused until it expires (`exp`, Unix seconds).
    Token { jti: Uuid, exp: i64 },
    /// Every token of this session is refused; `exp` is when the last one expires.
    Session { sid: Uuid, exp: i64 },
    /// The per-user cut-off: every token of `username` whose id is not greater than
    /// `issued_before` is refused until `exp`. `issued_before` is a
    /// time-ordered UUID (v7) from the same generator as token ids, so a token issued after it
    /// by this process has a greater id, even within the same millisecond.
    UserCutoff {
        username: Arc<str>,
        issued_before: Uuid,
        exp: i64,
    },
}

impl Entry {
    fn exp(&self) -> i64 {
        match self {
            Self::Token { exp, .. } | Self::Session { exp, .. } | Self::UserCutoff { exp, .. } => {
                *exp
            }
        }
    }
}

/// What the guard presents: the facts of a correctly signed, unexpired token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented<'a> {
    pub jti: Uuid,
    /// The session the token belongs to.
    pub sid: Uuid,
    pub username: &'a str,
}

impl Presented<'_> {
    /// Whether this token was issued at or before the cut-off `issued_before`: token ids are
    /// time-ordered (v7), and so is the cut-off.
    pub fn issued_by(&self, issued_before: Uuid) -> bool {
        self.jti <= issued_before
    }
}

/// Shards keep each lock's hold short: a trim walks one shard at a time while requests read the
/// others, and writers to different shards do not wait on each other. A small view has this many;
/// a large one has more (see [`layout`]).
const MIN_SHARDS: usize = 64;
/// The ids a shard is sized for in a large view: hashbrown's tables have a power-of-two number of
/// buckets filled to at most 7/8, so 14 336 ids fill a table of 16 384 buckets (about 340 KB).
/// With a fixed shard count, ten million ids would round each table up to the next power of two
/// and leave a third of it empty; sizing shards to whole tables keeps the waste to the headroom.
const FULL_SHARD: usize = 14_336;
const USER_SHARDS: usize = 16;

/// A per-user cut-off: the latest cut-off UUID and the expiry of the last token it can refuse.
#[derive(Debug, Clone, Copy)]
struct Cutoff {
    issued_before: Uuid,
    exp: u32,
}

/// Revoked token and session ids with their expiry (16 bytes of id and 4 of expiry each; token
/// and session ids are both random UUIDs and share the map), and per-user cut-offs.
/// The ids are hashed with foldhash (see Cargo.toml for why not SipHash).
type Shard<K, V, S = RandomState> = RwLock<HashMap<K, V, S>>;

pub struct View {
    ids: Box<[Shard<Uuid, u32, foldhash::fast::RandomState>]>,
    users: Box<[Shard<Arc<str>, Cutoff>]>,
    /// How many users have a cut-off: while none do, a check does not hash the username.
    user_count: AtomicUsize,
    user_hasher: RandomState,
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

/// How many shards, and how many ids each is sized for, to hold `expected` ids with a tenth to
/// spare: the revocations that arrive after the load fill the headroom before any table doubles.
fn layout(expected: usize) -> (usize, usize) {
    let planned = expected + expected / 10;
    let shards = planned.div_ceil(FULL_SHARD).max(MIN_SHARDS);
    (shards, planned.div_ceil(shards))
}

/// Records `id` until `exp`, or keeps its later expiry if it is there already.
fn keep_later<S: BuildHasher>(map: &mut HashMap<Uuid, u32, S>, id: Uuid, exp: u32) {
    map.entry(id)
        .and_modify(|e| *e = (*e).max(exp))
        .or_insert(exp);
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A poisoned lock only means a writer panicked mid-insert; the map is still valid.
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl View {
    /// A view sized for about `expected` entries, so that loading does not rehash.
    pub fn with_capacity(expected: usize) -> Self {
        let (shards, per_shard) = layout(expected);
        let ids = (0..shards)
            .map(|_| {
                RwLock::new(HashMap::with_capacity_and_hasher(
                    per_shard,
                    Default::default(),
                ))
            })
            .collect();
        let users = (0..USER_SHARDS)
            .map(|_| RwLock::new(HashMap::new()))
            .collect();
        Self {
            ids,
            users,
            user_count: AtomicUsize::new(0),
            user_hasher: RandomState::new(),
            trimmed_before: AtomicI64::new(i64::MIN),
        }
    }

    /// Whether the presented token is revoked: by its id, its session, or its user's cut-off.
    pub fn is_revoked(&self, token: &Presented<'_>) -> bool {
        if self.has_id(&token.jti) {
            return true;
        }
        if self.has_id(&token.sid) {
            return true;
        }
        if self.user_count.load(Ordering::Acquire) == 0 {
            return false;
        }
        let users = read(&self.users[self.user_shard(token.username)]);
        users
            .get(token.username)
            .is_some_and(|c| token.issued_by(c.issued_before))
    }

    fn has_id(&self, id: &Uuid) -> bool {
        read(&self.ids[self.shard_of(id)]).contains_key(id)
    }

    fn shard_of(&self, id: &Uuid) -> usize {
        // The low 62 bits of a v4 or v7 UUID are random.
        (id.as_u64_pair().1 % self.ids.len() as u64) as usize
    }

    fn user_shard(&self, username: &str) -> usize {
        (self.user_hasher.hash_one(username) as usize) % USER_SHARDS
    }

    pub fn apply(&self, entry: Entry) {
        if entry.exp() < self.trimmed_before.load(Ordering::Acquire) {
            return;
        }
        match entry {
            Entry::Token { jti: id, exp } | Entry::Session { sid: id, exp } => {
                keep_later(
                    &mut write(&self.ids[self.shard_of(&id)]),
                    id,
                    compact_exp(exp),
                );
            }
            Entry::UserCutoff {
                username,
                issued_before,
                exp,
            } => {
                let exp = compact_exp(exp);
                let mut users = write(&self.users[self.user_shard(&username)]);
                match users.get_mut(&username) {
                    Some(c) => {
                        c.issued_before = c.issued_before.max(issued_before);
                        c.exp = c.exp.max(exp);
                    }
                    None => {
                        users.insert(username, Cutoff { issued_before, exp });
                        self.user_count.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }
        }
    }

    /// Adds a batch of token or session ids with their expiry, as [`View::apply`] would each;
    /// returns how many. Ids are grouped by shard first (a counting sort), so that each shard's
    /// lock is taken once a batch and its table is written in one stretch: the start-up load
    /// inserts millions of ids, and each insert into a table far larger than the caches costs a
    /// miss or two; grouping at least keeps a shard's pages together.
    pub fn apply_ids(&self, batch: &[(Uuid, i64)]) -> usize {
        let trimmed_before = self.trimmed_before.load(Ordering::Acquire);
        let shards = self.ids.len();
        let mut starts = vec![0usize; shards + 1];
        for (id, _) in batch {
            starts[self.shard_of(id) + 1] += 1;
        }
        for s in 1..=shards {
            starts[s] += starts[s - 1];
        }
        let mut next = starts.clone();
        let mut grouped = vec![(Uuid::nil(), 0u32); batch.len()];
        for &(id, exp) in batch {
            let slot = &mut next[self.shard_of(&id)];
            grouped[*slot] = (id, compact_exp(exp));
            *slot += 1;
        }
        let mut added = 0;
        for (shard, range) in self.ids.iter().zip(starts.windows(2)) {
            let run = &grouped[range[0]..range[1]];
            if run.is_empty() {
                continue;
            }
            let mut map = write(shard);
            for &(id, exp) in run {
                if i64::from(exp) < trimmed_before {
                    continue;
                }
                keep_later(&mut map, id, exp);
                added += 1;
            }
        }
        added
    }

    /// Drops every entry that expired before `expired_before` (Unix seconds); returns how many went.
    pub fn trim(&self, expired_before: i64) -> usize {
        self.trimmed_before
            .fetch_max(expired_before, Ordering::AcqRel);
        let cutoff = compact_exp(expired_before);
        let ids: usize = self
            .ids
            .iter()
            .map(|shard| {
                let mut map = write(shard);
                let before = map.len();
                map.retain(|_, exp| *exp >= cutoff);
                before - map.len()
            })
            .sum();
        let users: usize = self
            .users
            .iter()
            .map(|shard| {
                let mut map = write(shard);
                let before = map.len();
                map.retain(|_, c| c.exp >= cutoff);
                let gone = before - map.len();
                self.user_count.fetch_sub(gone, Ordering::AcqRel);
                gone
            })
            .sum();
        ids + users
    }

    /// Entries in the view: revoked token and session ids, and users with a cut-off.
    pub fn len(&self) -> usize {
        let ids: usize = self.ids.iter().map(|s| read(s).len()).sum();
        ids + self.user_count.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
