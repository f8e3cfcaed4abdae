//! Accounts, conversations, messages and events: the high-volume side of the store. A batch is
//! resolved, inserted and run through the engine with a handful of statements, whatever its size.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use stoke_core::engine::{EngineEvent, Rules};
use stoke_core::{
    Account, AccountDraft, AccountId, Channel, ContactId, ContactRef, Conversation, ConversationId,
    Currency, Direction, Event, EventId, Handle, Message, MessageId, MessageStatus, Money,
    StatusChange,
};
use stoke_store::codec::{decode_event, encode_event, from_millis, parse_column, to_millis};
use stoke_store::search::message_search_text;
use stoke_store::{IncomingEvent, IncomingMessage, IngestOutcome, Page, PageRequest, StoreError};
use tokio_postgres::Row;

use crate::contacts::{self, HandleKey, key_of};
use crate::outbox::{self, ACCOUNT_COLUMNS, find_account};
use crate::{Fail, Res, Tx, allocate_ids, engine, execute, not_found, query, query_opt};

pub(crate) async fn ensure_account(
    tx: &Tx<'_>,
    draft: &AccountDraft,
    now: Timestamp,
) -> Res<Account> {
    // An empty name is refused by `insert_account`.
    let name = draft.name.trim();
    if let Some(existing) = find_account(tx, name).await? {
        if existing.channel != draft.channel {
            return Err(Fail::Store(StoreError::Conflict {
                entity: "account",
                key: name.to_owned(),
                reason: format!(
                    "account {name:?} is a {} account, not {}",
                    existing.channel, draft.channel
                ),
            }));
        }
        return Ok(existing);
    }
    // Another node creating the same account first makes this fail on the unique name, and the
    // transaction runs again and finds it.
    outbox::insert_account(tx, draft, now).await
}

pub(crate) async fn list_accounts(tx: &Tx<'_>) -> Res<Vec<Account>> {
    let rows = query(
        tx,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY id"),
        &[],
    )
    .await?;
    rows.iter().map(outbox::account_from_row).collect()
}

/// What becomes of one row of an ingest batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Its key is stored already, or came earlier in the batch.
    Duplicate,
    /// It names a contact id that does not exist.
    Unknown,
    Store(ContactId),
}

