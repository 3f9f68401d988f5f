//! Session lifetime settings: `session_idle_timeout`, `session_max_lifetime` and
//! `session_max_lifetime_unremembered` (seconds; 0 = no such limit). What they mean for a
//! session is decided in [`crate::auth::lifetime`].

use std::time::Duration;

use super::ConfigError;

/// The longest any of the three may be: a year, as `refresh_ttl`.
const MAX_SECS: u64 = 365 * 24 * 3600;

/// How long a session may last, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    /// A session not refreshed for this long ends. `None`: never for idleness.
    pub idle_timeout: Option<Duration>,
    /// A session ends this long after its login, however active. `None`: no absolute end.
    pub max_lifetime: Option<Duration>,
    /// The same for a login with `remember: false` (cookies that end with the browser).
    pub max_lifetime_unremembered: Option<Duration>,
}

impl SessionLifetime {
    pub(super) fn parse(
        idle_timeout: u64,
        max_lifetime: u64,
        max_lifetime_unremembered: u64,
        token_ttl: u64,
    ) -> Result<Self, ConfigError> {
        let checked = |name: &str, secs: u64| match secs {
            0 => Ok(None),
            // Shorter than an access token, the session would end before its first token
            // expires: every refresh would fail, and the settings are surely a mistake.
            s if s < token_ttl || s > MAX_SECS => Err(ConfigError(format!(
                "{name} must be 0 (no limit) or between token_ttl ({token_ttl}) and \
                 {MAX_SECS} seconds"
            ))),
            s => Ok(Some(Duration::from_secs(s))),
        };
        Ok(Self {
            idle_timeout: checked("session_idle_timeout", idle_timeout)?,
            max_lifetime: checked("session_max_lifetime", max_lifetime)?,
            max_lifetime_unremembered: checked(
                "session_max_lifetime_unremembered",
                max_lifetime_unremembered,
            )?,
        })
    }
}
