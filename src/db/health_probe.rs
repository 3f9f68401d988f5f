//! The readiness probe's write: one row, rewritten, so that `GET /health` fails while the
//! database can be read but refuses writes (a full or read-only disk), where logins and
//! logouts fail too.

use diesel::prelude::*;
use time::PrimitiveDateTime;

use super::schema::health_probe;
use super::{write_transaction, DbConnection};

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
