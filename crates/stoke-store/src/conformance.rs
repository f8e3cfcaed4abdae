//! The store conformance suite: what every backend must do, written once.
//!
//! A backend runs it with `stoke_store::conformance_suite!(fresh_store);` in its tests, where
//! `fresh_store` is an `async fn() -> impl Store` giving an empty store. Each check below becomes
//! one `#[tokio::test]`, so a failure names the operation.

use jiff::Timestamp;
use stoke_core::{
    AccountDraft, Channel, Consent, ConsentStatus, ContactDraft, ContactId, ContactRef, Currency,
    CustomFieldDef, CustomFieldType, CustomValue, Direction, Email, EventKind, Evidence, Handle,
    MessageStatus, Money, OrderLine, Phone, Role, StatusChange, Tag, TagChange, TagChangeKind,
    TagFamily, TaskDraft, TaskKind, UserDraft,
};

use std::sync::{Arc, OnceLock};

use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;

use crate::{IncomingEvent, IncomingMessage, PageRequest, Scope, Session, Store, StoreError};

mod outbox;
pub use outbox::*;
mod privacy;
pub use privacy::*;
mod search;
pub use search::*;

/// The default playbook, compiled once for the whole suite.
fn rules() -> Arc<Rules> {
    static RULES: OnceLock<Arc<Rules>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let playbook = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
            Arc::new(Rules::new(playbook).unwrap_or_else(|e| panic!("{e}")))
        })
        .clone()
}

/// Expands into one `#[tokio::test]` per conformance check, each on a fresh store.
#[macro_export]
macro_rules! conformance_suite {
    ($fresh:path) => {
        $crate::conformance_suite!(@each $fresh;
            create_and_get_contact,
            create_refuses_taken_handle_and_empty_draft,
            find_contact_by_each_handle,
            update_contact_reindexes_handles,
            list_contacts_pages_in_id_order,
            import_contacts_dedups_and_is_idempotent,
            import_contacts_merges_rows_that_join_two_contacts,
            import_contacts_assigns_owners_by_email,
            merge_moves_history_and_redirects_id,
            consent_and_custom_fields,
            accounts_are_ensured_by_name,
            ingest_messages_is_idempotent_and_creates_contacts,
            message_status_timeline,
            messages_page_in_time_order_even_with_equal_times,
            ingest_events_is_idempotent_and_keeps_money_exact,
            unknown_contact_ids_are_reported_not_stored,
            tags_replace_within_exclusive_families_and_keep_history,
            notes_and_tasks,
            users_teams_and_tokens,
            counts_cover_everything,
            not_found_is_an_error_not_a_panic,
            every_message_goes_through_the_engine,
            reclassify_gives_exactly_the_incremental_tags,
            a_late_message_replays_the_history,
            due_contacts_are_refreshed_from_the_index,
            contact_ids_page_in_order,
            orders_teach_replenishment_per_product,
            planning_page_reads_state_and_filters_by_owner,
            segment_page_reads_tags_replies_and_opt_outs,
            scopes_limit_what_managers_and_agents_see,
            sender_accounts_limits_and_pauses,
            account_config_is_stored_and_cleared,
            templates_are_stored_and_replaced,
            broadcasts_enqueue_every_recipient_and_count_them,
            a_message_is_written_before_and_after_it_is_sent,
            failures_retry_or_stay_failed_and_flag_numbers,
            leases_hand_accounts_over_and_in_flight_becomes_unknown,
            the_audit_log_is_appended_and_read_in_order,
            sessions_expire_and_end,
            login_lookup_returns_the_password_hash,
            erase_contact_removes_everything_about_one_contact,
            erase_contact_follows_merges,
            erased_contact_ids_are_never_reused,
            merged_away_contact_ids_are_never_reused,
            finishing_a_send_after_erasure_is_not_found,
            contacts_are_found_by_their_words_in_every_language,
            contacts_are_filtered_by_tag_owner_and_assignment,
            contact_search_sees_only_the_scope,
            contact_search_pages_in_id_order,
            messages_are_found_by_their_words_across_accounts,
            message_search_pages_newest_first_within_the_scope,
            message_search_takes_any_text_and_refuses_none,
            erased_contacts_messages_are_not_found,
            settings_are_written_replaced_and_removed,
            inbox_lists_conversations_newest_first_within_the_scope,
        );
    };
    (@each $fresh:path; $($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let (store, _guard) = $fresh().await;
            $crate::conformance::$check(&store).await;
        }
    )*};
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

fn now() -> Timestamp {
    ts("2026-11-20T10:00:00Z")
}

fn phone(s: &str) -> Phone {
    Phone::parse(s, None).expect("test phone")
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("test e-mail")
}

fn draft(name: &str, phones: &[&str], emails: &[&str]) -> ContactDraft {
    ContactDraft {
        name: Some(name.to_owned()),
        phones: phones.iter().map(|p| phone(p)).collect(),
        emails: emails.iter().map(|e| email(e)).collect(),
        ..ContactDraft::default()
    }
}

fn message(id: &str, contact: &str, direction: Direction, text: &str, at: &str) -> IncomingMessage {
    IncomingMessage {
        external_id: id.to_owned(),
        contact: ContactRef::parse(contact).expect("test contact ref"),
        account: "wa-sales-1".to_owned(),
        channel: Channel::WhatsApp,
        direction,
        text: text.to_owned(),
        at: ts(at),
        provider_id: None,
    }
}

fn tag(family: TagFamily, value: &str, rule: &str, at: &str) -> Tag {
    Tag {
        family,
        value: value.to_owned(),
        colour: "green".to_owned(),
        rule: rule.to_owned(),
        evidence: Evidence {
            message: None,
            event: None,
            detail: format!("{rule} fired"),
        },
        set_at: ts(at),
    }
}

pub async fn create_and_get_contact(store: &dyn Store) {
    let mut d = draft("Ahmed Al-Harbi", &["+966501234567"], &["ahmed@example.com"]);
    d.language = Some(stoke_core::Language::parse("ar").expect("ok"));
    d.time_zone = Some(stoke_core::TimeZoneName::parse("Asia/Riyadh").expect("ok"));
    d.country = Some(stoke_core::Country::parse("SA").expect("ok"));
    d.birthday = Some("1990-05-17".parse().expect("date"));
    d.reach.window = Some(stoke_core::ContactWindow::parse("Sun-Thu 10:00-14:00").expect("ok"));
    d.reach.max_per_week = Some(2);
    d.custom.insert(
        "customer_since".into(),
        CustomValue::Text("2021-03-01".into()),
    );
    let created = store.create_contact(&d, now()).await.expect("create");
    assert_eq!(created.name, "Ahmed Al-Harbi");
    let read = store.get_contact(created.id).await.expect("get");
    assert_eq!(
        read, created,
        "what is read back equals what was written, every field"
    );
    assert_eq!(read.created_at, now());
    // A custom value the workspace had not defined defines its field, typed by the value.
    let defs = store.list_custom_fields().await.expect("fields");
    assert_eq!(
        defs,
        vec![CustomFieldDef {
            name: "customer_since".into(),
            field_type: CustomFieldType::Text
        }]
    );
    assert_eq!(read.reach.max_per_week, Some(2));
    assert_eq!(
        read.time_zone.as_ref().map(|z| z.as_str()),
        Some("Asia/Riyadh")
    );
}

