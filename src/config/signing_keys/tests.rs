//! Reading the key ring and the server secret.

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rocket::figment::providers::{Format, Toml};
use rocket::figment::Figment;

use super::*;

const HS: &str = "an-hs256-secret-that-is-long-enough-0123";
const SERVER: &str = "a-server-secret-that-is-long-enough-0123";

fn pem(seed: u8) -> String {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem")
        .to_string()
}

fn keys(toml: &str) -> Result<Keys, String> {
    let figment = Figment::from(Toml::string(toml));
    Keys::from_figment(&figment, true).map_err(|e| e.to_string())
}

fn refused(toml: &str) -> String {
    match keys(toml) {
        Ok(_) => panic!("accepted: {toml}"),
        Err(e) => e,
    }
}

#[test]
fn jwt_secret_alone_is_one_hs256_key_whose_kid_is_derived_and_keys_everything_else() {
    let keys = keys(&format!("jwt_secret = \"{HS}\"")).expect("valid");
    assert_eq!(keys.signing.len(), 1);
    assert_eq!(keys.signing[0].kid, derived_kid(HS.as_bytes()));
    assert!(keys.signing[0].kid.starts_with("hs256-"));
    assert!(!keys.signing[0].kid.contains(&HS[..8]));
    assert_eq!(
        keys.server_secret.expose(),
        HS.as_bytes(),
        "as before: same derived keys"
    );
    let apart = super::super::secret::tests_secret();
    assert_ne!(derived_kid(apart.expose()), keys.signing[0].kid);
}

#[test]
fn the_key_that_signs_is_the_latest_whose_sign_from_has_come() {
    let now = OffsetDateTime::now_utc();
    let past = (now - time::Duration::days(1))
        .format(&Rfc3339)
        .expect("time");
    let future = (now + time::Duration::days(1))
        .format(&Rfc3339)
        .expect("time");
    let toml = format!(
        r#"server_secret = "{SERVER}"
signing_keys = [
  {{ kid = "new", alg = "EdDSA", private_key = """{}""", sign_from = "{future}" }},
  {{ kid = "old", alg = "HS256", secret = "{HS}" }},
  {{ kid = "mid", alg = "EdDSA", private_key = """{}""", sign_from = "{past}" }},
]"#,
        pem(1),
        pem(2)
    );
    let keys = keys(&toml).expect("valid");
    let order: Vec<&str> = keys.signing.iter().map(|k| k.kid.as_str()).collect();
    assert_eq!(order, ["old", "mid", "new"]);
    assert_eq!(keys.server_secret.expose(), SERVER.as_bytes());
    let KeyMaterial::Ed25519 { public, .. } = &keys.signing[1].material else {
        panic!("mid is EdDSA")
    };
    assert_eq!(
        *public,
        ed25519_dalek::SigningKey::from_bytes(&[2; 32])
            .verifying_key()
            .to_bytes()
    );
}

#[test]
fn refusals_name_the_setting_and_the_file_never_the_key() {
    let dir = tempfile::tempdir().expect("dir");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let missing = dir.path().join("missing.pem");
    let future = (OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&Rfc3339)
        .expect("time");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("jwt_secret = \"{HS}\"\nsigning_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\" }}]"),
            "not both",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\" }}, {{ kid = \"a\", alg = \"HS256\", secret = \"{SERVER}\", sign_from = \"{future}\" }}]"),
            "kid `a` is listed twice",
        ),
        (
            format!("server_secret = \"{SERVER}\"\nsigning_keys = [{{ kid = \"a\", alg = \"EdDSA\", private_key_file = \"{}\" }}]", garbage.display()),
            "garbage.pem is not an Ed25519 private key",
        ),
        (
            format!("server_secret = \"{SERVER}\"\nsigning_keys = [{{ kid = \"a\", alg = \"EdDSA\", private_key_file = \"{}\" }}]", missing.display()),
            "cannot read private_key_file",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\", sign_from = \"{future}\" }}]"),
            "no key can sign now",
        ),
        ("signing_keys = []".to_owned(), "no key can sign"),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"EdDSA\", private_key = \"\"\"{}\"\"\" }}]", pem(3)),
            "server_secret is required",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"RS256\", secret = \"{HS}\" }}]"),
            "alg must be HS256 or EdDSA",
        ),
        (
            "signing_keys = [{ kid = \"a\", alg = \"HS256\", secret = \"short-hs-secret\" }]".to_owned(),
            "key `a`: secret must be at least 32 bytes",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\", sign_form = \"x\" }}]"),
            "unknown field",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\", sign_from = \"tomorrow\" }}]"),
            "not an RFC 3339 time",
        ),
        (
            format!("signing_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\" }}, {{ kid = \"b\", alg = \"HS256\", secret = \"{SERVER}\" }}]"),
            "would both sign from the same moment",
        ),
        (
            format!("signing_keys = [{{ kid = \"a b\", alg = \"HS256\", secret = \"{HS}\" }}]"),
            "needs a kid",
        ),
        ("".to_owned(), "jwt_secret is required"),
        ("server_secret = \"short\"\njwt_secret = \"x\"".to_owned(), "server_secret must be at least 32 bytes"),
    ];
    for (toml, expected) in cases {
        let message = refused(&toml);
        assert!(
            message.contains(expected),
            "{expected:?} not in {message:?}"
        );
        for secret in [HS, SERVER, "short-hs-secret", "c2VjcmV0LWJ5dGVz"] {
            assert!(!message.contains(secret), "{message}");
        }
        assert!(!message.contains("PRIVATE KEY"), "{message}");
    }
}

