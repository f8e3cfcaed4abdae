//! Search (contacts by words and filters, messages by words) and workspace settings.
//!
//! The words live in `contacts.search` and `messages.search`, derived on every write by
//! `stoke_store::copy`, and GIN indexes hold them as lexemes (`contacts_search`,
//! `messages_search`, migration 0004). A query's words go to PostgreSQL as a `tsquery` of quoted
//! prefix lexemes joined by `&`, passed as a parameter and cast, never parsed by the text-search
//! parser: nothing a person types (`'`, `:*`, `&`, `!`, `(`) is read as query syntax.
//!
//! A contact search with words leaves the plan to PostgreSQL (the GIN index when the words are
//! rare, the primary key in id order when they are common); one with a tag and no words reads
//! the tag's contacts from `tags_by_value` in id order, so that a page of a tag held by half a
//! million contacts reads a page of them, not all of them. Searches run as unnamed statements,
//! planned for their values every time. A message search reads the newest messages in id order
//! first and turns to the word index for the rest (`search_messages` says why).

use jiff::Timestamp;
use stoke_core::{
    AccountId, Contact, ContactId, Conversation, ConversationId, Direction, Message, UserId,
};
use stoke_store::codec::{from_millis, parse_column, to_millis};
use stoke_store::search::{contact_search_terms, message_query};
use stoke_store::{
    ContactFilter, InboxCursor, InboxFilter, InboxPage, InboxRow, Page, PageRequest, Scope,
};
use tokio_postgres::types::ToSql;

use crate::contacts::{CONTACT_COLUMNS, contact_from_row, scope_filter};
use crate::messages::{MESSAGE_COLUMNS, attach_statuses, message_from_row};
use crate::{Fail, Res, Tx, execute, query, query_opt};

/// The indexed expression of migration 0004: a row's words as lexemes. A query must name it
/// exactly as the index does for the index to serve it.
fn lexemes(table: &str) -> String {
    format!("array_to_tsvector(string_to_array({table}.search, ' '))")
}

