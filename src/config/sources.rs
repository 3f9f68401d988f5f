//! Where settings come from, in order: Rocket's own defaults, this server's defaults (the one
//! source, `defaults.toml`, compiled in), Rocket.toml (or `ROCKET_CONFIG`), then `ROCKET_*`
//! variables.

use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::value::{Dict, Value};
use rocket::figment::{Figment, Profile, Provider};

use super::secret;

/// Every setting's default: the one source, carried by the binary.
pub const DEFAULTS: &str = include_str!("defaults.toml");

/// Rocket's own defaults, under this server's ([`DEFAULTS`]): what holds before Rocket.toml
/// and the environment are read. Rocket's defaults differ between debug and release builds
/// (its release `log_level` is `critical`); every one of them this server documents is set in
/// [`DEFAULTS`], so both builds behave alike.
pub fn defaults() -> Figment {
    Figment::from(rocket::Config::default()).merge(Toml::string(DEFAULTS).nested())
}

/// The defaults, then Rocket.toml (or `ROCKET_CONFIG`), then `ROCKET_*` variables. Secrets and
/// passwords from the environment are taken as the exact text set (see [`secret::TEXT_KEYS`]),
/// not parsed as numbers or lists.
pub fn figment() -> Figment {
    let text = secret::text_vars("ROCKET_", std::env::vars_os());
    let mut figment = defaults()
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(
            Env::prefixed("ROCKET_")
                .ignore(&["PROFILE"])
                .ignore(secret::TEXT_KEYS)
                .global(),
        )
        .merge(Serialized::globals(text.values));
    if !text.not_utf8.is_empty() {
        figment = figment.merge(Serialized::global(secret::NOT_UTF8_KEY, text.not_utf8));
    }
    figment.select(Profile::from_env_or(
        "ROCKET_PROFILE",
        rocket::Config::DEFAULT_PROFILE,
    ))
}

/// The keys [`DEFAULTS`] sets, `limits.json` style for nested ones, with their TOML text.
pub fn default_keys() -> Vec<(String, String)> {
    fn walk(prefix: &str, dict: &Dict, into: &mut Vec<(String, String)>) {
        for (key, value) in dict {
            let name = if prefix.is_empty() || prefix.ends_with(':') {
                format!("{prefix}{key}")
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                Value::Dict(_, inner) => walk(&name, inner, into),
                value => into.push((name, toml_text(value))),
            }
        }
    }
    let mut keys = Vec::new();
    if let Ok(data) = Toml::string(DEFAULTS).nested().data() {
        for (profile, dict) in data {
            let prefix = if profile == Profile::Default {
                String::new()
            } else {
                format!("{profile}:")
            };
            walk(&prefix, &dict, &mut keys);
        }
    }
    keys
}

/// A default as TOML writes it (`8000`, `"lax"`, `[]`).
fn toml_text(value: &Value) -> String {
    match value {
        Value::String(_, s) => format!("{s:?}"),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, n) => n
            .to_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_f64().map(|f| f.to_string()))
            .unwrap_or_default(),
        Value::Array(_, items) => {
            let items: Vec<String> = items.iter().map(toml_text).collect();
            format!("[{}]", items.join(", "))
        }
        other => format!("{other:?}"),
    }
}
