//! Typed settings, read once from Rocket's figment (the defaults the binary carries, then
//! Rocket.toml profiles, then `ROCKET_*` variables) and validated at ignite, so a bad value
//! stops start-up, naming its key, instead of a request; nothing is clamped.

mod database_url;
mod lifetime;
mod limits;
mod raw;
mod secret;
mod server;
mod signing_keys;
mod sources;
mod webauthn;

use std::num::NonZeroUsize;
use std::time::Duration;

use rocket::figment::Figment;
use rocket::http::SameSite;

pub use self::database_url::{DatabaseUrl, PostgresUrl};
pub use self::lifetime::SessionLifetime;
pub use self::limits::AccountLimits;
use self::raw::RawConfig;
#[cfg(test)]
pub(crate) use self::secret::tests_secret;
pub use self::secret::{MetricsToken, Secret};
pub use self::server::ServerSettings;
pub use self::signing_keys::{derived_kid, valid_kid, KeyMaterial, Keys, SigningKey};
pub use self::sources::{default_keys, defaults, figment, DEFAULTS};
pub use self::webauthn::WebauthnSettings;
use crate::domain::{Password, Username};
use crate::telemetry::logger::LogFormat;

/// A shorter metrics token could be guessed by a scraper-shaped attacker.
const MIN_METRICS_TOKEN_LEN: usize = 24;

/// Seconds of clock skew tolerated on `exp`; the purge keeps rows this much longer.
pub const LEEWAY_SECS: u64 = 5;

/// Everything the server reads from configuration, validated.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub database: DatabaseUrl,
    pub db_pool_size: u32,
    /// How long a database call on a request path may take, end to end (a thread, a
    /// connection, locks, the statement); past it the request fails closed (503).
    pub db_timeout: Duration,
    /// The keys that sign and verify access tokens, and the server secret the other keyed
    /// purposes derive from.
    pub keys: Keys,
    pub jwt_issuer: String,
    pub token_ttl: Duration,
    pub cookie: CookieSettings,
    pub purge_schedule: String,
    pub purge_batch_size: i64,
    /// How long audit events are kept; the purge deletes older ones.
    pub audit_retention: Duration,
    pub admin: Option<(Username, Password)>,
    pub signup_enabled: bool,
    pub allowed_origins: Vec<String>,
    pub throttle: ThrottleSettings,
    pub limits: AccountLimits,
    pub password: PasswordSettings,
    pub revocation: RevocationSettings,
    pub refresh: RefreshSettings,
    /// Idle and absolute timeouts of sessions.
    pub lifetime: SessionLifetime,
    /// A bearer token that may read `GET /metrics` (for a Prometheus scraper, which has no
    /// session); `None`: only admins may.
    pub metrics_token: Option<MetricsToken>,
    pub webauthn: WebauthnSettings,
}

/// How the guard decides that a token is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationCheck {
    /// The in-process view: no database round trip per request (the default).
    Memory,
    /// One indexed lookup in the blacklist table per request, as before the view existed.
    Database,
}

/// Settings of the revocation view.
#[derive(Debug, Clone, Copy)]
pub struct RevocationSettings {
    pub check: RevocationCheck,
    /// The longest an instance may go without proving its view current before its guard
    /// answers 503 (PostgreSQL: other instances' revocations arrive by LISTEN/NOTIFY).
    pub max_staleness: Duration,
    /// The access tokens' lifetime: how long a per-user cut-off must be kept.
    pub token_ttl: Duration,
}

/// Refresh tokens and their rotation.
#[derive(Debug, Clone, Copy)]
pub struct RefreshSettings {
    /// How long a refresh token (and so a session left alone) lives; every rotation renews it.
    pub ttl: Duration,
    /// How long after a rotation the rotated token still yields the same successor (another
    /// tab refreshing at the same moment) instead of counting as theft.
    pub reuse_grace: Duration,
}

/// Attributes of the `jwt` cookie.
#[derive(Debug, Clone, Copy)]
pub struct CookieSettings {
    pub secure: bool,
    pub same_site: SameSite,
    /// `cookie_host_prefix`: the cookies are named `__Host-jwt`, `__Secure-refresh` and
    /// `__Secure-device`, which a sibling subdomain cannot set (cookie tossing).
    pub host_prefix: bool,
}

