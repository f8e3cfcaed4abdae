//! Search's part of the conformance suite: contacts by words (in Arabic, Russian and English,
//! with or without hamza, diacritics, ё and capitals; phones by their digits), tags, owners
//! and scopes; messages by words across accounts, newest first; hostile queries; settings.

use jiff::SignedDuration;
use stoke_core::outbox::Purpose;
use stoke_core::template::MediaKind;
use stoke_core::{
    Channel, ContactDraft, ContactId, ContactRef, Direction, Role, TagFamily, TeamId, UserDraft,
    UserId,
};

use super::{draft, email, message, now, rules, ts};
use crate::outbox::{Content, Outbound, OutboxDraft, SendOutcome};
use crate::{ContactFilter, IncomingMessage, PageRequest, Scope, Store, StoreError};

fn everything() -> PageRequest {
    PageRequest::first(PageRequest::MAX_LIMIT)
}

fn words(text: &str) -> ContactFilter {
    ContactFilter {
        text: Some(text.to_owned()),
        ..ContactFilter::default()
    }
}

/// The ids of the contacts a scope finds with a filter, all pages at once.
async fn found(store: &dyn Store, scope: Scope, filter: &ContactFilter) -> Vec<ContactId> {
    store
        .search_contacts(scope, filter, everything())
        .await
        .unwrap_or_else(|e| panic!("search {filter:?}: {e:?}"))
        .items
        .iter()
        .map(|c| c.id)
        .collect()
}

/// The ids of the messages the whole workspace finds with a query, newest first.
async fn said(store: &dyn Store, query: &str) -> Vec<i64> {
    store
        .search_messages(Scope::Everything, query, None, everything())
        .await
        .unwrap_or_else(|e| panic!("search {query:?}: {e:?}"))
        .items
        .iter()
        .map(|m| m.id.get())
        .collect()
}

async fn create(store: &dyn Store, draft: ContactDraft) -> ContactId {
    store
        .create_contact(&draft, now())
        .await
        .expect("contact")
        .id
}

