//! Accounts, conversations, messages and events: the high-volume side of the store.

use std::collections::HashMap;

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, Row, params};
use stoke_core::{
    Account, AccountDraft, AccountId, Channel, ContactId, ContactRef, Conversation, ConversationId,
    Currency, Direction, Event, EventId, Message, MessageId, MessageStatus, Money, StatusChange,
};
use stoke_store::codec::{decode_event, encode_event, from_millis, parse_column, to_millis};
use stoke_store::search::message_search_text;
use stoke_store::{
    IncomingEvent, IncomingMessage, IngestOutcome, Page, PageRequest, StoreError, StoreResult,
};

use stoke_core::engine::{EngineEvent, Rules};

use crate::outbox::{self, find_account};
use crate::{contacts, db_err, engine, search};

pub(crate) fn ensure_account(
    conn: &Connection,
    draft: &AccountDraft,
    now: Timestamp,
) -> StoreResult<Account> {
    // An empty name is refused by `insert_account`.
    let name = draft.name.trim();
    if let Some(existing) = find_account(conn, name)? {
        if existing.channel != draft.channel {
            return Err(StoreError::Conflict {
                entity: "account",
                key: name.to_owned(),
                reason: format!(
                    "account {name:?} is a {} account, not {}",
                    existing.channel, draft.channel
                ),
            });
        }
        return Ok(existing);
    }
    outbox::insert_account(conn, draft, now)
}

pub(crate) fn list_accounts(conn: &Connection) -> StoreResult<Vec<Account>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {} FROM accounts ORDER BY id",
            outbox::ACCOUNT_COLUMNS
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(outbox::account_from_row(row)?);
    }
    Ok(out)
}

/// Whether a row with this idempotency key is stored. Checked before resolving the contact, so
/// that a duplicate line never creates a contact; the insert's `ON CONFLICT` still guards against
/// the same key twice within one batch.
fn already_stored(conn: &Connection, table: &str, external_id: &str) -> StoreResult<bool> {
    conn.prepare_cached(&format!("SELECT 1 FROM {table} WHERE external_id = ?1"))
        .and_then(|mut s| s.exists([external_id]))
        .map_err(db_err)
}

/// Resolves contact references within one batch, remembering what it found: imports name the
/// same contact on consecutive lines, so most look-ups never reach the database.
struct ContactResolver {
    known: HashMap<ContactRef, ContactId>,
    created: u64,
}

impl ContactResolver {
    fn new() -> Self {
        Self {
            known: HashMap::new(),
            created: 0,
        }
    }

    /// The contact a reference names; `None` for an id that does not exist. A handle nobody
    /// has yet creates a contact.
    fn resolve(
        &mut self,
        conn: &Connection,
        reference: &ContactRef,
        now: Timestamp,
    ) -> StoreResult<Option<ContactId>> {
        if let Some(id) = self.known.get(reference) {
            return Ok(Some(*id));
        }
        let id = match reference {
            ContactRef::Id(id) => match contacts::resolve(conn, *id)? {
                Some(id) => id,
                None => return Ok(None),
            },
            ContactRef::Handle(handle) => match contacts::find_by_handle(conn, handle)? {
                Some(id) => id,
                None => {
                    self.created += 1;
                    contacts::create_from_handle(conn, handle, now)?
                }
            },
        };
        if self.known.len() > 10_000 {
            self.known.clear();
        }
        self.known.insert(reference.clone(), id);
        Ok(Some(id))
    }
}