/// Decides the fate of every row of a batch, in a few queries: which keys are stored, what the
/// named ids are now, whose the named handles are; a handle nobody has yet creates a contact (in
/// the order of the rows, as SQLite's store does). Then locks the contacts the batch stores
/// rows for, in id order: their engine state is read and written back. Returns the fates and
/// how many contacts were created.
async fn plan(
    tx: &Tx<'_>,
    table: &str,
    rows: &[(&str, &ContactRef)],
    now: Timestamp,
) -> Res<(Vec<Fate>, u64)> {
    let keys: Vec<&str> = rows.iter().map(|(key, _)| *key).collect();
    let stored: HashSet<String> = query(
        tx,
        &format!("SELECT external_id FROM {table} WHERE external_id = ANY($1)"),
        &[&keys],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let named_ids: Vec<i64> = rows
        .iter()
        .filter_map(|(_, r)| match r {
            ContactRef::Id(id) => Some(id.get()),
            ContactRef::Handle(_) => None,
        })
        .collect();
    let ids = contacts::resolve_many(tx, &named_ids).await?;

    // Rows in order: a duplicate is decided before its contact is looked at, so that a duplicate
    // line never creates a contact; a row naming an unknown id is not stored, so its key does not
    // make a later row a duplicate.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut pending: Vec<Option<&Handle>> = Vec::with_capacity(rows.len());
    let mut fates = Vec::with_capacity(rows.len());
    for (key, reference) in rows {
        if stored.contains(*key) || seen.contains(key) {
            fates.push(Fate::Duplicate);
            pending.push(None);
            continue;
        }
        match reference {
            ContactRef::Id(id) => match ids.get(&id.get()) {
                Some(contact) => {
                    seen.insert(key);
                    fates.push(Fate::Store(*contact));
                    pending.push(None);
                }
                None => {
                    fates.push(Fate::Unknown);
                    pending.push(None);
                }
            },
            ContactRef::Handle(handle) => {
                seen.insert(key);
                // Filled in below, once the handles are looked up.
                fates.push(Fate::Unknown);
                pending.push(Some(handle));
            }
        }
    }
    let mut wanted = HashSet::new();
    let handles: Vec<Handle> = pending
        .iter()
        .flatten()
        .filter(|h| wanted.insert(key_of(h)))
        .map(|h| (*h).clone())
        .collect();
    let mut found: HashMap<HandleKey, ContactId> = contacts::find_handles(tx, &handles).await?;
    let missing: Vec<Handle> = handles
        .into_iter()
        .filter(|h| !found.contains_key(&key_of(h)))
        .collect();
    let created = contacts::create_from_handles(tx, &missing, now).await?;
    for (handle, id) in missing.iter().zip(&created) {
        found.insert(key_of(handle), *id);
    }
    for (fate, handle) in fates.iter_mut().zip(&pending) {
        if let Some(handle) = handle {
            let contact = found.get(&key_of(handle)).copied().ok_or_else(|| {
                Fail::Store(StoreError::Backend(format!(
                    "no contact for the {} {}",
                    handle.kind(),
                    handle.key()
                )))
            })?;
            *fate = Fate::Store(contact);
        }
    }
    let touched: Vec<ContactId> = fates
        .iter()
        .filter_map(|f| match f {
            Fate::Store(c) => Some(*c),
            _ => None,
        })
        .collect();
    let locked = contacts::lock_many(tx, &touched).await?;
    if touched.iter().any(|c| !locked.contains(c)) {
        // Merged away since it was resolved: resolve again.
        return Err(Fail::Raced("the contacts of a batch"));
    }
    Ok((fates, created.len() as u64))
}

pub(crate) async fn ingest_messages(
    tx: &Tx<'_>,
    batch: &[IncomingMessage],
    now: Timestamp,
    rules: &Rules,
) -> Res<IngestOutcome> {
    let rows: Vec<(&str, &ContactRef)> = batch
        .iter()
        .map(|m| (m.external_id.as_str(), &m.contact))
        .collect();
    let (fates, contacts_created) = plan(tx, "messages", &rows, now).await?;
    let mut outcome = IngestOutcome {
        contacts_created,
        ..IngestOutcome::default()
    };

    // Accounts, then conversations, in the order the rows first name them.
    let mut accounts: HashMap<(&str, Channel), AccountId> = HashMap::new();
    let mut conversations: HashMap<(ContactId, AccountId), Option<ConversationId>> = HashMap::new();
    let mut pairs: Vec<(ContactId, AccountId, Channel)> = Vec::new();
    let mut keep: Vec<(usize, ContactId, AccountId)> = Vec::new();
    for (index, (m, fate)) in batch.iter().zip(&fates).enumerate() {
        let contact = match fate {
            Fate::Duplicate => {
                outcome.duplicates += 1;
                continue;
            }
            Fate::Unknown => {
                outcome.unknown_contacts.push(index);
                continue;
            }
            Fate::Store(contact) => *contact,
        };
        let account = match accounts.get(&(m.account.as_str(), m.channel)) {
            Some(id) => *id,
            None => {
                let draft = AccountDraft {
                    name: m.account.clone(),
                    channel: m.channel,
                    address: None,
                    limits: Default::default(),
                };
                let id = ensure_account(tx, &draft, now).await?.id;
                accounts.insert((m.account.as_str(), m.channel), id);
                id
            }
        };
        if let std::collections::hash_map::Entry::Vacant(slot) =
            conversations.entry((contact, account))
        {
            slot.insert(None);
            pairs.push((contact, account, m.channel));
        }
        keep.push((index, contact, account));
    }
    if keep.is_empty() {
        return Ok(outcome);
    }
    let contact_ids: Vec<i64> = pairs.iter().map(|p| p.0.get()).collect();
    for row in query(
        tx,
        "SELECT contact_id, account_id, id FROM conversations WHERE contact_id = ANY($1)",
        &[&contact_ids],
    )
    .await?
    {
        let pair = (
            ContactId::new(row.try_get(0)?),
            AccountId::new(row.try_get(1)?),
        );
        if let Some(slot) = conversations.get_mut(&pair) {
            *slot = Some(ConversationId::new(row.try_get(2)?));
        }
    }
    let new: Vec<&(ContactId, AccountId, Channel)> = pairs
        .iter()
        .filter(|p| matches!(conversations.get(&(p.0, p.1)), Some(None)))
        .collect();
    let ids = allocate_ids(tx, "conversations", new.len()).await?;
    if !ids.is_empty() {
        let contacts: Vec<i64> = new.iter().map(|p| p.0.get()).collect();
        let accounts: Vec<i64> = new.iter().map(|p| p.1.get()).collect();
        let channels: Vec<&str> = new.iter().map(|p| p.2.as_str()).collect();
        execute(
            tx,
            "INSERT INTO conversations (id, contact_id, account_id, channel, created_at)
             SELECT id, contact_id, account_id, channel, $5 FROM
               unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[]) AS c(id, contact_id, account_id, channel)",
            &[&ids, &contacts, &accounts, &channels, &to_millis(now)],
        )
        .await?;
        for (pair, id) in new.iter().zip(&ids) {
            conversations.insert((pair.0, pair.1), Some(ConversationId::new(*id)));
        }
    }

    // The messages, with ids in the order of the batch.
    let ids = allocate_ids(tx, "messages", keep.len()).await?;
    let mut cols = MessageColumns::default();
    for ((index, contact, account), id) in keep.iter().zip(&ids) {
        let m = &batch[*index];
        let conversation = conversations
            .get(&(*contact, *account))
            .copied()
            .flatten()
            .ok_or_else(|| Fail::Store(StoreError::Backend("a conversation vanished".into())))?;
        let initial = match m.direction {
            Direction::In => MessageStatus::Received,
            Direction::Out => MessageStatus::Sent,
        };
        cols.ids.push(*id);
        cols.keys.push(&m.external_id);
        cols.conversations.push(conversation.get());
        cols.contacts.push(contact.get());
        cols.accounts.push(account.get());
        cols.channels.push(m.channel.as_str());
        cols.directions.push(m.direction.as_str());
        cols.bodies.push(&m.text);
        cols.at.push(to_millis(m.at));
        cols.providers.push(m.provider_id.as_deref());
        cols.statuses.push(initial.as_str());
        cols.searches.push(message_search_text(&m.text));
    }
    let inserted: HashSet<i64> = query(
        tx,
        "INSERT INTO messages (id, external_id, conversation_id, contact_id, account_id, channel,
           direction, body, at, provider_id, initial_status, search)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
           $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::text[])
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
        &[
            &cols.ids,
            &cols.keys,
            &cols.conversations,
            &cols.contacts,
            &cols.accounts,
            &cols.channels,
            &cols.directions,
            &cols.bodies,
            &cols.at,
            &cols.providers,
            &cols.statuses,
            &cols.searches,
        ],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;

    let mut engine = engine::Batch::default();
    let mut latest: HashMap<i64, i64> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        if !inserted.contains(id) {
            // The same key, stored by another transaction meanwhile.
            outcome.duplicates += 1;
            continue;
        }
        let (index, contact, _) = keep[i];
        let m = &batch[index];
        let at = latest.entry(cols.conversations[i]).or_insert(i64::MIN);
        *at = (*at).max(cols.at[i]);
        let message = MessageId::new(*id);
        engine.add(
            contact,
            match m.direction {
                Direction::In => EngineEvent::Inbound {
                    message,
                    text: m.text.clone(),
                    at: m.at,
                },
                Direction::Out => EngineEvent::Outbound { message, at: m.at },
            },
        );
        outcome.inserted += 1;
    }
    let (conv_ids, conv_at): (Vec<i64>, Vec<i64>) = latest.into_iter().unzip();
    execute(
        tx,
        "UPDATE conversations c SET last_message_at = v.at
         FROM unnest($1::bigint[], $2::bigint[]) AS v(id, at)
         WHERE c.id = v.id AND (c.last_message_at IS NULL OR c.last_message_at < v.at)",
        &[&conv_ids, &conv_at],
    )
    .await?;
    engine.finish(tx, now, rules).await?;
    Ok(outcome)
}

