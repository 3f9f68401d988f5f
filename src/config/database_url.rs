//! `database_url`: which backend, where, and how to name it without its password.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use super::ConfigError;

/// A database location, parsed from `database_url`. Its `Debug` and `Display` never show a
/// password, so it can go into any log line or error message.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file, created with its folder at start.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URI, shared by every instance.
    Postgres(PostgresUrl),
}

/// A `postgres://` URI with a connect timeout, and its password-free description.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    uri: String,
    shown: String,
}

/// libpq settings added to a PostgreSQL URL that does not set them: give up connecting after
/// 5 s, and drop a connection whose packets go unacknowledged for 5 s (a server that vanished
/// without a reset), so that the guard answers 503 in seconds rather than hanging on TCP.
const PG_DEFAULT_PARAMS: [(&str, &str); 3] = [
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "5000"),
    ("keepalives_idle", "30"),
];

impl DatabaseUrl {
    /// Accepts `postgres://…` / `postgresql://…`, and for SQLite `sqlite://relative/path`,
    /// `sqlite:///absolute/path` and a plain path.
    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return PostgresUrl::parse(raw).map(Self::Postgres);
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path == ":memory:" || path.contains("mode=memory") {
            return Err(ConfigError(format!(
                "database_url `{raw}` must name a SQLite file: an in-memory database would give every pooled connection its own blacklist"
            )));
        }
        if path.contains("://") {
            return Err(ConfigError(
                "database_url must start with sqlite:// or postgres:// (or be a file path)".into(),
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl PostgresUrl {
    fn parse(raw: &str) -> Result<Self, ConfigError> {
        let (url, hosts) = parse_one_host(raw).map_err(|e| {
            ConfigError(format!("database_url is not a valid postgres:// URL ({e})"))
        })?;
        let place = match &hosts {
            Some(hosts) => hosts.clone(),
            None => format!(
                "{}:{}",
                url.host_str().unwrap_or("localhost"),
                url.port().unwrap_or(5432)
            ),
        };
        let db = url.path().trim_start_matches('/').to_owned();
        let user = url.username().to_owned();
        let mut pg = Self {
            uri: raw.to_owned(),
            shown: String::new(),
        };
        for (key, value) in PG_DEFAULT_PARAMS {
            pg.uri = pg.with_param(key, value);
        }
        let db_shown = if db.is_empty() {
            format!("(default for user {user})")
        } else {
            db
        };
        pg.shown = format!("postgres database {db_shown} on {place}");
        Ok(pg)
    }

    /// The full URI with `key=value` added unless it sets `key` already: for libpq only, never
    /// for a message (the password is in it).
    pub fn with_param(&self, key: &str, value: &str) -> String {
        let Ok((mut url, hosts)) = parse_one_host(&self.uri) else {
            return self.uri.clone();
        };
        if !url.query_pairs().any(|(k, _)| k == key) {
            url.query_pairs_mut().append_pair(key, value);
        }
        with_hosts(url.to_string(), hosts.as_deref())
    }

    /// The full URI, password included: for libpq only, never for a message.
    pub fn expose(&self) -> &str {
        &self.uri
    }

    /// The full URI with its password, in the user part or a `password` parameter, shown as
    /// `<set>`: what `check-config` prints, so that an operator sees every other part as libpq
    /// gets it (the timeouts added above included).
    pub fn redacted(&self) -> String {
        let Ok((mut url, hosts)) = parse_one_host(&self.uri) else {
            return self.shown.clone();
        };
        let had_password = url.password().is_some();
        let query = url.query().map(|query| {
            let pairs: Vec<&str> = query
                .split('&')
                .map(|pair| {
                    let key = url::form_urlencoded::parse(pair.as_bytes()).next();
                    match key {
                        Some((key, _)) if key == "password" => "password=<set>",
                        _ => pair,
                    }
                })
                .collect();
            pairs.join("&")
        });
        if url.set_password(None).is_err() {
            return self.shown.clone();
        }
        url.set_query(None);
        let mut text = with_hosts(url.to_string(), hosts.as_deref());
        if had_password {
            let at = url.scheme().len() + "://".len() + url.username().len();
            let hidden = if url.username().is_empty() {
                ":<set>@"
            } else {
                ":<set>"
            };
            text.insert_str(at, hidden);
        }
        if let Some(query) = query {
            text.push('?');
            text.push_str(&query);
        }
        text
    }
}

/// Stands in for a list of hosts while the url crate reads the rest of a URI.
const HOSTS_PLACEHOLDER: &str = "several-hosts.invalid";

/// Where the hosts of a `postgres://` URI lie: after `://` and the user part, before the path,
/// query or fragment.
fn host_span(uri: &str) -> Option<Range<usize>> {
    let start = uri.find("://")? + "://".len();
    let end = uri[start..]
        .find(['/', '?', '#'])
        .map_or(uri.len(), |i| start + i);
    let hosts = uri[start..end].rfind('@').map_or(start, |i| start + i + 1);
    Some(hosts..end)
}

/// Parses a URI with the url crate. libpq takes several `host:port` pairs separated by commas
/// (it tries them in turn; with `target_session_attrs=read-write` it passes over a standby, so
/// that a failover needs no new configuration), which the url crate refuses as a bad port: such
/// a list is set aside, a placeholder host parsed in its place, and the list returned.
fn parse_one_host(uri: &str) -> Result<(url::Url, Option<String>), url::ParseError> {
    match host_span(uri) {
        Some(span) if uri[span.clone()].contains(',') => {
            let hosts = uri[span.clone()].to_owned();
            let mut one = uri.to_owned();
            one.replace_range(span, HOSTS_PLACEHOLDER);
            Ok((url::Url::parse(&one)?, Some(hosts)))
        }
        _ => Ok((url::Url::parse(uri)?, None)),
    }
}

/// Puts a list of hosts set aside by [`parse_one_host`] back in place of the placeholder.
fn with_hosts(mut text: String, hosts: Option<&str>) -> String {
    if let (Some(hosts), Some(span)) = (hosts, host_span(&text)) {
        if text[span.clone()] == *HOSTS_PLACEHOLDER {
            text.replace_range(span, hosts);
        }
    }
    text
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite file {}", path.display()),
            Self::Postgres(pg) => f.write_str(&pg.shown),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_accept_relative_absolute_and_plain_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").ok(),
            Some(DatabaseUrl::Sqlite("data/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").ok(),
            Some(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("x.db").ok(),
            Some(DatabaseUrl::Sqlite("x.db".into()))
        );
    }

    #[test]
    fn a_postgres_url_is_described_without_its_password_and_gets_a_connect_timeout() {
        let url =
            DatabaseUrl::parse("postgres://app:hunter2@db.internal:6543/sessions").expect("valid");
        let shown = format!("{url} {url:?}");
        assert!(
            shown.contains("db.internal:6543") && shown.contains("sessions"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        let DatabaseUrl::Postgres(pg) = url else {
            panic!("not postgres")
        };
        assert!(pg.expose().contains("connect_timeout=5"));
        let kept = DatabaseUrl::parse("postgresql://h/d?connect_timeout=1").expect("valid");
        assert!(
            matches!(kept, DatabaseUrl::Postgres(pg) if pg.expose().contains("connect_timeout=1") && !pg.expose().contains("connect_timeout=5"))
        );
    }

    #[test]
    fn the_redacted_uri_hides_every_password_and_keeps_the_rest() {
        let redacted = |raw: &str| match DatabaseUrl::parse(raw) {
            Ok(DatabaseUrl::Postgres(pg)) => pg.redacted(),
            other => panic!("not postgres: {other:?}"),
        };
        let shown = redacted("postgres://app:hunter2@db.internal:6543/sessions?sslmode=require");
        assert!(
            shown.starts_with("postgres://app:<set>@db.internal:6543/sessions?sslmode=require&"),
            "{shown}"
        );
        assert!(shown.contains("connect_timeout=5"), "{shown}");
        let shown = redacted("postgresql://:hunter2@h/d?password=hunter3&user=app");
        assert!(shown.starts_with("postgresql://:<set>@h/d?"), "{shown}");
        assert!(shown.contains("password=<set>&user=app"), "{shown}");
        assert!(!shown.contains("hunter"), "{shown}");
        let shown = redacted("postgres://app@h/d");
        assert!(shown.starts_with("postgres://app@h/d?"), "{shown}");
        assert!(!shown.contains("<set>"), "{shown}");
    }

    #[test]
    fn a_postgres_url_with_several_hosts_keeps_them_all_for_libpq() {
        let raw = "postgres://app:hunter2@10.0.0.1:5433,10.0.0.2:5434/sessions?target_session_attrs=read-write";
        let Ok(DatabaseUrl::Postgres(pg)) = DatabaseUrl::parse(raw) else {
            panic!("refused: {raw}")
        };
        assert!(
            pg.expose().starts_with(
                "postgres://app:hunter2@10.0.0.1:5433,10.0.0.2:5434/sessions?target_session_attrs=read-write&"
            ),
            "{}",
            pg.expose()
        );
        assert!(pg.expose().contains("connect_timeout=5"), "{}", pg.expose());
        let listener = pg.with_param("application_name", "listener");
        assert!(
            listener.starts_with("postgres://app:hunter2@10.0.0.1:5433,10.0.0.2:5434/sessions?")
                && listener.ends_with("&application_name=listener"),
            "{listener}"
        );
        let shown = format!("{}", DatabaseUrl::Postgres(pg.clone()));
        assert_eq!(
            shown,
            "postgres database sessions on 10.0.0.1:5433,10.0.0.2:5434"
        );
        let redacted = pg.redacted();
        assert!(
            redacted.starts_with("postgres://app:<set>@10.0.0.1:5433,10.0.0.2:5434/sessions?"),
            "{redacted}"
        );
        assert!(!redacted.contains("hunter2"), "{redacted}");
    }

    #[test]
    fn an_unknown_scheme_is_refused() {
        assert!(DatabaseUrl::parse("mysql://localhost/x").is_err());
    }

    #[test]
    fn an_in_memory_sqlite_database_is_refused() {
        assert!(DatabaseUrl::parse(":memory:").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