#[test]
fn without_server_secret_the_first_hs256_key_keys_the_rest() {
    let keys = keys(&format!(
        "signing_keys = [{{ kid = \"ed\", alg = \"EdDSA\", private_key = \"\"\"{}\"\"\" }}, {{ kid = \"hs\", alg = \"HS256\", secret = \"{HS}\", sign_from = \"2020-01-01T00:00:00Z\" }}]",
        pem(4)
    ))
    .expect("valid");
    assert_eq!(keys.server_secret.expose(), HS.as_bytes());
}

#[test]
fn the_environment_form_of_the_docs_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("2026-12.pem");
    std::fs::write(&file, pem(5)).expect("write");
    let value = format!(
        "[{{kid=\"2026-12\",alg=\"EdDSA\",private_key_file=\"{}\"}}]",
        file.display()
    );
    let figment = Figment::new().merge(("server_secret", SERVER)).merge((
        "signing_keys",
        value
            .parse::<rocket::figment::value::Value>()
            .expect("value"),
    ));
    let keys = Keys::from_figment(&figment, true).expect("valid");
    assert_eq!(keys.signing[0].kid, "2026-12");
    assert!(matches!(
        keys.signing[0].material,
        KeyMaterial::Ed25519 { .. }
    ));
}

#[test]
fn the_key_material_is_redacted_in_debug_output() {
    let keys = keys(&format!(
        "server_secret = \"{SERVER}\"\nsigning_keys = [{{ kid = \"k\", alg = \"HS256\", secret = \"{HS}\" }}]"
    ))
    .expect("valid");
    let shown = format!("{keys:?}");
    assert!(!shown.contains(HS) && !shown.contains(SERVER), "{shown}");
}

#[test]
fn sign_from_may_be_a_toml_datetime_without_quotes() {
    let keys = keys(&format!(
        "server_secret = \"{SERVER}\"\nsigning_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\" }}, {{ kid = \"b\", alg = \"HS256\", secret = \"{SERVER}\", sign_from = 2020-01-01T00:00:00Z }}]"
    ))
    .expect("valid");
    assert_eq!(
        keys.signing[1].sign_from,
        Some(time::macros::datetime!(2020-01-01 00:00:00 UTC))
    );
    let local = refused(&format!(
        "server_secret = \"{SERVER}\"\nsigning_keys = [{{ kid = \"b\", alg = \"HS256\", secret = \"{HS}\", sign_from = 2020-01-01T00:00:00 }}]"
    ));
    assert!(local.contains("not an RFC 3339 time"), "{local}");
}

#[test]
fn a_malformed_environment_value_is_refused_without_quoting_it() {
    // A missing `]`: figment keeps the whole value as one string, secrets and all.
    let value = format!("[{{kid=\"a\",alg=\"HS256\",secret=\"{HS}\"}}");
    let figment = Figment::new().merge(("server_secret", SERVER)).merge((
        "signing_keys",
        value
            .parse::<rocket::figment::value::Value>()
            .expect("value"),
    ));
    let message = Keys::from_figment(&figment, true)
        .expect_err("refused")
        .to_string();
    assert!(message.contains("signing_keys"), "{message}");
    assert!(
        !message.contains(HS) && !message.contains("kid=\"a\""),
        "{message}"
    );
    let figment = Figment::new()
        .merge(("server_secret", SERVER))
        .merge(("signing_keys", vec![format!("secret={HS}")]));
    let message = Keys::from_figment(&figment, true)
        .expect_err("refused")
        .to_string();
    assert!(!message.contains(HS), "{message}");
}

#[test]
fn both_settings_are_refused_naming_the_kid_that_keeps_old_tokens_valid() {
    let message = refused(&format!(
        "jwt_secret = \"{HS}\"\nsigning_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{SERVER}\" }}]"
    ));
    assert!(message.contains(&derived_kid(HS.as_bytes())), "{message}");
    assert!(!message.contains(HS), "{message}");
}

#[test]
fn an_empty_secret_is_no_secret() {
    assert!(refused("jwt_secret = \"\"").contains("jwt_secret is required"));
    let keys = keys(&format!(
        "jwt_secret = \"\"\nserver_secret = \"\"\nsigning_keys = [{{ kid = \"a\", alg = \"HS256\", secret = \"{HS}\" }}]"
    ))
    .expect("an empty jwt_secret does not clash with signing_keys");
    assert_eq!(keys.server_secret.expose(), HS.as_bytes());
}

#[test]
fn without_server_secret_the_first_hs256_key_as_listed_keys_the_rest() {
    let keys = keys(&format!(
        "signing_keys = [{{ kid = \"new\", alg = \"HS256\", secret = \"{SERVER}\", sign_from = \"2020-01-01T00:00:00Z\" }}, {{ kid = \"old\", alg = \"HS256\", secret = \"{HS}\" }}]"
    ))
    .expect("valid");
    assert_eq!(keys.signing[0].kid, "old", "sorted by sign_from");
    assert_eq!(
        keys.server_secret.expose(),
        SERVER.as_bytes(),
        "but listed first"
    );
}

#[test]
fn the_whole_output_of_keys_generate_serves_as_a_key_file() {
    let text = format!("{}{{ kid = \"k\", alg = \"EdDSA\" }}\n", pem(6));
    assert!(SigningKey::ed25519("k", &text).is_some());
    assert!(SigningKey::ed25519("k", "no key here").is_none());
}