/// Messages' columns as arrays, for the bulk insert.
#[derive(Default)]
struct MessageColumns<'a> {
    ids: Vec<i64>,
    keys: Vec<&'a str>,
    conversations: Vec<i64>,
    contacts: Vec<i64>,
    accounts: Vec<i64>,
    channels: Vec<&'static str>,
    directions: Vec<&'static str>,
    bodies: Vec<&'a str>,
    at: Vec<i64>,
    providers: Vec<Option<&'a str>>,
    statuses: Vec<&'static str>,
    /// The words search finds the message by (`stoke_store::search::message_search_text`).
    searches: Vec<String>,
}

pub(crate) const MESSAGE_COLUMNS: &str = "id, external_id, conversation_id, contact_id, account_id, channel, direction, body, at, provider_id, initial_status";

pub(crate) fn message_from_row(row: &Row) -> Res<Message> {
    let at = from_millis(row.try_get(8)?)?;
    let initial: MessageStatus = parse_column("status", row.try_get::<_, &str>(10)?)?;
    Ok(Message {
        id: MessageId::new(row.try_get(0)?),
        external_id: row.try_get(1)?,
        conversation: ConversationId::new(row.try_get(2)?),
        contact: ContactId::new(row.try_get(3)?),
        account: AccountId::new(row.try_get(4)?),
        channel: parse_column("channel", row.try_get::<_, &str>(5)?)?,
        direction: parse_column("direction", row.try_get::<_, &str>(6)?)?,
        text: row.try_get(7)?,
        at,
        provider_id: row.try_get(9)?,
        statuses: vec![StatusChange {
            status: initial,
            at,
            detail: None,
        }],
    })
}

