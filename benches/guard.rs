//! What the guard costs per request, without HTTP: verifying a token's signature and parsing it
//! (what a request pays without the verified-token cache), for an HS256 and an Ed25519 key,
//! the cached decode the guard does for
//! a token seen before, the revocation lookups alone (staleness rule, token id, session id and
//! user cut-off), and the full check as the guard runs it (cached decode + lookups), with 0,
//! 100 000 and 1 000 000 revoked ids in the view. Target: the full check at 1 000 000 ids costs at most 1.2 times the
//! decode alone. `cargo bench --bench guard`; CI runs it with `-- --test` (each case once).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use jwt_blacklist::auth::claims::{Claims, Subject, TokenCodec};
use jwt_blacklist::auth::keys::KeyRing;
use jwt_blacklist::config::{KeyMaterial, Secret, SigningKey};
use jwt_blacklist::domain::Role;
use jwt_blacklist::revocation::{check_view, Entry, Freshness, Presented, View};
use jwt_blacklist::telemetry::metrics::Metrics;
use time::OffsetDateTime;
use uuid::Uuid;

const SECRET: &str = "criterion-benchmark-secret-0123456789abcdef";

/// A codec whose one key is `key`, and a token it issued.
fn codec(key: SigningKey) -> (TokenCodec, String) {
    let ring = KeyRing::new(&[key], "bench");
    let codec = TokenCodec::new(ring, "bench", Duration::from_secs(3600), Metrics::new());
    let (token, _) = codec
        .issue(
            Subject {
                uid: Uuid::new_v4(),
                username: "alice",
                role: Role::User,
            },
            uuid::Uuid::new_v4(),
            OffsetDateTime::now_utc(),
        )
        .expect("issue");
    (codec, token)
}

fn hs256() -> SigningKey {
    SigningKey::hs256("hs", Secret::from_text(SECRET).expect("a 32-byte secret"))
}

fn ed25519() -> SigningKey {
    let pem = ed25519_dalek::SigningKey::from_bytes(&[7; 32])
        .to_pkcs8_pem(LineEnding::LF)
        .expect("pem");
    SigningKey::ed25519("ed", &pem).expect("an Ed25519 key")
}

/// The verification the codec does on a cache miss, with its settings (algorithm, issuer,
/// leeway), without the cache.
fn uncached(key: &SigningKey) -> (DecodingKey, Validation) {
    let (alg, decoding) = match &key.material {
        KeyMaterial::Hs256(_) => (
            Algorithm::HS256,
            DecodingKey::from_secret(SECRET.as_bytes()),
        ),
        KeyMaterial::Ed25519 { public, .. } => (Algorithm::EdDSA, DecodingKey::from_ed_der(public)),
    };
    let mut validation = Validation::new(alg);
    validation.set_issuer(&["bench"]);
    validation.leeway = jwt_blacklist::config::LEEWAY_SECS;
    (decoding, validation)
}

/// A view holding `n` revoked token ids, `n / 10` ended sessions and a cut-off for each of
/// 1000 other users (none of them the benchmarked token's), proven current.
fn view_of(n: usize) -> (View, Freshness) {
    let view = View::with_capacity(n + n / 10);
    let exp = OffsetDateTime::now_utc().unix_timestamp() + 86_400;
    for _ in 0..n {
        view.apply(Entry::Token {
            jti: Uuid::new_v4(),
            exp,
        });
    }
    for _ in 0..n / 10 {
        view.apply(Entry::Session {
            sid: Uuid::new_v4(),
            exp,
        });
    }
    for i in 0..1000 {
        view.apply(Entry::UserCutoff {
            username: format!("seed-{i}").into(),
            issued_before: Uuid::now_v7(),
            exp,
        });
    }
    let freshness = Freshness::bounded(Duration::from_secs(3600));
    freshness.confirm(Instant::now());
    (view, freshness)
}

fn guard(c: &mut Criterion) {
    let mut group = c.benchmark_group("guard");
    for (name, key) in [("HS256", hs256()), ("Ed25519", ed25519())] {
        let (codec, token) = codec(key.clone());
        let (decoding, validation) = uncached(&key);
        group.bench_function(
            format!("decode and verify signature, uncached, {name}"),
            |b| {
                b.iter(|| {
                    jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation)
                        .expect("valid")
                })
            },
        );
        group.bench_function(format!("decode, cached, {name}"), |b| {
            b.iter(|| codec.decode(black_box(&token)).expect("valid"))
        });
    }
    let (codec, token) = codec(hs256());
    for n in [0, 100_000, 1_000_000] {
        let (view, freshness) = view_of(n);
        let claims = codec.decode(&token).expect("valid");
        group.bench_with_input(BenchmarkId::new("lookups only", n), &n, |b, _| {
            b.iter(|| {
                let presented = Presented {
                    jti: claims.jti,
                    sid: claims.sid,
                    username: &claims.sub,
                };
                check_view(&view, &freshness, black_box(&presented)).expect("current")
            })
        });
        group.bench_with_input(BenchmarkId::new("full check", n), &n, |b, _| {
            b.iter(|| {
                let claims = codec.decode(black_box(&token)).expect("valid");
                let presented = Presented {
                    jti: claims.jti,
                    sid: claims.sid,
                    username: &claims.sub,
                };
                assert!(!check_view(&view, &freshness, &presented).expect("current"));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, guard);
criterion_main!(benches);
