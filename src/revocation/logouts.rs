//! A commit group's logouts at once, on PostgreSQL: one statement for all their token ids and
//! session ends (see [`crate::db::logout_group`]), and each logout's outcome rebuilt from what
//! that statement changed, as if the logouts had run one after the other in the group's order.
//!
//! Logouts commute with each other, and with the group's other jobs as far as anyone can tell:
//! a session ended by a logout is simply not among those a later `EndUser` ends. So they run
//! first, and the other jobs after them, one by one.

use std::collections::{HashMap, HashSet};

use time::{OffsetDateTime, PrimitiveDateTime};
use uuid::Uuid;

use super::view::Entry;
use super::work::{Outcome, Work};
use crate::db::logout_group::{self, Logouts};
use crate::db::{from_db_time, to_db_time, DbConnection};

/// One job's outcome and view entries, as the writer's own `execute` gives them.
pub(super) type Executed = (Outcome, Vec<Entry>);

/// Commits the logouts of `works`; returns, in order, the outcome of each logout and `None`
/// for every other job. On SQLite, `None` for all: each job runs on its own there.
pub(super) fn execute_all(
    conn: &mut DbConnection,
    works: &[&Work],
    now: OffsetDateTime,
) -> diesel::QueryResult<Vec<Option<Executed>>> {
    let DbConnection::Pg(pg) = conn else {
        return Ok(works.iter().map(|_| None).collect());
    };
    if !works.iter().any(|w| matches!(w, Work::Logout { .. })) {
        return Ok(works.iter().map(|_| None).collect());
    }
    let mut logouts = Logouts::default();
    let mut jtis = HashSet::new();
    // Two logouts of one session: the later latest time lets through whatever either would.
    let mut sessions: HashMap<String, PrimitiveDateTime> = HashMap::new();
    for work in works {
        if let Work::Logout { token, session } = work {
            if let Some((row, _)) = token {
                if jtis.insert(row.jti.as_str()) {
                    logouts.tokens.push(row);
                }
            }
            if let Some((sid, latest_from)) = session {
                let latest = to_db_time(*latest_from);
                let slot = sessions.entry(sid.to_string()).or_insert(latest);
                *slot = (*slot).max(latest);
            }
        }
    }
    logouts.sessions = sessions.into_iter().collect();
    let changed = logout_group::revoke(pg, &logouts, to_db_time(now))?;
    let mut added: HashSet<String> = changed.added.into_iter().collect();
    let mut ended: HashMap<String, (PrimitiveDateTime, Option<PrimitiveDateTime>)> = changed
        .ended
        .into_iter()
        .map(|(id, until, issued)| (id, (until, issued)))
        .collect();
    Ok(works
        .iter()
        .map(|work| match work {
            Work::Logout { token, session } => {
                Some(rebuild(token.as_ref(), *session, &mut added, &mut ended))
            }
            _ => None,
        })
        .collect())
}

/// One logout's outcome: the first logout of an id recorded it, and the first logout of a
/// session whose latest time covers the session's latest token ended it.
fn rebuild(
    token: Option<&(crate::db::blacklist::Entry, Entry)>,
    session: Option<(Uuid, OffsetDateTime)>,
    added: &mut HashSet<String>,
    ended: &mut HashMap<String, (PrimitiveDateTime, Option<PrimitiveDateTime>)>,
) -> Executed {
    let mut outcome = Outcome::default();
    let mut entries = Vec::new();
    if let Some((row, entry)) = token {
        outcome.token_added = added.remove(&row.jti);
        entries.push(entry.clone());
    }
    if let Some((sid, latest_from)) = session {
        let key = sid.to_string();
        let covers = ended
            .get(&key)
            .is_some_and(|(_, issued)| issued.is_none_or(|at| at <= to_db_time(latest_from)));
        if let Some((until, _)) = covers.then(|| ended.remove(&key)).flatten() {
            outcome.sessions_ended = 1;
            entries.push(Entry::Session {
                sid,
                exp: from_db_time(until).unix_timestamp(),
            });
        }
    }
    (outcome, entries)
}
