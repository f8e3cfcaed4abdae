//! Privacy's part of the conformance suite: erasing a contact removes everything about that
//! person, and nothing about anyone else.

use jiff::SignedDuration;
use stoke_core::outbox::{FailureClass, OutboxStatus, Purpose};
use stoke_core::template::MediaKind;
use stoke_core::{
    Channel, Consent, ConsentStatus, ContactId, ContactRef, Direction, EventKind, Handle,
    TaskDraft, TaskKind,
};

use super::{draft, email, message, now, phone, rules, ts};
use crate::outbox::{BroadcastDraft, Content, Outbound, OutboxDraft, SendOutcome};
use crate::{AuditDraft, Erased, IncomingEvent, PageRequest, Scope, Store, StoreError};

const AMAL: &str = "+966501234567";
const AMAL_OLD: &str = "+971501234567";
const BADR: &str = "+966501234568";

fn is_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) -> bool {
    matches!(result, Err(StoreError::NotFound { .. }))
}

/// A list about an erased contact: refused as not found, or empty.
fn gone<T: std::fmt::Debug>(what: &str, result: Result<Vec<T>, StoreError>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        Ok(items) => assert!(items.is_empty(), "{what} of an erased contact: {items:?}"),
        Err(e) => panic!("{what} of an erased contact: {e:?}"),
    }
}

fn outbound(text: &str) -> Outbound {
    Outbound {
        to: AMAL.into(),
        kind: MediaKind::Text,
        text: text.into(),
        media_url: None,
        content_hash: stoke_core::outbox::content_hash(text, None),
        last_inbound_at: None,
        template: None,
    }
}

/// Everything the store shows about one contact, to compare before and after.
#[derive(Debug, PartialEq)]
struct Everything {
    contact: stoke_core::Contact,
    messages: Vec<stoke_core::Message>,
    events: Vec<stoke_core::Event>,
    conversations: Vec<stoke_core::Conversation>,
    tags: Vec<stoke_core::Tag>,
    history: Vec<stoke_core::TagChange>,
    notes: Vec<stoke_core::Note>,
    tasks: Vec<stoke_core::Task>,
    outbox: Vec<crate::outbox::OutboxEntry>,
}

async fn everything(store: &dyn Store, id: ContactId) -> Everything {
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut outbox = store.list_outbox(None, page).await.expect("outbox").items;
    for b in store.list_broadcasts(page).await.expect("broadcasts").items {
        outbox.extend(
            store
                .list_outbox(Some(b.id), page)
                .await
                .expect("outbox")
                .items,
        );
    }
    outbox.retain(|e| e.contact == id);
    outbox.sort_by_key(|e| e.id);
    Everything {
        contact: store.get_contact(id).await.expect("contact"),
        messages: store.list_messages(id, page).await.expect("messages").items,
        events: store.list_events(id, page).await.expect("events").items,
        conversations: store.list_conversations(id).await.expect("conversations"),
        tags: store.list_tags(id).await.expect("tags"),
        history: store.tag_history(id).await.expect("history"),
        notes: store.list_notes(id).await.expect("notes"),
        tasks: store.list_tasks(id).await.expect("tasks"),
        outbox,
    }
}

