//! What the guard costs per request, without HTTP: verifying a token's signature and parsing it
//! (what a request pays without the verified-token cache), the cached decode the guard does for
//! a token seen before, the revocation lookups alone (staleness rule, token id, session id and
//! user cut-off), and the full check as the guard runs it (cached decode + lookups), with 0,
//! 100 000 and 1 000 000 revoked ids in the view. Target: the full check at 1 000 000 ids costs at most 1.2 times the
//! decode alone. `cargo bench --bench guard`; CI runs it with `-- --test` (each case once).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use jwt_blacklist::auth::claims::{Subject, TokenCodec};
use jwt_blacklist::config::Secret;
use jwt_blacklist::domain::Role;
use jwt_blacklist::revocation::{check_view, Entry, Freshness, Presented, View};
use time::OffsetDateTime;
use uuid::Uuid;

const SECRET: &str = "criterion-benchmark-secret-0123456789abcdef";

fn codec() -> TokenCodec {
    let secret = Secret::from_text(SECRET).expect("a 32-byte secret");
    TokenCodec::new(&secret, "bench", Duration::from_secs(3600))
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
    let codec = codec();
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
    let mut group = c.benchmark_group("guard");
    // The codec's own settings, without its cache: HS256, issuer, leeway.
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_issuer(&["bench"]);
    validation.leeway = jwt_blacklist::config::LEEWAY_SECS;
    group.bench_function("decode and verify signature, uncached", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<jwt_blacklist::auth::claims::Claims>(
                black_box(&token),
                &key,
                &validation,
            )
            .expect("valid")
        })
    });
    group.bench_function("decode, cached", |b| {
        b.iter(|| codec.decode(black_box(&token)).expect("valid"))
    });
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
