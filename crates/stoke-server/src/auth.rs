//! Secrets. API tokens and session cookies: generated from the operating system's CSPRNG, shown
//! once, stored only as a SHA-256 hash (they carry 256 bits of entropy, so a fast hash is
//! enough). Passwords, which people choose, get argon2id.

use std::fmt;

use sha2::{Digest, Sha256};

/// The shortest password accepted. Length is what makes a password hard to guess; no rules on
/// character classes, which only push people towards predictable substitutions.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// The longest: argon2 would take any length, but a megabyte "password" is an attack.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// A password on its way to being hashed or checked. Its `Debug` hides it, so it cannot leak
/// into a log.
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(hidden)")
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error(
        "the password is {0} characters long; it needs at least {MIN_PASSWORD_CHARS} (a phrase of a few words is easiest)"
    )]
    TooShort(usize),
    #[error("the password is longer than {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("cannot hash the password: {0}")]
    Hashing(String),
}

impl Password {
    /// A password someone is setting: long enough to resist guessing.
    pub fn new(raw: String) -> Result<Self, PasswordError> {
        if raw.trim().is_empty() {
            return Err(PasswordError::Empty);
        }
        let length = raw.chars().count();
        if length < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort(length));
        }
        if length > MAX_PASSWORD_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw))
    }

    /// A password someone typed to log in: only checked, so any length up to the maximum.
    pub fn attempt(raw: String) -> Option<Self> {
        (raw.chars().count() <= MAX_PASSWORD_CHARS).then_some(Self(raw))
    }

    /// The argon2id hash in PHC form (`$argon2id$v=19$m=...`), with the crate's default costs.
    pub fn hash(&self) -> Result<String, PasswordError> {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hashing(e.to_string()))
    }

    /// Whether this password matches a stored PHC hash (constant-time inside argon2).
    pub fn verify(&self, phc: &str) -> bool {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(phc).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(self.0.as_bytes(), &parsed)
                .is_ok()
        })
    }

    /// Spends the time of one verification without a user to check against, so that a login for
    /// an e-mail nobody has takes as long as a wrong password (no account probing by timing).
    pub fn verify_nothing(&self) {
        static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let dummy = DUMMY.get_or_init(|| Password("not a real password".into()).hash().ok());
        if let Some(hash) = dummy {
            let _ = self.verify(hash);
        }
    }
}

/// The prefix that makes a Stoke token recognisable in a leaked-secret scan.
pub const TOKEN_PREFIX: &str = "stk_";

/// A new random API token, to be shown once to whoever asked for it.
pub fn new_token() -> Result<String, getrandom::Error> {
    new_secret(TOKEN_PREFIX)
}

/// 256 random bits as hex after a prefix that says what the secret is for.
pub fn new_secret(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}{}", to_hex(&bytes)))
}

/// The hash a token is stored and looked up by.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.trim().as_bytes()))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_enough_hidden_and_salted() {
        for short in ["", "   ", "short", "123456789"] {
            assert!(Password::new(short.into()).is_err(), "{short:?}");
        }
        // Ten characters, not ten bytes.
        let p = Password::new("пароль-пар".into()).expect("ten characters");
        assert_eq!(format!("{p:?}"), "Password(hidden)");
        let (a, b) = (p.hash().expect("hash"), p.hash().expect("hash"));
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "a new salt each time");
        assert!(p.verify(&a) && p.verify(&b));
        let wrong = Password::attempt("пароль-паР".into()).expect("attempt");
        assert!(!wrong.verify(&a));
        assert!(!p.verify("not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = new_token().expect("rng");
        let b = new_token().expect("rng");
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a}\n")));
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
