//! The API on a real SQLite store and a real HTTP server on loopback.

use std::sync::Arc;

use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_core::{Channel, ContactRef, Direction, Role};
use stoke_server::auth::{hash_token, new_token};
use stoke_store::IncomingMessage;

mod common;

use common::{recent, seed, spawn_app};

#[tokio::test]
async fn healthz_needs_no_token() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/healthz", app.base))
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_api_refuses_callers_without_a_valid_token() {
    let app = spawn_app().await;
    for (header, why) in [
        (None, "none"),
        (Some("Bearer "), "empty"),
        (Some("Bearer stk_wrong"), "wrong"),
        (Some("Basic abc"), "scheme"),
    ] {
        let mut request = app.client.get(format!("{}/api/v1/contacts", app.base));
        if let Some(h) = header {
            request = request.header("Authorization", h);
        }
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), 401, "{why}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthenticated", "{why}");
    }
}

#[tokio::test]
async fn agents_and_managers_see_only_their_contacts() {
    let app = spawn_app().await;
    seed(&app).await;
    let now = Timestamp::now();
    let desk = app.store.create_team("Riyadh desk").await.expect("team");
    let user = |address: &str, role: Role| stoke_core::UserDraft {
        email: stoke_core::Email::parse(address).expect("email"),
        name: address.into(),
        role,
        team: Some(desk.id),
        password_hash: None,
    };
    let sara = app
        .store
        .create_user(&user("sara@example.com", Role::Agent), now)
        .await
        .expect("agent");
    let omar = app
        .store
        .create_user(&user("omar@example.com", Role::Agent), now)
        .await
        .expect("agent");
    let mona = app
        .store
        .create_user(&user("mona@example.com", Role::Manager), now)
        .await
        .expect("manager");
    let token_for = |name: &'static str, role: Role, user: Option<stoke_core::UserId>| {
        let store = app.store.clone();
        async move {
            let token = new_token().expect("rng");
            store
                .create_api_token(name, role, user, &hash_token(&token), Timestamp::now())
                .await
                .expect("token");
            token
        }
    };
    // The seeded contact belongs to Sara.
    let seeded = app
        .store
        .list_contacts(
            stoke_store::Scope::Everything,
            stoke_store::PageRequest::first(10),
        )
        .await
        .expect("list")
        .items
        .remove(0);
    let mut assigned = seeded.clone();
    assigned.owner = Some(sara.id);
    app.store
        .update_contact(&assigned, now)
        .await
        .expect("assign");
    let id = seeded.id;

    let get = |token: String, path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
        }
    };
    let sara_token = token_for("sara", Role::Agent, Some(sara.id)).await;
    let omar_token = token_for("omar", Role::Agent, Some(omar.id)).await;
    let mona_token = token_for("mona", Role::Manager, Some(mona.id)).await;
    let nobody = token_for("nobody", Role::Agent, None).await;

    let listed: serde_json::Value = get(sara_token.clone(), "/api/v1/contacts".into())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    for path in [
        format!("/api/v1/contacts/{id}"),
        format!("/api/v1/contacts/{id}/messages"),
        format!("/api/v1/contacts/{id}/tags"),
    ] {
        assert_eq!(
            get(sara_token.clone(), path.clone()).await.status(),
            200,
            "{path}"
        );
        assert_eq!(
            get(mona_token.clone(), path.clone()).await.status(),
            200,
            "{path}"
        );
        // Not Omar's: it does not exist for him.
        assert_eq!(
            get(omar_token.clone(), path.clone()).await.status(),
            404,
            "{path}"
        );
    }
    let listed: serde_json::Value = get(omar_token.clone(), "/api/v1/contacts".into())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
    // Queues: an agent reads their own; a manager their team's agents'.
    let queue: serde_json::Value = get(sara_token.clone(), "/api/v1/queue".into())
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(queue.as_array().map(Vec::len), Some(1), "{queue}");
    assert_eq!(
        get(
            omar_token.clone(),
            "/api/v1/queue?agent=sara@example.com".into()
        )
        .await
        .status(),
        403
    );
    assert_eq!(
        get(
            mona_token.clone(),
            "/api/v1/queue?agent=sara@example.com".into()
        )
        .await
        .status(),
        200
    );
    // Workspace-wide endpoints stay admin-only; a token of no user sees nothing.
    assert_eq!(
        get(mona_token.clone(), "/api/v1/stats".into())
            .await
            .status(),
        403
    );
    assert_eq!(
        get(sara_token, "/api/v1/segments/distribution".into())
            .await
            .status(),
        403
    );
    let response = get(nobody, "/api/v1/contacts".into()).await;
    assert_eq!(response.status(), 403);
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("belongs to no user")),
        "{body}"
    );
}

