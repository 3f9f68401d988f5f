//! The real server binary: start-up failures, and two instances sharing one PostgreSQL database.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{
    claims, forge, postgres_base_url, TestDb, ADMIN, ADMIN_PASSWORD, ISSUER, TEST_SECRET,
};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_jwt-blacklist");

pub(crate) fn server(database_url: &str) -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_CLI_COLORS", "false")
        .env("ROCKET_DATABASE_URL", database_url)
        .env("ROCKET_JWT_SECRET", TEST_SECRET)
        .env("ROCKET_JWT_ISSUER", ISSUER)
        .env("ROCKET_ADMIN_USERNAME", ADMIN)
        .env("ROCKET_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ROCKET_PURGE_SCHEDULE", "* * * * * *")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// One running server process; killed on drop. Its output is kept for assertions.
pub(crate) struct Instance {
    child: Child,
    base: String,
    output: Arc<Mutex<String>>,
}

impl Instance {
    pub(crate) fn start(database_url: &str) -> Self {
        Self::spawn(&mut server(database_url))
    }

    pub(crate) fn spawn(cmd: &mut Command) -> Self {
        let port = free_port();
        let mut child = cmd
            .env("ROCKET_PORT", port.to_string())
            .spawn()
            .expect("spawn the server binary");
        let output = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (out, err) = (output.clone(), output.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                out.lock().expect("log").push_str(&(line + "\n"));
            }
        });
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            err.lock().expect("log").push_str(&text);
        });
        // Listening means launched: Rocket binds its port once start-up has succeeded.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = child.try_wait().ok().flatten();
            if exited.is_some() || std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                panic!("the server did not launch: {}", output.lock().expect("log"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            output,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn log(&self) -> String {
        self.output.lock().expect("log").clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now; the server is started on it.
///
/// Not one the kernel picks (`bind(0)`): between the probe and the server's own bind, any other
/// test's `bind(0)` or outgoing connection could be handed the same port, and a test would then
/// talk to another test's server. These come from below the kernel's ephemeral range (32768 and
/// up on Linux), each call in this process taking the next one from a point set by the process
/// id, so neither this process nor the kernel hands one out twice.
fn free_port() -> u16 {
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 10_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let offset = start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        let port = FIRST + offset;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + SPAN)
}

pub(crate) fn note(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("note: {text}\n").as_bytes());
}

/// Runs the binary, which must stop with an error within 30 s (a server that starts instead is
/// killed, and the test fails rather than hangs); returns its output.
pub(crate) fn failed_start(cmd: &mut Command) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("output");
    let file = std::fs::File::create(&path).expect("output file");
    let mut child = cmd
        .stdout(file.try_clone().expect("output file"))
        .stderr(file)
        .spawn()
        .expect("run the server binary");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the server") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        status.is_some_and(|s| !s.success()),
        "the server did not stop with an error: {status:?}\n{text}"
    );
    text
}

#[test]
fn a_malformed_purge_schedule_stops_start_up_naming_it() {
    let db = TestDb::sqlite();
    let text = failed_start(server(&db.url).env("ROCKET_PURGE_SCHEDULE", "every minute"));
    assert!(text.contains("purge_schedule `every minute`"), "{text}");
}

#[test]
fn release_without_a_secret_stops_start_up_naming_the_setting() {
    let db = TestDb::sqlite();
    let text = failed_start(
        server(&db.url)
            .env_remove("ROCKET_JWT_SECRET")
            .env("ROCKET_PROFILE", "release"),
    );
    assert!(text.contains("jwt_secret is required"), "{text}");
}

