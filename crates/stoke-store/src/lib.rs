//! The `Store` interface: everything Stoke keeps, behind one trait that each backend implements
//! (`stoke-store-sqlite`, `stoke-store-postgres`), and the conformance suite that every
//! backend runs unchanged (feature `testing`).
//!
//! Architecture invariant: nothing here knows SQL or a particular database. Types crossing this
//! boundary are domain types from `stoke-core` or plain data defined here; ids are the store's,
//! times are `jiff::Timestamp`. Each operation is atomic: it either happens whole or not at all.
//!
//! The trait is object-safe (`Arc<dyn Store>`) so that the server and CLI are compiled once, not
//! once per backend; the cost is one boxed future per call, negligible next to a query.

pub mod codec;
#[cfg(feature = "testing")]
pub mod conformance;
/// Whole tables between backends (`stoke migrate`).
pub mod copy;
pub mod outbox;
/// The words searches match, shared by both backends.
pub mod search;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use stoke_core::engine::{ContactState, Rules};
use stoke_core::outbox::{BroadcastStatus, OutboxStatus};
use stoke_core::pacing::AccountLimits;
use stoke_core::template::Template;

use crate::outbox::{
    Broadcast, BroadcastDraft, BroadcastId, BroadcastReport, DueMessage, Outbound, OutboxDraft,
    OutboxEntry, OutboxId, SendOutcome, Takeover,
};
use stoke_core::{
    Account, AccountDraft, AccountId, Channel, Consent, Contact, ContactDraft, ContactId,
    ContactRef, Conversation, ConversationId, CustomFieldDef, Direction, Event, EventKind, Handle,
    Message, MessageId, Note, Role, StatusChange, Tag, TagChange, TagFamily, Task, TaskDraft,
    TaskId, Team, TeamId, User, UserDraft, UserId,
};

/// Whose contacts a caller may see and touch (SPEC 7). Backends apply it inside their queries,
/// so a handler cannot forget it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Admins: the whole workspace.
    Everything,
    /// Managers: contacts assigned to their team, or to one of its members.
    Team(TeamId),
    /// Agents: contacts assigned to them, and their team's contacts no agent holds.
    Agent { user: UserId, team: Option<TeamId> },
}

/// One contact as segment expressions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRow {
    pub contact: ContactId,
    /// Every tag the contact holds, engine and static.
    pub tags: Vec<(TagFamily, String)>,
    /// When the customer last wrote (the activity tag's evidence), if ever.
    pub last_reply: Option<Timestamp>,
    /// Opted out by their own words (the intent tag's `opt_out` rule).
    pub opted_out: bool,
}

/// What went wrong, in the caller's terms.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {key} not found")]
    NotFound { entity: &'static str, key: String },
    #[error("{entity} {key}: {reason}")]
    Conflict {
        entity: &'static str,
        key: String,
        reason: String,
    },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The database failed or holds something it should not; not the caller's fault.
    #[error("storage failure: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn not_found(entity: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }

    pub fn backend(err: impl std::fmt::Display) -> Self {
        StoreError::Backend(err.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Keyset pagination: items with an id greater than `after`, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<i64>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 1000;

    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }

    /// The limit a backend applies: at least 1, at most `MAX_LIMIT`.
    pub fn effective_limit(self) -> u32 {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

/// One page and the cursor of the next, `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from a query that fetched one row more than `limit`: that extra row tells
    /// there is a next page, whose cursor is the id of the last row kept.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, id_of: impl Fn(&T) -> i64) -> Self {
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(id_of)
        } else {
            None
        };
        Page { items, next }
    }
}

/// What importing a batch of contacts did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContactImportOutcome {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Existing contacts folded into another because one row named handles of both.
    pub merged: u64,
}

impl std::ops::AddAssign for ContactImportOutcome {
    fn add_assign(&mut self, o: Self) {
        self.created += o.created;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.merged += o.merged;
    }
}

/// A message from an import or a provider, naming its contact and account loosely: the store
/// resolves (and creates when needed) the contact, the account and the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Idempotency key: a message whose key is already stored is skipped.
    pub external_id: String,
    pub contact: ContactRef,
    /// The sender account's name; created with `channel` when new.
    pub account: String,
    pub channel: Channel,
    pub direction: Direction,
    pub text: String,
    pub at: Timestamp,
    pub provider_id: Option<String>,
}

