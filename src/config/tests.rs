//! Reading and validating the settings.

use super::*;

#[test]
fn without_rocket_toml_no_client_address_header_is_trusted_and_bodies_are_small() {
    let config: rocket::Config = defaults().extract().expect("valid config");
    assert_eq!(config.ip_header, None);
    assert_eq!(
        config.limits.get("json"),
        Some(rocket::data::ByteUnit::Kibibyte(16))
    );
}

fn base(profile: &str) -> Figment {
    defaults()
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
    let config =
        AppConfig::from_figment(&base("prod").merge(("jwt_secret", "s".repeat(32)))).expect("ok");
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
        ("audit_retention_days", 0, "audit_retention_days"),
        ("audit_retention_days", 3651, "audit_retention_days"),
        ("login_failure_window", 1_000_000, "login_failure_window"),
        ("token_ttl", 0, "token_ttl"),
        ("revocation_max_staleness", 5, "revocation_max_staleness"),
        ("refresh_ttl", 60, "refresh_ttl"),
        ("refresh_reuse_grace", 600, "refresh_reuse_grace"),
        ("session_idle_timeout", 60, "session_idle_timeout"),
        ("session_max_lifetime", 60, "session_max_lifetime"),
        (
            "session_max_lifetime_unremembered",
            40_000_000,
            "session_max_lifetime_unremembered",
        ),
        ("password_queue", 0, "password_queue"),
        ("password_threads", 0, "password_threads"),
        ("throttle_capacity", 10, "throttle_capacity"),
        ("db_timeout_ms", 0, "db_timeout_ms"),
        (
            "login_max_failures_per_user",
            0,
            "login_max_failures_per_user",
        ),
        (
            "login_max_untrusted_failures_per_user",
            0,
            "login_max_untrusted_failures_per_user",
        ),
        ("login_max_failures_per_ip", 0, "login_max_failures_per_ip"),
        ("signup_max_per_ip", 0, "signup_max_per_ip"),
        ("db_pool_size", 0, "db_pool_size"),
    ];
    let err = AppConfig::from_figment(&base("debug").merge(("revocation_check", "redis")))
        .expect_err("refused")
        .to_string();
    assert!(err.contains("revocation_check"), "{err}");
    for (key, value, named) in cases {
        let err = AppConfig::from_figment(&base("debug").merge((key, value)))
            .expect_err("refused")
            .to_string();
        assert!(err.contains(named), "{err}");
    }
}

#[test]
fn the_defaults_are_valid_and_a_release_build_logs_as_a_debug_one() {
    let debug = AppConfig::from_figment(&base("debug")).expect("the defaults are valid");
    assert_eq!(debug.db_timeout, Duration::from_millis(2000));
    let rocket: rocket::Config = defaults().select("release").extract().expect("valid");
    assert_eq!(rocket.log_level, rocket::config::LogLevel::Normal);
    let keys = default_keys();
    assert!(
        keys.contains(&("port".to_owned(), "8000".to_owned())),
        "{keys:?}"
    );
    assert!(keys.contains(&("limits.json".to_owned(), "\"16 KiB\"".to_owned())));
    assert!(
        keys.iter().all(|(k, _)| !k.contains("cookie_secure")),
        "cookie_secure follows the profile"
    );
}

#[test]
fn a_cookie_secure_set_for_every_profile_holds_in_each() {
    let secret = "s".repeat(32);
    for profile in ["debug", "release"] {
        for secure in [false, true] {
            let figment = defaults()
                .merge(("database_url", "x.sqlite3"))
                .merge(("jwt_secret", secret.as_str()))
                .merge(rocket::figment::providers::Serialized::default(
                    "cookie_secure",
                    secure,
                ))
                .select(profile);
            let config = AppConfig::from_figment(&figment).expect("valid");
            assert_eq!(config.cookie.secure, secure, "{profile}");
        }
    }
}

#[test]
fn session_lifetimes_default_to_a_week_idle_a_month_and_half_a_day_unremembered() {
    let config = AppConfig::from_figment(&base("debug")).expect("ok");
    let days = |d: u64| Some(Duration::from_secs(d * 86_400));
    assert_eq!(config.lifetime.idle_timeout, days(7));
    assert_eq!(config.lifetime.max_lifetime, days(30));
    assert_eq!(
        config.lifetime.max_lifetime_unremembered,
        Some(Duration::from_secs(12 * 3600))
    );
    let none = AppConfig::from_figment(
        &base("debug")
            .merge(("session_idle_timeout", 0))
            .merge(("session_max_lifetime", 0))
            .merge(("session_max_lifetime_unremembered", 0)),
    )
    .expect("0 turns a limit off");
    assert_eq!(none.lifetime.idle_timeout, None);
    assert_eq!(none.lifetime.max_lifetime, None);
    assert_eq!(none.lifetime.max_lifetime_unremembered, None);
}
