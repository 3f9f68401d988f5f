//! The layering rule, read from the source: only the HTTP layer (`src/http/`) and start-up
//! (`src/lib.rs`, `src/main.rs`, the configuration under `src/config`) may use Rocket; the
//! services, the revocation core, the database and telemetry stay free of it, so that they can
//! be called from a test, a job or a command line without a server. Figment, which reads the
//! configuration, is allowed anywhere.

use std::path::{Path, PathBuf};

/// Where Rocket may be used.
const HTTP_AND_START_UP: &[&str] = &[
    "src/http/",
    "src/lib.rs",
    "src/main.rs",
    "src/config.rs",
    "src/config/",
];

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// The uses of Rocket in one line of code (comments and ordinary string literals ignored;
/// `crate = "rocket::serde"` counts, since it makes serde go through Rocket).
fn rocket_uses(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut uses = Vec::new();
    if code.contains("\"rocket::serde\"") {
        uses.push("rocket::serde (as serde's crate)".to_owned());
    }
    let mut outside = String::new();
    let mut in_string = false;
    for c in code.chars() {
        if c == '"' {
            in_string = !in_string;
        } else if !in_string {
            outside.push(c);
        }
    }
    let bytes = outside.as_bytes();
    for (at, _) in outside.match_indices("rocket") {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let starts_word = !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        let rest = &outside[at + "rocket".len()..];
        let is_path = rest.starts_with("::") || rest.starts_with(';') || rest.starts_with(" as");
        if starts_word && is_path && !rest.starts_with("::figment") {
            uses.push(outside[at..].chars().take(40).collect());
        }
    }
    uses
}

#[test]
fn nothing_outside_the_http_layer_and_start_up_uses_rocket() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 20, "the walk found the sources");
    let mut offences = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(root)
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        if HTTP_AND_START_UP.iter().any(|p| relative.starts_with(p)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            for found in rocket_uses(line) {
                offences.push(format!("{relative}:{}: {found}", n + 1));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "Rocket used outside the HTTP layer and start-up:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_rule_sees_each_way_of_using_rocket_and_ignores_strings_and_comments() {
    assert_eq!(rocket_uses("use rocket::http::Status;").len(), 1);
    assert_eq!(rocket_uses("        rocket::info!(\"x\");").len(), 1);
    assert_eq!(rocket_uses("#[rocket::async_trait]").len(), 1);
    assert_eq!(rocket_uses("#[serde(crate = \"rocket::serde\")]").len(), 1);
    assert!(rocket_uses("use rocket::figment::Figment;").is_empty());
    assert!(rocket_uses("if t.starts_with(\"rocket::server\") {").is_empty());
    assert!(rocket_uses("// rocket::http is not used here").is_empty());
    assert!(rocket_uses("let rocketry = 1;").is_empty());
}
