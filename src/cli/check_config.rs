//! `jwt-blacklist check-config [--json]`: validates the configuration as start-up does
//! ([`crate::validated_config`], after Rocket's own settings) and prints the effective
//! settings, one `name = value` per line, or one JSON object. Secrets are shown as `<set>`,
//! unset optional settings as `<unset>` (`null` in JSON). It opens no database and takes no
//! lock, so it runs beside a server on the same configuration.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use rocket::figment::value::Value as FigmentValue;
use rocket::figment::Figment;
use serde_json::{json, Map, Value};

use crate::config::{AppConfig, DatabaseUrl, KeyMaterial, RevocationCheck, ServerSettings};

/// Shown in place of a secret that is set.
const SET: &str = "<set>";
/// Shown for an optional setting left unset (text output).
const UNSET: &str = "<unset>";

#[derive(Args)]
pub struct CheckConfig {
    /// Prints one JSON object instead of `name = value` lines.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckConfig) -> ExitCode {
    let figment = crate::config::figment();
    // Rocket's own settings (address, port, limits, ...) are checked by Rocket at start-up.
    let rocket = match ServerSettings::from_figment(&figment) {
        Ok(rocket) => rocket,
        Err(e) => {
            eprintln!("invalid configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = match crate::validated_config(&figment) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    let settings = settings(&figment, &rocket, &config);
    let text = if args.json {
        let object: Map<String, Value> = settings
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        format!("{}\n", Value::Object(object))
    } else {
        settings
            .iter()
            .map(|(name, value)| format!("{name} = {}\n", text(value)))
            .collect()
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the settings: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The effective settings, by the names they are configured under, in the order of the
/// configuration reference.
fn settings(
    figment: &Figment,
    rocket: &ServerSettings,
    config: &AppConfig,
) -> Vec<(&'static str, Value)> {
    let secret = |key: &str| {
        if is_set(figment, key) {
            json!(SET)
        } else {
            Value::Null
        }
    };
    let database_url = match &config.database {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(pg) => pg.redacted(),
    };
    let signing_keys: Vec<Value> = config
        .keys
        .signing
        .iter()
        .map(|key| {
            let alg = match key.material {
                KeyMaterial::Hs256(_) => "HS256",
                KeyMaterial::Ed25519 { .. } => "EdDSA",
            };
            let sign_from = key.sign_from.map(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_else(|_| t.to_string())
            });
            json!({ "kid": key.kid, "alg": alg, "key": SET, "sign_from": sign_from })
        })
        .collect();
    let throttle = &config.throttle;
    let limits = &config.limits;
    let lifetime = &config.lifetime;
    // A limit turned off is configured as 0.
    let seconds = |limit: Option<std::time::Duration>| json!(limit.map_or(0, |d| d.as_secs()));
    let log_format = figment
        .extract_inner::<String>("log_format")
        .map_or(Value::Null, Value::from);
    let admin_username = config
        .admin
        .as_ref()
        .map(|(name, _)| name.as_str().to_owned());
    let revocation_check = match config.revocation.check {
        RevocationCheck::Memory => "memory",
        RevocationCheck::Database => "database",
    };
    let ip_header = rocket
        .ip_header
        .as_ref()
        .map_or(json!(false), |h| json!(h.as_str()));
    let limit = |name: &str| rocket.limit(name).map_or(Value::Null, Value::from);
    vec![
        ("profile", json!(figment.profile().as_str().as_str())),
        ("address", json!(rocket.address)),
        ("port", json!(rocket.port)),
        ("ip_header", ip_header),
        ("log_level", json!(rocket.log_level)),
        ("log_format", log_format),
        ("limits.json", limit("json")),
        ("limits.form", limit("form")),
        ("limits.data-form", limit("data-form")),
        ("database_url", json!(database_url)),
        ("db_pool_size", json!(config.db_pool_size)),
        ("db_timeout_ms", json!(config.db_timeout.as_millis() as u64)),
        ("jwt_secret", secret("jwt_secret")),
        ("signing_keys", Value::Array(signing_keys)),
        ("server_secret", secret("server_secret")),
        ("jwt_issuer", json!(config.jwt_issuer)),
        ("token_ttl", json!(config.token_ttl.as_secs())),
        ("refresh_ttl", json!(config.refresh.ttl.as_secs())),
        (
            "refresh_reuse_grace",
            json!(config.refresh.reuse_grace.as_secs()),
        ),
        ("session_idle_timeout", seconds(lifetime.idle_timeout)),
        ("session_max_lifetime", seconds(lifetime.max_lifetime)),
        (
            "session_max_lifetime_unremembered",
            seconds(lifetime.max_lifetime_unremembered),
        ),
        ("cookie_secure", json!(config.cookie.secure)),
        (
            "cookie_same_site",
            json!(config.cookie.same_site.to_string().to_ascii_lowercase()),
        ),
        ("cookie_host_prefix", json!(config.cookie.host_prefix)),
        ("purge_schedule", json!(config.purge_schedule)),
        ("purge_batch_size", json!(config.purge_batch_size)),
        (
            "audit_retention_days",
            json!(config.audit_retention.as_secs() / 86_400),
        ),
        ("admin_username", json!(admin_username)),
        ("admin_password", secret("admin_password")),
        ("signup_enabled", json!(config.signup_enabled)),
        ("allowed_origins", json!(config.allowed_origins)),
        (
            "login_max_failures_per_user",
            json!(throttle.max_failures_per_user),
        ),
        (
            "login_max_untrusted_failures_per_user",
            json!(throttle.max_untrusted_failures_per_user),
        ),
        (
            "login_max_failures_per_ip",
            json!(throttle.max_failures_per_ip),
        ),
        ("login_failure_window", json!(throttle.window.as_secs())),
        ("signup_max_per_ip", json!(throttle.signup_max_per_ip)),
        (
            "login_max_trusted_failures_per_user",
            json!(limits.max_trusted_failures_per_user),
        ),
        ("login_max_per_ip", json!(limits.max_logins_per_ip)),
        (
            "password_max_in_flight_per_ip",
            json!(limits.max_in_flight_per_ip),
        ),
        ("max_sessions_per_user", json!(limits.max_sessions_per_user)),
        ("max_devices_per_user", json!(limits.max_devices_per_user)),
        ("throttle_capacity", json!(throttle.capacity.get())),
        ("password_threads", json!(config.password.threads)),
        ("password_queue", json!(config.password.queue)),
        ("revocation_check", json!(revocation_check)),
        (
            "revocation_max_staleness",
            json!(config.revocation.max_staleness.as_millis() as u64),
        ),
        (
            "metrics_token",
            json!(config.metrics_token.as_ref().map(|_| SET)),
        ),
        ("webauthn_rp_id", json!(config.webauthn.rp_id)),
        ("webauthn_origin", json!(config.webauthn.origin.as_str())),
        ("webauthn_rp_name", json!(config.webauthn.rp_name)),
    ]
}

/// Whether `key` holds a value; an empty text is no value, as the configuration reads it.
fn is_set(figment: &Figment, key: &str) -> bool {
    match figment.find_value(key) {
        Ok(FigmentValue::String(_, text)) => !text.is_empty(),
        Ok(_) => true,
        Err(_) => false,
    }
}

/// A value as one line shows it: text bare, `null` as `<unset>`, a list in brackets, a table
/// as `{ name = value, ... }`.
fn text(value: &Value) -> String {
    match value {
        Value::Null => UNSET.to_owned(),
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(text).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, value)| format!("{name} = {}", text(value)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        other => other.to_string(),
    }
}
