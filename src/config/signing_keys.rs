//! The signing keys (`signing_keys`, or the one HS256 key of `jwt_secret`) and the server secret
//! that every other keyed purpose derives from (refresh-token successors, device cookies, the
//! throttle's and the metrics token's hashes). They are kept apart so that rotating the signing
//! keys logs nobody out and voids no refresh token and no device cookie.
//!
//! Every message names the setting, the key's `kid` and a file's path, never key material.

use std::path::PathBuf;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use hmac::{Hmac, Mac};
use rocket::figment::Figment;
use serde::Deserialize;
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::secret::{lenient, Secret};
use super::ConfigError;

/// A key's material.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    /// An HMAC-SHA-256 secret: it signs and verifies, and never leaves the server.
    Hs256(Secret),
    /// An Ed25519 private key (its PKCS#8 DER encoding) and the public key the JWKS shows.
    Ed25519 { pkcs8_der: Secret, public: [u8; 32] },
}

/// One configured key.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub kid: String,
    pub material: KeyMaterial,
    /// From when it signs; `None`: since forever. Every listed key verifies.
    pub sign_from: Option<OffsetDateTime>,
}

impl SigningKey {
    /// An HS256 key that signs since forever (benchmarks, tests).
    pub fn hs256(kid: &str, secret: Secret) -> Self {
        Self {
            kid: kid.to_owned(),
            material: KeyMaterial::Hs256(secret),
            sign_from: None,
        }
    }

    /// An Ed25519 key from PKCS#8 PEM that signs since forever (benchmarks, tests); `None` if
    /// the text is not one.
    pub fn ed25519(kid: &str, pem: &str) -> Option<Self> {
        Some(Self {
            kid: kid.to_owned(),
            material: ed25519(pem)?,
            sign_from: None,
        })
    }
}

/// The signing keys and the server secret, validated.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Ordered by `sign_from`, earliest first (a key without one first); never empty, no two
    /// with the same `kid` or the same `sign_from`, and at least one signs at start-up.
    pub signing: Vec<SigningKey>,
    /// The root of every other keyed purpose.
    pub server_secret: Secret,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default, deserialize_with = "lenient::string")]
    jwt_secret: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    server_secret: Option<String>,
}

/// A key as configured. Unknown fields are refused: a misspelt `sign_from` would otherwise make
/// a key sign at once.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    #[serde(deserialize_with = "lenient::string")]
    kid: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    alg: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    secret: Option<String>,
    #[serde(default)]
    private_key_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "lenient::string")]
    private_key: Option<String>,
    #[serde(default)]
    sign_from: Option<When>,
}

/// `sign_from` as text (`"2026-12-10T09:00:00Z"`, and the environment form), or as a TOML
/// datetime written without quotes, which figment hands over as a one-entry table.
#[derive(Deserialize)]
#[serde(untagged)]
enum When {
    Text(String),
    Toml {
        #[serde(rename = "$__toml_private_datetime")]
        datetime: String,
    },
}

impl When {
    fn text(self) -> String {
        match self {
            Self::Text(text) | Self::Toml { datetime: text } => text,
        }
    }
}

/// Figment's own message for a bad `signing_keys` value, without the value: a malformed
/// `ROCKET_SIGNING_KEYS` reaches serde as one string holding every secret in it, which
/// figment's message would quote.
fn without_values(e: &rocket::figment::Error) -> String {
    use rocket::figment::error::{Actual, Kind};
    let what = |actual: &Actual| match actual {
        Actual::Str(_) | Actual::Char(_) => "text",
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) | Actual::Float(_) => "a number",
        Actual::Seq => "a list",
        Actual::Map => "a table",
        _ => "another kind of value",
    };
    let path = e.path.join(".");
    let problem = match &e.kind {
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            format!("found {}, expected {expected}", what(actual))
        }
        other => other.to_string(),
    };
    format!("{path}: {problem} (the form is [{{kid=\"…\",alg=\"…\",…}}], every text value quoted)")
}

/// The `kid` of the key that `jwt_secret` configures: the same on every instance that shares the
/// secret, and telling nothing of it (a truncated HMAC under the secret).
pub fn derived_kid(secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"jwt-blacklist/kid/v1");
    let digest = mac.finalize().into_bytes();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("hs256-{hex}")
}

