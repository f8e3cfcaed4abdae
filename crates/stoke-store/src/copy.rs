//! Moving a workspace between backends (`stoke migrate`). Both backends keep the same tables and
//! columns with the same values (times as Unix milliseconds, documents as the codec's JSON text,
//! ids as integers), so a copy is rows of integers, texts and nulls, table by table.

/// Every table, referenced tables first: the order a copy writes them in.
pub const TABLES: [&str; 17] = [
    "teams",
    "users",
    "api_tokens",
    "contacts",
    "contact_handles",
    "contact_merges",
    "custom_fields",
    "accounts",
    "conversations",
    "messages",
    "message_statuses",
    "events",
    "tags",
    "tag_changes",
    "notes",
    "tasks",
    "contact_states",
];

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// A table's shape on a backend: its columns in order and the ones its primary key is made of
/// (rows are read in that key's order, so two backends' rows line up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    pub columns: Vec<String>,
    pub key: Vec<String>,
}
