//! Secrets at rest. Provider credentials (a WhatsApp access token and app secret, an SMTP
//! password) are sealed with the workspace key before they reach the store, so a copy of the
//! database or a backup does not hand out the keys to a business's WhatsApp number.
//!
//! The key is 32 random bytes: `STOKE_SECRET_KEY` (base64), else `DATA/secret.key`, created with
//! mode 0600 on first use. Nodes sharing a PostgreSQL database must share the key: set
//! `STOKE_SECRET_KEY` on each. Sealing is XChaCha20-Poly1305 (RustCrypto) with a random 192-bit
//! nonce per secret, so the same token sealed twice looks different; opening checks the tag, so a
//! tampered or foreign value is refused, never returned garbled.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// How sealed values start: recognisable, and versioned for a future change of cipher.
const SEALED_PREFIX: &str = "sealed:v1:";

/// The environment variable that holds the key.
pub const KEY_ENV: &str = "STOKE_SECRET_KEY";

/// The file that holds the key when the environment does not.
pub const KEY_FILE: &str = "secret.key";

/// Why a key could not be loaded or a secret opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("{KEY_ENV} must be 32 bytes in base64 (openssl rand -base64 32)")]
    BadKey,
    #[error("cannot read or create the key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(
        "a stored secret cannot be opened with this workspace key (was it sealed by a node with another {KEY_ENV}?)"
    )]
    WrongKey,
    #[error("a stored secret is not a sealed value")]
    NotSealed,
    #[error("the system's random source failed: {0}")]
    Random(String),
}

/// The workspace key. Its `Debug` hides it.
#[derive(Clone)]
pub struct WorkspaceKey([u8; 32]);

impl fmt::Debug for WorkspaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkspaceKey(hidden)")
    }
}

impl WorkspaceKey {
    /// A new random key.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// Reads a key written in base64.
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| SecretError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadKey)?;
        Ok(Self(key))
    }

    /// The key from `STOKE_SECRET_KEY`, else from `DATA/secret.key`, created when absent.
    pub fn load(data: &Path) -> Result<Self, SecretError> {
        if let Ok(text) = std::env::var(KEY_ENV)
            && !text.trim().is_empty()
        {
            return Self::from_base64(&text);
        }
        let path = data.join(KEY_FILE);
        let failed = |e: std::io::Error| SecretError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data).map_err(failed)?;
                let key = Self::generate()?;
                write_private(&path, &STANDARD.encode(key.0)).map_err(failed)?;
                Ok(key)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// A key of its own for one purpose (`"email tracking v1"`), derived with HMAC-SHA256 so
    /// that a key used to sign public links never doubles as the one that seals credentials,
    /// and every node sharing the workspace key derives the same one.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Seals a secret for storage.
    pub fn seal(&self, plaintext: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Random(e.to_string()))?;
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| SecretError::Random("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(out)))
    }

    /// Opens a sealed secret.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let encoded = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or(SecretError::NotSealed)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::NotSealed)?;
        if bytes.len() < 24 {
            return Err(SecretError::NotSealed);
        }
        let (nonce, body) = bytes.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::WrongKey)
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let key = WorkspaceKey::generate().expect("key");
        let a = key.seal("EAAG-token").expect("seal");
        let b = key.seal("EAAG-token").expect("seal");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("EAAG"));
        assert_eq!(key.open(&a).expect("open"), "EAAG-token");
        let other = WorkspaceKey::generate().expect("key");
        assert_eq!(other.open(&a), Err(SecretError::WrongKey));
        let mut tampered = a.clone();
        tampered.pop();
        tampered.push(if a.ends_with('A') { 'B' } else { 'A' });
        assert!(key.open(&tampered).is_err());
        assert_eq!(key.open("plain"), Err(SecretError::NotSealed));
        assert_eq!(format!("{key:?}"), "WorkspaceKey(hidden)");
        assert_eq!(key.derive("a"), key.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(key.derive("a"), other.derive("a"));
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().expect("dir");
        let first = WorkspaceKey::load(dir.path()).expect("created");
        let again = WorkspaceKey::load(dir.path()).expect("read");
        let sealed = first.seal("x").expect("seal");
        assert_eq!(again.open(&sealed).expect("same key"), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            WorkspaceKey::from_base64("c2hvcnQ="),
            Err(SecretError::BadKey)
        ));
    }
}
