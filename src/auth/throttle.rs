//! Failed-login throttle: after too many failures within a window, for one username or one
//! client address, logins answer 429 until the window ends. Kept in memory per instance.
//!
//! Hand-written rather than a rate-limiter crate: those count every attempt, while this counts
//! failures only (a user who logs in successfully is never slowed) and must be checked before
//! the password is verified, without consuming anything.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ThrottleSettings;

/// Past this many tracked keys, expired windows are swept on the next failure.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Addr(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

pub struct LoginThrottle {
    settings: ThrottleSettings,
    windows: Mutex<HashMap<Key, Window>>,
}

impl LoginThrottle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            settings,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt as a failure before the password is checked, so that parallel guesses
    /// cannot all slip past the limit; [`Self::succeeded`] takes it back. `Err(retry_after)`
    /// when the username or the address is locked out at `now`.
    pub fn begin(&self, user: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.settings.window;
        let mut wait = Duration::ZERO;
        for (key, max) in self.keys(user, addr) {
            if let Some(w) = windows.get(&key) {
                let end = w.started + window;
                if w.failures >= max && end > now {
                    wait = wait.max(end - now);
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| w.started + window > now);
        }
        for (key, _) in self.keys(user, addr) {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if w.started + window <= now {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
        Ok(())
    }

    /// A correct password clears the username's count, and gives the address back the attempt
    /// (not its earlier failures: one account's success must not reset guessing at others).
    pub fn succeeded(&self, user: &str, addr: Option<IpAddr>) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.remove(&Key::User(user.to_owned()));
        if let Some(w) = addr.and_then(|a| windows.get_mut(&Key::Addr(a))) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    /// Gives back an attempt whose outcome was an error, not a verdict on the password.
    pub fn cancel(&self, user: &str, addr: Option<IpAddr>) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        for (key, _) in self.keys(user, addr) {
            if let Some(w) = windows.get_mut(&key) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }

    fn keys(&self, user: &str, addr: Option<IpAddr>) -> impl Iterator<Item = (Key, u32)> {
        let user = (
            Key::User(user.to_owned()),
            self.settings.max_failures_per_user,
        );
        let addr = addr.map(|a| (Key::Addr(a), self.settings.max_failures_per_ip));
        std::iter::once(user).chain(addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(ThrottleSettings {
            max_failures_per_user: 3,
            max_failures_per_ip: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_username_is_locked_after_the_limit_until_the_window_ends() {
        let t = throttle();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(t.begin("bob", None, start).is_ok());
        }
        let wait = t
            .begin("bob", None, start + Duration::from_secs(10))
            .expect_err("locked");
        assert_eq!(wait, Duration::from_secs(50));
        assert!(t.begin("carol", None, start).is_ok());
        assert!(t
            .begin("bob", None, start + Duration::from_secs(61))
            .is_ok());
    }

    #[test]
    fn attempts_count_before_their_outcome_is_known() {
        let t = throttle();
        let now = Instant::now();
        // Three guesses in flight at once: the fourth is refused before any of them finishes.
        let admitted = (0..4).filter(|_| t.begin("bob", None, now).is_ok()).count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn one_address_is_locked_across_usernames() {
        let t = throttle();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for i in 0..5 {
            assert!(t.begin(&format!("user{i}"), Some(addr), now).is_ok());
        }
        assert!(t.begin("someone-else", Some(addr), now).is_err());
        assert!(t
            .begin("someone-else", Some([10, 0, 0, 2].into()), now)
            .is_ok());
    }

    #[test]
    fn success_clears_the_username_and_returns_only_its_own_attempt_to_the_address() {
        let t = throttle();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(t.begin("bob", Some(addr), now).is_ok());
        }
        assert!(t.begin("carol", Some(addr), now).is_ok());
        t.succeeded("carol", Some(addr));
        assert!(t.begin("bob", None, now).is_err(), "bob's failures stand");
        t.succeeded("bob", None);
        assert!(t.begin("bob", None, now).is_ok());
        // The address keeps bob's 3 failures (carol's attempt was given back): 2 more fit in 5.
        assert!(t.begin("dave", Some(addr), now).is_ok());
        assert!(t.begin("erin", Some(addr), now).is_ok());
        assert!(t.begin("frank", Some(addr), now).is_err());
    }
}
