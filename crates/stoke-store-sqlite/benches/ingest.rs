//! The incremental update as a live system meets it: one inbound message in, its contact's tags
//! persisted, on a real SQLite file. Run with `cargo bench -p stoke-store-sqlite --bench ingest`.

use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_core::{Channel, ContactRef, Direction};
use stoke_store::{IncomingMessage, Store};
use stoke_store_sqlite::SqliteStore;

const TEXTS: [&str; 6] = [
    "how much is it?",
    "بكم هذا؟",
    "сколько стоит доставка",
    "thanks 👍",
    "what is the warranty",
    "не интересно",
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("{e}"),
    };
    let store = match SqliteStore::open(&dir.path().join("stoke.db")) {
        Ok(s) => s,
        Err(e) => return eprintln!("{e}"),
    };
    let rules = match Playbook::default_playbook()
        .map_err(|e| format!("{e:?}"))
        .and_then(|p| Rules::new(p).map_err(|e| e.to_string()))
    {
        Ok(r) => Arc::new(r),
        Err(e) => return eprintln!("{e}"),
    };
    let start: Timestamp = "2026-11-01T00:00:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let contacts = 2_000;
    let rounds = 5;
    let mut latencies = Vec::with_capacity(contacts * rounds);
    for round in 0..rounds {
        for c in 0..contacts {
            let at = start + SignedDuration::from_mins((round * contacts + c) as i64);
            let message = IncomingMessage {
                external_id: format!("b{round}-{c}"),
                contact: match ContactRef::parse(&format!("+9665{:08}", 10_000_000 + c)) {
                    Ok(r) => r,
                    Err(e) => return eprintln!("{e}"),
                },
                account: "wa-bench".into(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: TEXTS[(round + c) % TEXTS.len()].into(),
                at,
                provider_id: None,
            };
            let t0 = Instant::now();
            if let Err(e) = store.ingest_messages(&[message], at, &rules).await {
                return eprintln!("{e}");
            }
            latencies.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let median = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    println!(
        "incremental update (one inbound message to tags persisted, SQLite): median {median:.2} ms, p99 {p99:.2} ms over {} messages",
        latencies.len()
    );
}
