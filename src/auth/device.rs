//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): after a
//! successful login the browser is given a signed statement "this browser logged in as
//! <username>", with a random nonce that names the device. A later login for that username that
//! presents it is throttled on the device's own budget, so failures that strangers cause on the
//! username cannot lock its owner out (see [`super::throttle`]).
//!
//! The value is `<nonce>.<mac>.<username>`: a 128-bit nonce and an HMAC-SHA-256 (under a key
//! derived from the server secret, as the refresh tokens' is) over both, in base64url. Only the
//! MAC is secret-dependent; the cookie holds no password and grants no session by itself. The
//! username is the lower-cased name, so the cookie serves however the name is typed.
//!
//! A valid MAC is not enough to be trusted: the account must still list the nonce in its
//! `devices` rows (see [`crate::db::devices`]), which every change of its credentials clears.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Secret;

/// A device's identity: the nonce its cookie carries.
pub type Nonce = [u8; 16];

/// Longer values cannot be ours (64-character username + 22 + 43 + 2 dots): refused unread.
const MAX_LEN: usize = 160;

/// Signs and checks device cookies.
pub struct DeviceKey {
    key: Hmac<Sha256>,
}

impl DeviceKey {
    pub fn new(secret: &Secret) -> Self {
        Self {
            key: secret.derived_hmac(b"jwt-blacklist/device-cookie/v1"),
        }
    }

    /// A fresh device id, for a browser that logs in without a device cookie of the account.
    pub fn new_nonce() -> Nonce {
        let mut nonce = [0_u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        nonce
    }

    /// The nonce as the `devices` table keeps it (hex).
    pub fn id_of(nonce: &Nonce) -> String {
        nonce.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The cookie value naming device `nonce` for a browser that just logged in as `username`
    /// (a login re-uses the presented device's nonce, so a browser stays one device).
    pub fn issue(&self, nonce: &Nonce, username: &str) -> String {
        let mac = self.mac(nonce, username).finalize().into_bytes();
        format!(
            "{}.{}.{username}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The device's nonce, when `value` is a cookie we signed for exactly `username`; anything
    /// else (malformed, altered, signed for another name) counts as no cookie at all.
    pub fn verify(&self, value: &str, username: &str) -> Option<Nonce> {
        if value.len() > MAX_LEN {
            return None;
        }
        let mut parts = value.splitn(3, '.');
        let (nonce, mac, name) = (parts.next()?, parts.next()?, parts.next()?);
        if name != username {
            return None;
        }
        let nonce: Nonce = URL_SAFE_NO_PAD.decode(nonce).ok()?.try_into().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        // Compared in constant time by the hmac crate.
        self.mac(&nonce, name).verify_slice(&mac).ok()?;
        Some(nonce)
    }

    fn mac(&self, nonce: &Nonce, username: &str) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(nonce);
        mac.update(username.as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeviceKey {
        DeviceKey::new(&crate::config::tests_secret())
    }

    #[test]
    fn a_cookie_is_valid_for_its_own_username_only() {
        let k = key();
        let cookie = k.issue(&DeviceKey::new_nonce(), "alice");
        assert!(cookie.len() <= MAX_LEN);
        let nonce = k.verify(&cookie, "alice").expect("valid for alice");
        assert_eq!(k.verify(&cookie, "alice"), Some(nonce));
        assert_eq!(k.verify(&cookie, "bob"), None);
        assert_ne!(DeviceKey::new_nonce(), nonce, "fresh nonce");
        assert_eq!(
            k.verify(&k.issue(&nonce, "alice"), "alice"),
            Some(nonce),
            "a re-issued cookie names the same device"
        );
        assert_eq!(DeviceKey::id_of(&nonce).len(), 32);
    }

    #[test]
    fn altered_forged_or_foreign_cookies_count_as_none() {
        let k = key();
        let cookie = k.issue(&DeviceKey::new_nonce(), "alice");
        let (nonce, rest) = cookie.split_once('.').expect("dots");
        let mut other = nonce.as_bytes().to_vec();
        other[0] = if other[0] == b'A' { b'B' } else { b'A' };
        let altered = format!("{}.{rest}", String::from_utf8(other).expect("ascii"));
        assert_eq!(k.verify(&altered, "alice"), None);
        let renamed = cookie.replace(".alice", ".bob");
        assert_eq!(k.verify(&renamed, "bob"), None);
        let foreign = DeviceKey::new(&Secret::from_text(&"k".repeat(40)).expect("secret"));
        assert_eq!(foreign.verify(&cookie, "alice"), None);
        for junk in [
            "",
            "..",
            "a.b.alice",
            &"x".repeat(1000),
            "\u{0}.\u{0}.alice",
        ] {
            assert_eq!(k.verify(junk, "alice"), None, "{junk:?}");
        }
    }
}
