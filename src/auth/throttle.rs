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

    /// `Err(retry_after)` when either the username or the address is locked out at `now`.
    pub fn check(&self, user: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = Duration::ZERO;
        for (key, max) in self.keys(user, addr) {
            if let Some(w) = windows.get(&key) {
                let end = w.started + self.settings.window;
                if w.failures >= max && end > now {
                    wait = wait.max(end - now);
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn record_failure(&self, user: &str, addr: Option<IpAddr>, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= SWEEP_AT {
            let window = self.settings.window;
            windows.retain(|_, w| w.started + window > now);
        }
        for (key, _) in self.keys(user, addr) {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if w.started + self.settings.window <= now {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        }
    }

    /// A correct password clears the username's count (not the address's: one account's success
    /// must not reset the budget for guessing at others).
    pub fn record_success(&self, user: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.remove(&Key::User(user.to_owned()));
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
            assert!(t.check("bob", None, start).is_ok());
            t.record_failure("bob", None, start);
        }
        let wait = t
            .check("bob", None, start + Duration::from_secs(10))
            .expect_err("locked");
        assert_eq!(wait, Duration::from_secs(50));
        assert!(t.check("carol", None, start).is_ok());
        assert!(t
            .check("bob", None, start + Duration::from_secs(61))
            .is_ok());
    }

    #[test]
    fn one_address_is_locked_across_usernames() {
        let t = throttle();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for i in 0..5 {
            t.record_failure(&format!("user{i}"), Some(addr), now);
        }
        assert!(t.check("someone-else", Some(addr), now).is_err());
        assert!(t
            .check("someone-else", Some([10, 0, 0, 2].into()), now)
            .is_ok());
    }

    #[test]
    fn success_clears_the_username_but_not_the_address() {
        let t = throttle();
        let addr: IpAddr = [10, 0, 0, 1].into();
        let now = Instant::now();
        for _ in 0..5 {
            t.record_failure("bob", Some(addr), now);
        }
        t.record_success("bob");
        assert!(t.check("bob", None, now).is_ok());
        assert!(t.check("bob", Some(addr), now).is_err());
    }
}
