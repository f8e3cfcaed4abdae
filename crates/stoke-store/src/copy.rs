//! Moving a workspace between backends (`stoke migrate`). Both backends keep the same tables and
//! columns with the same values (times as Unix milliseconds, documents as the codec's JSON text,
//! ids as integers), so a copy is rows of integers, texts and nulls, table by table. That
//! includes the search columns derived from other columns (`contacts.search`,
//! `messages.search`): `crate::search` derives them alike on both backends, so that a copied row
//! holds what the target would have written itself.

/// Every table a copy carries, referenced tables first: the order a copy writes them in. With
/// `NOT_COPIED`, every table either backend has (each backend's tests check it). SQLite's
/// full-text indexes (FTS5 virtual tables over the search columns, and their shadow tables) are
/// indexes, not tables: triggers keep them, and a copy carries the columns they index.
pub const TABLES: [&str; 23] = [
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
    "templates",
    "broadcasts",
    "outbox",
    "contact_flags",
    "audit_log",
    "settings",
];

/// Tables a copy leaves out on purpose. Sessions are ephemeral sign-ins: after a move, people
/// sign in again rather than carry cookies from one database to another.
pub const NOT_COPIED: [&str; 1] = ["sessions"];

/// One stored value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One of Stoke's tables by name; anything else is refused (names go into statements).
pub fn table(name: &str) -> Result<&'static str, crate::StoreError> {
    TABLES
        .iter()
        .find(|t| **t == name)
        .copied()
        .ok_or_else(|| crate::StoreError::Backend(format!("{name} is not one of Stoke's tables")))
}

/// An identifier quoted for SQL (both backends quote the same way).
pub fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A table's shape on a backend: its columns in order and the ones its primary key is made of
/// (rows are read in that key's order, so two backends' rows line up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    pub columns: Vec<String>,
    pub key: Vec<String>,
}

impl TableLayout {
    /// The quoted columns rows are ordered by: the key, or every column for a table without one.
    pub fn order_by(&self) -> String {
        let order = if self.key.is_empty() {
            &self.columns
        } else {
            &self.key
        };
        order
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The quoted columns, in order.
    pub fn select_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
