//! Moving a workspace between backends (`stoke migrate`). Both backends keep the same tables and
//! columns with the same values (times as Unix milliseconds, documents as the codec's JSON text,
//! ids as integers), so a copy is rows of integers, texts and nulls, table by table.

/// Every table, referenced tables first: the order a copy writes them in.
pub const TABLES: [&str; 22] = [
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
];

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
