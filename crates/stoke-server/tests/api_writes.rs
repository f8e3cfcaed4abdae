//! Writes over the API on a real SQLite store and a real HTTP server on loopback: contacts, notes,
//! tasks, consent, batch ingest, logins and sessions, and the privacy requests.

use reqwest::Method;
use serde_json::json;
use stoke_core::Role;
use stoke_server::AccessSettings;

mod common;

use common::{answer, seed, spawn_app, spawn_app_with};

#[tokio::test]
async fn contacts_are_created_updated_merged_and_annotated() {
    let app = spawn_app().await;
    let (status, created) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"name": "Huda Saleh", "phones": ["+971501112233"], "language": "ar",
               "country": "AE", "contact_window": "18:00-21:00", "custom": {"plan": "gold"}}),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["phones"][0], "+971501112233");
    assert_eq!(created["reach"]["window"], "daily 18:00-21:00");
    assert_eq!(created["custom"]["plan"], "gold");

    // The same number again is a conflict, not a second contact.
    let (status, body) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"phones": ["+971 50 111 2233"]}),
    ))
    .await;
    assert_eq!(status, 409, "{body}");

    // Mistakes name the field; nothing is written.
    for (body, field) in [
        (json!({"phones": ["12"]}), "phones[0]"),
        (json!({"name": "No handle"}), "phone"),
        (
            json!({"phones": ["+971501112234"], "country": "Atlantis"}),
            "country",
        ),
        (
            json!({"phones": ["+971501112234"], "colour": "red"}),
            "body",
        ),
        (
            json!({"phones": ["+971501112234"], "custom": {"x": [1]}}),
            "custom.x",
        ),
        (json!({"phones": "+971501112234"}), "body"),
        (
            json!({"phones": ["+971501112234"], "owner": "nobody@example.com"}),
            "owner",
        ),
    ] {
        let (status, answer_body) =
            answer(app.send(Method::POST, "/api/v1/contacts", body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(
            answer_body["error"]["field"], field,
            "{body} -> {answer_body}"
        );
    }
    let stats = answer(app.get("/api/v1/stats")).await.1;
    assert_eq!(stats["contacts"], 1, "nothing half-written: {stats}");

    let (status, updated) = answer(app.send(
        Method::PATCH,
        &format!("/api/v1/contacts/{id}"),
        json!({"city": "Dubai", "emails": ["huda@example.com"]}),
    ))
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["city"], "Dubai");
    assert_eq!(updated["name"], "Huda Saleh", "untouched fields stay");
    assert_eq!(updated["emails"][0], "huda@example.com");

    // Notes, tasks, consent.
    let (status, note) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/notes"),
        json!({"text": "prefers voice notes"}),
    ))
    .await;
    assert_eq!(status, 201, "{note}");
    let notes = answer(app.get(&format!("/api/v1/contacts/{id}/notes")))
        .await
        .1;
    assert_eq!(notes[0]["text"], "prefers voice notes");
    let (status, body) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/notes"),
        json!({"text": "  "}),
    ))
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("text"))
    );
    let (status, task) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/tasks"),
        json!({"kind": "call", "title": "Call about the gold plan", "due_at": "2026-12-01T09:00:00Z"}),
    ))
    .await;
    assert_eq!(status, 201, "{task}");
    let task_id = task["id"].as_i64().expect("task id");
    let (status, body) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/tasks"),
        json!({"kind": "dance", "title": "x"}),
    ))
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("kind"))
    );
    let (status, done) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/tasks/{task_id}/complete"),
        json!({}),
    ))
    .await;
    assert_eq!(status, 200, "{done}");
    assert!(done["done_at"].is_string());
    let (status, _) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/tasks/999/complete"),
        json!({}),
    ))
    .await;
    assert_eq!(status, 404);
    let (status, consented) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/consents"),
        json!({"channel": "email", "status": "granted", "source": "web form"}),
    ))
    .await;
    assert_eq!(status, 201, "{consented}");
    assert!(
        consented["consents"].as_array().is_some_and(|c| c
            .iter()
            .any(|x| x["channel"] == "email" && x["status"] == "granted")),
        "{consented}"
    );

    // Merge a second contact in; its id then resolves to the first.
    let (_, other) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"name": "Huda S.", "emails": ["huda.s@example.com"]}),
    ))
    .await;
    let other_id = other["id"].as_i64().expect("id");
    let (status, merged) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/merge"),
        json!({"from": other_id}),
    ))
    .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(
        merged["emails"].as_array().map(Vec::len),
        Some(2),
        "{merged}"
    );
    let resolved = answer(app.get(&format!("/api/v1/contacts/{other_id}")))
        .await
        .1;
    assert_eq!(resolved["id"], id);
    let (status, body) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/merge"),
        json!({"from": other_id}),
    ))
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("from"))
    );

    // The audit log has every change, and no customer's number or name.
    let audit = answer(app.get("/api/v1/audit?limit=100")).await.1;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "contact.create",
        "contact.update",
        "note.add",
        "task.add",
        "task.complete",
        "contact.consent",
        "contact.merge",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let text = audit.to_string();
    assert!(
        !text.contains("971501112233") && !text.contains("Huda"),
        "{text}"
    );
    assert_eq!(audit["items"][0]["actor"], "token:test");
}

