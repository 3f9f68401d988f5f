//! The staleness rule: the view may answer only while it has been proven current recently.
//!
//! On SQLite this process is the only writer (a second one is refused at start), so every
//! revocation reaches the view by write-through and the view is always current. On PostgreSQL
//! other instances write too; the listener proves the view current with a heartbeat that travels
//! the same ordered queue as their announcements, and records when. Past `max_staleness` without
//! such a proof, or as soon as the listener knows it lost its connection, the guard fails closed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// "Not confirmed": the listener lost its connection or has not confirmed yet.
const NEVER: u64 = 0;

pub struct Freshness {
    /// `None`: always current (one process owns every write).
    max_staleness: Option<Duration>,
    origin: Instant,
    /// Microseconds after `origin` (plus one, so that 0 means never) of the last proof.
    confirmed: AtomicU64,
}

impl Freshness {
    /// For a view that every revocation reaches by write-through.
    pub fn always() -> Self {
        Self {
            max_staleness: None,
            origin: Instant::now(),
            confirmed: AtomicU64::new(NEVER),
        }
    }

    /// For a view that learns of other writers by a listener; starts unconfirmed.
    pub fn bounded(max_staleness: Duration) -> Self {
        Self {
            max_staleness: Some(max_staleness),
            origin: Instant::now(),
            confirmed: AtomicU64::new(NEVER),
        }
    }

    /// Records that every revocation committed before `as_of` is in the view.
    pub fn confirm(&self, as_of: Instant) {
        let micros = as_of.saturating_duration_since(self.origin).as_micros();
        let stamp = u64::try_from(micros).unwrap_or(u64::MAX - 1) + 1;
        self.confirmed.fetch_max(stamp, Ordering::AcqRel);
    }

    /// Withdraws every earlier proof: revocations may be missed from now until the next one.
    pub fn invalidate(&self) {
        self.confirmed.store(NEVER, Ordering::Release);
    }

    /// How long ago the view was last proven current; `None` if it never was (or lost it).
    pub fn age(&self, now: Instant) -> Option<Duration> {
        let stamp = self.confirmed.load(Ordering::Acquire);
        if stamp == NEVER {
            return None;
        }
        let at = self.origin + Duration::from_micros(stamp - 1);
        Some(now.saturating_duration_since(at))
    }

    /// How far behind the view may be at `now`: zero for a view that cannot fall behind,
    /// `None` while it has no proof.
    pub fn staleness(&self, now: Instant) -> Option<Duration> {
        match self.max_staleness {
            None => Some(Duration::ZERO),
            Some(_) => self.age(now),
        }
    }

    /// Whether the view may answer at `now`.
    pub fn is_current(&self, now: Instant) -> bool {
        match self.max_staleness {
            None => true,
            Some(max) => self.age(now).is_some_and(|age| age <= max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_through_view_is_always_current() {
        assert!(Freshness::always().is_current(Instant::now()));
    }

    #[test]
    fn a_bounded_view_is_current_only_within_the_bound_of_its_last_proof() {
        let f = Freshness::bounded(Duration::from_millis(1000));
        let t0 = Instant::now();
        assert!(!f.is_current(t0), "never confirmed");
        f.confirm(t0);
        // Stamps are kept in whole microseconds, rounded towards older (the safe side).
        assert!(f.is_current(t0 + Duration::from_millis(999)));
        assert!(!f.is_current(t0 + Duration::from_millis(1001)));
    }

    #[test]
    fn a_late_older_proof_does_not_move_the_stamp_back_and_invalidate_clears_it() {
        let f = Freshness::bounded(Duration::from_millis(100));
        let t0 = Instant::now();
        f.confirm(t0 + Duration::from_millis(500));
        f.confirm(t0);
        assert!(f.is_current(t0 + Duration::from_millis(550)));
        f.invalidate();
        assert!(!f.is_current(t0 + Duration::from_millis(550)));
        assert_eq!(f.age(t0), None);
    }
}
