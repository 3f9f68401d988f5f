//! Helper of the load benchmark (`bench/run.sh`): seeds the blacklist with revoked token ids, and
//! prints signed session tokens for wrk to present.
//!
//! ```text
//! bench_tool seed <database_url> <rows> [--expired]
//! bench_tool tokens <secret|ed25519:kid:pem-file> <issuer> <username> <user|admin> <count> <ttl_secs>
//! ```
//!
//! `seed` opens the database as the server does (migrations included) and inserts `rows` rows
//! that expire in a day, or that expired an hour ago with `--expired` (for the purge benchmark).
//! `tokens` prints one HS256 token per line, each with a fresh `jti`; the server accepts them when
//! it runs with the same `ROCKET_JWT_SECRET` and `ROCKET_JWT_ISSUER`.

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
  bench_tool count <database_url>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("seed") => seed(&args[1..]),
        Some("tokens") => tokens(&args[1..]),
        Some("count") => count(&args[1..]),
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
        let settings = PoolSettings {
            max_size: 2,
            timeout: Duration::from_secs(30),
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
