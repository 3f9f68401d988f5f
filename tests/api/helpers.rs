//! `TestApp`: a server on a fresh database per test, with one method per endpoint, and token
//! forging with the test secret.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_blacklist::app::App;
use jwt_blacklist::db::{blacklist, to_db_time, Db};
use rocket::figment::Figment;
use rocket::http::{ContentType, Cookie, Header as HttpHeader, Status};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
use rocket::serde::json::{serde_json, Value};
use rocket::{Build, Rocket};
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

pub const TEST_SECRET: &str = "integration-test-secret-0123456789abcdef";
pub const ISSUER: &str = "jwt-blacklist-test";
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-123";

/// The PostgreSQL server the suite runs on when this variable is set (any database on it: each
/// test creates its own and drops it afterwards); unset, the suite runs on SQLite.
pub const POSTGRES_ENV: &str = "TEST_POSTGRES_URL";

pub fn postgres_base_url() -> Option<String> {
    std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())
}

/// A database for one test (or for servers that must share it), removed afterwards.
pub struct TestDb {
    pub url: String,
    backend: Backend,
}

enum Backend {
    Sqlite(
        #[expect(dead_code, reason = "held so the folder lives as long as the database")]
        tempfile::TempDir,
    ),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another handle on a database that some other `TestDb` owns and removes.
    Alias,
}

impl TestDb {
    /// A fresh database on the backend the suite runs on.
    pub fn new() -> Self {
        match postgres_base_url() {
            Some(base) => Self::postgres(&base),
            None => Self::sqlite(),
        }
    }