pub async fn contacts_are_found_by_their_words_in_every_language(store: &dyn Store) {
    let ahmed = create(
        store,
        ContactDraft {
            company: stoke_core::contact::CompanyDetails {
                legal_name: Some("مؤسسة النُّور للتجارة".into()),
                ..Default::default()
            },
            ..draft("أحمد الشّامي", &["+966501112233"], &["ahmed@souq.sa"])
        },
    )
    .await;
    let fedor = create(
        store,
        draft("Фёдор Ёлкин", &["+79161234567"], &["fedor@mail.ru"]),
    )
    .await;
    let sarah = create(
        store,
        ContactDraft {
            company: stoke_core::contact::CompanyDetails {
                legal_name: Some("Cyberdyne Systems".into()),
                ..Default::default()
            },
            whatsapp_id: Some("sc-whats-77".into()),
            ..draft(
                "Sarah Connor",
                &["+12025550147"],
                &["Sarah.Connor@Cyberdyne.com"],
            )
        },
    )
    .await;
    let all = Scope::Everything;
    for (query, expected) in [
        // Arabic: with and without hamza, with diacritics, prefixes, the company's words.
        ("أحمد", vec![ahmed]),
        ("احمد", vec![ahmed]),
        ("اَحْمَد", vec![ahmed]),
        ("الشامي", vec![ahmed]),
        ("احم الشا", vec![ahmed]),
        ("النور", vec![ahmed]),
        ("مؤسسه", vec![ahmed]),
        // Russian: ё and е alike, either case.
        ("федор", vec![fedor]),
        ("ФЁДОР", vec![fedor]),
        ("елкин", vec![fedor]),
        ("Ёлк", vec![fedor]),
        // English: case, prefixes, company, e-mail, WhatsApp id.
        ("sarah", vec![sarah]),
        ("SAR CON", vec![sarah]),
        ("cyberdyne", vec![sarah]),
        ("sarah.connor@cyber", vec![sarah]),
        ("whats", vec![sarah]),
        ("souq", vec![ahmed]),
        ("ahmed", vec![ahmed]),
        // Phones: digits anywhere, with or without + and spaces.
        ("2233", vec![ahmed]),
        ("50111", vec![ahmed]),
        ("966501112233", vec![ahmed]),
        ("+966501112233", vec![ahmed]),
        ("+966 50 111 2233", vec![ahmed]),
        ("+7 (916) 123-45-67", vec![fedor]),
        ("916 4567", vec![fedor]),
        ("555", vec![sarah]),
        // Every word must match.
        ("sarah smith", vec![]),
        ("mohammed", vec![]),
        ("+966 50 999", vec![]),
        ("4567 sarah", vec![]),
    ] {
        assert_eq!(
            found(store, all, &words(query)).await,
            expected,
            "{query:?}"
        );
    }
    // Digits that begin another contact's number and appear inside this one.
    assert_eq!(found(store, all, &words("1")).await, [ahmed, fedor, sarah]);
    // A blank box narrows nothing; punctuation alone finds nothing; neither is an error.
    assert_eq!(found(store, all, &words("  ")).await, [ahmed, fedor, sarah]);
    for hostile in ["\"", "*", "(", "'", ":*", "!"] {
        assert!(
            found(store, all, &words(hostile)).await.is_empty(),
            "{hostile:?}"
        );
    }
    for hostile in [
        "AND OR NOT",
        "sarah OR fedor",
        "\"sarah",
        "sarah*",
        "'; DROP TABLE contacts; --",
        "NEAR(sarah connor)",
        "sarah:* | fedor",
    ] {
        let result = store
            .search_contacts(all, &words(hostile), everything())
            .await;
        assert!(result.is_ok(), "{hostile:?}: {result:?}");
    }
    assert_eq!(found(store, all, &words("\"sarah")).await, [sarah]);
    assert!(found(store, all, &words("sarah OR fedor")).await.is_empty());

    // A changed name is found by its new words only.
    let mut renamed = store.get_contact(fedor).await.expect("contact");
    renamed.name = "Фёдор Петров".into();
    store.update_contact(&renamed, now()).await.expect("update");
    assert_eq!(found(store, all, &words("петр")).await, [fedor]);
    assert!(found(store, all, &words("елкин")).await.is_empty());

    // A contact merged away is never found; the survivor is, by the words of both.
    let twin = create(store, draft("Fedya", &["+79160000001"], &[])).await;
    store
        .merge_contacts(fedor, twin, now())
        .await
        .expect("merge");
    assert_eq!(found(store, all, &words("+79160000001")).await, [fedor]);
    assert_eq!(found(store, all, &words("федор")).await, [fedor]);
    // And an erased one is gone with everything else.
    store.erase_contact(ahmed).await.expect("erase");
    assert!(found(store, all, &words("احمد")).await.is_empty());
    assert!(found(store, all, &words("2233")).await.is_empty());
}

/// Two teams, three agents, a manager's view: the people of `scopes_limit_what_managers_and_agents_see`.
struct Desks {
    riyadh: TeamId,
    sara: UserId,
    omar: UserId,
}

async fn desks(store: &dyn Store) -> Desks {
    let riyadh = store.create_team("Riyadh desk").await.expect("team").id;
    let user = |address: &str| UserDraft {
        email: email(address),
        name: address.into(),
        role: Role::Agent,
        team: Some(riyadh),
        password_hash: None,
    };
    let sara = store
        .create_user(&user("sara@example.com"), now())
        .await
        .expect("agent")
        .id;
    let omar = store
        .create_user(&user("omar@example.com"), now())
        .await
        .expect("agent")
        .id;
    Desks { riyadh, sara, omar }
}

/// Creates a contact with owner, team and static tags as given.
async fn assigned(
    store: &dyn Store,
    name: &str,
    phone: &str,
    owner: Option<UserId>,
    team: Option<TeamId>,
    tags: &[&str],
) -> ContactId {
    let mut contact = store
        .create_contact(
            &ContactDraft {
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                ..draft(name, &[phone], &[])
            },
            now(),
        )
        .await
        .expect("contact");
    contact.owner = owner;
    contact.team = team;
    store
        .update_contact(&contact, now())
        .await
        .expect("update")
        .id
}

