//! Search (contacts by words and filters, messages by words) and workspace settings.
//!
//! The words live in `contacts.search` and `messages.search`, derived on every write by
//! `stoke_store::copy`, and FTS5 indexes them (`contacts_fts`, `messages_fts`): an ingest
//! indexes its new messages at its end (`index_messages_from`), triggers note every other
//! change, and `sync` takes those at the end of each write transaction (migration 0007 says
//! why it is not simply triggers). A query's words go to FTS5 as quoted prefix terms joined by `AND`,
//! so that nothing a person types (`"`, `*`, `AND`, `(`, `NEAR`) is read as FTS5 syntax.
//!
//! Each search is one statement whose driving loop is an index read in id order, stopped by the
//! page's limit: the FTS index when there are words (unless a rare tag is asked for too), else
//! the tags index (`tags_by_value`, which on a `WITHOUT ROWID` table ends with the contact id),
//! else `contacts_by_owner`, `contacts_unassigned` or the contacts themselves. `CROSS JOIN`
//! tells SQLite's planner which table that is (it has no statistics to choose by); the rest of
//! the filter is checked on each row found.

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::types::Value;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use stoke_core::{
    AccountId, Contact, ContactId, Conversation, ConversationId, Direction, Message, MessageId,
    UserId,
};
use stoke_store::codec::{from_millis, parse_column, to_millis};
use stoke_store::search::{
    contact_search_terms, contact_search_text, message_query, message_search_text,
};
use stoke_store::{
    ContactFilter, InboxCursor, InboxFilter, InboxPage, InboxRow, Page, PageRequest, Scope,
    StoreResult,
};

use crate::contacts::{CONTACT_COLUMNS, contact_from_row, scope_filter};
use crate::db_err;
use crate::messages::{MESSAGE_COLUMNS, attach_statuses, message_from_row};

/// Rows read and written per step of the backfill.
const BACKFILL_BATCH: i64 = 5_000;

/// An FTS5 expression in which every term must be the prefix of a word of the row: each term
/// quoted (a quote inside doubled), so that it is a string to FTS5, never an operator.
fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"*", t.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `columns` ("a, b, c") with each name prefixed by its table, for statements that join.
fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A statement's parameters, numbered as they are added.
struct Params(Vec<Value>);

impl Params {
    /// Adds a value; returns its placeholder.
    fn bind(&mut self, value: Value) -> String {
        self.0.push(value);
        format!("?{}", self.0.len())
    }
}

/// The contacts a scope sees that match every part of a filter, in id order.
pub(crate) fn search_contacts(
    conn: &Connection,
    scope: Scope,
    filter: &ContactFilter,
    page: PageRequest,
) -> StoreResult<Page<Contact>> {
    search_contacts_with(conn, scope, filter, page, FEW_HOLD)
}