/// Limits before `/authenticate`, `POST /api/password` and sign-up answer 429 (see
/// [`crate::auth::throttle`] for who counts on which budget).
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    /// Failures of one client on one username; also one device's and one session's budget.
    pub max_failures_per_user: u32,
    /// Failures of all untrusted clients (no device cookie for the username) together.
    pub max_untrusted_failures_per_user: u32,
    pub max_failures_per_ip: u32,
    /// Sign-up attempts per client key, whatever their outcome.
    pub signup_max_per_ip: u32,
    /// Failures of all trusted devices of one username together.
    pub max_trusted_failures_per_user: u32,
    /// Logins per client key, whatever their outcome.
    pub max_logins_per_ip: u32,
    /// Password checks one client key may have in flight at once.
    pub max_in_flight_per_ip: u32,
    pub window: Duration,
    /// Keys each throttle table keeps at most (least recently used go first).
    pub capacity: NonZeroUsize,
}

/// The argon2 threads and the queue in front of them.
#[derive(Debug, Clone, Copy)]
pub struct PasswordSettings {
    pub threads: usize,
    /// Jobs that may wait for a thread; past that, a request answers 503 at once instead of
    /// queueing behind a flood.
    pub queue: usize,
}

/// Why the configuration was refused; the message names the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl AppConfig {
    /// Reads and validates the settings of the figment's selected profile.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        if let Ok(names) = figment.extract_inner::<Vec<String>>(secret::NOT_UTF8_KEY) {
            return Err(ConfigError(format!(
                "{} must be UTF-8 text: secrets and passwords are read exactly as set",
                names.join(", ")
            )));
        }
        let raw: RawConfig = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        let limits = AccountLimits::from_figment(figment)?;
        // Only the debug profile is lenient: any other (release, prod, ...) is run like release.
        let release = figment.profile() != "debug";
        for (key, value) in [
            ("db_timeout_ms", raw.db_timeout_ms),
            (
                "login_max_failures_per_user",
                raw.login_max_failures_per_user.into(),
            ),
            (
                "login_max_untrusted_failures_per_user",
                raw.login_max_untrusted_failures_per_user.into(),
            ),
            (
                "login_max_failures_per_ip",
                raw.login_max_failures_per_ip.into(),
            ),
            ("signup_max_per_ip", raw.signup_max_per_ip.into()),
            ("db_pool_size", raw.db_pool_size.into()),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{key} must be at least 1")));
            }
        }
        let database = DatabaseUrl::parse(&raw.database_url)?;
        let keys = Keys::from_figment(figment, release)?;
        let same_site = match raw.cookie_same_site.to_ascii_lowercase().as_str() {
            "lax" => SameSite::Lax,
            "strict" => SameSite::Strict,
            "none" => SameSite::None,
            other => {
                return Err(ConfigError(format!(
                    "cookie_same_site must be lax, strict or none, not `{other}`"
                )))
            }
        };
        let secure = raw.cookie_secure.unwrap_or(release);
        if raw.cookie_host_prefix && !secure {
            return Err(ConfigError(
                "cookie_host_prefix = true needs cookie_secure = true: browsers refuse __Host- \
                 and __Secure- cookies without Secure"
                    .into(),
            ));
        }
        if same_site == SameSite::None && !secure {
            return Err(ConfigError(
                "cookie_same_site = none needs cookie_secure = true: browsers drop such cookies"
                    .into(),
            ));
        }
        if raw.token_ttl == 0 || raw.token_ttl > 30 * 24 * 3600 {
            return Err(ConfigError(
                "token_ttl must be between 1 and 2592000 seconds".into(),
            ));
        }
        // SQLite binds one parameter per row of a batch and allows at most 32766.
        if !(1..=10_000).contains(&raw.purge_batch_size) {
            return Err(ConfigError(
                "purge_batch_size must be between 1 and 10000".into(),
            ));
        }
        if !(1..=3650).contains(&raw.audit_retention_days) {
            return Err(ConfigError(
                "audit_retention_days must be between 1 and 3650".into(),
            ));
        }
        if !(1..=86_400).contains(&raw.login_failure_window) {
            return Err(ConfigError(
                "login_failure_window must be between 1 and 86400 seconds".into(),
            ));
        }
        // Below, an attacker could flush counts out cheaply; above, memory grows for nothing.
        let capacity = NonZeroUsize::new(raw.throttle_capacity)
            .filter(|c| (1_000..=10_000_000).contains(&c.get()))
            .ok_or_else(|| {
                ConfigError("throttle_capacity must be between 1000 and 10000000".into())
            })?;
        let password = PasswordSettings {
            threads: match raw.password_threads {
                Some(n) if !(1..=256).contains(&n) => {
                    return Err(ConfigError(
                        "password_threads must be between 1 and 256".into(),
                    ))
                }
                Some(n) => n,
                None => std::thread::available_parallelism().map_or(2, |n| n.get()),
            },
            queue: raw.password_queue,
        };
        if !(1..=10_000).contains(&password.queue) {
            return Err(ConfigError(
                "password_queue must be between 1 and 10000".into(),
            ));
        }
        let admin = match (raw.admin_username, raw.admin_password) {
            (Some(name), Some(password)) => Some((
                Username::parse(&name).map_err(|e| ConfigError(format!("admin_username: {e}")))?,
                Password::parse(password)
                    .map_err(|e| ConfigError(format!("admin_password: {e}")))?,
            )),
            (None, None) => None,
            _ => {
                return Err(ConfigError(
                    "admin_username and admin_password must be set together".into(),
                ))
            }
        };
        let revocation = RevocationSettings {
            check: match raw.revocation_check.to_ascii_lowercase().as_str() {
                "memory" => RevocationCheck::Memory,
                "database" => RevocationCheck::Database,
                other => {
                    return Err(ConfigError(format!(
                        "revocation_check must be memory or database, not `{other}`"
                    )))
                }
            },
            max_staleness: Duration::from_millis(raw.revocation_max_staleness),
            token_ttl: Duration::from_secs(raw.token_ttl),
        };
        // Below 100 ms the heartbeat (a quarter of it) would be a busy loop; above a minute a
        // logout elsewhere could go unseen for too long.
        if !(100..=60_000).contains(&raw.revocation_max_staleness) {
            return Err(ConfigError(
                "revocation_max_staleness must be between 100 and 60000 milliseconds".into(),
            ));
        }
        if raw.refresh_ttl < raw.token_ttl || raw.refresh_ttl > 365 * 24 * 3600 {
            return Err(ConfigError(
                "refresh_ttl must be at least token_ttl and at most 31536000 seconds".into(),
            ));
        }
        // A longer grace would let a stolen token be used unnoticed for that long.
        if raw.refresh_reuse_grace > 60 {
            return Err(ConfigError(
                "refresh_reuse_grace must be between 0 and 60 seconds".into(),
            ));
        }
        let refresh = RefreshSettings {
            ttl: Duration::from_secs(raw.refresh_ttl),
            reuse_grace: Duration::from_secs(raw.refresh_reuse_grace),
        };
        let lifetime = SessionLifetime::parse(
            raw.session_idle_timeout,
            raw.session_max_lifetime,
            raw.session_max_lifetime_unremembered,
            raw.token_ttl,
        )?;
        let allowed_origins = raw
            .allowed_origins
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        // The logger reads `log_format` itself (it starts before this check); a bad value is
        // refused here, so that start-up stops naming it.
        LogFormat::parse(&raw.log_format).ok_or_else(|| {
            ConfigError(format!(
                "log_format must be text or json, not `{}`",
                raw.log_format
            ))
        })?;
        let metrics_token = match raw.metrics_token.filter(|t| !t.is_empty()) {
            Some(t) if t.len() < MIN_METRICS_TOKEN_LEN => {
                return Err(ConfigError(format!(
                    "metrics_token must be at least {MIN_METRICS_TOKEN_LEN} characters"
                )))
            }
            Some(t) => Some(MetricsToken::new(&t, &keys.server_secret)),
            None => None,
        };
        let webauthn = WebauthnSettings::parse(
            raw.webauthn_rp_id,
            &raw.webauthn_origin,
            raw.webauthn_rp_name,
        )?;
        Ok(Self {
            database,
            db_pool_size: raw.db_pool_size,
            db_timeout: Duration::from_millis(raw.db_timeout_ms),
            keys,
            jwt_issuer: raw.jwt_issuer,
            token_ttl: Duration::from_secs(raw.token_ttl),
            cookie: CookieSettings {
                secure,
                same_site,
                host_prefix: raw.cookie_host_prefix,
            },
            purge_schedule: raw.purge_schedule,
            purge_batch_size: raw.purge_batch_size,
            audit_retention: Duration::from_secs(raw.audit_retention_days * 86_400),
            admin,
            signup_enabled: raw.signup_enabled,
            allowed_origins,
            throttle: ThrottleSettings {
                max_failures_per_user: raw.login_max_failures_per_user,
                max_untrusted_failures_per_user: raw.login_max_untrusted_failures_per_user,
                max_failures_per_ip: raw.login_max_failures_per_ip,
                signup_max_per_ip: raw.signup_max_per_ip,
                max_trusted_failures_per_user: limits.max_trusted_failures_per_user,
                max_logins_per_ip: limits.max_logins_per_ip,
                max_in_flight_per_ip: limits.max_in_flight_per_ip,
                window: Duration::from_secs(raw.login_failure_window),
                capacity,
            },
            limits,
            password,
            revocation,
            refresh,
            lifetime,
            metrics_token,
            webauthn,
        })
    }
}

#[cfg(test)]
mod tests;