#[tokio::test]
async fn contacts_messages_and_stats() {
    let app = spawn_app().await;
    seed(&app).await;
    let list: serde_json::Value = app
        .get("/api/v1/contacts?limit=10")
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["next"], serde_json::Value::Null);
    let id = list["items"][0]["id"].as_i64().expect("id");
    assert_eq!(list["items"][0]["phones"][0], "+966501234567");

    let one: serde_json::Value = app
        .get(&format!("/api/v1/contacts/{id}"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(
        one["country"], "SA",
        "a contact created from a number knows its country"
    );
    let tags = one["tags"].as_array().expect("tags");
    assert!(
        tags.iter()
            .any(|t| t["family"] == "intent" && t["value"] == "high" && t["rule"] == "intent.high"),
        "{tags:?}"
    );

    let messages: serde_json::Value = app
        .get(&format!("/api/v1/contacts/{id}/messages?limit=1"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(messages["items"][0]["text"], "السلام عليكم");
    assert_eq!(messages["items"][0]["statuses"][0]["status"], "received");
    let next = messages["next"].as_i64().expect("a second page");
    let second: serde_json::Value = app
        .get(&format!(
            "/api/v1/contacts/{id}/messages?limit=1&after={next}"
        ))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(second["items"][0]["text"], "بكم هذا؟");

    let stats: serde_json::Value = app
        .get("/api/v1/stats")
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["messages"], 2);
    let accounts: serde_json::Value = app
        .get("/api/v1/accounts")
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(accounts[0]["name"], "wa-sales-1");
    let tags: serde_json::Value = app
        .get(&format!("/api/v1/contacts/{id}/tags"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert!(tags["history"].is_array());
    let events: serde_json::Value = app
        .get(&format!("/api/v1/contacts/{id}/events"))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(events["items"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn client_mistakes_get_json_4xx_naming_the_field() {
    let app = spawn_app().await;
    for (path, status, field) in [
        ("/api/v1/contacts/abc", 400, Some("id")),
        ("/api/v1/contacts/999999", 404, None),
        ("/api/v1/contacts?limit=0", 400, Some("limit")),
        ("/api/v1/contacts?limit=lots", 400, Some("limit")),
        ("/api/v1/contacts?after=x", 400, Some("after")),
        ("/api/v1/contacts/99999999999999999999999", 400, Some("id")),
        ("/api/v1/nothing-here", 404, None),
        ("/api/v1/queue?now=tomorrow", 400, Some("now")),
        ("/api/v1/queue?agent=nobody@example.com", 400, Some("agent")),
        ("/api/v1/queue?colour=red", 400, Some("query")),
        ("/api/v1/segments/count?expr=intent:hot", 400, Some("expr")),
        ("/api/v1/segments/count", 400, Some("query")),
        (
            "/api/v1/segments/count?expr=intent:high&now=soon",
            400,
            Some("now"),
        ),
    ] {
        let response = app.get(path).send().await.expect("request");
        assert_eq!(response.status(), status, "{path}");
        let body: serde_json::Value = response.json().await.expect("json body");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{path}"
        );
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{path}");
        }
    }
}

#[tokio::test]
async fn the_queue_is_served_as_the_cli_prints_it() {
    let app = spawn_app().await;
    seed(&app).await;
    let response = app.get("/api/v1/queue").send().await.expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let items = body.as_array().expect("an array");
    assert_eq!(items.len(), 1, "{body:#}");
    assert_eq!(items[0]["contact"]["phone"], "+966501234567");
    assert_eq!(items[0]["action"], "quote");
    assert!(items[0]["due"].is_string());
    assert!(items[0]["priority"].as_u64().is_some_and(|p| p > 0));
    assert_eq!(items[0]["overdue"], false);
    assert!(
        items[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("intent high")),
        "{body:#}"
    );
}

#[tokio::test]
async fn segments_are_counted_and_distributed() {
    let app = spawn_app().await;
    seed(&app).await;
    let response = app
        .get("/api/v1/segments/count?expr=intent:high%20and%20active_within:1d%20and%20not%20opted_out")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["count"], 1, "{body:#}");
    assert_eq!(body["of"], 1);
    assert_eq!(body["contacts"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        body["expression"],
        "(intent:high and active_within:1d and not (opted_out))"
    );
    let response = app
        .get("/api/v1/segments/distribution")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["contacts"], 1);
    assert_eq!(body["families"]["intent"]["high"], 1, "{body:#}");
    assert_eq!(body["families"]["activity"]["high"], 1, "{body:#}");
    assert_eq!(body["warnings"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn too_few_highly_active_contacts_raise_the_weekly_warning() {
    let app = spawn_app().await;
    seed(&app).await;
    let playbook = Playbook::default_playbook().expect("playbook");
    let rules = Arc::new(Rules::new(playbook).expect("rules"));
    let old: Vec<IncomingMessage> = (0..6)
        .map(|i| IncomingMessage {
            external_id: format!("old-{i}"),
            contact: ContactRef::parse(&format!("+96650123450{i}")).expect("ref"),
            account: "wa-sales-1".into(),
            channel: Channel::WhatsApp,
            direction: Direction::In,
            text: "thanks".into(),
            at: recent(60 * 24 * 10),
            provider_id: None,
        })
        .collect();
    app.store
        .ingest_messages(&old, Timestamp::now(), &rules)
        .await
        .expect("ingest");
    let body: serde_json::Value = app
        .get("/api/v1/segments/distribution")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(body["contacts"], 7);
    assert_eq!(body["families"]["activity"]["dormant"], 6, "{body:#}");
    let warnings = body["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{body:#}");
    assert!(
        warnings[0].as_str().is_some_and(|w| w.contains("14.3%")),
        "{body:#}"
    );
}

#[tokio::test]
async fn broadcasts_are_created_and_steered_over_the_api_by_admins_only() {
    let app = spawn_app().await;
    seed(&app).await;
    app.store
        .create_account(
            &stoke_core::AccountDraft {
                name: "sim".into(),
                channel: Channel::Simulator,
                address: None,
                limits: Default::default(),
            },
            Timestamp::now(),
        )
        .await
        .expect("account");
    let post = |path: &str, body: serde_json::Value| {
        app.client
            .post(format!("{}{path}", app.base))
            .bearer_auth(&app.token)
            .json(&body)
    };
    let created = post(
        "/api/v1/broadcasts",
        serde_json::json!({"name": "sale", "audience": "all", "account": "sim",
                           "text": "Hello {{ first_name | default('there') }}", "no_quiet_hours": true}),
    )
    .send()
    .await
    .expect("post");
    assert_eq!(created.status(), 201);
    let report: serde_json::Value = created.json().await.expect("json");
    assert_eq!(report["status"], "draft");
    assert_eq!(report["recipients"], 1);
    assert_eq!(report["counts"]["queued"], 1);
    let id = report["id"].as_i64().expect("id");
    let started: serde_json::Value = post(
        &format!("/api/v1/broadcasts/{id}/start"),
        serde_json::json!({}),
    )
    .send()
    .await
    .expect("start")
    .json()
    .await
    .expect("json");
    assert_eq!(started["status"], "running");
    let again = post(
        &format!("/api/v1/broadcasts/{id}/start"),
        serde_json::json!({}),
    )
    .send()
    .await
    .expect("start");
    assert_eq!(
        again.status(),
        200,
        "starting a running broadcast changes nothing"
    );
    let cancelled = post(
        &format!("/api/v1/broadcasts/{id}/cancel"),
        serde_json::json!({}),
    )
    .send()
    .await
    .expect("cancel");
    assert_eq!(cancelled.status(), 200);
    let restart = post(
        &format!("/api/v1/broadcasts/{id}/start"),
        serde_json::json!({}),
    )
    .send()
    .await
    .expect("start");
    assert_eq!(
        restart.status(),
        409,
        "a cancelled broadcast stays cancelled"
    );
    let shown: serde_json::Value = app
        .get(&format!("/api/v1/broadcasts/{id}"))
        .send()
        .await
        .expect("show")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["counts"]["cancelled"], 1);
    let listed: serde_json::Value = app
        .get("/api/v1/broadcasts")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    // The override is in the audit log, under the token's name.
    let log = app
        .store
        .list_audit(stoke_store::PageRequest::first(10))
        .await
        .expect("audit");
    let create = log
        .items
        .iter()
        .find(|e| e.action == "broadcast.create")
        .expect("audited");
    assert_eq!(create.actor, "token:test");
    assert!(
        create
            .after
            .as_deref()
            .unwrap_or("")
            .contains("\"ignore_quiet_hours\":true")
    );

    // Client mistakes: 4xx naming the field, nothing created.
    for (body, field) in [
        (
            serde_json::json!({"name": "x", "audience": "intent:hot", "account": "sim", "text": "x"}),
            "audience",
        ),
        (
            serde_json::json!({"name": "x", "audience": "all", "account": "nope", "text": "x"}),
            "account",
        ),
        (
            serde_json::json!({"name": "x", "audience": "all", "account": "sim", "text": "{{ x"}),
            "text",
        ),
        (
            serde_json::json!({"name": "x", "audience": "all", "account": "sim", "template": "nope"}),
            "template",
        ),
        (
            serde_json::json!({"name": "x", "audience": "all", "account": "sim", "text": "x", "colour": "red"}),
            "body",
        ),
    ] {
        let response = post("/api/v1/broadcasts", body.clone())
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.expect("json");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let bad_id = app.get("/api/v1/broadcasts/abc").send().await.expect("get");
    assert_eq!(bad_id.status(), 400);
    let missing = app.get("/api/v1/broadcasts/999").send().await.expect("get");
    assert_eq!(missing.status(), 404);
    let listed: serde_json::Value = app
        .get("/api/v1/broadcasts")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "nothing half-written"
    );

    // An agent may not.
    let agent = new_token().expect("rng");
    app.store
        .create_api_token(
            "agent",
            Role::Agent,
            None,
            &hash_token(&agent),
            Timestamp::now(),
        )
        .await
        .expect("token");
    let refused = app
        .client
        .post(format!("{}/api/v1/broadcasts", app.base))
        .bearer_auth(&agent)
        .json(&serde_json::json!({"name": "x", "audience": "all", "account": "sim", "text": "x"}))
        .send()
        .await
        .expect("post");
    assert!(
        refused.status() == 403 || refused.status() == 401,
        "{}",
        refused.status()
    );
}
