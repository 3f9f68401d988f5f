//! Sessions past their end: left alone past `session_idle_timeout`, or past their absolute
//! lifetime. Nothing rotates their refresh tokens any more (each rotation set their expiry to
//! the earliest end, see `crate::auth::lifetime`), so they are over already; the purge ends
//! them here, each with a `session.expired` event, so that the table and the lists stay bounded
//! and the trail says why they went.

use time::OffsetDateTime;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::Revocation;
use crate::audit::{Actor, Event, Kind, Source};
use crate::db::{sessions_over, to_db_time, DbError};

/// At most this many batches per run: a run stays short, the next one goes on.
const MAX_BATCHES: usize = 100;

/// Sessions ended together: submitted at once, they share the writer's group commits.
const IN_FLIGHT: usize = 64;

impl Revocation {
    /// Ends the live sessions whose refresh expiry is before `now`, `batch` at a time, through
    /// the writer (the view learns of each, as of any session ended). Returns how many ended.
    pub async fn end_expired(&self, now: OffsetDateTime, batch: i64) -> Result<usize, DbError> {
        let mut ended = 0;
        for _ in 0..MAX_BATCHES {
            let before = to_db_time(now);
            let ids = self
                .db
                .run(move |conn| sessions_over::expired(conn, before, batch))
                .await?;
            for chunk in ids.chunks(IN_FLIGHT) {
                let mut ends = JoinSet::new();
                for id in chunk.iter().filter_map(|id| Uuid::parse_str(id).ok()) {
                    let revocation = self.clone();
                    let event = Event::new(Kind::SessionExpired, Actor::System, Source::default())
                        .session(id);
                    ends.spawn(async move { revocation.end_session(id, None, Some(event)).await });
                }
                while let Some(outcome) = ends.join_next().await {
                    let outcome = outcome.map_err(|e| DbError::Internal(e.to_string()))?;
                    ended += usize::from(outcome?);
                }
            }
            if (ids.len() as i64) < batch {
                break;
            }
        }
        Ok(ended)
    }
}
