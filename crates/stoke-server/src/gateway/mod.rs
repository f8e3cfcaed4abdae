//! The generic webhook channel (SPEC 5.1): for SMS gateways, in-house tools and anything else
//! that can take an HTTP POST. Stoke posts each outgoing message as JSON to the account's URL
//! (`send`), and the tool posts replies and delivery statuses back to
//! `POST /webhooks/gateway/{account}` (`inbound`). Both directions are signed the same way with
//! the account's shared secret:
//!
//! - `X-Stoke-Timestamp: UNIX_SECONDS`
//! - `X-Stoke-Signature: sha256=HEX`, HMAC-SHA256 over `TIMESTAMP.BODY` (the timestamp, a dot,
//!   the raw body bytes).
//!
//! A receiver checks the signature in constant time and refuses a timestamp more than five
//! minutes from its clock, so a captured request cannot be replayed later; within the five
//! minutes, a replay changes nothing, since every message and status is applied by id once.
//!
//! An account's `config` is JSON text: the URL in the clear, the secret sealed with the
//! workspace key (`crate::secrets`).

pub mod inbound;
pub mod send;

use std::fmt;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use stoke_core::{Account, Channel};
use stoke_store::Store;

use crate::channel::invalid;
pub use crate::channel::{AccountSettings, ConfigError};
use crate::secrets::WorkspaceKey;

/// The header with the request's time, in Unix seconds.
pub const TIMESTAMP_HEADER: &str = "x-stoke-timestamp";
/// The header with the signature: `sha256=HEX`.
pub const SIGNATURE_HEADER: &str = "x-stoke-signature";
/// How far a signed request's timestamp may be from the receiver's clock.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// The shortest secret accepted: 128 bits written as hex.
const MIN_SECRET_LEN: usize = 32;

/// A gateway account's settings, the secret opened.
#[derive(Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Where messages are posted: https, or http on this machine only.
    pub url: String,
    pub secret: String,
}

impl fmt::Debug for GatewaySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewaySettings")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The stored form of a gateway account's settings, the secret sealed.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredConfig {
    url: String,
    /// Sealed.
    secret: String,
}

impl GatewaySettings {
    /// Checks the settings: a URL Stoke may post personal data to, and a secret long enough.
    pub fn normalised(mut self) -> Result<Self, ConfigError> {
        self.url = self.url.trim().to_owned();
        let parsed = reqwest::Url::parse(&self.url)
            .map_err(|e| invalid("url", format!("{:?} is not a URL: {e}", self.url)))?;
        let host = parsed.host_str().unwrap_or_default();
        match parsed.scheme() {
            "https" => {}
            "http" if crate::email::is_loopback(host) => {}
            "http" => {
                return Err(invalid(
                    "url",
                    format!("{host} is not this machine: messages leave over https only"),
                ));
            }
            other => return Err(invalid("url", format!("{other}: is not http or https"))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "url",
                "holds a user name or password: put credentials in the shared secret, not the URL",
            ));
        }
        self.secret = self.secret.trim().to_owned();
        if self.secret.len() < MIN_SECRET_LEN {
            return Err(invalid(
                "secret",
                format!(
                    "holds {} characters; use at least {MIN_SECRET_LEN} (for example 32 random hex digits)",
                    self.secret.len()
                ),
            ));
        }
        Ok(self)
    }
}

impl AccountSettings for GatewaySettings {
    const CHANNEL: Channel = Channel::Webhook;
    const ACCOUNT: &'static str = "a webhook gateway account";
    const KIND: &'static str = "gateway";
    const COMMAND: &'static str = "stoke account webhook";
    const AUDIT_ACTION: &'static str = "account.webhook";
    type Stored = StoredConfig;

    fn to_stored(&self, key: &WorkspaceKey) -> Result<StoredConfig, ConfigError> {
        Ok(StoredConfig {
            url: self.url.clone(),
            secret: key.seal(&self.secret)?,
        })
    }

