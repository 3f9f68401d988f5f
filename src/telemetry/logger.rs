//! The process's logger: one line per record on stdout, as text (`time LEVEL target: message
//! key=value ...`) or, with `log_format = "json"`, as one JSON object per line for log shippers.
//!
//! Installed by `main` before Rocket starts, so Rocket's own records come through it too; Rocket
//! then leaves its logger out. Rocket's `log_level` still sets how much is written: `off`,
//! `critical` (warnings and errors, with the launch line), `normal` (also this server's info
//! lines: one per request, one per purge run), `debug` (everything). Records carry no token,
//! cookie or password: the code never logs them, and request lines name the route's template,
//! never the request's own URI.

use std::io::Write;

use log::kv::{Key, Value, VisitSource};
use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::figment::Figment;
use serde_json::Map;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Records from this crate's modules; other crates' (Rocket's, the scheduler's) get `others`.
const OWN_TARGET: &str = "jwt_blacklist";

pub struct Logger {
    format: LogFormat,
    own: LevelFilter,
    others: LevelFilter,
}

impl Logger {
    /// The logger `figment` asks for (`log_format`, Rocket's `log_level`). A bad value falls
    /// back to the default here; the configuration check then refuses to start, through it.
    pub fn from_figment(figment: &Figment) -> Self {
        let format = figment
            .extract_inner::<String>("log_format")
            .ok()
            .and_then(|f| LogFormat::parse(&f))
            .unwrap_or(LogFormat::Text);
        // Rocket's names for its levels; anything else is refused by Rocket's own check.
        let level = figment
            .extract_inner::<String>("log_level")
            .map(|l| l.to_ascii_lowercase())
            .unwrap_or_default();
        let (own, others) = match level.as_str() {
            "off" => (LevelFilter::Off, LevelFilter::Off),
            "critical" => (LevelFilter::Warn, LevelFilter::Warn),
            "debug" => (LevelFilter::Debug, LevelFilter::Debug),
            _ => (LevelFilter::Info, LevelFilter::Warn),
        };
        Self {
            format,
            own,
            others,
        }
    }

    /// Makes this the process's logger. Fails if one is set already (then that one stays).
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let max = self.own.max(self.others);
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max);
        Ok(())
    }

    /// One record as one line (with its newline).
    pub fn line(&self, record: &Record<'_>, at: OffsetDateTime) -> String {
        let ts = at.format(&Rfc3339).unwrap_or_default();
        let message = strip_ansi(&record.args().to_string());
        match self.format {
            LogFormat::Text => {
                let mut fields = TextFields(String::new());
                let _ = record.key_values().visit(&mut fields);
                format!(
                    "{ts} {:<5} {}: {message}{}\n",
                    record.level(),
                    record.target(),
                    fields.0
                )
            }
            LogFormat::Json => {
                let mut object = Map::new();
                object.insert("ts".into(), ts.into());
                object.insert("level".into(), record.level().as_str().into());
                object.insert("target".into(), record.target().into());
                object.insert("message".into(), message.into());
                let mut fields = JsonFields(&mut object);
                let _ = record.key_values().visit(&mut fields);
                let mut text = serde_json::Value::Object(object).to_string();
                text.push('\n');
                text
            }
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let limit = if metadata.target().starts_with(OWN_TARGET) {
            self.own
        } else {
            self.others
        };
        metadata.level() <= limit
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // Rocket writes the details of a launch and of each request (which guard failed, which
        // catcher answered) as "indented" records, whose target ends in `::_`. The request line
        // already says what happened; the details are kept for debugging.
        if record.target().ends_with("::_")
            && record.level() > Level::Error
            && self.others < LevelFilter::Debug
        {
            return;
        }
        if names_a_request(record) {
            return;
        }
        let line = self.line(record, OffsetDateTime::now_utc());
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

struct TextFields(String);

impl<'kvs> VisitSource<'kvs> for TextFields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        self.0.push_str(&format!(" {key}={value}"));
        Ok(())
    }
}

struct JsonFields<'a>(&'a mut Map<String, serde_json::Value>);

