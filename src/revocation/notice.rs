//! What instances tell each other on PostgreSQL's `NOTIFY` channel: one line per revocation,
//! `t <token id> <exp>`. Payloads stay under PostgreSQL's 8000-byte limit by splitting.

use uuid::Uuid;

use super::view::Entry;

/// The channel every instance listens on for revocations.
pub const CHANNEL: &str = "jwt_blacklist_revocations";

/// PostgreSQL refuses payloads of 8000 bytes or more; stay well below.
const MAX_PAYLOAD: usize = 7000;

fn line(entry: &Entry) -> String {
    match entry {
        Entry::Token { jti, exp } => format!("t {} {exp}", jti.simple()),
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
    payload.lines().enumerate().map(|(n, line)| {
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("t"), Some(jti), Some(exp), None) => {
                match (Uuid::parse_str(jti), exp.parse::<i64>()) {
                    (Ok(jti), Ok(exp)) => Ok(Entry::Token { jti, exp }),
                    _ => Err(n + 1),
                }
            }
            _ => Err(n + 1),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_the_round_trip_split_under_the_size_limit() {
        let entries: Vec<Entry> = (0..500)
            .map(|i| Entry::Token {
                jti: Uuid::new_v4(),
                exp: 1_700_000_000 + i,
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
        let payload = format!("{good}\nt nonsense 5\nx\n{good} extra");
        let results: Vec<_> = decode(&payload).collect();
        assert!(results[0].is_ok());
        assert_eq!(results[1..], [Err(2), Err(3), Err(4)]);
    }
}