pub(crate) fn ingest_messages(
    conn: &Connection,
    batch: &[IncomingMessage],
    now: Timestamp,
    rules: &Rules,
) -> StoreResult<IngestOutcome> {
    // The batch indexes its own messages at its end (see `search::index_messages_from`);
    // changes noted before it go to the index first, so that none of them names a row it adds.
    search::sync(conn)?;
    let mut first: Option<MessageId> = None;
    let mut outcome = IngestOutcome::default();
    let mut engine = engine::Batch::default();
    let mut resolver = ContactResolver::new();
    let mut accounts: HashMap<(String, Channel), AccountId> = HashMap::new();
    let mut conversations: HashMap<(ContactId, AccountId), ConversationId> = HashMap::new();
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO messages (external_id, conversation_id, contact_id, account_id, channel, direction, body, at, provider_id, initial_status, search)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT (external_id) DO NOTHING",
        )
        .map_err(db_err)?;
    let mut touch = conn
        .prepare_cached(
            "UPDATE conversations SET last_message_at = ?2 WHERE id = ?1 AND (last_message_at IS NULL OR last_message_at < ?2)",
        )
        .map_err(db_err)?;
    for (index, m) in batch.iter().enumerate() {
        if already_stored(conn, "messages", &m.external_id)? {
            outcome.duplicates += 1;
            continue;
        }
        let Some(contact) = resolver.resolve(conn, &m.contact, now)? else {
            outcome.unknown_contacts.push(index);
            continue;
        };
        let account = match accounts.get(&(m.account.clone(), m.channel)) {
            Some(id) => *id,
            None => {
                let draft = AccountDraft {
                    name: m.account.clone(),
                    channel: m.channel,
                    address: None,
                    limits: Default::default(),
                };
                let id = ensure_account(conn, &draft, now)?.id;
                accounts.insert((m.account.clone(), m.channel), id);
                id
            }
        };
        let conversation = match conversations.get(&(contact, account)) {
            Some(id) => *id,
            None => {
                let id = ensure_conversation(conn, contact, account, m.channel, now)?;
                conversations.insert((contact, account), id);
                id
            }
        };
        let initial = match m.direction {
            Direction::In => MessageStatus::Received,
            Direction::Out => MessageStatus::Sent,
        };
        let inserted = insert
            .execute(params![
                m.external_id,
                conversation.get(),
                contact.get(),
                account.get(),
                m.channel.as_str(),
                m.direction.as_str(),
                m.text,
                to_millis(m.at),
                m.provider_id,
                initial.as_str(),
                // Its words for search, indexed at the end of the batch.
                message_search_text(&m.text),
            ])
            .map_err(db_err)?;
        if inserted == 0 {
            // The same key twice within the batch.
            outcome.duplicates += 1;
            continue;
        }
        touch
            .execute(params![conversation.get(), to_millis(m.at)])
            .map_err(db_err)?;
        let id = MessageId::new(conn.last_insert_rowid());
        first.get_or_insert(id);
        let event = match m.direction {
            Direction::In => EngineEvent::Inbound {
                message: id,
                text: m.text.clone(),
                at: m.at,
            },
            Direction::Out => EngineEvent::Outbound {
                message: id,
                at: m.at,
            },
        };
        engine.add(conn, contact, &event, rules)?;
        outcome.inserted += 1;
    }
    engine.finish(conn, now, rules)?;
    if let Some(first) = first {
        search::index_messages_from(conn, first)?;
    }
    outcome.contacts_created = resolver.created;
    Ok(outcome)
}

