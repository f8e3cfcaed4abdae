//! Delivery throughput of `POST /webhooks/whatsapp` on loopback: a real server on a SQLite store
//! in a temporary directory, signed deliveries of one text message each (Meta sends most
//! messages one to a delivery) from several concurrent clients, over 1,000 customers. Each goes
//! through the signature check, the mapping, `inbound::receive` and the engine.
//!
//! `cargo bench -p stoke-server --bench whatsapp_webhook`

use std::sync::Arc;
use std::time::Instant;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_server::AccessSettings;
use stoke_server::scheduler::LiveRules;
use stoke_server::secrets::WorkspaceKey;
use stoke_server::whatsapp::{self, WhatsAppSettings};
use stoke_store::Store;
use stoke_store_sqlite::SqliteStore;

const CUSTOMERS: usize = 1_000;
const DELIVERIES: usize = 4_000;
const CLIENTS: usize = 8;
const SECRET: &str = "bench-app-secret";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

fn delivery(n: usize) -> String {
    let wa = format!("9665{:08}", 10_000_000 + n % CUSTOMERS);
    let texts = [
        "How much is the grey sofa?",
        "Сколько стоит доставка?",
        "كم سعر الكنبة الرمادية؟",
        "Thanks, I will think about it",
    ];
    serde_json::json!({"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "messaging_product":"whatsapp",
        "metadata":{"display_phone_number":"15550001111","phone_number_id":"123456789012345"},
        "contacts":[{"profile":{"name":format!("Customer {}", n % CUSTOMERS)},"wa_id":wa}],
        "messages":[{"from":wa,"id":format!("wamid.BENCH{n}"),"timestamp":Timestamp::now().as_second().to_string(),
            "type":"text","text":{"body":texts[n % texts.len()]}}]}}]}]})
    .to_string()
}

fn sign(body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

async fn run() {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let key = WorkspaceKey::generate().expect("key");
    whatsapp::configure(
        store.as_ref(),
        &key,
        "wa-main",
        WhatsAppSettings {
            phone_number_id: "123456789012345".into(),
            app_secret: Some(SECRET.into()),
            ..Default::default()
        },
        "bench",
        Timestamp::now(),
    )
    .await
    .expect("account");
    let rules = Arc::new(LiveRules::new(Arc::new(
        Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"),
    )));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/webhooks/whatsapp",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move {
        stoke_server::serve_with_key(
            listener,
            store,
            rules,
            AccessSettings::default(),
            Some(key),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });
    let bodies: Vec<(String, String)> = (0..DELIVERIES)
        .map(|n| {
            let body = delivery(n);
            let signature = sign(&body);
            (body, signature)
        })
        .collect();
    let bodies = Arc::new(bodies);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (client, url, bodies) = (client.clone(), url.clone(), bodies.clone());
        clients.push(tokio::spawn(async move {
            for (body, signature) in bodies.iter().skip(c).step_by(CLIENTS) {
                let status = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body.clone())
                    .send()
                    .await
                    .expect("post")
                    .status();
                assert_eq!(status, 200);
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    let elapsed = started.elapsed();
    println!(
        "whatsapp webhook: {DELIVERIES} signed deliveries ({CUSTOMERS} customers, {CLIENTS} clients) in {:.2} s: {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        DELIVERIES as f64 / elapsed.as_secs_f64()
    );
}
