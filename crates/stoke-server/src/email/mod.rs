//! The e-mail channel (SPEC 5.1): an account's SMTP settings with the password sealed at rest
//! (this module), the message as it leaves (`compose`: multipart text and HTML, tracking links,
//! one-click unsubscribe headers), the provider that submits it over SMTP (`send`), and the
//! public endpoints that its links lead to (`tracking`: the open pixel, click redirects, the
//! unsubscribe page), which feed opens, clicks and opt-outs back into the engine.
//!
//! An account's `config` is JSON text: host, port, security, username, from address and name,
//! the public URL of this Stoke for tracking links, and an optional `mailto:` for unsubscribing,
//! in the clear; the password sealed with the workspace key (`crate::secrets`), opened only for
//! a send.

pub mod compose;
pub mod send;
pub mod tracking;
pub mod webhook;

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stoke_core::{Account, Channel, Email};
use stoke_store::Store;

use crate::channel::invalid;
pub use crate::channel::{AccountSettings, ConfigError};
use crate::secrets::WorkspaceKey;

/// The account `STOKE_SMTP_*` variables configure.
pub const ENV_ACCOUNT: &str = "email";

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// A plain connection upgraded with STARTTLS, which is required (port 587 by default): no
    /// fallback to plain text, so nobody in the middle can strip it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption at all: only for a relay on this machine (loopback), where nothing
    /// crosses a network. Refused for any other host.
    None,
}

impl Security {
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Starttls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    /// The submission port for this security when the account names none.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Starttls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

impl std::str::FromStr for Security {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Security::Starttls),
            "tls" | "ssl" | "smtps" => Ok(Security::Tls),
            "none" | "plain" => Ok(Security::None),
            other => Err(ConfigError::Invalid {
                field: "security",
                message: format!("{other:?} is not starttls, tls or none"),
            }),
        }
    }
}

/// The stored form of an account's settings, the password and webhook secret sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    host: String,
    port: u16,
    security: Security,
    username: Option<String>,
    password: Option<String>,
    from_address: String,
    from_name: Option<String>,
    public_url: String,
    unsubscribe_mailto: Option<String>,
    #[serde(default)]
    webhook_secret: Option<String>,
}

/// An e-mail account's settings with the password open, for the moment it is used. `Debug`
/// hides the password.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EmailSettings {
    /// The SMTP relay's host name (its certificate must name it).
    pub host: String,
    /// 0: the security's default port.
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender address (`From`), and the envelope sender bounces return to.
    pub from_address: String,
    pub from_name: Option<String>,
    /// Where this Stoke is reached from the internet (`https://stoke.example.com`): the base
    /// of the open pixel, click redirects and unsubscribe links in every message.
    pub public_url: String,
    /// An address that unsubscribes by mail (`unsubscribe@example.com`), offered beside the
    /// link in `List-Unsubscribe` when set.
    pub unsubscribe_mailto: Option<String>,
    /// The secret that signs the relay's bounce and complaint reports to
    /// `/webhooks/email/{account}` (`webhook`); without it that route refuses everything.
    pub webhook_secret: Option<String>,
}

impl fmt::Debug for EmailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(hidden)"))
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .field("public_url", &self.public_url)
            .field("unsubscribe_mailto", &self.unsubscribe_mailto)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "(hidden)"),
            )
            .finish()
    }
}

/// Whether a host name is this machine: `localhost` or a loopback address.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A value without control characters (a header or an SMTP command must not be split by one).
fn single_line(field: &'static str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "holds control characters"));
    }
    Ok(value.to_owned())
}

fn optional(field: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    value
        .map(|v| single_line(field, &v))
        .transpose()
        .map(|v| v.filter(|v| !v.is_empty()))
}