    fn from_stored(stored: StoredConfig, key: &WorkspaceKey) -> Result<Self, ConfigError> {
        Ok(Self {
            url: stored.url,
            secret: key.open(&stored.secret)?,
        })
    }

    /// The URL, never the secret.
    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({ "url": self.url, "secret": true })
    }
}

/// Creates the gateway account `name` when new and stores its settings (secret sealed),
/// recorded in the audit log as `actor` without the secret.
pub async fn configure(
    store: &dyn Store,
    key: &WorkspaceKey,
    name: &str,
    settings: GatewaySettings,
    actor: &str,
    now: Timestamp,
) -> Result<Account, ConfigError> {
    let settings = settings.normalised()?;
    crate::channel::save_settings(store, key, name, None, settings, actor, now).await
}

/// The signature of `body` sent at `timestamp` (Unix seconds): `sha256=HEX`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = mac(secret, timestamp);
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn mac(secret: &str, timestamp: i64) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsigned {
    Missing,
    Stale,
    Wrong,
}

/// Checks a request's timestamp and signature headers against `body`, at `now`.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), Unsigned> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Unsigned::Missing);
    };
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| Unsigned::Missing)?;
    if (now.as_second() - timestamp).abs() > MAX_SKEW_SECONDS {
        return Err(Unsigned::Stale);
    }
    let Some(expected) = signature
        .trim()
        .strip_prefix("sha256=")
        .and_then(decode_hex)
    else {
        return Err(Unsigned::Wrong);
    };
    let mut mac = mac(secret, timestamp);
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| Unsigned::Wrong)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signature_holds_for_its_body_and_time_only() {
        let now: Timestamp = "2026-11-24T10:00:00Z".parse().expect("now");
        let at = now.as_second();
        let body = br#"{"events":[]}"#;
        let signature = sign(SECRET, at, body);
        let check = |ts: i64, sig: &str, body: &[u8]| {
            verify(SECRET, Some(&ts.to_string()), Some(sig), body, now)
        };
        assert_eq!(check(at, &signature, body), Ok(()));
        assert_eq!(check(at, &signature, b"{}"), Err(Unsigned::Wrong));
        // The same body signed at another moment is another signature.
        assert_eq!(check(at + 1, &signature, body), Err(Unsigned::Wrong));
        let old = at - MAX_SKEW_SECONDS - 1;
        assert_eq!(
            check(old, &sign(SECRET, old, body), body),
            Err(Unsigned::Stale)
        );
        assert_eq!(
            verify(SECRET, None, Some(&signature), body, now),
            Err(Unsigned::Missing)
        );
        assert_eq!(check(at, "sha256=zz", body), Err(Unsigned::Wrong));
        assert_eq!(
            verify(
                "another secret of enough length!!",
                Some(&at.to_string()),
                Some(&signature),
                body,
                now
            ),
            Err(Unsigned::Wrong)
        );
    }

    #[test]
    fn settings_are_checked() {
        let settings = |url: &str, secret: &str| {
            GatewaySettings {
                url: url.into(),
                secret: secret.into(),
            }
            .normalised()
        };
        assert!(settings("https://sms.example/stoke", SECRET).is_ok());
        assert!(settings("http://127.0.0.1:9000/hook", SECRET).is_ok());
        let field = |r: Result<GatewaySettings, ConfigError>| match r {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(settings("http://sms.example/hook", SECRET)), "url");
        assert_eq!(field(settings("ftp://sms.example/", SECRET)), "url");
        assert_eq!(field(settings("https://u:p@sms.example/", SECRET)), "url");
        assert_eq!(field(settings("not a url", SECRET)), "url");
        assert_eq!(field(settings("https://sms.example/", "short")), "secret");
        let debug = format!(
            "{:?}",
            settings("https://sms.example/", SECRET).expect("ok")
        );
        assert!(!debug.contains(SECRET), "{debug}");
    }
}