/// `search_contacts`, with the number of holders below which a tag drives.
fn search_contacts_with(
    conn: &Connection,
    scope: Scope,
    filter: &ContactFilter,
    page: PageRequest,
    few: i64,
) -> StoreResult<Page<Contact>> {
    let limit = page.effective_limit();
    // ?1 and ?2 are the page, ?3 and ?4 the scope's (as in `contacts::list`); the filter's follow.
    let (scope_sql, a, b) = scope_filter(scope);
    let mut params = Params(vec![
        Value::Integer(page.after.unwrap_or(i64::MIN)),
        Value::Integer(i64::from(limit) + 1),
        a.map_or(Value::Null, Value::Integer),
        b.map_or(Value::Null, Value::Integer),
    ]);
    // Blank text (an empty box) narrows nothing; text without a word (only punctuation) finds
    // nothing, as in a message search.
    let terms = match filter.text.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            let terms = contact_search_terms(text);
            if terms.is_empty() {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            terms
        }
        None => Vec::new(),
    };
    // Words drive (the FTS index), unless a tag held by few contacts is asked for too: then its
    // contacts drive, and each one's words are checked in its `search` column, where a word
    // starts with a term exactly when " term" is in " words". Words common and a tag rare the
    // other way round read every contact with the words (300 ms for `gmail` and a tag no one of
    // them held, among a million contacts).
    let tag_drives = match &filter.tag {
        Some((family, value)) => terms.is_empty() || few_hold(conn, family.as_str(), value, few)?,
        None => false,
    };
    let mut conditions = Vec::new();
    let (from, id) = if tag_drives {
        for term in &terms {
            let term = params.bind(Value::Text(format!(" {term}")));
            conditions.push(format!("instr(' ' || contacts.search, {term}) > 0"));
        }
        (
            "tags CROSS JOIN contacts ON contacts.id = tags.contact_id",
            "tags.contact_id",
        )
    } else if !terms.is_empty() {
        conditions.push(format!(
            "contacts_fts MATCH {}",
            params.bind(Value::Text(fts_query(&terms)))
        ));
        (
            "contacts_fts CROSS JOIN contacts ON contacts.id = contacts_fts.rowid",
            "contacts_fts.rowid",
        )
    } else {
        ("contacts", "contacts.id")
    };
    conditions.push(format!("{id} > ?1"));
    conditions.push(scope_sql.to_owned());
    if let Some((family, value)) = &filter.tag {
        let family = params.bind(Value::Text(family.as_str().to_owned()));
        let value = params.bind(Value::Text(value.clone()));
        conditions.push(if tag_drives {
            format!("tags.family = {family} AND tags.value = {value}")
        } else {
            format!(
                "EXISTS (SELECT 1 FROM tags WHERE tags.contact_id = contacts.id
                   AND tags.family = {family} AND tags.value = {value})"
            )
        });
    }
    if let Some(owner) = filter.owner {
        conditions.push(format!(
            "contacts.owner_id = {}",
            params.bind(Value::Integer(owner.get()))
        ));
    }
    if filter.unassigned {
        conditions.push("contacts.owner_id IS NULL".to_owned());
    }
    let sql = format!(
        "SELECT {} FROM {from} WHERE {} ORDER BY {id} LIMIT ?2",
        qualified("contacts", CONTACT_COLUMNS),
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params_from_iter(params.0)).map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(contact_from_row(row)?);
    }
    Ok(Page::from_overfetch(items, limit, |c| c.id.get()))
}

/// Contacts holding a tag below which the tag, not the words, drives a search for both.
const FEW_HOLD: i64 = 2_000;

/// Whether fewer than `few` contacts hold a tag: counted in the tags index, and no further.
fn few_hold(conn: &Connection, family: &str, value: &str, few: i64) -> StoreResult<bool> {
    conn.prepare_cached(
        "SELECT COUNT(*) < ?3 FROM (
             SELECT 1 FROM tags WHERE family = ?1 AND value = ?2 LIMIT ?3)",
    )
    .and_then(|mut s| s.query_row(params![family, value, few], |r| r.get(0)))
    .map_err(db_err)
}

/// Messages holding every word of `query` (as prefixes) on contacts the scope sees, newest
/// first: ids below `after`.
pub(crate) fn search_messages(
    conn: &Connection,
    scope: Scope,
    query: &str,
    account: Option<AccountId>,
    page: PageRequest,
) -> StoreResult<Page<Message>> {
    // Only punctuation (`"`, `*`, `(`): no word any message could hold.
    let Some(terms) = message_query(query)? else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    let limit = page.effective_limit();
    let (scope_sql, a, b) = scope_filter(scope);
    let mut params = Params(vec![
        Value::Integer(page.after.unwrap_or(i64::MAX)),
        Value::Integer(i64::from(limit) + 1),
        a.map_or(Value::Null, Value::Integer),
        b.map_or(Value::Null, Value::Integer),
    ]);
    let matching = params.bind(Value::Text(fts_query(&terms)));
    let mut conditions = vec![
        format!("messages_fts MATCH {matching}"),
        "messages_fts.rowid < ?1".to_owned(),
        scope_sql.to_owned(),
    ];
    if let Some(account) = account {
        conditions.push(format!(
            "messages.account_id = {}",
            params.bind(Value::Integer(account.get()))
        ));
    }
    // The whole workspace's filter names only its parameters: no contact to read per message.
    let contacts = match scope {
        Scope::Everything => "",
        Scope::Team(_) | Scope::Agent { .. } => {
            " CROSS JOIN contacts ON contacts.id = messages.contact_id"
        }
    };
    let sql = format!(
        "SELECT {} FROM messages_fts CROSS JOIN messages ON messages.id = messages_fts.rowid{contacts}
         WHERE {} ORDER BY messages_fts.rowid DESC LIMIT ?2",
        qualified("messages", MESSAGE_COLUMNS),
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params_from_iter(params.0)).map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(message_from_row(row)?);
    }
    drop(rows);
    let mut page = Page::from_overfetch(items, limit, |m| m.id.get());
    attach_statuses(conn, &mut page.items)?;
    Ok(page)
}

