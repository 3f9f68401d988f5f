//! What the properties feed the server: arbitrary text, forged and tampered tokens, arbitrary
//! claims, bodies and path segments.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::Algorithm;
use proptest::prelude::*;
use proptest::sample::select;
use rocket::http::Method;
use rocket::serde::json::serde_json;
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::helpers::{forge_kid, forge_with, test_kid, ISSUER, TEST_SECRET};

/// The routes anyone may call without a session. Every other route the server mounts is
/// behind `AuthUser` or `AdminUser` (see [`guarded`]).
pub const PUBLIC: &[(Method, &str)] = &[
    (Method::Post, "/authenticate"),
    // Options for a passwordless login, to anyone: the finish is what must verify.
    (Method::Post, "/authenticate/passkey/start"),
    (Method::Post, "/refresh"),
    (Method::Post, "/api/users"),
    (Method::Post, "/blacklist/logout"),
    (Method::Get, "/health"),
    (Method::Get, "/health/live"),
    (Method::Get, "/"),
    (Method::Get, "/admin"),
    (Method::Get, "/assets/<file>"),
    (Method::Get, "/openapi.json"),
    (Method::Get, "/.well-known/jwks.json"),
];

/// Every route the server mounts but [`PUBLIC`], as a request URI: none may answer 2xx to a
/// token we did not sign. Taken from Rocket, so a new route is covered the day it is mounted.
/// Parameters get values a real caller could send (`admin`, a UUID, `limit=10`).
pub fn guarded(rocket: &rocket::Rocket<rocket::Orbit>) -> Vec<(Method, String)> {
    let fill = |segment: &str| match segment.trim_matches(|c| c == '<' || c == '>') {
        "username" => "admin".to_owned(),
        "id" => uuid::Uuid::new_v4().to_string(),
        other => other.to_owned(),
    };
    let mut routes: Vec<(Method, String)> = rocket
        .routes()
        .filter(|r| {
            let template = r.uri.path().to_string();
            !PUBLIC.contains(&(r.method, template.as_str()))
        })
        .map(|r| {
            let path: Vec<String> = r.uri.path().split('/').map(fill).collect();
            let mut uri = path.join("/");
            if let Some(query) = r.uri.query() {
                let pairs: Vec<String> = query
                    .split('&')
                    .map(|p| {
                        let name = p.trim_matches(|c| c == '<' || c == '>');
                        let value = match name {
                            "username" => "admin",
                            "limit" => "10",
                            _ => "0",
                        };
                        format!("{name}={value}")
                    })
                    .collect();
                uri = format!("{uri}?{}", pairs.join("&"));
            }
            (r.method, uri)
        })
        .collect();
    routes.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    routes.dedup();
    routes
}

/// Routes that read a JSON body (`fuzz-target` is a plain user the admin may change).
pub const BODY_ROUTES: &[(Method, &str)] = &[
    (Method::Post, "/api/users"),
    (Method::Post, "/authenticate"),
    (Method::Post, "/api/password"),
    (Method::Patch, "/api/users/fuzz-target"),
];

/// Routes with a `<username>` or `<id>` in them; `{}` is where the segment goes.
pub const PATH_ROUTES: &[(Method, &str)] = &[
    (Method::Patch, "/api/users/{}"),
    (Method::Delete, "/api/users/{}"),
    (Method::Delete, "/api/sessions/{}"),
    (Method::Delete, "/sessions/{}"),
    (Method::Get, "/sessions?username={}"),
    (Method::Get, "/assets/{}"),
];

