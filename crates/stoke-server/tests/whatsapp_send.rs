//! The WhatsApp Cloud API provider against a local server that speaks the Graph API's request
//! and response formats (method, path, headers, documented bodies and errors), driving the
//! dispatcher on a real SQLite store.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use stoke_core::engine::Rules;
use stoke_core::outbox::{BroadcastStatus, FailureClass, OutboxStatus};
use stoke_core::playbook::Playbook;

use stoke_core::template::{ApprovedTemplate, MediaKind, Template, Variant};
use stoke_core::{
    Account, Channel, ConsentStatus, ContactDraft, ContactId, ContactRef, Direction, Phone,
};
use stoke_server::channel::AccountSettings;
use stoke_server::channel::Provider;
use stoke_server::dispatch::Wake;
use stoke_server::scheduler::LiveRules;
use stoke_server::secrets::WorkspaceKey;
use stoke_server::whatsapp::send::{WhatsAppCloud, WhatsAppMessage};
use stoke_server::whatsapp::{self, WhatsAppSettings};
use stoke_store::outbox::{Content, Outbound};
use stoke_store::{IncomingMessage, PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

const PHONE_NUMBER_ID: &str = "123456789012345";
const TOKEN: &str = "EAAG-stoke-test-token";
const INVALID: &str = "+966500000026";
const LIMITED: &str = "+966500000429";
const CAPPED: &str = "+966500131049";
const STOPPED: &str = "+966500131050";

/// One request the Graph API received.
#[derive(Debug, Clone)]
struct Seen {
    version: String,
    phone_number_id: String,
    authorization: String,
    content_type: String,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

async fn messages(
    State(log): State<Log>,
    Path((version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let n = {
        let mut log = log.lock().expect("lock");
        log.push(Seen {
            version,
            phone_number_id,
            authorization: header("authorization"),
            content_type: header("content-type"),
            body: body.clone(),
        });
        log.len()
    };
    let error = |code: i64, message: &str, details: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"message": message, "type": "OAuthException", "code": code,
                "error_data": {"messaging_product": "whatsapp", "details": details},
                "fbtrace_id": "AbCdEf123"}}),
            ),
        )
    };
    if body["status"] == "read" {
        return (StatusCode::OK, Json(json!({"success": true})));
    }
    let to = body["to"].as_str().unwrap_or("");
    match to {
        INVALID => error(
            131026,
            "(#131026) Message Undeliverable.",
            "Message Undeliverable.",
        ),
        CAPPED => error(
            131049,
            "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
            "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
        ),
        STOPPED => error(
            131050,
            "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
            "User stopped marketing messages.",
        ),
        LIMITED => error(
            130429,
            "(#130429) Rate limit hit",
            "Cloud API message throughput has been reached.",
        ),
        _ => (
            StatusCode::OK,
            Json(json!({"messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
                "messages": [{"id": format!("wamid.SENT{n}")}]})),
        ),
    }
}

async fn graph() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/{version}/{phone_number_id}/messages", post(messages))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("graph") });
    (base, log)
}

struct World {
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    key: WorkspaceKey,
    account: Account,
    log: Log,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let rules = Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules");
    let key = WorkspaceKey::generate().expect("key");
    let (base, log) = graph().await;
    let account = whatsapp::configure(
        store.as_ref(),
        &key,
        "wa-main",
        WhatsAppSettings {
            phone_number_id: PHONE_NUMBER_ID.into(),
            api_base: base,
            access_token: Some(TOKEN.into()),
            ..Default::default()
        },
        "test",
        Timestamp::now() - SignedDuration::from_hours(24 * 60),
    )
    .await
    .expect("account");
    World {
        store,
        live: Arc::new(LiveRules::new(Arc::new(rules))),
        key,
        account,
        log,
        _dir: dir,
    }
}

