//! How long a session lasts: until it is left alone for `session_idle_timeout`, or until
//! `session_max_lifetime` after its login (`session_max_lifetime_unremembered` for a login that
//! asked not to be remembered), whichever comes first.
//!
//! Neither end is stored as such. Each login and each rotation sets the session's refresh expiry
//! (`sessions.expires_at`, and its refresh token's) to the earliest of the refresh token's own
//! lifetime, the idle end (from now) and the absolute end (from the login): a session past
//! either end simply has no refresh token left that rotates. Access tokens are capped at the
//! absolute end too, so nothing the session issued outlives it; the purge then ends such
//! sessions with a `session.expired` event.

use std::time::Duration;

use time::OffsetDateTime;

use crate::config::{AppConfig, SessionLifetime};

/// Until when what a login or a rotation at `now` issues may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The refresh token's (and the session's) expiry.
    pub refresh_until: OffsetDateTime,
    /// The access token's `exp` (whole seconds).
    pub access_until: OffsetDateTime,
}

fn span(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::days(365))
}

impl SessionLifetime {
    /// The absolute end of a session that began at `created_at`; `None` without one.
    pub fn ends_at(&self, created_at: OffsetDateTime, remember: bool) -> Option<OffsetDateTime> {
        let max = match remember {
            true => self.max_lifetime,
            false => self.max_lifetime_unremembered,
        };
        max.map(|max| created_at + span(max))
    }

    /// What a login or rotation at `now` of a session begun at `created_at` may issue, with
    /// refresh tokens living `refresh_ttl` and access tokens `token_ttl` at most.
    pub fn bounds(
        &self,
        created_at: OffsetDateTime,
        remember: bool,
        now: OffsetDateTime,
        refresh_ttl: Duration,
        token_ttl: Duration,
    ) -> Bounds {
        let end = self.ends_at(created_at, remember);
        let idle_end = self.idle_timeout.map(|idle| now + span(idle));
        let refresh_until = [Some(now + span(refresh_ttl)), idle_end, end]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        let access = now + span(token_ttl);
        let access_until = end.map_or(access, |end| access.min(end));
        Bounds {
            refresh_until,
            access_until: whole_seconds(access_until),
        }
    }
}

/// The settings that bound what a login or a rotation issues, copied out of the configuration
/// so that a rotation can apply them on the database thread.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    lifetime: SessionLifetime,
    refresh_ttl: Duration,
    token_ttl: Duration,
}

impl Policy {
    pub fn of(config: &AppConfig) -> Self {
        Self {
            lifetime: config.lifetime,
            refresh_ttl: config.refresh.ttl,
            token_ttl: config.token_ttl,
        }
    }

    /// The bounds of a login or a rotation at `now` of a session begun at `created_at`.
    pub fn bounds(
        &self,
        created_at: OffsetDateTime,
        remember: bool,
        now: OffsetDateTime,
    ) -> Bounds {
        self.lifetime
            .bounds(created_at, remember, now, self.refresh_ttl, self.token_ttl)
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(t.unix_timestamp()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;

    fn policy(idle: u64, max: u64, unremembered: u64) -> SessionLifetime {
        let some = |s: u64| (s > 0).then(|| Duration::from_secs(s));
        SessionLifetime {
            idle_timeout: some(idle),
            max_lifetime: some(max),
            max_lifetime_unremembered: some(unremembered),
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).expect("instant")
    }

    #[test]
    fn the_refresh_expiry_is_the_earliest_of_its_ttl_the_idle_end_and_the_absolute_end() {
        let p = policy(7 * 24 * HOUR, 30 * 24 * HOUR, 12 * HOUR);
        let (refresh, access) = (
            Duration::from_secs(14 * 24 * 3600),
            Duration::from_secs(HOUR),
        );
        // Early on, idleness decides.
        let b = p.bounds(at(0), true, at(0), refresh, access);
        assert_eq!(b.refresh_until, at(7 * 24 * 3600));
        assert_eq!(b.access_until, at(3600));
        // Near the end, the absolute end caps both.
        let now = at(30 * 24 * 3600 - 600);
        let b = p.bounds(at(0), true, now, refresh, access);
        assert_eq!(b.refresh_until, at(30 * 24 * 3600));
        assert_eq!(b.access_until, at(30 * 24 * 3600));
        // Not remembered: twelve hours.
        let b = p.bounds(at(0), false, at(11 * 3600 + 1800), refresh, access);
        assert_eq!(b.refresh_until, at(12 * 3600));
        assert_eq!(b.access_until, at(12 * 3600));
    }

    #[test]
    fn zero_turns_each_limit_off() {
        let p = policy(0, 0, 0);
        let refresh = Duration::from_secs(14 * 24 * 3600);
        let b = p.bounds(
            at(0),
            false,
            at(1_000_000),
            refresh,
            Duration::from_secs(HOUR),
        );
        assert_eq!(b.refresh_until, at(1_000_000 + 14 * 24 * 3600));
        assert_eq!(b.access_until, at(1_000_000 + 3600));
        assert_eq!(p.ends_at(at(0), true), None);
    }

    #[test]
    fn access_tokens_end_on_a_whole_second() {
        let p = policy(0, 10, 0);
        let created = at(0) + time::Duration::milliseconds(700);
        let b = p.bounds(
            created,
            true,
            created,
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert_eq!(b.access_until, at(10));
    }
}
