//! Sender accounts: the WhatsApp numbers, e-mail identities and webhooks a workspace sends from.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::id::AccountId;
use crate::pacing::AccountLimits;

/// A channel messages travel on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    WhatsApp,
    Email,
    Sms,
    Webhook,
    /// The built-in channel that lets a new user try everything without a provider account.
    Simulator,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::WhatsApp,
        Channel::Email,
        Channel::Sms,
        Channel::Webhook,
        Channel::Simulator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WhatsApp => "whatsapp",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Webhook => "webhook",
            Channel::Simulator => "simulator",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown channel name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a channel (whatsapp, email, sms, webhook, simulator)")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "whatsapp" | "wa" => Ok(Channel::WhatsApp),
            "email" | "e-mail" | "mail" => Ok(Channel::Email),
            "sms" => Ok(Channel::Sms),
            "webhook" => Ok(Channel::Webhook),
            "simulator" => Ok(Channel::Simulator),
            _ => Err(UnknownChannel(s.trim().to_owned())),
        }
    }
}

/// What it takes to create a sender account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountDraft {
    /// Unique within the workspace; how imports and the CLI refer to the account.
    pub name: String,
    pub channel: Channel,
    /// The sending address: an E.164 number, an e-mail address, a URL.
    pub address: Option<String>,
    /// Overrides of the playbook's pacing.
    pub limits: AccountLimits,
}

/// A sender account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    pub channel: Channel,
    pub address: Option<String>,
    /// When the account started sending; warm-up limits are counted from here.
    pub created_at: Timestamp,
    pub limits: AccountLimits,
    /// Stopped by a provider's restriction or rate limit until then, and why.
    pub paused_until: Option<Timestamp>,
    pub pause_reason: Option<String>,
    /// The provider's settings as JSON text (a WhatsApp number's phone-number id, API version
    /// and sealed credentials); the channel's adapter reads it, the core never does.
    pub config: Option<String>,
}