/// A contact who last wrote `hours` ago on the account.
async fn customer(w: &World, phone: &str, hours: i64) -> ContactId {
    let at = Timestamp::now() - SignedDuration::from_hours(hours);
    let draft = ContactDraft {
        name: Some(format!("Customer {phone}")),
        phones: vec![Phone::parse(phone, None).expect("phone")],
        ..ContactDraft::default()
    };
    let contact = w
        .store
        .create_contact(&draft, at - SignedDuration::from_hours(1))
        .await
        .expect("contact");
    w.store
        .ingest_messages(
            &[IncomingMessage {
                external_id: format!("in-{phone}"),
                contact: ContactRef::parse(phone).expect("ref"),
                account: "wa-main".into(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: "Thanks, noted".into(),
                at,
                provider_id: None,
            }],
            at,
            &w.live.get(),
        )
        .await
        .expect("inbound");
    contact.id
}

#[tokio::test]
async fn the_dispatcher_sends_through_the_graph_api_within_the_window_only() {
    let w = world().await;
    let inside = customer(&w, "+966500000001", 2).await;
    let outside = customer(&w, "+966500000002", 30).await;
    let invalid = customer(&w, INVALID, 1).await;
    let now = Timestamp::now();
    let b = common::running_broadcast(
        w.store.as_ref(),
        w.account.id,
        Content::Text("Hello {{ first_name }}, your quote is ready".into()),
        &[inside, outside, invalid],
        true,
        now,
    )
    .await;
    let provider: Arc<dyn Provider> = Arc::new(WhatsAppCloud::new(w.key.clone()).expect("client"));
    let mut d = common::claimed_dispatcher(
        w.store.clone(),
        w.live.clone(),
        provider,
        w.account.clone(),
        now,
        7,
    )
    .await;
    let mut clock = now;
    for _ in 0..200 {
        match d.step(clock).await.expect("step") {
            Wake::At(t) => clock = t.max(clock),
            Wake::Lost => panic!("lease lost"),
        }
        let report = w.store.get_broadcast(b, clock).await.expect("report");
        if report.broadcast.status == BroadcastStatus::Completed
            || clock > now + SignedDuration::from_mins(30)
        {
            break;
        }
    }
    let seen = w.log.lock().expect("lock").clone();
    // Outside the window nothing left; the others reached the Graph API as documented.
    let tos: Vec<&str> = seen.iter().filter_map(|s| s.body["to"].as_str()).collect();
    assert!(!tos.contains(&"+966500000002"), "{tos:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    for s in &seen {
        assert_eq!(s.version, "v21.0");
        assert_eq!(s.phone_number_id, PHONE_NUMBER_ID);
        assert_eq!(s.authorization, format!("Bearer {TOKEN}"));
        assert!(s.content_type.starts_with("application/json"));
        assert_eq!(s.body["messaging_product"], "whatsapp");
        assert_eq!(s.body["recipient_type"], "individual");
        assert_eq!(s.body["type"], "text");
        assert_eq!(s.body["text"]["preview_url"], false);
        assert!(
            s.body["text"]["body"]
                .as_str()
                .unwrap_or("")
                .ends_with("your quote is ready")
        );
    }
    let outbox = w
        .store
        .list_outbox(Some(b), PageRequest::first(10))
        .await
        .expect("outbox")
        .items;
    let of = |c: ContactId| {
        outbox
            .iter()
            .find(|e| e.contact == c)
            .expect("entry")
            .clone()
    };
    let sent = of(inside);
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert!(
        sent.provider_id
            .as_deref()
            .unwrap_or("")
            .starts_with("wamid.SENT"),
        "{sent:?}"
    );
    let refused = of(outside);
    assert_eq!(refused.status, OutboxStatus::Failed);
    assert!(
        refused.reason.as_deref().unwrap_or("").contains("24-hour"),
        "{:?}",
        refused.reason
    );
    let undeliverable = of(invalid);
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
}

#[tokio::test]
async fn templates_media_buttons_and_errors_speak_the_documented_format() {
    let w = world().await;
    let cloud = WhatsAppCloud::new(w.key.clone()).expect("client");
    let settings = WhatsAppSettings::of(&w.account, &w.key).expect("settings");
    // A template goes outside the window (no inbound at all here).
    let template = WhatsAppMessage::Template {
        name: "quote_ready".into(),
        language: "ar".into(),
        body_parameters: vec!["أحمد".into(), "1042".into()],
    };
    let accepted = cloud
        .send_message(&settings, "+966500000003", &template, Some("k-1"))
        .await
        .expect("template");
    assert!(accepted.provider_id.starts_with("wamid.SENT"));
    // Media by link through the provider, inside the window.
    let media = |kind: MediaKind, url: &str, text: &str| Outbound {
        to: "+966500000003".into(),
        kind,
        text: text.into(),
        media_url: Some(url.into()),
        content_hash: String::new(),
        last_inbound_at: Some(Timestamp::now() - SignedDuration::from_mins(5)),
        template: None,
    };
    for m in [
        media(
            MediaKind::Image,
            "https://cdn.example.com/sofa.jpg",
            "The grey one",
        ),
        media(
            MediaKind::Video,
            "https://cdn.example.com/sofa.mp4",
            "In the showroom",
        ),
        media(MediaKind::Audio, "https://cdn.example.com/note.ogg", ""),
        media(
            MediaKind::Document,
            "https://cdn.example.com/spec.pdf?v=2",
            "Spec sheet",
        ),
    ] {
        w_send(&cloud, &w.account, &m).await;
    }
    let buttons = WhatsAppMessage::Buttons {
        body: "Shall we send a quote?".into(),
        buttons: vec![
            ("yes".into(), "Yes".into()),
            ("later".into(), "Later".into()),
        ],
    };
    cloud
        .send_message(&settings, "+966500000003", &buttons, None)
        .await
        .expect("buttons");
    cloud.mark_read(&settings, "wamid.IN1").await.expect("read");
    let seen = w.log.lock().expect("lock").clone();
    assert_eq!(
        seen[0].body,
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"+966500000003",
            "type":"template","biz_opaque_callback_data":"k-1",
            "template":{"name":"quote_ready","language":{"code":"ar"},
                "components":[{"type":"body","parameters":[
                    {"type":"text","text":"أحمد"},{"type":"text","text":"1042"}]}]}})
    );
    assert_eq!(
        seen[1].body["image"],
        json!({"link":"https://cdn.example.com/sofa.jpg","caption":"The grey one"})
    );
    assert_eq!(seen[2].body["type"], "video");
    assert_eq!(
        seen[3].body["audio"],
        json!({"link":"https://cdn.example.com/note.ogg"})
    );
    assert_eq!(
        seen[4].body["document"],
        json!({"link":"https://cdn.example.com/spec.pdf?v=2","caption":"Spec sheet","filename":"spec.pdf"})
    );
    assert_eq!(
        seen[5].body["interactive"]["action"]["buttons"][1]["reply"]["id"],
        "later"
    );
    assert_eq!(
        seen[6].body,
        json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN1"})
    );
    // Errors come back as failure classes with Meta's code and details.
    let text = WhatsAppMessage::Text { body: "hi".into() };
    let invalid = cloud
        .send_message(&settings, INVALID, &text, None)
        .await
        .expect_err("undeliverable");
    assert_eq!(invalid.class, FailureClass::InvalidNumber);
    assert!(invalid.detail.contains("131026"), "{}", invalid.detail);
    let limited = cloud
        .send_message(&settings, LIMITED, &text, None)
        .await
        .expect_err("limited");
    assert_eq!(limited.class, FailureClass::RateLimited);
    // An unreachable Graph API is transient.
    let mut gone = settings.clone();
    gone.api_base = "http://127.0.0.1:9".into();
    let unreachable = cloud
        .send_message(&gone, "+966500000003", &text, None)
        .await
        .expect_err("unreachable");
    assert_eq!(unreachable.class, FailureClass::Transient);
}

