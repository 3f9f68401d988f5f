//! Secrets (their length rule, their redaction, the keys derived from them) and the reading of
//! secrets from the environment as the exact text set.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ConfigError;

/// The secret must be at least this long: HS256 with a short key is brute-forceable offline.
const MIN_SECRET_LEN: usize = 32;

/// Secret bytes (an HMAC key, a private key's encoding); `Debug` never shows them.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret setting: at least [`MIN_SECRET_LEN`] bytes; the message names `key`, never the
    /// value.
    pub(super) fn from_setting(key: &str, text: String) -> Result<Self, ConfigError> {
        if text.len() < MIN_SECRET_LEN {
            return Err(ConfigError(format!(
                "{key} must be at least {MIN_SECRET_LEN} bytes"
            )));
        }
        Ok(Self(text.into_bytes()))
    }

    /// Bytes that are secret (a private key's encoding), redacted like any other.
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// A random secret for the debug profile when none is configured.
    pub(super) fn ephemeral() -> Self {
        use rand::RngCore;
        let mut bytes = vec![0u8; 64];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A secret given as text (tools and benchmarks); the same length rule as configuration.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        Self::from_setting("the secret", text.to_owned())
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// An HMAC-SHA-256 key of its own for one purpose, named by `label`, derived from the
    /// secret: the JWT key itself is never used for anything but JWTs, and a value signed for
    /// one purpose cannot pass for another.
    pub fn derived_hmac(&self, label: &[u8]) -> Hmac<Sha256> {
        let mut derive = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        derive.update(label);
        let key = derive.finalize().into_bytes();
        Hmac::<Sha256>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }
}

impl Secret {
    /// A 256-bit key of its own for one purpose (a cipher's), derived like [`Self::derived_hmac`].
    pub fn derived_key(&self, label: &[u8]) -> [u8; 32] {
        let mut derive = Hmac::<Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        derive.update(label);
        derive.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The scraper's bearer token for `GET /metrics`, kept only as its HMAC under a key derived from
/// the server secret, and compared in constant time.
#[derive(Clone)]
pub struct MetricsToken {
    key: Hmac<Sha256>,
    expected: [u8; 32],
}

impl MetricsToken {
    pub(super) fn new(token: &str, server_secret: &Secret) -> Self {
        let key = server_secret.derived_hmac(b"jwt-blacklist/metrics-token/v1");
        let expected = Self::mac(&key, token);
        Self { key, expected }
    }

    fn mac(key: &Hmac<Sha256>, token: &str) -> [u8; 32] {
        let mut mac = key.clone();
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Whether `presented` is the configured token.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        Self::mac(&self.key, presented).ct_eq(&self.expected).into()
    }
}

impl fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Environment variables arrive typed (`ROCKET_ADMIN_PASSWORD=12345678` is a number). Secrets
/// accept any scalar as its text, so that a valid password is neither refused nor echoed back in
/// figment's type error.
pub(super) mod lenient {
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

/// Settings whose `ROCKET_*` variables are read as their exact text. Figment's `Env` provider
/// parses values (`00123456789` becomes the number 123456789, `true` a boolean, `"x"` loses its
/// quotes, `[a]` becomes an array), so a password or secret set that way would silently differ
/// from the one the operator typed.
pub(super) const TEXT_KEYS: &[&str] = &[
    "jwt_secret",
    "server_secret",
    "admin_username",
    "admin_password",
    "metrics_token",
    "database_url",
    "jwt_issuer",
];

/// The figment key that lists the variables of [`TEXT_KEYS`] that are not valid UTF-8, so that
/// validation stops start-up naming them (a provider error would make Rocket panic instead).
pub(super) const NOT_UTF8_KEY: &str = "environment_not_utf8";

/// The [`TEXT_KEYS`] among `vars` (environment variables), read as text.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TextVars {
    /// Setting name (lowercase) to its value, exactly as set.
    pub values: BTreeMap<String, String>,
    /// Names of the variables that are not valid UTF-8, as given.
    pub not_utf8: Vec<String>,
}

/// Picks the variables named `<prefix><key>` for each of [`TEXT_KEYS`], with figment's rule for
/// names: the prefix and the key compared without case, the key trimmed. Later variables win, as
/// in figment.
pub(super) fn text_vars(
    prefix: &str,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> TextVars {
    let mut found = TextVars::default();
    for (name, value) in vars {
        let name = name.to_string_lossy();
        let Some(key) = strip_prefix_ignoring_case(name.trim(), prefix) else {
            continue;
        };
        let key = key.trim().to_ascii_lowercase();
        if !TEXT_KEYS.contains(&key.as_str()) {
            continue;
        }
        match value.into_string() {
            Ok(text) => {
                found.not_utf8.retain(|n| !n.eq_ignore_ascii_case(&name));
                found.values.insert(key, text);
            }
            Err(_) => {
                found.values.remove(&key);
                found.not_utf8.push(name.into_owned());
            }
        }
    }
    found
}

fn strip_prefix_ignoring_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &name[prefix.len()..])
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
    fn the_secret_is_redacted_in_debug_output() {
        let secret = Secret(b"0123456789abcdef0123456789abcdef".to_vec());
        assert!(!format!("{secret:?}").contains("0123"));
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn secrets_are_read_as_the_exact_text_set() {
        let found = text_vars(
            "ROCKET_",
            vars(&[
                ("ROCKET_ADMIN_PASSWORD", "00123456789"),
                ("rocket_jwt_secret", " \"quoted\" true "),
                ("ROCKET_Metrics_Token", "[1, 2]"),
                ("ROCKET_PORT", "8000"),
                ("OTHER_ADMIN_USERNAME", "x"),
                ("ROCKET_", "x"),
            ]),
        );
        let expected: BTreeMap<String, String> = [
            ("admin_password", "00123456789"),
            ("jwt_secret", " \"quoted\" true "),
            ("metrics_token", "[1, 2]"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(found.values, expected);
        assert!(found.not_utf8.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_that_is_not_utf8_is_named_not_guessed() {
        use std::os::unix::ffi::OsStringExt;
        let found = text_vars(
            "ROCKET_",
            [
                ("ROCKET_ADMIN_USERNAME".into(), "admin".into()),
                (
                    "ROCKET_ADMIN_PASSWORD".into(),
                    OsString::from_vec(b"pass\xffword".to_vec()),
                ),
                ("ROCKET_LOG_LEVEL".into(), OsString::from_vec(vec![0xff])),
            ],
        );
        assert_eq!(found.not_utf8, ["ROCKET_ADMIN_PASSWORD"]);
        assert_eq!(found.values.keys().collect::<Vec<_>>(), ["admin_username"]);
    }

    #[test]
    fn a_short_secret_is_refused_naming_its_key_not_its_value() {
        let err = Secret::from_setting("server_secret", "short-secret".into())
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("server_secret") && !err.contains("short-secret"),
            "{err}"
        );
        assert!(Secret::from_setting("server_secret", "s".repeat(32)).is_ok());
    }
}