pub async fn contacts_are_filtered_by_tag_owner_and_assignment(store: &dyn Store) {
    let d = desks(store).await;
    let a = assigned(store, "Amal", "+966500000001", Some(d.sara), None, &["vip"]).await;
    let b = assigned(
        store,
        "Badr",
        "+966500000002",
        Some(d.omar),
        None,
        &["vip", "wholesale"],
    )
    .await;
    let c = assigned(store, "Amir", "+966500000003", None, None, &["vip"]).await;
    let e = assigned(store, "Amina", "+966500000004", Some(d.sara), None, &[]).await;
    // An engine tag: a question about the price.
    store
        .ingest_messages(
            &[message(
                "price",
                "+966500000004",
                Direction::In,
                "how much is it?",
                "2026-11-20T09:00:00Z",
            )],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    let all = Scope::Everything;
    let vip = |value: &str| Some((TagFamily::Static, value.to_owned()));
    let filter = |tag, owner, unassigned, text: Option<&str>| ContactFilter {
        text: text.map(str::to_owned),
        tag,
        owner,
        unassigned,
    };
    assert_eq!(
        found(store, all, &filter(vip("vip"), None, false, None)).await,
        [a, b, c]
    );
    assert_eq!(
        found(store, all, &filter(vip("wholesale"), None, false, None)).await,
        [b]
    );
    assert!(
        found(store, all, &filter(vip("nobody"), None, false, None))
            .await
            .is_empty()
    );
    // Engine and static tags alike, and not a static tag of the same value.
    assert_eq!(
        found(
            store,
            all,
            &filter(Some((TagFamily::Intent, "high".into())), None, false, None)
        )
        .await,
        [e]
    );
    assert!(
        found(
            store,
            all,
            &filter(Some((TagFamily::Intent, "vip".into())), None, false, None)
        )
        .await
        .is_empty()
    );
    assert_eq!(
        found(store, all, &filter(None, Some(d.sara), false, None)).await,
        [a, e]
    );
    assert_eq!(
        found(store, all, &filter(None, None, true, None)).await,
        [c]
    );
    // Parts combine with AND.
    assert_eq!(
        found(store, all, &filter(vip("vip"), Some(d.sara), false, None)).await,
        [a]
    );
    assert_eq!(
        found(store, all, &filter(vip("vip"), None, true, None)).await,
        [c]
    );
    assert_eq!(
        found(store, all, &filter(vip("vip"), None, false, Some("am"))).await,
        [a, c]
    );
    assert_eq!(
        found(store, all, &filter(None, Some(d.sara), false, Some("am"))).await,
        [a, e]
    );
    assert_eq!(
        found(store, all, &filter(None, None, true, Some("am"))).await,
        [c]
    );
    assert!(
        found(store, all, &filter(vip("vip"), Some(d.sara), true, None))
            .await
            .is_empty()
    );
    assert_eq!(
        found(
            store,
            all,
            &filter(vip("vip"), Some(d.omar), false, Some("badr 0002"))
        )
        .await,
        [b]
    );
    assert_eq!(
        found(store, all, &ContactFilter::default()).await,
        [a, b, c, e]
    );
}

pub async fn contact_search_sees_only_the_scope(store: &dyn Store) {
    let d = desks(store).await;
    let moscow = store.create_team("Moscow desk").await.expect("team").id;
    let olga = store
        .create_user(
            &UserDraft {
                email: email("olga@example.com"),
                name: "Olga".into(),
                role: Role::Agent,
                team: Some(moscow),
                password_hash: None,
            },
            now(),
        )
        .await
        .expect("agent")
        .id;
    // Sara's, Omar's, Olga's, the Riyadh desk's unassigned one, and nobody's: all "Amal".
    let ids = [
        assigned(
            store,
            "Amal One",
            "+966500000101",
            Some(d.sara),
            None,
            &["vip"],
        )
        .await,
        assigned(
            store,
            "Amal Two",
            "+966500000102",
            Some(d.omar),
            None,
            &["vip"],
        )
        .await,
        assigned(
            store,
            "Amal Three",
            "+966500000103",
            Some(olga),
            None,
            &["vip"],
        )
        .await,
        assigned(
            store,
            "Amal Four",
            "+966500000104",
            None,
            Some(d.riyadh),
            &["vip"],
        )
        .await,
        assigned(store, "Amal Five", "+966500000105", None, None, &["vip"]).await,
    ];
    let sara = Scope::Agent {
        user: d.sara,
        team: Some(d.riyadh),
    };
    let tagged = ContactFilter {
        tag: Some((TagFamily::Static, "vip".into())),
        ..ContactFilter::default()
    };
    for filter in [words("amal"), tagged.clone(), ContactFilter::default()] {
        assert_eq!(
            found(store, Scope::Everything, &filter).await,
            ids,
            "{filter:?}"
        );
        assert_eq!(
            found(store, sara, &filter).await,
            [ids[0], ids[3]],
            "{filter:?}"
        );
        assert_eq!(
            found(store, Scope::Team(d.riyadh), &filter).await,
            [ids[0], ids[1], ids[3]],
            "{filter:?}"
        );
        assert_eq!(
            found(store, Scope::Team(moscow), &filter).await,
            [ids[2]],
            "{filter:?}"
        );
        let loner = Scope::Agent {
            user: olga,
            team: None,
        };
        assert_eq!(found(store, loner, &filter).await, [ids[2]], "{filter:?}");
    }
    // Asking for another agent's contacts shows only what the scope sees of them: nothing.
    let omars = ContactFilter {
        owner: Some(d.omar),
        ..words("amal")
    };
    assert!(found(store, sara, &omars).await.is_empty());
    let unassigned = ContactFilter {
        unassigned: true,
        ..ContactFilter::default()
    };
    assert_eq!(found(store, sara, &unassigned).await, [ids[3]]);
    assert_eq!(
        found(store, Scope::Everything, &unassigned).await,
        [ids[3], ids[4]]
    );
}

pub async fn contact_search_pages_in_id_order(store: &dyn Store) {
    let mut ids = Vec::new();
    for n in 0..7 {
        let tags: &[&str] = if n % 2 == 0 { &["vip"] } else { &[] };
        ids.push(
            assigned(
                store,
                &format!("Amal {n}"),
                &format!("+96650000020{n}"),
                None,
                None,
                tags,
            )
            .await,
        );
        // Someone in between who does not match.
        create(
            store,
            draft(&format!("Badr {n}"), &[&format!("+96650000030{n}")], &[]),
        )
        .await;
    }
    let vip = ContactFilter {
        tag: Some((TagFamily::Static, "vip".into())),
        ..ContactFilter::default()
    };
    let tagged: Vec<ContactId> = ids.iter().step_by(2).copied().collect();
    for (filter, expected) in [(words("amal"), ids.clone()), (vip, tagged)] {
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let page = store
                .search_contacts(Scope::Everything, &filter, PageRequest { after, limit: 3 })
                .await
                .expect("page");
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|c| c.id));
            pages += 1;
            match page.next {
                Some(next) => {
                    assert_eq!(Some(next), page.items.last().map(|c| c.id.get()));
                    after = Some(next);
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "{filter:?}");
        assert_eq!(pages, expected.len().div_ceil(3), "{filter:?}");
    }
}