/// A `tsquery` in which every term must be the prefix of a lexeme of the row: each term quoted
/// (quotes doubled, backslashes escaped), so that it is a lexeme, never an operator.
fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("'{}':*", t.replace('\\', "\\\\").replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// `columns` ("a, b, c") with each name prefixed by its table, for statements that join.
fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(", ")
        .map(|c| format!("{table}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

type Param = Box<dyn ToSql + Sync + Send>;

/// A statement's parameters, numbered as they are added.
struct Params(Vec<Param>);

impl Params {
    /// Adds a value; returns its placeholder.
    fn bind(&mut self, value: Param) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// The contacts a scope sees that match every part of a filter, in id order.
pub(crate) async fn search_contacts(
    tx: &Tx<'_>,
    scope: Scope,
    filter: &ContactFilter,
    page: PageRequest,
) -> Res<Page<Contact>> {
    let limit = page.effective_limit();
    let mut params = Params(vec![
        Box::new(page.after.unwrap_or(i64::MIN)),
        Box::new(i64::from(limit) + 1),
    ]);
    // The scope's condition and parameters, as `contacts::list` puts them (from $3).
    let (scope_sql, values) = scope_filter(scope, 3);
    for value in values {
        params.0.push(Box::new(value));
    }
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
    let mut conditions = vec![scope_sql];
    let (from, id) = match &filter.tag {
        Some((family, value)) if terms.is_empty() => {
            let family = params.bind(Box::new(family.as_str().to_owned()));
            let value = params.bind(Box::new(value.clone()));
            conditions.push(format!("tags.family = {family} AND tags.value = {value}"));
            (
                "tags JOIN contacts ON contacts.id = tags.contact_id",
                "tags.contact_id",
            )
        }
        Some((family, value)) => {
            let family = params.bind(Box::new(family.as_str().to_owned()));
            let value = params.bind(Box::new(value.clone()));
            conditions.push(format!(
                "EXISTS (SELECT 1 FROM tags WHERE tags.contact_id = contacts.id
                   AND tags.family = {family} AND tags.value = {value})"
            ));
            ("contacts", "contacts.id")
        }
        None => ("contacts", "contacts.id"),
    };
    conditions.push(format!("{id} > $1"));
    if !terms.is_empty() {
        let matching = params.bind(Box::new(tsquery(&terms)));
        conditions.push(format!(
            "{} @@ {matching}::text::tsquery",
            lexemes("contacts")
        ));
    }
    if let Some(owner) = filter.owner {
        let owner = params.bind(Box::new(owner.get()));
        conditions.push(format!("contacts.owner_id = {owner}"));
    }
    if filter.unassigned {
        conditions.push("contacts.owner_id IS NULL".to_owned());
    }
    let sql = format!(
        "SELECT {} FROM {from} WHERE {} ORDER BY {id} LIMIT $2",
        qualified("contacts", CONTACT_COLUMNS),
        conditions.join(" AND ")
    );
    // An unnamed statement, planned for its values each time: a plan made for any words would
    // treat a rare word like a common one, and read the contacts in id order for it.
    let rows = tx.query(sql.as_str(), &params.refs()).await?;
    let items = rows.iter().map(contact_from_row).collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, |c| c.id.get()))
}

/// How many of the newest message ids a message search reads in order first (see
/// `search_messages`); about 10 ms.
const RECENT: i64 = 10_000;

/// The most message ids a search reads in order before it turns to the word index: about 0.2 s
/// (a message's words are made lexemes again as it is read).
const IN_ORDER: i64 = 200_000;

/// Messages holding every word of `query` (as prefixes) on contacts the scope sees, newest
/// first: ids below `after`.
pub(crate) async fn search_messages(
    tx: &Tx<'_>,
    scope: Scope,
    query_text: &str,
    account: Option<AccountId>,
    page: PageRequest,
) -> Res<Page<Message>> {
    // Only punctuation (`'`, `:*`, `(`): no word any message could hold.
    let Some(terms) = message_query(query_text).map_err(Fail::Store)? else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    let limit = page.effective_limit();
    let fetch = i64::from(limit) + 1;
    let bounds = query(tx, "SELECT min(id), max(id) FROM messages", &[]).await?;
    let (oldest, newest): (Option<i64>, Option<i64>) = match bounds.first() {
        Some(row) => (row.try_get(0)?, row.try_get(1)?),
        None => (None, None),
    };
    let (Some(oldest), Some(newest)) = (oldest, newest) else {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    };
    let upper = page.after.unwrap_or(i64::MAX).min(newest.saturating_add(1));
    // $1 and $2 bound the ids read (below $1, from $2), $3 is how many rows to return.
    let mut params = Params(vec![
        Box::new(upper),
        Box::new(i64::MIN),
        Box::new(fetch),
        Box::new(tsquery(&terms)),
    ]);
    let mut conditions = vec![
        "messages.id < $1 AND messages.id >= $2".to_owned(),
        format!("{} @@ $4::text::tsquery", lexemes("messages")),
    ];
    if let Some(account) = account {
        let account = params.bind(Box::new(account.get()));
        conditions.push(format!("messages.account_id = {account}"));
    }
    // The message's contact, read only when the scope has a condition on it.
    let contacts = match scope {
        Scope::Everything => "",
        Scope::Team(_) | Scope::Agent { .. } => {
            " JOIN contacts ON contacts.id = messages.contact_id"
        }
    };
    let (scope_sql, values) = scope_filter(scope, params.0.len() + 1);
    for value in values {
        params.0.push(Box::new(value));
    }
    conditions.push(scope_sql);
    let filter = conditions.join(" AND ");
    let columns = qualified("messages", MESSAGE_COLUMNS);

    // Newest first, in id order, each message checked: a common word fills a page from the
    // newest few thousand. Windows of ids, the next one as large as the matches so far say
    // the rest of the page needs, while that stays under `IN_ORDER` ids. Unnamed statements,
    // planned for their values each time.
    let recent = format!(
        "SELECT {columns} FROM messages{contacts} WHERE {filter} ORDER BY messages.id DESC LIMIT $3"
    );
    let mut rows = Vec::new();
    let (mut high, mut size, mut read) = (upper, RECENT, 0_i64);
    loop {
        let low = high.saturating_sub(size).max(oldest);
        params.0[0] = Box::new(high);
        params.0[1] = Box::new(low);
        params.0[2] = Box::new(fetch - rows.len() as i64);
        rows.extend(tx.query(recent.as_str(), &params.refs()).await?);
        read += high - low;
        high = low;
        let found = rows.len() as i64;
        if found >= fetch || high <= oldest {
            break;
        }
        // Ids the rest of the page should take at the density so far (none found: unknown).
        let needed = match found {
            0 => i64::MAX,
            _ => (fetch - found).saturating_mul(read) / found,
        };
        if read.saturating_add(needed) > IN_ORDER {
            // The word index for the rest: a rare word (or a word rare in what the scope
            // sees) has few messages to sort, where the primary key read backwards (what
            // PostgreSQL picks, not knowing how rare a prefix is) would read every message
            // for a word no message holds: 4.7 s for 10 million. Enough memory for the bitmap
            // of a common word's messages to stay exact: at 4 MB it went lossy, and every
            // message on its pages was checked again (1.3 s instead of 0.35 s).
            tx.batch_execute("SET LOCAL work_mem = '32MB'").await?;
            params.0[0] = Box::new(high);
            params.0[1] = Box::new(i64::MIN);
            params.0[2] = Box::new(fetch - found);
            let older = format!(
                "WITH hits AS MATERIALIZED (SELECT messages.id FROM messages{contacts} WHERE {filter})
                 SELECT {columns} FROM messages WHERE messages.id IN (SELECT id FROM hits)
                 ORDER BY messages.id DESC LIMIT $3"
            );
            rows.extend(tx.query(older.as_str(), &params.refs()).await?);
            break;
        }
        size = (needed + needed / 2).max(RECENT);
    }
    let items = rows.iter().map(message_from_row).collect::<Res<Vec<_>>>()?;
    let mut page = Page::from_overfetch(items, limit, |m| m.id.get());
    attach_statuses(tx, &mut page.items).await?;
    Ok(page)
}

pub(crate) async fn get_setting(tx: &Tx<'_>, key: &str) -> Res<Option<(String, Timestamp)>> {
    let row = query_opt(
        tx,
        "SELECT value, updated_at FROM settings WHERE key = $1",
        &[&key],
    )
    .await?;
    match row {
        Some(row) => Ok(Some((row.try_get(0)?, from_millis(row.try_get(1)?)?))),
        None => Ok(None),
    }
}

pub(crate) async fn put_setting(tx: &Tx<'_>, key: &str, value: &str, now: Timestamp) -> Res<()> {
    execute(
        tx,
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        &[&key, &value, &to_millis(now)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete_setting(tx: &Tx<'_>, key: &str) -> Res<()> {
    execute(tx, "DELETE FROM settings WHERE key = $1", &[&key]).await?;
    Ok(())
}

/// The inbox: conversations with a message, on contacts the scope sees, newest message first,
/// read backwards along `conversations_by_last_message` until the page is full.
pub(crate) async fn inbox(
    tx: &Tx<'_>,
    scope: Scope,
    filter: &InboxFilter,
    after: Option<InboxCursor>,
    limit: u32,
) -> Res<InboxPage> {
    let limit = limit.clamp(1, PageRequest::MAX_LIMIT);
    let (at, id) = after.map_or((i64::MAX, i64::MAX), |c| {
        (to_millis(c.at), c.conversation.get())
    });
    // $1 and $2 are the cursor (below it), $3 the number of rows to read.
    let mut params = Params(vec![
        Box::new(at),
        Box::new(id),
        Box::new(i64::from(limit) + 1),
    ]);
    let mut conditions = vec![
        "conversations.last_message_at IS NOT NULL".to_owned(),
        "(conversations.last_message_at, conversations.id) < ($1, $2)".to_owned(),
    ];
    let (scope_sql, values) = scope_filter(scope, params.0.len() + 1);
    for value in values {
        params.0.push(Box::new(value));
    }
    conditions.push(scope_sql);
    if let Some(account) = filter.account {
        let account = params.bind(Box::new(account.get()));
        conditions.push(format!("conversations.account_id = {account}"));
    }
    if let Some((family, value)) = &filter.tag {
        let family = params.bind(Box::new(family.as_str().to_owned()));
        let value = params.bind(Box::new(value.clone()));
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM tags WHERE tags.contact_id = contacts.id
               AND tags.family = {family} AND tags.value = {value})"
        ));
    }
    if let Some(owner) = filter.owner {
        let owner = params.bind(Box::new(owner.get()));
        conditions.push(format!("contacts.owner_id = {owner}"));
    }
    if filter.unassigned {
        conditions.push("contacts.owner_id IS NULL".to_owned());
    }
    let sql = format!(
        "SELECT conversations.id, conversations.contact_id, conversations.account_id,
                conversations.channel, conversations.assignee_id, conversations.last_message_at,
                conversations.created_at, contacts.name, contacts.owner_id,
                last.direction, last.body
         FROM conversations
         JOIN contacts ON contacts.id = conversations.contact_id
         LEFT JOIN LATERAL (
             SELECT direction, body FROM messages
             WHERE messages.conversation_id = conversations.id
             ORDER BY at DESC, id DESC LIMIT 1
         ) last ON TRUE
         WHERE {} ORDER BY conversations.last_message_at DESC, conversations.id DESC LIMIT $3",
        conditions.join(" AND ")
    );
    let rows = query(tx, &sql, &params.refs()).await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let last = match (
            row.try_get::<_, Option<&str>>(9)?,
            row.try_get::<_, Option<String>>(10)?,
        ) {
            (Some(d), Some(text)) => Some((parse_column::<Direction>("direction", d)?, text)),
            _ => None,
        };
        items.push(InboxRow {
            conversation: Conversation {
                id: ConversationId::new(row.try_get(0)?),
                contact: ContactId::new(row.try_get(1)?),
                account: AccountId::new(row.try_get(2)?),
                channel: parse_column("channel", row.try_get::<_, &str>(3)?)?,
                assignee: row.try_get::<_, Option<i64>>(4)?.map(UserId::new),
                last_message_at: row
                    .try_get::<_, Option<i64>>(5)?
                    .map(from_millis)
                    .transpose()?,
                created_at: from_millis(row.try_get(6)?)?,
            },
            contact_name: row.try_get(7)?,
            contact_owner: row.try_get::<_, Option<i64>>(8)?.map(UserId::new),
            last,
        });
    }
    Ok(InboxPage::from_overfetch(items, limit))
}