#[tokio::test]
async fn events_and_messages_are_ingested_in_batches_all_or_nothing() {
    let app = spawn_app().await;
    let order = |id: &str, amount: &str, currency: &str| {
        json!({"id": id, "type": "order", "contact": "+966501234567", "at": "2026-11-20T10:00:00Z",
               "order_id": id, "amount": amount, "currency": currency})
    };
    // One bad item refuses the batch, naming it.
    let (status, body) = answer(app.send(
        Method::POST,
        "/api/v1/events",
        json!([
            order("o1", "10.00", "SAR"),
            order("o2", "5.00", "SAR"),
            order("o3", "1", "XXQ")
        ]),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "[2].currency");
    let stats = answer(app.get("/api/v1/stats")).await.1;
    assert_eq!(
        (stats["events"].clone(), stats["contacts"].clone()),
        (json!(0), json!(0))
    );

    let batch = json!([order("o1", "10.00", "SAR"), order("o2", "5.00", "SAR")]);
    let (status, body) = answer(app.send(Method::POST, "/api/v1/events", batch.clone())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["inserted"].clone(), body["contacts_created"].clone()),
        (json!(2), json!(1))
    );
    let (_, again) = answer(app.send(Method::POST, "/api/v1/events", batch)).await;
    assert_eq!(
        (again["inserted"].clone(), again["duplicates"].clone()),
        (json!(0), json!(2))
    );

    for (body, field) in [
        (json!([]), "body"),
        (json!({"id": "x"}), "body"),
        (json!([1]), "[0]"),
        (
            json!([{"type": "click", "contact": "999999", "at": "2026-11-20T10:00:00Z", "url": "https://x.example"}]),
            "[0].contact",
        ),
        (
            json!([{"type": "teleport", "contact": "+966501234567", "at": "2026-11-20T10:00:00Z"}]),
            "type",
        ),
    ] {
        let (status, answer_body) =
            answer(app.send(Method::POST, "/api/v1/events", body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert!(
            answer_body["error"]["field"]
                .as_str()
                .is_some_and(|f| f.ends_with(field)),
            "{body} -> {answer_body}"
        );
    }
    let too_many: Vec<serde_json::Value> = (0..1001)
        .map(|i| order(&format!("b{i}"), "1.00", "SAR"))
        .collect();
    let (status, _) = answer(app.send(Method::POST, "/api/v1/events", json!(too_many))).await;
    assert_eq!(status, 400);

    // Messages go through the engine: a price question makes the customer a hot lead.
    let (status, body) = answer(app.send(
        Method::POST,
        "/api/v1/messages",
        json!([{"id": "m1", "contact": "+966501234567", "direction": "in", "channel": "whatsapp",
                "text": "بكم هذا؟", "at": jiff::Timestamp::now().to_string()}]),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let contacts = answer(app.get("/api/v1/contacts")).await.1;
    let id = contacts["items"][0]["id"].as_i64().expect("id");
    let one = answer(app.get(&format!("/api/v1/contacts/{id}"))).await.1;
    assert!(
        one["tags"].as_array().is_some_and(|t| t
            .iter()
            .any(|x| x["family"] == "intent" && x["value"] == "high")),
        "{one}"
    );

    // Bulk ingest is for admins (an integration's token).
    let agent = app.user("sara@example.com", Role::Agent, None, None).await;
    let token = app.token_for(Role::Agent, Some(agent.id)).await;
    let response = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(token)
        .json(&json!([order("o9", "1.00", "SAR")]))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn agents_write_only_their_own_contacts() {
    let app = spawn_app().await;
    seed(&app).await;
    let desk = app.store.create_team("Riyadh desk").await.expect("team");
    let sara = app
        .user("sara@example.com", Role::Agent, Some(desk.id), None)
        .await;
    let omar = app
        .user("omar@example.com", Role::Agent, Some(desk.id), None)
        .await;
    let sara_token = app.token_for(Role::Agent, Some(sara.id)).await;
    let as_sara = |method: Method, path: String, body: serde_json::Value| {
        app.client
            .request(method, app.url(&path))
            .bearer_auth(&sara_token)
            .json(&body)
    };
    // What Sara creates is hers.
    let (status, mine) = answer(as_sara(
        Method::POST,
        "/api/v1/contacts".into(),
        json!({"phones": ["+966507654321"]}),
    ))
    .await;
    assert_eq!(status, 201, "{mine}");
    let mine = mine["id"].as_i64().expect("id");
    let listed = answer(
        app.client
            .get(app.url("/api/v1/contacts"))
            .bearer_auth(&sara_token),
    )
    .await
    .1;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["items"][0]["id"], mine);

    // The seeded contact belongs to nobody in her reach: it does not exist for her.
    let seeded = answer(app.get("/api/v1/contacts")).await.1["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .find(|&c| c != mine)
        .expect("seeded");
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/contacts/{seeded}"),
            json!({"city": "Jeddah"}),
        ),
        (
            Method::POST,
            format!("/api/v1/contacts/{seeded}/notes"),
            json!({"text": "hi"}),
        ),
        (
            Method::GET,
            format!("/api/v1/contacts/{seeded}/notes"),
            json!({}),
        ),
    ] {
        let (status, body) = answer(as_sara(method, path.clone(), body)).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    // She cannot hand a contact to Omar, merge, export or erase.
    let (status, _) = answer(as_sara(
        Method::PATCH,
        format!("/api/v1/contacts/{mine}"),
        json!({"owner": omar.email.to_string()}),
    ))
    .await;
    assert_eq!(status, 403);
    for (method, path) in [
        (Method::POST, format!("/api/v1/contacts/{mine}/merge")),
        (Method::GET, format!("/api/v1/contacts/{mine}/export")),
        (Method::DELETE, format!("/api/v1/contacts/{mine}")),
        (Method::GET, "/api/v1/audit".to_owned()),
    ] {
        let (status, body) = answer(as_sara(method, path.clone(), json!({"from": seeded}))).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
}

#[tokio::test]
async fn people_log_in_with_sessions_guarded_against_csrf() {
    let app = spawn_app().await;
    seed(&app).await;
    let desk = app.store.create_team("Cairo desk").await.expect("team");
    let password = "a long pass phrase";
    app.user(
        "nour@example.com",
        Role::Agent,
        Some(desk.id),
        Some(password),
    )
    .await;
    let login = |email: &str, password: &str| {
        app.client
            .post(app.url("/api/v1/login"))
            .json(&json!({"email": email, "password": password}))
    };
    for (email, pass) in [
        ("nour@example.com", "wrong password!"),
        ("nobody@example.com", password),
    ] {
        let (status, body) = answer(login(email, pass)).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(
            body["error"]["message"],
            "the e-mail or the password is wrong"
        );
    }
    let (status, body) = answer(
        app.client
            .post(app.url("/api/v1/login"))
            .json(&json!({"email": "nour@example.com"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");

    let response = login("NOUR@example.com", password)
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain http on loopback: {set_cookie}"
    );
    let body: serde_json::Value = response.json().await.expect("json");
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    assert_eq!(body["user"]["role"], "agent");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();

    let me = answer(
        app.client
            .get(app.url("/api/v1/me"))
            .header("Cookie", &cookie),
    )
    .await;
    assert_eq!(me.0, 200);
    assert_eq!(me.1["user"]["email"], "nour@example.com");
    // The session carries the agent's scope: the seeded contact is not hers.
    let listed = answer(
        app.client
            .get(app.url("/api/v1/contacts"))
            .header("Cookie", &cookie),
    )
    .await
    .1;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "{listed}"
    );

    // A change without the CSRF token is refused, whatever the cookie.
    let create = || {
        app.client
            .post(app.url("/api/v1/contacts"))
            .header("Cookie", &cookie)
            .json(&json!({"phones": ["+201001234567"]}))
    };
    let (status, body) = answer(create()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("csrf"))
    );
    let (status, body) = answer(create().header("X-CSRF-Token", "csrf_wrong")).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = answer(create().header("X-CSRF-Token", &csrf)).await;
    assert_eq!(status, 201, "{body}");

    // Logging out ends the session on the server, not only in the browser.
    let response = app
        .client
        .post(app.url("/api/v1/logout"))
        .header("Cookie", &cookie)
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 204);
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .is_ok_and(|c| c.contains("Max-Age=0"))
    );
    let (status, _) = answer(
        app.client
            .get(app.url("/api/v1/me"))
            .header("Cookie", &cookie),
    )
    .await;
    assert_eq!(status, 401);
    let audit = answer(app.get("/api/v1/audit")).await.1.to_string();
    assert!(audit.contains("user.login"), "{audit}");
    assert!(!audit.contains(password), "{audit}");
}

#[tokio::test]
async fn password_guessing_is_throttled() {
    let app = spawn_app_with(AccessSettings {
        attempts_per_email: std::num::NonZeroU32::new(3).expect("3"),
        ..AccessSettings::default()
    })
    .await;
    let password = "a long pass phrase";
    app.user("rami@example.com", Role::Admin, None, Some(password))
        .await;
    let attempt = |p: &str| {
        app.client
            .post(app.url("/api/v1/login"))
            .json(&json!({"email": "rami@example.com", "password": p}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("guess guess guess").await.expect("req").status(),
            401
        );
    }
    // Spent: even the right password waits, and the answer says how long.
    let response = attempt(password).await.expect("req");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // Another e-mail from the same place is not locked out by it.
    let other = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"email": "someone@example.com", "password": "whatever it is"}))
        .send()
        .await
        .expect("req");
    assert_eq!(other.status(), 401);
}

#[tokio::test]
async fn a_contact_is_exported_whole_and_erased_without_trace() {
    let app = spawn_app().await;
    seed(&app).await;
    let contacts = answer(app.get("/api/v1/contacts")).await.1;
    let id = contacts["items"][0]["id"].as_i64().expect("id");
    answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/notes"),
        json!({"text": "asked about delivery to Dammam"}),
    ))
    .await;
    let conversations = answer(app.get(&format!("/api/v1/contacts/{id}/conversations")))
        .await
        .1;
    assert_eq!(conversations[0]["channel"], "whatsapp", "{conversations}");
    let (status, export) = answer(app.get(&format!("/api/v1/contacts/{id}/export"))).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["contact"]["phones"][0], "+966501234567");
    assert_eq!(export["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(export["notes"][0]["text"], "asked about delivery to Dammam");
    assert!(export["tags"].as_array().is_some_and(|t| !t.is_empty()));
    assert!(
        export["tag_history"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );

    let (status, erased) = answer(app.send(
        Method::DELETE,
        &format!("/api/v1/contacts/{id}"),
        json!(null),
    ))
    .await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["erased"]["messages"], 2);
    assert_eq!(
        answer(app.get(&format!("/api/v1/contacts/{id}"))).await.0,
        404
    );
    let stats = answer(app.get("/api/v1/stats")).await.1;
    assert_eq!(
        (stats["contacts"].clone(), stats["messages"].clone()),
        (json!(0), json!(0))
    );
    let audit = answer(app.get("/api/v1/audit?limit=100")).await.1;
    let text = audit.to_string();
    assert!(text.contains("contact.erase") && text.contains("contact.export"));
    assert!(
        !text.contains("966501234567") && !text.contains("Dammam"),
        "{text}"
    );
}

#[tokio::test]
async fn oversized_and_malformed_bodies_get_4xx() {
    let app = spawn_app().await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let response = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/json")
        .body(format!("[\"{huge}\"]"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    for (body, content_type) in [
        ("{not json", "application/json"),
        ("[]", "text/plain"),
        ("", "application/json"),
    ] {
        let response = app
            .client
            .post(app.url("/api/v1/contacts"))
            .bearer_auth(&app.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "{body}: {status}");
        let json: serde_json::Value = response.json().await.expect("json error");
        assert_eq!(json["error"]["field"], "body");
    }
}

#[tokio::test]
async fn admins_create_users_and_tokens_that_work_at_once() {
    let app = spawn_app().await;
    let (status, user) = answer(app.send(
        Method::POST,
        "/api/v1/users",
        json!({"email": "Amal@Example.com", "role": "agent", "name": "Amal", "team": "Gulf desk",
               "password": "a long pass phrase"}),
    ))
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        user["email"], "Amal@example.com",
        "the domain folds, the local part stays"
    );
    assert!(user["team"].is_i64());
    for (body, field) in [
        (
            json!({"email": "amal@example.com", "role": "agent"}),
            "email",
        ),
        (json!({"email": "not an email", "role": "agent"}), "email"),
        (json!({"email": "b@example.com", "role": "king"}), "role"),
        (
            json!({"email": "b@example.com", "role": "agent", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "b@example.com", "role": "agent", "team": " "}),
            "team",
        ),
    ] {
        let (status, answer_body) =
            answer(app.send(Method::POST, "/api/v1/users", body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(
            answer_body["error"]["field"], field,
            "{body} -> {answer_body}"
        );
    }
    // The new user logs in with the password set over the API.
    let response = app
        .client
        .post(app.url("/api/v1/login"))
        .json(&json!({"email": "amal@example.com", "password": "a long pass phrase"}))
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), 200);

    let (status, created) = answer(app.send(
        Method::POST,
        "/api/v1/tokens",
        json!({"name": "crm-sync", "user": "amal@example.com"}),
    ))
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["role"], "agent");
    let secret = created["token"].as_str().expect("token").to_owned();
    let me = answer(app.client.get(app.url("/api/v1/me")).bearer_auth(&secret))
        .await
        .1;
    assert_eq!(me["user"]["email"], "Amal@example.com");
    for (body, field) in [
        (
            json!({"name": "x", "role": "admin", "user": "amal@example.com"}),
            "role",
        ),
        (json!({"name": "x", "role": "agent"}), "user"),
        (json!({"name": " "}), "name"),
        (json!({"name": "x", "user": "ghost@example.com"}), "user"),
    ] {
        let (status, answer_body) =
            answer(app.send(Method::POST, "/api/v1/tokens", body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(
            answer_body["error"]["field"], field,
            "{body} -> {answer_body}"
        );
    }
    // An agent's token cannot create users or tokens, nor list users.
    for path in ["/api/v1/users", "/api/v1/tokens"] {
        let (status, _) = answer(
            app.client
                .post(app.url(path))
                .bearer_auth(&secret)
                .json(&json!({"name": "x", "email": "c@example.com", "role": "admin"})),
        )
        .await;
        assert_eq!(status, 403, "{path}");
    }
    assert_eq!(
        answer(
            app.client
                .get(app.url("/api/v1/users"))
                .bearer_auth(&secret)
        )
        .await
        .0,
        403
    );
    let users = answer(app.get("/api/v1/users")).await.1;
    assert_eq!(users.as_array().map(Vec::len), Some(1));
    let teams = answer(app.get("/api/v1/teams")).await.1;
    assert_eq!(teams[0]["name"], "Gulf desk");
    // The secret is in no audit entry.
    let audit = answer(app.get("/api/v1/audit?limit=100"))
        .await
        .1
        .to_string();
    assert!(audit.contains("token.create") && audit.contains("user.create"));
    assert!(!audit.contains(&secret) && !audit.contains("a long pass phrase"));
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_metrics_count_requests() {
    let app = spawn_app().await;
    let (status, doc) = answer(app.client.get(app.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/healthz", "get"),
        ("/api/v1/login", "post"),
        ("/api/v1/contacts", "get"),
        ("/api/v1/contacts", "post"),
        ("/api/v1/contacts/{id}", "patch"),
        ("/api/v1/contacts/{id}", "delete"),
        ("/api/v1/contacts/{id}/export", "get"),
        ("/api/v1/events", "post"),
        ("/api/v1/broadcasts/{id}/{action}", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/audit", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
    assert!(doc["components"]["schemas"]["ContactDto"].is_object());

    // Metrics: admins only, requests counted by route pattern, not by id.
    answer(app.get("/api/v1/contacts/12345")).await;
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), 401);
    let text = app
        .get("/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        text.contains(r#"route="/api/v1/contacts/{id}",status="404""#),
        "{text}"
    );
    assert!(!text.contains("12345"), "{text}");
    assert!(text.contains("stoke_stored{kind=\"contacts\"} 0"), "{text}");
}

#[tokio::test]
async fn accounts_templates_and_sends_over_the_api() {
    let app = spawn_app().await;
    seed(&app).await;
    let (status, account) = answer(app.send(
        Method::POST,
        "/api/v1/accounts",
        json!({"name": "wa-riyadh", "channel": "simulator", "per_minute": 6}),
    ))
    .await;
    assert_eq!(status, 201, "{account}");
    assert_eq!(account["pacing"]["per_minute"], 6);
    for (body, field) in [
        (json!({"name": "x", "channel": "pigeon"}), "channel"),
        (json!({"name": " ", "channel": "simulator"}), "name"),
        (
            json!({"name": "y", "channel": "simulator", "per_hour": 0}),
            "per_hour",
        ),
    ] {
        let (status, answer_body) =
            answer(app.send(Method::POST, "/api/v1/accounts", body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(
            answer_body["error"]["field"], field,
            "{body} -> {answer_body}"
        );
    }
    let (status, _) = answer(app.send(
        Method::POST,
        "/api/v1/accounts",
        json!({"name": "wa-riyadh", "channel": "simulator"}),
    ))
    .await;
    assert_eq!(status, 409, "the name is taken");
    let (status, changed) = answer(app.send(
        Method::PATCH,
        "/api/v1/accounts/wa-riyadh",
        json!({"per_minute": 30}),
    ))
    .await;
    assert_eq!(status, 200, "{changed}");
    assert!(
        changed["warning"].is_string(),
        "30 a minute risks a ban: {changed}"
    );
    assert_eq!(
        answer(app.send(
            Method::PATCH,
            "/api/v1/accounts/nope",
            json!({"per_minute": 3})
        ))
        .await
        .0,
        404
    );

    let (status, template) = answer(app.send(
        Method::PUT,
        "/api/v1/templates/welcome",
        json!({"language": "ar", "text": "أهلا {{ first_name }}", "fallbacks": {"first_name": "عميلنا"}}),
    ))
    .await;
    assert_eq!(status, 200, "{template}");
    let (status, body) = answer(app.send(
        Method::PUT,
        "/api/v1/templates/broken",
        json!({"text": "Hi {{ first_name"}),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = answer(app.send(
        Method::PUT,
        "/api/v1/templates/pic",
        json!({"text": "look", "kind": "image"}),
    ))
    .await;
    assert_eq!(status, 400, "an image needs its URL: {body}");
    // The approved WhatsApp template a variant goes out as outside the service window.
    let (status, mapped) = answer(app.send(
        Method::PUT,
        "/api/v1/templates/quote",
        json!({"text": "Hi {{ first_name }}, quote {{ order_id }}", "whatsapp_template": "quote_ready",
               "whatsapp_language": "en_US", "whatsapp_parameters": ["first_name", "order_id"]}),
    ))
    .await;
    assert_eq!(status, 200, "{mapped}");
    assert_eq!(mapped["variants"][0]["whatsapp_template"], "quote_ready");
    assert_eq!(
        mapped["variants"][0]["whatsapp_parameters"],
        json!(["first_name", "order_id"])
    );
    for (input, field) in [
        (
            json!({"text": "x", "whatsapp_template": "quote_ready"}),
            "whatsapp_language",
        ),
        (
            json!({"text": "x", "whatsapp_template": "Quote Ready", "whatsapp_language": "en"}),
            "whatsapp_template",
        ),
    ] {
        let (status, body) = answer(app.send(Method::PUT, "/api/v1/templates/quote", input)).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}"
        );
    }
    let contacts = answer(app.get("/api/v1/contacts")).await.1;
    let id = contacts["items"][0]["id"].as_i64().expect("id");
    let shown = answer(app.get(&format!("/api/v1/templates/welcome?contact={id}")))
        .await
        .1;
    assert_eq!(shown["rendered"]["language"], "ar", "{shown}");
    assert!(
        shown["rendered"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("أهلا"))
    );
    // Opening a conversation with no WhatsApp message to mark: nothing to do.
    let (status, _) = answer(app.send(
        Method::POST,
        &format!("/api/v1/contacts/{id}/read"),
        json!({}),
    ))
    .await;
    assert_eq!(status, 204);
    let listed = answer(app.get("/api/v1/templates")).await.1;
    let names: Vec<&str> = listed
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"welcome"), "{listed}");

    // A reply is queued on the account, once per key.
    let send = |body: serde_json::Value| {
        app.send(
            Method::POST,
            &format!("/api/v1/contacts/{id}/messages"),
            body,
        )
    };
    let (status, queued) = answer(send(
        json!({"account": "wa-riyadh", "text": "نعم متوفر", "key": "r1"}),
    ))
    .await;
    assert_eq!(status, 202, "{queued}");
    let (_, again) = answer(send(
        json!({"account": "wa-riyadh", "text": "نعم متوفر", "key": "r1"}),
    ))
    .await;
    assert_eq!(
        again["outbox"], queued["outbox"],
        "the same key queues one message"
    );
    let (status, _) = answer(send(json!({"account": "wa-riyadh", "template": "welcome"}))).await;
    assert_eq!(status, 202);
    for (body, field) in [
        (json!({"account": "nope", "text": "x"}), "account"),
        (json!({"account": "wa-riyadh"}), "text"),
        (
            json!({"account": "wa-riyadh", "text": "x", "template": "welcome"}),
            "text",
        ),
        (
            json!({"account": "wa-riyadh", "template": "missing"}),
            "template",
        ),
        (json!({"account": "wa-riyadh", "text": "  "}), "text"),
    ] {
        let (status, answer_body) = answer(send(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(
            answer_body["error"]["field"], field,
            "{body} -> {answer_body}"
        );
    }
    let outbox = app
        .store
        .list_outbox(None, stoke_store::PageRequest::first(10))
        .await
        .expect("outbox");
    assert_eq!(outbox.items.len(), 2, "{outbox:?}");
}

#[tokio::test]
async fn contacts_and_messages_are_searched_within_the_callers_scope() {
    let app = spawn_app().await;
    seed(&app).await;
    let (_, huda) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"name": "هدى الأحمد", "phones": ["+971501112233"]}),
    ))
    .await;
    let huda = huda["id"].as_i64().expect("id");
    for (query, expect) in [
        ("q=%D8%A7%D8%AD%D9%85%D8%AF", Some(huda)), // احمد: no article, no hamza
        ("q=971%2050%20111", Some(huda)),
        ("q=nobody-at-all", None),
        ("tag=intent:high", None),
    ] {
        let (status, found) = answer(app.get(&format!("/api/v1/contacts?{query}"))).await;
        assert_eq!(status, 200, "{query}: {found}");
        let ids: Vec<i64> = found["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|c| c["id"].as_i64())
            .collect();
        match expect {
            Some(id) => assert_eq!(ids, vec![id], "{query}"),
            None if query.starts_with("tag") => {
                assert_eq!(ids.len(), 1, "the seeded price question is hot: {found}");
                assert_ne!(ids[0], huda);
            }
            None => assert!(ids.is_empty(), "{query}: {found}"),
        }
    }
    for (query, field) in [
        ("tag=hot", "tag"),
        ("owner=ghost@example.com", "owner"),
        ("unassigned=maybe", "unassigned"),
        ("colour=red", "query"),
    ] {
        let (status, body) = answer(app.get(&format!("/api/v1/contacts?{query}"))).await;
        assert_eq!(
            (status, body["error"]["field"].clone()),
            (400, json!(field)),
            "{query}"
        );
    }
    let (status, found) = answer(app.get("/api/v1/messages?q=%D8%A8%D9%83%D9%85")).await; // بكم
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["text"], "بكم هذا؟", "{found}");
    for query in ["q=", "q=%22", "q=*", "q=AND%20OR%20NOT", "q=x&account=nope"] {
        let (status, body) = answer(app.get(&format!("/api/v1/messages?{query}"))).await;
        assert!(status == 200 || status == 400, "{query}: {status} {body}");
    }
    // An agent finds nothing that is not theirs.
    let agent = app.user("sara@example.com", Role::Agent, None, None).await;
    let token = app.token_for(Role::Agent, Some(agent.id)).await;
    let found = answer(
        app.client
            .get(app.url("/api/v1/messages?q=%D8%A8%D9%83%D9%85"))
            .bearer_auth(&token),
    )
    .await
    .1;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(0), "{found}");
}

#[tokio::test]
async fn admins_read_and_replace_the_playbook() {
    let app = spawn_app().await;
    let (status, shown) = answer(app.get("/api/v1/playbook")).await;
    assert_eq!(status, 200);
    assert_eq!(shown["source"], "the built-in default");
    let text = shown["toml"].as_str().expect("toml").to_owned();
    let (status, body) = answer(app.send(
        Method::PUT,
        "/api/v1/playbook",
        json!({"toml": "[activity]\nhigh_within = \"soon\"\n"}),
    ))
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "toml");
    let changed = format!("# tuned for the Gulf desk\n{text}");
    let (status, body) =
        answer(app.send(Method::PUT, "/api/v1/playbook", json!({"toml": changed}))).await;
    assert_eq!(status, 200, "{body}");
    let shown = answer(app.get("/api/v1/playbook")).await.1;
    assert!(
        shown["source"]
            .as_str()
            .is_some_and(|s| s.contains("workspace")),
        "{shown}"
    );
    assert!(
        shown["toml"]
            .as_str()
            .is_some_and(|t| t.contains("tuned for the Gulf desk"))
    );
    let stored = app
        .store
        .get_setting(stoke_server::playbook::PLAYBOOK_SETTING)
        .await
        .expect("setting");
    assert!(
        stored.is_some_and(|(t, _)| t.contains("Gulf desk")),
        "kept for every node"
    );
    let agent = app.user("sara@example.com", Role::Agent, None, None).await;
    let token = app.token_for(Role::Agent, Some(agent.id)).await;
    let (status, _) = answer(
        app.client
            .get(app.url("/api/v1/playbook"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn custom_fields_are_defined_and_their_values_checked() {
    let app = spawn_app().await;
    let (status, field) = answer(app.send(
        Method::PUT,
        "/api/v1/custom-fields/plan",
        json!({"type": "choice", "choices": ["gold", "silver"]}),
    ))
    .await;
    assert_eq!(status, 200, "{field}");
    for (path, body, bad) in [
        (
            "/api/v1/custom-fields/plan",
            json!({"type": "colour"}),
            "type",
        ),
        (
            "/api/v1/custom-fields/plan",
            json!({"type": "choice"}),
            "choices",
        ),
        (
            "/api/v1/custom-fields/no%20spaces",
            json!({"type": "text"}),
            "name",
        ),
    ] {
        let (status, answer_body) = answer(app.send(Method::PUT, path, body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer_body}");
        assert_eq!(answer_body["error"]["field"], bad);
    }
    let listed = answer(app.get("/api/v1/custom-fields")).await.1;
    assert_eq!(listed[0]["name"], "plan");
    assert_eq!(listed[0]["choices"], json!(["gold", "silver"]));
    let (status, body) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"phones": ["+971501112299"], "custom": {"plan": "bronze"}}),
    ))
    .await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("custom.plan")),
        "{body}"
    );
    let (status, body) = answer(app.send(
        Method::POST,
        "/api/v1/contacts",
        json!({"phones": ["+971501112299"], "custom": {"plan": "gold"}}),
    ))
    .await;
    assert_eq!(status, 201, "{body}");
}