pub(crate) fn get_setting(
    conn: &Connection,
    key: &str,
) -> StoreResult<Option<(String, Timestamp)>> {
    let found: Option<(String, i64)> = conn
        .prepare_cached("SELECT value, updated_at FROM settings WHERE key = ?1")
        .and_then(|mut s| {
            s.query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err)?;
    found
        .map(|(value, at)| Ok((value, from_millis(at)?)))
        .transpose()
}

pub(crate) fn put_setting(
    conn: &Connection,
    key: &str,
    value: &str,
    now: Timestamp,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .and_then(|mut s| s.execute(params![key, value, to_millis(now)]))
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn delete_setting(conn: &Connection, key: &str) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM settings WHERE key = ?1")
        .and_then(|mut s| s.execute([key]))
        .map_err(db_err)?;
    Ok(())
}

/// Indexes the messages an ingest has just inserted: every message from `first` on, since ids
/// only grow and the ingest holds the one write lock. One statement, in id order.
pub(crate) fn index_messages_from(conn: &Connection, first: MessageId) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO messages_fts (rowid, search)
         SELECT id, search FROM messages WHERE id >= ?1 AND search <> '' ORDER BY id",
    )
    .and_then(|mut s| s.execute([first.get()]))
    .map_err(db_err)?;
    Ok(())
}

/// Brings the full-text indexes up to date with the rows `search_pending` lists (noted by the
/// triggers of migration 0007), and empties it: run at the end of every write transaction, so
/// that FTS5 takes each transaction's changes in a few statements. For each row, what the index
/// held when the transaction began (the words of its first entry) goes, and what the row holds
/// now comes in, in id order (FTS5 writes to disk whenever a row comes before the previous one).
pub(crate) fn sync(conn: &Connection) -> StoreResult<()> {
    let pending: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending)")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(db_err)?;
    if !pending {
        return Ok(());
    }
    for table in ["contacts", "messages"] {
        // `old` is taken from the row with the smallest `seq` of each id (SQLite's bare
        // columns beside `MIN`).
        conn.prepare_cached(&format!(
            "INSERT INTO {table}_fts ({table}_fts, rowid, search)
             SELECT 'delete', id, old FROM (
                 SELECT id, old, MIN(seq) FROM search_pending WHERE tbl = '{table}' GROUP BY id
             ) WHERE old <> ''"
        ))
        .and_then(|mut s| s.execute([]))
        .map_err(db_err)?;
        conn.prepare_cached(&format!(
            "INSERT INTO {table}_fts (rowid, search)
             SELECT id, search FROM {table}
             WHERE id IN (SELECT id FROM search_pending WHERE tbl = '{table}') AND search <> ''
             ORDER BY id"
        ))
        .and_then(|mut s| s.execute([]))
        .map_err(db_err)?;
    }
    conn.prepare_cached("DELETE FROM search_pending")
        .and_then(|mut s| s.execute([]))
        .map_err(db_err)?;
    Ok(())
}

/// Migration 0007's Rust half: gives the contacts and messages stored before it their search
/// words, a batch at a time in id order, and indexes them. A contact whose stored profile
/// cannot be read (it cannot be listed either) is found by its name.
pub(crate) fn backfill(conn: &Connection) -> StoreResult<()> {
    let mut update = conn
        .prepare("UPDATE contacts SET search = ?2 WHERE id = ?1")
        .map_err(db_err)?;
    let mut read = conn
        .prepare(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .map_err(db_err)?;
    let mut after = i64::MIN;
    loop {
        let mut batch: Vec<(i64, String)> = Vec::new();
        let mut rows = read.query(params![after, BACKFILL_BATCH]).map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            let id: i64 = row.get(0).map_err(db_err)?;
            let contact = match contact_from_row(row) {
                Ok(contact) => contact,
                Err(_) => {
                    let mut named =
                        Contact::new(stoke_core::ContactId::new(id), Timestamp::UNIX_EPOCH);
                    named.name = row.get(2).map_err(db_err)?;
                    named
                }
            };
            batch.push((id, contact_search_text(&contact)));
        }
        drop(rows);
        let Some(&(last, _)) = batch.last() else {
            break;
        };
        for (id, search) in &batch {
            update.execute(params![id, search]).map_err(db_err)?;
        }
        after = last;
    }

    let mut update = conn
        .prepare("UPDATE messages SET search = ?2 WHERE id = ?1")
        .map_err(db_err)?;
    let mut read = conn
        .prepare("SELECT id, body FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2")
        .map_err(db_err)?;
    let mut after = i64::MIN;
    loop {
        let batch: Vec<(i64, String)> = read
            .query_map(params![after, BACKFILL_BATCH], |r| {
                Ok((r.get(0)?, message_search_text(&r.get::<_, String>(1)?)))
            })
            .and_then(|rows| rows.collect())
            .map_err(db_err)?;
        let Some(&(last, _)) = batch.last() else {
            break;
        };
        for (id, search) in batch.iter().filter(|(_, s)| !s.is_empty()) {
            update.execute(params![id, search]).map_err(db_err)?;
        }
        after = last;
        // A batch at a time, so that the list of pending rows stays small.
        sync(conn)?;
    }
    sync(conn)
}

