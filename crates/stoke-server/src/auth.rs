//! API tokens: generated from the operating system's CSPRNG, shown once, stored only as a
//! SHA-256 hash. A token carries 256 bits of entropy, so a fast hash is enough here (passwords,
//! which people choose, get argon2id).

use sha2::{Digest, Sha256};

/// The prefix that makes a Stoke token recognisable in a leaked-secret scan.
pub const TOKEN_PREFIX: &str = "stk_";

/// A new random token, to be shown once to whoever asked for it.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", to_hex(&bytes)))
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
    fn tokens_are_random_and_hash_stably() {
        let a = new_token().expect("rng");
        let b = new_token().expect("rng");
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a}\n")));
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
