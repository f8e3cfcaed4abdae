//! What the outbox keeps: broadcasts, queued messages and their outcomes (SPEC 5.3). Every
//! outbound message is a row here before it leaves; `Sending` is written before the provider is
//! called, so that a crash leaves a trace of what may have gone.

use jiff::Timestamp;
use stoke_core::engine::ContactState;
use stoke_core::outbox::{BroadcastStatus, FailureClass, OutboxStatus, Purpose};
use stoke_core::template::MediaKind;
use stoke_core::{AccountId, Contact, ContactId};

/// A broadcast's id.
pub type BroadcastId = i64;
/// An outbox message's id.
pub type OutboxId = i64;

/// What a broadcast sends: a stored template, or a one-off text (itself a template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Template(String),
    Text(String),
}

/// What it takes to create a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastDraft {
    pub name: String,
    /// The segment expression the recipients came from, as written.
    pub audience: String,
    pub account: AccountId,
    pub content: Content,
    /// Nobody receives it before this moment.
    pub not_before: Timestamp,
    /// Each recipient at their golden window.
    pub golden_window: bool,
    /// An admin's override for urgent service notices (audited by the caller).
    pub ignore_quiet_hours: bool,
    pub created_by: Option<String>,
    /// Refused when the workspace's broadcasts of the last 24 hours plus this one would
    /// exceed it (SPEC 5.3: 100,000 a day).
    pub daily_limit: u64,
}

/// A broadcast as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    pub id: BroadcastId,
    pub name: String,
    pub audience: String,
    pub account: AccountId,
    pub content: Content,
    pub not_before: Timestamp,
    pub golden_window: bool,
    pub ignore_quiet_hours: bool,
    pub status: BroadcastStatus,
    pub recipients: u64,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A broadcast with its recipients counted by outbox status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastReport {
    pub broadcast: Broadcast,
    /// `(status, count)` for every status with at least one recipient.
    pub counts: Vec<(OutboxStatus, u64)>,
}

impl BroadcastReport {
    pub fn count(&self, status: OutboxStatus) -> u64 {
        self.counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }
}

/// One message to enqueue outside a broadcast: an opt-out confirmation, an agent's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDraft {
    /// Idempotency key: enqueueing the same key twice keeps the first.
    pub key: String,
    pub account: AccountId,
    pub contact: ContactId,
    pub purpose: Purpose,
    pub content: Content,
    pub not_before: Timestamp,
}

/// A queued message due on an account, with what the dispatcher needs to weigh and render it.
#[derive(Debug, Clone, PartialEq)]
pub struct DueMessage {
    pub id: OutboxId,
    pub key: String,
    pub account: AccountId,
    pub broadcast: Option<BroadcastId>,
    pub purpose: Purpose,
    pub content: Content,
    pub golden_window: bool,
    pub ignore_quiet_hours: bool,
    /// Tries so far.
    pub attempts: u32,
    pub not_before: Timestamp,
    pub contact: Contact,
    pub state: ContactState,
    /// The contact's number was flagged invalid by an earlier failure.
    pub invalid_number: bool,
    /// Promotions the outbox delivered to the contact in the 7 days before `now` (on any
    /// account): what the weekly cap counts.
    pub promotions_this_week: u32,
}

/// The message as it leaves: written with `Sending` before the provider is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub to: String,
    pub kind: MediaKind,
    pub text: String,
    pub media_url: Option<String>,
    pub content_hash: String,
    /// When the contact last wrote (the engine's state at dispatch): what a channel with a
    /// service window (WhatsApp's 24 hours) checks before a free-form message leaves.
    pub last_inbound_at: Option<Timestamp>,
    /// The stored template it was rendered from, if any: what a channel with a service window
    /// sends outside it instead of the text.
    pub template: Option<OutboundTemplate>,
}

/// A rendered message's template: its Stoke name (for a refusal a person can act on) and the
/// approved WhatsApp template of the contact's variant, filled for the contact, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundTemplate {
    pub name: String,
    /// The variant's language (`None`: the default variant).
    pub language: Option<String>,
    pub whatsapp: Option<stoke_core::template::ApprovedMessage>,
}

/// How a send ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The provider accepted it, with its message id.
    Sent { provider_id: String },
    Failed {
        class: FailureClass,
        detail: String,
        /// Back to the queue at this moment; `None`: it stays failed.
        retry_at: Option<Timestamp>,
        /// Flag the contact's number as invalid (cleanup candidates).
        flag_invalid: bool,
    },
}

/// One outbox message as `show` and the tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: OutboxId,
    pub key: String,
    pub account: AccountId,
    pub contact: ContactId,
    pub broadcast: Option<BroadcastId>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub not_before: Timestamp,
    pub text: Option<String>,
    pub provider_id: Option<String>,
    /// The failure class, skip reason or wait reason last recorded.
    pub reason: Option<String>,
    pub sent_at: Option<Timestamp>,
}

/// What taking over an account's dispatching found: messages that were `Sending` under a
/// lapsed lease, now `Unknown` (they may or may not have left; never resent blindly).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Takeover {
    pub unknown: Vec<OutboxEntry>,
}

/// The idempotency key of the business message a sent outbox message becomes: its own key in
/// a namespace of its own, so that it never meets an imported message's id.
pub fn message_key(outbox_key: &str) -> String {
    format!("outbox:{outbox_key}")
}