#[rocket::async_test]
async fn over_real_http_the_origin_rule_holds_and_no_secret_reaches_the_log() {
    let db = TestDb::new();
    let server = Instance::start(&db.url);
    let http = reqwest::Client::new();
    let credentials = serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD });
    let login = http
        .post(server.url("/authenticate"))
        .header("Origin", server.base.clone())
        .json(&credentials)
        .send()
        .await
        .expect("login");
    assert_eq!(
        login.status(),
        StatusCode::OK,
        "a same-origin browser login passes"
    );
    let token = jwt_from(&login);
    let cookie = format!("jwt={token}");
    let forged = http
        .post(server.url("/blacklist/logout"))
        .header("Origin", "https://evil.example")
        .header("Cookie", cookie.clone())
        .send()
        .await
        .expect("cross-site logout");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let me = http
        .get(server.url("/api/me"))
        .header("Cookie", cookie.clone())
        .send()
        .await
        .expect("me");
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "the refused request changed nothing"
    );
    let logout = http
        .post(server.url("/blacklist/logout"))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::OK);
    let log = server.log();
    assert!(
        log.contains("/blacklist/logout"),
        "the log is captured: {log}"
    );
    for secret in [token.as_str(), &token[..20], ADMIN_PASSWORD, TEST_SECRET] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

#[test]
fn a_second_server_process_on_the_same_sqlite_file_is_refused_naming_the_reason() {
    let db = TestDb::sqlite();
    let first = Instance::start(&db.url);
    let text = failed_start(&mut server(&db.url));
    assert!(text.contains("another server process"), "{text}");
    assert!(
        text.contains("PostgreSQL"),
        "the message says what to do: {text}"
    );
    drop(first);
    // Once the first process is gone its lock is too: a restart is never blocked by a stale one.
    let again = Instance::start(&db.url);
    assert!(
        again.base.starts_with("http://127.0.0.1:"),
        "{}",
        again.base
    );
}

#[test]
fn an_unreachable_database_stops_start_up_quickly_naming_it_without_the_password() {
    let started = Instant::now();
    let text = failed_start(&mut server(
        "postgres://app:hunter2-secret@127.0.0.1:1/sessions",
    ));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        text.contains("127.0.0.1:1") && text.contains("sessions"),
        "{text}"
    );
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_missing_postgres_database_stops_start_up_naming_it() {
    let Some(base) = postgres_base_url() else {
        return;
    };
    let mut url = url::Url::parse(&base).expect("url");
    url.set_path("jwtbl_no_such_database");
    let text = failed_start(&mut server(url.as_str()));
    assert!(text.contains("jwtbl_no_such_database"), "{text}");
}

pub(crate) fn jwt_from(res: &reqwest::Response) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.strip_prefix("jwt=")
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
        .expect("a jwt cookie")
}

