//! `jwt-blacklist keys generate`: a new signing key and the `signing_keys` entry that adds it,
//! on stdout and nothing else, so that the output can be redirected into place.

use std::io::Write;
use std::process::ExitCode;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::{Subcommand, ValueEnum};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use rand::RngCore;
use time::OffsetDateTime;

use crate::config::valid_kid;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Prints a new key (a PKCS#8 PEM, or a random HS256 secret) and the `signing_keys` entry
    /// to add; starts no server.
    Generate {
        #[arg(long, value_enum)]
        alg: Alg,
        /// The key's id; by default today's date and a random suffix (`2026-12-04-9f3a`).
        #[arg(long)]
        kid: Option<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Alg {
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "HS256")]
    Hs256,
}

pub fn run(command: KeysCommand) -> ExitCode {
    let KeysCommand::Generate { alg, kid } = command;
    let kid = kid.unwrap_or_else(default_kid);
    if !valid_kid(&kid) {
        eprintln!("--kid must be 1 to 64 letters, digits, `.`, `_`, `:` or `-`");
        return ExitCode::from(2);
    }
    let text = match generate(alg, &kid) {
        Ok(text) => text,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write the key: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The key, then its entry for `signing_keys` (a TOML inline table).
fn generate(alg: Alg, kid: &str) -> Result<String, String> {
    let mut seed = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    match alg {
        Alg::EdDsa => {
            let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| format!("cannot encode the key: {e}"))?;
            Ok(format!(
                "{}{{ kid = \"{kid}\", alg = \"EdDSA\", private_key_file = \"/etc/jwt-blacklist/{kid}.pem\" }}\n",
                pem.as_str()
            ))
        }
        Alg::Hs256 => {
            let secret = URL_SAFE_NO_PAD.encode(seed);
            Ok(format!(
                "{secret}\n{{ kid = \"{kid}\", alg = \"HS256\", secret = \"{secret}\" }}\n"
            ))
        }
    }
}

fn default_kid() -> String {
    let today = OffsetDateTime::now_utc().date();
    let suffix = rand::random::<u16>();
    format!("{today}-{suffix:04x}")
}
