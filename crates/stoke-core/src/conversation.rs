//! Conversations and messages.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::account::Channel;
use crate::id::{AccountId, ContactId, ConversationId, MessageId, UserId};

/// The thread between one contact and one sender account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact: ContactId,
    pub account: AccountId,
    pub channel: Channel,
    pub assignee: Option<UserId>,
    pub last_message_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the customer.
    In,
    /// From the business.
    Out,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a direction (in, out)")]
pub struct UnknownDirection(pub String);

impl FromStr for Direction {
    type Err = UnknownDirection;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "in" | "inbound" => Ok(Direction::In),
            "out" | "outbound" => Ok(Direction::Out),
            _ => Err(UnknownDirection(s.trim().to_owned())),
        }
    }
}

/// Where a message is on its way. Inbound messages start `Received`; outbound ones `Queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageStatus {
    Received,
    Queued,
    Sent,
    Delivered,
    Read,
    Replied,
    Clicked,
    Failed,
    /// In flight at a crash and not confirmed since: never blindly resent.
    Unknown,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Received,
        MessageStatus::Queued,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Replied,
        MessageStatus::Clicked,
        MessageStatus::Failed,
        MessageStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Received => "received",
            MessageStatus::Queued => "queued",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Replied => "replied",
            MessageStatus::Clicked => "clicked",
            MessageStatus::Failed => "failed",
            MessageStatus::Unknown => "unknown",
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown message status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a message status")]
pub struct UnknownStatus(pub String);

impl FromStr for MessageStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.trim().to_owned()))
    }
}

/// One step of a message's status timeline, with the provider's reason when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: MessageStatus,
    pub at: Timestamp,
    pub detail: Option<String>,
}

/// A message to record, from an import, a webhook or the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageDraft {
    /// The idempotency key: the import's id, the provider's message id. The same key twice is
    /// stored once.
    pub external_id: String,
    pub contact: ContactId,
    pub account: AccountId,
    pub direction: Direction,
    pub text: String,
    pub at: Timestamp,
    /// The provider's id (`wamid...`), when it differs from the import's key.
    pub provider_id: Option<String>,
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub external_id: String,
    pub conversation: ConversationId,
    pub contact: ContactId,
    pub account: AccountId,
    pub channel: Channel,
    pub direction: Direction,
    pub text: String,
    pub at: Timestamp,
    pub provider_id: Option<String>,
    /// The timeline, oldest first; the last entry is the current status.
    pub statuses: Vec<StatusChange>,
}

impl Message {
    pub fn status(&self) -> Option<MessageStatus> {
        self.statuses.last().map(|s| s.status)
    }
}
