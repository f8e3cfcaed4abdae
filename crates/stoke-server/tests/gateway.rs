//! The generic webhook channel against a real tool on loopback: Stoke's signed posts (body,
//! headers, the signature checked as the tool would), the tool's answers read into failure
//! classes, and the tool's signed reports (replies through the engine, statuses forward) on a
//! running Stoke, with stale, forged and malformed posts refused and nothing stored.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::outbox::{FailureClass, OutboxStatus, Purpose};
use stoke_core::playbook::Playbook;
use stoke_core::template::MediaKind;
use stoke_core::{Handle, Phone};
use stoke_server::AccessSettings;
use stoke_server::channel::Provider;
use stoke_server::gateway::send::HttpGateway;
use stoke_server::gateway::{self, GatewaySettings, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use stoke_server::scheduler::LiveRules;
use stoke_server::secrets::WorkspaceKey;
use stoke_store::outbox::{Content, Outbound, OutboxDraft, SendOutcome};
use stoke_store::{PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

const SECRET: &str = "9f2c1e7d4b8a6f0e3d5c7b9a1e2f4d6c";
const CUSTOMER: &str = "+966501234567";

/// What the tool received, and what it answers next.
#[derive(Clone, Default)]
struct Tool {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    answer: Arc<Mutex<(u16, String)>>,
}

async fn tool_handler(
    State(tool): State<Tool>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    tool.received.lock().expect("lock").push((headers, body));
    let (status, text) = tool.answer.lock().expect("lock").clone();
    (StatusCode::from_u16(status).expect("status"), text)
}

async fn spawn_tool() -> (String, Tool) {
    let tool = Tool::default();
    *tool.answer.lock().expect("lock") = (200, r#"{"id": "gw-1"}"#.into());
    let app = axum::Router::new()
        .route("/send", axum::routing::post(tool_handler))
        .with_state(tool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/send", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("tool") });
    (url, tool)
}

struct App {
    base: String,
    store: Arc<dyn Store>,
    rules: Arc<Rules>,
    key: WorkspaceKey,
    tool: Tool,
    _dir: tempfile::TempDir,
}

async fn spawn_app() -> App {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let key = WorkspaceKey::generate().expect("key");
    let (url, tool) = spawn_tool().await;
    gateway::configure(
        store.as_ref(),
        &key,
        "sms-1",
        GatewaySettings {
            url,
            secret: SECRET.into(),
        },
        "test",
        Timestamp::now(),
    )
    .await
    .expect("account");
    let rules =
        Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (served, live, served_key) = (
        store.clone(),
        Arc::new(LiveRules::new(rules.clone())),
        key.clone(),
    );
    tokio::spawn(async move {
        stoke_server::serve_with_key(
            listener,
            served,
            live,
            AccessSettings::default(),
            Some(served_key),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });
    App {
        base,
        store,
        rules,
        key,
        tool,
        _dir: dir,
    }
}

fn outbound(text: &str) -> Outbound {
    Outbound {
        to: CUSTOMER.into(),
        kind: MediaKind::Text,
        text: text.into(),
        media_url: None,
        content_hash: "h".into(),
        last_inbound_at: None,
        template: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_leave_signed_and_answers_become_failure_classes() {
    let app = spawn_app().await;
    let account = app.store.get_account("sms-1").await.expect("account");
    let provider = HttpGateway::new(app.key.clone()).expect("client");
    let accepted = provider
        .send(&account, "bc:7:42", &outbound("Your order is ready"))
        .await
        .expect("accepted");
    assert_eq!(accepted.provider_id, "gw-1", "the tool's own id");
    let (headers, body) = app.tool.received.lock().expect("lock")[0].clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // The tool checks what Stoke sent exactly as documented.
    gateway::verify(
        SECRET,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        Timestamp::now(),
    )
    .expect("a valid signature");
    assert_eq!(header("idempotency-key"), Some("bc:7:42"));
    let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(json["id"], "bc:7:42");
    assert_eq!(json["account"], "sms-1");
    assert_eq!(json["to"], CUSTOMER);
    assert_eq!(json["kind"], "text");
    assert_eq!(json["text"], "Your order is ready");
    assert!(
        json["sent_at"]
            .as_str()
            .is_some_and(|t| t.parse::<Timestamp>().is_ok())
    );

    // Without an id in the answer, Stoke's key is the message's id.
    *app.tool.answer.lock().expect("lock") = (202, String::new());
    let accepted = provider
        .send(&account, "k2", &outbound("x"))
        .await
        .expect("accepted");
    assert_eq!(accepted.provider_id, "k2");
    for (status, class) in [
        (503, FailureClass::Transient),
        (429, FailureClass::Transient),
        (410, FailureClass::InvalidNumber),
        (400, FailureClass::Declined),
        (302, FailureClass::Declined),
    ] {
        *app.tool.answer.lock().expect("lock") = (status, "no".into());
        let refused = provider
            .send(&account, "k3", &outbound("x"))
            .await
            .expect_err("refused");
        assert_eq!(refused.class, class, "{status}: {}", refused.detail);
        assert!(refused.detail.contains(&status.to_string()));
    }
    // A tool that is down: tried again later.
    let settings = GatewaySettings {
        url: "http://127.0.0.1:9/send".into(),
        secret: SECRET.into(),
    };
    gateway::configure(
        app.store.as_ref(),
        &app.key,
        "sms-down",
        settings,
        "test",
        Timestamp::now(),
    )
    .await
    .expect("account");
    let gone = app.store.get_account("sms-down").await.expect("account");
    let refused = provider
        .send(&gone, "k4", &outbound("x"))
        .await
        .expect_err("refused");
    assert_eq!(refused.class, FailureClass::Transient);
}

fn signed(body: &str, at: Timestamp, secret: &str) -> Vec<(&'static str, String)> {
    let ts = at.as_second();
    vec![
        (TIMESTAMP_HEADER, ts.to_string()),
        (SIGNATURE_HEADER, gateway::sign(secret, ts, body.as_bytes())),
    ]
}

async fn post(
    app: &App,
    account: &str,
    body: &str,
    headers: Vec<(&'static str, String)>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/webhooks/gateway/{account}", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_statuses_come_back_signed_and_once() {
    let app = spawn_app().await;
    let now = Timestamp::now();
    let phone = Phone::parse(CUSTOMER, None).expect("phone");
    let messages = || async {
        app.store
            .find_contact(&Handle::Phone(phone.clone()))
            .await
            .expect("find")
            .map(|c| c.id)
    };

    // A reply: stored on the account through the engine (a price question is high intent).
    let reply = serde_json::json!({"events": [
        {"type": "message", "id": "in-1", "from": CUSTOMER, "text": "How much is the sofa?"}
    ]})
    .to_string();
    // Refused: unsigned, forged, stale, another account's secret, an unknown account.
    assert_eq!(post(&app, "sms-1", &reply, vec![]).await.0, 401);
    assert_eq!(
        post(
            &app,
            "sms-1",
            &reply,
            signed(&reply, now, "a wrong secret that is long enough")
        )
        .await
        .0,
        401
    );
    let stale = now - jiff::SignedDuration::from_mins(10);
    assert_eq!(
        post(&app, "sms-1", &reply, signed(&reply, stale, SECRET))
            .await
            .0,
        401
    );
    assert_eq!(
        post(&app, "nobody", &reply, signed(&reply, now, SECRET))
            .await
            .0,
        401
    );
    let tampered = reply.replace("sofa", "sofas");
    let mut headers = signed(&reply, now, SECRET);
    assert_eq!(
        post(&app, "sms-1", &tampered, std::mem::take(&mut headers))
            .await
            .0,
        401
    );
    assert_eq!(messages().await, None, "nothing stored from a refused post");

    // Signed: stored once, twice posted.
    for _ in 0..2 {
        let (status, body) = post(
            &app,
            "sms-1",
            &reply,
            signed(&reply, Timestamp::now(), SECRET),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let contact = messages().await.expect("a contact from the number");
    let stored = app
        .store
        .list_messages(contact, PageRequest::first(10))
        .await
        .expect("messages")
        .items;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text, "How much is the sofa?");
    assert_eq!(stored[0].provider_id.as_deref(), Some("in-1"));
    let tags = app.store.list_tags(contact).await.expect("tags");
    assert!(
        tags.iter()
            .any(|t| t.family == stoke_core::TagFamily::Intent && t.value == "high"),
        "{tags:?}"
    );

    // A message Stoke sent, then the tool's statuses for it: forward only, unknown ids counted.
    let account = app.store.get_account("sms-1").await.expect("account");
    let queued = app
        .store
        .enqueue(
            &OutboxDraft {
                key: "reply-1".into(),
                account: account.id,
                contact,
                purpose: Purpose::Service,
                content: Content::Text("It is 2,400 SAR".into()),
                not_before: Timestamp::now(),
            },
            Timestamp::now(),
        )
        .await
        .expect("enqueue");
    let text = "It is 2,400 SAR";
    let sent = Outbound {
        content_hash: stoke_core::outbox::content_hash(text, None),
        ..outbound(text)
    };
    assert!(
        app.store
            .begin_send(queued, &sent, "test", Timestamp::now())
            .await
            .expect("begin")
    );
    app.store
        .finish_send(
            queued,
            &SendOutcome::Sent {
                provider_id: "gw-77".into(),
            },
            Timestamp::now(),
            &app.rules,
        )
        .await
        .expect("finish");
    let statuses = serde_json::json!({"events": [
        {"type": "status", "message_id": "gw-77", "status": "read"},
        {"type": "status", "message_id": "gw-77", "status": "delivered"},
        {"type": "status", "message_id": "gw-unknown", "status": "delivered"}
    ]})
    .to_string();
    let (status, body) = post(
        &app,
        "sms-1",
        &statuses,
        signed(&statuses, Timestamp::now(), SECRET),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["unknown"], 1, "{answer}");
    let outbox = app
        .store
        .list_outbox(None, PageRequest::first(10))
        .await
        .expect("outbox")
        .items;
    assert_eq!(
        outbox[0].status,
        OutboxStatus::Read,
        "read is not undone by a late delivered"
    );

    // Mistakes are named, and nothing of a refused post is applied.
    for (body, field) in [
        (
            r#"{"events": [{"type": "message", "id": "in-2", "from": "not a phone", "text": "hi"}]}"#,
            "events[0].from",
        ),
        (
            r#"{"events": [{"type": "message", "id": "in-3", "from": "+966501234567", "text": "hi"}, {"type": "status", "message_id": "x", "status": "lost"}]}"#,
            "events[1].status",
        ),
        (r#"{"events": [{"type": "note"}]}"#, "events[0].type"),
        (
            r#"{"events": [{"type": "message", "id": "in-4", "from": "+966501234567", "text": "hi", "extra": 1}]}"#,
            "events[0]",
        ),
        (r#"{"evnts": []}"#, "body"),
    ] {
        let (status, answer) =
            post(&app, "sms-1", body, signed(body, Timestamp::now(), SECRET)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("json");
        assert_eq!(answer["error"]["field"], field, "{answer}");
    }
    let stored = app
        .store
        .list_messages(contact, PageRequest::first(10))
        .await
        .expect("messages")
        .items;
    assert_eq!(
        stored.len(),
        2,
        "the reply and the sent message, nothing from refused posts"
    );
}
