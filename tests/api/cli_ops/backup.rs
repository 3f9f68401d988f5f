//! `backup`: what it refuses, and a copy of an idle database.

use super::{command, run};
use crate::helpers::TestDb;
use crate::instances::Instance;

#[test]
fn backup_of_a_postgres_database_points_to_pg_dump_and_exits_2() {
    let url = "postgres://app:hunter2-secret@127.0.0.1:1/sessions";
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("copy.dump");
    let (code, stdout, stderr) = run(&mut command(
        url,
        &["backup", file.to_str().expect("utf-8")],
    ));
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("pg_dump --format=custom"), "{stderr}");
    assert!(!stderr.contains("hunter2-secret"), "{stderr}");
    assert!(!file.exists(), "nothing written");
}

#[test]
fn backup_never_overwrites_a_file_nor_writes_into_a_missing_folder() {
    let db = TestDb::sqlite();
    drop(Instance::start(&db.url)); // a real, migrated database
    let dir = tempfile::tempdir().expect("dir");
    let existing = dir.path().join("existing.sqlite3");
    std::fs::write(&existing, "keep me").expect("write");
    let (code, stdout, stderr) = run(&mut command(
        &db.url,
        &["backup", existing.to_str().expect("utf-8")],
    ));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("exists already"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&existing).expect("read"), "keep me");

    let nowhere = dir.path().join("missing").join("copy.sqlite3");
    let (code, _, stderr) = run(&mut command(
        &db.url,
        &["backup", nowhere.to_str().expect("utf-8")],
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(!dir.path().join("missing").exists(), "no folder created");
}

#[test]
fn backup_of_a_missing_database_creates_neither_it_nor_the_copy() {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("copy.sqlite3");
    let (code, _, stderr) = run(&mut command(
        &db.url,
        &["backup", file.to_str().expect("utf-8")],
    ));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no SQLite database at"), "{stderr}");
    assert!(!file.exists(), "the empty copy was removed");
    let database = db.url.strip_prefix("sqlite://").expect("sqlite");
    assert!(!std::path::Path::new(database).exists());
}

#[test]
fn a_file_name_with_a_quote_is_written_where_it_says() {
    let db = TestDb::sqlite();
    drop(Instance::start(&db.url));
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("it's; DROP TABLE users; --.sqlite3");
    let (code, stdout, stderr) = run(&mut command(
        &db.url,
        &["backup", file.to_str().expect("utf-8")],
    ));
    assert_eq!(code, Some(0), "{stderr}");
    let size = std::fs::metadata(&file).expect("the copy").len();
    assert_eq!(stdout, format!("wrote {} ({size} bytes)\n", file.display()));
    assert!(size > 0);
}