/// Whether an inbox filter holds fewer than `FEW_HOLD` contacts the scope sees by its owner or
/// its unassigned part, or fewer hold its tag: counted along that part's index and no further.
fn few_contacts(conn: &Connection, scope: Scope, filter: &InboxFilter) -> StoreResult<bool> {
    let (scope_sql, a, b) = scope_filter(scope);
    let count = |condition: &str, value: Option<i64>| -> StoreResult<bool> {
        conn.prepare_cached(&format!(
            "SELECT COUNT(*) < ?1 FROM (
                 SELECT 1 FROM contacts WHERE {condition} AND {scope_sql} LIMIT ?1)"
        ))
        .and_then(|mut s| s.query_row(params![FEW_HOLD, value, a, b], |r| r.get::<_, bool>(0)))
        .map_err(db_err)
    };
    if let Some(owner) = filter.owner
        && count("owner_id = ?2", Some(owner.get()))?
    {
        return Ok(true);
    }
    if filter.unassigned && count("owner_id IS NULL AND ?2 IS NULL", None)? {
        return Ok(true);
    }
    match &filter.tag {
        Some((family, value)) => few_hold(conn, family.as_str(), value, FEW_HOLD),
        None => Ok(false),
    }
}

/// The inbox: conversations with a message, on contacts the scope sees, newest message first.
/// Walks `conversations_by_last_message` backwards and stops at `limit + 1` rows, so a page costs
/// the rows it shows (and the ones a filter skips), not the workspace; see `few_contacts` for a
/// filter that would skip nearly everything.
pub(crate) fn inbox(
    conn: &Connection,
    scope: Scope,
    filter: &InboxFilter,
    after: Option<InboxCursor>,
    limit: u32,
) -> StoreResult<InboxPage> {
    let few = few_contacts(conn, scope, filter)?;
    inbox_with(conn, scope, filter, after, limit, few)
}