async fn w_send(cloud: &WhatsAppCloud, account: &Account, m: &Outbound) {
    cloud.send(account, "k", m).await.expect("media");
}

/// Runs a broadcast of `content` to `contacts` through the dispatcher, with a clock of its own
/// starting at `now`, until it completes (or 30 minutes of its clock pass); returns the clock.
async fn broadcast(
    w: &World,
    content: Content,
    contacts: &[ContactId],
    now: Timestamp,
) -> (Timestamp, i64) {
    let b = common::running_broadcast(w.store.as_ref(), w.account.id, content, contacts, true, now)
        .await;
    let provider: Arc<dyn Provider> = Arc::new(WhatsAppCloud::new(w.key.clone()).expect("client"));
    let account = w.store.get_account("wa-main").await.expect("account");
    let mut d =
        common::claimed_dispatcher(w.store.clone(), w.live.clone(), provider, account, now, 7)
            .await;
    let mut clock = now;
    for _ in 0..(contacts.len() * 4 + 20) {
        match d.step(clock).await.expect("step") {
            Wake::At(t) => clock = t.max(clock),
            Wake::Lost => panic!("lease lost"),
        }
        let report = w.store.get_broadcast(b, clock).await.expect("report");
        let pending = report.count(OutboxStatus::Queued) + report.count(OutboxStatus::Sending);
        if report.broadcast.status == BroadcastStatus::Completed
            || pending == 0
            || clock > now + SignedDuration::from_mins(30)
        {
            break;
        }
    }
    (clock, b)
}

