//! Limits per account and per client that bound what one attacker can make the server hold or
//! do: live sessions and trusted devices per account, logins and password checks in flight per
//! client, and the ceiling on trusted devices' failures per account.

use rocket::figment::Figment;
use serde::Deserialize;

use super::ConfigError;

/// Per-account and per-client limits, validated (each at least 1).
#[derive(Debug, Clone, Copy)]
pub struct AccountLimits {
    /// Live sessions per account; a login past it ends the account's oldest session.
    pub max_sessions_per_user: u32,
    /// Devices (browsers with a device cookie) an account trusts; past it the least recently
    /// used is forgotten.
    pub max_devices_per_user: u32,
    /// Failures of all trusted devices of one username together, per window.
    pub max_trusted_failures_per_user: u32,
    /// Logins of one client key per window, whatever their outcome.
    pub max_logins_per_ip: u32,
    /// Password checks (logins, sign-ups, password changes) one client key may have in flight.
    pub max_in_flight_per_ip: u32,
}

#[derive(Deserialize)]
struct Raw {
    max_sessions_per_user: u32,
    max_devices_per_user: u32,
    login_max_trusted_failures_per_user: u32,
    login_max_per_ip: u32,
    password_max_in_flight_per_ip: u32,
}

impl AccountLimits {
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: Raw = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        for (key, value) in [
            ("max_sessions_per_user", raw.max_sessions_per_user),
            ("max_devices_per_user", raw.max_devices_per_user),
            (
                "login_max_trusted_failures_per_user",
                raw.login_max_trusted_failures_per_user,
            ),
            ("login_max_per_ip", raw.login_max_per_ip),
            (
                "password_max_in_flight_per_ip",
                raw.password_max_in_flight_per_ip,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{key} must be at least 1")));
            }
        }
        Ok(Self {
            max_sessions_per_user: raw.max_sessions_per_user,
            max_devices_per_user: raw.max_devices_per_user,
            max_trusted_failures_per_user: raw.login_max_trusted_failures_per_user,
            max_logins_per_ip: raw.login_max_per_ip,
            max_in_flight_per_ip: raw.password_max_in_flight_per_ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_limit_is_refused_naming_its_key() {
        let figment = crate::config::defaults().merge(("max_sessions_per_user", 0));
        let err = AccountLimits::from_figment(&figment).expect_err("refused");
        assert!(err.to_string().contains("max_sessions_per_user"), "{err}");
        let limits = AccountLimits::from_figment(&crate::config::defaults()).expect("defaults");
        assert_eq!(limits.max_sessions_per_user, 100);
        assert!(limits.max_in_flight_per_ip < 32, "below the hashing queue");
    }
}
