//! Identifiers. Each entity has its own id type so that a contact id can never be passed where a
//! message id is expected. Ids are assigned by the store; the domain never invents them.

use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a store-assigned id.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The raw value, for the store and the wire formats.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    )*};
}

id_type!(
    /// A customer (person or company).
    ContactId,
    /// A sender account: one WhatsApp number, one e-mail identity, one webhook.
    AccountId,
    /// The thread between one contact and one sender account.
    ConversationId,
    /// One message in a conversation.
    MessageId,
    /// An order, click, open or custom event.
    EventId,
    /// A note on a contact.
    NoteId,
    /// A call, meeting or follow-up task.
    TaskId,
    /// A person who logs in: admin, manager or agent.
    UserId,
    /// A group of agents that shares contacts.
    TeamId,
);