pub async fn create_refuses_taken_handle_and_empty_draft(store: &dyn Store) {
    store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("create");
    let err = store
        .create_contact(&draft("B", &["+966501234567"], &[]), now())
        .await
        .expect_err("a taken phone is refused");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    let err = store
        .create_contact(&ContactDraft::default(), now())
        .await
        .expect_err("an empty draft is refused");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert_eq!(
        store.counts().await.expect("counts").contacts,
        1,
        "nothing half-written"
    );
}

pub async fn find_contact_by_each_handle(store: &dyn Store) {
    let c = store
        .create_contact(
            &draft(
                "A",
                &["+966501234567", "+971501234567"],
                &["A.B@Example.com"],
            ),
            now(),
        )
        .await
        .expect("create");
    for handle in [
        Handle::Phone(phone("+966501234567")),
        Handle::Phone(phone("+971501234567")),
        Handle::Email(email("a.b@example.com")),
    ] {
        let found = store
            .find_contact(&handle)
            .await
            .expect("find")
            .expect("found");
        assert_eq!(found.id, c.id, "{handle:?}");
    }
    assert!(
        store
            .find_contact(&Handle::Phone(phone("+79161234567")))
            .await
            .expect("find")
            .is_none()
    );
}

pub async fn update_contact_reindexes_handles(store: &dyn Store) {
    let mut c = store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("create");
    let other = store
        .create_contact(&draft("B", &["+971501234567"], &[]), now())
        .await
        .expect("create");
    c.phones = vec![phone("+966501234568")];
    c.city = Some("Jeddah".into());
    let later = ts("2026-11-21T10:00:00Z");
    let updated = store.update_contact(&c, later).await.expect("update");
    assert_eq!(updated.updated_at, later);
    assert_eq!(updated.city.as_deref(), Some("Jeddah"));
    assert!(
        store
            .find_contact(&Handle::Phone(phone("+966501234567")))
            .await
            .expect("find")
            .is_none()
    );
    assert!(
        store
            .find_contact(&Handle::Phone(phone("+966501234568")))
            .await
            .expect("find")
            .is_some()
    );
    c.phones.push(phone("+971501234567"));
    let err = store
        .update_contact(&c, later)
        .await
        .expect_err("another's phone is refused");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store.get_contact(other.id).await.expect("get").phones,
        other.phones
    );
}

pub async fn list_contacts_pages_in_id_order(store: &dyn Store) {
    for i in 0..7 {
        store
            .create_contact(
                &draft(&format!("C{i}"), &[&format!("+96650123456{i}")], &[]),
                now(),
            )
            .await
            .expect("create");
    }
    let mut seen = Vec::new();
    let mut page = PageRequest::first(3);
    loop {
        let p = store
            .list_contacts(Scope::Everything, page)
            .await
            .expect("list");
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|c| c.name.clone()));
        match p.next {
            Some(next) => {
                page = PageRequest {
                    after: Some(next),
                    limit: 3,
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("C{i}")).collect::<Vec<_>>());
}

pub async fn import_contacts_dedups_and_is_idempotent(store: &dyn Store) {
    let mut with_tags = draft("Olga", &["+79161234567"], &["olga@mail.ru"]);
    with_tags.tags = vec!["wholesale".into()];
    with_tags.notes = vec!["prefers voice".into()];
    let rows = vec![
        with_tags.clone(),
        draft("Ahmed", &["+966501234567"], &[]),
        // Same person as the first row, by e-mail: merged into it, not a new contact.
        draft("Olga P.", &[], &["OLGA@mail.ru"]),
    ];
    let first = store.import_contacts(&rows, now()).await.expect("import");
    assert_eq!(first.created, 2);
    assert_eq!(store.counts().await.expect("counts").contacts, 2);
    let olga = store
        .find_contact(&Handle::Email(email("olga@mail.ru")))
        .await
        .expect("find")
        .expect("olga");
    assert_eq!(
        olga.name, "Olga P.",
        "a later row updates the fields it names"
    );
    assert_eq!(olga.phones, vec![phone("+79161234567")]);
    let tags = store.list_tags(olga.id).await.expect("tags");
    assert_eq!(tags.len(), 1);
    assert_eq!(
        (tags[0].family, tags[0].value.as_str()),
        (TagFamily::Static, "wholesale")
    );
    assert_eq!(store.list_notes(olga.id).await.expect("notes").len(), 1);

    let later = ts("2026-11-22T10:00:00Z");
    let again = store
        .import_contacts(&rows, later)
        .await
        .expect("re-import");
    assert_eq!(again.created, 0);
    assert_eq!(
        again.updated, 0,
        "re-importing the same rows changes nothing: {again:?}"
    );
    let olga_again = store.get_contact(olga.id).await.expect("get");
    assert_eq!(olga_again, olga, "not even updated_at moves");
    assert_eq!(store.list_tags(olga.id).await.expect("tags").len(), 1);
    assert_eq!(store.list_notes(olga.id).await.expect("notes").len(), 1);
    assert_eq!(store.tag_history(olga.id).await.expect("history").len(), 1);
}

pub async fn import_contacts_assigns_owners_by_email(store: &dyn Store) {
    let team = store.create_team("Gulf desk").await.expect("team");
    let mut users = Vec::new();
    for address in ["ann@example.com", "bob@example.com"] {
        let user = store
            .create_user(
                &UserDraft {
                    email: email(address),
                    name: address.into(),
                    role: Role::Agent,
                    team: Some(team.id),
                    password_hash: None,
                },
                now(),
            )
            .await
            .expect("user");
        users.push(user.id);
    }
    let (ann, bob) = (users[0], users[1]);
    let owned = |mut d: ContactDraft, owner: &str| {
        d.owner = Some(email(owner));
        d
    };
    let rows = vec![
        // The owner's e-mail is matched case-insensitively, like a login.
        owned(draft("A", &["+966501234567"], &[]), "ANN@Example.com"),
        owned(draft("B", &["+966501234568"], &[]), "bob@example.com"),
        draft("C", &["+966501234569"], &[]),
    ];
    let first = store.import_contacts(&rows, now()).await.expect("import");
    assert_eq!(first.created, 3);
    let find = |p: &'static str| async move {
        store
            .find_contact(&Handle::Phone(phone(p)))
            .await
            .expect("find")
            .expect("contact")
    };
    let a = find("+966501234567").await;
    assert_eq!(a.owner, Some(ann));
    assert_eq!(find("+966501234568").await.owner, Some(bob));
    assert_eq!(find("+966501234569").await.owner, None);

    let later = ts("2026-11-21T10:00:00Z");
    let again = store.import_contacts(&rows, later).await.expect("again");
    assert_eq!(
        (again.created, again.updated, again.unchanged),
        (0, 0, 3),
        "{again:?}"
    );
    // A row naming no owner leaves the owner as it is.
    let unowned = store
        .import_contacts(&[draft("A", &["+966501234567"], &[])], later)
        .await
        .expect("no owner");
    assert_eq!(unowned.unchanged, 1, "{unowned:?}");
    assert_eq!(find("+966501234567").await, a, "not even updated_at moves");
    // Naming another owner reassigns.
    let moved = store
        .import_contacts(
            &[owned(
                draft("A", &["+966501234567"], &[]),
                "bob@example.com",
            )],
            later,
        )
        .await
        .expect("reassign");
    assert_eq!(moved.updated, 1, "{moved:?}");
    let a = find("+966501234567").await;
    assert_eq!((a.owner, a.updated_at), (Some(bob), later));

    // An owner no user has fails the batch, and nothing of it is written.
    let err = store
        .import_contacts(
            &[
                draft("D", &["+966501234570"], &[]),
                owned(draft("E", &["+966501234571"], &[]), "nobody@example.com"),
            ],
            later,
        )
        .await
        .expect_err("unknown owner");
    assert!(
        matches!(err, StoreError::Invalid { field: "owner", .. }),
        "{err:?}"
    );
    assert_eq!(store.counts().await.expect("counts").contacts, 3);
    let err = store
        .create_contact(
            &owned(draft("F", &["+966501234572"], &[]), "nobody@example.com"),
            now(),
        )
        .await
        .expect_err("unknown owner");
    assert!(
        matches!(err, StoreError::Invalid { field: "owner", .. }),
        "{err:?}"
    );
    let created = store
        .create_contact(
            &owned(draft("G", &["+966501234573"], &[]), "ann@example.com"),
            now(),
        )
        .await
        .expect("create");
    assert_eq!(created.owner, Some(ann));
}

