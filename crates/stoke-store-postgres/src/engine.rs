//! Running the engine inside the store's transactions: each contact a batch touched is folded
//! forward (or replayed from its history when an event arrived out of order), evaluated at
//! `now`, and its tag changes and new state written with the batch. States, histories and tags
//! of a whole batch are read and written with one statement each.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use stoke_core::engine::{ContactState, EngineEvent, Rules, apply, diff, evaluate};
use stoke_core::{Contact, ContactId, EventId, MessageId, TagFamily, UserId};
use stoke_store::codec::{StateDoc, click_topic, from_millis, order_products, to_millis};
use stoke_store::{Page, PageRequest, SegmentRow, StoreError};

use crate::contacts::{self, CONTACT_COLUMNS, contact_from_row};
use crate::people::{self, TagWrites};
use crate::{Fail, Res, Tx, execute, query};

/// The new events of a batch, by contact (id order: deterministic write order).
#[derive(Default)]
pub(crate) struct Batch {
    events: BTreeMap<ContactId, Vec<EngineEvent>>,
}

impl Batch {
    /// Queues one new event, already stored, for its (locked) contact.
    pub(crate) fn add(&mut self, contact: ContactId, event: EngineEvent) {
        self.events.entry(contact).or_default().push(event);
    }

    /// Folds each contact's new events into its state, evaluates it at `now` and writes its tags
    /// and state.
    pub(crate) async fn finish(self, tx: &Tx<'_>, now: Timestamp, rules: &Rules) -> Res<()> {
        if self.events.is_empty() {
            return Ok(());
        }
        let ids: Vec<ContactId> = self.events.keys().copied().collect();
        let mut states = load_states(tx, &ids).await?;
        let mut ready = Vec::with_capacity(ids.len());
        let mut replay = Vec::new();
        for (contact, events) in self.events {
            // No state yet (a new contact, or one just merged): rebuild it from the history,
            // which already holds these events.
            let Some(mut state) = states.remove(&contact) else {
                replay.push(contact);
                continue;
            };
            let late = events.iter().any(|event| {
                if !event.commutes() && state.last_event_at.is_some_and(|last| event.at() <= last) {
                    return true;
                }
                apply(&mut state, event, &rules.analyzer, &rules.playbook);
                false
            });
            if late {
                replay.push(contact);
            } else {
                ready.push((contact, state));
            }
        }
        if !replay.is_empty() {
            let mut histories = histories(tx, &replay).await?;
            for contact in replay {
                let history = histories.remove(&contact).unwrap_or_default();
                ready.push((contact, rules.replay(&history)));
            }
            ready.sort_by_key(|(contact, _)| *contact);
        }
        write_evaluations(tx, &ready, now, rules).await
    }
}

/// Contacts with their state, in id order, optionally one owner's: the planner's input.
pub(crate) async fn planning_page(
    tx: &Tx<'_>,
    owner: Option<UserId>,
    page: PageRequest,
) -> Res<Page<(Contact, ContactState)>> {
    let limit = page.effective_limit();
    // Two statements, not `($3 IS NULL OR owner_id = $3)`: a cached generic plan for the `OR`
    // reads every contact to find one owner's instead of walking the owner index.
    let which = if owner.is_some() {
        "owner_id = $3 AND contacts.id > $1"
    } else {
        "$3::bigint IS NULL AND contacts.id > $1"
    };
    // The state is a subquery on the page's rows, not a join: with a join PostgreSQL plans a
    // hash or merge over every stored state for each page of a thousand contacts.
    let rows = query(
        tx,
        &format!(
            "SELECT {CONTACT_COLUMNS},
                    (SELECT s.state FROM contact_states s WHERE s.contact_id = contacts.id)
             FROM contacts
             WHERE {which}
             ORDER BY contacts.id LIMIT $2"
        ),
        &[
            &page.after.unwrap_or(i64::MIN),
            &(i64::from(limit) + 1),
            &owner.map(UserId::get),
        ],
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let contact = contact_from_row(row)?;
        let state = row
            .try_get::<_, Option<&str>>(12)?
            .map(StateDoc::decode)
            .transpose()?
            .unwrap_or_default();
        items.push((contact, state));
    }
    Ok(Page::from_overfetch(items, limit, |(c, _)| c.id.get()))
}