/// The segment cache follows the store's change feed: a new hot lead shows in a count as soon
/// as the index is older than the minimum age (zero here), not after the maximum (an hour).
#[tokio::test]
async fn segment_indexes_follow_the_change_feed() {
    let app = spawn_app().await;
    let cache = stoke_server::segments::SegmentCache::new(
        app.store.clone(),
        std::time::Duration::ZERO,
        std::time::Duration::from_secs(3600),
    );
    let high = stoke_core::segment::Segment::parse("intent:high").expect("segment");
    let count = |built: &stoke_server::segments::BuiltIndex| {
        built.index.evaluate(&high, jiff::Timestamp::now()).len()
    };
    assert_eq!(count(&cache.get().await.expect("index")), 0);
    seed(&app).await;
    let mut seen = 0;
    for _ in 0..100 {
        seen = count(&cache.get().await.expect("index"));
        if seen == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(seen, 1, "the price question made a hot lead");
}

#[tokio::test]
async fn tokens_are_revoked_and_passwords_changed() {
    let app = spawn_app().await;
    let password = "a long pass phrase";
    let nour = app
        .user("nour@example.com", Role::Admin, None, Some(password))
        .await;
    let secret = app.token_for(Role::Admin, Some(nour.id)).await;
    let tokens = answer(app.get("/api/v1/tokens")).await.1;
    let listed = tokens.as_array().expect("tokens");
    assert_eq!(listed.len(), 2, "{tokens}");
    assert!(!tokens.to_string().contains(&secret), "never a secret");
    let id = listed[1]["id"].as_i64().expect("id");
    let (status, revoked) =
        answer(app.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), json!(null))).await;
    assert_eq!(status, 200, "{revoked}");
    let (status, _) = answer(app.client.get(app.url("/api/v1/me")).bearer_auth(&secret)).await;
    assert_eq!(status, 401, "a revoked token stops working at once");
    assert_eq!(
        answer(app.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), json!(null)))
            .await
            .0,
        404
    );

    // A password change needs the current one and ends every session.
    let login = |p: &str| {
        app.client
            .post(app.url("/api/v1/login"))
            .json(&json!({"email": "nour@example.com", "password": p}))
            .send()
    };
    let response = login(password).await.expect("login");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let csrf = response.json::<serde_json::Value>().await.expect("json")["csrf_token"]
        .as_str()
        .expect("csrf")
        .to_owned();
    let change = |current: &str, new: &str| {
        app.client
            .put(app.url("/api/v1/me/password"))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"current": current, "new": new}))
    };
    let (status, body) = answer(change("wrong password", "another long phrase")).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("current"))
    );
    let (status, body) = answer(change(password, "short")).await;
    assert_eq!(
        (status, body["error"]["field"].clone()),
        (400, json!("new"))
    );
    let (status, _) = answer(change(password, "another long phrase")).await;
    assert_eq!(status, 204);
    let (status, _) = answer(
        app.client
            .get(app.url("/api/v1/me"))
            .header("Cookie", &cookie),
    )
    .await;
    assert_eq!(status, 401, "the sessions ended");
    assert_eq!(login(password).await.expect("login").status(), 401);
    assert_eq!(
        login("another long phrase").await.expect("login").status(),
        200
    );
}