impl EmailSettings {
    /// Settings with the defaults filled in, checked field by field.
    pub fn normalised(mut self) -> Result<Self, ConfigError> {
        self.host = single_line("host", &self.host)?;
        // A host name or an IP address (IPv6 without brackets); a port goes in `port`.
        let ip = self.host.parse::<IpAddr>().is_ok();
        if self.host.is_empty()
            || self.host.contains([' ', '/', '['])
            || (self.host.contains(':') && !ip)
        {
            return Err(invalid(
                "host",
                "the SMTP relay's host name, like smtp.example.com",
            ));
        }
        if self.security == Security::None && !is_loopback(&self.host) {
            return Err(invalid(
                "security",
                format!(
                    "none sends the password and every message in clear text: only for a relay on loopback, not {:?}; use starttls or tls",
                    self.host
                ),
            ));
        }
        if self.port == 0 {
            self.port = self.security.default_port();
        }
        self.username = optional("username", self.username)?;
        // A password is kept as given (spaces may be part of it); only emptiness and control
        // characters are refused.
        if let Some(p) = &self.password {
            if p.is_empty() {
                self.password = None;
            } else if p.chars().any(char::is_control) {
                return Err(invalid("password", "holds control characters"));
            }
        }
        self.webhook_secret = optional("webhook_secret", self.webhook_secret)?;
        if self.password.is_some() && self.username.is_none() {
            return Err(invalid(
                "username",
                "a password is set, so the relay needs a user name too",
            ));
        }
        let from = single_line("from_address", &self.from_address)?;
        self.from_address = Email::parse(&from)
            .map_err(|e| invalid("from_address", e.to_string()))?
            .as_str()
            .to_owned();
        self.from_name = optional("from_name", self.from_name)?;
        let public = single_line("public_url", &self.public_url)?;
        let url = reqwest::Url::parse(&public).map_err(|e| {
            invalid(
                "public_url",
                format!("{public:?} is not a URL ({e}); the address of this Stoke, like https://stoke.example.com"),
            )
        })?;
        let loopback = url.host_str().is_some_and(is_loopback);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(invalid(
                    "public_url",
                    format!(
                        "{public:?}: tracking and unsubscribe links must be https (RFC 8058 requires it for one-click unsubscribe); http only on loopback"
                    ),
                ));
            }
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid(
                "public_url",
                "a base URL without ?query or #fragment",
            ));
        }
        self.public_url = public.trim_end_matches('/').to_owned();
        self.unsubscribe_mailto = optional("unsubscribe_mailto", self.unsubscribe_mailto)?
            .map(|m| {
                let address = m.trim_start_matches("mailto:");
                Email::parse(address)
                    .map(|e| e.as_str().to_owned())
                    .map_err(|e| invalid("unsubscribe_mailto", e.to_string()))
            })
            .transpose()?;
        Ok(self)
    }
}

impl AccountSettings for EmailSettings {
    const CHANNEL: Channel = Channel::Email;
    const ACCOUNT: &'static str = "an e-mail account";
    const KIND: &'static str = "e-mail";
    const COMMAND: &'static str = "stoke account email";
    const AUDIT_ACTION: &'static str = "account.email";
    type Stored = StoredConfig;

    /// The stored form, the password and webhook secret sealed.
    fn to_stored(&self, key: &WorkspaceKey) -> Result<StoredConfig, ConfigError> {
        Ok(StoredConfig {
            host: self.host.clone(),
            port: self.port,
            security: self.security,
            username: self.username.clone(),
            password: self.password.as_deref().map(|p| key.seal(p)).transpose()?,
            from_address: self.from_address.clone(),
            from_name: self.from_name.clone(),
            public_url: self.public_url.clone(),
            unsubscribe_mailto: self.unsubscribe_mailto.clone(),
            webhook_secret: self
                .webhook_secret
                .as_deref()
                .map(|p| key.seal(p))
                .transpose()?,
        })
    }

    fn from_stored(stored: StoredConfig, key: &WorkspaceKey) -> Result<Self, ConfigError> {
        Ok(Self {
            host: stored.host,
            port: stored.port,
            security: stored.security,
            username: stored.username,
            password: stored.password.map(|p| key.open(&p)).transpose()?,
            from_address: stored.from_address,
            from_name: stored.from_name,
            public_url: stored.public_url,
            unsubscribe_mailto: stored.unsubscribe_mailto,
            webhook_secret: stored.webhook_secret.map(|p| key.open(&p)).transpose()?,
        })
    }

    /// Whether a password is set, never its value.
    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({
            "host": self.host,
            "port": self.port,
            "security": self.security.as_str(),
            "username": self.username,
            "password": self.password.is_some(),
            "from_address": self.from_address,
            "from_name": self.from_name,
            "public_url": self.public_url,
            "unsubscribe_mailto": self.unsubscribe_mailto,
            "webhook_secret": self.webhook_secret.is_some(),
        })
    }
}

/// Creates the e-mail account `name` when new and stores its settings (password sealed);
/// recorded in the audit log as `actor`, without the password.
pub async fn configure(
    store: &dyn Store,
    key: &WorkspaceKey,
    name: &str,
    settings: EmailSettings,
    actor: &str,
    now: Timestamp,
) -> Result<Account, ConfigError> {
    let settings = settings.normalised()?;
    let address = Some(settings.from_address.clone());
    crate::channel::save_settings(store, key, name, address, settings, actor, now).await
}

