//! Queries on `audit_events`.
//!
//! Rows are only ever added (inside the transaction of the change they record), counted up
//! (throttled attempts, one row per key and minute) or purged by age. Pages are taken by id,
//! newest first: an id is never reused (`AUTOINCREMENT` on SQLite, a sequence on PostgreSQL).

use diesel::prelude::*;
use diesel::upsert::{excluded, DecoratableTarget};
use time::PrimitiveDateTime;

use super::schema::audit_events;
use super::users::lower_nullable;
use super::DbConnection;

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: i64,
    pub at: PrimitiveDateTime,
    pub kind: String,
    pub actor: String,
    pub username: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
    pub count: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewEvent {
    pub at: PrimitiveDateTime,
    pub kind: String,
    pub actor: String,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
    pub count: i64,
    pub dedup: Option<String>,
}

pub fn insert(conn: &mut DbConnection, event: &NewEvent) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(event)
        .execute(conn)
        .map(drop)
}

/// Adds counted rows: a row whose `dedup` key exists has its count raised instead. Called in
/// a write transaction.
pub fn add_counted(conn: &mut DbConnection, events: &[NewEvent]) -> QueryResult<()> {
    let count = audit_events::count;
    for event in events {
        let insert = diesel::insert_into(audit_events::table).values(event);
        match conn {
            // The unique index on `dedup` is partial, and diesel cannot name its predicate in
            // SQLite's upsert target. SQLite has one writer at a time: inside the transaction,
            // a raise and an insert when nothing was raised do the same.
            DbConnection::Sqlite(c) => {
                let same_key = audit_events::table.filter(audit_events::dedup.eq(&event.dedup));
                let raised = diesel::update(same_key)
                    .set(count.eq(count + event.count))
                    .execute(c)?;
                if raised == 0 {
                    insert.execute(c)?;
                }
            }
            DbConnection::Pg(c) => insert
                .on_conflict(audit_events::dedup)
                .filter_target(audit_events::dedup.is_not_null())
                .do_update()
                .set(count.eq(count + excluded(count)))
                .execute(c)
                .map(drop)?,
        };
    }
    Ok(())
}

/// Which events a listing selects.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub kinds: Vec<String>,
    pub since: Option<PrimitiveDateTime>,
    pub until: Option<PrimitiveDateTime>,
    /// Only ids below this one (the `next` of the previous page).
    pub before: Option<i64>,
}

/// Up to `limit` events of `filter`, newest (highest id) first.
pub fn page(conn: &mut DbConnection, filter: &Filter, limit: i64) -> QueryResult<Vec<EventRow>> {
    let mut query = audit_events::table
        .select(EventRow::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(name) = &filter.username {
        // Whatever the case it is typed in, as account names are matched everywhere.
        query = query.filter(lower_nullable(audit_events::username).eq(name.to_ascii_lowercase()));
    }
    if let Some(id) = &filter.user_id {
        query = query.filter(audit_events::user_id.eq(id));
    }
    if !filter.kinds.is_empty() {
        query = query.filter(audit_events::kind.eq_any(&filter.kinds));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::at.ge(since));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_events::at.lt(until));
    }
    if let Some(before) = filter.before {
        query = query.filter(audit_events::id.lt(before));
    }
    query.load(conn)
}

/// Deletes up to `batch` events older than `cutoff` per statement until none is left; returns
/// how many went. Each statement is short, so requests' writes interleave with a long purge.
pub fn purge(conn: &mut DbConnection, cutoff: PrimitiveDateTime, batch: i64) -> QueryResult<usize> {
    let mut purged = 0;
    loop {
        let ids: Vec<i64> = audit_events::table
            .filter(audit_events::at.lt(cutoff))
            .select(audit_events::id)
            .order(audit_events::id.asc())
            .limit(batch)
            .load(conn)?;
        let done = (ids.len() as i64) < batch;
        purged += diesel::delete(audit_events::table.filter(audit_events::id.eq_any(&ids)))
            .execute(conn)?;
        if done {
            return Ok(purged);
        }
    }
}