pub async fn erase_contact_removes_everything_about_one_contact(store: &dyn Store) {
    let amal = store
        .create_contact(&draft("Amal", &[AMAL], &["amal@example.com"]), now())
        .await
        .expect("amal");
    let badr = store
        .create_contact(&draft("Badr", &[BADR], &["badr@example.com"]), now())
        .await
        .expect("badr");
    let old = store
        .create_contact(&draft("Amal (old number)", &[AMAL_OLD], &[]), now())
        .await
        .expect("old number");
    store
        .ingest_messages(
            &[
                message(
                    "c1",
                    AMAL_OLD,
                    Direction::In,
                    "hello",
                    "2026-11-19T08:00:00Z",
                ),
                message(
                    "a1",
                    AMAL,
                    Direction::In,
                    "how much is the sofa?",
                    "2026-11-19T09:00:00Z",
                ),
                message(
                    "a2",
                    AMAL,
                    Direction::Out,
                    "1200 SAR",
                    "2026-11-19T09:05:00Z",
                ),
                message(
                    "b1",
                    BADR,
                    Direction::In,
                    "price please, I want to buy",
                    "2026-11-19T09:10:00Z",
                ),
                message(
                    "b2",
                    BADR,
                    Direction::Out,
                    "900 SAR",
                    "2026-11-19T09:15:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("messages");
    let open = |key: &str, contact: ContactId| IncomingEvent {
        external_id: key.into(),
        contact: ContactRef::Id(contact),
        at: ts("2026-11-19T12:00:00Z"),
        kind: EventKind::Open {
            campaign: Some("nov".into()),
        },
    };
    store
        .ingest_events(
            &[open("ea", amal.id), open("eb", badr.id), open("ec", old.id)],
            now(),
            &rules(),
        )
        .await
        .expect("events");
    for (contact, text) in [
        (amal.id, "prefers evenings"),
        (old.id, "wrote from the UAE"),
        (badr.id, "VIP"),
    ] {
        store
            .add_note(contact, None, text, now())
            .await
            .expect("note");
    }
    for contact in [amal.id, badr.id] {
        store
            .add_task(
                &TaskDraft {
                    contact,
                    kind: TaskKind::Call,
                    title: "call back".into(),
                    due_at: Some(ts("2026-11-21T10:00:00Z")),
                    assignee: None,
                },
                now(),
            )
            .await
            .expect("task");
    }
    store
        .record_consent(
            amal.id,
            &Consent {
                channel: Channel::WhatsApp,
                status: ConsentStatus::Granted,
                at: now(),
                source: "web form".into(),
            },
        )
        .await
        .expect("consent");
    store
        .merge_contacts(amal.id, old.id, now())
        .await
        .expect("merge");

    // The outbox: a sent reply with a receipt (a message, its status timeline), a failure that
    // flagged the number, another contact's queued reply, and a broadcast to both.
    let account = store.get_account("wa-sales-1").await.expect("account");
    let reply = |key: &str, contact: ContactId| OutboxDraft {
        key: key.into(),
        account: account.id,
        contact,
        purpose: Purpose::Service,
        content: Content::Text("Your sofa is ready".into()),
        not_before: now(),
    };
    let sent = store
        .enqueue(&reply("a-sent", amal.id), now())
        .await
        .expect("enqueue");
    let failed = store
        .enqueue(&reply("a-failed", amal.id), now())
        .await
        .expect("enqueue");
    for id in [sent, failed] {
        assert!(
            store
                .begin_send(id, &outbound("Your sofa is ready"), "node", now())
                .await
                .expect("begin")
        );
    }
    let later = |minutes| now() + SignedDuration::from_mins(minutes);
    store
        .finish_send(
            sent,
            &SendOutcome::Sent {
                provider_id: "sim-amal".into(),
            },
            later(1),
            &rules(),
        )
        .await
        .expect("sent");
    assert!(
        store
            .record_receipt(
                "sim-amal",
                OutboxStatus::Delivered,
                later(2),
                None,
                false,
                &rules()
            )
            .await
            .expect("receipt")
    );
    store
        .finish_send(
            failed,
            &SendOutcome::Failed {
                class: FailureClass::InvalidNumber,
                detail: "131026".into(),
                retry_at: None,
                flag_invalid: true,
            },
            later(1),
            &rules(),
        )
        .await
        .expect("failed");
    store
        .enqueue(&reply("b-queued", badr.id), now())
        .await
        .expect("enqueue");
    let broadcast = store
        .create_broadcast(
            &BroadcastDraft {
                name: "November sale".into(),
                audience: "all".into(),
                account: account.id,
                content: Content::Text("Sale".into()),
                not_before: now(),
                golden_window: false,
                ignore_quiet_hours: false,
                created_by: None,
                daily_limit: 100_000,
            },
            &[amal.id, badr.id],
            now(),
        )
        .await
        .expect("broadcast");
    store
        .set_broadcast_status(
            broadcast.id,
            stoke_core::outbox::BroadcastStatus::Running,
            now(),
        )
        .await
        .expect("start");
    store
        .append_audit(
            &AuditDraft {
                actor: "user:admin@example.com".into(),
                action: "contact.erase".into(),
                subject: format!("contact:{}", amal.id),
                before: None,
                after: None,
            },
            now(),
        )
        .await
        .expect("audit");

    let before = everything(store, amal.id).await;
    assert_eq!(before.messages.len(), 4, "a1, a2, c1 and the sent reply");
    assert!(
        before
            .messages
            .iter()
            .any(|m| m.provider_id.as_deref() == Some("sim-amal") && !m.statuses.is_empty()),
        "{:?}",
        before.messages
    );
    assert_eq!(
        (
            before.events.len(),
            before.notes.len(),
            before.tasks.len(),
            before.outbox.len()
        ),
        (2, 2, 1, 3)
    );
    assert!(!before.tags.is_empty() && !before.history.is_empty());
    assert!(
        store
            .due_messages(account.id, now(), 10)
            .await
            .expect("due")
            .iter()
            .any(|d| d.contact.id == amal.id && d.invalid_number),
        "the failure flagged the number"
    );
    let untouched = everything(store, badr.id).await;
    let counts = store.counts().await.expect("counts");

    let erased = store.erase_contact(amal.id).await.expect("erase");
    assert_eq!(
        erased,
        Erased {
            contacts: 2,
            messages: 4,
            events: 2,
            tag_changes: before.history.len() as u64,
            notes: 2,
            tasks: 1,
            outbox: 3,
        }
    );

    // Gone, by every way of reaching it.
    for id in [amal.id, old.id] {
        assert!(is_not_found(store.get_contact(id).await), "contact {id}");
        assert!(is_not_found(
            store.get_contact_in(Scope::Everything, id).await
        ));
        let page = PageRequest::first(10);
        gone(
            "messages",
            store.list_messages(id, page).await.map(|p| p.items),
        );
        gone("events", store.list_events(id, page).await.map(|p| p.items));
        gone("conversations", store.list_conversations(id).await);
        gone("tags", store.list_tags(id).await);
        gone("tag history", store.tag_history(id).await);
        gone("notes", store.list_notes(id).await);
        gone("tasks", store.list_tasks(id).await);
    }
    for handle in [
        Handle::Phone(phone(AMAL)),
        Handle::Phone(phone(AMAL_OLD)),
        Handle::Email(email("amal@example.com")),
    ] {
        assert_eq!(store.find_contact(&handle).await.expect("find"), None);
    }
    for m in &before.messages {
        assert!(
            is_not_found(store.get_message(m.id).await),
            "message {}",
            m.id
        );
    }
    assert!(
        !store
            .record_receipt(
                "sim-amal",
                OutboxStatus::Read,
                later(3),
                None,
                false,
                &rules()
            )
            .await
            .expect("receipt"),
        "no sent message has that provider id any more"
    );
    let page = PageRequest::first(100);
    assert_eq!(
        store.contact_ids(page).await.expect("ids").items,
        vec![badr.id]
    );
    let segment = store.segment_page(page).await.expect("segment").items;
    assert!(segment.iter().all(|r| r.contact == badr.id), "{segment:?}");
    let planning = store.planning_page(None, page).await.expect("plan").items;
    assert!(
        planning.iter().all(|(c, _)| c.id == badr.id),
        "{planning:?}"
    );
    assert!(
        store
            .due_messages(account.id, later(10), 10)
            .await
            .expect("due")
            .iter()
            .all(|d| d.contact.id == badr.id)
    );
    // The broadcast stays (it holds counts, not people), without the erased recipient.
    let report = store
        .get_broadcast(broadcast.id, now())
        .await
        .expect("broadcast");
    assert_eq!(report.broadcast.recipients, 2);
    assert_eq!(report.count(OutboxStatus::Queued), 1);
    // The audit log is never changed.
    let audit = store.list_audit(page).await.expect("audit").items;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].subject, format!("contact:{}", amal.id));

    let after = store.counts().await.expect("counts");
    assert_eq!(
        after.contacts,
        counts.contacts - 1,
        "one row: the other was merged"
    );
    assert_eq!(after.messages, counts.messages - erased.messages);
    assert_eq!(after.events, counts.events - erased.events);
    assert_eq!(after.tags, counts.tags - before.tags.len() as u64);
    assert_eq!(
        after.conversations,
        counts.conversations - before.conversations.len() as u64
    );
    assert_eq!(
        (after.accounts, after.users),
        (counts.accounts, counts.users)
    );

    // The other contact is exactly as it was.
    assert_eq!(everything(store, badr.id).await, untouched);
    // The due-time index holds no erased contact: at most the other one is re-evaluated.
    assert!(
        store
            .refresh_due(now() + SignedDuration::from_hours(24 * 30), &rules(), 100)
            .await
            .expect("refresh")
            <= 1
    );

    // Once is enough: by either id, or an id that never was.
    for id in [amal.id, old.id, ContactId::new(999_999)] {
        assert!(is_not_found(store.erase_contact(id).await), "erase {id}");
    }
    // The number is free again: writing from it starts a new contact with nothing of the old.
    let outcome = store
        .ingest_messages(
            &[message(
                "n1",
                AMAL,
                Direction::In,
                "hi again",
                "2026-11-22T09:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("write again");
    assert_eq!((outcome.inserted, outcome.contacts_created), (1, 1));
    let fresh = store
        .find_contact(&Handle::Phone(phone(AMAL)))
        .await
        .expect("find")
        .expect("new contact");
    let fresh = everything(store, fresh.id).await;
    assert_eq!(fresh.messages.len(), 1);
    assert!(fresh.events.is_empty() && fresh.notes.is_empty() && fresh.tasks.is_empty());
    assert!(fresh.outbox.is_empty() && fresh.contact.consents.is_empty());
}

/// Erasing by an id that was merged away erases the contact it was merged into.
pub async fn erase_contact_follows_merges(store: &dyn Store) {
    let keep = store
        .create_contact(&draft("Keep", &[AMAL], &[]), now())
        .await
        .expect("keep");
    let gone_id = store
        .create_contact(&draft("Gone", &[AMAL_OLD], &[]), now())
        .await
        .expect("gone")
        .id;
    store
        .merge_contacts(keep.id, gone_id, now())
        .await
        .expect("merge");
    let erased = store.erase_contact(gone_id).await.expect("erase");
    assert_eq!(
        erased,
        Erased {
            contacts: 2,
            ..Erased::default()
        }
    );
    assert!(is_not_found(store.get_contact(keep.id).await));
    assert!(is_not_found(store.get_contact(gone_id).await));
    assert_eq!(store.counts().await.expect("counts").contacts, 0);
}

/// An erased contact's id is never handed out again, even when it was the highest: an audit
/// entry `contact:N` or an API client's stored id must not come to name someone else.
pub async fn erased_contact_ids_are_never_reused(store: &dyn Store) {
    let amal = store
        .create_contact(&draft("Amal", &[AMAL], &[]), now())
        .await
        .expect("amal");
    let badr = store
        .create_contact(&draft("Badr", &[BADR], &[]), now())
        .await
        .expect("badr");
    assert_ne!(amal.id, badr.id);
    store.erase_contact(badr.id).await.expect("erase");
    let next = store
        .create_contact(&draft("Next", &[AMAL_OLD], &[]), now())
        .await
        .expect("next");
    assert_ne!(next.id, badr.id, "the erased id was handed out again");
    assert_ne!(next.id, amal.id);
    assert!(is_not_found(store.get_contact(badr.id).await));
}

/// Nor is a merged-away id, whose redirect still leads to the contact it was merged into.
pub async fn merged_away_contact_ids_are_never_reused(store: &dyn Store) {
    let keep = store
        .create_contact(&draft("Keep", &[AMAL], &[]), now())
        .await
        .expect("keep");
    let absorbed = store
        .create_contact(&draft("Absorbed", &[AMAL_OLD], &[]), now())
        .await
        .expect("absorbed")
        .id;
    store
        .merge_contacts(keep.id, absorbed, now())
        .await
        .expect("merge");
    let next = store
        .create_contact(&draft("Next", &[BADR], &[]), now())
        .await
        .expect("next");
    assert_ne!(next.id, absorbed, "the merged-away id was handed out again");
    assert_eq!(
        store.get_contact(absorbed).await.expect("redirect").id,
        keep.id
    );
}

/// A send whose contact was erased while the provider had it cannot be finished: the row is
/// gone, and the answer is refused as not found (what the dispatcher expects), writing nothing
/// about the erased contact (no business message, no flag on its number).
pub async fn finishing_a_send_after_erasure_is_not_found(store: &dyn Store) {
    let amal = store
        .create_contact(&draft("Amal", &[AMAL], &[]), now())
        .await
        .expect("amal");
    let account = store
        .create_account(
            &stoke_core::AccountDraft {
                name: "wa-1".into(),
                channel: Channel::WhatsApp,
                address: None,
                limits: stoke_core::pacing::AccountLimits::default(),
            },
            now(),
        )
        .await
        .expect("account");
    let mut ids = Vec::new();
    for key in ["will-be-sent", "will-fail"] {
        let id = store
            .enqueue(
                &OutboxDraft {
                    key: key.into(),
                    account: account.id,
                    contact: amal.id,
                    purpose: Purpose::Service,
                    content: Content::Text("Your sofa is ready".into()),
                    not_before: now(),
                },
                now(),
            )
            .await
            .expect("enqueue");
        assert!(
            store
                .begin_send(id, &outbound("Your sofa is ready"), "node", now())
                .await
                .expect("begin")
        );
        ids.push(id);
    }
    store.erase_contact(amal.id).await.expect("erase");
    let later = now() + SignedDuration::from_mins(1);
    let sent = store
        .finish_send(
            ids[0],
            &SendOutcome::Sent {
                provider_id: "p-1".into(),
            },
            later,
            &rules(),
        )
        .await;
    assert!(matches!(sent, Err(StoreError::NotFound { .. })), "{sent:?}");
    let failed = store
        .finish_send(
            ids[1],
            &SendOutcome::Failed {
                class: FailureClass::InvalidNumber,
                detail: "131026".into(),
                retry_at: None,
                flag_invalid: true,
            },
            later,
            &rules(),
        )
        .await;
    assert!(
        matches!(failed, Err(StoreError::NotFound { .. })),
        "{failed:?}"
    );
    let counts = store.counts().await.expect("counts");
    assert_eq!((counts.contacts, counts.messages), (0, 0));
    assert!(
        !store
            .record_receipt("p-1", OutboxStatus::Delivered, later, None, false, &rules())
            .await
            .expect("receipt")
    );
    let page = PageRequest::first(10);
    assert!(
        store
            .list_outbox(None, page)
            .await
            .expect("outbox")
            .items
            .is_empty()
    );
}