/// Whether `kid` may name a key: 1 to 64 letters, digits, `.`, `_`, `:` or `-` (it appears in
/// headers, logs and metric labels).
pub fn valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

impl Keys {
    pub(super) fn from_figment(figment: &Figment, release: bool) -> Result<Self, ConfigError> {
        let raw: Raw = figment.extract().map_err(|e| ConfigError(e.to_string()))?;
        // An empty value (`ROCKET_JWT_SECRET=` left in an environment file) is no value.
        let jwt_secret = raw.jwt_secret.filter(|s| !s.is_empty());
        let server_secret = raw
            .server_secret
            .filter(|s| !s.is_empty())
            .map(|s| Secret::from_setting("server_secret", s))
            .transpose()?;
        let signing_keys = if figment.contains("signing_keys") {
            let list: Vec<RawKey> = figment
                .extract_inner("signing_keys")
                .map_err(|e| ConfigError(without_values(&e)))?;
            Some(list)
        } else {
            None
        };
        match (jwt_secret, signing_keys) {
            (Some(secret), Some(_)) => Err(ConfigError(format!(
                "set jwt_secret or signing_keys, not both: signing_keys replaces jwt_secret; to \
                 keep the tokens it signed valid, list it there as {{ kid = \"{}\", alg = \
                 \"HS256\", secret = <the jwt_secret> }} until they expire",
                derived_kid(secret.as_bytes())
            ))),
            (jwt_secret, None) => {
                let secret = match jwt_secret {
                    Some(text) => Secret::from_setting("jwt_secret", text)?,
                    None if release => {
                        return Err(ConfigError(
                            "jwt_secret is required in the release profile (set \
                             ROCKET_JWT_SECRET to 32 or more random bytes, or configure \
                             signing_keys)"
                                .into(),
                        ))
                    }
                    None => {
                        log::warn!(
                            "jwt_secret is not set: using an ephemeral secret; tokens will not \
                             survive a restart"
                        );
                        Secret::ephemeral()
                    }
                };
                Ok(Self {
                    server_secret: server_secret.unwrap_or_else(|| secret.clone()),
                    signing: vec![SigningKey {
                        kid: derived_kid(secret.expose()),
                        material: KeyMaterial::Hs256(secret),
                        sign_from: None,
                    }],
                })
            }
            (None, Some(list)) => {
                let listed_first_hs256 = list
                    .iter()
                    .find(|k| k.alg.as_deref() == Some("HS256"))
                    .and_then(|k| k.kid.clone());
                let signing = ring(list, OffsetDateTime::now_utc())?;
                let server_secret = match server_secret {
                    Some(secret) => secret,
                    None => first_hs256(&signing, listed_first_hs256)?,
                };
                Ok(Self {
                    signing,
                    server_secret,
                })
            }
        }
    }
}

/// Without `server_secret`, the secret of the first HS256 key as listed (`listed`: its kid)
/// keys the other purposes, as `jwt_secret` did, so a deployment that moved its secret into the
/// list keeps its device cookies. With only EdDSA keys there is no secret to derive from.
fn first_hs256(keys: &[SigningKey], listed: Option<String>) -> Result<Secret, ConfigError> {
    let found = keys.iter().find_map(|k| match &k.material {
        KeyMaterial::Hs256(secret) if Some(&k.kid) == listed.as_ref() => Some((&k.kid, secret)),
        _ => None,
    });
    let Some((kid, secret)) = found else {
        return Err(ConfigError(
            "server_secret is required when signing_keys holds only EdDSA keys: device cookies \
             and refresh-token successors need a secret of their own (32 or more random bytes)"
                .into(),
        ));
    };
    log::warn!(
        "server_secret is not set: device cookies and refresh-token successors are keyed by \
         signing key `{kid}`, and removing that key will void the device cookies; set \
         server_secret to rotate keys freely"
    );
    Ok(secret.clone())
}

