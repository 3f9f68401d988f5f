//! Helper of the load benchmark (`bench/run.sh`): seeds the blacklist with revoked token ids, and
//! prints signed session tokens for wrk to present.
//!
//! ```text
//! bench_tool seed <database_url> <rows> [--expired]
//! bench_tool tokens <secret|ed25519:kid:pem-file> <issuer> <username> <user|admin> <count> <ttl_secs>
//! bench_tool count <database_url>
//! bench_tool accounts <database_url> <server_secret> <password> <count> <totp_secret_hex>
//! bench_tool logins <server_url> <password|totp> <password> <count> <totp_secret_hex> <in_flight> <seconds>
//! ```
//!
//! `seed` opens the database as the server does (migrations included) and inserts `rows` rows
//! that expire in a day, or that expired an hour ago with `--expired` (for the purge benchmark).
//! `tokens` prints one HS256 token per line, each with a fresh `jti`; the server accepts them when
//! it runs with the same `ROCKET_JWT_SECRET` and `ROCKET_JWT_ISSUER`.
//!
//! `accounts` creates `count` accounts `totp-<i>` with TOTP on and `count` accounts `plain-<i>`
//! without, all with `password`, for the logins-with-a-second-factor case. `logins` is that
//! case's load client (see [`logins`]).

use std::error::Error;
use std::io::Write;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use time::OffsetDateTime;
use uuid::Uuid;

use jwt_blacklist::auth::claims::{Subject, TokenCodec};
use jwt_blacklist::auth::keys::KeyRing;
use jwt_blacklist::config::{derived_kid, DatabaseUrl, Secret, SigningKey};
use jwt_blacklist::db::blacklist::Entry;
use jwt_blacklist::db::schema::blacklist;
use jwt_blacklist::db::{to_db_time, Db, DbConnection, PoolSettings};
use jwt_blacklist::domain::Role;
use jwt_blacklist::telemetry::metrics::Metrics;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// Rows committed per transaction: few enough fsyncs, short enough locks.
const ROWS_PER_TRANSACTION: usize = 10_000;
/// Rows per multi-row INSERT: 4 bound columns each, under SQLite's 32 766 parameters.
const ROWS_PER_STATEMENT: usize = 5_000;
/// Seeded rows are spread over this many owners, as real revocations would be.
const SEED_USERS: usize = 1_000;

const USAGE: &str = "usage:
  bench_tool seed <database_url> <rows> [--expired]
  bench_tool tokens <secret|ed25519:kid:pem-file> <issuer> <username> <user|admin> <count> <ttl_secs>
  bench_tool count <database_url>
  bench_tool accounts <database_url> <server_secret> <password> <count> <totp_secret_hex>
  bench_tool logins <server_url> <password|totp> <password> <count> <totp_secret_hex> <in_flight> <seconds>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") => seed(&args[1..]),
        Some("tokens") => tokens(&args[1..]),
        Some("count") => count(&args[1..]),
        Some("accounts") => accounts(&args[1..]),
        Some("logins") => logins(&args[1..]),
        _ => Err(USAGE.into()),
    }
}

fn number<T: std::str::FromStr>(name: &str, raw: &str) -> Result<T> {
    raw.parse()
        .map_err(|_| format!("{name} must be a non-negative integer, not `{raw}`").into())
}

/// Opens the database as the server does and runs `f` on a pooled connection.
fn with_db<R: Send + 'static>(
    url: DatabaseUrl,
    f: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<R> + Send + 'static,
) -> Result<R> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // Seeding ten million rows is one long call (minutes); the scripts that run this tool
        // bound it with their own timeouts.
        let settings = PoolSettings {
            max_size: 2,
            timeout: Duration::from_secs(900),
        };
        let db = Db::connect(url, settings).await?;
        db.run(f).await.map_err(Box::<dyn Error>::from)
    })
}

/// `count <database_url>`: prints the number of blacklist rows (for the durability check).
fn count(args: &[String]) -> Result<()> {
    let [url] = args else {
        return Err(USAGE.into());
    };
    let rows = with_db(
        DatabaseUrl::parse(url)?,
        jwt_blacklist::db::blacklist::count,
    )?;
    println!("{rows}");
    Ok(())
}

