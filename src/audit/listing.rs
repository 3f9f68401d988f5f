//! Reading the trail: pages for `GET /audit` and `GET /api/events`, and the export, which
//! walks the same selection a page at a time so that its memory does not grow with its size.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::db::audit_events::{self, EventRow, Filter};
use crate::db::{from_db_time, Db, DbError};

/// Rows the export reads per query: its memory is this many events, whatever it sends.
pub const EXPORT_BATCH: i64 = 500;

/// An event as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: String,
    pub actor: String,
    pub username: Option<String>,
    pub session_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Value,
}

impl From<EventRow> for Listed {
    fn from(row: EventRow) -> Self {
        let mut detail = match serde_json::from_str(&row.detail) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        // A counted row (throttled attempts) says how many it stands for.
        if row.count != 1 || row.kind == super::Kind::LoginThrottled.as_str() {
            detail.insert("count".into(), row.count.into());
        }
        Self {
            id: row.id,
            at: from_db_time(row.at),
            kind: row.kind,
            actor: row.actor,
            username: row.username,
            session_id: row.session_id,
            ip: row.ip,
            user_agent: row.user_agent,
            detail: Value::Object(detail),
        }
    }
}

impl Listed {
    /// The event as the account it is about sees it (`GET /api/events`): what another person
    /// did to the account keeps who and what, but not that person's address, agent or note.
    pub fn as_seen_by(mut self, username: &str) -> Self {
        let by_someone_else = !self.actor.eq_ignore_ascii_case(username)
            && self.actor != "system"
            && self.actor != "anonymous";
        if by_someone_else {
            self.ip = None;
            self.user_agent = None;
            if let Value::Object(detail) = &mut self.detail {
                detail.remove("reason");
            }
        }
        self
    }
}

/// A page, newest first, and the `before` of the next page (none when this is the last).
pub struct Page {
    pub items: Vec<Listed>,
    pub next: Option<i64>,
}

/// Up to `limit` events of `filter`, newest first.
pub async fn page(db: &Db, filter: Filter, limit: u32) -> Result<Page, DbError> {
    let limit = usize::try_from(limit.max(1)).unwrap_or(1);
    // One more than asked, to know whether a next page exists: a full last page has no `next`.
    let asked = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let mut rows = db
        .run(move |conn| audit_events::page(conn, &filter, asked))
        .await?;
    let next = match rows.len() > limit {
        true => {
            rows.truncate(limit);
            rows.last().map(|r| r.id)
        }
        false => None,
    };
    Ok(Page {
        items: rows.into_iter().map(Listed::from).collect(),
        next,
    })
}

/// The whole selection of `filter`, newest first, [`EXPORT_BATCH`] events at a time.
pub struct Export {
    filter: Filter,
    done: bool,
}

impl Export {
    pub fn new(filter: Filter) -> Self {
        Self {
            filter,
            done: false,
        }
    }

    /// The next events, or `None` once all have been read.
    pub async fn next_batch(&mut self, db: &Db) -> Result<Option<Vec<Listed>>, DbError> {
        if self.done {
            return Ok(None);
        }
        let page = page(db, self.filter.clone(), EXPORT_BATCH as u32).await?;
        match page.next {
            Some(next) => self.filter.before = Some(next),
            None => self.done = true,
        }
        Ok((!page.items.is_empty()).then_some(page.items))
    }
}
