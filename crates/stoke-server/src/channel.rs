//! The edge where messages leave: one `Provider` per channel (the simulator now; WhatsApp Cloud
//! API, SMTP and webhooks as adapters of their own). The dispatcher hands a provider one message
//! at a time and records what it answered.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use stoke_core::outbox::FailureClass;
use stoke_core::{Account, Channel};
use stoke_store::outbox::Outbound;

/// The provider took the message: its id for the message (receipts name it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub provider_id: String,
}

/// The provider refused or could not be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub class: FailureClass,
    /// The provider's code and words, as they gave them.
    pub detail: String,
}

/// A channel's sending side.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Sends one message. `key` is the outbox's idempotency key: a provider that supports one
    /// passes it on, so that a retry after an unclear failure is not a second message.
    async fn send(
        &self,
        account: &Account,
        key: &str,
        message: &Outbound,
    ) -> Result<Accepted, Refused>;
}

/// The providers a node can send through, by channel. An account whose channel has none here
/// is not dispatched (its messages wait, and the node says so in its log).
#[derive(Debug, Clone, Default)]
pub struct Providers {
    by_channel: BTreeMap<Channel, Arc<dyn Provider>>,
}

impl Providers {
    pub fn with(mut self, channel: Channel, provider: Arc<dyn Provider>) -> Self {
        self.by_channel.insert(channel, provider);
        self
    }

    pub fn get(&self, channel: Channel) -> Option<Arc<dyn Provider>> {
        self.by_channel.get(&channel).cloned()
    }
}

/// A channel account's settings that could not be set or read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// The name belongs to an account of another channel.
    #[error("account {account:?} is not {kind}")]
    WrongChannel {
        account: String,
        /// "an e-mail account", "a WhatsApp account".
        kind: &'static str,
    },
    #[error("account {account:?} has no {kind} settings: set them with `{command}`")]
    Missing {
        account: String,
        /// "e-mail", "WhatsApp".
        kind: &'static str,
        /// The command that sets them: "stoke account email".
        command: &'static str,
    },
    #[error("account {account:?}: its stored settings cannot be read: {reason}")]
    Corrupt { account: String, reason: String },
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Store(#[from] stoke_store::StoreError),
}

/// A field's value refused, with the reason.
pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

/// A channel's settings as its account keeps them: JSON text in the account's `config`, the
/// secrets in it sealed with the workspace key. The e-mail, WhatsApp and webhook gateway
/// settings say how they are stored and audited; reading, sealing and saving are common.
pub trait AccountSettings: Sized + PartialEq {
    /// The channel of the accounts that hold these settings.
    const CHANNEL: Channel;
    /// The account, for messages: "an e-mail account".
    const ACCOUNT: &'static str;
    /// The settings, for messages: "e-mail".
    const KIND: &'static str;
    /// The command that sets them: "stoke account email".
    const COMMAND: &'static str;
    /// The audit log's action for a change: "account.email".
    const AUDIT_ACTION: &'static str;
    /// The stored form, secrets sealed.
    type Stored: serde::Serialize + serde::de::DeserializeOwned;

    fn to_stored(&self, key: &crate::secrets::WorkspaceKey) -> Result<Self::Stored, ConfigError>;
    fn from_stored(
        stored: Self::Stored,
        key: &crate::secrets::WorkspaceKey,
    ) -> Result<Self, ConfigError>;
    /// What the audit log keeps: which secrets are set, never their values.
    fn audit_view(&self) -> serde_json::Value;

    /// The JSON text stored on the account, secrets sealed.
    fn seal(&self, key: &crate::secrets::WorkspaceKey) -> Result<String, ConfigError> {
        serde_json::to_string(&self.to_stored(key)?).map_err(|e| ConfigError::Corrupt {
            account: String::new(),
            reason: e.to_string(),
        })
    }

    /// An account's settings, secrets opened.
    fn of(account: &Account, key: &crate::secrets::WorkspaceKey) -> Result<Self, ConfigError> {
        if account.channel != Self::CHANNEL {
            return Err(ConfigError::WrongChannel {
                account: account.name.clone(),
                kind: Self::ACCOUNT,
            });
        }
        let text = account
            .config
            .as_deref()
            .ok_or_else(|| ConfigError::Missing {
                account: account.name.clone(),
                kind: Self::KIND,
                command: Self::COMMAND,
            })?;
        let stored = serde_json::from_str(text).map_err(|e| ConfigError::Corrupt {
            account: account.name.clone(),
            reason: e.to_string(),
        })?;
        Self::from_stored(stored, key)
    }
}

/// Creates the account `name` of the settings' channel when new (with the playbook's pacing)
/// and stores the settings, secrets sealed, recorded in the audit log as `actor` with the
/// settings' audit views before and after. The same settings again (every `stoke serve` start
/// with the same environment) write and record nothing.
pub(crate) async fn save_settings<S: AccountSettings>(
    store: &dyn stoke_store::Store,
    key: &crate::secrets::WorkspaceKey,
    name: &str,
    address: Option<String>,
    settings: S,
    actor: &str,
    now: jiff::Timestamp,
) -> Result<Account, ConfigError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "an account needs a name"));
    }
    let account = store
        .ensure_account(
            &stoke_core::AccountDraft {
                name: name.to_owned(),
                channel: S::CHANNEL,
                address,
                limits: stoke_core::pacing::AccountLimits::default(),
            },
            now,
        )
        .await?;
    if account.channel != S::CHANNEL {
        return Err(ConfigError::WrongChannel {
            account: name.to_owned(),
            kind: S::ACCOUNT,
        });
    }
    let current = S::of(&account, key).ok();
    if current.as_ref() == Some(&settings) {
        return Ok(account);
    }
    let sealed = settings.seal(key)?;
    let account = store
        .set_account_config(&account.name, Some(&sealed))
        .await?;
    crate::audit::record(
        store,
        actor,
        S::AUDIT_ACTION,
        format!("account:{}", account.name),
        current.map(|s| s.audit_view()),
        Some(settings.audit_view()),
        now,
    )
    .await?;
    Ok(account)
}