fn on_account(
    id: &str,
    contact: &str,
    account: &str,
    channel: Channel,
    text: &str,
    at: &str,
) -> IncomingMessage {
    IncomingMessage {
        external_id: id.to_owned(),
        contact: ContactRef::parse(contact).expect("test contact ref"),
        account: account.to_owned(),
        channel,
        direction: Direction::In,
        text: text.to_owned(),
        at: ts(at),
        provider_id: None,
    }
}

pub async fn messages_are_found_by_their_words_across_accounts(store: &dyn Store) {
    let wa = Channel::WhatsApp;
    let mail = Channel::Email;
    let batch = [
        on_account(
            "m1",
            "+966501234567",
            "wa-1",
            wa,
            "ما هي أسعاركم؟ الشّاي الأخضر",
            "2026-11-20T08:00:00Z",
        ),
        on_account(
            "m2",
            "olga@mail.ru",
            "mail-1",
            mail,
            "Ёлка есть в наличии? Цены?",
            "2026-11-20T08:01:00Z",
        ),
        on_account(
            "m3",
            "+966501234568",
            "wa-2",
            wa,
            "كم السعر؟ Price please",
            "2026-11-20T08:02:00Z",
        ),
        on_account(
            "m4",
            "olga@mail.ru",
            "mail-1",
            mail,
            "PRICES for the елка, please",
            "2026-11-20T08:03:00Z",
        ),
        on_account(
            "m5",
            "+966501234567",
            "wa-1",
            wa,
            "🙂👍",
            "2026-11-20T08:04:00Z",
        ),
    ];
    store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("ingest");
    let id_of = |key: &str| {
        let key = key.to_owned();
        async move {
            let contact = match key.as_str() {
                "m2" | "m4" => "olga@mail.ru",
                "m3" => "+966501234568",
                _ => "+966501234567",
            };
            let handle = match ContactRef::parse(contact).expect("ref") {
                ContactRef::Handle(h) => h,
                ContactRef::Id(_) => unreachable!(),
            };
            let c = store
                .find_contact(&handle)
                .await
                .expect("find")
                .expect("contact");
            store
                .list_messages(c.id, everything())
                .await
                .expect("messages")
                .items
                .into_iter()
                .find(|m| m.external_id == key)
                .map(|m| m.id.get())
                .expect("message")
        }
    };
    let (m1, m2, m3, m4) = (
        id_of("m1").await,
        id_of("m2").await,
        id_of("m3").await,
        id_of("m4").await,
    );
    for (query, expected) in [
        // Arabic: hamza or not, diacritics or not, a prefix of a word.
        ("أسعار", vec![m1]),
        ("اسعار", vec![m1]),
        ("الشاي", vec![m1]),
        ("الشَّاي", vec![m1]),
        ("السعر", vec![m3]),
        ("كم", vec![m3]),
        // Russian: ё and е alike, in either direction.
        ("елка", vec![m4, m2]),
        ("ЁЛКА", vec![m4, m2]),
        ("налич", vec![m2]),
        // English: case, prefixes, every word.
        ("price", vec![m4, m3]),
        ("PRICES", vec![m4]),
        ("pri plea", vec![m4, m3]),
        ("price елк", vec![m4]),
        ("price tea", vec![]),
        ("rice", vec![]),
    ] {
        assert_eq!(said(store, query).await, expected, "{query:?}");
    }
    // One account only.
    let mail_1 = store.get_account("mail-1").await.expect("account").id;
    let wa_2 = store.get_account("wa-2").await.expect("account").id;
    let on = |account| async move {
        store
            .search_messages(Scope::Everything, "price", Some(account), everything())
            .await
            .expect("search")
            .items
            .iter()
            .map(|m| m.id.get())
            .collect::<Vec<_>>()
    };
    assert_eq!(on(mail_1).await, [m4]);
    assert_eq!(on(wa_2).await, [m3]);
    // Found messages are whole: text, account, statuses.
    let page = store
        .search_messages(Scope::Everything, "наличии", None, everything())
        .await
        .expect("search");
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0],
        store.get_message(page.items[0].id).await.expect("message")
    );
    assert_eq!(page.items[0].text, "Ёлка есть в наличии? Цены?");

    // A message that left through the outbox is found like one that arrived.
    let wa_1 = store.get_account("wa-1").await.expect("account").id;
    let amal = store
        .find_contact(&stoke_core::Handle::Phone(super::phone("+966501234567")))
        .await
        .expect("find")
        .expect("contact")
        .id;
    let reply = "الأسعار في المرفق";
    let queued = store
        .enqueue(
            &OutboxDraft {
                key: "reply-1".into(),
                account: wa_1,
                contact: amal,
                purpose: Purpose::Service,
                content: Content::Text(reply.into()),
                not_before: now(),
            },
            now(),
        )
        .await
        .expect("enqueue");
    let outbound = Outbound {
        to: "+966501234567".into(),
        kind: MediaKind::Text,
        text: reply.into(),
        media_url: None,
        content_hash: stoke_core::outbox::content_hash(reply, None),
        last_inbound_at: None,
        template: None,
    };
    assert!(
        store
            .begin_send(queued, &outbound, "node", now())
            .await
            .expect("begin")
    );
    store
        .finish_send(
            queued,
            &SendOutcome::Sent {
                provider_id: "p-reply-1".into(),
            },
            now() + SignedDuration::from_secs(1),
            &rules(),
        )
        .await
        .expect("sent");
    let found = said(store, "المرفق").await;
    assert_eq!(found.len(), 1);
    assert!(found[0] > m4);
    assert_eq!(said(store, "في الاسعار").await, found);
}

