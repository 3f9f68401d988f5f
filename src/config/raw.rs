//! The settings as read, before validation; every default comes from `defaults.toml`.
//! [`super::AppConfig::from_figment`] turns this into typed, checked settings.

use serde::Deserialize;

use super::secret::lenient;

/// The raw shape of the settings, before validation.
#[derive(Deserialize)]
pub(super) struct RawConfig {
    pub(super) database_url: String,
    pub(super) db_pool_size: u32,
    pub(super) db_timeout_ms: u64,
    pub(super) jwt_issuer: String,
    pub(super) token_ttl: u64,
    pub(super) cookie_secure: Option<bool>,
    pub(super) cookie_same_site: String,
    pub(super) cookie_host_prefix: bool,
    pub(super) purge_schedule: String,
    pub(super) purge_batch_size: i64,
    pub(super) audit_retention_days: u64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) admin_username: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) admin_password: Option<String>,
    pub(super) signup_enabled: bool,
    pub(super) allowed_origins: Vec<String>,
    pub(super) login_max_failures_per_user: u32,
    pub(super) login_max_failures_per_ip: u32,
    pub(super) login_failure_window: u64,
    pub(super) login_max_untrusted_failures_per_user: u32,
    pub(super) signup_max_per_ip: u32,
    pub(super) throttle_capacity: usize,
    pub(super) password_threads: Option<usize>,
    pub(super) password_queue: usize,
    pub(super) revocation_check: String,
    pub(super) revocation_max_staleness: u64,
    pub(super) refresh_ttl: u64,
    pub(super) refresh_reuse_grace: u64,
    pub(super) session_idle_timeout: u64,
    pub(super) session_max_lifetime: u64,
    pub(super) session_max_lifetime_unremembered: u64,
    pub(super) log_format: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub(super) metrics_token: Option<String>,
    pub(super) webauthn_rp_id: String,
    pub(super) webauthn_origin: String,
    pub(super) webauthn_rp_name: String,
}
