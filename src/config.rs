//! Typed settings, read once from Rocket's figment (Rocket.toml profiles and `ROCKET_*`
//! variables) and validated at ignite, so a bad value stops start-up instead of a request.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::{Figment, Profile};
use rocket::http::SameSite;
use rocket::serde::Deserialize;

use crate::domain::{Password, Username};

/// Where the server keeps its database when `database_url` is not set.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/jwt-blacklist.sqlite3";

/// Seconds of clock skew tolerated on `exp`; the purge keeps rows this much longer.
pub const LEEWAY_SECS: u64 = 5;

/// The secret must be at least this long: HS256 with a short key is brute-forceable offline.
const MIN_SECRET_LEN: usize = 32;

/// Rocket's configuration sources (Rocket.toml, then `ROCKET_*` variables) over Rocket's
/// defaults, with this server's safe defaults in between: they hold even when Rocket.toml is not
/// found (a binary started from another folder).
pub fn figment() -> Figment {
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(SafeDefaults::default()))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// Rocket settings whose own defaults are wrong for this server.
#[derive(serde::Serialize)]
struct SafeDefaults {
    /// Rocket trusts `X-Real-IP` by default, which would let any client pick the address the
    /// login throttle counts; only a trusted proxy's header should be configured.
    ip_header: bool,
    /// Our bodies are a username and a password; 1 MiB (Rocket's default) only invites abuse.
    limits: std::collections::BTreeMap<&'static str, &'static str>,
}

impl Default for SafeDefaults {
    fn default() -> Self {
        let limits = [
            ("json", "16 KiB"),
            ("form", "16 KiB"),
            ("data-form", "16 KiB"),
        ]
        .into_iter()
        .collect();
        Self {
            ip_header: false,
            limits,
        }
    }
}

/// Everything the server reads from configuration, validated.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub database: DatabaseUrl,
    pub db_pool_size: u32,
    /// How long a request waits for a database connection before failing closed (503).
    pub db_timeout: Duration,
    pub jwt_secret: Secret,
    pub jwt_issuer: String,
    pub token_ttl: Duration,
    pub cookie: CookieSettings,
    pub purge_schedule: String,
    pub purge_batch_size: i64,
    pub admin: Option<(Username, Password)>,
    pub signup_enabled: bool,
    pub allowed_origins: Vec<String>,
    pub throttle: ThrottleSettings,
}

/// Attributes of the `jwt` cookie.
#[derive(Debug, Clone, Copy)]
pub struct CookieSettings {
    pub secure: bool,
    pub same_site: SameSite,
}

/// Limits on failed logins before `/authenticate` answers 429.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleSettings {
    pub max_failures_per_user: u32,
    pub max_failures_per_ip: u32,
    pub window: Duration,
}

/// The raw shape of the settings, before validation.
#[derive(Deserialize)]
#[serde(crate = "rocket::serde")]
struct RawConfig {
    database_url: Option<String>,
    #[serde(default = "defaults::pool_size")]
    db_pool_size: u32,
    #[serde(default = "defaults::db_timeout_ms")]
    db_timeout_ms: u64,
    #[serde(default, deserialize_with = "lenient::string")]
    jwt_secret: Option<String>,
    #[serde(default = "defaults::issuer")]
    jwt_issuer: String,
    #[serde(default = "defaults::token_ttl")]
    token_ttl: u64,
    cookie_secure: Option<bool>,
    #[serde(default = "defaults::same_site")]
    cookie_same_site: String,
    #[serde(default = "defaults::purge_schedule")]
    purge_schedule: String,
    #[serde(default = "defaults::purge_batch_size")]
    purge_batch_size: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    admin_username: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    admin_password: Option<String>,
    #[serde(default = "defaults::yes")]
    signup_enabled: bool,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default = "defaults::max_failures_per_user")]
    login_max_failures_per_user: u32,
    #[serde(default = "defaults::max_failures_per_ip")]
    login_max_failures_per_ip: u32,
    #[serde(default = "defaults::failure_window")]
    login_failure_window: u64,
}

mod defaults {
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
}

/// Environment variables arrive typed (`ROCKET_ADMIN_PASSWORD=12345678` is a number). Secrets
/// accept any scalar as its text, so that a valid password is neither refused nor echoed back in
/// figment's type error.
mod lenient {
    use std::fmt;

    use rocket::serde::de::{self, Deserializer, Visitor};

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(Scalar).map(Some)
    }

    struct Scalar;

    impl Visitor<'_> for Scalar {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_char<E: de::Error>(self, v: char) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
}