/// `inbox`, with the choice of plan made by the caller.
fn inbox_with(
    conn: &Connection,
    scope: Scope,
    filter: &InboxFilter,
    after: Option<InboxCursor>,
    limit: u32,
    few: bool,
) -> StoreResult<InboxPage> {
    let limit = limit.clamp(1, PageRequest::MAX_LIMIT);
    let (scope_sql, a, b) = scope_filter(scope);
    // ?1 and ?2 are the cursor (newest first: below it), ?3 and ?4 the scope's, ?5 the limit.
    let (at, id) = after.map_or((i64::MAX, i64::MAX), |c| {
        (to_millis(c.at), c.conversation.get())
    });
    let mut params = Params(vec![
        Value::Integer(at),
        Value::Integer(id),
        a.map_or(Value::Null, Value::Integer),
        b.map_or(Value::Null, Value::Integer),
        Value::Integer(i64::from(limit) + 1),
    ]);
    let mut conditions = vec![
        "conversations.last_message_at IS NOT NULL".to_owned(),
        "(conversations.last_message_at < ?1 OR (conversations.last_message_at = ?1 AND conversations.id < ?2))".to_owned(),
        scope_sql.to_owned(),
    ];
    if let Some(account) = filter.account {
        conditions.push(format!(
            "conversations.account_id = {}",
            params.bind(Value::Integer(account.get()))
        ));
    }
    if let Some((family, value)) = &filter.tag {
        let family = params.bind(Value::Text(family.as_str().to_owned()));
        let value = params.bind(Value::Text(value.clone()));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM tags WHERE tags.contact_id = contacts.id
               AND tags.family = {family} AND tags.value = {value})"
        ));
    }
    if let Some(owner) = filter.owner {
        conditions.push(format!(
            "contacts.owner_id = {}",
            params.bind(Value::Integer(owner.get()))
        ));
    }
    if filter.unassigned {
        conditions.push("contacts.owner_id IS NULL".to_owned());
    }
    // Newest first along the conversations' index, each one's contact checked, unless a filter
    // holds few contacts: then walking the index could read every conversation to fill a page
    // (400 ms for an agent's unassigned ones among a million messages), so those contacts'
    // conversations are read and sorted instead.
    let from = if few {
        "contacts CROSS JOIN conversations ON conversations.contact_id = contacts.id"
    } else {
        "conversations INDEXED BY conversations_by_last_message
         CROSS JOIN contacts ON contacts.id = conversations.contact_id"
    };
    let sql = format!(
        "SELECT conversations.id, conversations.contact_id, conversations.account_id,
                conversations.channel, conversations.assignee_id, conversations.last_message_at,
                conversations.created_at, contacts.name, contacts.owner_id,
                (SELECT direction FROM messages WHERE messages.conversation_id = conversations.id
                 ORDER BY at DESC, id DESC LIMIT 1),
                (SELECT body FROM messages WHERE messages.conversation_id = conversations.id
                 ORDER BY at DESC, id DESC LIMIT 1)
         FROM {from}
         WHERE {} ORDER BY conversations.last_message_at DESC, conversations.id DESC LIMIT ?5",
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt.query(params_from_iter(params.0)).map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let direction: Option<String> = row.get(9).map_err(db_err)?;
        let body: Option<String> = row.get(10).map_err(db_err)?;
        let last = match (direction, body) {
            (Some(d), Some(text)) => Some((parse_column::<Direction>("direction", &d)?, text)),
            _ => None,
        };
        items.push(InboxRow {
            conversation: Conversation {
                id: ConversationId::new(row.get(0).map_err(db_err)?),
                contact: ContactId::new(row.get(1).map_err(db_err)?),
                account: AccountId::new(row.get(2).map_err(db_err)?),
                channel: parse_column("channel", &row.get::<_, String>(3).map_err(db_err)?)?,
                assignee: row
                    .get::<_, Option<i64>>(4)
                    .map_err(db_err)?
                    .map(UserId::new),
                last_message_at: row
                    .get::<_, Option<i64>>(5)
                    .map_err(db_err)?
                    .map(from_millis)
                    .transpose()?,
                created_at: from_millis(row.get(6).map_err(db_err)?)?,
            },
            contact_name: row.get(7).map_err(db_err)?,
            contact_owner: row
                .get::<_, Option<i64>>(8)
                .map_err(db_err)?
                .map(UserId::new),
            last,
        });
    }
    Ok(InboxPage::from_overfetch(items, limit))
}

#[cfg(test)]
mod tests {
    use r2d2_sqlite::rusqlite::Connection;
    use stoke_core::{ContactDraft, Phone, TagFamily};
    use stoke_store::{ContactFilter, PageRequest, Scope};

    use super::search_contacts_with;

    /// Words and a tag found together give the same contacts whichever drives: the words
    /// (the FTS index, the tag checked per contact) or the tag (the words checked per contact
    /// in `search`), page by page.
    #[test]
    fn tag_or_words_driving_find_the_same_contacts() {
        let mut conn = Connection::open_in_memory().expect("database");
        crate::schema::migrate(&mut conn).expect("migrate");
        let now = jiff::Timestamp::UNIX_EPOCH;
        let names = ["Amal Saad", "أمل سعد", "Ёлкин Амал", "Amir", "Badr al-Amal"];
        for n in 0..40 {
            let draft = ContactDraft {
                name: Some(format!("{} {n}", names[n % names.len()])),
                phones: vec![Phone::parse(&format!("+96650000{n:04}"), None).expect("phone")],
                tags: match n % 3 {
                    0 => vec!["vip".into()],
                    1 => vec!["vip".into(), "gold".into()],
                    _ => vec![],
                },
                ..ContactDraft::default()
            };
            crate::contacts::create(&conn, &draft, now).expect("contact");
        }
        super::sync(&conn).expect("index");
        for text in [
            "amal",
            "ама",
            "امل سع",
            "a 1",
            "0001",
            "+966 50 000 0012",
            "zz",
            "sa 2",
        ] {
            for tag in ["vip", "gold", "none"] {
                let filter = ContactFilter {
                    text: Some(text.into()),
                    tag: Some((TagFamily::Static, tag.into())),
                    ..ContactFilter::default()
                };
                let pages = |few: i64| {
                    let mut seen = Vec::new();
                    let mut after = None;
                    loop {
                        let page = search_contacts_with(
                            &conn,
                            Scope::Everything,
                            &filter,
                            PageRequest { after, limit: 4 },
                            few,
                        )
                        .expect("search");
                        seen.extend(page.items.iter().map(|c| c.id));
                        match page.next {
                            Some(next) => after = Some(next),
                            None => return seen,
                        }
                    }
                };
                let by_words = pages(0);
                assert_eq!(by_words, pages(i64::MAX), "{filter:?}");
                if text == "amal" && tag == "vip" {
                    assert!(by_words.len() > 8, "{by_words:?}");
                }
            }
        }
    }