    /// The same database, for a second server; the original removes it.
    pub fn alias(&self) -> Self {
        Self {
            url: self.url.clone(),
            backend: Backend::Alias,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
        Self {
            url,
            backend: Backend::Sqlite(dir),
        }
    }

    pub fn postgres(base: &str) -> Self {
        use diesel::{Connection, RunQueryDsl};
        let name = format!("jwtbl_test_{}", Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(base)
            .expect("TEST_POSTGRES_URL must reach a PostgreSQL server");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let mut url = url::Url::parse(base).expect("TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        Self {
            url: url.to_string(),
            backend: Backend::Postgres {
                admin_url: base.to_owned(),
                name,
            },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        use diesel::{Connection, RunQueryDsl};
        if let Backend::Postgres { admin_url, name } = &self.backend {
            if let Ok(mut admin) = diesel::PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// The settings every test starts from.
pub fn figment(db: &TestDb) -> Figment {
    keyless_figment(db).merge(("jwt_secret", TEST_SECRET))
}

/// The same without a signing key, for tests that configure `signing_keys`.
pub fn keyless_figment(db: &TestDb) -> Figment {
    jwt_blacklist::config::figment()
        .merge(("database_url", db.url.clone()))
        .merge(("jwt_issuer", ISSUER))
        .merge(("admin_username", ADMIN))
        .merge(("admin_password", ADMIN_PASSWORD))
        .merge(("log_level", "off"))
}

pub struct TestApp {
    pub client: Client,
    pub db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|f| f).await
    }

    pub async fn spawn_with(configure: impl FnOnce(Figment) -> Figment) -> Self {
        Self::spawn_on(TestDb::new(), configure).await
    }

    pub async fn spawn_on(db: TestDb, configure: impl FnOnce(Figment) -> Figment) -> Self {
        Self::spawn_rocket(db, |db| jwt_blacklist::rocket_from(configure(figment(db)))).await
    }

    pub async fn spawn_rocket(db: TestDb, build: impl FnOnce(&TestDb) -> Rocket<Build>) -> Self {
        let client = Client::untracked(build(&db))
            .await
            .expect("the server ignites");
        Self { client, db }
    }

    /// The server's own pool, for arranging rows and breaking things.
    pub fn pool(&self) -> &Db {
        &self
            .client
            .rocket()
            .state::<App>()
            .expect("App is managed")
            .db
    }

    pub fn post_json<'c>(&'c self, uri: &'c str, body: Value) -> LocalRequest<'c> {
        self.client
            .post(uri)
            .header(ContentType::JSON)
            .body(body.to_string())
    }

    pub async fn sign_up(&self, username: &str, password: &str) -> LocalResponse<'_> {
        self.post_json(
            "/api/users",
            json!({ "username": username, "password": password }),
        )
        .dispatch()
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> LocalResponse<'_> {
        self.post_json(
            "/authenticate",
            json!({ "username": username, "password": password }),
        )
        .dispatch()
        .await
    }

    /// Logs in as a client at `remote` (the address the throttle counts).
    pub async fn login_from(
        &self,
        remote: std::net::SocketAddr,
        username: &str,
        password: &str,
    ) -> LocalResponse<'_> {
        self.post_json(
            "/authenticate",
            json!({ "username": username, "password": password }),
        )
        .remote(remote)
        .dispatch()
        .await
    }

    /// Makes every blacklist query fail from now on, as a broken or lost database would.
    pub async fn break_the_blacklist_table(&self) {
        use diesel::RunQueryDsl;
        self.pool()
            .run(|conn| diesel::sql_query("DROP TABLE blacklist").execute(conn))
            .await
            .expect("drop table");
    }

    /// Signs up (if needed) and logs in; returns the `jwt` cookie's value.
    pub async fn user_token(&self, username: &str) -> String {
        let password = format!("{username}-password");
        let _ = self.sign_up(username, &password).await;
        let res = self.login(username, &password).await;
        assert_eq!(res.status(), Status::Ok);
        jwt_cookie(&res).expect("login sets the jwt cookie")
    }

    /// Signs up (if needed) and logs in; returns the `jwt` and `refresh` cookies' values.
    pub async fn user_session(&self, username: &str) -> (String, String) {
        let password = format!("{username}-password");
        let _ = self.sign_up(username, &password).await;
        let res = self.login(username, &password).await;
        assert_eq!(res.status(), Status::Ok);
        let jwt = jwt_cookie(&res).expect("login sets the jwt cookie");
        let refresh = refresh_cookie(&res).expect("login sets the refresh cookie");
        (jwt, refresh)
    }

    /// `POST /refresh` with `refresh` as the refresh cookie.
    pub async fn refresh(&self, refresh: &str) -> LocalResponse<'_> {
        self.client
            .post("/refresh")
            .cookie(Cookie::new("refresh", refresh.to_owned()))
            .dispatch()
            .await
    }

    /// A request with the `jwt` cookie, for any method and path.
    pub async fn authed(
        &self,
        method: rocket::http::Method,
        uri: &str,
        token: &str,
    ) -> LocalResponse<'_> {
        self.with_cookie(self.client.req(method, uri.to_owned()), token)
            .dispatch()
            .await
    }

    pub async fn admin_token(&self) -> String {
        let res = self.login(ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(res.status(), Status::Ok);
        jwt_cookie(&res).expect("login sets the jwt cookie")
    }

    pub fn with_cookie<'c>(&'c self, req: LocalRequest<'c>, token: &str) -> LocalRequest<'c> {
        req.cookie(Cookie::new("jwt", token.to_owned()))
    }

    pub async fn me(&self, token: &str) -> LocalResponse<'_> {
        self.with_cookie(self.client.get("/api/me"), token)
            .dispatch()
            .await
    }