/// Why the configuration was refused; the message names the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl AppConfig {
    /// Reads and validates the settings of the figment's selected profile.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let raw: RawConfig = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        // Only the debug profile is lenient: any other (release, prod, ...) is run like release.
        let release = figment.profile() != "debug";
        let database =
            DatabaseUrl::parse(raw.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL))?;
        let jwt_secret = Secret::resolve(raw.jwt_secret, release)?;
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
        if !(1..=86_400).contains(&raw.login_failure_window) {
            return Err(ConfigError(
                "login_failure_window must be between 1 and 86400 seconds".into(),
            ));
        }
        if raw.db_pool_size == 0 {
            return Err(ConfigError("db_pool_size must be at least 1".into()));
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
        let allowed_origins = raw
            .allowed_origins
            .into_iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect();
        Ok(Self {
            database,
            db_pool_size: raw.db_pool_size,
            db_timeout: Duration::from_millis(raw.db_timeout_ms.max(1)),
            jwt_secret,
            jwt_issuer: raw.jwt_issuer,
            token_ttl: Duration::from_secs(raw.token_ttl),
            cookie: CookieSettings { secure, same_site },
            purge_schedule: raw.purge_schedule,
            purge_batch_size: raw.purge_batch_size,
            admin,
            signup_enabled: raw.signup_enabled,
            allowed_origins,
            throttle: ThrottleSettings {
                max_failures_per_user: raw.login_max_failures_per_user.max(1),
                max_failures_per_ip: raw.login_max_failures_per_ip.max(1),
                window: Duration::from_secs(raw.login_failure_window),
            },
        })
    }
}

/// The signing key; its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    fn resolve(configured: Option<String>, release: bool) -> Result<Self, ConfigError> {
        match configured {
            Some(s) if s.len() >= MIN_SECRET_LEN => Ok(Self(s.into_bytes())),
            Some(_) => Err(ConfigError(format!("jwt_secret must be at least {MIN_SECRET_LEN} bytes"))),
            None if release => Err(ConfigError(
                "jwt_secret is required in the release profile (set ROCKET_JWT_SECRET to 32 or more random bytes)".into(),
            )),
            None => {
                rocket::warn!("jwt_secret is not set: using an ephemeral secret; tokens will not survive a restart");
                use rand::RngCore;
                let mut bytes = vec![0u8; 64];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                Ok(Self(bytes))
            }
        }
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A database location, parsed from `database_url`. Its `Debug` and `Display` never show a
/// password, so it can go into any log line or error message.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, created with its folder at start.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URI, shared by every instance.
    Postgres(PostgresUrl),
}

/// A `postgres://` URI with a connect timeout, and its password-free description.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    uri: String,
    shown: String,
}

/// libpq settings added to a PostgreSQL URL that does not set them: give up connecting after
/// 5 s, and drop a connection whose packets go unacknowledged for 5 s (a server that vanished
/// without a reset), so that the guard answers 503 in seconds rather than hanging on TCP.
const PG_DEFAULT_PARAMS: [(&str, &str); 3] = [
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "5000"),
    ("keepalives_idle", "30"),
];

