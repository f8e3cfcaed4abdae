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

/// The account a channel's settings are written to: the existing one of that name, or a new one
/// with the playbook's pacing; `None` when the name belongs to an account of another channel.
pub(crate) async fn settings_account(
    store: &dyn stoke_store::Store,
    name: &str,
    channel: Channel,
    address: Option<String>,
    now: jiff::Timestamp,
) -> stoke_store::StoreResult<Option<Account>> {
    let account = store
        .ensure_account(
            &stoke_core::AccountDraft {
                name: name.trim().to_owned(),
                channel,
                address,
                limits: stoke_core::pacing::AccountLimits::default(),
            },
            now,
        )
        .await?;
    Ok((account.channel == channel).then_some(account))
}

/// Writes an account's sealed settings and records the change in the audit log as `action`,
/// with the settings' audit views before and after (which secrets are set, never their values).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_settings(
    store: &dyn stoke_store::Store,
    account: &Account,
    sealed: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
    action: &str,
    actor: &str,
    now: jiff::Timestamp,
) -> stoke_store::StoreResult<Account> {
    let account = store
        .set_account_config(&account.name, Some(sealed))
        .await?;
    crate::audit::record(
        store,
        actor,
        action,
        format!("account:{}", account.name),
        before,
        Some(after),
        now,
    )
    .await?;
    Ok(account)
}
