//! The keys of the second factor, derived from `server_secret`: one seals TOTP secrets at rest,
//! one hashes recovery codes. A copy of the database alone therefore gives neither a code
//! generator nor a usable recovery code away.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

const NONCE_LEN: usize = 24;

/// Seals and opens TOTP secrets; hashes recovery codes.
#[derive(Clone)]
pub struct MfaKeys {
    cipher: XChaCha20Poly1305,
    recovery: Hmac<Sha256>,
}

impl MfaKeys {
    pub fn new(server_secret: &Secret) -> Self {
        let key = server_secret.derived_key(b"jwt-blacklist/totp-secret/v1");
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
            recovery: server_secret.derived_hmac(b"jwt-blacklist/recovery-code/v1"),
        }
    }

    /// `secret` sealed for account `user_id`: base64url of a random nonce and the ciphertext.
    /// The account id is authenticated with it, so a sealed secret copied onto another account's
    /// row does not open.
    pub fn seal(&self, user_id: &str, secret: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret,
            aad: user_id.as_bytes(),
        };
        // Encryption fails only for messages of gigabytes.
        let sealed = self.cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The secret sealed for `user_id`, or `None` when `sealed` was not sealed by this key for
    /// this account (a changed `server_secret`, a row copied or altered).
    pub fn open(&self, user_id: &str, sealed: &str) -> Option<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: user_id.as_bytes(),
        };
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.cipher.decrypt(&XNonce::from(nonce), payload).ok()
    }

    /// The stored form of recovery code `code` (normalised) of account `user_id`: hex of an
    /// HMAC over both, so equal codes of two accounts never share a hash.
    pub fn recovery_hash(&self, user_id: &str, code: &str) -> String {
        let mut mac = self.recovery.clone();
        mac.update(user_id.as_bytes());
        mac.update(&[0]);
        mac.update(code.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests_secret;

    #[test]
    fn a_sealed_secret_opens_only_for_its_account() {
        let keys = MfaKeys::new(&tests_secret());
        let sealed = keys.seal("a", b"0123456789abcdefghij");
        assert!(!sealed.contains("0123456789"));
        assert_eq!(
            keys.open("a", &sealed).as_deref(),
            Some(&b"0123456789abcdefghij"[..])
        );
        assert_eq!(keys.open("b", &sealed), None);
        assert_eq!(keys.open("a", "garbage"), None);
        let other = MfaKeys::new(
            &crate::config::Secret::from_text(&"x".repeat(40)).unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(other.open("a", &sealed), None);
    }

    #[test]
    fn recovery_hashes_differ_by_account_and_code() {
        let keys = MfaKeys::new(&tests_secret());
        let h = keys.recovery_hash("a", "abcde12345");
        assert_eq!(h.len(), 64);
        assert_ne!(h, keys.recovery_hash("b", "abcde12345"));
        assert_ne!(h, keys.recovery_hash("a", "abcde12346"));
        assert_eq!(h, keys.recovery_hash("a", "abcde12345"));
    }
}
