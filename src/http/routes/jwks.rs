//! `GET /.well-known/jwks.json`: the public keys of every configured EdDSA key, signing or
//! verify-only (RFC 7517, with RFC 8037's `OKP` keys), so that another service can verify our
//! tokens offline. HS256 keys never appear. Offline verification does not see revocations:
//! `/auth/verify` does.

use rocket::http::Header;
use rocket::serde::json::Json;
use rocket::serde::Serialize;
use rocket::{get, routes, Responder, Route, State};
use utoipa::ToSchema;

use crate::app::App;

pub fn routes() -> Vec<Route> {
    routes![jwks]
}

/// The one path whose answer caches may keep (see `no_store` in `http/mod.rs`).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// A JSON Web Key Set.
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// An Ed25519 public key (RFC 8037).
#[derive(Serialize, ToSchema)]
#[serde(crate = "rocket::serde")]
pub struct Jwk {
    #[schema(example = "OKP")]
    kty: &'static str,
    #[schema(example = "Ed25519")]
    crv: &'static str,
    /// The public key, base64url without padding.
    x: String,
    #[schema(example = "2026-12")]
    kid: String,
    #[schema(example = "EdDSA")]
    alg: &'static str,
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    use_: &'static str,
}

/// The set, with a cache lifetime: verifiers may keep it five minutes, which is why a new key is
/// listed (with `sign_from` ahead) before it signs.
#[derive(Responder)]
pub struct Cached {
    body: Json<Jwks>,
    cache: Header<'static>,
}

/// The public keys that verify our tokens.
///
/// Every configured EdDSA key, signing or verify-only; never an HS256 key (`{"keys": []}` when
/// there are only HS256 keys). A verifier holding this document checks signatures offline, but
/// does not see revocations: ask `/auth/verify` for that.
#[utoipa::path(
    tag = "keys",
    responses((
        status = 200,
        description = "The key set.",
        body = Jwks,
        headers(("Cache-Control" = String, description = "`public, max-age=300`: verifiers may keep it five minutes.")),
    )),
)]
#[get("/.well-known/jwks.json")]
fn jwks(app: &State<App>) -> Cached {
    let keys = app
        .codec
        .keys()
        .public_keys()
        .map(|key| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: key.x,
            kid: key.kid.to_owned(),
            alg: "EdDSA",
            use_: "sig",
        })
        .collect();
    Cached {
        body: Json(Jwks { keys }),
        cache: Header::new("Cache-Control", "public, max-age=300"),
    }
}