pub async fn message_search_pages_newest_first_within_the_scope(store: &dyn Store) {
    let d = desks(store).await;
    let mine = assigned(store, "Mine", "+966500000401", Some(d.sara), None, &[]).await;
    let theirs = assigned(store, "Theirs", "+966500000402", Some(d.omar), None, &[]).await;
    let mut batch = Vec::new();
    for n in 0..8 {
        let contact = if n % 2 == 0 {
            "+966500000401"
        } else {
            "+966500000402"
        };
        let minute = format!("2026-11-20T08:{n:02}:00Z");
        batch.push(message(
            &format!("p{n}"),
            contact,
            Direction::In,
            &format!("discount code {n}"),
            &minute,
        ));
        batch.push(message(
            &format!("q{n}"),
            contact,
            Direction::In,
            "nothing to see",
            &minute,
        ));
    }
    store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("ingest");
    let all = said(store, "discount").await;
    assert_eq!(all.len(), 8);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first: {all:?}");

    let pages = |scope: Scope| async move {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .search_messages(scope, "disc", None, PageRequest { after, limit: 3 })
                .await
                .expect("page");
            assert!(page.items.len() <= 3);
            seen.extend(page.items.iter().map(|m| (m.id.get(), m.contact)));
            match page.next {
                Some(next) => {
                    assert_eq!(Some(next), page.items.last().map(|m| m.id.get()));
                    after = Some(next);
                }
                None => break,
            }
        }
        seen
    };
    let everyone = pages(Scope::Everything).await;
    assert_eq!(everyone.iter().map(|(id, _)| *id).collect::<Vec<_>>(), all);
    let sara = Scope::Agent {
        user: d.sara,
        team: Some(d.riyadh),
    };
    let hers = pages(sara).await;
    assert_eq!(hers.len(), 4);
    assert!(hers.iter().all(|(_, contact)| *contact == mine), "{hers:?}");
    assert!(hers.windows(2).all(|w| w[0].0 > w[1].0));
    let team = pages(Scope::Team(d.riyadh)).await;
    assert_eq!(team, everyone);
    let stranger = store.create_team("Elsewhere").await.expect("team").id;
    assert!(pages(Scope::Team(stranger)).await.is_empty());
    assert!(everyone.iter().any(|(_, c)| *c == theirs));
}

