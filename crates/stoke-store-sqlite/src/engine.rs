//! Running the engine inside the store's transactions: each contact a batch touched is folded
//! forward (or replayed from its history when an event arrived out of order), evaluated at
//! `now`, and its tag changes and new state written with the batch.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, params};
use stoke_core::engine::{ContactState, EngineEvent, Rules, apply, diff, evaluate};
use stoke_core::{Contact, ContactId, EventId, MessageId, TagFamily, UserId};
use stoke_store::codec::{StateDoc, click_topic, from_millis, order_products, to_millis};
use stoke_store::{Page, PageRequest, SegmentRow, StoreError, StoreResult};

use crate::contacts::{CONTACT_COLUMNS, contact_from_row};
use crate::{db_err, people};

/// What a batch did to one contact so far.
pub(crate) struct Touched {
    state: ContactState,
    /// An event arrived at or before the last one applied: rebuild from history instead.
    replay: bool,
}

/// The contacts a batch touched, in id order (deterministic write order).
#[derive(Default)]
pub(crate) struct Batch {
    touched: BTreeMap<ContactId, Touched>,
}

/// Contacts with their state, in id order, optionally one owner's: the planner's input.
pub(crate) fn planning_page(
    conn: &Connection,
    owner: Option<UserId>,
    page: PageRequest,
) -> StoreResult<Page<(Contact, ContactState)>> {
    let limit = page.effective_limit();
    // Two statements, not `(?3 IS NULL OR owner_id = ?3)`: with the `OR`, SQLite cannot walk
    // `contacts_by_owner` and reads every contact to find one owner's.
    let which = if owner.is_some() {
        "owner_id = ?3 AND contacts.id > ?1"
    } else {
        "?3 IS NULL AND contacts.id > ?1"
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS}, s.state FROM contacts
             LEFT JOIN contact_states s ON s.contact_id = contacts.id
             WHERE {which}
             ORDER BY contacts.id LIMIT ?2"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            page.after.unwrap_or(i64::MIN),
            i64::from(limit) + 1,
            owner.map(UserId::get)
        ])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let contact = contact_from_row(row)?;
        let state: Option<String> = row.get(12).map_err(db_err)?;
        let state = state
            .map(|j| StateDoc::decode(&j))
            .transpose()?
            .unwrap_or_default();
        items.push((contact, state));
    }
    Ok(Page::from_overfetch(items, limit, |(c, _)| c.id.get()))
}

/// A page of contacts with their tags, last reply and opt-out: what segment indexes are built
/// from. One query: the page of ids, joined to the tags table in its primary-key order.
pub(crate) fn segment_page(conn: &Connection, page: PageRequest) -> StoreResult<Page<SegmentRow>> {
    let limit = page.effective_limit();
    let mut stmt = conn
        .prepare_cached(
            "WITH page AS (SELECT id FROM contacts WHERE id > ?1 ORDER BY id LIMIT ?2)
             SELECT page.id, t.family, t.value, t.rule, t.set_at, t.evidence_message_id
             FROM page LEFT JOIN tags t ON t.contact_id = page.id
             ORDER BY page.id",
        )
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            page.after.unwrap_or(i64::MIN),
            i64::from(limit) + 1
        ])
        .map_err(db_err)?;
    let mut items: Vec<SegmentRow> = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let id = ContactId::new(row.get(0).map_err(db_err)?);
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
        let family: Option<String> = row.get(1).map_err(db_err)?;
        let Some(family) = family else {
            continue;
        };
        let family: TagFamily = family
            .parse()
            .map_err(|e| StoreError::Backend(format!("stored tag family is unreadable: {e}")))?;
        let value: String = row.get(2).map_err(db_err)?;
        let rule: String = row.get(3).map_err(db_err)?;
        let set_at: i64 = row.get(4).map_err(db_err)?;
        let message: Option<i64> = row.get(5).map_err(db_err)?;
        if family == TagFamily::Activity && message.is_some() {
            current.last_reply = Some(from_millis(set_at)?);
        }
        if family == TagFamily::Intent && rule == "opt_out" {
            current.opted_out = true;
        }
        current.tags.push((family, value));
    }
    Ok(Page::from_overfetch(items, limit, |r| r.contact.get()))
}

pub(crate) fn load_state(
    conn: &Connection,
    contact: ContactId,
) -> StoreResult<Option<ContactState>> {
    let json: Option<String> = conn
        .prepare_cached("SELECT state FROM contact_states WHERE contact_id = ?1")
        .and_then(|mut s| s.query_row([contact.get()], |r| r.get(0)).optional())
        .map_err(db_err)?;
    json.map(|j| StateDoc::decode(&j)).transpose()
}