fn ensure_conversation(
    conn: &Connection,
    contact: ContactId,
    account: AccountId,
    channel: Channel,
    now: Timestamp,
) -> StoreResult<ConversationId> {
    let found = conn
        .prepare_cached("SELECT id FROM conversations WHERE contact_id = ?1 AND account_id = ?2")
        .and_then(|mut s| {
            s.query_row(params![contact.get(), account.get()], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
        })
        .map_err(db_err)?;
    if let Some(id) = found {
        return Ok(ConversationId::new(id));
    }
    conn.prepare_cached("INSERT INTO conversations (contact_id, account_id, channel, created_at) VALUES (?1, ?2, ?3, ?4)")
        .and_then(|mut s| s.execute(params![contact.get(), account.get(), channel.as_str(), to_millis(now)]))
        .map_err(db_err)?;
    Ok(ConversationId::new(conn.last_insert_rowid()))
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, external_id, conversation_id, contact_id, account_id, channel, direction, body, at, provider_id, initial_status";

pub(crate) fn message_from_row(row: &Row<'_>) -> StoreResult<Message> {
    let at = from_millis(row.get(8).map_err(db_err)?)?;
    let initial: MessageStatus =
        parse_column("status", &row.get::<_, String>(10).map_err(db_err)?)?;
    Ok(Message {
        id: MessageId::new(row.get(0).map_err(db_err)?),
        external_id: row.get(1).map_err(db_err)?,
        conversation: ConversationId::new(row.get(2).map_err(db_err)?),
        contact: ContactId::new(row.get(3).map_err(db_err)?),
        account: AccountId::new(row.get(4).map_err(db_err)?),
        channel: parse_column("channel", &row.get::<_, String>(5).map_err(db_err)?)?,
        direction: parse_column("direction", &row.get::<_, String>(6).map_err(db_err)?)?,
        text: row.get(7).map_err(db_err)?,
        at,
        provider_id: row.get(9).map_err(db_err)?,
        statuses: vec![StatusChange {
            status: initial,
            at,
            detail: None,
        }],
    })
}

/// Appends the stored status steps to messages read without them.
pub(crate) fn attach_statuses(conn: &Connection, messages: &mut [Message]) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT status, at, detail FROM message_statuses WHERE message_id = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    for m in messages.iter_mut() {
        let mut rows = stmt.query([m.id.get()]).map_err(db_err)?;
        while let Some(row) = rows.next().map_err(db_err)? {
            m.statuses.push(StatusChange {
                status: parse_column("status", &row.get::<_, String>(0).map_err(db_err)?)?,
                at: from_millis(row.get(1).map_err(db_err)?)?,
                detail: row.get(2).map_err(db_err)?,
            });
        }
    }
    Ok(())
}

pub(crate) fn get_message(conn: &Connection, id: MessageId) -> StoreResult<Message> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([id.get()]).map_err(db_err)?;
    let mut message = match rows.next().map_err(db_err)? {
        Some(row) => message_from_row(row)?,
        None => return Err(StoreError::not_found("message", id)),
    };
    attach_statuses(conn, std::slice::from_mut(&mut message))?;
    Ok(message)
}

pub(crate) fn add_status(
    conn: &Connection,
    id: MessageId,
    change: &StatusChange,
    rules: &Rules,
) -> StoreResult<()> {
    let found: Option<(i64, String)> = conn
        .prepare_cached("SELECT contact_id, direction FROM messages WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id.get()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err)?;
    let Some((contact, direction)) = found else {
        return Err(StoreError::not_found("message", id));
    };
    conn.prepare_cached(
        "INSERT INTO message_statuses (message_id, status, at, detail) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            id.get(),
            change.status.as_str(),
            to_millis(change.at),
            change.detail
        ])
    })
    .map_err(db_err)?;
    if direction == "out"
        && let Some(event) = stoke_store::codec::status_event(change.status.as_str(), id, change.at)
    {
        let mut batch = engine::Batch::default();
        batch.add(conn, ContactId::new(contact), &event, rules)?;
        // Receipts arrive as they happen: the moment of the receipt is the one to evaluate at;
        // a late one makes its due changes at the scheduler's next round.
        batch.finish(conn, change.at, rules)?;
    }
    Ok(())
}

/// Pages through a contact's rows oldest first. The cursor is the row id; within one contact
/// rows are ordered by (time, id), so the cursor carries the time of the last row too.
fn page_of<T>(
    conn: &Connection,
    table_sql: &str,
    contact: ContactId,
    page: PageRequest,
    decode: impl Fn(&Row<'_>) -> StoreResult<T>,
    id_of: impl Fn(&T) -> i64,
) -> StoreResult<Page<T>> {
    let contact = contacts::resolve(conn, contact)?
        .ok_or_else(|| StoreError::not_found("contact", contact))?;
    let limit = page.effective_limit();
    let after_at: i64 = match page.after {
        Some(after) => conn
            .query_row(
                &format!("SELECT at FROM ({table_sql}) WHERE id = ?1"),
                [after],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err)?
            .unwrap_or(i64::MIN),
        None => i64::MIN,
    };
    let sql = format!(
        "SELECT * FROM ({table_sql}) WHERE contact_id = ?1 AND (at > ?2 OR (at = ?2 AND id > ?3)) ORDER BY at, id LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            contact.get(),
            after_at,
            page.after.unwrap_or(i64::MIN),
            i64::from(limit) + 1
        ])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(decode(row)?);
    }
    Ok(Page::from_overfetch(items, limit, id_of))
}

pub(crate) fn list_messages(
    conn: &Connection,
    contact: ContactId,
    page: PageRequest,
) -> StoreResult<Page<Message>> {
    let mut page = page_of(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages"),
        contact,
        page,
        message_from_row,
        |m| m.id.get(),
    )?;
    attach_statuses(conn, &mut page.items)?;
    Ok(page)
}

