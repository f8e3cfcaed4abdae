//! Request throughput of the events ingest endpoint on loopback: a real server on a SQLite store
//! in a temporary directory, `POST /api/v1/events` and `POST /api/v1/messages` with batches of
//! 1,000 items from four concurrent clients, as an integration would push them. Each item goes
//! through the same parser, engine and store as `stoke import`.
//!
//! `cargo bench -p stoke-server --bench api_ingest`

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use stoke_core::Role;
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_server::AccessSettings;
use stoke_server::auth::{hash_token, new_token};
use stoke_server::scheduler::LiveRules;
use stoke_store::Store;
use stoke_store_sqlite::SqliteStore;

const CONTACTS: usize = 10_000;
const BATCH: usize = 1_000;
const BATCHES: usize = 100;
const CLIENTS: usize = 4;

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
    let token = new_token().expect("rng");
    store
        .create_api_token(
            "bench",
            Role::Admin,
            None,
            &hash_token(&token),
            Timestamp::now(),
        )
        .await
        .expect("token");
    let rules = Arc::new(LiveRules::new(Arc::new(
        Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = store.clone();
    tokio::spawn(async move {
        stoke_server::serve(
            listener,
            served,
            rules,
            AccessSettings::default(),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });

    let start: Timestamp = "2026-11-01T08:00:00Z".parse().expect("time");
    let phone = |i: usize| format!("+9665{:08}", i % CONTACTS);
    let events: Vec<String> = (0..BATCHES)
        .map(|b| {
            let items: Vec<serde_json::Value> = (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    let at = start + jiff::SignedDuration::from_secs(n as i64);
                    if n.is_multiple_of(4) {
                        serde_json::json!({"id": format!("o{n}"), "type": "order", "contact": phone(n),
                            "at": at.to_string(), "order_id": format!("A{n}"), "amount": "120.00", "currency": "SAR"})
                    } else {
                        serde_json::json!({"id": format!("c{n}"), "type": "click", "contact": phone(n),
                            "at": at.to_string(), "url": "https://shop.example/p/1", "campaign": "autumn"})
                    }
                })
                .collect();
            serde_json::to_string(&items).expect("json")
        })
        .collect();
    let texts = [
        "السلام عليكم، بكم هذا؟",
        "Сколько стоит доставка?",
        "Is there a discount this week?",
        "شكرا",
    ];
    let messages: Vec<String> = (0..BATCHES)
        .map(|b| {
            let items: Vec<serde_json::Value> = (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    let at = start + jiff::SignedDuration::from_secs(n as i64);
                    serde_json::json!({"id": format!("m{n}"), "contact": phone(n), "direction": "in",
                        "channel": "whatsapp", "text": texts[n % texts.len()], "at": at.to_string()})
                })
                .collect();
            serde_json::to_string(&items).expect("json")
        })
        .collect();

    let client = reqwest::Client::new();
    for (what, path, bodies) in [
        ("messages", "/api/v1/messages", messages),
        ("events", "/api/v1/events", events),
    ] {
        let bodies = Arc::new(bodies);
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..CLIENTS {
            let (client, bodies, url, token) = (
                client.clone(),
                bodies.clone(),
                format!("{base}{path}"),
                token.clone(),
            );
            workers.push(tokio::spawn(async move {
                for body in bodies.iter().skip(w).step_by(CLIENTS) {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(
                        response.status(),
                        200,
                        "{}",
                        response.text().await.unwrap_or_default()
                    );
                }
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
        let seconds = started.elapsed().as_secs_f64();
        let items = BATCHES * BATCH;
        println!(
            "api ingest {what}: {:.0} items/s ({items} items in {BATCHES} requests of {BATCH}, {CLIENTS} clients, {seconds:.2} s; {:.1} requests/s)",
            items as f64 / seconds,
            BATCHES as f64 / seconds
        );
    }
}
