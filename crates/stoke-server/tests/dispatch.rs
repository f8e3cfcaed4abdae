//! The dispatcher on a real SQLite store, driven by a clock of the test's own: pacing, warm-up,
//! quiet hours per time zone, failures and their recovery, opt-outs and their confirmation.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use stoke_core::engine::Rules;
use stoke_core::outbox::{BroadcastStatus, FailureClass, OutboxStatus};
use stoke_core::pacing::AccountLimits;
use stoke_core::playbook::Playbook;
use stoke_core::{
    Account, AccountDraft, Channel, ContactDraft, ContactId, ContactRef, Direction, Language,
    Phone, TimeZoneName,
};
use stoke_server::channel::{Accepted, Provider, Refused};
use stoke_server::dispatch::{AccountDispatcher, Wake};
use stoke_server::scheduler::LiveRules;
use stoke_store::outbox::{Content, Outbound};
use stoke_store::{IncomingMessage, PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

/// A provider that records what it was given and fails as told.
#[derive(Debug, Default)]
struct Recorder {
    sent: Mutex<Vec<(String, String, String)>>,
    /// Numbers that do not exist.
    invalid: Vec<String>,
    /// Keys that fail once with a transient error.
    flaky: Mutex<Vec<String>>,
    /// How many sends to refuse as rate limited (the platform's "slow down").
    rate_limited: Mutex<u32>,
}

#[async_trait]
impl Provider for Recorder {
    async fn send(&self, account: &Account, key: &str, m: &Outbound) -> Result<Accepted, Refused> {
        if self.invalid.contains(&m.to) {
            return Err(Refused {
                class: FailureClass::InvalidNumber,
                detail: "131026 message undeliverable".into(),
            });
        }
        {
            let mut limited = self.rate_limited.lock().expect("lock");
            if *limited > 0 {
                *limited -= 1;
                return Err(Refused {
                    class: FailureClass::RateLimited,
                    detail: "130429 rate limit hit".into(),
                });
            }
        }
        {
            let mut flaky = self.flaky.lock().expect("lock");
            if let Some(i) = flaky.iter().position(|k| k == key) {
                flaky.remove(i);
                return Err(Refused {
                    class: FailureClass::Transient,
                    detail: "connection reset".into(),
                });
            }
        }
        let mut sent = self.sent.lock().expect("lock");
        sent.push((account.name.clone(), m.to.clone(), m.text.clone()));
        Ok(Accepted {
            provider_id: format!("p-{}", sent.len()),
        })
    }
}

/// A provider during whose call for one message that message's contact is erased (an admin's
/// request on another node, say); it then answers as its `Recorder` does.
#[derive(Debug)]
struct ErasingDuringSend {
    store: Arc<dyn Store>,
    key: String,
    contact: ContactId,
    then: Recorder,
}

#[async_trait]
impl Provider for ErasingDuringSend {
    async fn send(&self, account: &Account, key: &str, m: &Outbound) -> Result<Accepted, Refused> {
        if key == self.key {
            self.store
                .erase_contact(self.contact)
                .await
                .expect("erase during the send");
        }
        self.then.send(account, key, m).await
    }
}

struct World {
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    _dir: tempfile::TempDir,
}

fn at(s: &str) -> Timestamp {
    s.parse().expect("time")
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let rules = Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules");
    World {
        store,
        live: Arc::new(LiveRules::new(Arc::new(rules))),
        _dir: dir,
    }
}

/// A number that is already established: no warm-up.
fn established() -> AccountLimits {
    AccountLimits {
        warmup: Some(false),
        ..AccountLimits::default()
    }
}

const ZONES: [&str; 4] = [
    "Asia/Riyadh",
    "Europe/Moscow",
    "America/New_York",
    "Asia/Tokyo",
];

async fn people(store: &dyn Store, n: usize, created: Timestamp) -> Vec<ContactId> {
    people_in(store, n, created, &ZONES).await
}

async fn people_in(
    store: &dyn Store,
    n: usize,
    created: Timestamp,
    zones: &[&str],
) -> Vec<ContactId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let draft = ContactDraft {
            name: Some(format!("Customer {i}")),
            phones: vec![
                Phone::parse(&format!("+96650{:07}", 1_000_000 + i), None).expect("phone"),
            ],
            time_zone: Some(TimeZoneName::parse(zones[i % zones.len()]).expect("zone")),
            language: Some(Language::parse(["ar", "ru", "en"][i % 3]).expect("lang")),
            ..ContactDraft::default()
        };
        ids.push(
            store
                .create_contact(&draft, created)
                .await
                .expect("contact")
                .id,
        );
    }
    ids
}