/// `seed <database_url> <rows> [--expired]`
fn seed(args: &[String]) -> Result<()> {
    let (url, rows, expired) = match args {
        [url, rows] => (url, rows, false),
        [url, rows, flag] if flag == "--expired" => (url, rows, true),
        _ => return Err(USAGE.into()),
    };
    let url = DatabaseUrl::parse(url)?;
    let rows: usize = number("rows", rows)?;
    let started = Instant::now();
    let shown = url.to_string();
    let now = OffsetDateTime::now_utc();
    let expires_at = if expired {
        now - time::Duration::hours(1)
    } else {
        now + time::Duration::days(1)
    };
    with_db(url, move |conn| insert_rows(conn, rows, expires_at, now))?;
    println!(
        "seeded {rows} {} rows into the {shown} in {:.2} s",
        if expired { "expired" } else { "live" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn insert_rows(
    conn: &mut DbConnection,
    rows: usize,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) => insert_set_based_pg(c, rows, expires_at, now)?,
        DbConnection::Sqlite(c) => insert_batches_sqlite(c, rows, expires_at, now)?,
    }
    insert_other_revocations(conn, rows / 10, expires_at, now)
}

/// The other kinds of revocation the guard consults, so that every check pays for them: ended
/// sessions (a tenth of the token rows) and a cut-off for each seeded user (not the benchmark's).
fn insert_other_revocations(
    conn: &mut DbConnection,
    sessions: usize,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> QueryResult<()> {
    use jwt_blacklist::db::schema::{sessions as s, user_cutoffs as u};
    let (at, until) = (to_db_time(now), to_db_time(expires_at));
    let rows: Vec<_> = (0..sessions)
        .map(|i| {
            (
                s::id.eq(Uuid::new_v4().to_string()),
                s::username.eq(format!("seed-{}", i % SEED_USERS)),
                s::created_at.eq(at),
                s::last_used_at.eq(at),
                s::expires_at.eq(until),
                s::access_until.eq(until),
                s::user_agent.eq("bench"),
                s::ended_at.eq(Some(at)),
            )
        })
        .collect();
    // Multi-row inserts exist per backend, not on the multi-backend connection.
    for chunk in rows.chunks(ROWS_PER_STATEMENT / 8) {
        let insert = diesel::insert_into(s::table).values(chunk);
        match conn {
            DbConnection::Pg(c) => insert.execute(c)?,
            DbConnection::Sqlite(c) => insert.execute(c)?,
        };
    }
    let cutoffs: Vec<_> = (0..SEED_USERS)
        .map(|i| {
            (
                u::username.eq(format!("seed-{i}")),
                u::cutoff.eq(Uuid::now_v7().to_string()),
                u::cut_at.eq(at),
                u::kept_until.eq(until),
            )
        })
        .collect();
    for chunk in cutoffs.chunks(ROWS_PER_STATEMENT / 4) {
        let insert = diesel::insert_into(u::table).values(chunk);
        match conn {
            DbConnection::Pg(c) => insert.execute(c)?,
            DbConnection::Sqlite(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// PostgreSQL builds the rows itself: no parameters to bind, no rows to ship.
fn insert_set_based_pg(
    conn: &mut PgConnection,
    rows: usize,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> QueryResult<()> {
    let mut done = 0;
    while done < rows {
        let n = ROWS_PER_TRANSACTION.min(rows - done);
        diesel::sql_query(format!(
            "INSERT INTO blacklist (jti, username, expires_at, blacklisted_at) \
             SELECT gen_random_uuid()::text, 'seed-' || (g % {SEED_USERS}), $1, \
             $2 - (g % 3600) * interval '1 second' FROM generate_series(1, $3) AS g"
        ))
        .bind::<Timestamp, _>(to_db_time(expires_at))
        .bind::<Timestamp, _>(to_db_time(now))
        .bind::<BigInt, _>(n as i64)
        .execute(conn)?;
        done += n;
    }
    Ok(())
}

/// SQLite: multi-row INSERTs of entries built here. The ids are sorted and the revocation times
/// increase, so every index grows at its end; with a large page cache and no fsync (a benchmark
/// fixture need not survive a power cut) a million rows take seconds.
fn insert_batches_sqlite(
    conn: &mut SqliteConnection,
    rows: usize,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> QueryResult<()> {
    conn.batch_execute("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
    let mut ids: Vec<Uuid> = (0..rows).map(|_| Uuid::new_v4()).collect();
    ids.sort_unstable();
    let expires_at = to_db_time(expires_at);
    for (start, chunk) in (0..)
        .step_by(ROWS_PER_TRANSACTION)
        .zip(ids.chunks(ROWS_PER_TRANSACTION))
    {
        let entries: Vec<Entry> = chunk
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let i = start + k;
                let age = time::Duration::milliseconds((rows - i) as i64);
                Entry {
                    jti: id.to_string(),
                    username: format!("seed-{}", i % SEED_USERS),
                    expires_at,
                    blacklisted_at: to_db_time(now - age),
                }
            })
            .collect();
        conn.transaction(|conn| {
            for statement in entries.chunks(ROWS_PER_STATEMENT) {
                diesel::insert_into(blacklist::table)
                    .values(statement)
                    .execute(conn)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
    }
    Ok(())
}

/// `tokens <secret|ed25519:kid:pem-file> <issuer> <username> <user|admin> <count> <ttl_secs>`: signed by the server's
/// own codec, so the benchmark presents exactly what a login would have set.
fn tokens(args: &[String]) -> Result<()> {
    let [secret, issuer, username, role, count, ttl] = args else {
        return Err(USAGE.into());
    };
    let role = match role.as_str() {
        "user" => Role::User,
        "admin" => Role::Admin,
        other => return Err(format!("role must be user or admin, not `{other}`").into()),
    };
    let count: usize = number("count", count)?;
    let ttl: u64 = number("ttl_secs", ttl)?;
    let key = match secret.strip_prefix("ed25519:") {
        // `ed25519:<kid>:<pem file>`: the server's `signing_keys` holds that key.
        Some(spec) => {
            let (kid, path) = spec.split_once(':').ok_or(USAGE)?;
            let pem = std::fs::read_to_string(path)?;
            SigningKey::ed25519(kid, &pem).ok_or("not an Ed25519 PKCS#8 PEM key")?
        }
        // The server's `jwt_secret`, whose key id is derived from it.
        None => SigningKey::hs256(&derived_kid(secret.as_bytes()), Secret::from_text(secret)?),
    };
    let codec = TokenCodec::new(
        KeyRing::new(&[key], issuer),
        issuer,
        Duration::from_secs(ttl),
        Metrics::new(),
    );
    let now = OffsetDateTime::now_utc();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..count {
        // A session id of its own, as a login would give: the guard looks it up too.
        let to = Subject {
            uid: Uuid::new_v4(),
            username,
            role,
        };
        let (token, _) = codec.issue(to, Uuid::new_v4(), now)?;
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}

/// Bytes given as hex (the TOTP secret shared by the seeded accounts and the load client).
fn hex_bytes(name: &str, raw: &str) -> Result<Vec<u8>> {
    let bad = || format!("{name} must be an even number of hex digits, not `{raw}`");
    if raw.is_empty() || !raw.len().is_multiple_of(2) || !raw.is_ascii() {
        return Err(bad().into());
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).map_err(|_| bad().into()))
        .collect()
}

/// The name of seeded account `i` of a kind (`plain` or `totp`).
fn account_name(kind: &str, i: usize) -> String {
    format!("{kind}-{i:07}")
}

/// `accounts <database_url> <server_secret> <password> <count> <totp_secret_hex>`: `count`
/// accounts `totp-<i>` with TOTP on (confirmed, no step taken yet: `last_step` 0, no recovery
/// codes) and `count` accounts `plain-<i>` without, all with `password`. Written by the
/// library's own queries, the TOTP secret sealed by the server's own `MfaKeys` under
/// `server_secret` (which must be the server's `server_secret`, or its `jwt_secret` when it has
/// none), so that the server opens it as if the account had enrolled.
fn accounts(args: &[String]) -> Result<()> {
    use jwt_blacklist::auth::mfa::sealing::MfaKeys;
    use jwt_blacklist::auth::password::PasswordHasher;
    use jwt_blacklist::db::users::{self, NewUser};
    use jwt_blacklist::db::{mfa_totp, write_transaction};
    use jwt_blacklist::domain::Password;

    let [url, server_secret, password, count, totp_secret] = args else {
        return Err(USAGE.into());
    };
    let url = DatabaseUrl::parse(url)?;
    let keys = MfaKeys::new(&Secret::from_text(server_secret)?);
    let password = Password::parse(password.clone())?;
    let count: usize = number("count", count)?;
    let totp_secret = hex_bytes("totp_secret_hex", totp_secret)?;
    let started = Instant::now();
    // One argon2 hash, by the server's own hasher (its parameters, its PHC string), reused for
    // every account: a hash each would cost tens of milliseconds per account and test nothing.
    let hash = tokio::runtime::Builder::new_current_thread()
        .build()?
        .block_on(async { PasswordHasher::new(1, 1)?.hash(&password).await })?;
    let shown = url.to_string();
    let written = with_db(url, move |conn| {
        let now = to_db_time(OffsetDateTime::now_utc());
        write_transaction(conn, |conn| {
            let mut written = 0usize;
            for i in 0..count {
                for kind in ["plain", "totp"] {
                    let id = Uuid::new_v4().to_string();
                    let username = account_name(kind, i);
                    let user = NewUser {
                        id: &id,
                        username: &username,
                        password_hash: &hash,
                        role: Role::User.as_str(),
                        created_at: now,
                    };
                    let mut ok = users::create(conn, &user)?;
                    if kind == "totp" {
                        let sealed = keys.seal(&id, &totp_secret);
                        ok = ok
                            && mfa_totp::set_pending(conn, &id, &sealed, now)?
                            && mfa_totp::confirm(conn, &id, 0, now)?;
                    }
                    written += usize::from(ok);
                }
            }
            Ok(written)
        })
    })?;
    if written != 2 * count {
        return Err(format!(
            "only {written} of {} accounts were written (names taken?)",
            2 * count
        )
        .into());
    }
    println!(
        "seeded {count} accounts with TOTP and {count} without into the {shown} in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Every request of the load client gives up after this long (counted as a failure).
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What the login loops share.
struct LoginRun {
    client: reqwest::Client,
    base: String,
    password: String,
    totp_secret: Vec<u8>,
    totp: bool,
    accounts: usize,
    next: std::sync::atomic::AtomicUsize,
    deadline: Instant,
    tally: std::sync::Mutex<Tally>,
}

#[derive(Default)]
struct Tally {
    /// Logins answered 200 (both steps, with TOTP) within the window.
    done: u64,
    /// Logins answered 200 after the window (started in it): not counted in the rate.
    late: u64,
    /// Failed logins by what failed: the step, its status and error code, or no answer.
    failures: std::collections::BTreeMap<String, u64>,
    /// Full login (from the first request to the last answer) of each done login, ms.
    full_ms: Vec<f64>,
    /// The code step alone of each done TOTP login, ms.
    code_ms: Vec<f64>,
    /// The seeded accounts ran out before the window ended.
    ran_out: bool,
}

/// `logins <server_url> <password|totp> <password> <count> <totp_secret_hex> <in_flight>
/// <seconds>`: keeps `in_flight` logins going for `seconds`, each as a fresh seeded account
/// (`plain-<i>` for `password`, `totp-<i>` for `totp`, `i` below `count`), so no TOTP code is
/// refused as a replay. A `totp` login is the two requests a browser makes: `POST
/// /authenticate`, then `POST /authenticate/mfa` with the `mfa` cookie and the code of the
/// current step, computed from the shared secret by the server's own TOTP code. Only a login
/// whose last answer is 200 with a `jwt` cookie is done; anything else is a failure, by cause.
///
/// Prints one tab-separated line: mode, in_flight, seconds, done, failed, logins/s (done in the
/// window ÷ seconds), p50 and p99 of a full login (ms), p50 of the code step (ms, `-` without),
/// logins done after the window, 1 if the accounts ran out, and the failures (`-` for none).
/// Bounded: no login starts after the window, and every request times out after 30 s.
fn logins(args: &[String]) -> Result<()> {
    let [base, mode, password, count, totp_secret, in_flight, seconds] = args else {
        return Err(USAGE.into());
    };
    let totp = match mode.as_str() {
        "password" => false,
        "totp" => true,
        other => return Err(format!("mode must be password or totp, not `{other}`").into()),
    };
    let in_flight: usize = number("in_flight", in_flight)?;
    let seconds: u64 = number("seconds", seconds)?;
    if in_flight == 0 || seconds == 0 {
        return Err("in_flight and seconds must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(in_flight)
        .timeout(LOGIN_TIMEOUT)
        .build()?;
    let run = std::sync::Arc::new(LoginRun {
        client,
        base: base.trim_end_matches('/').to_owned(),
        password: password.clone(),
        totp_secret: hex_bytes("totp_secret_hex", totp_secret)?,
        totp,
        accounts: number("count", count)?,
        next: Default::default(),
        deadline: Instant::now() + Duration::from_secs(seconds),
        tally: Default::default(),
    });
    runtime.block_on(async {
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            loops.spawn(login_loop(run.clone()));
        }
        while loops.join_next().await.is_some() {}
    });
    let mut tally = std::mem::take(&mut *run.tally.lock().unwrap_or_else(|e| e.into_inner()));
    let failed: u64 = tally.failures.values().sum();
    let failures = if tally.failures.is_empty() {
        "-".to_owned()
    } else {
        let list: Vec<String> = tally
            .failures
            .iter()
            .map(|(why, n)| format!("{n}× {why}"))
            .collect();
        list.join("; ")
    };
    let rate = tally.done as f64 / seconds as f64;
    let p50 = percentile(&mut tally.full_ms, 0.50);
    let p99 = percentile(&mut tally.full_ms, 0.99);
    let code_p50 = percentile(&mut tally.code_ms, 0.50);
    println!(
        "{mode}\t{in_flight}\t{seconds}\t{}\t{failed}\t{rate:.2}\t{p50}\t{p99}\t{code_p50}\t{}\t{}\t{failures}",
        tally.done,
        tally.late,
        u8::from(tally.ran_out),
    );
    Ok(())
}

/// The nearest-rank percentile `q` of `values` in ms, two decimals; `-` when there are none.
fn percentile(values: &mut [f64], q: f64) -> String {
    if values.is_empty() {
        return "-".to_owned();
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    format!("{:.2}", values[rank - 1])
}

async fn login_loop(run: std::sync::Arc<LoginRun>) {
    use std::sync::atomic::Ordering;
    while Instant::now() < run.deadline {
        let i = run.next.fetch_add(1, Ordering::Relaxed);
        if i >= run.accounts {
            run.tally.lock().unwrap_or_else(|e| e.into_inner()).ran_out = true;
            return;
        }
        let started = Instant::now();
        let outcome = login_once(&run, i).await;
        let finished = Instant::now();
        let mut tally = run.tally.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(_) if finished > run.deadline => tally.late += 1,
            Ok(code_step) => {
                tally.done += 1;
                tally.full_ms.push(ms(finished - started));
                if let Some(code_step) = code_step {
                    tally.code_ms.push(ms(code_step));
                }
            }
            Err(why) => *tally.failures.entry(why).or_default() += 1,
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One request's answer: status, the cookies it set (name, value), the body as JSON.
struct LoginAnswer {
    status: u16,
    cookies: Vec<(String, String)>,
    body: serde_json::Value,
}

impl LoginAnswer {
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `Err` with the step, the status and the server's error code unless the answer is 200.
    fn ok(self, step: &str) -> Result<Self, String> {
        if self.status == 200 {
            return Ok(self);
        }
        let code = self.body["error"].as_str().unwrap_or("no error code");
        Err(format!("{step} answered {} ({code})", self.status))
    }
}

async fn post_json(
    run: &LoginRun,
    step: &str,
    path: &str,
    cookie: Option<String>,
    body: serde_json::Value,
) -> Result<LoginAnswer, String> {
    let mut request = run
        .client
        .post(format!("{}{path}", run.base))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string());
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let no_answer = |e: reqwest::Error| {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        format!("{step}: no answer ({kind})")
    };
    let response = request.send().await.map_err(no_answer)?;
    let status = response.status().as_u16();
    let cookies = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let bytes = response.bytes().await.map_err(no_answer)?;
    Ok(LoginAnswer {
        status,
        cookies,
        body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    })
}

/// One login of account `i`: `Ok(None)` for a password-only login, `Ok(Some(time of the code
/// step))` for a TOTP one; `Err(what failed)`.
async fn login_once(run: &LoginRun, i: usize) -> Result<Option<Duration>, String> {
    let kind = if run.totp { "totp" } else { "plain" };
    let credentials = serde_json::json!({
        "username": account_name(kind, i),
        "password": run.password,
    });
    let first = post_json(run, "password step", "/authenticate", None, credentials)
        .await?
        .ok("password step")?;
    let asked = first.body["mfa_required"] == serde_json::Value::Bool(true);
    if !run.totp {
        if asked {
            return Err("password step asked for a second factor".into());
        }
        return match first.cookie("jwt") {
            Some(_) => Ok(None),
            None => Err("password step set no jwt cookie".into()),
        };
    }
    let Some(challenge) = first.cookie("mfa").filter(|_| asked) else {
        return Err("password step opened no challenge (mfa_required and the mfa cookie)".into());
    };
    let cookie = format!("mfa={challenge}");
    let code_started = Instant::now();
    let unix = OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let code = jwt_blacklist::auth::mfa::totp::code_at(&run.totp_secret, unix)
        .ok_or("the TOTP secret makes no code")?;
    let body = serde_json::json!({ "code": code });
    let second = post_json(run, "code step", "/authenticate/mfa", Some(cookie), body)
        .await?
        .ok("code step")?;
    match second.cookie("jwt") {
        Some(_) => Ok(Some(code_started.elapsed())),
        None => Err("code step set no jwt cookie".into()),
    }
}