pub async fn message_search_takes_any_text_and_refuses_none(store: &dyn Store) {
    store
        .ingest_messages(
            &[
                message(
                    "h1",
                    "+966501234567",
                    Direction::In,
                    "AND the price OR NOT? (drop)",
                    "2026-11-20T08:00:00Z",
                ),
                message(
                    "h2",
                    "+966501234567",
                    Direction::In,
                    "it's \"quoted\" * starred",
                    "2026-11-20T08:01:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    for query in [
        "\"",
        "*",
        "(",
        ")",
        "'",
        "\\",
        ":*",
        "&",
        "|",
        "!",
        "^",
        "-",
        "كم:*",
        "'; DROP TABLE messages; --",
        "AND OR NOT",
        "NEAR(price drop)",
        "price*",
        "\"price",
        "price OR nothing",
        "price & !drop",
        "price:* | x",
        "col:price",
        "{price}",
        "price AND",
        "OR",
        "'price'",
    ] {
        let result = store
            .search_messages(Scope::Everything, query, None, everything())
            .await;
        assert!(result.is_ok(), "{query:?}: {result:?}");
    }
    // Operators are words like any other, and punctuation is nothing.
    let (h1, h2) = {
        let ids = said(store, "price").await;
        assert_eq!(ids.len(), 1);
        let quoted = said(store, "quoted").await;
        assert_eq!(quoted.len(), 1);
        (ids[0], quoted[0])
    };
    assert_eq!(said(store, "AND OR NOT").await, [h1]);
    assert_eq!(said(store, "'; DROP").await, [h1]);
    assert_eq!(said(store, "(drop)").await, [h1]);
    assert_eq!(said(store, "\"quoted\" *").await, [h2]);
    assert_eq!(said(store, "it's").await, [h2]);
    assert!(said(store, "price OR quoted").await.is_empty());
    assert!(said(store, "\"").await.is_empty());
    assert!(said(store, "كم:*").await.is_empty());
    for empty in ["", "   ", "\t\n"] {
        let result = store
            .search_messages(Scope::Everything, empty, None, everything())
            .await;
        assert!(
            matches!(result, Err(StoreError::Invalid { field: "q", .. })),
            "{empty:?}: {result:?}"
        );
    }
}

pub async fn erased_contacts_messages_are_not_found(store: &dyn Store) {
    store
        .ingest_messages(
            &[
                message(
                    "e1",
                    "+966501234567",
                    Direction::In,
                    "warranty question",
                    "2026-11-20T08:00:00Z",
                ),
                message(
                    "e2",
                    "+966501234568",
                    Direction::In,
                    "warranty too",
                    "2026-11-20T08:01:00Z",
                ),
                message(
                    "e3",
                    "+966501234567",
                    Direction::In,
                    "another warranty",
                    "2026-11-20T08:02:00Z",
                ),
            ],
            now(),
            &rules(),
        )
        .await
        .expect("ingest");
    assert_eq!(said(store, "warranty").await.len(), 3);
    let gone = store
        .find_contact(&stoke_core::Handle::Phone(super::phone("+966501234567")))
        .await
        .expect("find")
        .expect("contact");
    store.erase_contact(gone.id).await.expect("erase");
    let left = store
        .search_messages(Scope::Everything, "warranty", None, everything())
        .await
        .expect("search")
        .items;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].text, "warranty too");
    assert!(said(store, "question").await.is_empty());
    assert!(said(store, "another").await.is_empty());
}