/// How a token travels: the `jwt` cookie, an `Authorization` header (the prefix is given:
/// `Bearer `, other spellings, other schemes, or none), or both at once.
#[derive(Debug, Clone, Copy)]
pub enum Carrier {
    Cookie,
    Authorization(&'static str),
    Both,
}

pub fn carrier() -> impl Strategy<Value = Carrier> {
    let schemes = vec![
        "Bearer ",
        "bearer ",
        "BEARER  ",
        " Bearer\t",
        "",
        "Bearer",
        "Basic ",
        "Token ",
    ];
    prop_oneof![
        Just(Carrier::Cookie),
        select(schemes).prop_map(Carrier::Authorization),
        Just(Carrier::Both),
    ]
}

/// Text a token could be: anything, printable, three base64url parts, JWT-looking, or around
/// the length limit.
pub fn token_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,120}",
        "[\\x00-\\x1f\\x7f \"\\\\;=,.A-Za-z0-9_-]{0,64}",
        "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,300}\\.[A-Za-z0-9_-]{0,90}",
        "eyJ[A-Za-z0-9_-]{10,60}\\.eyJ[A-Za-z0-9_-]{10,300}\\.[A-Za-z0-9_-]{43}",
        "[A-Za-z0-9._-]{4090,4110}",
    ]
}

/// A token the server did not sign, made from real tokens where needed (`which` picks one).
#[derive(Debug, Clone)]
pub enum Forgery {
    /// Valid-looking claims signed with another key (HS256, HS384 or HS512), under our `kid`.
    WrongKey {
        claims: Value,
        key: Vec<u8>,
        alg: Algorithm,
    },
    /// Our key and `kid`, but not our algorithm.
    OtherAlgorithm { claims: Value, alg: Algorithm },
    /// Our key and algorithm, but a `kid` that names no key, or none.
    OtherKid { claims: Value, kid: Option<String> },
    /// `alg: none`, with an empty or arbitrary signature.
    AlgNone { claims: Value, signature: String },
    /// An `RS256` header signed with HMAC-SHA256 and our key (algorithm confusion).
    ConfusedRs256 { claims: Value },
    /// A real token's payload and signature under another header.
    Reheadered { which: usize, header: Value },
    /// A real token's header and signature around another payload.
    Spliced { which: usize, claims: Value },
    /// A real token with one character changed.
    OneChar { which: usize, at: usize, with: char },
    /// A real token cut short.
    Truncated { which: usize, keep: usize },
    /// A real token that has been logged out.
    Revoked,
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

impl Forgery {
    pub fn build(&self, real: &[&str]) -> String {
        let pick = |which: &usize| real[which % real.len()];
        match self {
            Self::WrongKey { claims, key, alg } => forge_kid(claims, *alg, key, Some(&test_kid())),
            Self::OtherAlgorithm { claims, alg } => {
                forge_with(claims, *alg, TEST_SECRET.as_bytes())
            }
            Self::OtherKid { claims, kid } => forge_kid(
                claims,
                Algorithm::HS256,
                TEST_SECRET.as_bytes(),
                kid.as_deref(),
            ),
            Self::AlgNone { claims, signature } => {
                format!(
                    "{}.{}.{signature}",
                    b64(&json!({"alg": "none", "typ": "JWT"})),
                    b64(claims)
                )
            }
            Self::ConfusedRs256 { claims } => {
                let signed = format!(
                    "{}.{}",
                    b64(&json!({"alg": "RS256", "typ": "JWT", "kid": test_kid()})),
                    b64(claims)
                );
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(TEST_SECRET.as_bytes()).expect("any key");
                mac.update(signed.as_bytes());
                format!(
                    "{signed}.{}",
                    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
                )
            }
            Self::Reheadered { which, header } => {
                let (_, rest) = pick(which).split_once('.').expect("a JWT");
                format!("{}.{rest}", b64(header))
            }
            Self::Spliced { which, claims } => {
                let parts: Vec<&str> = pick(which).split('.').collect();
                format!("{}.{}.{}", parts[0], b64(claims), parts[2])
            }
            Self::OneChar { which, at, with } => {
                let mut chars: Vec<char> = pick(which).chars().collect();
                let i = at % chars.len();
                chars[i] = match (*with, chars[i]) {
                    (w, c) if w != c => w,
                    (_, 'A') => 'B',
                    _ => 'A',
                };
                chars.into_iter().collect()
            }
            Self::Truncated { which, keep } => {
                let token = pick(which);
                token[..keep % token.len()].to_owned()
            }
            Self::Revoked => unreachable!("the caller presents its revoked token"),
        }
    }
}

fn hmac_alg() -> impl Strategy<Value = Algorithm> {
    select(vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512])
}

