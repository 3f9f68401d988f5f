//! Backend behaviour: concurrent purges, and (on PostgreSQL) an outage and its recovery.

use std::io::Write;
use std::time::{Duration, Instant};

use jwt_blacklist::db::{blacklist, to_db_time};
use rocket::http::Status;
use rocket::tokio::{self, net::TcpListener, net::TcpStream, task::JoinSet};
use time::OffsetDateTime;

use crate::helpers::{eventually, figment, postgres_base_url, TestApp, TestDb, POSTGRES_ENV};

#[test]
fn the_postgres_run_is_requested_or_says_so() {
    match postgres_base_url() {
        Some(url) => {
            use diesel::Connection;
            let reached = diesel::PgConnection::establish(&url);
            assert!(
                reached.is_ok(),
                "{POSTGRES_ENV} is set but PostgreSQL cannot be reached"
            );
        }
        // Written past the test harness's capture, so that it shows in `cargo test`'s output.
        None => {
            assert!(std::env::var(POSTGRES_ENV).map_or(true, |v| v.is_empty()));
            let line = format!("note: PostgreSQL run not requested ({POSTGRES_ENV} unset): the suite ran on SQLite\n");
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

#[rocket::async_test]
async fn two_concurrent_purges_delete_each_row_exactly_once() {
    // The 600 rows are arranged in one database call, which must fit in db_timeout_ms: on a
    // loaded machine 2 s was not always enough (what is tested is the purges, not the speed).
    let app = TestApp::spawn_with(|f| f.merge(("db_timeout_ms", 30_000))).await;
    let now = OffsetDateTime::now_utc();
    let rows: Vec<blacklist::Entry> = (0..600)
        .map(|i| blacklist::Entry {
            jti: uuid::Uuid::new_v4().to_string(),
            username: format!("user{i}"),
            expires_at: to_db_time(now - time::Duration::seconds(3600 + i)),
            blacklisted_at: to_db_time(now - time::Duration::seconds(7200)),
        })
        .collect();
    app.pool()
        .run(move |conn| {
            rows.iter()
                .try_fold(0, |n, r| blacklist::insert_ignore(conn, r).map(|k| n + k))
        })
        .await
        .expect("insert rows");
    let live = app.insert_row(3600).await;
    let revocation = &app
        .client
        .rocket()
        .state::<jwt_blacklist::app::App>()
        .expect("App is managed")
        .revocation;
    let purge = || revocation.purge(now, 50);
    let (a, b) = tokio::join!(purge(), purge());
    let (a, b) = (a.expect("first purge"), b.expect("second purge"));
    assert_eq!(a + b, 600, "each row deleted and counted once ({a} + {b})");
    assert_eq!(app.row_count().await, 1);
    assert!(app.row_exists(&live).await);
}

/// A TCP forwarder standing in for the database's address: stop it and the database is gone,
/// resume it and the database is back, at the same address.
struct Outage {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Outage {
    async fn forward_to(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let task = Some(tokio::spawn(forward(listener, target.clone())));
        Self { port, target, task }
    }

    /// Refuses new connections and cuts every open one.
    fn begin(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn end(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => break l,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("cannot rebind the proxy port: {e}"),
            }
        };
        self.task = Some(tokio::spawn(forward(listener, self.target.clone())));
    }
}

async fn forward(listener: TcpListener, target: String) {
    // Dropping the set (when this task is aborted) aborts every connection with it.
    let mut connections = JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        let target = target.clone();
        connections.spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target.as_str()).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

#[rocket::async_test]
async fn a_postgres_outage_fails_closed_and_recovers_without_a_restart() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let direct = url::Url::parse(&base).expect("url");
    let host = direct.host_str().unwrap_or("127.0.0.1");
    let target = format!("{host}:{}", direct.port().unwrap_or(5432));
    let mut outage = Outage::forward_to(target).await;
    let db = TestDb::postgres(&base);
    let mut proxied = url::Url::parse(&db.url).expect("url");
    proxied.set_port(Some(outage.port)).expect("port");
    let proxied = proxied.to_string();
    let app = TestApp::spawn_rocket(db, |db| {
        jwt_blacklist::rocket_from(
            figment(db)
                .merge(("database_url", proxied))
                .merge(("db_timeout_ms", 1000)),
        )
    })
    .await;
    let token = app.user_token("alice").await;
    assert_eq!(app.me(&token).await.status(), Status::Ok);

    outage.begin();
    // The listener notices the cut within milliseconds, and within revocation_max_staleness at
    // the latest: from then on, no answer until the database is back.
    let closed = eventually(5, || async {
        app.me(&token).await.status() == Status::ServiceUnavailable
    })
    .await;
    assert!(closed, "the guard went on answering without its database");
    for _ in 0..3 {
        assert_eq!(
            app.me(&token).await.status(),
            Status::ServiceUnavailable,
            "the guard fails closed"
        );
        assert_eq!(
            app.client.get("/health").dispatch().await.status(),
            Status::ServiceUnavailable
        );
    }

    outage.end().await;
    let back = Instant::now();
    let recovered = eventually(10, || async {
        app.me(&token).await.status() == Status::Ok
            && app.client.get("/health").dispatch().await.status() == Status::Ok
    })
    .await;
    assert!(
        recovered,
        "not recovered within 10 s of PostgreSQL coming back"
    );
    let line = format!(
        "note: recovered {} ms after PostgreSQL came back\n",
        back.elapsed().as_millis()
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// The suite's URL asks for TLS (`sslmode=require`, as CI's second PostgreSQL run does).
fn tls_requested() -> Option<String> {
    postgres_base_url().filter(|url| url.contains("sslmode=require"))
}

#[rocket::async_test]
async fn with_sslmode_require_the_pool_and_the_listener_speak_tls() {
    let Some(_) = tls_requested() else {
        return;
    };
    let app = TestApp::spawn().await;
    let (pooled, listeners_in_clear) = app
        .pool()
        .run(|conn| {
            use diesel::dsl::sql;
            use diesel::sql_types::{BigInt, Bool};
            use diesel::RunQueryDsl;
            let pooled = diesel::select(sql::<Bool>(
                "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
            ))
            .get_result::<bool>(conn)?;
            let clear = diesel::select(sql::<BigInt>(
                "(SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
                 WHERE datname = current_database() AND NOT ssl)",
            ))
            .get_result::<i64>(conn)?;
            Ok::<_, diesel::result::Error>((pooled, clear))
        })
        .await
        .expect("pg_stat_ssl");
    assert!(pooled, "a pooled connection is not encrypted");
    assert_eq!(
        listeners_in_clear, 0,
        "a connection to the test database (the listener?) is not encrypted"
    );
}
