//! The outbound pipeline's part of the conformance suite: sender accounts, templates,
//! broadcasts, the outbox's life of a message, receipts and dispatcher leases.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use stoke_core::outbox::{BroadcastStatus, FailureClass, OutboxStatus, Purpose};
use stoke_core::pacing::AccountLimits;
use stoke_core::template::{ApprovedTemplate, MediaKind, Template, Variant};
use stoke_core::{Account, AccountDraft, Channel, ContactId, Direction, Language};

use super::{draft, now, rules};
use crate::outbox::{BroadcastDraft, Content, Outbound, OutboxDraft, SendOutcome};
use crate::{PageRequest, Store, StoreError};

async fn account(store: &dyn Store, name: &str) -> Account {
    store
        .create_account(
            &AccountDraft {
                name: name.into(),
                channel: Channel::Simulator,
                address: None,
                limits: AccountLimits::default(),
            },
            now(),
        )
        .await
        .expect("account")
}

async fn contacts(store: &dyn Store, n: usize) -> Vec<ContactId> {
    let mut out = Vec::new();
    for i in 0..n {
        let phone = format!("+9665012300{i:02}");
        let c = store
            .create_contact(&draft(&format!("Customer {i}"), &[&phone], &[]), now())
            .await
            .expect("contact");
        out.push(c.id);
    }
    out
}

fn broadcast(account: &Account, text: &str) -> BroadcastDraft {
    BroadcastDraft {
        name: "November sale".into(),
        audience: "all".into(),
        account: account.id,
        content: Content::Text(text.into()),
        not_before: now(),
        golden_window: false,
        ignore_quiet_hours: false,
        created_by: Some("admin@example.com".into()),
        daily_limit: 100_000,
    }
}

fn outbound(text: &str) -> Outbound {
    Outbound {
        to: "+966501230000".into(),
        kind: MediaKind::Text,
        text: text.into(),
        media_url: None,
        content_hash: stoke_core::outbox::content_hash(text, None),
        last_inbound_at: None,
        template: None,
    }
}

fn later(minutes: i64) -> Timestamp {
    now() + SignedDuration::from_mins(minutes)
}