pub async fn settings_are_written_replaced_and_removed(store: &dyn Store) {
    assert_eq!(store.get_setting("playbook").await.expect("get"), None);
    let first = ts("2026-11-20T10:00:00.123Z");
    store
        .put_setting("playbook", "[intent]\nhigh = 1\n", first)
        .await
        .expect("put");
    store
        .put_setting("theme", "dark", first)
        .await
        .expect("put");
    assert_eq!(
        store.get_setting("playbook").await.expect("get"),
        Some(("[intent]\nhigh = 1\n".to_owned(), first))
    );
    let later = first + SignedDuration::from_mins(5);
    let arabic = "كم السعر؟ — «ёлка» 'quoted' \"double\"";
    store
        .put_setting("playbook", arabic, later)
        .await
        .expect("replace");
    assert_eq!(
        store.get_setting("playbook").await.expect("get"),
        Some((arabic.to_owned(), later))
    );
    store.delete_setting("playbook").await.expect("delete");
    assert_eq!(store.get_setting("playbook").await.expect("get"), None);
    // Removing what is not there is not an error; other keys are untouched.
    store
        .delete_setting("playbook")
        .await
        .expect("delete again");
    store
        .delete_setting("never-set")
        .await
        .expect("delete absent");
    assert_eq!(
        store.get_setting("theme").await.expect("get"),
        Some(("dark".to_owned(), first))
    );
    // Keys are exact: no case folding, no prefix.
    assert_eq!(store.get_setting("Theme").await.expect("get"), None);
    assert_eq!(store.get_setting("them").await.expect("get"), None);
}

