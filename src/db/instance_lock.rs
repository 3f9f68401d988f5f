//! One server process per SQLite file.
//!
//! The revocation view trusts that every revocation reaches it by write-through, which holds only
//! while one process writes the file. A second process on the same file is refused at start with
//! a message that says why, rather than serving a view that misses the first one's logouts.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::DbError;

/// Held for the life of the server; the lock goes with the process (or this value), even after
/// a crash, so a stale lock file never blocks a restart.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// The lock file beside the database: `<file>.lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl InstanceLock {
    pub fn acquire(database: &Path) -> Result<Self, DbError> {
        let path = lock_path(database);
        super::create_parent_dir(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DbError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(TryLockError::WouldBlock) => Err(DbError::Unavailable(format!(
                "another server process is already running on {} (it holds {}); SQLite serves one \
                 process: stop the other one, or use PostgreSQL to run several instances",
                database.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(DbError::Unavailable(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("x.sqlite3");
        let first = InstanceLock::acquire(&db).expect("first");
        let err = InstanceLock::acquire(&db)
            .expect_err("second refused")
            .to_string();
        assert!(err.contains("another server process"), "{err}");
        drop(first);
        assert!(InstanceLock::acquire(&db).is_ok());
    }
}