/// A page of contacts with their tags, last reply and opt-out: what segment indexes are built
/// from. One query: the page of ids, joined to the tags in their primary key's order.
pub(crate) async fn segment_page(tx: &Tx<'_>, page: PageRequest) -> Res<Page<SegmentRow>> {
    let limit = page.effective_limit();
    let rows = query(
        tx,
        "WITH page AS (SELECT id FROM contacts WHERE id > $1 ORDER BY id LIMIT $2)
         SELECT page.id, t.family, t.value, t.rule, t.set_at, t.evidence_message_id
         FROM page LEFT JOIN tags t ON t.contact_id = page.id
         ORDER BY page.id, t.family, t.value",
        &[&page.after.unwrap_or(i64::MIN), &(i64::from(limit) + 1)],
    )
    .await?;
    let mut items: Vec<SegmentRow> = Vec::new();
    for row in &rows {
        let id = ContactId::new(row.try_get(0)?);
        if items.last().is_none_or(|r| r.contact != id) {
            items.push(SegmentRow {
                contact: id,
                tags: Vec::new(),
                last_reply: None,
                opted_out: false,
            });
        }
        let Some(current) = items.last_mut() else {
            continue;
        };
        let Some(family) = row.try_get::<_, Option<&str>>(1)? else {
            continue;
        };
        let family: TagFamily = family.parse().map_err(|e| {
            Fail::Store(StoreError::Backend(format!(
                "stored tag family is unreadable: {e}"
            )))
        })?;
        let rule: &str = row.try_get(3)?;
        if family == TagFamily::Activity && row.try_get::<_, Option<i64>>(5)?.is_some() {
            current.last_reply = Some(from_millis(row.try_get(4)?)?);
        }
        if family == TagFamily::Intent && rule == "opt_out" {
            current.opted_out = true;
        }
        current.tags.push((family, row.try_get(2)?));
    }
    Ok(Page::from_overfetch(items, limit, |r| r.contact.get()))
}

/// The stored states of these contacts (those that have one).
pub(crate) async fn load_states(
    tx: &Tx<'_>,
    contacts: &[ContactId],
) -> Res<HashMap<ContactId, ContactState>> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.get()).collect();
    let rows = query(
        tx,
        "SELECT contact_id, state FROM contact_states WHERE contact_id = ANY($1)",
        &[&ids],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                ContactId::new(r.try_get(0)?),
                StateDoc::decode(r.try_get::<_, &str>(1)?)?,
            ))
        })
        .collect()
}

/// Evaluates states at `now`, stores the tag changes against the contacts' current tags, and
/// the states with their next wake-ups.
pub(crate) async fn write_evaluations(
    tx: &Tx<'_>,
    states: &[(ContactId, ContactState)],
    now: Timestamp,
    rules: &Rules,
) -> Res<()> {
    if states.is_empty() {
        return Ok(());
    }
    let ids: Vec<ContactId> = states.iter().map(|(c, _)| *c).collect();
    let held = people::tags_of(tx, &ids).await?;
    let mut writes = TagWrites::default();
    let mut contacts = Vec::with_capacity(states.len());
    let mut docs = Vec::with_capacity(states.len());
    let mut wakes = Vec::with_capacity(states.len());
    for (contact, state) in states {
        let (tags, wake) = evaluate(state, now, &rules.playbook);
        let held = held.get(contact).map(Vec::as_slice).unwrap_or_default();
        let current: Vec<_> = held
            .iter()
            .filter(|t| t.family != TagFamily::Static)
            .cloned()
            .collect();
        writes.apply(*contact, held, &diff(&current, &tags));
        contacts.push(contact.get());
        docs.push(StateDoc::encode(state));
        wakes.push(wake.map(to_millis));
    }
    writes.write(tx).await?;
    execute(
        tx,
        "INSERT INTO contact_states (contact_id, state, wake_at)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
         ON CONFLICT (contact_id) DO UPDATE SET state = excluded.state, wake_at = excluded.wake_at",
        &[&contacts, &docs, &wakes],
    )
    .await?;
    Ok(())
}

