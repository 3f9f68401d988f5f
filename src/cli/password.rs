//! A new password for `user create` and `user set-password`: typed at the terminal without
//! echo (twice), or one line from stdin with `--password-stdin`. Never an argument: the command
//! line shows in `ps` and in shell histories. The sign-up rules apply ([`Password::parse`]).

use std::io::{BufRead, IsTerminal};

use super::Refusal;
use crate::domain::Password;

/// Where the new password comes from, settled before the command opens anything, so that a
/// command line that cannot give one is refused at once.
pub enum Input {
    Terminal,
    Stdin,
}

impl Input {
    pub fn new(password_stdin: bool) -> Result<Self, Refusal> {
        match password_stdin {
            true => Ok(Self::Stdin),
            false if std::io::stdin().is_terminal() => Ok(Self::Terminal),
            false => Err(Refusal::Misuse(
                "no terminal to type the password at: give it on stdin with --password-stdin"
                    .into(),
            )),
        }
    }

    /// Reads the new password of `username`.
    pub fn read(self, username: &str) -> Result<Password, Refusal> {
        let raw = match self {
            Self::Stdin => one_line()?,
            Self::Terminal => typed(username)?,
        };
        Password::parse(raw).map_err(Refusal::Refused)
    }
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
