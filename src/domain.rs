//! Values that can only exist once validated: usernames, passwords and roles.

use std::fmt;

/// A username: 3–64 characters of `[A-Za-z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok_len = (3..=64).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err("username must be 3 to 64 characters of letters, digits, `_`, `.` or `-`".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plaintext password: at least 8 characters (as people, browsers' `minlength` and the
/// OpenAPI document's `minLength` count), at most 1024 bytes (what argon2 is given); its `Debug`
/// never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Self, String> {
        if raw.chars().count() >= 8 && raw.len() <= 1024 {
            Ok(Self(raw))
        } else {
            Err("password must be at least 8 characters and at most 1024 bytes long".into())
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What a user may do; stored as text in `users.role` and carried in the token's `role` claim.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// Reads a stored role; an unknown value is treated as the least privileged role.
    pub fn from_stored(raw: &str) -> Self {
        if raw == "admin" {
            Self::Admin
        } else {
            Self::User
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_outside_the_alphabet_or_length_are_refused() {
        for bad in [
            "ab",
            "a b c",
            "x'; DROP TABLE users;--",
            "ünïcode",
            &"a".repeat(65),
            "",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
        for good in ["abc", "alice.smith-2_x", &"a".repeat(64)] {
            assert!(Username::parse(good).is_ok(), "{good:?} was refused");
        }
    }

    #[test]
    fn passwords_are_bounded_in_bytes_and_redacted() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        // Seven characters are too few, however many bytes they take.
        assert!(Password::parse("ÆrÐ{Þéü".into()).is_err());
        assert!(Password::parse("ÆrÐ{Þéüx".into()).is_ok());
        assert!(Password::parse("é".repeat(513)).is_err());
        let p = Password::parse("correct horse".into()).expect("valid password");
        assert!(!format!("{p:?}").contains("horse"));
    }
}