async fn account(
    store: &dyn Store,
    name: &str,
    limits: AccountLimits,
    created: Timestamp,
) -> Account {
    store
        .create_account(
            &AccountDraft {
                name: name.into(),
                channel: Channel::Simulator,
                address: None,
                limits,
            },
            created,
        )
        .await
        .expect("account")
}

async fn broadcast(
    store: &dyn Store,
    account: &Account,
    text: &str,
    to: &[ContactId],
    now: Timestamp,
) -> i64 {
    common::running_broadcast(
        store,
        account.id,
        Content::Text(text.into()),
        to,
        false,
        now,
    )
    .await
}

async fn dispatcher(
    w: &World,
    account: &Account,
    provider: Arc<dyn Provider>,
    now: Timestamp,
) -> AccountDispatcher {
    common::claimed_dispatcher(
        w.store.clone(),
        w.live.clone(),
        provider,
        account.clone(),
        now,
        42,
    )
    .await
}

/// Steps the dispatcher on the test's clock until `end` or until nothing is left to send.
async fn drive(
    w: &World,
    d: &mut AccountDispatcher,
    broadcast: i64,
    from: Timestamp,
    end: Timestamp,
) -> Timestamp {
    let mut now = from;
    let mut steps = 0u32;
    loop {
        steps += 1;
        assert!(
            steps < 20_000,
            "no progress at {now}: sent {} deferred {} skipped {}",
            d.sent,
            d.deferred,
            d.skipped
        );
        match d.step(now).await.expect("step") {
            Wake::At(t) => now = t.max(now),
            Wake::Lost => panic!("lease lost"),
        }
        if now > end {
            return now;
        }
        let report = w.store.get_broadcast(broadcast, now).await.expect("report");
        if report.broadcast.status == BroadcastStatus::Completed {
            return now;
        }
    }
}

