//! The WhatsApp Cloud API webhook on a real server on loopback with a real SQLite store, fed
//! with Stoke's own payloads in Meta's documented shape (`tests/whatsapp/`), and one real
//! signed delivery (`signed_capture.json`, pywa's test vector; its app secret was reset
//! upstream).

use std::sync::Arc;

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;
use stoke_core::engine::Rules;
use stoke_core::outbox::{OutboxStatus, Purpose};
use stoke_core::playbook::Playbook;
use stoke_core::template::MediaKind;
use stoke_core::{ConsentStatus, Contact, ContactRef};
use stoke_server::AccessSettings;
use stoke_server::scheduler::LiveRules;
use stoke_server::secrets::WorkspaceKey;
use stoke_server::whatsapp::{self, WhatsAppSettings};
use stoke_store::outbox::{Content, Outbound, OutboxDraft, SendOutcome};
use stoke_store::{PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

const PHONE_NUMBER_ID: &str = "123456789012345";
const APP_SECRET: &str = "stoke-test-app-secret";
const VERIFY_TOKEN: &str = "stoke-verify-token";
const CUSTOMER: &str = "+966501234567";

struct App {
    base: String,
    store: Arc<dyn Store>,
    rules: Arc<Rules>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn corpus(name: &str) -> String {
    let path = format!("{}/tests/whatsapp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn capture() -> serde_json::Value {
    serde_json::from_str(&corpus("signed_capture.json")).expect("capture")
}

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let key = WorkspaceKey::generate().expect("key");
    let now = Timestamp::now();
    whatsapp::configure(
        store.as_ref(),
        &key,
        "wa-main",
        WhatsAppSettings {
            phone_number_id: PHONE_NUMBER_ID.into(),
            access_token: Some("EAAG-test".into()),
            app_secret: Some(APP_SECRET.into()),
            verify_token: Some(VERIFY_TOKEN.into()),
            ..Default::default()
        },
        "test",
        now,
    )
    .await
    .expect("account");
    // Configured again with the same settings (a restart): nothing written, nothing recorded.
    let audited = || async {
        store
            .list_audit(stoke_store::PageRequest::first(100))
            .await
            .expect("audit")
            .items
            .len()
    };
    let entries = audited().await;
    whatsapp::configure(
        store.as_ref(),
        &key,
        "wa-main",
        WhatsAppSettings {
            phone_number_id: PHONE_NUMBER_ID.into(),
            access_token: Some("EAAG-test".into()),
            app_secret: Some(APP_SECRET.into()),
            verify_token: Some(VERIFY_TOKEN.into()),
            ..Default::default()
        },
        "test",
        now,
    )
    .await
    .expect("account");
    assert_eq!(
        audited().await,
        entries,
        "an unchanged account is not rewritten"
    );
    let captured = capture();
    whatsapp::configure(
        store.as_ref(),
        &key,
        "wa-pywa",
        WhatsAppSettings {
            phone_number_id: "277321005464405".into(),
            app_secret: captured["app_secret"].as_str().map(str::to_owned),
            ..Default::default()
        },
        "test",
        now,
    )
    .await
    .expect("account");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let rules =
        Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
    let live = Arc::new(LiveRules::new(rules.clone()));
    let served = store.clone();
    tokio::spawn(async move {
        stoke_server::serve_with_key(
            listener,
            served,
            live,
            AccessSettings::default(),
            Some(key),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });
    App {
        base,
        store,
        rules,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

impl App {
    async fn post(&self, body: &str, signature: Option<&str>) -> reqwest::StatusCode {
        let mut request = self
            .client
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(s) = signature {
            request = request.header("X-Hub-Signature-256", s);
        }
        request.send().await.expect("post").status()
    }

    async fn deliver(&self, file: &str) {
        let body = corpus(file);
        let status = self
            .post(&body, Some(&sign(APP_SECRET, body.as_bytes())))
            .await;
        assert_eq!(status, 200, "{file}");
    }

    async fn contact(&self, phone: &str) -> Option<Contact> {
        let ContactRef::Handle(handle) = ContactRef::parse(phone).expect("phone") else {
            panic!("not a handle");
        };
        self.store.find_contact(&handle).await.expect("find")
    }

    async fn texts(&self, phone: &str) -> Vec<String> {
        let Some(contact) = self.contact(phone).await else {
            return Vec::new();
        };
        self.store
            .list_messages(contact.id, PageRequest::first(100))
            .await
            .expect("messages")
            .items
            .into_iter()
            .map(|m| m.text)
            .collect()
    }
}

#[tokio::test]
async fn the_verification_handshake_echoes_the_challenge_only_for_our_token() {
    let app = spawn_app().await;
    let get = |query: &str| {
        app.client
            .get(format!("{}/webhooks/whatsapp?{query}", app.base))
            .send()
    };
    let good = get(&format!(
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={VERIFY_TOKEN}"
    ))
    .await
    .expect("get");
    assert_eq!(good.status(), 200);
    assert_eq!(good.text().await.expect("body"), "1158201444");
    for bad in [
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=wrong".to_owned(),
        format!("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token={VERIFY_TOKEN}"),
        format!("hub.challenge=1&hub.verify_token={VERIFY_TOKEN}"),
        "hub.mode=subscribe&hub.challenge=1".to_owned(),
    ] {
        assert_eq!(get(&bad).await.expect("get").status(), 403, "{bad}");
    }
}

#[tokio::test]
async fn a_real_signed_capture_verifies_and_is_stored() {
    let app = spawn_app().await;
    let captured = capture();
    let body = captured["raw_body"].as_str().expect("body");
    let signature = captured["x_hub_signature_256"].as_str().expect("signature");
    assert_eq!(app.post(body, Some(signature)).await, 200);
    let texts = app.texts("+972544401243").await;
    assert_eq!(texts.len(), 1, "{texts:?}");
    let contact = app.contact("+972544401243").await.expect("contact");
    assert_eq!(contact.name, "PyWa Tests");
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_refused_and_nothing_stored() {
    let app = spawn_app().await;
    let body = corpus("message_text.json");
    let forged = sign("another-secret", body.as_bytes());
    assert_eq!(app.post(&body, Some(&forged)).await, 401);
    assert_eq!(app.post(&body, None).await, 401);
    assert_eq!(app.post(&body, Some("sha256=zz")).await, 401);
    // Signed, then altered: the signature covers the raw bytes.
    let signed = sign(APP_SECRET, body.as_bytes());
    let altered = body.replace("sofa", "sofas");
    assert_eq!(app.post(&altered, Some(&signed)).await, 401);
    assert!(app.contact(CUSTOMER).await.is_none());
    assert_eq!(
        app.store
            .list_outbox(None, PageRequest::first(10))
            .await
            .expect("outbox")
            .items
            .len(),
        0
    );
}

#[tokio::test]
async fn every_message_type_becomes_a_readable_message_on_the_right_contact() {
    let app = spawn_app().await;
    let expected = [
        ("message_text.json", "How much is the 2-seat sofa?"),
        ("message_image.json", "[image] this one (media 1001)"),
        ("message_audio.json", "[voice] (media 1002)"),
        ("message_video.json", "[video] unboxing (media 1003)"),
        ("message_document.json", "[document] invoice (media 1004)"),
        ("message_sticker.json", "[sticker] (media 1005)"),
        (
            "message_location.json",
            "[location] Showroom King Fahd Rd, Riyadh (24.7136, 46.6753)",
        ),
        (
            "message_contacts.json",
            "[contacts] Omar Haddad +966 50 765 4321",
        ),
        (
            "message_interactive_button_reply.json",
            "Yes, send a quote (yes-quote)",
        ),
        (
            "message_interactive_list_reply.json",
            "Grey sofa (sofa-grey)",
        ),
        ("message_button.json", "More info"),
        ("message_reaction.json", "[reaction] 👍"),
        (
            "message_unsupported.json",
            "[unsupported] 131051 Message type unknown",
        ),
    ];
    for (file, _) in expected {
        app.deliver(file).await;
    }
    app.deliver("value_errors.json").await;
    let texts = app.texts(CUSTOMER).await;
    let wanted: Vec<&str> = expected.iter().map(|(_, t)| *t).collect();
    assert_eq!(texts, wanted);
    let contact = app.contact(CUSTOMER).await.expect("contact");
    assert_eq!(contact.name, "Ahmed Al-Shami");
    let messages = app
        .store
        .list_messages(contact.id, PageRequest::first(100))
        .await
        .expect("messages")
        .items;
    let account = app.store.get_account("wa-main").await.expect("account");
    assert!(messages.iter().all(|m| m.account == account.id));
    assert_eq!(messages[0].provider_id.as_deref(), Some("wamid.STOKE0001"));
    assert_eq!(
        messages[0].at,
        Timestamp::from_second(1763977201).expect("time")
    );
    // The engine ran over them (the corpus is dated 2025, so intent has decayed by now; the
    // quote asked for in a button reply still marks the sale stage).
    let tags = app.store.list_tags(contact.id).await.expect("tags");
    assert!(
        tags.iter()
            .any(|t| t.value == "sale" && t.evidence.message.is_some()),
        "{tags:?}"
    );
}

#[tokio::test]
async fn the_same_delivery_twice_is_stored_once() {
    let app = spawn_app().await;
    app.deliver("message_text.json").await;
    app.deliver("message_text.json").await;
    assert_eq!(app.texts(CUSTOMER).await.len(), 1);
}

#[tokio::test]
async fn stop_opts_out_and_is_confirmed_once() {
    let app = spawn_app().await;
    let body = corpus("message_text.json").replace("How much is the 2-seat sofa?", "STOP");
    let signature = sign(APP_SECRET, body.as_bytes());
    assert_eq!(app.post(&body, Some(&signature)).await, 200);
    assert_eq!(app.post(&body, Some(&signature)).await, 200);
    let contact = app.contact(CUSTOMER).await.expect("contact");
    let tags = app.store.list_tags(contact.id).await.expect("tags");
    assert!(tags.iter().any(|t| t.rule == "opt_out"), "{tags:?}");
    let outbox = app
        .store
        .list_outbox(None, PageRequest::first(10))
        .await
        .expect("outbox");
    assert_eq!(outbox.items.len(), 1, "one confirmation");
}

/// Puts a sent message with this provider id in the outbox, as the dispatcher would.
async fn sent(app: &App, contact: &Contact, key: &str, wamid: &str) {
    let account = app.store.get_account("wa-main").await.expect("account");
    let now = Timestamp::now();
    let id = app
        .store
        .enqueue(
            &OutboxDraft {
                key: key.into(),
                account: account.id,
                contact: contact.id,
                purpose: Purpose::Promotion,
                content: Content::Text("Our sofas are 20% off this week".into()),
                not_before: now,
            },
            now,
        )
        .await
        .expect("enqueue");
    let text = "Our sofas are 20% off this week";
    let outbound = Outbound {
        to: CUSTOMER.into(),
        kind: MediaKind::Text,
        text: text.into(),
        media_url: None,
        content_hash: stoke_core::outbox::content_hash(text, None),
        last_inbound_at: None,
        template: None,
    };
    assert!(
        app.store
            .begin_send(id, &outbound, "test", now)
            .await
            .expect("begin")
    );
    app.store
        .finish_send(
            id,
            &SendOutcome::Sent {
                provider_id: wamid.into(),
            },
            now,
            &app.rules,
        )
        .await
        .expect("finish");
}

#[tokio::test]
async fn statuses_move_messages_forward_and_failures_act_on_their_codes() {
    let app = spawn_app().await;
    app.deliver("message_text.json").await;
    let contact = app.contact(CUSTOMER).await.expect("contact");
    sent(&app, &contact, "k1", "wamid.OUT0001").await;
    sent(&app, &contact, "k2", "wamid.OUT0002").await;
    sent(&app, &contact, "k3", "wamid.OUT0003").await;
    for file in [
        "status_sent.json",
        "status_delivered.json",
        "status_read.json",
        // Late and repeated: never backwards.
        "status_delivered.json",
        "status_sent.json",
        "status_failed_131026.json",
        "status_failed_131050.json",
        "status_failed_131050.json",
    ] {
        app.deliver(file).await;
    }
    let outbox = app
        .store
        .list_outbox(None, PageRequest::first(10))
        .await
        .expect("outbox")
        .items;
    let by = |wamid: &str| {
        outbox
            .iter()
            .find(|e| e.provider_id.as_deref() == Some(wamid))
            .expect("entry")
            .clone()
    };
    assert_eq!(by("wamid.OUT0001").status, OutboxStatus::Read);
    let undeliverable = by("wamid.OUT0002");
    assert_eq!(undeliverable.status, OutboxStatus::Failed);
    assert!(
        undeliverable
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("131026"),
        "{:?}",
        undeliverable.reason
    );
    assert_eq!(by("wamid.OUT0003").status, OutboxStatus::Failed);
    // 131026 flags the number: the contact's next message says so.
    let account = app.store.get_account("wa-main").await.expect("account");
    let now = Timestamp::now();
    app.store
        .enqueue(
            &OutboxDraft {
                key: "next".into(),
                account: account.id,
                contact: contact.id,
                purpose: Purpose::Service,
                content: Content::Template("welcome".into()),
                not_before: now,
            },
            now,
        )
        .await
        .expect("enqueue");
    let due = app
        .store
        .due_messages(account.id, now, 10)
        .await
        .expect("due");
    assert!(due.iter().any(|d| d.invalid_number), "flagged");
    // 131050 withdraws WhatsApp marketing consent, once per delivery.
    let contact = app.store.get_contact(contact.id).await.expect("contact");
    let withdrawn: Vec<_> = contact
        .consents
        .iter()
        .filter(|c| c.status == ConsentStatus::Withdrawn)
        .collect();
    assert!(!withdrawn.is_empty(), "{:?}", contact.consents);
}
