//! The signing secret and the lenient reading of secrets from the environment.

use std::fmt;

use super::ConfigError;

/// The secret must be at least this long: HS256 with a short key is brute-forceable offline.
const MIN_SECRET_LEN: usize = 32;

/// The signing key; its `Debug` never shows the bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub(super) fn resolve(configured: Option<String>, release: bool) -> Result<Self, ConfigError> {
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

    /// A secret given as text (tools and benchmarks); the same length rule as configuration.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        Self::resolve(Some(text.to_owned()), true)
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

    #[test]
    fn release_refuses_to_start_without_a_secret() {
        assert!(Secret::resolve(None, true).is_err());
        assert!(Secret::resolve(Some("short".into()), false).is_err());
        assert!(Secret::resolve(None, false).is_ok());
    }
}