pub async fn import_contacts_merges_rows_that_join_two_contacts(store: &dyn Store) {
    let a = store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("a");
    let b = store
        .create_contact(&draft("B", &[], &["b@example.com"]), now())
        .await
        .expect("b");
    store
        .ingest_messages(
            &[message(
                "m1",
                "b@example.com",
                Direction::In,
                "hi",
                "2026-11-19T10:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("message");
    let outcome = store
        .import_contacts(
            &[draft("A B", &["+966501234567"], &["b@example.com"])],
            now(),
        )
        .await
        .expect("import");
    assert_eq!(outcome.merged, 1);
    assert_eq!(store.counts().await.expect("counts").contacts, 1);
    let merged = store.get_contact(b.id).await.expect("b's id resolves");
    assert_eq!(merged.id, a.id, "the older contact survives");
    assert_eq!(merged.emails, vec![email("b@example.com")]);
    assert_eq!(
        store
            .list_messages(a.id, PageRequest::first(10))
            .await
            .expect("msgs")
            .items
            .len(),
        1
    );
}

pub async fn merge_moves_history_and_redirects_id(store: &dyn Store) {
    let keep = store
        .create_contact(&draft("Keep", &["+966501234567"], &[]), now())
        .await
        .expect("keep");
    let gone = store
        .create_contact(
            &draft("Gone", &["+971501234567"], &["gone@example.com"]),
            now(),
        )
        .await
        .expect("gone");
    store
        .ingest_messages(
            &[
                message(
                    "k1",
                    "+966501234567",
                    Direction::In,
                    "price?",
                    "2026-11-19T10:00:00Z",
                ),
                message(
                    "g1",
                    "+971501234567",
                    Direction::In,
                    "hello",
                    "2026-11-19T11:00:00Z",
                ),
                message(
                    "g2",
                    "+971501234567",
                    Direction::Out,
                    "welcome",
                    "2026-11-19T11:05:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("messages");
    store
        .ingest_events(
            &[IncomingEvent {
                external_id: "e1".into(),
                contact: ContactRef::Id(gone.id),
                at: ts("2026-11-19T12:00:00Z"),
                kind: EventKind::Open {
                    campaign: Some("nov".into()),
                },
            }],
            now(),
            &rules(),
        )
        .await
        .expect("event");
    store
        .apply_tag_changes(
            gone.id,
            &[TagChange {
                kind: TagChangeKind::Set,
                tag: tag(
                    TagFamily::Interest,
                    "new-product",
                    "interest.new",
                    "2026-11-19T11:00:00Z",
                ),
            }],
        )
        .await
        .expect("tag");
    store
        .add_note(gone.id, None, "called twice", now())
        .await
        .expect("note");
    store
        .add_task(
            &TaskDraft {
                contact: gone.id,
                kind: TaskKind::Call,
                title: "call back".into(),
                due_at: None,
                assignee: None,
            },
            now(),
        )
        .await
        .expect("task");

    let merged = store
        .merge_contacts(keep.id, gone.id, now())
        .await
        .expect("merge");
    assert_eq!(merged.id, keep.id);
    assert_eq!(merged.name, "Keep");
    assert_eq!(merged.phones.len(), 2);
    assert_eq!(
        store.get_contact(gone.id).await.expect("redirect").id,
        keep.id
    );
    let found = store
        .find_contact(&Handle::Email(email("gone@example.com")))
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found.id, keep.id);
    assert_eq!(
        store
            .list_messages(keep.id, PageRequest::first(10))
            .await
            .expect("msgs")
            .items
            .len(),
        3
    );
    assert_eq!(
        store
            .list_events(keep.id, PageRequest::first(10))
            .await
            .expect("events")
            .items
            .len(),
        1
    );
    // The absorbed contact's tags and their history come along; where both hold a value of one
    // exclusive family (both were tagged by the engine), the more recent stays.
    let tags = store.list_tags(keep.id).await.expect("tags");
    assert!(
        tags.iter()
            .any(|t| t.family == TagFamily::Interest && t.value == "new-product"),
        "{tags:?}"
    );
    assert_eq!(
        tags.iter()
            .filter(|t| t.family == TagFamily::Activity)
            .count(),
        1
    );
    let history = store.tag_history(keep.id).await.expect("history");
    assert!(history.iter().any(|h| h.tag.value == "new-product"));
    assert_eq!(store.list_notes(keep.id).await.expect("notes").len(), 1);
    assert_eq!(store.list_tasks(keep.id).await.expect("tasks").len(), 1);
    // Both talked to the same account: their threads become one, ordered by time.
    let convs = store.list_conversations(keep.id).await.expect("convs");
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].last_message_at, Some(ts("2026-11-19T11:05:00Z")));
    assert_eq!(store.counts().await.expect("counts").contacts, 1);
    let err = store
        .merge_contacts(keep.id, keep.id, now())
        .await
        .expect_err("self merge");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
}

pub async fn consent_and_custom_fields(store: &dyn Store) {
    let c = store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("create");
    store
        .record_consent(
            c.id,
            &Consent {
                channel: Channel::WhatsApp,
                status: ConsentStatus::Withdrawn,
                at: now(),
                source: "reply STOP".into(),
            },
        )
        .await
        .expect("consent");
    let read = store.get_contact(c.id).await.expect("get");
    assert!(read.opted_out(Channel::WhatsApp));
    assert!(!read.opted_out(Channel::Email));

    let tier = CustomFieldDef {
        name: "tier".into(),
        field_type: CustomFieldType::Choice(vec!["Gold".into(), "Silver".into()]),
    };
    store.define_custom_field(&tier).await.expect("define");
    store
        .define_custom_field(&CustomFieldDef {
            name: "budget".into(),
            field_type: CustomFieldType::Number,
        })
        .await
        .expect("define");
    let redefined = CustomFieldDef {
        name: "tier".into(),
        field_type: CustomFieldType::Choice(vec!["Gold".into()]),
    };
    store
        .define_custom_field(&redefined)
        .await
        .expect("redefine");
    let defs = store.list_custom_fields().await.expect("list");
    assert_eq!(defs.len(), 2);
    assert!(defs.contains(&redefined));
}

pub async fn accounts_are_ensured_by_name(store: &dyn Store) {
    let d = AccountDraft {
        name: "wa-sales-1".into(),
        channel: Channel::WhatsApp,
        address: Some("+966500000001".into()),
        limits: Default::default(),
    };
    let a = store.ensure_account(&d, now()).await.expect("ensure");
    let b = store
        .ensure_account(&d, ts("2026-11-21T00:00:00Z"))
        .await
        .expect("again");
    assert_eq!(a, b, "the same name gives the same account");
    let err = store
        .ensure_account(
            &AccountDraft {
                channel: Channel::Email,
                ..d
            },
            now(),
        )
        .await
        .expect_err("same name on another channel");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(store.list_accounts().await.expect("list").len(), 1);
}

pub async fn ingest_messages_is_idempotent_and_creates_contacts(store: &dyn Store) {
    let batch = vec![
        message(
            "m1",
            "+966501234567",
            Direction::Out,
            "Welcome to our shop",
            "2026-11-19T09:00:00Z",
        ),
        message(
            "m2",
            "+966501234567",
            Direction::In,
            "كم السعر؟",
            "2026-11-19T09:05:00Z",
        ),
        message(
            "m3",
            "new@example.com",
            Direction::In,
            "hello",
            "2026-11-19T10:00:00Z",
        ),
    ];
    let first = store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("ingest");
    assert_eq!(
        (first.inserted, first.duplicates, first.contacts_created),
        (3, 0, 2)
    );
    let again = store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("again");
    assert_eq!(
        (again.inserted, again.duplicates, again.contacts_created),
        (0, 3, 0)
    );
    let c = store
        .find_contact(&Handle::Phone(phone("+966501234567")))
        .await
        .expect("find")
        .expect("created");
    let msgs = store
        .list_messages(c.id, PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(msgs.items.len(), 2);
    assert_eq!(msgs.items[0].direction, Direction::Out, "oldest first");
    assert_eq!(msgs.items[1].text, "كم السعر؟", "text kept byte for byte");
    assert_eq!(msgs.items[1].channel, Channel::WhatsApp);
    assert_eq!(msgs.items[1].status(), Some(MessageStatus::Received));
    let convs = store.list_conversations(c.id).await.expect("convs");
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].last_message_at, Some(ts("2026-11-19T09:05:00Z")));
    assert_eq!(store.list_accounts().await.expect("accounts").len(), 1);
}

pub async fn messages_page_in_time_order_even_with_equal_times(store: &dyn Store) {
    // Inserted out of time order, two sharing one second: pages must still be in (time, id)
    // order and never skip or repeat a row.
    let batch = vec![
        message(
            "p3",
            "+966501234567",
            Direction::In,
            "three",
            "2026-11-19T09:02:00Z",
        ),
        message(
            "p1",
            "+966501234567",
            Direction::In,
            "one",
            "2026-11-19T09:00:00Z",
        ),
        message(
            "p2a",
            "+966501234567",
            Direction::Out,
            "two-a",
            "2026-11-19T09:01:00Z",
        ),
        message(
            "p2b",
            "+966501234567",
            Direction::In,
            "two-b",
            "2026-11-19T09:01:00Z",
        ),
        message(
            "p4",
            "+966501234567",
            Direction::Out,
            "four",
            "2026-11-19T09:03:00Z",
        ),
    ];
    store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("ingest");
    let c = store
        .find_contact(&Handle::Phone(phone("+966501234567")))
        .await
        .expect("find")
        .expect("c");
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let p = store.list_messages(c.id, page).await.expect("page");
        seen.extend(p.items.iter().map(|m| m.text.clone()));
        match p.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec!["one", "two-a", "two-b", "three", "four"]);
    let err = store
        .list_messages(ContactId::new(999_999), PageRequest::first(2))
        .await
        .expect_err("no contact");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn message_status_timeline(store: &dyn Store) {
    store
        .ingest_messages(
            &[message(
                "o1",
                "+966501234567",
                Direction::Out,
                "offer",
                "2026-11-19T09:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let c = store
        .find_contact(&Handle::Phone(phone("+966501234567")))
        .await
        .expect("find")
        .expect("c");
    let id = store
        .list_messages(c.id, PageRequest::first(1))
        .await
        .expect("list")
        .items[0]
        .id;
    for (status, at, detail) in [
        (MessageStatus::Delivered, "2026-11-19T09:00:05Z", None),
        (MessageStatus::Read, "2026-11-19T09:10:00Z", None),
        (
            MessageStatus::Failed,
            "2026-11-19T09:20:00Z",
            Some("131026 undeliverable".to_owned()),
        ),
    ] {
        store
            .add_message_status(
                id,
                &StatusChange {
                    status,
                    at: ts(at),
                    detail,
                },
                &rules(),
            )
            .await
            .expect("status");
        if status == MessageStatus::Read {
            // A read business message with no reply: the contact is in the read-no-reply group.
            let tags = store.list_tags(c.id).await.expect("tags");
            let read = tags
                .iter()
                .find(|t| t.value == "read-no-reply")
                .expect("read, no reply");
            assert_eq!(read.evidence.message, Some(id));
        }
    }
    let before = visible_tags(store, c.id).await;
    store
        .reclassify(&[c.id], ts("2026-11-19T09:20:00Z"), &rules())
        .await
        .expect("reclassify");
    assert_eq!(
        visible_tags(store, c.id).await,
        before,
        "receipts are part of the history"
    );
    let m = store.get_message(id).await.expect("get");
    let timeline: Vec<MessageStatus> = m.statuses.iter().map(|s| s.status).collect();
    assert_eq!(
        timeline,
        vec![
            MessageStatus::Sent,
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Failed
        ]
    );
    assert_eq!(
        m.statuses[3].detail.as_deref(),
        Some("131026 undeliverable")
    );
    let err = store
        .add_message_status(
            stoke_core::MessageId::new(999_999),
            &StatusChange {
                status: MessageStatus::Read,
                at: now(),
                detail: None,
            },
            &rules(),
        )
        .await
        .expect_err("unknown message");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn ingest_events_is_idempotent_and_keeps_money_exact(store: &dyn Store) {
    let kwd = Currency::parse("KWD").expect("ok");
    let line = OrderLine {
        sku: "CAT-2KG".into(),
        name: "Cat food 2 kg".into(),
        quantity: 3,
        unit_price: Money::parse("0.115", kwd).expect("ok"),
    };
    let order = EventKind::order(
        "ORD-1".into(),
        Money::parse("0.345", kwd).expect("ok"),
        vec![line],
    )
    .expect("order");
    let batch = vec![
        IncomingEvent {
            external_id: "e1".into(),
            contact: ContactRef::parse("+96550012345").expect("ok"),
            at: ts("2026-11-18T10:00:00Z"),
            kind: order.clone(),
        },
        IncomingEvent {
            external_id: "e2".into(),
            contact: ContactRef::parse("+96550012345").expect("ok"),
            at: ts("2026-11-18T09:00:00Z"),
            kind: EventKind::Click {
                url: "https://shop.example/p/1".into(),
                campaign: None,
            },
        },
    ];
    let first = store
        .ingest_events(&batch, now(), &rules())
        .await
        .expect("ingest");
    assert_eq!((first.inserted, first.contacts_created), (2, 1));
    let again = store
        .ingest_events(&batch, now(), &rules())
        .await
        .expect("again");
    assert_eq!((again.inserted, again.duplicates), (0, 2));
    let c = store
        .find_contact(&Handle::Phone(phone("+96550012345")))
        .await
        .expect("find")
        .expect("c");
    let events = store
        .list_events(c.id, PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(events.items.len(), 2);
    assert_eq!(events.items[0].kind.as_str(), "click", "oldest first");
    assert_eq!(events.items[1].kind, order, "the order comes back exactly");
}

pub async fn unknown_contact_ids_are_reported_not_stored(store: &dyn Store) {
    let m = IncomingMessage {
        contact: ContactRef::Id(ContactId::new(424_242)),
        ..message(
            "x1",
            "+966501234567",
            Direction::In,
            "hi",
            "2026-11-19T09:00:00Z",
        )
    };
    let ok = message(
        "x2",
        "+966501234567",
        Direction::In,
        "hi",
        "2026-11-19T09:00:00Z",
    );
    let outcome = store
        .ingest_messages(&[ok, m], now(), &rules())
        .await
        .expect("ingest");
    assert_eq!(outcome.unknown_contacts, vec![1]);
    assert_eq!(outcome.inserted, 1);
    let e = IncomingEvent {
        external_id: "e".into(),
        contact: ContactRef::Id(ContactId::new(424_242)),
        at: now(),
        kind: EventKind::Open { campaign: None },
    };
    assert_eq!(
        store
            .ingest_events(&[e], now(), &rules())
            .await
            .expect("ingest")
            .unknown_contacts,
        vec![0]
    );
}

pub async fn tags_replace_within_exclusive_families_and_keep_history(store: &dyn Store) {
    let c = store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("create");
    let set = |t: Tag| TagChange {
        kind: TagChangeKind::Set,
        tag: t,
    };
    store
        .apply_tag_changes(
            c.id,
            &[
                set(tag(
                    TagFamily::Activity,
                    "high",
                    "activity.high",
                    "2026-11-19T09:00:00Z",
                )),
                set(tag(
                    TagFamily::Interest,
                    "discount-sensitive",
                    "interest.discount",
                    "2026-11-19T09:00:00Z",
                )),
                set(tag(
                    TagFamily::Interest,
                    "new-product",
                    "interest.new",
                    "2026-11-19T09:00:00Z",
                )),
            ],
        )
        .await
        .expect("tags");
    store
        .apply_tag_changes(
            c.id,
            &[set(tag(
                TagFamily::Activity,
                "medium",
                "activity.medium",
                "2026-11-21T09:00:00Z",
            ))],
        )
        .await
        .expect("downgrade");
    let tags = store.list_tags(c.id).await.expect("list");
    let pairs: Vec<(TagFamily, &str)> = tags.iter().map(|t| (t.family, t.value.as_str())).collect();
    assert_eq!(
        pairs,
        vec![
            (TagFamily::Activity, "medium"),
            (TagFamily::Interest, "discount-sensitive"),
            (TagFamily::Interest, "new-product"),
        ]
    );
    assert_eq!(tags[0].rule, "activity.medium");
    assert_eq!(tags[0].evidence.detail, "activity.medium fired");
    store
        .apply_tag_changes(
            c.id,
            &[TagChange {
                kind: TagChangeKind::Removed,
                tag: tag(
                    TagFamily::Interest,
                    "new-product",
                    "interest.expired",
                    "2026-11-22T09:00:00Z",
                ),
            }],
        )
        .await
        .expect("remove");
    assert_eq!(store.list_tags(c.id).await.expect("list").len(), 2);
    let history = store.tag_history(c.id).await.expect("history");
    let kinds: Vec<(TagChangeKind, &str)> = history
        .iter()
        .map(|h| (h.kind, h.tag.value.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (TagChangeKind::Set, "high"),
            (TagChangeKind::Set, "discount-sensitive"),
            (TagChangeKind::Set, "new-product"),
            (TagChangeKind::Set, "medium"),
            (TagChangeKind::Removed, "new-product"),
        ]
    );
}

pub async fn notes_and_tasks(store: &dyn Store) {
    let c = store
        .create_contact(&draft("A", &["+966501234567"], &[]), now())
        .await
        .expect("create");
    let n = store
        .add_note(c.id, None, "Mr Wang | prefers text", now())
        .await
        .expect("note");
    assert_eq!(store.list_notes(c.id).await.expect("notes"), vec![n]);
    let t = store
        .add_task(
            &TaskDraft {
                contact: c.id,
                kind: TaskKind::Meeting,
                title: "showroom visit".into(),
                due_at: Some(ts("2026-11-25T12:00:00Z")),
                assignee: None,
            },
            now(),
        )
        .await
        .expect("task");
    assert_eq!(t.done_at, None);
    let done = store
        .complete_task(t.id, ts("2026-11-25T13:00:00Z"))
        .await
        .expect("complete");
    assert_eq!(done.done_at, Some(ts("2026-11-25T13:00:00Z")));
    assert_eq!(store.list_tasks(c.id).await.expect("tasks"), vec![done]);
    let err = store
        .add_note(ContactId::new(999_999), None, "x", now())
        .await
        .expect_err("no contact");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn users_teams_and_tokens(store: &dyn Store) {
    let team = store.create_team("Riyadh sales").await.expect("team");
    assert_eq!(store.list_teams().await.expect("teams"), vec![team.clone()]);
    let u = store
        .create_user(
            &UserDraft {
                email: email("rep@example.com"),
                name: "Rep".into(),
                role: Role::Agent,
                team: Some(team.id),
                password_hash: Some("$argon2id$...".into()),
            },
            now(),
        )
        .await
        .expect("user");
    let err = store
        .create_user(
            &UserDraft {
                email: email("REP@example.com"),
                name: "Other".into(),
                role: Role::Admin,
                team: None,
                password_hash: None,
            },
            now(),
        )
        .await
        .expect_err("duplicate e-mail");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(
        store
            .find_user_by_email("Rep@Example.com")
            .await
            .expect("find"),
        Some(u.clone())
    );
    assert_eq!(store.list_users().await.expect("users"), vec![u.clone()]);
    let token = store
        .create_api_token("shop", Role::Agent, Some(u.id), "hash-1", now())
        .await
        .expect("token");
    assert_eq!(
        store.find_api_token("hash-1").await.expect("find"),
        Some(token.clone())
    );
    assert_eq!(store.find_api_token("hash-2").await.expect("find"), None);
    let other = store
        .create_api_token("crm", Role::Admin, None, "hash-2", now())
        .await
        .expect("token");
    assert_eq!(
        store.list_api_tokens().await.expect("list"),
        vec![token.clone(), other.clone()]
    );
    // Revoked, a token stops working at once; the other goes on.
    assert_eq!(
        store.revoke_api_token(token.id).await.expect("revoke"),
        token
    );
    assert_eq!(store.find_api_token("hash-1").await.expect("find"), None);
    assert_eq!(
        store.find_api_token("hash-2").await.expect("find"),
        Some(other.clone())
    );
    assert_eq!(store.list_api_tokens().await.expect("list"), vec![other]);
    assert!(matches!(
        store.revoke_api_token(token.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn user(store: &dyn Store, address: &str, password_hash: Option<&str>) -> stoke_core::User {
    store
        .create_user(
            &UserDraft {
                email: email(address),
                name: address.to_owned(),
                role: Role::Agent,
                team: None,
                password_hash: password_hash.map(str::to_owned),
            },
            now(),
        )
        .await
        .expect("user")
}

pub async fn sessions_expire_and_end(store: &dyn Store) {
    let rep = user(store, "rep@example.com", None).await;
    let other = user(store, "other@example.com", None).await;
    let hour = jiff::SignedDuration::from_hours(1);
    let session = |user: stoke_core::UserId, csrf: &str, expires_at: Timestamp| Session {
        user,
        csrf_token: csrf.to_owned(),
        created_at: now(),
        expires_at,
    };
    let first = session(rep.id, "csrf-1", now() + hour);
    store
        .create_session("hash-1", &first)
        .await
        .expect("create");
    assert_eq!(
        store.find_session("hash-1", now()).await.expect("find"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .find_session("hash-1", now() + hour / 2)
            .await
            .expect("find"),
        Some(first.clone())
    );
    // Expired at its expiry time, not a moment after.
    assert_eq!(
        store
            .find_session("hash-1", now() + hour)
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store
            .find_session("hash-1", now() + hour * 2)
            .await
            .expect("find"),
        None
    );
    assert_eq!(
        store.find_session("hash-0", now()).await.expect("find"),
        None
    );
    let err = store
        .create_session("hash-1", &session(other.id, "csrf-x", now() + hour))
        .await
        .expect_err("hash taken");
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(
        !err.to_string().contains("hash-1"),
        "the hash stays out of messages: {err}"
    );
    let err = store
        .create_session(
            "hash-9",
            &session(stoke_core::UserId::new(999_999), "csrf-9", now() + hour),
        )
        .await
        .expect_err("no such user");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    // The refused session did not replace the first.
    assert_eq!(
        store.find_session("hash-1", now()).await.expect("find"),
        Some(first)
    );

    for (hash, csrf) in [("hash-2", "csrf-2"), ("hash-3", "csrf-3")] {
        store
            .create_session(hash, &session(rep.id, csrf, now() + hour))
            .await
            .expect("create");
    }
    let minute = jiff::SignedDuration::from_mins(1);
    store
        .create_session("hash-4", &session(other.id, "csrf-4", now() + minute))
        .await
        .expect("create");
    store
        .create_session("hash-5", &session(other.id, "csrf-5", now() + minute * 10))
        .await
        .expect("create");

    store.delete_session("hash-2").await.expect("logout");
    assert_eq!(
        store.find_session("hash-2", now()).await.expect("find"),
        None
    );
    store
        .delete_session("hash-2")
        .await
        .expect("ending an ended session is no error");
    store
        .delete_session("never-was")
        .await
        .expect("ending an unknown session is no error");
    assert_eq!(
        store.delete_user_sessions(rep.id).await.expect("end all"),
        2,
        "hash-1 and hash-3"
    );
    for hash in ["hash-1", "hash-3"] {
        assert_eq!(store.find_session(hash, now()).await.expect("find"), None);
    }
    assert!(
        store
            .find_session("hash-4", now())
            .await
            .expect("find")
            .is_some(),
        "another user's sessions stay"
    );
    assert_eq!(store.delete_user_sessions(rep.id).await.expect("again"), 0);

    assert_eq!(
        store
            .purge_sessions(now() + minute * 5)
            .await
            .expect("purge"),
        1,
        "hash-4 expired"
    );
    assert!(
        store
            .find_session("hash-5", now() + minute * 5)
            .await
            .expect("find")
            .is_some()
    );
    assert_eq!(
        store
            .purge_sessions(now() + minute * 10)
            .await
            .expect("purge"),
        1,
        "hash-5 expires at that moment"
    );
    assert_eq!(
        store
            .purge_sessions(now() + hour * 24)
            .await
            .expect("purge"),
        0
    );
    assert_eq!(store.delete_user_sessions(other.id).await.expect("end"), 0);
}

pub async fn login_lookup_returns_the_password_hash(store: &dyn Store) {
    let rep = user(store, "Rep@Example.com", Some("$argon2id$v=19$first")).await;
    let bare = user(store, "bare@example.com", None).await;
    assert_eq!(
        store.login_lookup("Rep@Example.com").await.expect("lookup"),
        Some((rep.clone(), Some("$argon2id$v=19$first".to_owned())))
    );
    // Matched as find_user_by_email matches.
    assert_eq!(
        store
            .find_user_by_email(" rep@EXAMPLE.com ")
            .await
            .expect("find"),
        Some(rep.clone())
    );
    assert_eq!(
        store
            .login_lookup(" rep@EXAMPLE.com ")
            .await
            .expect("lookup"),
        Some((rep.clone(), Some("$argon2id$v=19$first".to_owned())))
    );
    assert_eq!(
        store
            .login_lookup("bare@example.com")
            .await
            .expect("lookup"),
        Some((bare, None))
    );
    assert_eq!(
        store
            .login_lookup("nobody@example.com")
            .await
            .expect("lookup"),
        None
    );

    store
        .set_password_hash(rep.id, Some("$argon2id$v=19$second"))
        .await
        .expect("change");
    assert_eq!(
        store.login_lookup("rep@example.com").await.expect("lookup"),
        Some((rep.clone(), Some("$argon2id$v=19$second".to_owned())))
    );
    store.set_password_hash(rep.id, None).await.expect("clear");
    assert_eq!(
        store.login_lookup("rep@example.com").await.expect("lookup"),
        Some((rep.clone(), None))
    );
    // The user is otherwise unchanged.
    assert_eq!(store.get_user(rep.id).await.expect("get"), rep);
    let err = store
        .set_password_hash(stoke_core::UserId::new(999_999), Some("x"))
        .await
        .expect_err("no such user");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

pub async fn counts_cover_everything(store: &dyn Store) {
    store
        .ingest_messages(
            &[
                message(
                    "a",
                    "+966501234567",
                    Direction::In,
                    "hi",
                    "2026-11-19T09:00:00Z",
                ),
                message(
                    "b",
                    "+966501234568",
                    Direction::In,
                    "hi",
                    "2026-11-19T09:00:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let counts = store.counts().await.expect("counts");
    assert_eq!(
        (
            counts.contacts,
            counts.messages,
            counts.conversations,
            counts.accounts
        ),
        (2, 2, 2, 1)
    );
    assert_eq!((counts.events, counts.users), (0, 0));
    assert!(
        counts.tags >= 4,
        "each contact's messages tagged it: {counts:?}"
    );
}

pub async fn not_found_is_an_error_not_a_panic(store: &dyn Store) {
    let missing = ContactId::new(123_456);
    assert!(matches!(
        store.get_contact(missing).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .merge_contacts(missing, ContactId::new(7), now())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_message(stoke_core::MessageId::new(5)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.complete_task(stoke_core::TaskId::new(5), now()).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.apply_tag_changes(missing, &[]).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// The tags as a user sees them: family, value, rule, evidence.
async fn visible_tags(
    store: &dyn Store,
    contact: ContactId,
) -> Vec<(TagFamily, String, String, Evidence)> {
    store
        .list_tags(contact)
        .await
        .expect("tags")
        .into_iter()
        .map(|t| (t.family, t.value, t.rule, t.evidence))
        .collect()
}

async fn contact_of(store: &dyn Store, raw: &str) -> ContactId {
    store
        .find_contact(&Handle::Phone(phone(raw)))
        .await
        .expect("find")
        .expect("contact")
        .id
}

pub async fn every_message_goes_through_the_engine(store: &dyn Store) {
    let at = "2026-11-20T09:00:00Z";
    store
        .ingest_messages(
            &[message(
                "q1",
                "+966501234567",
                Direction::In,
                "how much is it?",
                at,
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let c = contact_of(store, "+966501234567").await;
    let tags = store.list_tags(c).await.expect("tags");
    let intent = tags
        .iter()
        .find(|t| t.family == TagFamily::Intent)
        .expect("an intent tag");
    assert_eq!(
        (intent.value.as_str(), intent.rule.as_str()),
        ("high", "intent.high")
    );
    let msg = store
        .list_messages(c, PageRequest::first(1))
        .await
        .expect("msgs")
        .items[0]
        .id;
    assert_eq!(
        intent.evidence.message,
        Some(msg),
        "the tag names the message that set it"
    );
    assert!(
        intent.evidence.detail.contains("how much"),
        "{}",
        intent.evidence.detail
    );
    let activity = tags
        .iter()
        .find(|t| t.family == TagFamily::Activity)
        .expect("activity");
    assert_eq!(activity.value, "high");
    let history = store.tag_history(c).await.expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.tag.family == TagFamily::Intent && h.tag.value == "high")
    );
}

pub async fn reclassify_gives_exactly_the_incremental_tags(store: &dyn Store) {
    let lines = [
        (
            "r1",
            Direction::Out,
            "Hello! New arrivals this week",
            "2026-11-10T09:00:00Z",
        ),
        ("r2", Direction::In, "thanks", "2026-11-10T09:30:00Z"),
        (
            "r3",
            Direction::In,
            "what is the warranty?",
            "2026-11-12T10:00:00Z",
        ),
        (
            "r4",
            Direction::In,
            "ok and how much?",
            "2026-11-12T10:05:00Z",
        ),
        (
            "r5",
            Direction::In,
            "terrible delivery",
            "2026-11-18T10:05:00Z",
        ),
    ];
    // One at a time, as a live system receives them.
    for (id, direction, text, at) in lines {
        store
            .ingest_messages(
                &[message(id, "+966501234567", direction, text, at)],
                ts(at),
                &rules(),
            )
            .await
            .expect("ingest");
    }
    store.refresh_due(now(), &rules(), 100).await.expect("due");
    let c = contact_of(store, "+966501234567").await;
    let incremental = visible_tags(store, c).await;
    assert!(!incremental.is_empty());
    assert_eq!(
        store
            .reclassify(&[c], now(), &rules())
            .await
            .expect("reclassify"),
        1
    );
    assert_eq!(visible_tags(store, c).await, incremental);
}

pub async fn a_late_message_replays_the_history(store: &dyn Store) {
    store
        .ingest_messages(
            &[message(
                "l2",
                "+966501234567",
                Direction::In,
                "no thanks, not interested",
                "2026-11-19T10:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    // An older message arrives after a newer one (an import of an older export).
    store
        .ingest_messages(
            &[message(
                "l1",
                "+966501234567",
                Direction::In,
                "how much is it?",
                "2026-11-18T10:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let c = contact_of(store, "+966501234567").await;
    let tags = visible_tags(store, c).await;
    let intent = tags
        .iter()
        .find(|t| t.0 == TagFamily::Intent)
        .expect("intent");
    assert_eq!(
        intent.1, "none",
        "the refusal came last in time, so it holds"
    );
    store
        .reclassify(&[c], now(), &rules())
        .await
        .expect("reclassify");
    assert_eq!(visible_tags(store, c).await, tags);
}

pub async fn due_contacts_are_refreshed_from_the_index(store: &dyn Store) {
    let at = "2026-11-20T09:00:00Z";
    store
        .ingest_messages(
            &[message("d1", "+966501234567", Direction::In, "hello", at)],
            ts(at),
            &rules(),
        )
        .await
        .expect("ingest");
    let c = contact_of(store, "+966501234567").await;
    let activity = |tags: Vec<(TagFamily, String, String, Evidence)>| {
        tags.into_iter()
            .find(|t| t.0 == TagFamily::Activity)
            .map(|t| t.1)
    };
    assert_eq!(
        activity(visible_tags(store, c).await).as_deref(),
        Some("high")
    );
    assert_eq!(
        store
            .refresh_due(ts("2026-11-20T12:00:00Z"), &rules(), 100)
            .await
            .expect("due"),
        0,
        "nothing is due yet"
    );
    assert_eq!(
        store
            .refresh_due(ts("2026-11-22T12:00:00Z"), &rules(), 100)
            .await
            .expect("due"),
        1
    );
    assert_eq!(
        activity(visible_tags(store, c).await).as_deref(),
        Some("medium")
    );
    let history = store.tag_history(c).await.expect("history");
    assert!(
        history
            .iter()
            .any(|h| h.kind == TagChangeKind::Removed && h.tag.value == "high")
    );
}

pub async fn contact_ids_page_in_order(store: &dyn Store) {
    for i in 0..5 {
        store
            .create_contact(&draft("x", &[&format!("+96650123456{i}")], &[]), now())
            .await
            .expect("create");
    }
    let first = store
        .contact_ids(PageRequest::first(3))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 3);
    let second = store
        .contact_ids(PageRequest {
            after: first.next,
            limit: 3,
        })
        .await
        .expect("page");
    assert_eq!(second.items.len(), 2);
    assert_eq!(second.next, None);
    assert!(
        first
            .items
            .iter()
            .chain(&second.items)
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0] < w[1])
    );
}

pub async fn orders_teach_replenishment_per_product(store: &dyn Store) {
    let sar = Currency::parse("SAR").expect("currency");
    let order = |id: &str, at: &str, sku: &str| {
        let price = Money::parse("50.00", sar).expect("money");
        let line = OrderLine {
            sku: sku.into(),
            name: sku.into(),
            quantity: 1,
            unit_price: price,
        };
        IncomingEvent {
            external_id: id.into(),
            contact: ContactRef::parse("+966501234567").expect("ref"),
            at: ts(at),
            kind: EventKind::order(format!("O-{id}"), price, vec![line]).expect("order"),
        }
    };
    // Cat food on day 0 and day 35: the next one is due at 80% of 35 days after the second.
    let events = [
        order("o1", "2026-09-01T10:00:00Z", "CAT-FOOD"),
        order("o2", "2026-10-06T10:00:00Z", "CAT-FOOD"),
    ];
    let not_yet = ts("2026-10-30T10:00:00Z");
    store
        .ingest_events(&events, not_yet, &rules())
        .await
        .expect("ingest");
    let c = contact_of(store, "+966501234567").await;
    let due = |tags: Vec<(TagFamily, String, String, Evidence)>| {
        tags.into_iter().find(|t| t.1 == "replenish-due")
    };
    assert!(
        due(visible_tags(store, c).await).is_none(),
        "day 24 of 35: not yet"
    );
    store
        .refresh_due(ts("2026-11-04T10:00:00Z"), &rules(), 100)
        .await
        .expect("due");
    let tag = due(visible_tags(store, c).await).expect("due on day 28");
    assert!(tag.3.detail.starts_with("CAT-FOOD"), "{}", tag.3.detail);
    let before = visible_tags(store, c).await;
    store
        .reclassify(&[c], ts("2026-11-04T10:00:00Z"), &rules())
        .await
        .expect("reclassify");
    assert_eq!(visible_tags(store, c).await, before);
}

pub async fn planning_page_reads_state_and_filters_by_owner(store: &dyn Store) {
    let rep = store
        .create_user(
            &UserDraft {
                email: email("planner-rep@example.com"),
                name: "Rep".into(),
                role: Role::Agent,
                team: None,
                password_hash: None,
            },
            now(),
        )
        .await
        .expect("user");
    store
        .ingest_messages(
            &[message(
                "p1",
                "+966501234567",
                Direction::In,
                "how much is it?",
                "2026-11-20T09:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let mut quiet = store
        .create_contact(&draft("Quiet", &["+966501234568"], &[]), now())
        .await
        .expect("contact");
    quiet.owner = Some(rep.id);
    store.update_contact(&quiet, now()).await.expect("update");

    let all = store
        .planning_page(None, PageRequest::first(10))
        .await
        .expect("page");
    assert_eq!(all.items.len(), 2);
    assert!(all.items[0].0.id < all.items[1].0.id);
    let (asked, state) = &all.items[0];
    assert_eq!(asked.phones[0].as_str(), "+966501234567");
    assert_eq!(
        state.last_inbound.as_ref().map(|s| s.at),
        Some(ts("2026-11-20T09:00:00Z"))
    );
    assert_eq!(all.items[1].1, stoke_core::engine::ContactState::default());

    let mine = store
        .planning_page(Some(rep.id), PageRequest::first(10))
        .await
        .expect("page");
    let ids: Vec<ContactId> = mine.items.iter().map(|(c, _)| c.id).collect();
    assert_eq!(ids, [quiet.id]);

    let first = store
        .planning_page(None, PageRequest::first(1))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 1);
    let rest = store
        .planning_page(
            None,
            PageRequest {
                after: first.next,
                limit: 10,
            },
        )
        .await
        .expect("page");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
}

pub async fn segment_page_reads_tags_replies_and_opt_outs(store: &dyn Store) {
    store
        .ingest_messages(
            &[
                message(
                    "s1",
                    "+966501234567",
                    Direction::In,
                    "how much is it?",
                    "2026-11-20T09:00:00Z",
                ),
                message(
                    "s2",
                    "+966501234568",
                    Direction::In,
                    "STOP",
                    "2026-11-20T09:05:00Z",
                ),
                message(
                    "s3",
                    "+966501234569",
                    Direction::Out,
                    "New arrivals",
                    "2026-11-20T09:10:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let silent = store
        .create_contact(&draft("Silent", &["+966501234560"], &[]), now())
        .await
        .expect("contact");
    let page = store
        .segment_page(PageRequest::first(10))
        .await
        .expect("page");
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.next, None);
    let by_id = |id: ContactId| {
        page.items
            .iter()
            .find(|r| r.contact == id)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {id}"))
    };
    let asked = by_id(contact_of(store, "+966501234567").await);
    assert!(
        asked.tags.contains(&(TagFamily::Intent, "high".to_owned())),
        "{asked:?}"
    );
    assert_eq!(asked.last_reply, Some(ts("2026-11-20T09:00:00Z")));
    assert!(!asked.opted_out);
    let stopped = by_id(contact_of(store, "+966501234568").await);
    assert!(stopped.opted_out, "{stopped:?}");
    let touched = by_id(contact_of(store, "+966501234569").await);
    assert_eq!(touched.last_reply, None, "{touched:?}");
    assert!(!touched.tags.is_empty());
    let none = by_id(silent.id);
    assert!(none.tags.is_empty() && none.last_reply.is_none());

    let first = store
        .segment_page(PageRequest::first(3))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 3);
    assert!(first.next.is_some());
}

pub async fn scopes_limit_what_managers_and_agents_see(store: &dyn Store) {
    let riyadh = store.create_team("Riyadh desk").await.expect("team");
    let moscow = store.create_team("Moscow desk").await.expect("team");
    let user = |address: &str, role: Role, team| UserDraft {
        email: email(address),
        name: address.into(),
        role,
        team: Some(team),
        password_hash: None,
    };
    let sara = store
        .create_user(&user("sara@example.com", Role::Agent, riyadh.id), now())
        .await
        .expect("agent");
    let omar = store
        .create_user(&user("omar@example.com", Role::Agent, riyadh.id), now())
        .await
        .expect("agent");
    let olga = store
        .create_user(&user("olga@example.com", Role::Agent, moscow.id), now())
        .await
        .expect("agent");
    assert_eq!(store.get_user(sara.id).await.expect("user"), sara);
    assert!(matches!(
        store.get_user(stoke_core::UserId::new(999_999)).await,
        Err(StoreError::NotFound { .. })
    ));
    // Sara's, Omar's, Olga's, the Riyadh desk's unassigned one, and nobody's.
    let mut ids = Vec::new();
    for (n, (owner, team)) in [
        (Some(sara.id), None),
        (Some(omar.id), None),
        (Some(olga.id), None),
        (None, Some(riyadh.id)),
        (None, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = store
            .create_contact(
                &draft(&format!("C{n}"), &[&format!("+96650000010{n}")], &[]),
                now(),
            )
            .await
            .expect("contact");
        c.owner = owner;
        c.team = team;
        ids.push(store.update_contact(&c, now()).await.expect("update").id);
    }
    let seen = |scope: Scope| async move {
        store
            .list_contacts(scope, PageRequest::first(100))
            .await
            .expect("list")
            .items
            .iter()
            .map(|c| c.id)
            .collect::<Vec<ContactId>>()
    };
    assert_eq!(seen(Scope::Everything).await, ids);
    assert_eq!(seen(Scope::Team(riyadh.id)).await, [ids[0], ids[1], ids[3]]);
    assert_eq!(seen(Scope::Team(moscow.id)).await, [ids[2]]);
    let sara_scope = Scope::Agent {
        user: sara.id,
        team: Some(riyadh.id),
    };
    assert_eq!(seen(sara_scope).await, [ids[0], ids[3]]);
    let loner = Scope::Agent {
        user: olga.id,
        team: None,
    };
    assert_eq!(seen(loner).await, [ids[2]]);
    // Reading one: what the scope does not see does not exist for it.
    assert_eq!(
        store
            .get_contact_in(sara_scope, ids[0])
            .await
            .expect("own")
            .id,
        ids[0]
    );
    for hidden in [ids[1], ids[2], ids[4]] {
        assert!(matches!(
            store.get_contact_in(sara_scope, hidden).await,
            Err(StoreError::NotFound { .. })
        ));
    }
    assert!(matches!(
        store
            .get_contact_in(Scope::Everything, ContactId::new(999_999))
            .await,
        Err(StoreError::NotFound { .. })
    ));
}