pub async fn sender_accounts_limits_and_pauses(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    assert_eq!(a.limits, AccountLimits::default());
    assert_eq!(a.paused_until, None);
    let again = store
        .create_account(
            &AccountDraft {
                name: "wa-1".into(),
                channel: Channel::Simulator,
                address: None,
                limits: AccountLimits::default(),
            },
            now(),
        )
        .await
        .expect_err("name taken");
    assert!(matches!(again, StoreError::Conflict { .. }), "{again:?}");
    let limits = AccountLimits {
        per_minute: Some(30),
        per_hour: Some(400),
        warmup: Some(false),
    };
    let b = store
        .set_account_limits("wa-1", &limits)
        .await
        .expect("limits");
    assert_eq!(b.limits, limits);
    assert_eq!(store.get_account("wa-1").await.expect("get").limits, limits);
    store
        .pause_account(a.id, Some(later(15)), Some("rate_limited: 130429"))
        .await
        .expect("pause");
    let paused = store.get_account("wa-1").await.expect("get");
    assert_eq!(paused.paused_until, Some(later(15)));
    assert_eq!(paused.pause_reason.as_deref(), Some("rate_limited: 130429"));
    store.pause_account(a.id, None, None).await.expect("resume");
    assert_eq!(
        store.list_accounts().await.expect("list")[0].paused_until,
        None
    );
    assert!(matches!(
        store.get_account("nope").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.set_account_limits("nope", &limits).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn account_config_is_stored_and_cleared(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    assert_eq!(a.config, None);
    let config = r#"{"phone_number_id":"106540352242922","access_token":"sealed:v1:AAAA"}"#;
    let b = store
        .set_account_config("wa-1", Some(config))
        .await
        .expect("config");
    assert_eq!(b.config.as_deref(), Some(config));
    assert_eq!(b.id, a.id);
    assert_eq!(
        store
            .get_account("wa-1")
            .await
            .expect("get")
            .config
            .as_deref(),
        Some(config)
    );
    assert_eq!(
        store.list_accounts().await.expect("list")[0]
            .config
            .as_deref(),
        Some(config)
    );
    let cleared = store.set_account_config("wa-1", None).await.expect("clear");
    assert_eq!(cleared.config, None);
    assert!(matches!(
        store.set_account_config("nope", Some("{}")).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn templates_are_stored_and_replaced(store: &dyn Store) {
    let variant = |lang: Option<&str>, body: &str| Variant {
        language: lang.map(|l| Language::parse(l).expect("language")),
        kind: MediaKind::Text,
        body: body.into(),
        media_url: None,
        whatsapp: None,
    };
    let t = Template::new(
        "welcome",
        vec![
            // The approved WhatsApp template it goes out as outside the service window.
            Variant {
                whatsapp: Some(ApprovedTemplate {
                    name: "welcome_v2".into(),
                    language: "en_US".into(),
                    parameters: vec!["first_name".into(), "city".into()],
                }),
                ..variant(None, "Hi {{ first_name }}")
            },
            Variant {
                kind: MediaKind::Document,
                media_url: Some("https://example.com/catalogue.pdf".into()),
                ..variant(Some("ar"), "أهلا {{ first_name }}")
            },
        ],
        BTreeMap::from([("first_name".into(), "friend".into())]),
    )
    .expect("template");
    store.put_template(&t, now()).await.expect("put");
    assert_eq!(store.get_template("welcome").await.expect("get"), t);
    let replaced =
        Template::new("welcome", vec![variant(None, "Hello")], BTreeMap::new()).expect("template");
    store
        .put_template(&replaced, later(1))
        .await
        .expect("replace");
    assert_eq!(store.list_templates().await.expect("list"), vec![replaced]);
    assert!(matches!(
        store.get_template("missing").await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn broadcasts_enqueue_every_recipient_and_count_them(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    let people = contacts(store, 3).await;
    let b = store
        .create_broadcast(&broadcast(&a, "Sale {{ first_name }}"), &people, now())
        .await
        .expect("create");
    assert_eq!((b.status, b.recipients), (BroadcastStatus::Draft, 3));
    let report = store.get_broadcast(b.id, now()).await.expect("report");
    assert_eq!(report.count(OutboxStatus::Queued), 3);
    assert!(
        store
            .due_messages(a.id, later(1), 10)
            .await
            .expect("due")
            .is_empty(),
        "a draft sends nothing"
    );
    assert_eq!(store.next_due_at(a.id).await.expect("next"), None);
    store
        .set_broadcast_status(b.id, BroadcastStatus::Running, now())
        .await
        .expect("start");
    assert_eq!(store.next_due_at(a.id).await.expect("next"), Some(now()));
    let due = store.due_messages(a.id, later(1), 10).await.expect("due");
    assert_eq!(due.len(), 3);
    assert_eq!(due[0].contact.id, people[0]);
    assert_eq!(
        due[0].content,
        Content::Text("Sale {{ first_name }}".into())
    );
    assert_eq!(
        (due[0].purpose, due[0].broadcast),
        (Purpose::Promotion, Some(b.id))
    );
    assert!(!due[0].invalid_number);
    let err = store
        .set_broadcast_status(b.id, BroadcastStatus::Draft, now())
        .await
        .expect_err("back to draft");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    store
        .set_broadcast_status(b.id, BroadcastStatus::Paused, now())
        .await
        .expect("pause");
    assert!(
        store
            .due_messages(a.id, later(1), 10)
            .await
            .expect("due")
            .is_empty()
    );
    store
        .set_broadcast_status(b.id, BroadcastStatus::Cancelled, now())
        .await
        .expect("cancel");
    let report = store.get_broadcast(b.id, now()).await.expect("report");
    assert_eq!(report.count(OutboxStatus::Cancelled), 3);
    assert_eq!(report.broadcast.status, BroadcastStatus::Cancelled);
    // The day's limit counts what was created in the last 24 hours.
    let small = BroadcastDraft {
        daily_limit: 5,
        ..broadcast(&a, "x")
    };
    store
        .create_broadcast(&small, &people, now())
        .await
        .expect("3 of 5");
    let err = store
        .create_broadcast(&small, &people, later(60))
        .await
        .expect_err("6 of 5");
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "audience",
                ..
            }
        ),
        "{err:?}"
    );
    store
        .create_broadcast(&small, &people, now() + SignedDuration::from_hours(25))
        .await
        .expect("a day later");
    let listed = store
        .list_broadcasts(PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 3);
    assert!(listed.items[0].id > listed.items[2].id, "newest first");
}

pub async fn a_message_is_written_before_and_after_it_is_sent(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    let other = account(store, "wa-2").await;
    let people = contacts(store, 2).await;
    let b = store
        .create_broadcast(&broadcast(&a, "Sale"), &people, now())
        .await
        .expect("create");
    store
        .set_broadcast_status(b.id, BroadcastStatus::Running, now())
        .await
        .expect("start");
    let due = store.due_messages(a.id, now(), 10).await.expect("due");
    let first = &due[0];
    assert!(
        store
            .begin_send(first.id, &outbound("Sale"), "node-a", now())
            .await
            .expect("begin")
    );
    assert!(
        !store
            .begin_send(first.id, &outbound("Sale"), "node-b", now())
            .await
            .expect("again"),
        "a message is claimed once"
    );
    assert_eq!(
        store
            .due_messages(a.id, now(), 10)
            .await
            .expect("due")
            .len(),
        1
    );
    let sent_at = later(1);
    store
        .finish_send(
            first.id,
            &SendOutcome::Sent {
                provider_id: "sim-1".into(),
            },
            sent_at,
            &rules(),
        )
        .await
        .expect("finish");
    let messages = store
        .list_messages(people[0], PageRequest::first(10))
        .await
        .expect("messages");
    assert_eq!(messages.items.len(), 1);
    assert_eq!(messages.items[0].direction, Direction::Out);
    assert_eq!(messages.items[0].text, "Sale");
    assert_eq!(messages.items[0].provider_id.as_deref(), Some("sim-1"));
    assert_eq!(
        store
            .contact_of_provider_message("sim-1")
            .await
            .expect("by provider id"),
        Some(people[0])
    );
    assert_eq!(
        store
            .contact_of_provider_message("sim-unknown")
            .await
            .expect("by provider id"),
        None
    );
    assert_eq!(
        store.account_sends(a.id, now()).await.expect("sends"),
        vec![sent_at]
    );
    let hash = stoke_core::outbox::content_hash("Sale", None);
    assert_eq!(
        store
            .identical_sent_at(&hash, other.id, now())
            .await
            .expect("identical"),
        Some(sent_at)
    );
    assert_eq!(
        store
            .identical_sent_at(&hash, a.id, now())
            .await
            .expect("own"),
        None
    );
    // Receipts move forward only, and reach the message's timeline.
    let rules = rules();
    assert!(
        store
            .record_receipt("sim-1", OutboxStatus::Read, later(3), None, false, &rules)
            .await
            .expect("read")
    );
    assert!(
        store
            .record_receipt(
                "sim-1",
                OutboxStatus::Delivered,
                later(2),
                None,
                false,
                &rules
            )
            .await
            .expect("late delivered")
    );
    assert!(
        !store
            .record_receipt("nobody", OutboxStatus::Read, later(3), None, false, &rules)
            .await
            .expect("unknown id")
    );
    let entries = store
        .list_outbox(Some(b.id), PageRequest::first(10))
        .await
        .expect("entries");
    assert_eq!(entries.items[0].status, OutboxStatus::Read);
    assert_eq!(entries.items[0].provider_id.as_deref(), Some("sim-1"));
    assert_eq!(entries.items[0].attempts, 1);
    let timeline = store
        .get_message(messages.items[0].id)
        .await
        .expect("message");
    assert_eq!(timeline.statuses.len(), 3, "{:?}", timeline.statuses);
    // The second recipient is skipped: the broadcast completes.
    store
        .skip_message(due[1].id, "opted out", now())
        .await
        .expect("skip");
    let report = store.get_broadcast(b.id, later(5)).await.expect("report");
    assert_eq!(report.broadcast.status, BroadcastStatus::Completed);
    assert_eq!(
        (
            report.count(OutboxStatus::Read),
            report.count(OutboxStatus::Skipped)
        ),
        (1, 1)
    );
    // The weekly cap counts the promotions that reached the contact, on any account.
    let next = store
        .create_broadcast(&broadcast(&other, "Again"), &people, later(10))
        .await
        .expect("create");
    store
        .set_broadcast_status(next.id, BroadcastStatus::Running, later(10))
        .await
        .expect("start");
    let due = store
        .due_messages(other.id, later(10), 10)
        .await
        .expect("due");
    let weekly: Vec<(ContactId, u32)> = due
        .iter()
        .map(|d| (d.contact.id, d.promotions_this_week))
        .collect();
    assert_eq!(weekly, vec![(people[0], 1), (people[1], 0)]);
    let a_week_on = store
        .due_messages(other.id, now() + SignedDuration::from_hours(24 * 8), 10)
        .await
        .expect("due");
    assert!(a_week_on.iter().all(|d| d.promotions_this_week == 0));
}

pub async fn failures_retry_or_stay_failed_and_flag_numbers(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    let people = contacts(store, 2).await;
    let mut ids = Vec::new();
    for (i, c) in people.iter().enumerate() {
        let id = store
            .enqueue(
                &OutboxDraft {
                    key: format!("reply-{i}"),
                    account: a.id,
                    contact: *c,
                    purpose: Purpose::Service,
                    content: Content::Text("Your order shipped".into()),
                    not_before: now(),
                },
                now(),
            )
            .await
            .expect("enqueue");
        ids.push(id);
    }
    for id in &ids {
        assert!(
            store
                .begin_send(*id, &outbound("Your order shipped"), "n", now())
                .await
                .expect("begin")
        );
    }
    store
        .finish_send(
            ids[0],
            &SendOutcome::Failed {
                class: FailureClass::Transient,
                detail: "timeout".into(),
                retry_at: Some(later(1)),
                flag_invalid: false,
            },
            now(),
            &rules(),
        )
        .await
        .expect("transient");
    store
        .finish_send(
            ids[1],
            &SendOutcome::Failed {
                class: FailureClass::InvalidNumber,
                detail: "131026 undeliverable".into(),
                retry_at: None,
                flag_invalid: true,
            },
            now(),
            &rules(),
        )
        .await
        .expect("invalid");
    assert!(
        store
            .due_messages(a.id, now(), 10)
            .await
            .expect("due")
            .is_empty()
    );
    let due = store.due_messages(a.id, later(1), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!((due[0].id, due[0].attempts), (ids[0], 1));
    let entries = store
        .list_outbox(None, PageRequest::first(10))
        .await
        .expect("entries");
    assert_eq!(entries.items[1].status, OutboxStatus::Failed);
    assert!(
        entries.items[1]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("invalid_number"),
        "{:?}",
        entries.items[1].reason
    );
    // The flagged number shows on the contact's next message.
    let next = store
        .enqueue(
            &OutboxDraft {
                key: "later".into(),
                account: a.id,
                contact: people[1],
                purpose: Purpose::Service,
                content: Content::Template("welcome".into()),
                not_before: now(),
            },
            now(),
        )
        .await
        .expect("enqueue");
    let due = store.due_messages(a.id, later(1), 10).await.expect("due");
    let flagged = due.iter().find(|d| d.id == next).expect("due");
    assert!(flagged.invalid_number);
    assert_eq!(flagged.content, Content::Template("welcome".into()));
    // Deferral moves a message; enqueueing a key twice keeps the first.
    store
        .defer_message(next, later(30), "quiet hours")
        .await
        .expect("defer");
    assert!(
        store
            .due_messages(a.id, later(29), 10)
            .await
            .expect("due")
            .iter()
            .all(|d| d.id != next)
    );
    let again = store
        .enqueue(
            &OutboxDraft {
                key: "later".into(),
                account: a.id,
                contact: people[0],
                purpose: Purpose::Promotion,
                content: Content::Text("other".into()),
                not_before: now(),
            },
            now(),
        )
        .await
        .expect("enqueue again");
    assert_eq!(again, next);
    assert!(
        matches!(
            store
                .finish_send(
                    ids[0],
                    &SendOutcome::Sent {
                        provider_id: "x".into()
                    },
                    now(),
                    &rules()
                )
                .await,
            Err(StoreError::Conflict { .. })
        ),
        "a queued message cannot be finished"
    );
}

pub async fn leases_hand_accounts_over_and_in_flight_becomes_unknown(store: &dyn Store) {
    let a = account(store, "wa-1").await;
    let people = contacts(store, 1).await;
    let id = store
        .enqueue(
            &OutboxDraft {
                key: "k1".into(),
                account: a.id,
                contact: people[0],
                purpose: Purpose::Service,
                content: Content::Text("hello".into()),
                not_before: now(),
            },
            now(),
        )
        .await
        .expect("enqueue");
    let first = store
        .claim_account(a.id, "node-a", later(1), now())
        .await
        .expect("claim");
    assert_eq!(first.map(|t| t.unknown.len()), Some(0));
    assert!(
        store
            .claim_account(a.id, "node-b", later(1), now())
            .await
            .expect("claim")
            .is_none()
    );
    assert!(
        store
            .renew_account(a.id, "node-a", later(2), now())
            .await
            .expect("renew")
    );
    assert!(
        store
            .begin_send(id, &outbound("hello"), "node-a", now())
            .await
            .expect("begin")
    );
    // node-a dies; its lease lapses; node-b takes over and finds the message in flight.
    assert!(
        store
            .claim_account(a.id, "node-b", later(3), later(1))
            .await
            .expect("early")
            .is_none()
    );
    let takeover = store
        .claim_account(a.id, "node-b", later(4), later(2))
        .await
        .expect("claim")
        .expect("lapsed");
    assert_eq!(takeover.unknown.len(), 1);
    assert_eq!(
        (takeover.unknown[0].id, takeover.unknown[0].status),
        (id, OutboxStatus::Unknown)
    );
    assert!(
        !store
            .renew_account(a.id, "node-a", later(5), later(2))
            .await
            .expect("renew")
    );
    assert!(
        store
            .due_messages(a.id, later(2), 10)
            .await
            .expect("due")
            .is_empty(),
        "never resent"
    );
    // A node restarted under its own name takes its account back at once.
    let own = store
        .claim_account(a.id, "node-b", later(5), later(2))
        .await
        .expect("claim");
    assert!(own.is_some());
    store
        .release_account(a.id, "node-b")
        .await
        .expect("release");
    assert!(
        store
            .claim_account(a.id, "node-c", later(5), later(2))
            .await
            .expect("claim")
            .is_some()
    );
}

pub async fn the_audit_log_is_appended_and_read_in_order(store: &dyn Store) {
    use crate::AuditDraft;
    let first = store
        .append_audit(
            &AuditDraft {
                actor: "cli:admin".into(),
                action: "account.create".into(),
                subject: "account:wa-1".into(),
                before: None,
                after: Some(r#"{"per_minute":12}"#.into()),
            },
            now(),
        )
        .await
        .expect("append");
    let second = store
        .append_audit(
            &AuditDraft {
                actor: "user:boss@example.com".into(),
                action: "broadcast.create".into(),
                subject: "broadcast:1".into(),
                before: None,
                after: Some(r#"{"ignore_quiet_hours":true}"#.into()),
            },
            later(1),
        )
        .await
        .expect("append");
    assert!(second > first);
    let page = store.list_audit(PageRequest::first(1)).await.expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].action, "account.create");
    assert_eq!(page.items[0].at, now());
    let rest = store
        .list_audit(PageRequest {
            after: page.next,
            limit: 10,
        })
        .await
        .expect("list");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].actor, "user:boss@example.com");
    assert_eq!(
        rest.items[0].after.as_deref(),
        Some(r#"{"ignore_quiet_hours":true}"#)
    );
    assert_eq!(rest.next, None);
}
