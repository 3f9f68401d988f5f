//! What instances tell each other on PostgreSQL's `NOTIFY` channel: one line per revocation,
//! `t <token id> <exp>`, `s <session id> <exp>` or `u <username> <cut-off id> <exp>` (usernames
//! hold no spaces). Payloads stay under PostgreSQL's 8000-byte limit by splitting.

use uuid::Uuid;

use super::view::Entry;

/// The channel every instance listens on for revocations.
pub const CHANNEL: &str = "jwt_blacklist_revocations";

/// PostgreSQL refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7000;

fn line(entry: &Entry) -> String {
    match entry {
        Entry::Token { jti, exp } => format!("t {} {exp}", jti.simple()),
        Entry::Session { sid, exp } => format!("s {} {exp}", sid.simple()),
        Entry::UserCutoff {
            username,
            issued_before,
            exp,
        } => format!("u {username} {} {exp}", issued_before.simple()),
    }
}

/// The payloads announcing `entries`, each under the size limit.
pub fn encode(entries: &[Entry]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = String::new();
    for entry in entries {
        let line = line(entry);
        if !current.is_empty() && current.len() + 1 + line.len() > MAX_PAYLOAD {
            payloads.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        payloads.push(current);
    }
    payloads
}

/// The entries of a payload; a line that cannot be read is returned as `Err` with the line
/// number, so that the listener can say so (it never holds a secret: ids are not credentials).
pub fn decode(payload: &str) -> impl Iterator<Item = Result<Entry, usize>> + '_ {
    payload
        .lines()
        .enumerate()
        .map(|(n, line)| read_line(line).ok_or(n + 1))
}

fn read_line(line: &str) -> Option<Entry> {
    let parts: Vec<&str> = line.split(' ').collect();
    let entry = match parts.as_slice() {
        ["t", jti, exp] => Entry::Token {
            jti: Uuid::parse_str(jti).ok()?,
            exp: exp.parse().ok()?,
        },
        ["s", sid, exp] => Entry::Session {
            sid: Uuid::parse_str(sid).ok()?,
            exp: exp.parse().ok()?,
        },
        ["u", username, cutoff, exp] if !username.is_empty() => Entry::UserCutoff {
            username: (*username).into(),
            issued_before: Uuid::parse_str(cutoff).ok()?,
            exp: exp.parse().ok()?,
        },
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_the_round_trip_split_under_the_size_limit() {
        let entries: Vec<Entry> = (0..500)
            .map(|i| match i % 3 {
                0 => Entry::Token {
                    jti: Uuid::new_v4(),
                    exp: 1_700_000_000 + i,
                },
                1 => Entry::Session {
                    sid: Uuid::new_v4(),
                    exp: 1_700_000_000 + i,
                },
                _ => Entry::UserCutoff {
                    username: format!("user.{i}").into(),
                    issued_before: Uuid::now_v7(),
                    exp: 1_700_000_000 + i,
                },
            })
            .collect();
        let payloads = encode(&entries);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|p| p.len() < 8000));
        let back: Vec<Entry> = payloads
            .iter()
            .flat_map(|p| decode(p))
            .collect::<Result<_, _>>()
            .expect("decodes");
        assert_eq!(back, entries);
    }

    #[test]
    fn unreadable_lines_are_reported_by_number() {
        let good = line(&Entry::Token {
            jti: Uuid::new_v4(),
            exp: 5,
        });
        let payload = format!(
            "{good}\nt nonsense 5\nx\n{good} extra\nu  {} 5",
            Uuid::nil()
        );
        let results: Vec<_> = decode(&payload).collect();
        assert!(results[0].is_ok());
        assert_eq!(results[1..], [Err(2), Err(3), Err(4), Err(5)]);
    }
}
