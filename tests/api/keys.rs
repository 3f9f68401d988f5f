//! Signing keys: every token names its key (`kid`), a token is verified by that key alone, a
//! rotation logs nobody out and keeps refresh tokens and device cookies, a removed key's tokens
//! are refused after the restart, and the JWKS document lets another library verify our tokens.

mod binary;
mod rotation;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::Algorithm as Alg;
use jwt_compact::alg::Ed25519;
use jwt_compact::jwk::JsonWebKey;
use jwt_compact::{Algorithm, AlgorithmExt, UntrustedToken};
use rocket::figment::Figment;
use rocket::http::{Header, Status};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{
    claims, eventually, fails_to_start, forge_kid, json_body, jwt_cookie, keyless_figment,
    refresh_cookie, test_kid, TestApp, TestDb, TEST_SECRET,
};
use crate::throttle::{device_cookie, lock_untrusted, login};

pub(crate) const SERVER_SECRET: &str = "a-server-secret-for-the-key-tests-0123456789";
const HS_SECRET: &str = "an-hs256-secret-for-the-key-tests-0123456789";

/// An Ed25519 private key in PKCS#8 PEM, from a fixed seed.
pub(crate) fn pem(seed: u8) -> String {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem")
        .to_string()
}

pub(crate) fn ed_key(kid: &str, seed: u8) -> Value {
    json!({ "kid": kid, "alg": "EdDSA", "private_key": pem(seed) })
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("time")
}

/// The settings of a server whose keys are `keys` (a `signing_keys` list).
fn with_keys(db: &TestDb, keys: Value) -> Figment {
    keyless_figment(db)
        .merge(("server_secret", SERVER_SECRET))
        .merge(("signing_keys", keys))
}

async fn spawn_keys(db: TestDb, keys: Value) -> TestApp {
    TestApp::spawn_rocket(db, |db| jwt_blacklist::rocket_from(with_keys(db, keys))).await
}

/// Stops `app` and starts a server with `keys` on its database.
async fn restart(app: TestApp, keys: Value) -> TestApp {
    let TestApp { client, db } = app;
    client.terminate().await;
    spawn_keys(db, keys).await
}

/// A token's JOSE header.
pub(crate) fn header_of(token: &str) -> Value {
    let encoded = token.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).expect("base64url")).expect("JSON")
}

async fn me_status(app: &TestApp, token: &str) -> Status {
    app.me(token).await.status()
}

async fn jwks(app: &TestApp) -> (Value, Option<String>) {
    let res = app.client.get("/.well-known/jwks.json").dispatch().await;
    assert_eq!(res.status(), Status::Ok);
    let cache = res.headers().get_one("Cache-Control").map(str::to_owned);
    (json_body(res).await, cache)
}

#[rocket::async_test]
async fn tokens_name_their_key_and_jwt_secret_alone_still_signs_with_a_derived_kid() {
    let app = TestApp::spawn().await;
    let token = app.user_token("alice").await;
    let header = header_of(&token);
    assert_eq!(header["kid"], json!(test_kid()));
    assert_eq!(header["alg"], "HS256");
    assert!(!test_kid().contains(&TEST_SECRET[..8]));
    assert_eq!(me_status(&app, &token).await, Status::Ok);
    let (document, cache) = jwks(&app).await;
    assert_eq!(
        document,
        json!({ "keys": [] }),
        "HS256 keys are never published"
    );
    assert_eq!(cache.as_deref(), Some("public, max-age=300"));
    let other = app.me(&token).await;
    assert_eq!(other.headers().get_one("Cache-Control"), Some("no-store"));
}