/// Validates the listed keys and orders them by `sign_from`.
fn ring(list: Vec<RawKey>, now: OffsetDateTime) -> Result<Vec<SigningKey>, ConfigError> {
    let mut keys: Vec<SigningKey> = Vec::with_capacity(list.len());
    for raw in list {
        let key = raw.parse()?;
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(ConfigError(format!(
                "signing_keys: kid `{}` is listed twice",
                key.kid
            )));
        }
        if let Some(other) = keys.iter().find(|k| k.sign_from == key.sign_from) {
            return Err(ConfigError(format!(
                "signing_keys: keys `{}` and `{}` would both sign from the same moment; give the \
                 newer one a later sign_from",
                other.kid, key.kid
            )));
        }
        keys.push(key);
    }
    keys.sort_by_key(|k| k.sign_from);
    if keys.is_empty() {
        return Err(ConfigError("signing_keys is empty: no key can sign".into()));
    }
    if !keys.iter().any(|k| k.sign_from.is_none_or(|t| t <= now)) {
        return Err(ConfigError(
            "signing_keys: no key can sign now (every sign_from is in the future)".into(),
        ));
    }
    Ok(keys)
}

impl RawKey {
    fn parse(self) -> Result<SigningKey, ConfigError> {
        let kid = self.kid.unwrap_or_default();
        if !valid_kid(&kid) {
            return Err(ConfigError(
                "signing_keys: every key needs a kid of 1 to 64 letters, digits, `.`, `_`, `:` \
                 or `-`"
                    .into(),
            ));
        }
        let fail = |what: &str| ConfigError(format!("signing_keys: key `{kid}`: {what}"));
        let sign_from = self
            .sign_from
            .map(When::text)
            .map(|text| {
                OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
                    fail(&format!(
                        "sign_from `{text}` is not an RFC 3339 time (like 2026-12-01T00:00:00Z)"
                    ))
                })
            })
            .transpose()?;
        let material = match self.alg.as_deref() {
            Some("HS256") => {
                if self.private_key_file.is_some() || self.private_key.is_some() {
                    return Err(fail("an HS256 key takes `secret`, not a private key"));
                }
                let secret = self
                    .secret
                    .ok_or_else(|| fail("an HS256 key needs `secret`"))?;
                KeyMaterial::Hs256(Secret::from_setting(
                    &format!("signing_keys: key `{kid}`: secret"),
                    secret,
                )?)
            }
            Some("EdDSA") => {
                if self.secret.is_some() {
                    return Err(fail(
                        "an EdDSA key takes private_key_file or private_key, not `secret`",
                    ));
                }
                match (self.private_key_file, self.private_key) {
                    (Some(path), None) => {
                        let pem = std::fs::read_to_string(&path).map_err(|e| {
                            fail(&format!(
                                "cannot read private_key_file {}: {e}",
                                path.display()
                            ))
                        })?;
                        ed25519(&pem).ok_or_else(|| {
                            fail(&format!(
                                "private_key_file {} is not an Ed25519 private key in PKCS#8 PEM \
                                 (as `openssl genpkey -algorithm ed25519` writes)",
                                path.display()
                            ))
                        })?
                    }
                    (None, Some(pem)) => ed25519(&pem).ok_or_else(|| {
                        fail(
                            "private_key is not an Ed25519 private key in PKCS#8 PEM (as \
                             `openssl genpkey -algorithm ed25519` writes)",
                        )
                    })?,
                    (Some(_), Some(_)) => {
                        return Err(fail("set private_key_file or private_key, not both"))
                    }
                    (None, None) => {
                        return Err(fail("an EdDSA key needs private_key_file or private_key"))
                    }
                }
            }
            Some(other) => return Err(fail(&format!("alg must be HS256 or EdDSA, not `{other}`"))),
            None => return Err(fail("alg is missing (HS256 or EdDSA)")),
        };
        Ok(SigningKey {
            kid,
            material,
            sign_from,
        })
    }
}

/// An Ed25519 private key from PKCS#8 PEM, or `None` if the text holds none. Text around the
/// block is ignored, so that the whole output of `keys generate` can serve as the key file.
fn ed25519(pem: &str) -> Option<KeyMaterial> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN)?;
    let end = start + pem[start..].find(END)? + END.len();
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem[start..end]).ok()?;
    let der = key.to_pkcs8_der().ok()?;
    Some(KeyMaterial::Ed25519 {
        pkcs8_der: Secret::from_bytes(der.as_bytes().to_vec()),
        public: key.verifying_key().to_bytes(),
    })
}

#[cfg(test)]
#[path = "signing_keys/tests.rs"]
mod tests;
