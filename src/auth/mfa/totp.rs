//! TOTP as RFC 6238 has it and authenticator apps expect it: SHA-1, 6 digits, 30 s steps, and
//! one step of clock skew accepted either way. The crate computes codes and the `otpauth://`
//! URI; which step a code belongs to is decided here, because replay is refused by step.

use qrcode::render::svg;
use qrcode::QrCode;
use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

const DIGITS: usize = 6;
const STEP_SECONDS: u64 = 30;
/// Steps accepted on each side of the current one.
const SKEW: i64 = 1;
/// 160 bits, RFC 4226's recommended length.
pub const SECRET_LEN: usize = 20;

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<TOTP> {
    // The otpauth label is `issuer:account`; a colon in either would split it wrongly.
    let issuer = issuer.replace(':', " ");
    let account = account.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS,
        secret.to_vec(),
        Some(issuer),
        account,
    )
    .ok()
}

/// What an authenticator app is given: the secret in base32, the `otpauth://` URI and its QR
/// code as an SVG document.
pub struct Enrolment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// The enrolment material for `secret`, labelled `issuer:account` in the app.
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Option<Enrolment> {
    let totp = totp(secret, issuer, account)?;
    let otpauth_uri = totp.get_url();
    let qr_svg = QrCode::new(otpauth_uri.as_bytes())
        .ok()?
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(Enrolment {
        secret: Secret::Raw(secret.to_vec()).to_encoded().to_string(),
        otpauth_uri,
        qr_svg,
    })
}

/// The step `unix_seconds` falls in.
pub fn step_at(unix_seconds: u64) -> i64 {
    i64::try_from(unix_seconds / STEP_SECONDS).unwrap_or(i64::MAX)
}

/// The step whose code `code` is, among the current step and [`SKEW`] steps either side of it
/// at `unix_seconds`; `None` for a wrong code (or one that is not six digits). The latest
/// matching step is returned, so replay is refused from the furthest point reached.
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret, "", "x")?;
    let now = step_at(unix_seconds);
    let mut found = None;
    for step in (now - SKEW)..=(now + SKEW) {
        let Ok(at) = u64::try_from(step) else {
            continue;
        };
        let expected = totp.generate(at * STEP_SECONDS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The code of `secret` at `unix_seconds` (for tests and tools that play the app).
pub fn code_at(secret: &[u8], unix_seconds: u64) -> Option<String> {
    Some(totp(secret, "", "x")?.generate(unix_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: SHA-1 with the ASCII secret "12345678901234567890", 8 digits there;
    /// the last six digits are the 6-digit codes.
    #[test]
    fn codes_are_rfc_6238s() {
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(secret, 1111111109).as_deref(), Some("081804"));
        assert_eq!(code_at(secret, 2000000000).as_deref(), Some("279037"));
    }

    #[test]
    fn one_step_of_skew_is_accepted_either_way_and_no_more() {
        let secret = new_secret();
        let now = 1_700_000_015;
        let step = step_at(now);
        for (offset, accepted) in [
            (-60i64, false),
            (-30, true),
            (0, true),
            (30, true),
            (60, false),
        ] {
            let at = u64::try_from(i64::try_from(now).unwrap_or(0) + offset).unwrap_or(0);
            let code = code_at(&secret, at).unwrap_or_default();
            let matched = matching_step(&secret, &code, now);
            if accepted {
                assert_eq!(matched, Some(step + offset / 30), "offset {offset}");
            } else {
                assert_eq!(matched, None, "offset {offset}");
            }
        }
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn enrolment_gives_a_uri_and_an_svg() {
        let secret = new_secret();
        let e = enrolment(&secret, "jwt-blacklist", "alice").unwrap_or_else(|| unreachable!());
        assert_eq!(e.secret.len(), 32);
        assert!(e
            .otpauth_uri
            .starts_with("otpauth://totp/jwt-blacklist:alice?"));
        assert!(e.otpauth_uri.contains(&format!("secret={}", e.secret)));
        assert!(e.qr_svg.contains("<svg"));
    }
}