/// An event from an import or an integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingEvent {
    pub external_id: String,
    pub contact: ContactRef,
    pub at: Timestamp,
    pub kind: EventKind,
}

/// What importing a batch of messages or events did. `unknown_contacts` holds the positions in
/// the batch of rows naming a contact id that does not exist; those rows are not stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestOutcome {
    pub inserted: u64,
    pub duplicates: u64,
    pub contacts_created: u64,
    pub unknown_contacts: Vec<usize>,
}

impl std::ops::AddAssign for IngestOutcome {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.duplicates += o.duplicates;
        self.contacts_created += o.contacts_created;
        self.unknown_contacts.extend(o.unknown_contacts);
    }
}

/// An API token as stored: only the hash of the secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub user: Option<UserId>,
    pub created_at: Timestamp,
}

/// What changed in the database, as far as a node's caches care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Contacts' tags, and so segments.
    Tags,
    /// Workspace settings, such as the playbook.
    Settings,
    /// Something was written, or notifications may have been missed: anything may have changed.
    Any,
}

/// What a contact list is narrowed to; every part given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFilter {
    /// Words found in the name, company, phones or e-mails (each word as a prefix of a word
    /// there, normalised as the classifier does; digits of a phone match without `+` or spaces).
    pub text: Option<String>,
    /// Holds this tag (family and value), engine or static.
    pub tag: Option<(TagFamily, String)>,
    /// Assigned to this user.
    pub owner: Option<UserId>,
    /// Assigned to nobody.
    pub unassigned: bool,
}

/// What the inbox is narrowed to; every part given must hold. The scope comes separately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxFilter {
    /// Conversations on this account only.
    pub account: Option<AccountId>,
    /// Contacts holding this tag (family and value): an activity tier is `activity:high`.
    pub tag: Option<(TagFamily, String)>,
    /// Contacts assigned to this user.
    pub owner: Option<UserId>,
    /// Contacts assigned to nobody.
    pub unassigned: bool,
}

/// Where an inbox page starts: conversations whose latest message is older than `at`, or as old
/// with a smaller id (the inbox is ordered newest first, so ids alone cannot page it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxCursor {
    pub at: Timestamp,
    pub conversation: ConversationId,
}

/// One line of the inbox: a conversation, whom it is with, and its latest message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub conversation: Conversation,
    pub contact_name: String,
    pub contact_owner: Option<UserId>,
    /// The latest message's direction and text.
    pub last: Option<(Direction, String)>,
}

/// An inbox page and the cursor of the next, `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<InboxRow>,
    pub next: Option<InboxCursor>,
}

impl InboxPage {
    /// Like `Page::from_overfetch`: the extra row says there is a next page.
    pub fn from_overfetch(mut items: Vec<InboxRow>, limit: u32) -> Self {
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().and_then(|r| {
                r.conversation.last_message_at.map(|at| InboxCursor {
                    at,
                    conversation: r.conversation.id,
                })
            })
        } else {
            None
        };
        InboxPage { items, next }
    }
}

/// A signed-in browser session. The cookie holds a random secret; the store keeps only its
/// hash, so a copy of the database does not let anyone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: UserId,
    /// The token every state-changing form and request must echo (CSRF protection).
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// How many rows an erasure removed, per kind: what the audit entry records instead of the
/// personal data itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    /// The contact and the contacts that had been merged into it.
    pub contacts: u64,
    pub messages: u64,
    pub events: u64,
    pub tag_changes: u64,
    pub notes: u64,
    pub tasks: u64,
    pub outbox: u64,
}

/// A change to record in the audit log: who did what to which thing, with the thing's state
/// before and after as JSON documents (no secrets, no more personal data than the change needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDraft {
    /// `user:EMAIL`, `token:NAME`, `cli:USER`, `system`.
    pub actor: String,
    /// `account.create`, `broadcast.create`, `template.put`, ...
    pub action: String,
    /// What was changed: `account:wa-1`, `broadcast:7`.
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Counts of what the workspace holds, for health pages and import reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub contacts: u64,
    pub accounts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub events: u64,
    pub tags: u64,
    pub users: u64,
}