pub fn forgery() -> impl Strategy<Value = Forgery> {
    let key = prop::collection::vec(any::<u8>(), 0..64)
        .prop_filter("not our key", |k| k != TEST_SECRET.as_bytes());
    let replacement = prop_oneof![
        select(vec!['A', 'a', '0', '_', '-', '.', '=', '+', '/', ' ']),
        any::<char>()
    ];
    prop_oneof![
        1 => (claims(), key, hmac_alg()).prop_map(|(claims, key, alg)| Forgery::WrongKey { claims, key, alg }),
        1 => (claims(), select(vec![Algorithm::HS384, Algorithm::HS512]))
            .prop_map(|(claims, alg)| Forgery::OtherAlgorithm { claims, alg }),
        1 => (claims(), prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{0,64}"])
            .prop_map(|(claims, signature)| Forgery::AlgNone { claims, signature }),
        1 => claims().prop_map(|claims| Forgery::ConfusedRs256 { claims }),
        1 => (claims(), prop::option::of(prop_oneof![Just(String::new()), "[ -~]{0,24}"]))
            .prop_filter("not our kid", |(_, kid)| kid.as_deref() != Some(test_kid().as_str()))
            .prop_map(|(claims, kid)| Forgery::OtherKid { claims, kid }),
        1 => (any::<usize>(), header()).prop_map(|(which, header)| Forgery::Reheadered { which, header }),
        1 => (any::<usize>(), claims()).prop_map(|(which, claims)| Forgery::Spliced { which, claims }),
        3 => (any::<usize>(), any::<usize>(), replacement)
            .prop_map(|(which, at, with)| Forgery::OneChar { which, at, with }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(which, keep)| Forgery::Truncated { which, keep }),
        1 => Just(Forgery::Revoked),
    ]
}

/// JOSE headers other than the one we sign with.
fn header() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(vec![
            "none", "None", "hs256", "HS384", "HS512", "RS256", "ES256", "EdDSA", ""
        ])
        .prop_map(|alg| json!({"alg": alg, "typ": "JWT"})),
        select(vec!["none", "HS384", "RS256", "ES256", "EdDSA"])
            .prop_map(|alg| json!({"alg": alg, "typ": "JWT", "kid": test_kid()})),
        Just(json!({"typ": "JWT"})),
        Just(json!({"alg": "HS256", "typ": "JWT", "kid": "../../../dev/null"})),
        Just(json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]})),
        Just(json!({"alg": "HS256"})),
        json_value(),
    ]
}

/// Claims: mostly the shape we issue (admin or not, any times, our issuer or not), sometimes
/// any JSON at all.
pub fn claims() -> impl Strategy<Value = Value> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let time = prop_oneof![
        (now - 7200..now + 7200).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        json_value(),
    ];
    let sub = prop_oneof![
        select(vec!["admin", "fuzz-user", "nobody"]).prop_map(Value::from),
        json_value()
    ];
    let role = prop_oneof![
        select(vec!["admin", "user"]).prop_map(Value::from),
        json_value()
    ];
    let id = prop_oneof![
        any::<u128>().prop_map(|n| Value::from(uuid::Uuid::from_u128(n).to_string())),
        json_value(),
    ];
    let iss = prop_oneof![3 => Just(Value::from(ISSUER)), 1 => json_value()];
    let shaped = (
        sub,
        role,
        id.clone(),
        prop::option::of(id),
        time.clone(),
        time,
        iss,
    )
        .prop_map(|(sub, role, jti, sid, iat, exp, iss)| {
            let mut c =
                json!({"sub": sub, "role": role, "jti": jti, "iat": iat, "exp": exp, "iss": iss});
            if let Some(sid) = sid {
                c["sid"] = sid;
            }
            c
        });
    prop_oneof![4 => shaped, 1 => json_value()]
}

