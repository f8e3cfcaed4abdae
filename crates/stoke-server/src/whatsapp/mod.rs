//! The WhatsApp Business Cloud API channel (Meta Graph API): an account's settings with their
//! credentials sealed at rest (this module), and the webhook that brings messages and statuses
//! in (`webhook`), the provider that sends (`send`), and read marks when an agent opens a
//! conversation (`read`).
//!
//! An account's `config` is JSON text: `phone_number_id`, `api_version`, `api_base` in the
//! clear, and `access_token`, `app_secret`, `verify_token` sealed with the workspace key
//! (`crate::secrets`). They are opened only where they are used (a signature check, a send).
//! `tier` (in the clear) is the number's messaging tier, a name from the playbook's
//! `[limits.cloud_api.tiers]`: the unique contacts it may reach outside the service window a day.

pub mod read;
pub mod send;
pub mod webhook;

pub use read::{mark_read, mark_read_soon};

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stoke_core::{Account, Channel, Consent, ConsentStatus, ContactId};
use stoke_store::{Store, StoreError};

pub use crate::channel::{AccountSettings, ConfigError};
use crate::secrets::WorkspaceKey;

/// The Graph API version used when an account names none.
pub const DEFAULT_API_VERSION: &str = "v21.0";

/// Where the Graph API lives unless an account says otherwise (tests point it at loopback).
pub const DEFAULT_API_BASE: &str = "https://graph.facebook.com";

/// The account `STOKE_WHATSAPP_*` variables configure.
pub const ENV_ACCOUNT: &str = "whatsapp";

/// The stored form of an account's settings, secrets sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConfig {
    phone_number_id: String,
    #[serde(default = "default_version")]
    api_version: String,
    #[serde(default = "default_base")]
    api_base: String,
    access_token: Option<String>,
    app_secret: Option<String>,
    verify_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tier: Option<String>,
}

fn default_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_base() -> String {
    DEFAULT_API_BASE.to_owned()
}

/// A WhatsApp number's settings with its secrets open, for the moment they are used. `Debug`
/// hides the secrets.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WhatsAppSettings {
    pub phone_number_id: String,
    pub api_version: String,
    pub api_base: String,
    pub access_token: Option<String>,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    /// The messaging tier (`250`, `1k`, `10k`, `100k`, `unlimited`: the playbook's names);
    /// `None`: the playbook's tier for a Cloud API number.
    pub tier: Option<String>,
}

impl fmt::Debug for WhatsAppSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "(hidden)");
        f.debug_struct("WhatsAppSettings")
            .field("phone_number_id", &self.phone_number_id)
            .field("api_version", &self.api_version)
            .field("api_base", &self.api_base)
            .field("access_token", &hidden(&self.access_token))
            .field("app_secret", &hidden(&self.app_secret))
            .field("verify_token", &hidden(&self.verify_token))
            .field("tier", &self.tier)
            .finish()
    }
}

