//! A new password for `user create` and `user set-password`: typed at the terminal without
//! echo (twice), or one line from stdin with `--password-stdin`. Never an argument: the command
//! line shows in `ps` and in shell histories. The sign-up rules apply ([`Password::parse`]).

use std::io::{BufRead, IsTerminal};

use super::Refusal;
use crate::domain::Password;

/// Reads the new password of `username`.
pub fn read(username: &str, from_stdin: bool) -> Result<Password, Refusal> {
    let raw = match from_stdin {
        true => one_line()?,
        false => typed(username)?,
    };
    Password::parse(raw).map_err(Refusal::Refused)
}

/// The first line of stdin, without its line ending.
fn one_line() -> Result<String, Refusal> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Refusal::refused(format!("cannot read the password from stdin: {e}")))?;
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    Ok(line)
}

fn typed(username: &str) -> Result<String, Refusal> {
    if !std::io::stdin().is_terminal() {
        return Err(Refusal::Misuse(
            "no terminal to type the password at: give it on stdin with --password-stdin".into(),
        ));
    }
    let ask = |prompt: String| {
        rpassword::prompt_password(prompt)
            .map_err(|e| Refusal::refused(format!("cannot read the password: {e}")))
    };
    let first = ask(format!("New password for {username}: "))?;
    let again = ask("The same again: ".to_owned())?;
    match first == again {
        true => Ok(first),
        false => Err(Refusal::refused(
            "the two passwords differ; nothing was changed",
        )),
    }
}
