//! Password-guessing throttle, built so that a stranger cannot turn it against an account's
//! owner. Kept in memory per instance.
//!
//! A login is judged in one of two ways (OWASP, "Slow down online guessing attacks with device
//! cookies"):
//! - **Trusted**: the browser presents a valid device cookie for the username (see
//!   [`super::device`]). Its failures count on that device alone, and only that device's lockout
//!   refuses it: nothing other clients do to the username, or from its address, stops it.
//! - **Untrusted**: anyone else. Failures count per client key (an IPv4 address, or an IPv6 /64,
//!   which one subscriber usually holds whole), per (username, client key), and per username
//!   for all untrusted clients together. The per-username lockout stays, as OWASP keeps it: it
//!   is what bounds guessing at one account from a botnet of many addresses. Strangers can
//!   exhaust it, but it then refuses only untrusted clients; the owner's browsers go on.
//!
//! Trusted devices have a ceiling of their own too: failures of all trusted devices of a
//! username together, higher than the untrusted one, so that however many device cookies an
//! attacker holds the guessing rate per account stays bounded. (A device is trusted only while
//! the account still lists it: a password change, a logout everywhere, a lock or a removal
//! forgets every device of the account.)
//!
//! A password change counts per session and per client key, never on the username, so a
//! session holder cannot lock the owner's logins. Sign-up counts every attempt per client key.
//!
//! Beside failures: every login counts per client key whatever its outcome (a correct password
//! costs an argon2 run and a session as much as a wrong one), and one client key may have only
//! a few password checks in flight at once, well below the hashing queue, so that no single
//! client can fill the queue and turn everyone else's logins into 503s.
//!
//! Every table is a fixed-capacity LRU map under its own mutex, held for one O(1) step: memory
//! is bounded whatever the key space, windows expire lazily when their key is touched, and
//! nothing ever sweeps a table. An attacker flushing a key out of a table must first fail that
//! many times elsewhere, each failure paying an argon2 verification.
//!
//! Attempts count before their outcome is known, so parallel guesses cannot slip past a limit;
//! a success or an error that says nothing about the password gives the attempt back.

use std::collections::hash_map::RandomState;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use lru::LruCache;
use uuid::Uuid;

use super::device::{DeviceKey, Nonce};
use crate::config::{Secret, ThrottleSettings};

/// Who a client is, for counting: its IPv4 address, or the /64 prefix of its IPv6 address (an
/// IPv4-mapped IPv6 address is its IPv4 address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(std::net::Ipv4Addr),
    V6Prefix(u64),
}

