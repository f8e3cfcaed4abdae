//! The dispatcher's own cost per message, with pacing out of the way: a 10,000-recipient
//! broadcast on an account allowed a million messages a minute, sent through a provider that
//! answers at once, on a SQLite store in a temporary directory. What is left is the work the
//! dispatcher does around each send: reading due messages with their contacts and states,
//! rendering, weighing, `begin_send`, `finish_send` (the business message through the engine)
//! and the pacing arithmetic.
//!
//! `cargo bench -p stoke-server --bench dispatch`

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use stoke_core::engine::Rules;
use stoke_core::outbox::BroadcastStatus;
use stoke_core::pacing::AccountLimits;
use stoke_core::playbook::Playbook;
use stoke_core::{Account, AccountDraft, Channel, ContactDraft, ContactId, Phone, TimeZoneName};
use stoke_server::channel::{Accepted, Provider, Refused};
use stoke_server::dispatch::{AccountDispatcher, DispatchSettings, Wake};
use stoke_server::scheduler::LiveRules;
use stoke_store::outbox::{BroadcastDraft, Content, Outbound};
use stoke_store::{PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

#[derive(Debug)]
struct Instant0;

#[async_trait]
impl Provider for Instant0 {
    async fn send(&self, _: &Account, key: &str, _: &Outbound) -> Result<Accepted, Refused> {
        Ok(Accepted {
            provider_id: format!("bench-{key}"),
        })
    }
}

const RECIPIENTS: usize = 10_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let playbook = Playbook::default_playbook().expect("playbook");
    let live = Arc::new(LiveRules::new(Arc::new(
        Rules::new(playbook).expect("rules"),
    )));
    // Noon in Riyadh: no quiet hours in the way.
    let now: Timestamp = "2026-11-23T09:00:00Z".parse().expect("time");
    let zone = TimeZoneName::parse("Asia/Riyadh").expect("zone");
    let drafts: Vec<ContactDraft> = (0..RECIPIENTS)
        .map(|i| ContactDraft {
            name: Some(format!("Customer {i}")),
            phones: vec![
                Phone::parse(&format!("+96650{:07}", 1_000_000 + i), None).expect("phone"),
            ],
            time_zone: Some(zone.clone()),
            ..ContactDraft::default()
        })
        .collect();
    for chunk in drafts.chunks(1000) {
        store.import_contacts(chunk, now).await.expect("contacts");
    }
    let mut ids = Vec::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = store.contact_ids(page).await.expect("ids");
        ids.extend(p.items);
        match p.next {
            Some(n) => page.after = Some(n),
            None => break,
        }
    }
    let account = store
        .create_account(
            &AccountDraft {
                name: "bench".into(),
                channel: Channel::Simulator,
                address: None,
                limits: AccountLimits {
                    per_minute: Some(1_000_000),
                    per_hour: Some(u32::MAX),
                    warmup: Some(false),
                },
            },
            now,
        )
        .await
        .expect("account");
    let recipients: Vec<ContactId> = ids;
    let b = store
        .create_broadcast(
            &BroadcastDraft {
                name: "bench".into(),
                audience: "all".into(),
                account: account.id,
                content: Content::Text("Hello {{ first_name }}, the sale starts today".into()),
                not_before: now,
                golden_window: false,
                ignore_quiet_hours: false,
                created_by: None,
                daily_limit: u64::MAX,
            },
            &recipients,
            now,
        )
        .await
        .expect("broadcast");
    store
        .set_broadcast_status(b.id, BroadcastStatus::Running, now)
        .await
        .expect("start");
    let settings = DispatchSettings {
        node: "bench".into(),
        lease: Duration::from_secs(86_400),
        poll: Duration::from_secs(3600),
    };
    let (mut d, _) = AccountDispatcher::claim(
        store.clone(),
        live,
        Arc::new(Instant0),
        account,
        settings,
        now,
    )
    .await
    .expect("claim")
    .expect("free");
    let started = Instant::now();
    let mut clock = now;
    while d.sent < RECIPIENTS as u64 {
        match d.step(clock).await.expect("step") {
            // The clock moves on by the pacing's tiny gap; nothing real waits.
            Wake::At(t) => clock = t.max(clock + SignedDuration::from_micros(1)),
            Wake::Lost => panic!("lease lost"),
        }
    }
    let took = started.elapsed();
    println!(
        "dispatch: {:.0} us per message ({} messages, pacing off, SQLite, instant provider; {:.1} s)",
        took.as_secs_f64() * 1e6 / d.sent as f64,
        d.sent,
        took.as_secs_f64()
    );
}