/// Everything Stoke keeps. See the crate doc for the contract every implementation honours.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    // Contacts.

    /// Creates a contact from a draft. Fails with `Conflict` when one of its handles already
    /// belongs to a contact, and with `Invalid` when it has no handle and no name, or names an
    /// owner e-mail no user has (field `owner`).
    async fn create_contact(&self, draft: &ContactDraft, now: Timestamp) -> StoreResult<Contact>;

    /// Reads a contact; an id that was merged away resolves to the contact it was merged into.
    async fn get_contact(&self, id: ContactId) -> StoreResult<Contact>;

    /// Finds the contact a handle belongs to.
    async fn find_contact(&self, handle: &Handle) -> StoreResult<Option<Contact>>;

    /// Replaces a contact's fields and handles. Fails with `Conflict` when a new handle belongs
    /// to another contact.
    async fn update_contact(&self, contact: &Contact, now: Timestamp) -> StoreResult<Contact>;

    /// Lists the contacts a scope sees, in id order.
    async fn list_contacts(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<Contact>>;

    /// Reads a contact the scope sees (merged ids resolve); one it does not see is `NotFound`,
    /// exactly like one that does not exist, so ids cannot be probed.
    async fn get_contact_in(&self, scope: Scope, id: ContactId) -> StoreResult<Contact>;

    /// Folds `absorb` into `keep`: fields (`Contact::absorb`), handles, conversations,
    /// messages, events, tags and their history, notes and tasks all move; `absorb`'s id then
    /// resolves to `keep`.
    async fn merge_contacts(
        &self,
        keep: ContactId,
        absorb: ContactId,
        now: Timestamp,
    ) -> StoreResult<Contact>;

    /// Upserts a batch of drafts in one transaction, de-duplicating by handle: a draft matching
    /// no contact creates one; matching one updates it (only if something changed); matching
    /// several merges them into the oldest first. Static tags and notes are added once. A
    /// draft's `owner` e-mail assigns the contact to that user (found case-insensitively, in the
    /// same transaction); one no user has fails the batch with `Invalid` (field `owner`) and
    /// nothing of it is written.
    async fn import_contacts(
        &self,
        drafts: &[ContactDraft],
        now: Timestamp,
    ) -> StoreResult<ContactImportOutcome>;

    /// Appends a consent record to a contact.
    async fn record_consent(&self, contact: ContactId, consent: &Consent) -> StoreResult<()>;

    /// Defines (or redefines) a custom field.
    async fn define_custom_field(&self, def: &CustomFieldDef) -> StoreResult<()>;

    async fn list_custom_fields(&self) -> StoreResult<Vec<CustomFieldDef>>;

    // Accounts.

    /// Returns the account of that name, creating it when new. Fails with `Conflict` when the
    /// name exists on another channel.
    async fn ensure_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account>;

    async fn list_accounts(&self) -> StoreResult<Vec<Account>>;

    /// Creates a sender account; `Conflict` when the name is taken.
    async fn create_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account>;

    /// The account of that name.
    async fn get_account(&self, name: &str) -> StoreResult<Account>;

    /// Replaces an account's pacing overrides.
    async fn set_account_limits(&self, name: &str, limits: &AccountLimits) -> StoreResult<Account>;

    /// Replaces an account's provider settings (JSON text, secrets in it already sealed).
    async fn set_account_config(&self, name: &str, config: Option<&str>) -> StoreResult<Account>;

    /// Stops an account until a moment (a provider's restriction or rate limit), or lifts
    /// the stop with `None`.
    async fn pause_account(
        &self,
        account: AccountId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> StoreResult<()>;

    // Templates.

    /// Stores a template, replacing one of the same name.
    async fn put_template(&self, template: &Template, now: Timestamp) -> StoreResult<()>;

    async fn get_template(&self, name: &str) -> StoreResult<Template>;

    async fn list_templates(&self) -> StoreResult<Vec<Template>>;

    // Broadcasts and the outbox (SPEC 5.3).

    /// Creates a broadcast (a draft) with one queued outbox message per recipient, in one
    /// transaction. `Invalid` (field `audience`) when the broadcasts created in the last 24
    /// hours plus these recipients exceed `draft.daily_limit`.
    async fn create_broadcast(
        &self,
        draft: &BroadcastDraft,
        recipients: &[ContactId],
        now: Timestamp,
    ) -> StoreResult<Broadcast>;

    /// A broadcast with its recipients counted by status. A running broadcast with nothing
    /// left to send is reported (and stored) `Completed`.
    async fn get_broadcast(&self, id: BroadcastId, now: Timestamp) -> StoreResult<BroadcastReport>;

    /// Newest first.
    async fn list_broadcasts(&self, page: PageRequest) -> StoreResult<Page<Broadcast>>;

    /// Moves a broadcast to `next` when its status allows it (`Conflict` otherwise);
    /// cancelling cancels its queued messages.
    async fn set_broadcast_status(
        &self,
        id: BroadcastId,
        next: BroadcastStatus,
        now: Timestamp,
    ) -> StoreResult<Broadcast>;

    /// Enqueues one message (outside a broadcast), idempotent by key: returns the id of the
    /// message with that key, new or not.
    async fn enqueue(&self, draft: &OutboxDraft, now: Timestamp) -> StoreResult<OutboxId>;

    /// Up to `limit` queued messages of an account due at `now` (outside broadcasts, or in
    /// running ones), earliest first, with their contacts and engine states.
    async fn due_messages(
        &self,
        account: AccountId,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueMessage>>;

    /// When the account's next queued message falls due, if it has any in a sendable state.
    async fn next_due_at(&self, account: AccountId) -> StoreResult<Option<Timestamp>>;

    /// Sends a queued message back to the queue until `until`, with the reason.
    async fn defer_message(&self, id: OutboxId, until: Timestamp, reason: &str) -> StoreResult<()>;

    /// Marks a queued message skipped, for good, with the reason.
    async fn skip_message(&self, id: OutboxId, reason: &str, now: Timestamp) -> StoreResult<()>;

    /// Claims a queued message for sending: writes `Sending`, its content and the attempt,
    /// under `node`'s name. `false` when it is no longer queued (another node took it, or it
    /// was cancelled): it must then not be sent.
    async fn begin_send(
        &self,
        id: OutboxId,
        outbound: &Outbound,
        node: &str,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Records how a send ended. A sent message becomes a business message in the contact's
    /// conversation on the account, through the engine (a touch), in the same transaction.
    async fn finish_send(
        &self,
        id: OutboxId,
        outcome: &SendOutcome,
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<()>;

    /// The contact an outbox message went to, by the provider's id for it.
    async fn contact_of_provider_message(
        &self,
        provider_id: &str,
    ) -> StoreResult<Option<ContactId>>;

    /// A provider's receipt for a sent message, by the provider's message id: moves the
    /// outbox message forward (never back) and appends to the message's status timeline.
    /// `false` when no sent message has that provider id.
    async fn record_receipt(
        &self,
        provider_id: &str,
        status: OutboxStatus,
        at: Timestamp,
        detail: Option<&str>,
        flag_invalid: bool,
        rules: &Arc<Rules>,
    ) -> StoreResult<bool>;

    /// The account's send times since a moment (what its pacing counts).
    async fn account_sends(
        &self,
        account: AccountId,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>>;

    /// The latest time the same content left on another account since a moment.
    async fn identical_sent_at(
        &self,
        content_hash: &str,
        other_than: AccountId,
        since: Timestamp,
    ) -> StoreResult<Option<Timestamp>>;

    /// Takes over dispatching an account until `until` when nobody holds it, its holder's
    /// lease has lapsed, or the holder is `node` itself (a restarted node). On taking over,
    /// the account's messages left `Sending` become `Unknown` and are returned. `None` when
    /// another node holds a live lease.
    async fn claim_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Takeover>>;

    /// Extends `node`'s lease on an account; `false` when another node holds it now (the
    /// lease lapsed and was taken over): the dispatcher must stop sending on it.
    async fn renew_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Gives up a lease held by `node`.
    async fn release_account(&self, account: AccountId, node: &str) -> StoreResult<()>;

    /// A broadcast's messages, or all messages outside broadcasts (`None`), in id order.
    async fn list_outbox(
        &self,
        broadcast: Option<BroadcastId>,
        page: PageRequest,
    ) -> StoreResult<Page<OutboxEntry>>;

    // Messages and conversations.

    /// Stores a batch of messages in one transaction, idempotent by `external_id`. Contacts named
    /// by an unknown handle are created; accounts and conversations too. Every new message goes
    /// through the engine, and the tag changes are stored in the same transaction.
    async fn ingest_messages(
        &self,
        messages: &[IncomingMessage],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome>;

    async fn get_message(&self, id: MessageId) -> StoreResult<Message>;

    /// Appends a step to a message's status timeline; a delivery or read receipt of a business
    /// message goes through the engine (lead score, read-no-reply) in the same transaction.
    async fn add_message_status(
        &self,
        id: MessageId,
        change: &StatusChange,
        rules: &Arc<Rules>,
    ) -> StoreResult<()>;

    /// A contact's messages, oldest first.
    async fn list_messages(
        &self,
        contact: ContactId,
        page: PageRequest,
    ) -> StoreResult<Page<Message>>;

    async fn list_conversations(&self, contact: ContactId) -> StoreResult<Vec<Conversation>>;

    // Events.

    /// Stores a batch of events in one transaction, idempotent by `external_id`, through the
    /// engine like messages.
    async fn ingest_events(
        &self,
        events: &[IncomingEvent],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome>;

    // The engine's bookkeeping.

    /// Re-evaluates up to `limit` contacts whose tags are due to change at or before `now` (the
    /// due-time index), storing the changes; returns how many contacts were re-evaluated.
    async fn refresh_due(&self, now: Timestamp, rules: &Arc<Rules>, limit: u32)
    -> StoreResult<u64>;

    /// Rebuilds these contacts' engine state and tags from their whole history (after a playbook
    /// change); returns how many had a history. Reading and computing run outside the write
    /// transaction, so calls for different contacts proceed in parallel.
    async fn reclassify(
        &self,
        contacts: &[ContactId],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<u64>;

    /// Contacts with the engine's state (empty for a contact with no history), in id order, a
    /// page at a time: what the planner reads. `owner` keeps one user's contacts only.
    async fn planning_page(
        &self,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Page<(Contact, ContactState)>>;

    /// What segment expressions read of each contact, in id order, a page at a time: what
    /// builds a `stoke_core::segment::SegmentIndex`.
    async fn segment_page(&self, page: PageRequest) -> StoreResult<Page<SegmentRow>>;

    /// Contact ids in order, a page at a time (cheaper than `list_contacts` for bulk work).
    async fn contact_ids(&self, page: PageRequest) -> StoreResult<Page<ContactId>>;

    /// A contact's events, oldest first.
    async fn list_events(&self, contact: ContactId, page: PageRequest) -> StoreResult<Page<Event>>;

    // Tags.

    /// Applies tag changes and appends them to the contact's tag history, in one transaction.
    /// Setting a tag of an exclusive family replaces the family's other value.
    async fn apply_tag_changes(&self, contact: ContactId, changes: &[TagChange])
    -> StoreResult<()>;

    /// The tags a contact holds now, by family then value.
    async fn list_tags(&self, contact: ContactId) -> StoreResult<Vec<Tag>>;

    /// Every change to a contact's tags, oldest first.
    async fn tag_history(&self, contact: ContactId) -> StoreResult<Vec<TagChange>>;

    // Notes and tasks.

    async fn add_note(
        &self,
        contact: ContactId,
        author: Option<UserId>,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<Note>;

    async fn list_notes(&self, contact: ContactId) -> StoreResult<Vec<Note>>;

    async fn add_task(&self, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task>;

    async fn complete_task(&self, id: TaskId, at: Timestamp) -> StoreResult<Task>;

    async fn list_tasks(&self, contact: ContactId) -> StoreResult<Vec<Task>>;

    // People and access.

    async fn create_team(&self, name: &str) -> StoreResult<Team>;

    async fn list_teams(&self) -> StoreResult<Vec<Team>>;

    /// Fails with `Conflict` when the e-mail is taken.
    async fn create_user(&self, draft: &UserDraft, now: Timestamp) -> StoreResult<User>;

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>>;

    async fn get_user(&self, id: UserId) -> StoreResult<User>;

    async fn list_users(&self) -> StoreResult<Vec<User>>;

    /// Stores a token by the hash of its secret.
    async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        user: Option<UserId>,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<ApiToken>;

    async fn find_api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;

    /// Every API token (never their secrets), oldest first.
    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>>;

    /// Revokes a token: it stops working at once. Returns what it was; `NotFound` if none has
    /// that id.
    async fn revoke_api_token(&self, id: i64) -> StoreResult<ApiToken>;

    /// The user with this e-mail (compared as `find_user_by_email` does) and their password
    /// hash, for a login; `None` when no such user exists. The hash never leaves the server.
    async fn login_lookup(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>>;

    /// Sets (or clears) a user's password hash.
    async fn set_password_hash(&self, user: UserId, hash: Option<&str>) -> StoreResult<()>;

    // Search.

    /// The contacts the scope sees that match every part of `filter`, in id order (`after` is
    /// the last id of the previous page).
    async fn search_contacts(
        &self,
        scope: Scope,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Contact>>;

    /// Messages whose text holds every word of `query` (normalised as the classifier does, so
    /// `أسعار` finds `اسعار` and `ёлка` finds `елка`; a word matches as a prefix), on contacts the
    /// scope sees, optionally on one account, newest first: a page holds ids below `after`.
    async fn search_messages(
        &self,
        scope: Scope,
        query: &str,
        account: Option<AccountId>,
        page: PageRequest,
    ) -> StoreResult<Page<Message>>;

    /// The inbox: conversations with at least one message on contacts the scope sees, newest
    /// message first, narrowed by `filter`, starting after `after`, at most `limit` of them.
    async fn inbox(
        &self,
        scope: Scope,
        filter: &InboxFilter,
        after: Option<InboxCursor>,
        limit: u32,
    ) -> StoreResult<InboxPage>;

    // Workspace settings shared by every node (the playbook set over the API).

    /// A setting's value and when it was last written.
    async fn get_setting(&self, key: &str) -> StoreResult<Option<(String, Timestamp)>>;

    /// Writes a setting (replacing any value).
    async fn put_setting(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<()>;

    /// Removes a setting; removing an absent one is not an error.
    async fn delete_setting(&self, key: &str) -> StoreResult<()>;

    // Browser sessions (the dashboard), shared by every node through the database.

    /// Stores a session by the hash of its cookie's secret. `Conflict` if the hash exists.
    async fn create_session(&self, token_hash: &str, session: &Session) -> StoreResult<()>;

    /// The session with this hash, if it exists and has not expired at `now`.
    async fn find_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Session>>;

    /// Ends one session (logout); ending an unknown one is not an error.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Ends every session of a user (password or role change); returns how many ended.
    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<u64>;

    /// Removes expired sessions; returns how many.
    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64>;

    // Privacy (SPEC 7).

    /// Erases a contact and everything about it, in one transaction: handles, consents, custom
    /// values, conversations, messages and their statuses, events, tags and tag history, engine
    /// state and due time, notes, tasks, outbox rows and flags, and the contacts merged into it.
    /// `NotFound` when it does not exist (a merged-away id resolves to its survivor first).
    async fn erase_contact(&self, id: ContactId) -> StoreResult<Erased>;

    // The audit log (SPEC 7): appended to, read by admins, never changed.

    /// Appends an entry; returns its id.
    async fn append_audit(&self, entry: &AuditDraft, at: Timestamp) -> StoreResult<i64>;

    /// Entries oldest first, a page at a time.
    async fn list_audit(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>>;

    // The whole workspace.

    async fn counts(&self) -> StoreResult<Counts>;

    /// A feed of committed changes, for caches to follow: this process's writes and, where the
    /// backend can tell, every other node's on the same database. `None` when the backend offers
    /// none (caches then expire by age). A receiver that lags has missed changes: treat it as
    /// `Change::Any`. Must be called inside a Tokio runtime.
    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<Change>> {
        None
    }
}
