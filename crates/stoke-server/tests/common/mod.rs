//! A real server on loopback over a fresh SQLite store, shared by the API's test files.
#![allow(dead_code)]

use std::sync::Arc;

use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_core::{Channel, ContactRef, Direction, Role};
use stoke_server::AccessSettings;
use stoke_server::auth::{hash_token, new_token};
use stoke_server::scheduler::LiveRules;
use stoke_store::{IncomingMessage, Store};
use stoke_store_sqlite::SqliteStore;

pub struct App {
    pub base: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl App {
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }
}

/// Starts the server on port 0 with a fresh store and an admin token.
pub async fn spawn_app() -> App {
    spawn_app_with(AccessSettings::default()).await
}

/// Starts the server with these login settings.
pub async fn spawn_app_with(access: AccessSettings) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let token = new_token().expect("rng");
    let now: Timestamp = "2026-11-20T10:00:00Z".parse().expect("time");
    store
        .create_api_token("test", Role::Admin, None, &hash_token(&token), now)
        .await
        .expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = store.clone();
    let playbook = Playbook::default_playbook().expect("playbook");
    let rules = Arc::new(LiveRules::new(Arc::new(
        Rules::new(playbook).expect("rules"),
    )));
    tokio::spawn(async move {
        stoke_server::serve(listener, served, rules, access, std::future::pending())
            .await
            .expect("serve");
    });
    App {
        base,
        token,
        store,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

/// Minutes ago: the engine evaluates tags at the real `now`, so seeded messages must be recent.
pub fn recent(minutes: i64) -> Timestamp {
    Timestamp::now() - jiff::SignedDuration::from_mins(minutes)
}

pub async fn seed(app: &App) {
    let message = |id: &str, text: &str, at: Timestamp| IncomingMessage {
        external_id: id.into(),
        contact: ContactRef::parse("+966501234567").expect("ref"),
        account: "wa-sales-1".into(),
        channel: Channel::WhatsApp,
        direction: Direction::In,
        text: text.into(),
        at,
        provider_id: None,
    };
    let playbook = stoke_core::playbook::Playbook::default_playbook().expect("default playbook");
    let rules = Arc::new(stoke_core::engine::Rules::new(playbook).expect("rules"));
    app.store
        .ingest_messages(
            &[
                message("m1", "السلام عليكم", recent(2)),
                message("m2", "بكم هذا؟", recent(1)),
            ],
            Timestamp::now(),
            &rules,
        )
        .await
        .expect("seed");
}

impl App {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A JSON request as the admin token.
    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: serde_json::Value,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(&body)
    }

    /// A user of `role` in `team`, with `password` when given (hashed as the CLI does).
    pub async fn user(
        &self,
        email: &str,
        role: Role,
        team: Option<stoke_core::TeamId>,
        password: Option<&str>,
    ) -> stoke_core::User {
        let password_hash = password.map(|p| {
            stoke_server::auth::Password::new(p.to_owned())
                .expect("password")
                .hash()
                .expect("hash")
        });
        self.store
            .create_user(
                &stoke_core::UserDraft {
                    email: stoke_core::Email::parse(email).expect("email"),
                    name: email.into(),
                    role,
                    team,
                    password_hash,
                },
                Timestamp::now(),
            )
            .await
            .expect("user")
    }

    /// A new API token acting for `user` with `role`.
    pub async fn token_for(&self, role: Role, user: Option<stoke_core::UserId>) -> String {
        let token = new_token().expect("rng");
        self.store
            .create_api_token("t", role, user, &hash_token(&token), Timestamp::now())
            .await
            .expect("token");
        token
    }
}

/// The body of a response as JSON, with its status.
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
    };
    (status, body)
}

/// The dispatcher of `account`, claimed on the test's clock with a lease long enough that days
/// of that clock are not spent renewing it, polling rarely (nothing is enqueued behind the
/// test's back), its jitter seeded.
pub async fn claimed_dispatcher(
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    provider: Arc<dyn stoke_server::channel::Provider>,
    account: stoke_core::Account,
    now: Timestamp,
    seed: u64,
) -> stoke_server::dispatch::AccountDispatcher {
    let settings = stoke_server::dispatch::DispatchSettings {
        node: "test-node".into(),
        lease: std::time::Duration::from_secs(86_400),
        poll: std::time::Duration::from_secs(3600),
    };
    let (mut dispatcher, _) = stoke_server::dispatch::AccountDispatcher::claim(
        store, live, provider, account, settings, now,
    )
    .await
    .expect("claim")
    .expect("free");
    dispatcher.seed(seed);
    dispatcher
}

/// A broadcast of `content` from `account` to `contacts`, created and started at `now` (the
/// whole audience allowed in one day). `ignore_quiet_hours` lets a test's clock send at night.
pub async fn running_broadcast(
    store: &dyn Store,
    account: stoke_core::AccountId,
    content: stoke_store::outbox::Content,
    contacts: &[stoke_core::ContactId],
    ignore_quiet_hours: bool,
    now: Timestamp,
) -> i64 {
    let b = store
        .create_broadcast(
            &stoke_store::outbox::BroadcastDraft {
                name: "test".into(),
                audience: "all".into(),
                account,
                content,
                not_before: now,
                golden_window: false,
                ignore_quiet_hours,
                created_by: None,
                daily_limit: 100_000,
            },
            contacts,
            now,
        )
        .await
        .expect("broadcast");
    store
        .set_broadcast_status(b.id, stoke_core::outbox::BroadcastStatus::Running, now)
        .await
        .expect("start");
    b.id
}
