//! Refresh tokens: opaque random values (256 bits, base64url), never JWTs.
//!
//! The database keeps only their SHA-256. A token's successor is not random but derived from it
//! with a keyed hash (HMAC-SHA-256 under a key derived from the server secret): every caller that
//! presents the same token within the grace window is handed the same successor, computed again
//! from what it presented, without the successor ever being stored in clear. Without the key,
//! neither a copy of the table nor a stolen token tells the next token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Secret;

/// 32 bytes in base64url without padding.
const TOKEN_LEN: usize = 43;

/// Mints, hashes and derives refresh tokens.
pub struct RefreshTokens {
    successor_key: Hmac<Sha256>,
}

impl RefreshTokens {
    pub fn new(secret: &Secret) -> Self {
        Self {
            successor_key: secret.derived_hmac(b"jwt-blacklist/refresh-successor/v1"),
        }
    }

    /// A fresh token for a new session.
    pub fn mint(&self) -> String {
        let mut bytes = [0_u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The token that replaces `token` when it is rotated.
    pub fn successor(&self, token: &str) -> String {
        let mut mac = self.successor_key.clone();
        mac.update(token.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// What the database stores and looks up.
    pub fn hash(token: &str) -> String {
        let digest = Sha256::digest(token.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `value` can be one of our tokens at all (anything else is refused unread).
    pub fn well_formed(value: &str) -> bool {
        value.len() == TOKEN_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> RefreshTokens {
        RefreshTokens::new(&crate::config::tests_secret())
    }

    #[test]
    fn minted_tokens_are_well_formed_random_and_not_jwts() {
        let t = tokens();
        let (a, b) = (t.mint(), t.mint());
        assert_ne!(a, b);
        assert!(RefreshTokens::well_formed(&a), "{a}");
        assert!(!a.contains('.'));
        assert!(!RefreshTokens::well_formed("short"));
        assert!(!RefreshTokens::well_formed(
            &"a".repeat(42).replace('a', "+")
        ));
    }

    #[test]
    fn the_successor_is_the_same_for_every_caller_and_depends_on_the_key() {
        let t = tokens();
        let token = t.mint();
        let next = t.successor(&token);
        assert_eq!(next, t.successor(&token));
        assert!(RefreshTokens::well_formed(&next));
        assert_ne!(next, t.successor(&t.mint()));
        let other = RefreshTokens::new(&Secret::from_text(&"k".repeat(40)).expect("secret"));
        assert_ne!(next, other.successor(&token), "another key, another chain");
    }

    #[test]
    fn the_hash_is_sha256_hex_and_not_the_token() {
        let hash = RefreshTokens::hash("abc");
        assert_eq!(
            hash,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