impl ClientKey {
    pub fn of(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

/// One count an attempt took, so that its outcome can settle it.
#[derive(Debug, Clone)]
enum Counted {
    Client(ClientKey),
    UserClient(String, Option<ClientKey>),
    Untrusted(String),
    Device(Nonce),
    Trusted(String),
    Session(Uuid),
    SignUp(ClientKey),
    Login(ClientKey),
}

/// An admitted attempt: settle it with [`LoginThrottle::succeeded`] or
/// [`LoginThrottle::cancel`]; a failure needs nothing (its counts stand).
#[derive(Debug)]
#[must_use]
pub struct Attempt(Vec<Counted>);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// SipHash with a random key: the keys (usernames, addresses) are chosen by clients.
type Lru<K> = LruCache<K, Window, RandomState>;

/// Counts per key within a window, at most `capacity` keys (the least recently used go).
struct Table<K: Hash + Eq> {
    max: u32,
    entries: Mutex<Lru<K>>,
}

impl<K: Hash + Eq> Table<K> {
    fn new(max: u32, capacity: NonZeroUsize) -> Self {
        Self {
            max: max.max(1),
            entries: Mutex::new(LruCache::with_hasher(capacity, RandomState::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Lru<K>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one attempt on `key`, or `Err(wait)` while it is at its limit.
    fn admit(&self, key: K, window: Duration, now: Instant) -> Result<(), Duration> {
        let mut entries = self.lock();
        let w = entries.get_or_insert_mut(key, || Window {
            started: now,
            count: 0,
        });
        if w.started + window <= now {
            *w = Window {
                started: now,
                count: 0,
            };
        }
        if w.count >= self.max {
            return Err((w.started + window).saturating_duration_since(now));
        }
        w.count += 1;
        Ok(())
    }

    /// Whether `key` is at its limit within the current window (without touching its use).
    fn is_spent(&self, key: &K, window: Duration, now: Instant) -> bool {
        self.lock()
            .peek(key)
            .is_some_and(|w| w.started + window > now && w.count >= self.max)
    }

    fn give_back(&self, key: &K) {
        if let Some(w) = self.lock().peek_mut(key) {
            w.count = w.count.saturating_sub(1);
        }
    }

    fn clear(&self, key: &K) {
        self.lock().pop(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

pub struct LoginThrottle {
    window: Duration,
    devices_key: DeviceKey,
    clients: Table<ClientKey>,
    user_clients: Table<(String, Option<ClientKey>)>,
    untrusted: Table<String>,
    devices: Table<Nonce>,
    trusted: Table<String>,
    sessions: Table<Uuid>,
    sign_ups: Table<ClientKey>,
    logins: Table<ClientKey>,
    in_flight: InFlightTable,
}

/// Password checks in flight per client key; a key is present only while it has some, so the
/// table holds at most as many keys as there are checks in flight.
struct InFlightTable {
    max: u32,
    counts: Mutex<std::collections::HashMap<ClientKey, u32>>,
}

/// One password check in flight for a client key; given back when dropped.
#[must_use]
pub struct InFlight<'a> {
    table: &'a InFlightTable,
    key: Option<ClientKey>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut counts = self.table.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&key);
            }
        }
    }
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings, secret: &Secret) -> Self {
        let cap = settings.capacity;
        Self {
            window: settings.window,
            devices_key: DeviceKey::new(secret),
            clients: Table::new(settings.max_failures_per_ip, cap),
            user_clients: Table::new(settings.max_failures_per_user, cap),
            untrusted: Table::new(settings.max_untrusted_failures_per_user, cap),
            devices: Table::new(settings.max_failures_per_user, cap),
            trusted: Table::new(settings.max_trusted_failures_per_user, cap),
            sessions: Table::new(settings.max_failures_per_user, cap),
            sign_ups: Table::new(settings.signup_max_per_ip, cap),
            logins: Table::new(settings.max_logins_per_ip, cap),
            in_flight: InFlightTable {
                max: settings.max_in_flight_per_ip.max(1),
                counts: Mutex::new(std::collections::HashMap::new()),
            },
        }
    }

    /// Takes one of the client's password-check slots (clients without an address, in-process
    /// tests, are not counted); `Err(retry_after)` while it has its maximum in flight.
    pub fn in_flight(&self, addr: Option<IpAddr>) -> Result<InFlight<'_>, Duration> {
        let key = addr.map(ClientKey::of);
        if let Some(key) = key {
            let mut counts = self
                .in_flight
                .counts
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(key).or_insert(0);
            if *n >= self.in_flight.max {
                return Err(Duration::from_secs(1));
            }
            *n += 1;
        }
        Ok(InFlight {
            table: &self.in_flight,
            key,
        })
    }

    /// Whether the client at `addr` has made all the logins it may in this window (to say so
    /// when a login is refused: it is not about failures then).
    pub fn logins_spent(&self, addr: Option<IpAddr>, now: Instant) -> bool {
        addr.map(ClientKey::of)
            .is_some_and(|k| self.logins.is_spent(&k, self.window, now))
    }

    /// The device's nonce, when `cookie` is a device cookie this server signed for `user`
    /// (whether the account still lists that device is the caller's to ask).
    pub fn device_nonce(&self, cookie: &str, user: &str) -> Option<Nonce> {
        self.devices_key.verify(cookie, user)
    }

    /// Admits a login attempt for `user`, trusted when `trusted` names a device the account
    /// lists; `Err(retry_after)` while a budget it counts on is spent.
    pub fn begin_login(
        &self,
        user: &str,
        addr: Option<IpAddr>,
        trusted: Option<Nonce>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let client = addr.map(ClientKey::of);
        let mut counts: Vec<Counted> = client.map(Counted::Login).into_iter().collect();
        if let Some(nonce) = trusted {
            counts.push(Counted::Device(nonce));
            counts.push(Counted::Trusted(user.to_owned()));
            return self.admit(counts, now);
        }
        counts.extend(client.map(Counted::Client));
        counts.push(Counted::UserClient(user.to_owned(), client));
        counts.push(Counted::Untrusted(user.to_owned()));
        self.admit(counts, now)
    }

    /// Admits a password check by the holder of session `session` (never counted on the
    /// username: see the module doc).
    pub fn begin_password_change(
        &self,
        session: Uuid,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let client = addr.map(|a| Counted::Client(ClientKey::of(a)));
        let counts = client.into_iter().chain([Counted::Session(session)]);
        self.admit(counts.collect(), now)
    }

    /// Admits a sign-up: every attempt counts, whatever its outcome. Clients without an address
    /// (in-process tests) are not counted.
    pub fn begin_sign_up(&self, addr: Option<IpAddr>, now: Instant) -> Result<Attempt, Duration> {
        let counts = addr.map(|a| Counted::SignUp(ClientKey::of(a)));
        self.admit(counts.into_iter().collect(), now)
    }

    /// Admits the start of a passwordless login: it counts on the address's logins (each counts,
    /// whatever its outcome), so that one client cannot fill the table of waiting ceremonies.
    pub fn begin_passkey_start(
        &self,
        addr: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let counts = addr.map(|a| Counted::Login(ClientKey::of(a)));
        self.admit(counts.into_iter().collect(), now)
    }

    /// The device cookie value naming device `nonce` for a browser that logged in as `user`.
    pub fn device_cookie(&self, nonce: &Nonce, user: &str) -> String {
        self.devices_key.issue(nonce, user)
    }

    /// The password was right: the per-account counts of this client are cleared, and the
    /// shared ones (address, username, sign-ups) keep the others' failures and lose only this
    /// attempt (one account's success must not reset guessing at others).
    pub fn succeeded(&self, attempt: Attempt) {
        for counted in &attempt.0 {
            match counted {
                Counted::UserClient(..) | Counted::Device(_) | Counted::Session(_) => {
                    self.settle(counted, true)
                }
                Counted::Client(_) | Counted::Untrusted(_) | Counted::Trusted(_) => {
                    self.settle(counted, false)
                }
                // Every login and sign-up counts, whatever its outcome.
                Counted::SignUp(_) | Counted::Login(_) => {}
            }
        }
    }

    /// Gives back an attempt whose outcome was an error, not a verdict on the password.
    pub fn cancel(&self, attempt: Attempt) {
        for counted in &attempt.0 {
            self.settle(counted, false);
        }
    }

    /// Counts each of `counts` in turn; when one is at its limit, gives back those already
    /// taken. Each table is locked for its own step only.
    fn admit(&self, counts: Vec<Counted>, now: Instant) -> Result<Attempt, Duration> {
        let w = self.window;
        for (i, counted) in counts.iter().enumerate() {
            let admitted = match counted {
                Counted::Client(k) => self.clients.admit(*k, w, now),
                Counted::UserClient(u, k) => self.user_clients.admit((u.clone(), *k), w, now),
                Counted::Untrusted(u) => self.untrusted.admit(u.clone(), w, now),
                Counted::Device(n) => self.devices.admit(*n, w, now),
                Counted::Trusted(u) => self.trusted.admit(u.clone(), w, now),
                Counted::Session(s) => self.sessions.admit(*s, w, now),
                Counted::SignUp(k) => self.sign_ups.admit(*k, w, now),
                Counted::Login(k) => self.logins.admit(*k, w, now),
            };
            if let Err(wait) = admitted {
                for taken in &counts[..i] {
                    self.settle(taken, false);
                }
                return Err(wait.max(Duration::from_secs(1)));
            }
        }
        Ok(Attempt(counts))
    }

    /// Clears the key of `counted`, or gives back its one attempt.
    fn settle(&self, counted: &Counted, clear: bool) {
        fn apply<K: Hash + Eq>(table: &Table<K>, key: &K, clear: bool) {
            if clear {
                table.clear(key)
            } else {
                table.give_back(key)
            }
        }
        match counted {
            Counted::Client(k) => apply(&self.clients, k, clear),
            Counted::UserClient(u, k) => apply(&self.user_clients, &(u.clone(), *k), clear),
            Counted::Untrusted(u) => apply(&self.untrusted, u, clear),
            Counted::Device(n) => apply(&self.devices, n, clear),
            Counted::Trusted(u) => apply(&self.trusted, u, clear),
            Counted::Session(s) => apply(&self.sessions, s, clear),
            Counted::SignUp(k) => apply(&self.sign_ups, k, clear),
            Counted::Login(k) => apply(&self.logins, k, clear),
        }
    }
}

#[cfg(test)]
mod tests;