impl DatabaseUrl {
    /// Accepts `postgres://…` / `postgresql://…`, and for SQLite `sqlite://relative/path`,
    /// `sqlite:///absolute/path` and a plain path.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return PostgresUrl::parse(raw).map(Self::Postgres);
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
            return Err(ConfigError(format!(
                "database_url `{raw}` must name a SQLite file: an in-memory database would give every pooled connection its own blacklist"
            )));
        }
        if path.contains("://") {
            return Err(ConfigError(
                "database_url must start with sqlite:// or postgres:// (or be a file path)".into(),
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl PostgresUrl {
    fn parse(raw: &str) -> Result<Self, ConfigError> {
        let mut url = url::Url::parse(raw).map_err(|e| {
            ConfigError(format!("database_url is not a valid postgres:// URL ({e})"))
        })?;
        let host = url.host_str().unwrap_or("localhost").to_owned();
        let port = url.port().unwrap_or(5432);
        let db = url.path().trim_start_matches('/').to_owned();
        let user = url.username().to_owned();
        for (key, value) in PG_DEFAULT_PARAMS {
            if !url.query_pairs().any(|(k, _)| k == key) {
                url.query_pairs_mut().append_pair(key, value);
            }
        }
        let db_shown = if db.is_empty() {
            format!("(default for user {user})")
        } else {
            db
        };
        Ok(Self {
            uri: url.to_string(),
            shown: format!("postgres database {db_shown} on {host}:{port}"),
        })
    }

    /// The full URI, password included: for libpq only, never for a message.
    pub fn expose(&self) -> &str {
        &self.uri
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite file {}", path.display()),
            Self::Postgres(pg) => f.write_str(&pg.shown),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A fixed secret for unit tests in other modules.
#[cfg(test)]
pub(crate) fn tests_secret() -> Secret {
    Secret(b"unit-test-secret-unit-test-secret-0123".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_accept_relative_absolute_and_plain_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").ok(),
            Some(DatabaseUrl::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").ok(),
            Some(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("x.db").ok(),
            Some(DatabaseUrl::Sqlite("x.db".into()))
        );
    }

    #[test]
    fn a_postgres_url_is_described_without_its_password_and_gets_a_connect_timeout() {
        let url =
            DatabaseUrl::parse("postgres://app:hunter2@db.internal:6543/sessions").expect("valid");
        let shown = format!("{url} {url:?}");
        assert!(
            shown.contains("db.internal:6543") && shown.contains("sessions"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        let DatabaseUrl::Postgres(pg) = url else {
            panic!("not postgres")
        };
        assert!(pg.expose().contains("connect_timeout=5"));
        let kept = DatabaseUrl::parse("postgresql://h/d?connect_timeout=1").expect("valid");
        assert!(
            matches!(kept, DatabaseUrl::Postgres(pg) if pg.expose().contains("connect_timeout=1") && !pg.expose().contains("connect_timeout=5"))
        );
    }

    #[test]
    fn without_rocket_toml_no_client_address_header_is_trusted_and_bodies_are_small() {
        let figment = Figment::from(rocket::Config::default())
            .merge(Serialized::defaults(SafeDefaults::default()));
        let config: rocket::Config = figment.extract().expect("valid config");
        assert_eq!(config.ip_header, None);
        assert_eq!(
            config.limits.get("json"),
            Some(rocket::data::ByteUnit::Kibibyte(16))
        );
    }

    fn base(profile: &str) -> Figment {
        Figment::from(rocket::Config::default())
            .merge(Serialized::defaults(SafeDefaults::default()))
            .merge(("database_url", "x.sqlite3"))
            .select(profile)
    }

    #[test]
    fn numeric_secrets_from_the_environment_are_taken_as_text() {
        let config = AppConfig::from_figment(
            &base("debug")
                .merge(("jwt_secret", 12345678901234567890123456789012345_u128))
                .merge(("admin_username", 12345))
                .merge(("admin_password", 12345678)),
        )
        .expect("accepted");
        let (name, password) = config.admin.expect("admin");
        assert_eq!((name.as_str(), password.expose()), ("12345", "12345678"));
    }

    #[test]
    fn any_profile_but_debug_is_strict() {
        for profile in ["release", "prod", "staging"] {
            let err = AppConfig::from_figment(&base(profile))
                .expect_err("refused")
                .to_string();
            assert!(err.contains("jwt_secret"), "{err}");
        }
        let config = AppConfig::from_figment(&base("prod").merge(("jwt_secret", "s".repeat(32))))
            .expect("ok");
        assert!(
            config.cookie.secure,
            "non-debug profiles default to Secure cookies"
        );
        assert!(
            !AppConfig::from_figment(&base("debug"))
                .expect("ok")
                .cookie
                .secure
        );
    }

    #[test]
    fn errors_name_the_offending_key() {
        let cases = [
            ("purge_batch_size", 20_000_i64, "purge_batch_size"),
            ("login_failure_window", 1_000_000, "login_failure_window"),
            ("token_ttl", 0, "token_ttl"),
        ];
        for (key, value, named) in cases {
            let err = AppConfig::from_figment(&base("debug").merge((key, value)))
                .expect_err("refused")
                .to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn an_unknown_scheme_is_refused() {
        assert!(DatabaseUrl::parse("mysql://localhost/x").is_err());
    }

    #[test]
    fn an_in_memory_sqlite_database_is_refused() {
        assert!(DatabaseUrl::parse(":memory:").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn the_secret_is_redacted_in_debug_output() {
        let secret = Secret(b"0123456789abcdef0123456789abcdef".to_vec());
        assert!(!format!("{secret:?}").contains("0123"));
    }

    #[test]
    fn release_refuses_to_start_without_a_secret() {
        assert!(Secret::resolve(None, true).is_err());
        assert!(Secret::resolve(Some("short".into()), false).is_err());
        assert!(Secret::resolve(None, false).is_ok());
    }
}