/// Appends the stored status steps to messages read without them, in one query.
pub(crate) async fn attach_statuses(tx: &Tx<'_>, messages: &mut [Message]) -> Res<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = messages.iter().map(|m| m.id.get()).collect();
    let rows = query(
        tx,
        "SELECT message_id, status, at, detail FROM message_statuses
         WHERE message_id = ANY($1) ORDER BY id",
        &[&ids],
    )
    .await?;
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for row in rows {
        if let Some(i) = position.get(&row.try_get::<_, i64>(0)?) {
            messages[*i].statuses.push(StatusChange {
                status: parse_column("status", row.try_get::<_, &str>(1)?)?,
                at: from_millis(row.try_get(2)?)?,
                detail: row.try_get(3)?,
            });
        }
    }
    Ok(())
}

pub(crate) async fn get_message(tx: &Tx<'_>, id: MessageId) -> Res<Message> {
    let row = query_opt(
        tx,
        &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"),
        &[&id.get()],
    )
    .await?;
    let mut message = match row {
        Some(row) => message_from_row(&row)?,
        None => return Err(not_found("message", id)),
    };
    attach_statuses(tx, std::slice::from_mut(&mut message)).await?;
    Ok(message)
}

pub(crate) async fn add_status(
    tx: &Tx<'_>,
    id: MessageId,
    change: &StatusChange,
    rules: &Rules,
) -> Res<()> {
    let row = query_opt(
        tx,
        "SELECT contact_id, direction FROM messages WHERE id = $1",
        &[&id.get()],
    )
    .await?
    .ok_or_else(|| not_found("message", id))?;
    let contact = ContactId::new(row.try_get(0)?);
    let direction: &str = row.try_get(1)?;
    if !contacts::lock_many(tx, &[contact])
        .await?
        .contains(&contact)
    {
        return Err(Fail::Raced("a message's contact"));
    }
    execute(
        tx,
        "INSERT INTO message_statuses (message_id, status, at, detail) VALUES ($1, $2, $3, $4)",
        &[
            &id.get(),
            &change.status.as_str(),
            &to_millis(change.at),
            &change.detail,
        ],
    )
    .await?;
    if direction == "out"
        && let Some(event) = stoke_store::codec::status_event(change.status.as_str(), id, change.at)
    {
        let mut batch = engine::Batch::default();
        batch.add(contact, event);
        // Receipts arrive as they happen: the moment of the receipt is the one to evaluate at;
        // a late one makes its due changes at the scheduler's next round.
        batch.finish(tx, change.at, rules).await?;
    }
    Ok(())
}