impl<'kvs> VisitSource<'kvs> for JsonFields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let value = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(n) = value.to_i64() {
            n.into()
        } else if let Some(x) = value.to_f64() {
            x.into()
        } else if let Some(b) = value.to_bool() {
            b.into()
        } else {
            value.to_string().into()
        };
        self.0.insert(key.to_string(), value);
        Ok(())
    }
}

/// Rocket colours some words of its messages when it thinks a terminal is watching; a log
/// file or shipper wants the plain text.
/// Whether `record` is one of Rocket's per-request lines that carry the request's path and query
/// as the client sent them ("No matching routes for GET /x?access_token=...", "GET /x:",
/// "Matched: ..."), which may hold a token or other secrets. Our own request line names the
/// route template instead. Rocket's server records of level error that name no request (a
/// handler or catcher that failed) are kept.
fn names_a_request(record: &Record<'_>) -> bool {
    if !record.target().starts_with("rocket::server") {
        return false;
    }
    if record.level() > Level::Error {
        return true;
    }
    let text = record.args().to_string();
    text.starts_with("No matching routes for") || text.contains("salvaged request")
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte (0x40..=0x7e)
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logger(format: LogFormat) -> Logger {
        Logger {
            format,
            own: LevelFilter::Info,
            others: LevelFilter::Warn,
        }
    }

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time")
    }

    #[test]
    fn json_lines_carry_the_fields_as_keys() {
        let kvs: [(&str, Value<'_>); 3] = [
            ("route", Value::from("/api/me")),
            ("status", Value::from(200u16)),
            ("latency_ms", Value::from(0.25f64)),
        ];
        let record = Record::builder()
            .level(Level::Info)
            .target("jwt_blacklist::request")
            .args(format_args!("request"))
            .key_values(&kvs)
            .build();
        let line = logger(LogFormat::Json).line(&record, at());
        assert!(line.ends_with('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).expect("one JSON object");
        assert_eq!(value["route"], "/api/me");
        assert_eq!(value["status"], 200);
        assert_eq!(value["latency_ms"], 0.25);
        assert_eq!(value["level"], "INFO");
        assert_eq!(value["message"], "request");
        assert_eq!(value["ts"], "2027-01-15T08:00:00Z");
    }

    #[test]
    fn text_lines_are_one_line_with_key_values() {
        let kvs: [(&str, Value<'_>); 1] = [("rows", Value::from(3u64))];
        let record = Record::builder()
            .level(Level::Info)
            .target("jwt_blacklist::purge")
            .args(format_args!("purge \u{1b}[1mdone\u{1b}[0m"))
            .key_values(&kvs)
            .build();
        let line = logger(LogFormat::Text).line(&record, at());
        assert_eq!(
            line,
            "2027-01-15T08:00:00Z INFO  jwt_blacklist::purge: purge done rows=3\n"
        );
    }

    #[test]
    fn other_crates_need_a_warning_to_be_written() {
        let logger = logger(LogFormat::Text);
        let meta = |target, level| Metadata::builder().target(target).level(level).build();
        assert!(logger.enabled(&meta("jwt_blacklist::request", Level::Info)));
        assert!(!logger.enabled(&meta("rocket::server", Level::Info)));
        assert!(logger.enabled(&meta("rocket::launch", Level::Warn)));
    }

    #[test]
    fn rockets_lines_that_carry_a_requests_path_are_never_written() {
        let record = |target: &'static str, level, text: std::fmt::Arguments<'_>| {
            names_a_request(
                &Record::builder()
                    .target(target)
                    .level(level)
                    .args(text)
                    .build(),
            )
        };
        let uri = "GET /nope?access_token=secret";
        assert!(record(
            "rocket::server::_",
            Level::Error,
            format_args!("No matching routes for {uri}.")
        ));
        assert!(record(
            "rocket::server",
            Level::Info,
            format_args!("{uri}:")
        ));
        assert!(!record(
            "rocket::server::_",
            Level::Error,
            format_args!("Handler login panicked.")
        ));
        assert!(!record(
            "jwt_blacklist::request",
            Level::Info,
            format_args!("{uri}")
        ));
    }
}
