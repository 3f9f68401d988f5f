//! The key ring: which key signs a token now, and which key verifies a presented one.
//!
//! A token names its key in the header's `kid`; verification looks that one key up and checks
//! that the header's `alg` is the key's own. Keys are never tried in turn: a token whose `kid` is
//! missing or unknown, or whose `alg` is not its key's, is invalid. Exactly one key signs at any
//! moment: the one with the latest `sign_from` not in the future, so instances that were all
//! given a new key ahead of time switch to it at the same instant.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use time::OffsetDateTime;

use crate::config::{KeyMaterial, SigningKey, LEEWAY_SECS};

/// One key, ready to sign and to verify.
pub struct Key {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// Signature, algorithm, issuer, required claims and expiry.
    pub validation: Validation,
    /// The same without the expiry check: logout ends the session of an expired token.
    pub validation_any_age: Validation,
    sign_from: Option<OffsetDateTime>,
    /// The Ed25519 public key, which the JWKS publishes; HS256 keys have none.
    public: Option<[u8; 32]>,
}

/// An Ed25519 public key as a JWKS lists it.
pub struct PublicKey<'a> {
    pub kid: &'a str,
    /// The key's 32 bytes in base64url, as RFC 8037 writes `x`.
    pub x: String,
}

/// Every configured key, by `kid`.
pub struct KeyRing {
    /// Ordered by `sign_from`, earliest first.
    keys: Vec<Key>,
    by_kid: HashMap<String, usize>,
}

impl KeyRing {
    /// The ring of validated configuration (never empty; see [`crate::config::Keys`]).
    pub fn new(keys: &[SigningKey], issuer: &str) -> Self {
        let keys: Vec<Key> = keys.iter().map(|k| Key::new(k, issuer)).collect();
        let by_kid = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.kid.clone(), i))
            .collect();
        Self { keys, by_kid }
    }

    /// The key that signs at `now`: the latest `sign_from` not after it. Configuration ensures
    /// that one signed at start-up, and time only moves on; were the clock set back before
    /// every `sign_from`, the earliest key signs. `None` only for an empty ring.
    pub fn signing(&self, now: OffsetDateTime) -> Option<&Key> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.sign_from.is_none_or(|t| t <= now))
            .or_else(|| self.keys.first())
    }

    /// The key that verifies a token with this header: the one its `kid` names, if the header's
    /// `alg` is that key's.
    pub fn verifying(&self, header: &Header) -> Option<&Key> {
        let key = self.keys.get(*self.by_kid.get(header.kid.as_deref()?)?)?;
        (key.alg == header.alg).then_some(key)
    }

    /// The public keys of every EdDSA key, signing or not, for `/.well-known/jwks.json`.
    pub fn public_keys(&self) -> impl Iterator<Item = PublicKey<'_>> {
        self.keys.iter().filter_map(|k| {
            k.public.map(|public| PublicKey {
                kid: &k.kid,
                x: URL_SAFE_NO_PAD.encode(public),
            })
        })
    }

    /// Every `kid`, for metrics.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }
}

impl Key {
    fn new(config: &SigningKey, issuer: &str) -> Self {
        let (alg, encoding, decoding, public) = match &config.material {
            KeyMaterial::Hs256(secret) => (
                Algorithm::HS256,
                EncodingKey::from_secret(secret.expose()),
                DecodingKey::from_secret(secret.expose()),
                None,
            ),
            KeyMaterial::Ed25519 { pkcs8_der, public } => (
                Algorithm::EdDSA,
                EncodingKey::from_ed_der(pkcs8_der.expose()),
                DecodingKey::from_ed_der(public),
                Some(*public),
            ),
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let mut validation_any_age = validation.clone();
        validation_any_age.validate_exp = false;
        Self {
            kid: config.kid.clone(),
            alg,
            encoding,
            decoding,
            validation,
            validation_any_age,
            sign_from: config.sign_from,
            public,
        }
    }

    /// The header of a token this key signs.
    pub fn header(&self) -> Header {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests_secret;

    fn key(kid: &str, sign_from: Option<OffsetDateTime>) -> SigningKey {
        SigningKey {
            sign_from,
            ..SigningKey::hs256(kid, tests_secret())
        }
    }

    #[test]
    fn the_latest_key_whose_sign_from_has_come_signs() {
        let t = OffsetDateTime::now_utc();
        let hour = time::Duration::hours(1);
        let ring = KeyRing::new(
            &[
                key("old", None),
                key("now", Some(t - hour)),
                key("next", Some(t + hour)),
            ],
            "iss",
        );
        let signer = |at| ring.signing(at).map(|k| k.kid.clone());
        assert_eq!(signer(t - 2 * hour).as_deref(), Some("old"));
        assert_eq!(signer(t).as_deref(), Some("now"));
        assert_eq!(
            signer(t + hour).as_deref(),
            Some("next"),
            "from sign_from itself"
        );
        assert!(KeyRing::new(&[], "iss").signing(t).is_none());
    }

    #[test]
    fn a_header_finds_its_key_only_by_kid_and_with_the_keys_alg() {
        let ring = KeyRing::new(&[key("a", None)], "iss");
        let header = |alg, kid: Option<&str>| {
            let mut h = Header::new(alg);
            h.kid = kid.map(str::to_owned);
            h
        };
        assert!(ring
            .verifying(&header(Algorithm::HS256, Some("a")))
            .is_some());
        assert!(ring
            .verifying(&header(Algorithm::HS256, Some("b")))
            .is_none());
        assert!(ring.verifying(&header(Algorithm::HS256, None)).is_none());
        assert!(ring
            .verifying(&header(Algorithm::HS384, Some("a")))
            .is_none());
        assert!(ring
            .verifying(&header(Algorithm::EdDSA, Some("a")))
            .is_none());
        assert_eq!(
            ring.public_keys().count(),
            0,
            "an HS256 key is never published"
        );
    }
}
