//! Recovery codes: ten per set, each ten characters (50 bits) from an alphabet without look-alike
//! characters, shown as `xxxxx-xxxxx`. Typed back in any case, with or without the dash.

use rand::Rng;

pub const COUNT: usize = 10;
const LEN: usize = 10;
/// Lower-case letters and digits without `0 o 1 l i`: 31 symbols, read aloud or typed safely.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A new set of codes, as shown to the user.
pub fn new_set() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let raw: String = (0..LEN)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}", &raw[..LEN / 2], &raw[LEN / 2..])
        })
        .collect()
}

/// The code as hashed: lower case, without dashes or spaces; `None` when it cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_that_normalise() {
        let set = new_set();
        assert_eq!(set.len(), COUNT);
        let mut unique = set.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for code in &set {
            assert_eq!(code.len(), 11);
            let plain = normalise(code).unwrap_or_default();
            assert_eq!(normalise(&code.to_ascii_uppercase()), Some(plain.clone()));
            assert_eq!(normalise(&plain), Some(plain));
        }
        assert_eq!(normalise("short"), None);
        assert_eq!(normalise("00000-00000"), None);
    }
}