pub async fn inbox_lists_conversations_newest_first_within_the_scope(store: &dyn Store) {
    let d = desks(store).await;
    let mine = assigned(store, "Mine", "+966500000501", Some(d.sara), None, &["vip"]).await;
    let theirs = assigned(store, "Theirs", "+966500000502", Some(d.omar), None, &[]).await;
    let nobodys = assigned(store, "Nobody's", "+966500000503", None, None, &[]).await;
    // Never written to: not in the inbox.
    assigned(store, "Silent", "+966500000504", Some(d.sara), None, &[]).await;
    let mut on_email = message(
        "e1",
        "+966500000501",
        Direction::Out,
        "Your quote is attached",
        "2026-11-20T08:30:00Z",
    );
    on_email.account = "mail-1".to_owned();
    on_email.channel = Channel::Email;
    let batch = [
        message(
            "m1",
            "+966500000501",
            Direction::In,
            "hello",
            "2026-11-20T08:00:00Z",
        ),
        message(
            "m2",
            "+966500000502",
            Direction::In,
            "how much?",
            "2026-11-20T08:10:00Z",
        ),
        message(
            "m3",
            "+966500000503",
            Direction::In,
            "hi there",
            "2026-11-20T08:20:00Z",
        ),
        message(
            "m4",
            "+966500000501",
            Direction::Out,
            "Welcome!",
            "2026-11-20T08:40:00Z",
        ),
        on_email,
    ];
    store
        .ingest_messages(&batch, now(), &rules())
        .await
        .expect("ingest");
    let lines = |page: &crate::InboxPage| -> Vec<(ContactId, Option<String>)> {
        page.items
            .iter()
            .map(|r| {
                (
                    r.conversation.contact,
                    r.last.as_ref().map(|(_, t)| t.clone()),
                )
            })
            .collect()
    };
    let all = store
        .inbox(Scope::Everything, &crate::InboxFilter::default(), None, 50)
        .await
        .expect("inbox");
    // Newest message first, one line per conversation (contact and account), its latest text.
    assert_eq!(
        lines(&all),
        [
            (mine, Some("Welcome!".to_owned())),
            (mine, Some("Your quote is attached".to_owned())),
            (nobodys, Some("hi there".to_owned())),
            (theirs, Some("how much?".to_owned())),
        ]
    );
    assert_eq!(all.next, None);
    assert_eq!(all.items[0].contact_name, "Mine");
    assert_eq!(all.items[0].contact_owner, Some(d.sara));
    assert_eq!(
        all.items[0].last.as_ref().map(|(d, _)| *d),
        Some(Direction::Out)
    );
    assert_eq!(all.items[1].conversation.channel, Channel::Email);

    // Pages of one follow each other without gaps or repeats.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .inbox(Scope::Everything, &crate::InboxFilter::default(), after, 1)
            .await
            .expect("page");
        assert!(page.items.len() <= 1);
        seen.extend(lines(&page));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, lines(&all));

    // Scopes: an agent sees their own and the team's unassigned (none here is in a team).
    let sara = Scope::Agent {
        user: d.sara,
        team: Some(d.riyadh),
    };
    let hers = store
        .inbox(sara, &crate::InboxFilter::default(), None, 50)
        .await
        .expect("inbox");
    assert!(hers.items.iter().all(|r| r.conversation.contact == mine));
    assert_eq!(hers.items.len(), 2);

    // Filters: account, tag, owner, unassigned.
    let mail = store.get_account("mail-1").await.expect("account").id;
    let filtered = |filter: crate::InboxFilter| async move {
        store
            .inbox(Scope::Everything, &filter, None, 50)
            .await
            .expect("inbox")
            .items
            .iter()
            .map(|r| r.conversation.contact)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        filtered(crate::InboxFilter {
            account: Some(mail),
            ..Default::default()
        })
        .await,
        [mine]
    );
    assert_eq!(
        filtered(crate::InboxFilter {
            tag: Some((TagFamily::Static, "vip".into())),
            ..Default::default()
        })
        .await,
        [mine, mine]
    );
    assert_eq!(
        filtered(crate::InboxFilter {
            tag: Some((TagFamily::Intent, "high".into())),
            ..Default::default()
        })
        .await,
        [theirs]
    );
    assert_eq!(
        filtered(crate::InboxFilter {
            owner: Some(d.omar),
            ..Default::default()
        })
        .await,
        [theirs]
    );
    assert_eq!(
        filtered(crate::InboxFilter {
            unassigned: true,
            ..Default::default()
        })
        .await,
        [nobodys]
    );
}
