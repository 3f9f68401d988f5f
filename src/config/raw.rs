//! The settings as read, before validation, and their defaults (where Rocket.toml does not set
//! them). [`super::AppConfig::from_figment`] turns this into typed, checked settings.

use rocket::serde::Deserialize;

use super::secret::lenient;

/// The raw shape of the settings, before validation.
#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
pub(super) struct RawConfig {
    pub(super) database_url: Option<String>,
    #[serde(default = "defaults::pool_size")]
    pub(super) db_pool_size: u32,
    #[serde(default = "defaults::db_timeout_ms")]
    pub(super) db_timeout_ms: u64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) jwt_secret: Option<String>,
    #[serde(default = "defaults::issuer")]
    pub(super) jwt_issuer: String,
    #[serde(default = "defaults::token_ttl")]
    pub(super) token_ttl: u64,
    pub(super) cookie_secure: Option<bool>,
    #[serde(default = "defaults::same_site")]
    pub(super) cookie_same_site: String,
    #[serde(default)]
    pub(super) cookie_host_prefix: bool,
    #[serde(default = "defaults::purge_schedule")]
    pub(super) purge_schedule: String,
    #[serde(default = "defaults::purge_batch_size")]
    pub(super) purge_batch_size: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) admin_username: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) admin_password: Option<String>,
    #[serde(default = "defaults::yes")]
    pub(super) signup_enabled: bool,
    #[serde(default)]
    pub(super) allowed_origins: Vec<String>,
    #[serde(default = "defaults::max_failures_per_user")]
    pub(super) login_max_failures_per_user: u32,
    #[serde(default = "defaults::max_failures_per_ip")]
    pub(super) login_max_failures_per_ip: u32,
    #[serde(default = "defaults::failure_window")]
    pub(super) login_failure_window: u64,
    #[serde(default = "defaults::max_untrusted_failures_per_user")]
    pub(super) login_max_untrusted_failures_per_user: u32,
    #[serde(default = "defaults::signup_max_per_ip")]
    pub(super) signup_max_per_ip: u32,
    #[serde(default = "defaults::throttle_capacity")]
    pub(super) throttle_capacity: usize,
    pub(super) password_threads: Option<usize>,
    #[serde(default = "defaults::password_queue")]
    pub(super) password_queue: usize,
    #[serde(default = "defaults::revocation_check")]
    pub(super) revocation_check: String,
    #[serde(default = "defaults::revocation_max_staleness")]
    pub(super) revocation_max_staleness: u64,
    #[serde(default = "defaults::refresh_ttl")]
    pub(super) refresh_ttl: u64,
    #[serde(default = "defaults::refresh_reuse_grace")]
    pub(super) refresh_reuse_grace: u64,
    #[serde(default = "defaults::log_format")]
    pub(super) log_format: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) metrics_token: Option<String>,
}

mod defaults {
    pub fn log_format() -> String {
        "text".into()
    }
    pub fn pool_size() -> u32 {
        8
    }
    pub fn db_timeout_ms() -> u64 {
        2000
    }
    pub fn issuer() -> String {
        "jwt-blacklist".into()
    }
    pub fn token_ttl() -> u64 {
        3600
    }
    pub fn same_site() -> String {
        "lax".into()
    }
    pub fn purge_schedule() -> String {
        "0 * * * * *".into()
    }
    pub fn purge_batch_size() -> i64 {
        500
    }
    pub fn yes() -> bool {
        true
    }
    pub fn max_failures_per_user() -> u32 {
        5
    }
    pub fn max_failures_per_ip() -> u32 {
        50
    }
    pub fn failure_window() -> u64 {
        300
    }
    pub fn max_untrusted_failures_per_user() -> u32 {
        10
    }
    pub fn signup_max_per_ip() -> u32 {
        10
    }
    pub fn throttle_capacity() -> usize {
        100_000
    }
    pub fn password_queue() -> usize {
        32
    }
    pub fn revocation_check() -> String {
        "memory".into()
    }
    /// Milliseconds.
    pub fn revocation_max_staleness() -> u64 {
        1000
    }
    /// Seconds: 14 days.
    pub fn refresh_ttl() -> u64 {
        14 * 24 * 3600
    }
    /// Seconds.
    pub fn refresh_reuse_grace() -> u64 {
        5
    }
}
