//! Throttled attempts, counted rather than listed.
//!
//! A refused (429) login writes nothing on its own: it is counted here under (client, name,
//! minute), and a scheduled flush adds the counts to one `login.throttled` row per key (an
//! upsert on the row's `dedup` key, so instances sharing a database add to the same row). A
//! flood costs one map entry per key in memory and one row per key and minute in the table,
//! whatever its rate; past [`MAX_KEYS`] distinct keys in one flush interval, the rest are counted
//! together under one key, so memory stays bounded too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Actor, Event, Kind, Source};
use crate::db::audit_events::{self, NewEvent};
use crate::db::{Db, DbError};

/// Distinct (client, name) keys counted between two flushes before the rest are pooled.
pub const MAX_KEYS: usize = 4096;

/// The name and client of the pooled key.
const OVERFLOW: &str = "*";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    client: String,
    username: String,
    minute: i64,
}

#[derive(Debug)]
struct Pending {
    count: i64,
    limit: &'static str,
    ip: Option<IpAddr>,
    first_at: OffsetDateTime,
}

/// Throttled attempts not yet written.
#[derive(Debug, Default)]
pub struct Floods {
    pending: Mutex<HashMap<Key, Pending>>,
}

impl Floods {
    /// Counts one refused attempt on `username` (as typed, lowercased; empty for a name that
    /// cannot exist) from `ip`, refused by `limit`.
    pub fn note(
        &self,
        ip: Option<IpAddr>,
        username: &str,
        limit: &'static str,
        now: OffsetDateTime,
    ) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        let mut key = Key {
            client: ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
            username: username.to_owned(),
            minute: now.unix_timestamp().div_euclid(60),
        };
        if pending.len() >= MAX_KEYS && !pending.contains_key(&key) {
            key.client = OVERFLOW.to_owned();
            key.username = OVERFLOW.to_owned();
        }
        let entry = pending.entry(key).or_insert(Pending {
            count: 0,
            limit,
            ip,
            first_at: now,
        });
        entry.count += 1;
    }

    /// Takes what was counted, as rows to add.
    pub fn drain(&self) -> Vec<NewEvent> {
        let taken = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut *pending),
            Err(_) => return Vec::new(),
        };
        taken
            .into_iter()
            .map(|(key, pending)| {
                let overflow = key.client == OVERFLOW;
                let mut event = Event::new(
                    Kind::LoginThrottled,
                    Actor::System,
                    Source {
                        ip: pending.ip.filter(|_| !overflow),
                        user_agent: None,
                    },
                )
                .with("limit", pending.limit);
                if overflow {
                    event = event.with("pooled", Value::Bool(true));
                } else if !key.username.is_empty() {
                    event.username = Some(key.username.clone());
                }
                let mut row = event.row(pending.first_at);
                row.count = pending.count;
                row.dedup = Some(format!(
                    "{}|{}|{}|{}",
                    Kind::LoginThrottled.as_str(),
                    key.client,
                    key.username,
                    key.minute
                ));
                row
            })
            .collect()
    }

    /// Writes what was counted; returns how many rows it added to. On a failure the counts are
    /// lost (and logged): an audit row is never worth blocking logins for.
    pub async fn flush(&self, db: &Db) -> Result<usize, DbError> {
        let rows = self.drain();
        if rows.is_empty() {
            return Ok(0);
        }
        let attempts: i64 = rows.iter().map(|r| r.count).sum();
        let written = rows.len();
        db.run(move |conn| {
            crate::db::write_transaction(conn, |c| audit_events::add_counted(c, &rows))
        })
        .await
        .inspect_err(|e| {
            log::error!("{attempts} throttled attempts could not be recorded: {e}");
        })?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_one_row_per_client_name_and_minute() {
        let floods = Floods::default();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        let ip: IpAddr = "192.0.2.1".parse().expect("an address");
        for _ in 0..1000 {
            floods.note(Some(ip), "ann", "failures", now);
        }
        floods.note(Some(ip), "bob", "failures", now);
        let mut rows = floods.drain();
        rows.sort_by_key(|r| r.count);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].count, 1000);
        assert_eq!(rows[1].username.as_deref(), Some("ann"));
        assert!(floods.drain().is_empty(), "drained once");
    }

    #[test]
    fn past_the_key_cap_attempts_are_pooled_not_kept() {
        let floods = Floods::default();
        let now = OffsetDateTime::now_utc();
        for i in 0..(MAX_KEYS + 500) {
            floods.note(None, &format!("user{i}"), "logins", now);
        }
        let rows = floods.drain();
        assert_eq!(rows.len(), MAX_KEYS + 1);
        let pooled: i64 = rows
            .iter()
            .filter(|r| r.username.is_none())
            .map(|r| r.count)
            .sum();
        assert_eq!(pooled, 500);
    }
}