#[rocket::async_test]
async fn two_instances_share_the_blacklist_and_see_each_others_logouts_within_the_bound() {
    let Some(_) = postgres_base_url() else { return };
    let db = TestDb::new();
    let (url_a, url_b) = (db.url.clone(), db.url.clone());
    // Both start at once: their migrations must not collide.
    let a = std::thread::spawn(move || Instance::start(&url_a));
    let b = std::thread::spawn(move || Instance::start(&url_b));
    let (a, b) = (a.join().expect("instance A"), b.join().expect("instance B"));
    let http = reqwest::Client::new();

    let login = http
        .post(a.url("/authenticate"))
        .json(&serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .expect("login on A");
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = format!("jwt={}", jwt_from(&login));
    let me = |base: &Instance| {
        http.get(base.url("/api/me"))
            .header("Cookie", cookie.clone())
            .send()
    };
    assert_eq!(
        me(&b).await.expect("me on B").status(),
        StatusCode::OK,
        "B accepts A's token"
    );
    assert_eq!(me(&a).await.expect("me on A").status(), StatusCode::OK);

    assert_eq!(logout_on(&http, &b, &cookie).await, StatusCode::OK);
    assert_eq!(
        me(&b).await.expect("me on B").status(),
        StatusCode::UNAUTHORIZED,
        "B refuses the token on its very next request"
    );

    // 100 logouts on B, each followed by polling A until it refuses: the delay is measured,
    // and reported, never asserted; the poll's deadline is only there to end a broken run.
    let mut delays = Vec::new();
    for _ in 0..100 {
        let cookie = format!("jwt={}", forge(&claims("carol", "user")));
        let status = |base: &Instance| {
            http.get(base.url("/api/me"))
                .header("Cookie", cookie.clone())
                .send()
        };
        assert_eq!(status(&a).await.expect("me on A").status(), StatusCode::OK);
        assert_eq!(logout_on(&http, &b, &cookie).await, StatusCode::OK);
        let answered = Instant::now();
        let deadline = answered + Duration::from_secs(5);
        loop {
            let seen = status(&a).await.expect("me on A").status();
            if seen == StatusCode::UNAUTHORIZED {
                delays.push(answered.elapsed());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "A still answers {seen} 5 s after B's logout"
            );
        }
    }
    delays.sort();
    note(&format!(
        "revocation across instances over {} logouts: A refused the token p50 {:.1} ms, max {:.1} ms after B answered the logout",
        delays.len(),
        delays[delays.len() / 2].as_secs_f64() * 1000.0,
        delays[delays.len() - 1].as_secs_f64() * 1000.0
    ));

    // Both purge jobs fire every second on the same rows: no errors, every expired row gone.
    let seed = http
        .post(a.url("/api/users"))
        .json(&serde_json::json!({"username": "bob", "password": "bob-password"}))
        .send();
    assert_eq!(seed.await.expect("sign up").status(), StatusCode::CREATED);
    insert_expired_rows(&db.url, 2000);
    let deadline = Instant::now() + Duration::from_secs(15);
    let live = 1 + delays.len() as i64;
    while count_rows(&db.url) > live && Instant::now() < deadline {
        rocket::tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        count_rows(&db.url),
        live,
        "only the live rows (the logouts above) are left"
    );
    for (name, instance) in [("A", &a), ("B", &b)] {
        let log = instance.log();
        assert!(!log.contains("purge failed"), "instance {name}: {log}");
        assert!(!log.contains("eyJ"), "instance {name} logged a token");
        let health = http
            .get(instance.url("/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(health.status(), StatusCode::OK);
    }
}

async fn logout_on(http: &reqwest::Client, instance: &Instance, cookie: &str) -> StatusCode {
    http.post(instance.url("/blacklist/logout"))
        .header("Cookie", cookie)
        .send()
        .await
        .expect("logout")
        .status()
}

fn insert_expired_rows(url: &str, n: usize) {
    use diesel::{Connection, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(url).expect("connect");
    let sql = format!(
        "INSERT INTO blacklist (jti, username, expires_at, blacklisted_at) \
         SELECT md5(g::text), 'someone', (now() AT TIME ZONE 'UTC') - interval '1 hour', \
                (now() AT TIME ZONE 'UTC') - interval '2 hours' \
         FROM generate_series(1, {n}) AS g"
    );
    diesel::sql_query(sql)
        .execute(&mut conn)
        .expect("insert expired rows");
}

fn count_rows(url: &str) -> i64 {
    use diesel::{Connection, QueryDsl, RunQueryDsl};
    let mut conn = diesel::PgConnection::establish(url).expect("connect");
    jwt_blacklist::db::schema::blacklist::table
        .count()
        .get_result(&mut conn)
        .expect("count")
}

/// Polls `url` with `cookie` on an instance until it answers 401. Any 200 later than `bound`
/// after `answered` would be a revocation the instance failed to honour in time: fails the test.
pub(crate) async fn refused_within(
    http: &reqwest::Client,
    url: String,
    cookie: &str,
    answered: Instant,
    bound: Duration,
) -> Duration {
    let deadline = answered + Duration::from_secs(5);
    loop {
        let seen = http
            .get(url.clone())
            .header("Cookie", cookie)
            .send()
            .await
            .expect("request")
            .status();
        if seen == StatusCode::UNAUTHORIZED {
            return answered.elapsed();
        }
        assert!(
            seen != StatusCode::OK || answered.elapsed() <= bound,
            "{url} still answered 200 {:?} after the revocation",
            answered.elapsed()
        );
        assert!(
            Instant::now() < deadline,
            "{url} still answers {seen} after 5 s"
        );
    }
}

pub(crate) async fn login_cookie(
    http: &reqwest::Client,
    on: &Instance,
    user: &str,
    password: &str,
) -> String {
    let res = http
        .post(on.url("/authenticate"))
        .json(&serde_json::json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), StatusCode::OK, "login of {user}");
    format!("jwt={}", jwt_from(&res))
}

#[rocket::async_test]
async fn logout_all_and_a_demotion_on_one_instance_are_refused_on_the_other() {
    let Some(_) = postgres_base_url() else { return };
    let db = TestDb::new();
    let (a, b) = (Instance::start(&db.url), Instance::start(&db.url));
    let http = reqwest::Client::new();
    let bound = Duration::from_millis(1000); // revocation_max_staleness's default
    let signup = http
        .post(a.url("/api/users"))
        .json(&serde_json::json!({"username": "alice", "password": "alice-password"}))
        .send()
        .await
        .expect("sign up");
    assert_eq!(signup.status(), StatusCode::CREATED);

    // Three sessions of alice, made on A; logout everywhere from B.
    let mut cookies = Vec::new();
    for _ in 0..3 {
        cookies.push(login_cookie(&http, &a, "alice", "alice-password").await);
    }
    let logout_all = http
        .post(b.url("/blacklist/logout-all"))
        .header("Cookie", cookies[0].clone())
        .send()
        .await
        .expect("logout-all on B");
    assert_eq!(logout_all.status(), StatusCode::OK);
    let answered = Instant::now();
    for cookie in &cookies {
        let delay = refused_within(&http, a.url("/api/me"), cookie, answered, bound).await;
        note(&format!(
            "logout-all on B: A refused a session's token after {delay:?}"
        ));
    }
    // The cut-off covers tokens issued before it, not the next login (on either instance).
    let fresh = login_cookie(&http, &b, "alice", "alice-password").await;
    for on in [&a, &b] {
        let me = http.get(on.url("/api/me")).header("Cookie", fresh.clone());
        assert_eq!(me.send().await.expect("me").status(), StatusCode::OK);
    }

    // Promote alice on A; her admin token works on A; demote her on B; A refuses it.
    let admin = login_cookie(&http, &a, ADMIN, ADMIN_PASSWORD).await;
    let promote = http
        .patch(a.url("/api/users/alice"))
        .header("Cookie", admin.clone())
        .json(&serde_json::json!({"role": "admin"}))
        .send()
        .await
        .expect("promote");
    assert_eq!(promote.status(), StatusCode::OK);
    let alice_admin = login_cookie(&http, &a, "alice", "alice-password").await;
    let listing = http
        .get(a.url("/blacklist"))
        .header("Cookie", alice_admin.clone());
    assert_eq!(listing.send().await.expect("list").status(), StatusCode::OK);
    let demote = http
        .patch(b.url("/api/users/alice"))
        .header("Cookie", admin.clone())
        .json(&serde_json::json!({"role": "user"}))
        .send()
        .await
        .expect("demote");
    assert_eq!(demote.status(), StatusCode::OK);
    let answered = Instant::now();
    let delay = refused_within(&http, a.url("/blacklist"), &alice_admin, answered, bound).await;
    note(&format!(
        "demotion on B: A refused the admin token after {delay:?}"
    ));
}

#[rocket::async_test]
async fn json_logs_have_one_line_per_request_and_per_purge_and_no_secret() {
    let db = TestDb::new();
    let server = Instance::spawn(
        server(&db.url)
            .env("ROCKET_LOG_FORMAT", "json")
            .env("ROCKET_PURGE_SCHEDULE", "0 0 0 1 1 *"),
    );
    let http = reqwest::Client::new();
    let credentials = serde_json::json!({ "username": ADMIN, "password": ADMIN_PASSWORD });
    let login = http
        .post(server.url("/authenticate"))
        .json(&credentials)
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK);
    let token = jwt_from(&login);
    let refresh = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("refresh="))
        .and_then(|c| c.split(';').next())
        .expect("refresh cookie")
        .to_owned();
    let cookie = format!("jwt={token}");
    let requests = [
        ("GET", "/api/me", 200),
        ("GET", "/sessions?username=admin", 200),
        ("POST", "/blacklist/purge", 200),
        ("POST", "/blacklist/logout", 200),
        ("GET", "/api/me", 401),
    ];
    for (method, path, status) in requests {
        let req = match method {
            "GET" => http.get(server.url(path)),
            _ => http.post(server.url(path)),
        };
        let res = req
            .header("Cookie", cookie.clone())
            .send()
            .await
            .expect(path);
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
    }
    // The request lines are written after the answers: wait for the last one.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines: Vec<serde_json::Value> = loop {
        let log = server.log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let requests = lines.iter().filter(|l| l["message"] == "request").count();
        if requests >= 6 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seen: Vec<(String, String, u64)> = lines
        .iter()
        .filter(|l| l["message"] == "request")
        .map(|l| {
            assert!(l["latency_ms"].as_f64().is_some(), "{l}");
            assert!(l["ts"].as_str().is_some(), "{l}");
            (
                l["method"].as_str().unwrap_or_default().to_owned(),
                l["route"].as_str().unwrap_or_default().to_owned(),
                l["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [
        ("POST", "/authenticate", 200),
        ("GET", "/api/me", 200),
        ("GET", "/sessions", 200),
        ("POST", "/blacklist/purge", 200),
        ("POST", "/blacklist/logout", 200),
        ("GET", "/api/me", 401),
    ]
    .iter()
    .map(|(m, r, s)| ((*m).to_owned(), (*r).to_owned(), *s))
    .collect();
    assert_eq!(seen, expected, "exactly one line per request, in order");
    let purges: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["message"] == "purge").collect();
    assert_eq!(purges.len(), 1, "{lines:?}");
    assert_eq!(purges[0]["trigger"], "admin");
    assert!(purges[0]["rows"].as_u64().is_some());
    let log = server.log();
    assert!(!log.contains('\u{1b}'), "no colour codes");
    for secret in [
        token.as_str(),
        &token[..20],
        refresh.as_str(),
        ADMIN_PASSWORD,
        TEST_SECRET,
    ] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

#[test]
fn a_bad_log_format_or_a_short_metrics_token_stops_start_up_naming_it() {
    let db = TestDb::sqlite();
    let text = failed_start(server(&db.url).env("ROCKET_LOG_FORMAT", "xml"));
    assert!(text.contains("log_format must be text or json"), "{text}");
    let text = failed_start(server(&db.url).env("ROCKET_METRICS_TOKEN", "short"));
    assert!(text.contains("metrics_token must be at least"), "{text}");
    assert!(!text.contains("short\""), "the token is not echoed: {text}");
}

/// `verify-full` checks the server's certificate against `sslrootcert` and its name against the
/// host. Runs where `TEST_POSTGRES_ROOTCERT` names the CA (or self-signed certificate) of the
/// PostgreSQL server of `TEST_POSTGRES_URL`, whose certificate is issued to `localhost`.
#[rocket::async_test]
async fn verify_full_reaches_a_server_with_the_right_certificate_and_refuses_a_wrong_name() {
    let (Some(_), Ok(rootcert)) = (postgres_base_url(), std::env::var("TEST_POSTGRES_ROOTCERT"))
    else {
        return;
    };
    let db = TestDb::new();
    let mut url = url::Url::parse(&db.url).expect("url");
    url.set_query(Some(&format!("sslmode=verify-full&sslrootcert={rootcert}")));
    url.set_host(Some("localhost")).expect("host");
    let instance = Instance::start(url.as_str());
    let health = reqwest::get(instance.url("/health")).await.expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    drop(instance);

    url.set_host(Some("127.0.0.1")).expect("host");
    let text = failed_start(&mut server(url.as_str()));
    assert!(text.contains("does not match host name"), "{text}");
}

#[rocket::async_test]
async fn secrets_from_the_environment_keep_their_exact_characters() {
    // Both look like numbers to figment's `Env` (which read them as 123456789 and as a number
    // without its leading zeros).
    const PASSWORD: &str = "00123456789";
    const SECRET: &str = "00123456789012345678901234567890123";
    let db = TestDb::new();
    let server = Instance::spawn(
        server(&db.url)
            .env("ROCKET_ADMIN_PASSWORD", PASSWORD)
            .env("ROCKET_JWT_SECRET", SECRET),
    );
    let http = reqwest::Client::new();
    let login = http
        .post(server.url("/authenticate"))
        .json(&serde_json::json!({ "username": ADMIN, "password": PASSWORD }))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::OK, "{}", server.log());
    let signed = crate::helpers::forge_with(
        &claims("alice", "user"),
        jsonwebtoken::Algorithm::HS256,
        SECRET.as_bytes(),
    );
    let me = http
        .get(server.url("/api/me"))
        .bearer_auth(signed)
        .send()
        .await
        .expect("me");
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "a token signed with the exact text of ROCKET_JWT_SECRET verifies"
    );
}

#[cfg(unix)]
#[test]
fn a_secret_that_is_not_utf8_stops_start_up_naming_it() {
    use std::os::unix::ffi::OsStrExt;
    let db = TestDb::sqlite();
    let text = failed_start(server(&db.url).env(
        "ROCKET_ADMIN_PASSWORD",
        std::ffi::OsStr::from_bytes(b"admin-pass\xffword"),
    ));
    assert!(
        text.contains("ROCKET_ADMIN_PASSWORD must be UTF-8"),
        "{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[rocket::async_test]
async fn start_up_stops_when_the_admin_username_belongs_to_a_plain_user() {
    let db = TestDb::new();
    {
        let first = Instance::start(&db.url);
        let signed_up = reqwest::Client::new()
            .post(first.url("/api/users"))
            .json(&serde_json::json!({ "username": "boss", "password": "boss-password" }))
            .send()
            .await
            .expect("sign up");
        assert_eq!(signed_up.status(), StatusCode::CREATED);
    }
    let text = failed_start(server(&db.url).env("ROCKET_ADMIN_USERNAME", "boss"));
    assert!(
        text.contains("admin_username `boss` names an existing user who is not an admin"),
        "{text}"
    );
    assert!(text.contains("PATCH /api/users/boss"), "{text}");

    // An existing admin is kept as it is: a changed admin_password is not applied.
    let again = Instance::spawn(server(&db.url).env("ROCKET_ADMIN_PASSWORD", "another-password"));
    let http = reqwest::Client::new();
    for (password, status) in [
        (ADMIN_PASSWORD, StatusCode::OK),
        ("another-password", StatusCode::UNAUTHORIZED),
    ] {
        let login = http
            .post(again.url("/authenticate"))
            .json(&serde_json::json!({ "username": ADMIN, "password": password }))
            .send()
            .await
            .expect("login");
        assert_eq!(login.status(), status, "{password}");
    }
}

#[rocket::async_test]
async fn no_log_line_holds_a_requests_path_or_query_and_pages_raise_no_shield_warning() {
    for level in ["critical", "normal"] {
        let db = TestDb::new();
        let server = Instance::spawn(server(&db.url).env("ROCKET_LOG_LEVEL", level));
        let http = reqwest::Client::new();
        for path in ["/nope?access_token=leaked-0123456789", "/", "/admin"] {
            let res = http.get(server.url(path)).send().await.expect("request");
            assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
        }
        let logged = http
            .get(server.url("/api/me?access_token=leaked-0123456789"))
            .send()
            .await
            .expect("me");
        assert_eq!(logged.status(), StatusCode::UNAUTHORIZED);
        // The request lines are written after the answers: wait for the last one.
        let deadline = Instant::now() + Duration::from_secs(10);
        while level == "normal" && !server.log().contains("/api/me") && Instant::now() < deadline {
            rocket::tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = server.log();
        for leaked in [
            "leaked-0123456789",
            "access_token",
            "/nope",
            "Shield",
            "overwrite",
        ] {
            assert!(
                !log.contains(leaked),
                "{level}: the log holds `{leaked}`: {log}"
            );
        }
    }
}