impl WhatsAppSettings {
    /// Settings with the defaults filled in, checked field by field.
    pub fn normalised(mut self) -> Result<Self, ConfigError> {
        self.phone_number_id = self.phone_number_id.trim().to_owned();
        if self.phone_number_id.is_empty()
            || !self.phone_number_id.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ConfigError::Invalid {
                field: "phone_number_id",
                message: "Meta's phone-number id is digits (WhatsApp Manager, API setup)".into(),
            });
        }
        if self.api_version.trim().is_empty() {
            self.api_version = default_version();
        }
        self.api_version = self.api_version.trim().to_owned();
        if !self.api_version.starts_with('v') {
            return Err(ConfigError::Invalid {
                field: "api_version",
                message: format!(
                    "{:?} is not a Graph API version like v21.0",
                    self.api_version
                ),
            });
        }
        if self.api_base.trim().is_empty() {
            self.api_base = default_base();
        }
        self.api_base = self.api_base.trim().trim_end_matches('/').to_owned();
        if !(self.api_base.starts_with("https://") || self.api_base.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                field: "api_base",
                message: format!("{:?} is not an http(s) URL", self.api_base),
            });
        }
        if let Some(tier) = &self.tier {
            let tier = tier.trim().to_ascii_lowercase();
            if tier.is_empty() {
                self.tier = None;
            } else if tier.len() > 16 || !tier.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(ConfigError::Invalid {
                    field: "tier",
                    message: format!(
                        "{tier:?} is not a messaging tier like 250, 1k, 10k, 100k or unlimited"
                    ),
                });
            } else {
                self.tier = Some(tier);
            }
        }
        for (field, value) in [
            ("access_token", &mut self.access_token),
            ("app_secret", &mut self.app_secret),
            ("verify_token", &mut self.verify_token),
        ] {
            if let Some(v) = value {
                let trimmed = v.trim();
                if trimmed.is_empty() {
                    *value = None;
                } else if trimmed.chars().any(char::is_control) {
                    return Err(ConfigError::Invalid {
                        field,
                        message: "holds control characters".into(),
                    });
                } else {
                    *v = trimmed.to_owned();
                }
            }
        }
        Ok(self)
    }

    /// An account's messaging tier, read without opening its secrets (the dispatcher's pace).
    pub fn tier_of(account: &Account) -> Option<String> {
        if account.channel != Channel::WhatsApp {
            return None;
        }
        let stored: StoredConfig = serde_json::from_str(account.config.as_deref()?).ok()?;
        stored.tier
    }
}

impl AccountSettings for WhatsAppSettings {
    const CHANNEL: Channel = Channel::WhatsApp;
    const ACCOUNT: &'static str = "a WhatsApp account";
    const KIND: &'static str = "WhatsApp";
    const COMMAND: &'static str = "stoke account whatsapp";
    const AUDIT_ACTION: &'static str = "account.whatsapp";
    type Stored = StoredConfig;

    /// The stored form, secrets sealed.
    fn to_stored(&self, key: &WorkspaceKey) -> Result<StoredConfig, ConfigError> {
        let seal = |s: &Option<String>| s.as_deref().map(|v| key.seal(v)).transpose();
        Ok(StoredConfig {
            phone_number_id: self.phone_number_id.clone(),
            api_version: self.api_version.clone(),
            api_base: self.api_base.clone(),
            access_token: seal(&self.access_token)?,
            app_secret: seal(&self.app_secret)?,
            verify_token: seal(&self.verify_token)?,
            tier: self.tier.clone(),
        })
    }

    fn from_stored(stored: StoredConfig, key: &WorkspaceKey) -> Result<Self, ConfigError> {
        let open = |s: Option<String>| s.map(|v| key.open(&v)).transpose();
        Ok(Self {
            phone_number_id: stored.phone_number_id,
            api_version: stored.api_version,
            api_base: stored.api_base,
            access_token: open(stored.access_token)?,
            app_secret: open(stored.app_secret)?,
            verify_token: open(stored.verify_token)?,
            tier: stored.tier,
        })
    }

    /// Which secrets are set, never their values.
    fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({
            "phone_number_id": self.phone_number_id,
            "api_version": self.api_version,
            "api_base": self.api_base,
            "access_token": self.access_token.is_some(),
            "app_secret": self.app_secret.is_some(),
            "verify_token": self.verify_token.is_some(),
            "tier": self.tier,
        })
    }
}

/// Creates the WhatsApp account `name` when new and stores its settings (secrets sealed);
/// recorded in the audit log as `actor`, without the secrets.
pub async fn configure(
    store: &dyn Store,
    key: &WorkspaceKey,
    name: &str,
    settings: WhatsAppSettings,
    actor: &str,
    now: Timestamp,
) -> Result<Account, ConfigError> {
    let settings = settings.normalised()?;
    crate::channel::save_settings(store, key, name, None, settings, actor, now).await
}

