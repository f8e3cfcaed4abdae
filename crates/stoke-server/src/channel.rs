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
