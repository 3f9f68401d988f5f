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

/// The lock file beside the database file itself: `<file>.lock`, named from the file's canonical
/// path, so that a symbolic link to the file, a `..` or another spelling of its folder leads to
/// the same lock (two servers on `link.db -> real.db` would otherwise each miss the other's
/// logouts). A file that does not exist yet is named from its folder's canonical path.
pub fn lock_path(database: &Path) -> PathBuf {
    let canonical = std::fs::canonicalize(database).unwrap_or_else(|_| {
        let folder = database
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        match (std::fs::canonicalize(folder), database.file_name()) {
            (Ok(folder), Some(name)) => folder.join(name),
            _ => database.to_owned(),
        }
    });
    let mut name = canonical.into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl InstanceLock {
    /// The server's lock: refused, with a message that says why, while another process holds it.
    pub fn acquire(database: &Path) -> Result<Self, DbError> {
        match Self::try_acquire(database)? {
            Some(lock) => Ok(lock),
            None => Err(DbError::Unavailable(format!(
                "another server process is already running on {} (it holds {}); SQLite serves one \
                 process: stop the other one, or use PostgreSQL to run several instances",
                database.display(),
                lock_path(database).display()
            ))),
        }
    }

    /// The lock if no other process holds it (`None` if one does), for a caller that words
    /// its own refusal (a command of the binary's).
    pub fn try_acquire(database: &Path) -> Result<Option<Self>, DbError> {
        super::create_parent_dir(database)?;
        let path = lock_path(database);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DbError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
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

    #[test]
    fn a_symbolic_link_or_another_spelling_of_the_file_leads_to_the_same_lock() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = dir.path().join("real.sqlite3");
        std::fs::write(&real, b"").expect("database file");
        let link = dir.path().join("link.sqlite3");
        std::os::unix::fs::symlink(&real, &link).expect("symlink");
        let _first = InstanceLock::acquire(&real).expect("first");
        for other in [link, dir.path().join("sub/../real.sqlite3")] {
            std::fs::create_dir_all(dir.path().join("sub")).expect("sub");
            let err = InstanceLock::acquire(&other)
                .expect_err("refused")
                .to_string();
            assert!(
                err.contains("another server process"),
                "{}: {err}",
                other.display()
            );
        }
    }
}