async fn entry(w: &World, b: i64, contact: ContactId) -> stoke_store::outbox::OutboxEntry {
    w.store
        .list_outbox(Some(b), PageRequest::first(1000))
        .await
        .expect("outbox")
        .items
        .into_iter()
        .rev()
        .find(|e| e.contact == contact)
        .expect("entry")
}

#[tokio::test]
async fn outside_the_window_a_template_goes_as_its_approved_whatsapp_template() {
    let w = world().await;
    let approved = Variant {
        language: None,
        kind: MediaKind::Text,
        body: "Hello {{ first_name }}, your quote for {{ city }} is ready".into(),
        media_url: None,
        whatsapp: Some(ApprovedTemplate {
            name: "quote_ready".into(),
            language: "en_US".into(),
            parameters: vec!["first_name".into(), "city".into()],
        }),
    };
    let fallbacks = BTreeMap::from([("city".to_owned(), "Riyadh".to_owned())]);
    let t = Template::new("quote", vec![approved.clone()], fallbacks.clone()).expect("template");
    w.store
        .put_template(&t, Timestamp::now())
        .await
        .expect("put");
    let plain = Template::new(
        "plain",
        vec![Variant {
            whatsapp: None,
            ..approved
        }],
        fallbacks,
    )
    .expect("template");
    w.store
        .put_template(&plain, Timestamp::now())
        .await
        .expect("put");
    let outside = customer(&w, "+966500000011", 30).await;
    let inside = customer(&w, "+966500000012", 2).await;
    let now = Timestamp::now();
    let (_, b) = broadcast(
        &w,
        Content::Template("quote".into()),
        &[outside, inside],
        now,
    )
    .await;
    let seen = w.log.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let to = |phone: &str| {
        seen.iter()
            .find(|s| s.body["to"] == phone)
            .expect("sent")
            .body
            .clone()
    };
    let template = to("+966500000011");
    assert_eq!(template["type"], "template");
    assert_eq!(
        template["template"],
        json!({"name":"quote_ready","language":{"code":"en_US"},"components":[{"type":"body",
            "parameters":[{"type":"text","text":"Customer"},{"type":"text","text":"Riyadh"}]}]})
    );
    // Inside the window the rendered text goes, as before.
    let text = to("+966500000012");
    assert_eq!(text["type"], "text");
    assert_eq!(
        text["text"]["body"],
        "Hello Customer, your quote for Riyadh is ready"
    );
    assert_eq!(entry(&w, b, outside).await.status, OutboxStatus::Sent);
    // No approved template: refused before anything leaves, saying what to set.
    let silent = customer(&w, "+966500000013", 48).await;
    let (_, b) = broadcast(
        &w,
        Content::Template("plain".into()),
        &[silent],
        Timestamp::now(),
    )
    .await;
    assert_eq!(w.log.lock().expect("lock").len(), 2);
    let refused = entry(&w, b, silent).await;
    assert_eq!(refused.status, OutboxStatus::Failed);
    let reason = refused.reason.unwrap_or_default();
    assert!(
        reason.contains("\"plain\"") && reason.contains("whatsapp_template"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_marketing_cap_waits_a_day_and_a_stop_opts_out_of_marketing() {
    let w = world().await;
    let capped = customer(&w, CAPPED, 1).await;
    let stopped = customer(&w, STOPPED, 1).await;
    let now = Timestamp::now();
    let (_, b) = broadcast(
        &w,
        Content::Text("New arrivals this week".into()),
        &[capped, stopped],
        now,
    )
    .await;
    assert_eq!(w.log.lock().expect("lock").len(), 2);
    let waiting = entry(&w, b, capped).await;
    assert_eq!(waiting.status, OutboxStatus::Queued, "{waiting:?}");
    // The store keeps milliseconds.
    let tomorrow = now + SignedDuration::from_hours(24) - SignedDuration::from_millis(1);
    assert!(waiting.not_before >= tomorrow, "{waiting:?}");
    assert!(
        waiting.not_before < now + SignedDuration::from_hours(25),
        "{waiting:?}"
    );
    assert!(
        waiting
            .reason
            .unwrap_or_default()
            .starts_with("marketing_capped")
    );
    let refused = entry(&w, b, stopped).await;
    assert_eq!(refused.status, OutboxStatus::Failed);
    assert!(refused.reason.unwrap_or_default().contains("131050"));
    let consent = w
        .store
        .get_contact(stopped)
        .await
        .expect("contact")
        .consents
        .into_iter()
        .rev()
        .find(|c| c.channel == Channel::WhatsApp)
        .expect("consent");
    assert_eq!(consent.status, ConsentStatus::Withdrawn);
}

#[tokio::test]
async fn opening_a_conversation_marks_the_latest_message_read_once() {
    let w = world().await;
    let contact = customer(&w, "+966500000021", 3).await;
    let at = Timestamp::now() - SignedDuration::from_mins(2);
    w.store
        .ingest_messages(
            &[IncomingMessage {
                external_id: "whatsapp:wamid.IN-LATEST".into(),
                contact: ContactRef::parse("+966500000021").expect("ref"),
                account: "wa-main".into(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: "Is the grey sofa in stock?".into(),
                at,
                provider_id: Some("wamid.IN-LATEST".into()),
            }],
            at,
            &w.live.get(),
        )
        .await
        .expect("inbound");
    let rules = w.live.get();
    let marked = whatsapp::mark_read(
        w.store.as_ref(),
        Some(&w.key),
        &rules,
        contact,
        Timestamp::now(),
    )
    .await
    .expect("mark");
    assert_eq!(marked.as_deref(), Some("wamid.IN-LATEST"));
    let again = whatsapp::mark_read(
        w.store.as_ref(),
        Some(&w.key),
        &rules,
        contact,
        Timestamp::now(),
    )
    .await
    .expect("mark");
    assert_eq!(again, None);
    let seen = w.log.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].body,
        json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN-LATEST"})
    );
    assert_eq!(seen[0].authorization, format!("Bearer {TOKEN}"));
}

#[tokio::test]
async fn a_cloud_api_number_sends_many_messages_a_second() {
    let w = world().await;
    let mut contacts = Vec::new();
    for i in 0..40 {
        contacts.push(customer(&w, &format!("+9665001000{i:02}"), 1).await);
    }
    let now = Timestamp::now();
    let (done, _) = broadcast(&w, Content::Text("Flash sale".into()), &contacts, now).await;
    let sent = w.log.lock().expect("lock").len();
    assert_eq!(sent, 40);
    // Meta's 80 a second, not a personal number's jittered 3-5 s gap.
    assert!(done - now < SignedDuration::from_secs(1), "{}", done - now);
}

#[tokio::test]
async fn the_messaging_tier_defers_business_initiated_sends_over_it() {
    let mut w = world().await;
    // A tier of two unique contacts a day, so that three show it.
    let text = stoke_core::playbook::DEFAULT_TOML.replace("\"250\" = 250", "\"250\" = 2");
    let rules = Rules::new(Playbook::parse(&text).expect("playbook")).expect("rules");
    w.live = Arc::new(LiveRules::new(Arc::new(rules)));
    let t = Template::new(
        "offer",
        vec![Variant {
            language: None,
            kind: MediaKind::Text,
            body: "Hello {{ first_name }}".into(),
            media_url: None,
            whatsapp: Some(ApprovedTemplate {
                name: "weekly_offer".into(),
                language: "en".into(),
                parameters: vec!["first_name".into()],
            }),
        }],
        BTreeMap::new(),
    )
    .expect("template");
    w.store
        .put_template(&t, Timestamp::now())
        .await
        .expect("put");
    let mut silent = Vec::new();
    for i in 0..3 {
        silent.push(customer(&w, &format!("+96650020000{i}"), 48).await);
    }
    let inside = customer(&w, "+966500200009", 1).await;
    let mut all = silent.clone();
    all.push(inside);
    let now = Timestamp::now();
    let (_, b) = broadcast(&w, Content::Template("offer".into()), &all, now).await;
    let seen = w.log.lock().expect("lock").clone();
    let templates = seen.iter().filter(|s| s.body["type"] == "template").count();
    // Two contacts reached outside the window; the window's own customer is not counted.
    assert_eq!(templates, 2, "{seen:?}");
    assert_eq!(entry(&w, b, inside).await.status, OutboxStatus::Sent);
    let mut waiting = Vec::new();
    for c in &silent {
        let e = entry(&w, b, *c).await;
        if e.status == OutboxStatus::Queued {
            waiting.push(e);
        }
    }
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert!(waiting[0].not_before >= now + SignedDuration::from_hours(23));
    assert!(
        waiting[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("messaging tier")
    );
}