/// The settings `STOKE_SMTP_*` describe, when `STOKE_SMTP_HOST` is set: `_PORT`, `_SECURITY`,
/// `_USERNAME`, `_PASSWORD`, `_FROM`, `_FROM_NAME`, `_PUBLIC_URL`, `_UNSUBSCRIBE_MAILTO`,
/// `_WEBHOOK_SECRET`.
/// `lookup` reads a variable (the process environment in the binary).
pub fn from_env(
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<Result<EmailSettings, ConfigError>> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let host = get("STOKE_SMTP_HOST")?;
    Some((|| {
        let port = match get("STOKE_SMTP_PORT") {
            Some(p) => p.trim().parse::<u16>().map_err(|_| {
                invalid(
                    "port",
                    format!("STOKE_SMTP_PORT={p:?} is not a port number"),
                )
            })?,
            None => 0,
        };
        let security = match get("STOKE_SMTP_SECURITY") {
            Some(s) => s.parse()?,
            None => Security::default(),
        };
        Ok(EmailSettings {
            host,
            port,
            security,
            username: get("STOKE_SMTP_USERNAME"),
            password: lookup("STOKE_SMTP_PASSWORD").filter(|p| !p.is_empty()),
            from_address: get("STOKE_SMTP_FROM").unwrap_or_default(),
            from_name: get("STOKE_SMTP_FROM_NAME"),
            public_url: get("STOKE_SMTP_PUBLIC_URL").unwrap_or_default(),
            unsubscribe_mailto: get("STOKE_SMTP_UNSUBSCRIBE_MAILTO"),
            webhook_secret: get("STOKE_SMTP_WEBHOOK_SECRET"),
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> EmailSettings {
        EmailSettings {
            host: " smtp.example.com ".into(),
            security: Security::Starttls,
            username: Some("stoke".into()),
            password: Some("s3cret pass".into()),
            webhook_secret: Some("hook-secret".into()),
            from_address: "Sales@Shop.Example".into(),
            from_name: Some("Shop".into()),
            public_url: "https://stoke.shop.example/".into(),
            ..Default::default()
        }
    }

    #[test]
    fn settings_are_sealed_and_checked() {
        let key = WorkspaceKey::generate().expect("key");
        let s = settings().normalised().expect("valid");
        assert_eq!(s.host, "smtp.example.com");
        assert_eq!(s.port, 587);
        assert_eq!(s.public_url, "https://stoke.shop.example");
        assert_eq!(s.password.as_deref(), Some("s3cret pass"));
        let sealed = s.seal(&key).expect("seal");
        assert!(
            !sealed.contains("s3cret") && !sealed.contains("hook-secret"),
            "{sealed}"
        );
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(!format!("{s:?}").contains("hook-secret"));
        let account = Account {
            id: stoke_core::AccountId::new(1),
            name: "mail".into(),
            channel: Channel::Email,
            address: None,
            created_at: Timestamp::UNIX_EPOCH,
            limits: stoke_core::pacing::AccountLimits::default(),
            paused_until: None,
            pause_reason: None,
            config: Some(sealed),
        };
        assert_eq!(EmailSettings::of(&account, &key).expect("opens"), s);
        let field = |s: EmailSettings| match s.normalised() {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(
            field(EmailSettings {
                security: Security::None,
                ..settings()
            }),
            "security"
        );
        assert_eq!(
            field(EmailSettings {
                public_url: "http://stoke.shop.example".into(),
                ..settings()
            }),
            "public_url"
        );
        assert_eq!(
            field(EmailSettings {
                from_address: "not an address".into(),
                ..settings()
            }),
            "from_address"
        );
        assert_eq!(
            field(EmailSettings {
                username: None,
                ..settings()
            }),
            "username"
        );
        assert_eq!(
            field(EmailSettings {
                host: "smtp.example.com\r\nRCPT".into(),
                ..settings()
            }),
            "host"
        );
        assert_eq!(
            field(EmailSettings {
                host: "smtp.example.com:587".into(),
                ..settings()
            }),
            "host"
        );
        assert!(
            EmailSettings {
                host: "::1".into(),
                security: Security::None,
                ..settings()
            }
            .normalised()
            .is_ok()
        );
        let local = EmailSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            security: Security::None,
            public_url: "http://127.0.0.1:8080".into(),
            ..settings()
        }
        .normalised()
        .expect("loopback may go without TLS");
        assert_eq!(local.port, 2525);
    }

    #[test]
    fn the_environment_describes_one_account() {
        assert!(from_env(|_| None).is_none());
        let env = from_env(|n| match n {
            "STOKE_SMTP_HOST" => Some("smtp.example.com".into()),
            "STOKE_SMTP_PORT" => Some("465".into()),
            "STOKE_SMTP_SECURITY" => Some("tls".into()),
            "STOKE_SMTP_FROM" => Some("sales@shop.example".into()),
            "STOKE_SMTP_PUBLIC_URL" => Some("https://stoke.shop.example".into()),
            _ => None,
        })
        .expect("configured")
        .expect("valid");
        assert_eq!((env.port, env.security), (465, Security::Tls));
        let bad = from_env(|n| match n {
            "STOKE_SMTP_HOST" => Some("smtp.example.com".into()),
            "STOKE_SMTP_PORT" => Some("five".into()),
            _ => None,
        })
        .expect("configured");
        assert!(matches!(
            bad,
            Err(ConfigError::Invalid { field: "port", .. })
        ));
    }
}