/// Any JSON value, nested a few levels, with the field names our bodies use among the keys.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        any::<String>().prop_map(Value::from),
        "[A-Za-z0-9_.-]{0,70}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn field_name() -> impl Strategy<Value = String> {
    let ours = vec![
        "username",
        "password",
        "current_password",
        "new_password",
        "role",
    ];
    prop_oneof![3 => select(ours).prop_map(String::from), 1 => any::<String>()]
}

/// Which body route, as whom, whether JSON, and a JSON body for it: any value, an object of our
/// field names with any values, or the route's own form with any strings in it (what gets past
/// deserialization to the handler's own checks).
pub fn json_target_and_body() -> impl Strategy<Value = ((usize, usize, bool), Value)> {
    body_target().prop_flat_map(|target| {
        let shaped = prop::collection::btree_map(field_name(), json_value(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()));
        let text = || prop_oneof![2 => any::<String>(), 1 => "[A-Za-z0-9_.-]{0,70}", 1 => "[ -~]{1020,1030}"];
        let form = match BODY_ROUTES[target.0].1 {
            "/api/password" => (text(), text())
                .prop_map(|(c, n)| json!({"current_password": c, "new_password": n}))
                .boxed(),
            "/api/users/fuzz-target" => prop_oneof![
                text().prop_map(|r| json!({"role": r})),
                select(vec!["user", "admin"]).prop_map(|r| json!({"role": r})),
            ]
            .boxed(),
            _ => (text(), text())
                .prop_map(|(u, p)| json!({"username": u, "password": p}))
                .boxed(),
        };
        (Just(target), prop_oneof![1 => json_value(), 1 => shaped, 2 => form])
    })
}

/// Bytes as a body: any, JSON-ish text, deep nesting, or just over the size limit.
pub fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..600),
        "[{}\\[\\]\":,a-z0-9 \\\\]{0,200}".prop_map(String::into_bytes),
        (0..3000usize).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        (0..3000usize).prop_map(|n| r#"{"role":"#.repeat(n).into_bytes()),
        (16 * 1024 - 40..16 * 1024 + 40usize).prop_map(|n| format!(
            r#"{{"username":"{}","password":"x"}}"#,
            "x".repeat(n)
        )
        .into_bytes()),
    ]
}

/// Which body route, as whom (none, a user, the admin), and whether `Content-Type` is JSON.
pub fn body_target() -> impl Strategy<Value = (usize, usize, bool)> {
    (0..BODY_ROUTES.len(), 0..3usize, prop::bool::weighted(0.8))
}

/// A path segment: any text percent-encoded, raw URI characters (stray `%` included), or a
/// known name and the usual traversal tricks.
pub fn path_segment() -> impl Strategy<Value = String> {
    let known = vec![
        "admin",
        "fuzz-target",
        "nobody",
        "",
        ".",
        "..",
        "%2e%2e",
        "%2F",
        "a%2Fb",
        "%00",
        "%ff",
        "%",
        "%zz",
        "00000000-0000-0000-0000-000000000000",
        "index.html",
        "..%2f..%2fCargo.toml",
    ];
    prop_oneof![
        any::<String>().prop_map(|s| percent_encode(&s)),
        "[A-Za-z0-9%._~:@!$&'()*+,;=/-]{0,40}",
        select(known).prop_map(String::from),
    ]
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A real token, tampered with: one character changed, cut short, or lengthened.
pub fn tampered(real: String) -> impl Strategy<Value = String> {
    let changed = (any::<usize>(), any::<char>()).prop_map({
        let real = real.clone();
        move |(at, with)| {
            let mut chars: Vec<char> = real.chars().collect();
            let i = at % chars.len();
            chars[i] = if chars[i] == with {
                if with == 'A' {
                    'B'
                } else {
                    'A'
                }
            } else {
                with
            };
            chars.into_iter().collect()
        }
    });
    let cut = any::<usize>().prop_map({
        let real = real.clone();
        move |keep| real[..keep % real.len()].to_owned()
    });
    let longer = "[A-Za-z0-9_=-]{1,8}".prop_map(move |tail| format!("{real}{tail}"));
    prop_oneof![changed, cut, longer]
}