/// These contacts' whole histories as engine events, each in the order the engine applies them:
/// by time; at the same time messages, then events, then receipts; each by id.
pub(crate) async fn histories(
    tx: &Tx<'_>,
    contacts: &[ContactId],
) -> Res<HashMap<ContactId, Vec<EngineEvent>>> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.get()).collect();
    let mut out: HashMap<ContactId, Vec<(i64, u8, i64, EngineEvent)>> = HashMap::new();
    for row in query(
        tx,
        "SELECT contact_id, id, direction, body, at FROM messages WHERE contact_id = ANY($1)",
        &[&ids],
    )
    .await?
    {
        let id: i64 = row.try_get(1)?;
        let at_ms: i64 = row.try_get(4)?;
        let at = from_millis(at_ms)?;
        let message = MessageId::new(id);
        let event = if row.try_get::<_, &str>(2)? == "in" {
            EngineEvent::Inbound {
                message,
                text: row.try_get(3)?,
                at,
            }
        } else {
            EngineEvent::Outbound { message, at }
        };
        out.entry(ContactId::new(row.try_get(0)?))
            .or_default()
            .push((at_ms, 0, id, event));
    }
    // Delivery and read receipts of the business's messages.
    for row in query(
        tx,
        "SELECT m.contact_id, s.id, s.status, s.at, s.message_id
         FROM message_statuses s JOIN messages m ON m.id = s.message_id
         WHERE m.contact_id = ANY($1) AND m.direction = 'out' AND s.status IN ('delivered', 'read')",
        &[&ids],
    )
    .await?
    {
        let at_ms: i64 = row.try_get(3)?;
        let message = MessageId::new(row.try_get(4)?);
        if let Some(event) = stoke_store::codec::status_event(row.try_get(2)?, message, from_millis(at_ms)?) {
            out.entry(ContactId::new(row.try_get(0)?))
                .or_default()
                .push((at_ms, 2, row.try_get(1)?, event));
        }
    }
    for row in query(
        tx,
        "SELECT contact_id, id, kind, at, payload FROM events WHERE contact_id = ANY($1)",
        &[&ids],
    )
    .await?
    {
        let id = EventId::new(row.try_get(1)?);
        let at_ms: i64 = row.try_get(3)?;
        let at = from_millis(at_ms)?;
        let event = match row.try_get::<_, &str>(2)? {
            "order" => Some(EngineEvent::Order {
                event: id,
                at,
                products: order_products(row.try_get(4)?)?,
            }),
            "click" => Some(EngineEvent::Click {
                event: id,
                at,
                topic: click_topic(row.try_get(4)?)?,
            }),
            "open" => Some(EngineEvent::Open { event: id, at }),
            _ => None,
        };
        if let Some(event) = event {
            out.entry(ContactId::new(row.try_get(0)?))
                .or_default()
                .push((at_ms, 1, id.get(), event));
        }
    }
    Ok(out
        .into_iter()
        .map(|(contact, mut events)| {
            events.sort_by_key(|(at, source, id, _)| (*at, *source, *id));
            (contact, events.into_iter().map(|(_, _, _, e)| e).collect())
        })
        .collect())
}

/// Re-evaluates up to `limit` contacts due at `now`, oldest due first. Contacts another
/// transaction holds (being ingested, or refreshed by another node) are skipped, not waited for:
/// they are either being evaluated already or due at the next round.
pub(crate) async fn refresh_due(
    tx: &Tx<'_>,
    now: Timestamp,
    rules: &Rules,
    limit: u32,
) -> Res<u64> {
    let now_ms = to_millis(now);
    let due: Vec<i64> = query(
        tx,
        "SELECT c.id FROM contact_states s JOIN contacts c ON c.id = s.contact_id
         WHERE s.wake_at IS NOT NULL AND s.wake_at <= $1
         ORDER BY s.wake_at LIMIT $2
         FOR NO KEY UPDATE OF c SKIP LOCKED",
        &[&now_ms, &i64::from(limit)],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    if due.is_empty() {
        return Ok(0);
    }
    // Read again under the locks: another node may have refreshed one of these just before.
    let rows = query(
        tx,
        "SELECT contact_id, state FROM contact_states
         WHERE contact_id = ANY($1) AND wake_at IS NOT NULL AND wake_at <= $2
         ORDER BY contact_id",
        &[&due, &now_ms],
    )
    .await?;
    let states = rows
        .iter()
        .map(|r| {
            Ok((
                ContactId::new(r.try_get(0)?),
                StateDoc::decode(r.try_get::<_, &str>(1)?)?,
            ))
        })
        .collect::<Res<Vec<_>>>()?;
    write_evaluations(tx, &states, now, rules).await?;
    Ok(states.len() as u64)
}

/// Writes states `reclassify` computed outside the transaction: a contact that gained an event
/// since it was read is replayed again here, under its lock. Returns how many were written.
pub(crate) async fn write_reclassified(
    tx: &Tx<'_>,
    computed: &[(ContactId, ContactState, Option<Timestamp>)],
    now: Timestamp,
    rules: &Rules,
) -> Res<u64> {
    let ids: Vec<ContactId> = computed.iter().map(|(c, _, _)| *c).collect();
    let locked = contacts::lock_many(tx, &ids).await?;
    let mut current = load_states(tx, &ids).await?;
    let mut ready = Vec::with_capacity(computed.len());
    let mut stale = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (id, state, last_at) in computed {
        if !seen.insert(*id) {
            continue;
        }
        // A contact merged away in between has no history of its own any more.
        if !locked.contains(id) {
            continue;
        }
        match current.remove(id) {
            Some(now_state) if now_state.last_event_at > *last_at => stale.push(*id),
            _ => ready.push((*id, state.clone())),
        }
    }
    if !stale.is_empty() {
        let mut histories = histories(tx, &stale).await?;
        for id in stale {
            let history = histories.remove(&id).unwrap_or_default();
            ready.push((id, rules.replay(&history)));
        }
    }
    ready.sort_by_key(|(id, _)| *id);
    write_evaluations(tx, &ready, now, rules).await?;
    Ok(ready.len() as u64)
}