    pub async fn me_bearer(&self, token: &str) -> LocalResponse<'_> {
        self.client
            .get("/api/me")
            .header(HttpHeader::new("Authorization", format!("Bearer {token}")))
            .dispatch()
            .await
    }

    pub async fn logout(&self, token: Option<&str>) -> LocalResponse<'_> {
        let req = self.client.post("/blacklist/logout");
        match token {
            Some(t) => self.with_cookie(req, t).dispatch().await,
            None => req.dispatch().await,
        }
    }

    pub async fn blacklist(&self, token: &str, uri: &str) -> LocalResponse<'_> {
        self.with_cookie(self.client.get(uri.to_owned()), token)
            .dispatch()
            .await
    }

    pub async fn purge(&self, token: &str) -> LocalResponse<'_> {
        self.with_cookie(self.client.post("/blacklist/purge"), token)
            .dispatch()
            .await
    }

    /// Inserts a blacklist row directly, expiring `expires_in` seconds from now (negative: past).
    pub async fn insert_row(&self, expires_in: i64) -> String {
        let jti = Uuid::new_v4().to_string();
        self.insert_row_for(&jti, expires_in).await;
        jti
    }

    /// Inserts a blacklist row for `jti` directly, behind the server's back.
    pub async fn insert_row_for(&self, jti: &str, expires_in: i64) {
        let jti = jti.to_owned();
        let now = OffsetDateTime::now_utc();
        let entry = blacklist::Entry {
            jti,
            username: "someone".into(),
            expires_at: to_db_time(now + time::Duration::seconds(expires_in)),
            blacklisted_at: to_db_time(now),
        };
        self.pool()
            .run(move |conn| blacklist::insert_ignore(conn, &entry))
            .await
            .expect("insert row");
    }

    pub async fn row_exists(&self, jti: &str) -> bool {
        let jti = jti.to_owned();
        self.pool()
            .run(move |conn| blacklist::contains(conn, &jti))
            .await
            .expect("query")
    }

    pub async fn row_count(&self) -> i64 {
        self.pool()
            .run(|conn| blacklist::page(conn, 1, 0).map(|(_, total)| total))
            .await
            .expect("count")
    }
}

/// The value of the `jwt` cookie a response sets, if any.
pub fn jwt_cookie(res: &LocalResponse<'_>) -> Option<String> {
    res.cookies().get("jwt").map(|c| c.value().to_owned())
}

/// The value of the `refresh` cookie a response sets, if any (empty when it clears it).
pub fn refresh_cookie(res: &LocalResponse<'_>) -> Option<String> {
    res.cookies().get("refresh").map(|c| c.value().to_owned())
}

/// Every `Set-Cookie` header of a response.
pub fn set_cookies(res: &LocalResponse<'_>) -> Vec<String> {
    res.headers().get("Set-Cookie").map(str::to_owned).collect()
}

pub async fn json_body(res: LocalResponse<'_>) -> Value {
    let text = res.into_string().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

/// Asserts the error envelope and returns its code.
pub async fn error_code(res: LocalResponse<'_>, status: Status) -> String {
    assert_eq!(res.status(), status);
    assert_eq!(res.content_type(), Some(ContentType::JSON));
    let body = json_body(res).await;
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message: {body}"
    );
    assert_eq!(
        body.as_object().map(|o| o.len()),
        Some(2),
        "extra fields: {body}"
    );
    body["error"].as_str().expect("error code").to_owned()
}

/// Valid claims for `sub`, expiring in an hour, as the server issues them (a time-ordered
/// `jti`, a session id); tests change fields to break them.
pub fn claims(sub: &str, role: &str) -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({
        "sub": sub, "role": role, "jti": Uuid::now_v7().to_string(),
        "sid": Uuid::new_v4().to_string(), "uid": Uuid::new_v4().to_string(),
        "iat": now, "exp": now + 3600, "iss": ISSUER,
    })
}

pub fn forge(claims: &Value) -> String {
    forge_with(claims, Algorithm::HS256, TEST_SECRET.as_bytes())
}

/// A token signed with `secret`, its header naming the key id that `jwt_secret = secret` has.
pub fn forge_with(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    let kid = jwt_blacklist::config::derived_kid(secret);
    forge_kid(claims, alg, secret, Some(&kid))
}

/// A token signed with `secret` whose header names `kid` (or none).
pub fn forge_kid(claims: &Value, alg: Algorithm, secret: &[u8], kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("encode")
}

/// The key id of the test servers' `jwt_secret`.
pub fn test_kid() -> String {
    jwt_blacklist::config::derived_kid(TEST_SECRET.as_bytes())
}

/// Polls `check` until it holds or `secs` pass; returns whether it held.
pub async fn eventually<F, Fut>(secs: u64, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Whether the server refuses to ignite (marking Rocket's error as handled, or it panics on drop).
pub async fn fails_to_start(rocket: Rocket<Build>) -> bool {
    match Client::untracked(rocket).await {
        Ok(_) => false,
        Err(e) => {
            let _ = e.kind();
            true
        }
    }
}

/// The claims of a token, read without verifying it.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
