//! What the guard costs per request, without HTTP: decoding and verifying the token alone, and
//! the full check (decode, verify, staleness rule, token id, session id and user cut-off
//! lookups) with 0, 100 000 and 1 000 000 revoked ids in the view. Target: the full check at 1 000 000 ids costs at most 1.2 times the
//! decode alone. `cargo bench --bench guard`; CI runs it with `-- --test` (each case once).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use jwt_blacklist::auth::claims::TokenCodec;
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
            cutoff: Uuid::now_v7(),
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
            "alice",
            Role::User,
            Some(uuid::Uuid::new_v4()),
            OffsetDateTime::now_utc(),
        )
        .expect("issue");
    let mut group = c.benchmark_group("guard");
    group.bench_function("decode and verify only", |b| {
        b.iter(|| codec.decode(black_box(&token)).expect("valid"))
    });
    for n in [0, 100_000, 1_000_000] {
        let (view, freshness) = view_of(n);
        group.bench_with_input(BenchmarkId::new("full check", n), &n, |b, _| {
            b.iter(|| {
                let claims = codec.decode(black_box(&token)).expect("valid");
                let presented = Presented {
                    jti: claims.jti,
                    sid: claims.sid,
                    username: &claims.sub,
                    issued_at: claims.iat,
                };
                assert!(!check_view(&view, &freshness, &presented).expect("current"));
            })
        });
    }
    group.finish();
}

criterion_group!(benches, guard);
criterion_main!(benches);