/// Pages through a contact's rows oldest first. The cursor is the row id; within one contact
/// rows are ordered by (time, id), so the cursor carries the time of the last row too.
async fn page_of<T>(
    tx: &Tx<'_>,
    table: &str,
    columns: &str,
    contact: ContactId,
    page: PageRequest,
    decode: impl Fn(&Row) -> Res<T>,
    id_of: impl Fn(&T) -> i64,
) -> Res<Page<T>> {
    let contact = contacts::resolve(tx, contact)
        .await?
        .ok_or_else(|| not_found("contact", contact))?;
    let limit = page.effective_limit();
    let after_at: i64 = match page.after {
        Some(after) => query_opt(
            tx,
            &format!("SELECT at FROM {table} WHERE id = $1"),
            &[&after],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(i64::MIN),
        None => i64::MIN,
    };
    let rows = query(
        tx,
        &format!(
            "SELECT {columns} FROM {table} WHERE contact_id = $1 AND (at, id) > ($2, $3)
             ORDER BY at, id LIMIT $4"
        ),
        &[
            &contact.get(),
            &after_at,
            &page.after.unwrap_or(i64::MIN),
            &(i64::from(limit) + 1),
        ],
    )
    .await?;
    let items = rows.iter().map(decode).collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, id_of))
}

pub(crate) async fn list_messages(
    tx: &Tx<'_>,
    contact: ContactId,
    page: PageRequest,
) -> Res<Page<Message>> {
    let mut page = page_of(
        tx,
        "messages",
        MESSAGE_COLUMNS,
        contact,
        page,
        message_from_row,
        |m| m.id.get(),
    )
    .await?;
    attach_statuses(tx, &mut page.items).await?;
    Ok(page)
}

pub(crate) async fn list_conversations(tx: &Tx<'_>, contact: ContactId) -> Res<Vec<Conversation>> {
    let contact = contacts::resolve(tx, contact)
        .await?
        .ok_or_else(|| not_found("contact", contact))?;
    let rows = query(
        tx,
        "SELECT id, contact_id, account_id, channel, assignee_id, last_message_at, created_at
         FROM conversations WHERE contact_id = $1 ORDER BY id",
        &[&contact.get()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Conversation {
                id: ConversationId::new(row.try_get(0)?),
                contact: ContactId::new(row.try_get(1)?),
                account: AccountId::new(row.try_get(2)?),
                channel: parse_column("channel", row.try_get::<_, &str>(3)?)?,
                assignee: row
                    .try_get::<_, Option<i64>>(4)?
                    .map(stoke_core::UserId::new),
                last_message_at: row
                    .try_get::<_, Option<i64>>(5)?
                    .map(from_millis)
                    .transpose()?,
                created_at: from_millis(row.try_get(6)?)?,
            })
        })
        .collect()
}

