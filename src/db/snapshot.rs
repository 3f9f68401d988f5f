//! A consistent copy of a SQLite database taken while a server writes it (`jwt-blacklist
//! backup`): `VACUUM INTO` reads one snapshot (WAL lets the server's writers go on meanwhile),
//! so the copy holds every transaction committed before it started and none half-done.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl, SqliteConnection};

/// How long the copy may wait for a lock it needs (WAL recovery after a crash, a checkpoint
/// that resets the log): a loaded server commits in milliseconds.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// Writes a copy of `database` to `into`, which must not exist or be empty (SQLite refuses
/// anything else). Opens a connection of its own, as the server does (same file name), but runs
/// no migration and takes no instance lock: a server running on the file is not disturbed.
pub fn vacuum_into(database: &Path, into: &str) -> Result<(), String> {
    if !database.is_file() {
        return Err(format!("no SQLite database at {}", database.display()));
    }
    let mut conn = SqliteConnection::establish(&database.to_string_lossy())
        .map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))
        .map_err(|e| format!("cannot set up {}: {e}", database.display()))?;
    // Connections are opened with URI file names allowed, which also applies to the target: a
    // relative name starting with `file:` is kept a plain path.
    let into = if into.starts_with("file:") {
        format!("./{into}")
    } else {
        into.to_owned()
    };
    // Bound, not spliced into the SQL: VACUUM INTO takes an expression.
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(&into)
        .execute(&mut conn)
        .map(drop)
        .map_err(|e| format!("cannot copy {}: {e}", database.display()))
}
