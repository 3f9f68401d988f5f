//! The readiness probe's write: one row, rewritten, so that `GET /health` fails while the
//! database can be read but refuses writes (a full or read-only disk), where logins and
//! logouts fail too.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::schema::health_probe;
use super::{to_db_time, write_transaction, Db, DbConnection, DbError};

/// How long a probe's verdict stands: `/health` writes at most once per this, and sees a change
/// (writes failing, or working again) within it plus one probe.
const EVERY: Duration = Duration::from_secs(1);

/// The latest write probe: when, and whether the database took the write.
#[derive(Default)]
pub struct WriteProbe {
    last: Mutex<Option<(Instant, bool)>>,
}

impl WriteProbe {
    /// `Ok` when the database took a write within the last [`EVERY`], else commits one now.
    pub async fn check(&self, db: &Db) -> Result<(), DbError> {
        let now = Instant::now();
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        match last {
            Some((at, true)) if now.duration_since(at) < EVERY => return Ok(()),
            Some((at, false)) if now.duration_since(at) < EVERY => {
                return Err(DbError::Unavailable("the database refuses writes".into()))
            }
            _ => {}
        }
        let written = db
            .run(|conn| write(conn, to_db_time(OffsetDateTime::now_utc())))
            .await;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, written.is_ok()));
        if let Err(e) = &written {
            log::warn!("readiness: the database refuses writes: {e}");
        }
        written
    }
}

/// Commits one small write; `Err` when the database refuses it.
pub fn write(conn: &mut DbConnection, now: PrimitiveDateTime) -> QueryResult<()> {
    write_transaction(conn, |conn| {
        let updated = diesel::update(health_probe::table.filter(health_probe::id.eq(1)))
            .set(health_probe::written_at.eq(now))
            .execute(conn)?;
        if updated == 0 {
            // Someone removed the row: an update of nothing would write nothing.
            diesel::insert_into(health_probe::table)
                .values((health_probe::id.eq(1), health_probe::written_at.eq(now)))
                .execute(conn)?;
        }
        Ok(())
    })
}