    /// Both plans of the inbox (walking the conversations newest first, or reading the filtered
    /// contacts' conversations and sorting them) give the same pages.
    #[test]
    fn both_inbox_plans_give_the_same_pages() {
        use stoke_core::engine::Rules;
        use stoke_core::playbook::Playbook;
        use stoke_core::{Channel, ContactRef, Direction, UserId};
        use stoke_store::{InboxFilter, IncomingMessage};

        let mut conn = Connection::open_in_memory().expect("database");
        crate::schema::migrate(&mut conn).expect("migrate");
        let now: jiff::Timestamp = "2026-11-20T10:00:00Z".parse().expect("now");
        let rules = Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules");
        let users: Vec<UserId> = (0..2)
            .map(|n| {
                crate::people::create_user(
                    &conn,
                    &stoke_core::UserDraft {
                        email: stoke_core::Email::parse(&format!("a{n}@example.com")).expect("e"),
                        name: format!("a{n}"),
                        role: stoke_core::Role::Agent,
                        team: None,
                        password_hash: None,
                    },
                    now,
                )
                .expect("user")
                .id
            })
            .collect();
        let mut batch = Vec::new();
        for n in 0..30_i64 {
            let phone = format!("+96650000{n:04}");
            let draft = ContactDraft {
                phones: vec![Phone::parse(&phone, None).expect("phone")],
                tags: if n % 4 == 0 {
                    vec!["vip".into()]
                } else {
                    vec![]
                },
                ..ContactDraft::default()
            };
            let mut contact = crate::contacts::create(&conn, &draft, now).expect("contact");
            contact.owner = match n % 3 {
                0 => None,
                k => Some(users[(k - 1) as usize]),
            };
            crate::contacts::save(&conn, &contact).expect("owner");
            for m in 0..(1 + n % 3) {
                batch.push(IncomingMessage {
                    external_id: format!("m{n}-{m}"),
                    contact: ContactRef::parse(&phone).expect("ref"),
                    account: ["wa-1", "wa-2"][(m % 2) as usize].into(),
                    channel: Channel::WhatsApp,
                    direction: Direction::In,
                    text: format!("hello {n} {m}"),
                    // Some at the same moment: the cursor must break ties by id.
                    at: now - jiff::SignedDuration::from_mins((n * 7) % 20 + m),
                    provider_id: None,
                });
            }
        }
        crate::messages::ingest_messages(&conn, &batch, now, &rules).expect("ingest");
        let filters = [
            InboxFilter::default(),
            InboxFilter {
                owner: Some(users[0]),
                ..Default::default()
            },
            InboxFilter {
                unassigned: true,
                ..Default::default()
            },
            InboxFilter {
                tag: Some((TagFamily::Static, "vip".into())),
                ..Default::default()
            },
        ];
        for filter in &filters {
            for scope in [
                Scope::Everything,
                Scope::Agent {
                    user: users[1],
                    team: None,
                },
            ] {
                let pages = |few: bool| {
                    let mut seen = Vec::new();
                    let mut after = None;
                    loop {
                        let page =
                            super::inbox_with(&conn, scope, filter, after, 4, few).expect("inbox");
                        seen.extend(page.items.iter().map(|r| r.conversation.id));
                        match page.next {
                            Some(next) => after = Some(next),
                            None => return seen,
                        }
                    }
                };
                let walked = pages(false);
                assert_eq!(walked, pages(true), "{filter:?} {scope:?}");
                if *filter == InboxFilter::default() && scope == Scope::Everything {
                    assert!(walked.len() > 30, "{}", walked.len());
                }
            }
        }
    }
}
