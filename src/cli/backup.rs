//! `jwt-blacklist backup <file>`: a consistent copy of the configured SQLite database, taken
//! while the server runs (see [`crate::db::snapshot`]). It never overwrites a file. A
//! PostgreSQL database is pg_dump's work: the command says so and exits 2.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::config::DatabaseUrl;
use crate::db::snapshot;

#[derive(Args)]
pub struct Backup {
    /// The copy to write: a new file (an existing one is never overwritten) in an existing
    /// folder.
    file: PathBuf,
}

pub fn run(args: Backup) -> ExitCode {
    // Only `database_url` is read: a copy must be possible even where another setting would
    // stop the server (a key file missing on the host that takes the copy).
    let figment = crate::config::figment();
    let database = figment
        .extract_inner::<String>("database_url")
        .map_err(|e| format!("invalid configuration: {e}"))
        .and_then(|raw| DatabaseUrl::parse(&raw).map_err(|e| e.to_string()));
    let path = match database {
        Ok(DatabaseUrl::Sqlite(path)) => path,
        Ok(postgres @ DatabaseUrl::Postgres(_)) => {
            eprintln!(
                "database_url names a PostgreSQL database ({postgres}): back it up with pg_dump, \
                 e.g. `pg_dump --format=custom --file=<file> <database_url>`; this command \
                 copies SQLite databases only"
            );
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match backup(&path, &args.file) {
        Ok(bytes) => {
            println!("wrote {} ({bytes} bytes)", args.file.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Copies `database` to `file`, which is created here, empty and readable by its owner only
/// (the copy holds password hashes and sealed second factors), before SQLite fills it:
/// creating it with `create_new` is what makes "never overwrite" hold even against a file
/// that appears meanwhile. Returns the copy's size.
fn backup(database: &Path, file: &Path) -> Result<u64, String> {
    let shown = file.display();
    if file.symlink_metadata().is_ok() {
        return Err(format!(
            "{shown} exists already: a backup never overwrites a file; name a new one"
        ));
    }
    let folder = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !folder.is_dir() {
        return Err(format!(
            "the folder {} does not exist: create it first",
            folder.display()
        ));
    }
    let Some(target) = file.to_str() else {
        return Err(format!("{shown}: the file name must be UTF-8 text"));
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => {
            format!("{shown} exists already: a backup never overwrites a file; name a new one")
        }
        _ => format!("cannot create {shown}: {e}"),
    })?;
    if let Err(message) = snapshot::vacuum_into(database, target) {
        // The file is the empty one created above, or SQLite's partial copy: not a backup.
        let _ = std::fs::remove_file(file);
        return Err(message);
    }
    std::fs::metadata(file)
        .map(|m| m.len())
        .map_err(|e| format!("cannot read the size of {shown}: {e}"))
}