/// The settings `STOKE_WHATSAPP_*` describe, when `STOKE_WHATSAPP_PHONE_NUMBER_ID` is set.
/// `lookup` reads a variable (the process environment in the binary).
pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Option<WhatsAppSettings> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let phone_number_id = get("STOKE_WHATSAPP_PHONE_NUMBER_ID")?;
    Some(WhatsAppSettings {
        phone_number_id,
        api_version: get("STOKE_WHATSAPP_API_VERSION").unwrap_or_default(),
        api_base: get("STOKE_WHATSAPP_API_BASE").unwrap_or_default(),
        access_token: get("STOKE_WHATSAPP_TOKEN"),
        app_secret: get("STOKE_WHATSAPP_APP_SECRET"),
        verify_token: get("STOKE_WHATSAPP_VERIFY_TOKEN"),
        tier: get("STOKE_WHATSAPP_TIER"),
    })
}

/// 131050: the person stopped marketing messages from this business on WhatsApp (a status
/// delivered by the webhook, or the answer to a send). Their WhatsApp consent is withdrawn,
/// which the dispatcher's rules read for promotions; a repeated report records nothing new.
pub async fn withdraw_marketing(
    store: &dyn Store,
    contact: ContactId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let already = store
        .get_contact(contact)
        .await?
        .consents
        .iter()
        .rev()
        .find(|c| c.channel == Channel::WhatsApp)
        .is_some_and(|c| c.status == ConsentStatus::Withdrawn);
    if already {
        return Ok(());
    }
    store
        .record_consent(
            contact,
            &Consent {
                channel: Channel::WhatsApp,
                status: ConsentStatus::Withdrawn,
                at,
                source: "WhatsApp 131050: stopped marketing messages".into(),
            },
        )
        .await
}

/// Every WhatsApp account whose settings open with this key, with them.
pub async fn accounts(
    store: &dyn Store,
    key: &WorkspaceKey,
) -> Result<Vec<(Account, WhatsAppSettings)>, StoreError> {
    let mut out = Vec::new();
    for account in store.list_accounts().await? {
        if account.channel != Channel::WhatsApp || account.config.is_none() {
            continue;
        }
        match WhatsAppSettings::of(&account, key) {
            Ok(settings) => out.push((account, settings)),
            Err(e) => {
                tracing::warn!(account = %account.name, error = %e, "WhatsApp settings unreadable")
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_sealed_and_checked() {
        let key = WorkspaceKey::generate().expect("key");
        let settings = WhatsAppSettings {
            phone_number_id: " 106540352242922 ".into(),
            access_token: Some("EAAG-token".into()),
            app_secret: Some("app-secret".into()),
            verify_token: Some("".into()),
            ..Default::default()
        }
        .normalised()
        .expect("valid");
        assert_eq!(settings.api_version, DEFAULT_API_VERSION);
        assert_eq!(settings.api_base, DEFAULT_API_BASE);
        assert_eq!(settings.verify_token, None);
        let sealed = settings.seal(&key).expect("seal");
        assert!(!sealed.contains("EAAG") && !sealed.contains("app-secret"));
        let debug = format!("{settings:?}");
        assert!(!debug.contains("EAAG"), "{debug}");
        let bad = WhatsAppSettings {
            phone_number_id: "+1 555".into(),
            ..Default::default()
        }
        .normalised();
        assert!(matches!(
            bad,
            Err(ConfigError::Invalid {
                field: "phone_number_id",
                ..
            })
        ));
        let env = from_env(|n| match n {
            "STOKE_WHATSAPP_PHONE_NUMBER_ID" => Some("1065".into()),
            "STOKE_WHATSAPP_TOKEN" => Some("t".into()),
            _ => None,
        })
        .expect("configured");
        assert_eq!(env.access_token.as_deref(), Some("t"));
        assert!(from_env(|_| None).is_none());
    }
}
