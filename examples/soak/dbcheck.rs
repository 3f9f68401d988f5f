//! Reads the database directly (through the crate's own `db` API, so SQLite needs no CLI):
//! which of the given token ids have their row in the blacklist.

use std::time::Duration;

use jwt_blacklist::config::DatabaseUrl;
use jwt_blacklist::db::{blacklist, Db, PoolSettings};

/// How many of `jtis` are missing from the blacklist, and the table's row count.
pub async fn missing_rows(url: &str, jtis: Vec<String>) -> Result<(u64, i64), String> {
    let url = DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    let settings = PoolSettings {
        max_size: 1,
        timeout: Duration::from_secs(30),
    };
    let db = Db::connect(url, settings)
        .await
        .map_err(|e| e.to_string())?;
    db.run(move |conn| {
        let mut missing = 0;
        for jti in &jtis {
            if !blacklist::contains(conn, jti)? {
                missing += 1;
            }
        }
        Ok((missing, blacklist::count(conn)?))
    })
    .await
    .map_err(|e| e.to_string())
}
