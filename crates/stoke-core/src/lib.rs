//! Stoke's domain: the types every other crate speaks, and (in later modules) the playbook, text
//! analysis, the classification engine, the planner and segment expressions.
//!
//! Architecture invariant: this crate does no IO and has no async. It never reads the clock: time is
//! always a parameter. That keeps every rule testable with a fixed `now` and cheap to benchmark.
//!
//! Domain values validate on construction (`Phone::parse`, `Email::parse`, `TimeZoneName::parse`,
//! `Money::parse`): once a value of one of these types exists, it is valid, so nothing downstream
//! re-checks it. Types here carry no `serde` derives; the API and the file formats have their own
//! DTOs, so the domain can change shape without breaking a wire format.

pub mod account;
pub mod chat_export;
pub mod contact;
pub mod conversation;
mod country_zones;
pub mod engine;
pub mod event;
pub mod id;
pub mod money;
pub mod note;
pub mod note_form;
pub mod outbox;
pub mod pacing;
pub mod planner;
pub mod playbook;
pub mod segment;
pub mod tag;
pub mod template;
pub mod text;
pub mod user;
pub mod value;

pub use account::{Account, AccountDraft, Channel};
pub use contact::{
    Consent, ConsentStatus, Contact, ContactDraft, ContactKind, ContactPerson, ContactRef,
    ContactWindow, CustomFieldDef, CustomFieldType, CustomValue, Handle, MessageFormat,
    PaymentStatus, PurchaseFrequency, ReachPreferences,
};
pub use conversation::{
    Conversation, Direction, Message, MessageDraft, MessageStatus, StatusChange,
};
pub use event::{Event, EventDraft, EventKind, OrderLine, link_topic};
pub use id::{
    AccountId, ContactId, ConversationId, EventId, MessageId, NoteId, TaskId, TeamId, UserId,
};
pub use money::{Currency, Money};
pub use note::{Note, Task, TaskDraft, TaskKind};
pub use tag::{Evidence, Tag, TagChange, TagChangeKind, TagFamily};
pub use user::{Role, Team, User, UserDraft};
pub use value::{Country, Email, Language, Phone, TimeZoneName, ValueError};
