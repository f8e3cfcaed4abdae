//! Tags: what Stoke knows about a contact, each with the rule and the evidence that set it.
//!
//! A tag is (family, value): `activity:high`, `intent:potential`, `interest:discount-sensitive`.
//! Within the tiered families (activity, intent, lifecycle, temperature) a contact holds one
//! value at a time; interests and static tags may hold several.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::id::{EventId, MessageId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagFamily {
    /// By the customer's last reply (SPEC 3.1).
    Activity,
    /// Purchase intent from what the customer writes (SPEC 3.2).
    Intent,
    /// Interests; several at once (SPEC 3.3).
    Interest,
    /// Learned and declared communication preferences (SPEC 3.4).
    Preference,
    /// Lifecycle, behaviour and value groups (SPEC 3.5).
    Lifecycle,
    /// Lead temperature: hot, warm, cold.
    Temperature,
    /// Conversation sentiment alerts.
    Sentiment,
    /// Pipeline stage (seed 003): attraction, sale, account.
    Stage,
    /// Set by people or imports: region, wholesale, vip.
    Static,
}

impl TagFamily {
    pub const ALL: [TagFamily; 9] = [
        TagFamily::Activity,
        TagFamily::Intent,
        TagFamily::Interest,
        TagFamily::Preference,
        TagFamily::Lifecycle,
        TagFamily::Temperature,
        TagFamily::Sentiment,
        TagFamily::Stage,
        TagFamily::Static,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagFamily::Activity => "activity",
            TagFamily::Intent => "intent",
            TagFamily::Interest => "interest",
            TagFamily::Preference => "preference",
            TagFamily::Lifecycle => "lifecycle",
            TagFamily::Temperature => "temperature",
            TagFamily::Sentiment => "sentiment",
            TagFamily::Stage => "stage",
            TagFamily::Static => "static",
        }
    }

    /// Whether a contact holds at most one value of this family at a time.
    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            TagFamily::Activity | TagFamily::Intent | TagFamily::Temperature | TagFamily::Stage
        )
    }
}

impl fmt::Display for TagFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown tag family.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a tag family")]
pub struct UnknownTagFamily(pub String);

impl FromStr for TagFamily {
    type Err = UnknownTagFamily;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TagFamily::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownTagFamily(s.trim().to_owned()))
    }
}

/// What made a rule fire: the message or event and a short human-readable detail
/// (`asked "how much is it?" (price)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Evidence {
    pub message: Option<MessageId>,
    pub event: Option<EventId>,
    pub detail: String,
}

/// A tag a contact holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub family: TagFamily,
    pub value: String,
    /// A colour name from the playbook (`green`, `red`, `gold`).
    pub colour: String,
    /// The playbook rule id that set it (`activity.high`, `import`).
    pub rule: String,
    pub evidence: Evidence,
    pub set_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagChangeKind {
    /// A tag is set, or its value or rule changed: recorded in the history.
    Set,
    Removed,
    /// The same tag by the same rule, with newer evidence (the latest reply): the tag is updated,
    /// the history is not, so that it records changes rather than every message.
    Refreshed,
}

impl TagChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagChangeKind::Set => "set",
            TagChangeKind::Removed => "removed",
            TagChangeKind::Refreshed => "refreshed",
        }
    }
}

/// One change to a contact's tags, as the engine or a person made it. The history of these is
/// what the contact card shows as "why".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    pub kind: TagChangeKind,
    pub tag: Tag,
}