pub(crate) async fn ingest_events(
    tx: &Tx<'_>,
    batch: &[IncomingEvent],
    now: Timestamp,
    rules: &Rules,
) -> Res<IngestOutcome> {
    let rows: Vec<(&str, &ContactRef)> = batch
        .iter()
        .map(|e| (e.external_id.as_str(), &e.contact))
        .collect();
    let (fates, contacts_created) = plan(tx, "events", &rows, now).await?;
    let mut outcome = IngestOutcome {
        contacts_created,
        ..IngestOutcome::default()
    };
    let mut keep: Vec<(usize, ContactId)> = Vec::new();
    for (index, fate) in fates.iter().enumerate() {
        match fate {
            Fate::Duplicate => outcome.duplicates += 1,
            Fate::Unknown => outcome.unknown_contacts.push(index),
            Fate::Store(contact) => keep.push((index, *contact)),
        }
    }
    if keep.is_empty() {
        return Ok(outcome);
    }
    let ids = allocate_ids(tx, "events", keep.len()).await?;
    let mut keys = Vec::with_capacity(keep.len());
    let mut contacts = Vec::with_capacity(keep.len());
    let mut kinds = Vec::with_capacity(keep.len());
    let mut at = Vec::with_capacity(keep.len());
    let mut amounts = Vec::with_capacity(keep.len());
    let mut currencies = Vec::with_capacity(keep.len());
    let mut payloads = Vec::with_capacity(keep.len());
    for (index, contact) in &keep {
        let e = &batch[*index];
        let (payload, amount) = encode_event(&e.kind);
        keys.push(e.external_id.as_str());
        contacts.push(contact.get());
        kinds.push(e.kind.as_str());
        at.push(to_millis(e.at));
        amounts.push(amount.map(Money::minor));
        currencies.push(amount.map(|a| a.currency().code()));
        payloads.push(payload);
    }
    let inserted: HashSet<i64> = query(
        tx,
        "INSERT INTO events (id, external_id, contact_id, kind, at, amount_minor, currency, payload)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[],
           $6::bigint[], $7::text[], $8::text[])
         ON CONFLICT (external_id) DO NOTHING RETURNING id",
        &[
            &ids,
            &keys,
            &contacts,
            &kinds,
            &at,
            &amounts,
            &currencies,
            &payloads,
        ],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut engine = engine::Batch::default();
    for ((index, contact), id) in keep.iter().zip(&ids) {
        if !inserted.contains(id) {
            outcome.duplicates += 1;
            continue;
        }
        let e = &batch[*index];
        if let Some(event) = stoke_store::codec::event_of(&e.kind, EventId::new(*id), e.at) {
            engine.add(*contact, event);
        }
        outcome.inserted += 1;
    }
    engine.finish(tx, now, rules).await?;
    Ok(outcome)
}

fn event_from_row(row: &Row) -> Res<Event> {
    let amount = match (
        row.try_get::<_, Option<i64>>(5)?,
        row.try_get::<_, Option<&str>>(6)?,
    ) {
        (Some(minor), Some(code)) => Some(Money::from_minor(
            minor,
            Currency::parse(code).map_err(|e| {
                Fail::Store(StoreError::Backend(format!(
                    "stored currency is unreadable: {e}"
                )))
            })?,
        )),
        _ => None,
    };
    Ok(Event {
        id: EventId::new(row.try_get(0)?),
        external_id: row.try_get(1)?,
        contact: ContactId::new(row.try_get(2)?),
        at: from_millis(row.try_get(4)?)?,
        kind: decode_event(row.try_get::<_, &str>(7)?, amount)?,
    })
}

pub(crate) async fn list_events(
    tx: &Tx<'_>,
    contact: ContactId,
    page: PageRequest,
) -> Res<Page<Event>> {
    page_of(
        tx,
        "events",
        "id, external_id, contact_id, kind, at, amount_minor, currency, payload",
        contact,
        page,
        event_from_row,
        |e| e.id.get(),
    )
    .await
}
