//! The database opened to read only, for the binary's commands that only look (`user list`,
//! `user show`, `sessions list`). They run beside a server on the same SQLite file: they take
//! no instance lock, and SQLite opens the file with `mode=ro`, so they cannot write to it even
//! by mistake. They never migrate: a database not at this binary's schema is refused, with
//! what to do.

use std::collections::HashSet;
use std::path::Path;

use diesel::migration::MigrationSource;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

use super::{
    Db, DbConnection, DbError, Manager, PoolSettings, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS,
};
use crate::config::DatabaseUrl;

impl Db {
    /// Opens the database without migrating it, and (SQLite) without the right to write.
    pub async fn open_read_only(url: DatabaseUrl, settings: PoolSettings) -> Result<Self, DbError> {
        tokio::task::spawn_blocking(move || {
            if let DatabaseUrl::Sqlite(path) = &url {
                if !path.exists() {
                    return Err(DbError::Unavailable(format!(
                        "there is no {url} yet: start the server once to create it"
                    )));
                }
            }
            let manager = Manager {
                url: url.clone(),
                read_only: true,
            };
            let mut conn = manager
                .establish()
                .map_err(|e| DbError::Unavailable(format!("cannot open the {url}: {e}")))?;
            let missing = unapplied(&mut conn).map_err(|_| {
                DbError::Unavailable(format!(
                    "the {url} has no tables yet: start the server once to create them"
                ))
            })?;
            if missing > 0 {
                return Err(DbError::Unavailable(format!(
                    "the {url} lacks {missing} of this version's migrations: start the server \
                     of this version once to apply them"
                )));
            }
            drop(conn);
            Self::pooled(manager, settings)
        })
        .await
        .map_err(|e| DbError::Internal(e.to_string()))?
    }
}

/// `path` as an SQLite URI that opens it read-only (`?`, `#` and `%` escaped: they would start
/// the URI's query or fragment).
pub(super) fn sqlite_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            '%' => uri.push_str("%25"),
            c => uri.push(c),
        }
    }
    uri.push_str("?mode=ro");
    uri
}

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = Text)]
    version: String,
}

/// How many of the embedded migrations the database has not applied, read without writing
/// (diesel's own harness creates its table first).
fn unapplied(conn: &mut DbConnection) -> Result<usize, String> {
    const QUERY: &str = "SELECT version FROM __diesel_schema_migrations";
    let (applied, embedded) = match conn {
        DbConnection::Sqlite(c) => (
            diesel::sql_query(QUERY).load::<Applied>(c),
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map(|all| all.iter().map(|m| m.name().version().to_string()).collect()),
        ),
        DbConnection::Pg(c) => (
            diesel::sql_query(QUERY).load::<Applied>(c),
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                .map(|all| all.iter().map(|m| m.name().version().to_string()).collect()),
        ),
    };
    let applied: HashSet<String> = applied
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| a.version)
        .collect();
    let embedded: Vec<String> = embedded.map_err(|e| e.to_string())?;
    Ok(embedded.iter().filter(|v| !applied.contains(*v)).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_a_read_only_uri_with_its_query_characters_escaped() {
        assert_eq!(
            sqlite_uri(Path::new("/var/lib/x?y#z%.db")),
            "file:/var/lib/x%3fy%23z%25.db?mode=ro"
        );
        assert_eq!(sqlite_uri(Path::new("data/s.db")), "file:data/s.db?mode=ro");
    }
}