pub(crate) fn list_conversations(
    conn: &Connection,
    contact: ContactId,
) -> StoreResult<Vec<Conversation>> {
    let contact = contacts::resolve(conn, contact)?
        .ok_or_else(|| StoreError::not_found("contact", contact))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, contact_id, account_id, channel, assignee_id, last_message_at, created_at
             FROM conversations WHERE contact_id = ?1 ORDER BY id",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(Conversation {
            id: ConversationId::new(row.get(0).map_err(db_err)?),
            contact: ContactId::new(row.get(1).map_err(db_err)?),
            account: AccountId::new(row.get(2).map_err(db_err)?),
            channel: parse_column("channel", &row.get::<_, String>(3).map_err(db_err)?)?,
            assignee: row
                .get::<_, Option<i64>>(4)
                .map_err(db_err)?
                .map(stoke_core::UserId::new),
            last_message_at: row
                .get::<_, Option<i64>>(5)
                .map_err(db_err)?
                .map(from_millis)
                .transpose()?,
            created_at: from_millis(row.get(6).map_err(db_err)?)?,
        });
    }
    Ok(out)
}

pub(crate) fn ingest_events(
    conn: &Connection,
    batch: &[IncomingEvent],
    now: Timestamp,
    rules: &Rules,
) -> StoreResult<IngestOutcome> {
    let mut outcome = IngestOutcome::default();
    let mut engine = engine::Batch::default();
    let mut resolver = ContactResolver::new();
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (external_id, contact_id, kind, at, amount_minor, currency, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (external_id) DO NOTHING",
        )
        .map_err(db_err)?;
    for (index, e) in batch.iter().enumerate() {
        if already_stored(conn, "events", &e.external_id)? {
            outcome.duplicates += 1;
            continue;
        }
        let Some(contact) = resolver.resolve(conn, &e.contact, now)? else {
            outcome.unknown_contacts.push(index);
            continue;
        };
        let (payload, amount) = encode_event(&e.kind);
        let inserted = insert
            .execute(params![
                e.external_id,
                contact.get(),
                e.kind.as_str(),
                to_millis(e.at),
                amount.map(Money::minor),
                amount.map(|a| a.currency().code()),
                payload,
            ])
            .map_err(db_err)?;
        if inserted == 0 {
            outcome.duplicates += 1;
            continue;
        }
        let id = EventId::new(conn.last_insert_rowid());
        if let Some(event) = stoke_store::codec::event_of(&e.kind, id, e.at) {
            engine.add(conn, contact, &event, rules)?;
        }
        outcome.inserted += 1;
    }
    engine.finish(conn, now, rules)?;
    outcome.contacts_created = resolver.created;
    Ok(outcome)
}

fn event_from_row(row: &Row<'_>) -> StoreResult<Event> {
    let amount = match (
        row.get::<_, Option<i64>>(5).map_err(db_err)?,
        row.get::<_, Option<String>>(6).map_err(db_err)?,
    ) {
        (Some(minor), Some(code)) => Some(Money::from_minor(
            minor,
            parse_column::<CurrencyCode>("currency", &code)?.0,
        )),
        _ => None,
    };
    Ok(Event {
        id: EventId::new(row.get(0).map_err(db_err)?),
        external_id: row.get(1).map_err(db_err)?,
        contact: ContactId::new(row.get(2).map_err(db_err)?),
        at: from_millis(row.get(4).map_err(db_err)?)?,
        kind: decode_event(&row.get::<_, String>(7).map_err(db_err)?, amount)?,
    })
}

/// `Currency` parses through `Currency::parse`; this adapts it to `parse_column`.
struct CurrencyCode(Currency);

impl std::str::FromStr for CurrencyCode {
    type Err = stoke_core::ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s).map(CurrencyCode)
    }
}

pub(crate) fn list_events(
    conn: &Connection,
    contact: ContactId,
    page: PageRequest,
) -> StoreResult<Page<Event>> {
    page_of(
        conn,
        "SELECT id, external_id, contact_id, kind, at, amount_minor, currency, payload FROM events",
        contact,
        page,
        event_from_row,
        |e| e.id.get(),
    )
}