fn max_in(sends: &[Timestamp], span: SignedDuration) -> usize {
    (0..sends.len())
        .map(|i| {
            sends[i..]
                .iter()
                .take_while(|t| **t < sends[i] + span)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn a_new_account_warms_up_and_quiet_hours_hold_in_each_zone() {
    let w = world().await;
    let start = at("2026-11-23T00:00:00Z");
    let to = people(w.store.as_ref(), 160, start).await;
    let a = account(
        w.store.as_ref(),
        "new-number",
        AccountLimits::default(),
        start,
    )
    .await;
    let id = broadcast(w.store.as_ref(), &a, "Hello {{ first_name }}", &to, start).await;
    let provider = Arc::new(Recorder::default());
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    drive(
        &w,
        &mut d,
        id,
        start,
        start + SignedDuration::from_hours(24 * 4),
    )
    .await;

    let sends = w
        .store
        .account_sends(a.id, start - SignedDuration::from_mins(1))
        .await
        .expect("sends");
    assert_eq!(sends.len(), 160, "everyone is reached in the end");
    // Warm-up: at most 50 in any 24 hours during the first three days.
    let warm: Vec<Timestamp> = sends
        .iter()
        .copied()
        .filter(|t| *t < start + SignedDuration::from_hours(72))
        .collect();
    assert!(
        max_in(&warm, SignedDuration::from_hours(24)) <= 50,
        "{}",
        max_in(&warm, SignedDuration::from_hours(24))
    );
    assert!(
        warm.len() >= 140,
        "three days of warm-up send 150: {}",
        warm.len()
    );
    assert!(max_in(&sends, SignedDuration::from_mins(1)) <= 12);
    assert!(max_in(&sends, SignedDuration::from_hours(1)) <= 200);
    // Quiet hours: every message reached its contact between 08:00 and 22:00 their time.
    let entries = w
        .store
        .list_outbox(Some(id), PageRequest::first(1000))
        .await
        .expect("entries");
    for e in &entries.items {
        let contact = w.store.get_contact(e.contact).await.expect("contact");
        let zone = contact.time_zone.as_ref().expect("zone").zone();
        let local = e.sent_at.expect("sent").to_zoned_datetime(zone).time();
        assert!(
            local >= "08:00".parse().expect("t") && local < "22:00".parse().expect("t"),
            "{} got it at {local} local",
            e.contact
        );
        assert_eq!(e.status, OutboxStatus::Sent);
        assert!(
            e.text
                .as_deref()
                .unwrap_or("")
                .starts_with("Hello Customer")
        );
    }
    assert_eq!(provider.sent.lock().expect("lock").len(), 160);
    let report = w
        .store
        .get_broadcast(id, start + SignedDuration::from_hours(96))
        .await
        .expect("report");
    assert_eq!(report.broadcast.status, BroadcastStatus::Completed);
}

#[tokio::test]
async fn an_established_account_keeps_its_own_pace_and_hourly_limit() {
    let w = world().await;
    // Noon in Riyadh and Moscow, early morning in New York, evening in Tokyo: only some zones
    // are open; the rest wait for their morning.
    let start = at("2026-11-23T09:00:00Z");
    let to = people(w.store.as_ref(), 600, start).await;
    let limits = AccountLimits {
        per_minute: Some(20),
        per_hour: Some(150),
        warmup: Some(false),
    };
    let a = account(w.store.as_ref(), "old-number", limits, start).await;
    let id = broadcast(w.store.as_ref(), &a, "Offer", &to, start).await;
    let mut d = dispatcher(&w, &a, Arc::new(Recorder::default()), start).await;
    drive(
        &w,
        &mut d,
        id,
        start,
        start + SignedDuration::from_hours(48),
    )
    .await;
    let sends = w
        .store
        .account_sends(a.id, start - SignedDuration::from_mins(1))
        .await
        .expect("sends");
    assert_eq!(sends.len(), 600);
    assert!(max_in(&sends, SignedDuration::from_mins(1)) <= 20);
    assert!(max_in(&sends, SignedDuration::from_hours(1)) <= 150);
    assert!(
        max_in(&sends, SignedDuration::from_hours(1)) >= 140,
        "it does use its hour"
    );
    for w2 in sends.windows(2) {
        assert!(
            w2[1] - w2[0] >= SignedDuration::from_secs(3),
            "the gap follows the pace"
        );
    }
}

#[tokio::test]
async fn failures_are_retried_by_class_and_invalid_numbers_flagged() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 4, start, &["Asia/Riyadh"]).await;
    let bad = w.store.get_contact(to[1]).await.expect("contact").phones[0]
        .as_str()
        .to_owned();
    let a = account(w.store.as_ref(), "wa", established(), start).await;
    let id = broadcast(w.store.as_ref(), &a, "Offer", &to, start).await;
    let provider = Arc::new(Recorder {
        invalid: vec![bad],
        flaky: Mutex::new(vec![format!("broadcast-{id}-contact-{}", to[2])]),
        ..Recorder::default()
    });
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    drive(&w, &mut d, id, start, start + SignedDuration::from_hours(2)).await;
    let entries = w
        .store
        .list_outbox(Some(id), PageRequest::first(10))
        .await
        .expect("entries");
    let of = |c: ContactId| {
        entries
            .items
            .iter()
            .find(|e| e.contact == c)
            .expect("entry")
    };
    assert_eq!(of(to[1]).status, OutboxStatus::Failed);
    assert!(
        of(to[1])
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("invalid_number")
    );
    assert_eq!(
        (of(to[2]).status, of(to[2]).attempts),
        (OutboxStatus::Sent, 2),
        "retried soon"
    );
    assert_eq!(provider.sent.lock().expect("lock").len(), 3);
    // The flagged number is skipped by the next broadcast, without a call to the provider.
    let next = broadcast(
        w.store.as_ref(),
        &a,
        "Second offer",
        &to[1..2],
        start + SignedDuration::from_hours(3),
    )
    .await;
    drive(
        &w,
        &mut d,
        next,
        start + SignedDuration::from_hours(3),
        start + SignedDuration::from_hours(4),
    )
    .await;
    let entries = w
        .store
        .list_outbox(Some(next), PageRequest::first(10))
        .await
        .expect("entries");
    assert_eq!(entries.items[0].status, OutboxStatus::Skipped);
    assert_eq!(provider.sent.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_stop_opts_out_at_once_is_confirmed_once_and_no_promotion_follows() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 2, start, &["Asia/Riyadh"]).await;
    let a = account(w.store.as_ref(), "wa", established(), start).await;
    let rules = w.live.get();
    let stop = |id: &str, text: &str, minutes: i64| IncomingMessage {
        external_id: id.into(),
        contact: ContactRef::Id(to[0]),
        account: "wa".into(),
        channel: Channel::Simulator,
        direction: Direction::In,
        text: text.into(),
        at: start + SignedDuration::from_mins(minutes),
        provider_id: None,
    };
    stoke_server::inbound::receive(
        w.store.as_ref(),
        &rules,
        &[stop("in-1", "إيقاف", 1)],
        start + SignedDuration::from_mins(1),
    )
    .await
    .expect("receive");
    // A second STOP is stored, not confirmed again.
    stoke_server::inbound::receive(
        w.store.as_ref(),
        &rules,
        &[stop("in-2", "STOP", 2)],
        start + SignedDuration::from_mins(2),
    )
    .await
    .expect("receive");
    let id = broadcast(
        w.store.as_ref(),
        &a,
        "Big sale",
        &to,
        start + SignedDuration::from_mins(3),
    )
    .await;
    let provider = Arc::new(Recorder::default());
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    drive(
        &w,
        &mut d,
        id,
        start + SignedDuration::from_mins(3),
        start + SignedDuration::from_hours(1),
    )
    .await;
    let sent = provider.sent.lock().expect("lock").clone();
    let to_first: Vec<_> = sent.iter().filter(|s| s.1 == "+966501000000").collect();
    assert_eq!(to_first.len(), 1, "{sent:?}");
    assert!(
        to_first[0].2.contains("إيقاف"),
        "the confirmation, in Arabic: {:?}",
        to_first[0].2
    );
    let entries = w
        .store
        .list_outbox(Some(id), PageRequest::first(10))
        .await
        .expect("entries");
    let first = entries
        .items
        .iter()
        .find(|e| e.contact == to[0])
        .expect("entry");
    assert_eq!(
        (first.status, first.reason.as_deref()),
        (OutboxStatus::Skipped, Some("opted out"))
    );
}

#[tokio::test]
async fn identical_content_waits_fifteen_seconds_between_accounts() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 4, start, &["Europe/Moscow"]).await;
    let a = account(w.store.as_ref(), "wa-1", established(), start).await;
    let b = account(w.store.as_ref(), "wa-2", established(), start).await;
    let ba = broadcast(w.store.as_ref(), &a, "Same words", &to[..2], start).await;
    let bb = broadcast(w.store.as_ref(), &b, "Same words", &to[2..], start).await;
    let provider = Arc::new(Recorder::default());
    let mut da = dispatcher(&w, &a, provider.clone(), start).await;
    let mut db = dispatcher(&w, &b, provider.clone(), start).await;
    // Both accounts step on one clock, in turn.
    let (mut na, mut nb) = (start, start);
    for _ in 0..200 {
        let now = na.min(nb);
        if now == na {
            if let Wake::At(t) = da.step(now).await.expect("step") {
                na = t.max(now + SignedDuration::from_millis(1));
            }
        } else if let Wake::At(t) = db.step(now).await.expect("step") {
            nb = t.max(now + SignedDuration::from_millis(1));
        }
        let done = |r: stoke_store::outbox::BroadcastReport| {
            r.broadcast.status == BroadcastStatus::Completed
        };
        if done(w.store.get_broadcast(ba, now).await.expect("a"))
            && done(w.store.get_broadcast(bb, now).await.expect("b"))
        {
            break;
        }
    }
    let mut all: Vec<(Timestamp, i64)> = Vec::new();
    for acc in [&a, &b] {
        for t in w
            .store
            .account_sends(acc.id, start - SignedDuration::from_mins(1))
            .await
            .expect("sends")
        {
            all.push((t, acc.id.get()));
        }
    }
    all.sort();
    assert_eq!(all.len(), 4);
    for pair in all.windows(2) {
        if pair[0].1 != pair[1].1 {
            assert!(
                pair[1].0 - pair[0].0 >= SignedDuration::from_secs(15),
                "{all:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_message_that_cannot_be_written_is_skipped_with_the_reason() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 1, start, &["Asia/Riyadh"]).await;
    let a = account(w.store.as_ref(), "wa", established(), start).await;
    // The contact has no city and the text no fallback for it.
    let id = broadcast(w.store.as_ref(), &a, "See you in {{ city }}", &to, start).await;
    let provider = Arc::new(Recorder::default());
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    drive(&w, &mut d, id, start, start + SignedDuration::from_hours(1)).await;
    let entries = w
        .store
        .list_outbox(Some(id), PageRequest::first(10))
        .await
        .expect("entries");
    assert_eq!(entries.items[0].status, OutboxStatus::Skipped);
    let reason = entries.items[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("city"), "{reason}");
    assert!(provider.sent.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_rate_limited_account_pauses_and_its_message_goes_after_the_pause() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 3, start, &["Asia/Riyadh"]).await;
    let a = account(w.store.as_ref(), "wa", established(), start).await;
    let id = broadcast(w.store.as_ref(), &a, "Offer", &to, start).await;
    let provider = Arc::new(Recorder {
        rate_limited: Mutex::new(1),
        ..Recorder::default()
    });
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    // The first send is refused: the account stops for the playbook's rate_limit_pause.
    let wake = d.step(start).await.expect("step");
    let paused = w.store.get_account("wa").await.expect("account");
    let pause = SignedDuration::from_mins(15);
    assert_eq!(paused.paused_until, Some(start + pause));
    assert!(
        paused
            .pause_reason
            .as_deref()
            .unwrap_or("")
            .starts_with("rate_limited"),
        "{paused:?}"
    );
    assert!(matches!(wake, Wake::At(_)), "{wake:?}");
    drive(&w, &mut d, id, start, start + SignedDuration::from_hours(2)).await;
    let sends: Vec<Timestamp> = w
        .store
        .list_outbox(Some(id), PageRequest::first(10))
        .await
        .expect("entries")
        .items
        .iter()
        .filter(|e| e.status == OutboxStatus::Sent)
        .filter_map(|e| e.sent_at)
        .collect();
    assert_eq!(sends.len(), 3, "everyone is reached once the pause is over");
    assert!(
        sends.iter().all(|t| *t >= start + pause),
        "nothing leaves during the pause: {sends:?}"
    );
    assert_eq!(provider.sent.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn a_contact_erased_while_its_message_is_sent_is_skipped_and_the_rest_go() {
    let w = world().await;
    let start = at("2026-11-23T09:00:00Z");
    let to = people_in(w.store.as_ref(), 3, start, &["Asia/Riyadh"]).await;
    let a = account(w.store.as_ref(), "wa", established(), start).await;
    let id = broadcast(w.store.as_ref(), &a, "Offer", &to, start).await;
    // The first in line: the provider has its message (`begin_send` wrote it `Sending`) when
    // the contact is erased, and accepts it.
    let erased = to[0];
    let provider = Arc::new(ErasingDuringSend {
        store: w.store.clone(),
        key: format!("broadcast-{id}-contact-{erased}"),
        contact: erased,
        then: Recorder::default(),
    });
    let mut d = dispatcher(&w, &a, provider.clone(), start).await;
    // The step that sends it does not fail...
    assert!(matches!(d.step(start).await.expect("step"), Wake::At(_)));
    assert!(w.store.get_contact(erased).await.is_err(), "erased");
    // ...and the others go after it.
    drive(&w, &mut d, id, start, start + SignedDuration::from_hours(1)).await;
    assert_eq!(provider.then.sent.lock().expect("lock").len(), 3);
    assert_eq!(d.sent, 3);
    let entries = w
        .store
        .list_outbox(Some(id), PageRequest::first(10))
        .await
        .expect("entries")
        .items;
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.contact, e.status))
            .collect::<Vec<_>>(),
        vec![(to[1], OutboxStatus::Sent), (to[2], OutboxStatus::Sent)]
    );
    let report = w.store.get_broadcast(id, start).await.expect("report");
    assert_eq!(report.broadcast.status, BroadcastStatus::Completed);
    // Nothing about the erased contact was written back: no business message, no contact.
    let counts = w.store.counts().await.expect("counts");
    assert_eq!((counts.contacts, counts.messages), (2, 2));
}