#[rocket::async_test]
async fn an_unknown_or_missing_kid_or_an_alg_that_is_not_the_keys_is_invalid() {
    let app = spawn_keys(
        TestDb::new(),
        json!([
            { "kid": "hs", "alg": "HS256", "secret": HS_SECRET },
            { "kid": "ed", "alg": "EdDSA", "private_key": pem(9), "sign_from": "2999-01-01T00:00:00Z" },
        ]),
    )
    .await;
    let good = forge_kid(
        &claims("alice", "user"),
        Alg::HS256,
        HS_SECRET.as_bytes(),
        Some("hs"),
    );
    assert_eq!(me_status(&app, &good).await, Status::Ok, "the control");
    let forged = [
        forge_kid(
            &claims("alice", "user"),
            Alg::HS256,
            HS_SECRET.as_bytes(),
            Some("nope"),
        ),
        forge_kid(
            &claims("alice", "user"),
            Alg::HS256,
            HS_SECRET.as_bytes(),
            None,
        ),
        forge_kid(
            &claims("alice", "user"),
            Alg::HS384,
            HS_SECRET.as_bytes(),
            Some("hs"),
        ),
        // The right secret under the EdDSA key's kid: never tried against another key.
        forge_kid(
            &claims("alice", "user"),
            Alg::HS256,
            HS_SECRET.as_bytes(),
            Some("ed"),
        ),
    ];
    for token in forged {
        let res = app.me(&token).await;
        assert_eq!(
            res.status(),
            Status::Unauthorized,
            "{:?}",
            header_of(&token)
        );
        assert_eq!(
            json_body(res).await["message"],
            "the session token is invalid"
        );
    }
    // A real EdDSA signature, under the HS256 key's kid: the alg is not that key's.
    let mut header = jsonwebtoken::Header::new(Alg::EdDSA);
    header.kid = Some("hs".into());
    let der = ed25519_dalek::SigningKey::from_bytes(&[9; 32])
        .to_pkcs8_der()
        .expect("der");
    let key = jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes());
    let token = jsonwebtoken::encode(&header, &claims("alice", "user"), &key).expect("sign");
    assert_eq!(me_status(&app, &token).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn eddsa_tokens_verify_with_nothing_but_the_jwks_in_another_jwt_library() {
    let yesterday = rfc3339(OffsetDateTime::now_utc() - time::Duration::days(1));
    let app = spawn_keys(
        TestDb::new(),
        json!([
            { "kid": "hs-old", "alg": "HS256", "secret": HS_SECRET },
            { "kid": "ed-now", "alg": "EdDSA", "private_key": pem(1), "sign_from": yesterday },
            { "kid": "ed-next", "alg": "EdDSA", "private_key": pem(2), "sign_from": "2999-01-01T00:00:00Z" },
        ]),
    )
    .await;
    let token = app.user_token("alice").await;
    assert_eq!(
        header_of(&token),
        json!({ "typ": "JWT", "alg": "EdDSA", "kid": "ed-now" })
    );
    assert_eq!(me_status(&app, &token).await, Status::Ok);

    let (document, cache) = jwks(&app).await;
    assert_eq!(cache.as_deref(), Some("public, max-age=300"));
    let keys = document["keys"].as_array().expect("keys");
    let kids: Vec<&str> = keys.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(
        kids,
        ["ed-now", "ed-next"],
        "every EdDSA key, signing or not; no HS256 key"
    );
    for key in keys {
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
    }

    // What another service does: pick the key by kid, verify with its own library.
    let untrusted = UntrustedToken::new(&token).expect("a JWT");
    let kid = untrusted.header().key_id.clone().expect("kid");
    let jwk = keys
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("listed");
    let jwk: JsonWebKey<'_> = serde_json::from_value(jwk.clone()).expect("a JWK");
    let public = <Ed25519 as Algorithm>::VerifyingKey::try_from(&jwk).expect("an Ed25519 JWK");
    let verified = Ed25519
        .validator::<Value>(&public)
        .validate(&untrusted)
        .expect("the signature verifies with the published key");
    assert_eq!(verified.claims().custom["sub"], "alice");
    let other = <Ed25519 as Algorithm>::VerifyingKey::try_from(
        &serde_json::from_value::<JsonWebKey<'_>>(keys[1].clone()).expect("a JWK"),
    )
    .expect("key");
    assert!(Ed25519
        .validator::<Value>(&other)
        .validate(&untrusted)
        .is_err());

    // The verify-only HS256 key still verifies its own tokens.
    let old = forge_kid(
        &claims("bob", "user"),
        Alg::HS256,
        HS_SECRET.as_bytes(),
        Some("hs-old"),
    );
    assert_eq!(me_status(&app, &old).await, Status::Ok);
}

#[rocket::async_test]
async fn a_rotation_logs_nobody_out_and_a_removed_keys_tokens_are_refused_after_the_restart() {
    let a = json!({ "kid": "A", "alg": "HS256", "secret": HS_SECRET });
    let app = spawn_keys(TestDb::new(), json!([a])).await;
    let (token_a, refresh_a) = app.user_session("alice").await;
    assert_eq!(header_of(&token_a)["kid"], "A");
    assert_eq!(
        me_status(&app, &token_a).await,
        Status::Ok,
        "verified, and cached"
    );

    // B is listed everywhere first, signing from a moment ahead (whole seconds: RFC 3339 as
    // an operator writes it).
    let switch = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("time")
        + time::Duration::seconds(4);
    let b =
        json!({ "kid": "B", "alg": "EdDSA", "private_key": pem(3), "sign_from": rfc3339(switch) });
    let app = restart(app, json!([a, b])).await;
    assert_eq!(me_status(&app, &token_a).await, Status::Ok);
    let before = app.user_token("bob").await;
    if OffsetDateTime::now_utc() < switch {
        assert_eq!(
            header_of(&before)["kid"],
            "A",
            "issued before sign_from: still A"
        );
    }
    assert!(
        eventually(10, || async { OffsetDateTime::now_utc() >= switch }).await,
        "the clock reaches sign_from"
    );
    let after = app.user_token("bob").await;
    assert_eq!(
        header_of(&after)["kid"],
        "B",
        "B signs from sign_from, without a restart"
    );
    let (token_b, _) = app.user_session("carol").await;
    assert_eq!(
        me_status(&app, &token_a).await,
        Status::Ok,
        "A still verifies"
    );
    assert_eq!(me_status(&app, &token_b).await, Status::Ok);
    let admin = app.admin_token().await;
    let metrics = app
        .client
        .get("/metrics")
        .header(Header::new("Authorization", format!("Bearer {admin}")))
        .dispatch()
        .await
        .into_string()
        .await
        .unwrap_or_default();
    assert!(
        metrics.contains("tokens_issued_total{kid=\"B\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tokens_issued_total{kid=\"A\"}"),
        "{metrics}"
    );

    // A refresh token minted under A survives the rotation: its successor comes from the
    // server secret, and the new access token is B's.
    let refreshed = app.refresh(&refresh_a).await;
    assert_eq!(refreshed.status(), Status::Ok);
    let token_a2 = jwt_cookie(&refreshed).expect("a new access token");
    let refresh_a2 = refresh_cookie(&refreshed).expect("a new refresh token");
    drop(refreshed);
    assert_eq!(header_of(&token_a2)["kid"], "B");

    // A is removed: its tokens are refused, though this process had verified one before.
    let app = restart(app, json!([b])).await;
    let res = app.me(&token_a).await;
    assert_eq!(res.status(), Status::Unauthorized);
    assert_eq!(
        json_body(res).await["message"],
        "the session token is invalid"
    );
    assert_eq!(me_status(&app, &token_b).await, Status::Ok);
    assert_eq!(me_status(&app, &token_a2).await, Status::Ok);
    assert_eq!(app.refresh(&refresh_a2).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn a_device_cookie_stays_trusted_across_a_rotation_of_the_signing_keys() {
    let a = json!([{ "kid": "A", "alg": "HS256", "secret": HS_SECRET }]);
    let spawn = |db, keys| {
        TestApp::spawn_rocket(db, move |db| {
            jwt_blacklist::rocket_from(
                with_keys(db, keys).merge(("login_max_untrusted_failures_per_user", 3)),
            )
        })
    };
    let app = spawn(TestDb::new(), a).await;
    let _ = app.sign_up("vic", "vic-password").await;
    let res = login(&app, "198.51.100.40:5000", None, "vic", "vic-password").await;
    assert_eq!(res.status(), Status::Ok);
    let device = device_cookie(&res);
    drop(res);
    let TestApp { client, db } = app;
    client.terminate().await;
    let app = spawn(db, json!([ed_key("B", 4)])).await;
    lock_untrusted(&app, "vic").await;
    let res = login(
        &app,
        "198.51.100.40:5000",
        Some(&device),
        "vic",
        "vic-password",
    )
    .await;
    assert_eq!(res.status(), Status::Ok, "the device cookie still verifies");
    assert_eq!(device_cookie(&res), device, "and names the same device");
}

#[rocket::async_test]
async fn a_bad_key_ring_stops_start_up() {
    let db = TestDb::new();
    let future = rfc3339(OffsetDateTime::now_utc() + time::Duration::days(1));
    let cases = [
        json!([ed_key("x", 1), ed_key("x", 2)]),
        json!([{ "kid": "x", "alg": "HS256", "secret": HS_SECRET, "sign_from": future }]),
        json!([{ "kid": "x", "alg": "EdDSA", "private_key_file": "/nonexistent/key.pem" }]),
        json!([]),
    ];
    for keys in cases {
        let rocket = jwt_blacklist::rocket_from(with_keys(&db, keys.clone()));
        assert!(fails_to_start(rocket).await, "{keys} accepted");
    }
    let both = jwt_blacklist::rocket_from(
        with_keys(&db, json!([ed_key("x", 1)])).merge(("jwt_secret", TEST_SECRET)),
    );
    assert!(
        fails_to_start(both).await,
        "jwt_secret and signing_keys together"
    );
    let no_server_secret = jwt_blacklist::rocket_from(
        keyless_figment(&db).merge(("signing_keys", json!([ed_key("x", 1)]))),
    );
    assert!(
        fails_to_start(no_server_secret).await,
        "EdDSA only needs server_secret"
    );
}