fn save_state(
    conn: &Connection,
    contact: ContactId,
    state: &ContactState,
    wake: Option<Timestamp>,
) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO contact_states (contact_id, state, wake_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (contact_id) DO UPDATE SET state = excluded.state, wake_at = excluded.wake_at",
    )
    .and_then(|mut s| {
        s.execute(params![
            contact.get(),
            StateDoc::encode(state),
            wake.map(to_millis)
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

impl Batch {
    /// Folds one new event into its contact's state.
    pub(crate) fn add(
        &mut self,
        conn: &Connection,
        contact: ContactId,
        event: &EngineEvent,
        rules: &Rules,
    ) -> StoreResult<()> {
        let t = match self.touched.entry(contact) {
            Entry::Occupied(e) => e.into_mut(),
            // No state yet (a new contact, or one just merged): rebuild it from the history,
            // which already holds this event.
            Entry::Vacant(e) => e.insert(match load_state(conn, contact)? {
                Some(state) => Touched {
                    state,
                    replay: false,
                },
                None => Touched {
                    state: ContactState::default(),
                    replay: true,
                },
            }),
        };
        if t.replay {
            return Ok(());
        }
        if !event.commutes() && t.state.last_event_at.is_some_and(|last| event.at() <= last) {
            t.replay = true;
        } else {
            apply(&mut t.state, event, &rules.analyzer, &rules.playbook);
        }
        Ok(())
    }

    /// Evaluates every touched contact at `now` and writes its tags and state.
    pub(crate) fn finish(
        self,
        conn: &Connection,
        now: Timestamp,
        rules: &Rules,
    ) -> StoreResult<()> {
        for (contact, touched) in self.touched {
            let state = if touched.replay {
                rules.replay(&history(conn, contact)?)
            } else {
                touched.state
            };
            write_evaluation(conn, contact, &state, now, rules)?;
        }
        Ok(())
    }
}

/// Evaluates a state at `now`, stores the tag changes against the contact's current tags, and
/// the state with its next wake-up.
pub(crate) fn write_evaluation(
    conn: &Connection,
    contact: ContactId,
    state: &ContactState,
    now: Timestamp,
    rules: &Rules,
) -> StoreResult<()> {
    let (tags, wake) = evaluate(state, now, &rules.playbook);
    let current: Vec<_> = people::list_tags(conn, contact)?
        .into_iter()
        .filter(|t| t.family != TagFamily::Static)
        .collect();
    let changes = diff(&current, &tags);
    people::apply_tag_changes(conn, contact, &changes)?;
    save_state(conn, contact, state, wake)
}

/// A contact's whole history as engine events, in the order the engine applies them: by time;
/// at the same time messages, then events, then receipts; each by id.
pub(crate) fn history(conn: &Connection, contact: ContactId) -> StoreResult<Vec<EngineEvent>> {
    let mut out: Vec<(i64, u8, i64, EngineEvent)> = Vec::new();
    let mut stmt = conn
        .prepare_cached("SELECT id, direction, body, at FROM messages WHERE contact_id = ?1")
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let id: i64 = row.get(0).map_err(db_err)?;
        let direction: String = row.get(1).map_err(db_err)?;
        let at_ms: i64 = row.get(3).map_err(db_err)?;
        let at = from_millis(at_ms)?;
        let event = if direction == "in" {
            EngineEvent::Inbound {
                message: MessageId::new(id),
                text: row.get(2).map_err(db_err)?,
                at,
            }
        } else {
            EngineEvent::Outbound {
                message: MessageId::new(id),
                at,
            }
        };
        out.push((at_ms, 0, id, event));
    }
    // Delivery and read receipts of the business's messages.
    let mut stmt = conn
        .prepare_cached(
            "SELECT s.id, s.status, s.at, s.message_id FROM message_statuses s JOIN messages m ON m.id = s.message_id
             WHERE m.contact_id = ?1 AND m.direction = 'out' AND s.status IN ('delivered', 'read')",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let id: i64 = row.get(0).map_err(db_err)?;
        let status: String = row.get(1).map_err(db_err)?;
        let at_ms: i64 = row.get(2).map_err(db_err)?;
        let message = MessageId::new(row.get(3).map_err(db_err)?);
        if let Some(event) = stoke_store::codec::status_event(&status, message, from_millis(at_ms)?)
        {
            out.push((at_ms, 2, id, event));
        }
    }
    let mut stmt = conn
        .prepare_cached("SELECT id, kind, at, payload FROM events WHERE contact_id = ?1")
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    while let Some(row) = rows.next().map_err(db_err)? {
        let id = EventId::new(row.get(0).map_err(db_err)?);
        let kind: String = row.get(1).map_err(db_err)?;
        let at_ms: i64 = row.get(2).map_err(db_err)?;
        let at = from_millis(at_ms)?;
        let event = match kind.as_str() {
            "order" => {
                let products = order_products(&row.get::<_, String>(3).map_err(db_err)?)?;
                Some(EngineEvent::Order {
                    event: id,
                    at,
                    products,
                })
            }
            "click" => Some(EngineEvent::Click {
                event: id,
                at,
                topic: click_topic(&row.get::<_, String>(3).map_err(db_err)?)?,
            }),
            "open" => Some(EngineEvent::Open { event: id, at }),
            _ => None,
        };
        if let Some(event) = event {
            out.push((at_ms, 1, id.get(), event));
        }
    }
    out.sort_by_key(|(at, source, id, _)| (*at, *source, *id));
    Ok(out.into_iter().map(|(_, _, _, e)| e).collect())
}

/// Contacts due for re-evaluation at `now`, oldest due first.
pub(crate) fn due(conn: &Connection, now: Timestamp, limit: u32) -> StoreResult<Vec<ContactId>> {
    let mut stmt = conn
        .prepare_cached("SELECT contact_id FROM contact_states WHERE wake_at IS NOT NULL AND wake_at <= ?1 ORDER BY wake_at LIMIT ?2")
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![to_millis(now), i64::from(limit)], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(db_err)?;
    rows.map(|r| r.map(ContactId::new).map_err(db_err))
        .collect()
}
