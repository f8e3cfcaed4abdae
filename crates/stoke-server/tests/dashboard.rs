//! The dashboard over HTTP: logging in, each page for each role, what an agent cannot reach,
//! forms that refuse a missing CSRF token, a reply queued through the account's channel, and
//! the language switch. (The browser flows are in `crates/stoke/tests/dashboard.rs`.)

mod common;

use std::sync::Arc;

use common::{App, recent, spawn_app};
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_core::{Channel, ContactDraft, ContactId, ContactRef, Direction, Phone, Role, UserId};
use stoke_store::{IncomingMessage, PageRequest};

/// A browser without redirects followed: each answer is looked at as it comes.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A signed-in browser: its session cookie.
struct Session {
    cookie: String,
}

async fn log_in(app: &App, email: &str, password: &str) -> Session {
    let response = browser()
        .post(app.url("/login"))
        .form(&[("email", email), ("password", password), ("next", "/inbox")])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/inbox");
    let cookie = response.headers()[SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    Session { cookie }
}

impl Session {
    async fn page(&self, app: &App, path: &str) -> (StatusCode, String) {
        let response = browser()
            .get(app.url(path))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("page");
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    async fn post(&self, app: &App, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        browser()
            .post(app.url(path))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .expect("post")
    }
}

/// The CSRF token a page's forms carry.
fn csrf(html: &str) -> String {
    let start = html
        .find(r#"name="csrf" value=""#)
        .expect("a form with a token")
        + 19;
    html[start..].split('"').next().expect("token").to_owned()
}

fn rules() -> Arc<Rules> {
    Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"))
}

/// Two agents, each with a customer who just asked for a price.
struct Desk {
    sara: UserId,
    mine: ContactId,
    theirs: ContactId,
}

async fn desk(app: &App) -> Desk {
    let team = app.store.create_team("Riyadh").await.expect("team").id;
    let sara = app
        .user(
            "sara@example.com",
            Role::Agent,
            Some(team),
            Some("sara's long password"),
        )
        .await;
    let omar = app
        .user(
            "omar@example.com",
            Role::Agent,
            Some(team),
            Some("omar's long password"),
        )
        .await;
    app.user(
        "boss@example.com",
        Role::Admin,
        None,
        Some("the admin's password"),
    )
    .await;
    let mut ids = Vec::new();
    for (name, phone, owner) in [
        ("Layla Haddad", "+966501110001", sara.id),
        ("Fahd Otaibi", "+966501110002", omar.id),
    ] {
        let mut contact = app
            .store
            .create_contact(
                &ContactDraft {
                    name: Some(name.into()),
                    phones: vec![Phone::parse(phone, None).expect("phone")],
                    ..ContactDraft::default()
                },
                Timestamp::now(),
            )
            .await
            .expect("contact");
        contact.owner = Some(owner);
        app.store
            .update_contact(&contact, Timestamp::now())
            .await
            .expect("owner");
        ids.push(contact.id);
    }
    let message = |id: &str, phone: &str, text: &str| IncomingMessage {
        external_id: id.into(),
        contact: ContactRef::parse(phone).expect("ref"),
        account: "wa-sales-1".into(),
        channel: Channel::WhatsApp,
        direction: Direction::In,
        text: text.into(),
        at: recent(30),
        provider_id: None,
    };
    app.store
        .ingest_messages(
            &[
                message("a1", "+966501110001", "How much is the blue sofa?"),
                message("b1", "+966501110002", "بكم الكنبة الزرقاء؟"),
            ],
            Timestamp::now(),
            &rules(),
        )
        .await
        .expect("ingest");
    Desk {
        sara: sara.id,
        mine: ids[0],
        theirs: ids[1],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_send_strangers_to_the_login_and_back() {
    let app = spawn_app().await;
    desk(&app).await;
    let response = browser()
        .get(app.url("/inbox?tier=high"))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/login?next=%2Finbox%3Ftier%3Dhigh"
    );
    let login = browser()
        .get(app.url("/login?next=%2Finbox"))
        .header("accept-language", "ru-RU,ru;q=0.9")
        .send()
        .await
        .expect("login page");
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.expect("body");
    assert!(html.contains("Вход в Stoke"), "{html}");
    // Escaped as every value is (minijinja writes `/` as `&#x2f;`).
    assert!(
        html.contains(r#"name="next" value="&#x2f;inbox""#),
        "{html}"
    );

    // A wrong password: the form again, saying so, and no session.
    let wrong = browser()
        .post(app.url("/login"))
        .form(&[("email", "sara@example.com"), ("password", "not it at all")])
        .send()
        .await
        .expect("login");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("password is wrong")
    );

    // Another site as the place to go back to: refused, today instead.
    let elsewhere = browser()
        .post(app.url("/login"))
        .form(&[
            ("email", "sara@example.com"),
            ("password", "sara's long password"),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(elsewhere.headers()[LOCATION], "/today");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_their_own_customers_and_reaches_no_one_else() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let sara = log_in(&app, "sara@example.com", "sara's long password").await;

    // Today: her customer, a quote due within the hour, with the reason; not Omar's.
    let (status, today) = sara.page(&app, "/today").await;
    assert_eq!(status, StatusCode::OK, "{today}");
    assert!(today.contains("Layla Haddad"), "{today}");
    assert!(!today.contains("Fahd Otaibi"));
    assert!(today.contains("Send a quote"), "{today}");
    assert!(today.contains(&format!("/inbox/{}", d.mine.get())));
    assert!(today.contains("One contact to reach"), "{today}");

    // The inbox: her conversation only, newest first, with the last words.
    let (status, inbox) = sara.page(&app, "/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.contains("Layla Haddad") && inbox.contains("How much is the blue sofa?"));
    assert!(!inbox.contains("Fahd Otaibi"));
    let (_, filtered) = sara.page(&app, "/inbox?tier=dormant").await;
    assert!(!filtered.contains("Layla Haddad"));
    let (status, bad) = sara.page(&app, "/inbox?tag=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("not family:value"), "{bad}");
    // A search over all history, in her scope only.
    let (_, found) = sara.page(&app, "/inbox?q=sofa").await;
    assert!(found.contains("How much is the blue sofa?"));
    let (_, none) = sara
        .page(&app, "/inbox?q=%D8%A7%D9%84%D9%83%D9%86%D8%A8%D8%A9")
        .await;
    assert!(!none.contains("Fahd Otaibi"));

    // Her conversation and card: the tag with its rule and the message that set it.
    let (status, conversation) = sara.page(&app, &format!("/inbox/{}", d.mine.get())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(conversation.contains("How much is the blue sofa?"));
    assert!(
        conversation.contains(r#"data-tag="intent:high""#),
        "{conversation}"
    );
    let (status, card) = sara
        .page(&app, &format!("/contacts/{}", d.mine.get()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(card.contains(r#"data-tag="intent:high""#), "{card}");
    assert!(card.contains("<code>intent.high</code>"), "{card}");
    assert!(card.contains("<blockquote><bdi>How much is the blue sofa?</bdi></blockquote>"));

    // Omar's customer does not exist for her, on every page; admin pages are closed.
    for path in [
        format!("/inbox/{}", d.theirs.get()),
        format!("/contacts/{}", d.theirs.get()),
        "/contacts/999999".to_owned(),
        "/inbox/not-a-number".to_owned(),
    ] {
        let (status, html) = sara.page(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("Fahd Otaibi"), "{path}");
    }
    for path in ["/segments", "/broadcasts", "/broadcasts/1"] {
        assert_eq!(
            sara.page(&app, path).await.0,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (_, page) = sara.page(&app, "/today").await;
    assert!(
        !page.contains(r#"href="/segments""#),
        "no admin links for an agent"
    );
    let _ = d.sara;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_is_queued_through_the_account_and_needs_the_forms_token() {
    let app = spawn_app().await;
    let d = desk(&app).await;
    let sara = log_in(&app, "sara@example.com", "sara's long password").await;
    let path = format!("/inbox/{}", d.mine.get());
    let (_, page) = sara.page(&app, &path).await;
    let token = csrf(&page);
    assert!(
        page.contains(r#"<option value="wa-sales-1" selected>"#),
        "{page}"
    );
    let reply = format!("{path}/reply");

    // Without the token (a forged form from another site): refused, nothing queued.
    let forged = sara
        .post(&app, &reply, &[("text", "Hi"), ("account", "wa-sales-1")])
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // An empty reply: the page again, saying so.
    let empty = sara
        .post(
            &app,
            &reply,
            &[("csrf", &token), ("text", "  "), ("account", "wa-sales-1")],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert!(
        empty
            .text()
            .await
            .expect("body")
            .contains("Write a reply first")
    );
    let outbox = || async {
        app.store
            .list_outbox(None, PageRequest::first(100))
            .await
            .expect("outbox")
            .items
    };
    assert!(outbox().await.is_empty());

    // The reply, sent twice by a double click with the form's key: queued once.
    for _ in 0..2 {
        let sent = sara
            .post(
                &app,
                &reply,
                &[
                    ("csrf", &token),
                    ("text", "It is 2,400 SAR, delivered this week."),
                    ("account", "wa-sales-1"),
                    ("key", "form-1"),
                ],
            )
            .await;
        assert_eq!(sent.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            sent.headers()[LOCATION],
            format!("/inbox/{}?done=wa%2Dsales%2D1", d.mine.get())
        );
    }
    let queued = outbox().await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].contact, d.mine);
    let (_, after) = sara.page(&app, &format!("{path}?done=wa-sales-1")).await;
    assert!(after.contains("Your reply is queued"), "{after}");

    // A reply to someone else's customer: not found, nothing queued.
    let theirs = sara
        .post(
            &app,
            &format!("/inbox/{}/reply", d.theirs.get()),
            &[
                ("csrf", &token),
                ("text", "Hello"),
                ("account", "wa-sales-1"),
            ],
        )
        .await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    assert_eq!(outbox().await.len(), 1);

    // A note on the card, with the same token.
    let note = sara
        .post(
            &app,
            &format!("/contacts/{}/notes", d.mine.get()),
            &[("csrf", &token), ("text", "Wants delivery before Friday")],
        )
        .await;
    assert_eq!(note.status(), StatusCode::SEE_OTHER);
    let (_, card) = sara
        .page(&app, &format!("/contacts/{}", d.mine.get()))
        .await;
    assert!(card.contains("Wants delivery before Friday"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_reader_chooses_a_language_and_arabic_mirrors_the_page() {
    let app = spawn_app().await;
    desk(&app).await;
    let sara = log_in(&app, "sara@example.com", "sara's long password").await;
    let (_, page) = sara.page(&app, "/today").await;
    assert!(page.contains(r#"<html lang="en" dir="ltr">"#));
    let token = csrf(&page);
    let bad = sara
        .post(&app, "/language", &[("csrf", &token), ("lang", "xx")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let chosen = sara
        .post(
            &app,
            "/language",
            &[("csrf", &token), ("lang", "ar"), ("back", "/inbox")],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(chosen.headers()[LOCATION], "/inbox");
    let (_, page) = sara.page(&app, "/inbox").await;
    assert!(page.contains(r#"<html lang="ar" dir="rtl">"#), "{page}");
    assert!(page.contains("صندوق الوارد"));
    // Hers only: another agent still reads English.
    let omar = log_in(&app, "omar@example.com", "omar's long password").await;
    let (_, page) = omar.page(&app, "/inbox").await;
    assert!(page.contains(r#"dir="ltr""#));
    let token = csrf(&page);
    omar.post(&app, "/language", &[("csrf", &token), ("lang", "ru")])
        .await;
    let (_, page) = omar.page(&app, "/today").await;
    assert!(page.contains("Сегодня") && page.contains(r#"lang="ru""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sees_segments_and_runs_a_broadcast() {
    let app = spawn_app().await;
    desk(&app).await;
    let admin = log_in(&app, "boss@example.com", "the admin's password").await;
    let (status, page) = admin.page(&app, "/segments").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Contacts by tag (2)"), "{page}");
    assert!(page.contains("Purchase intent"));
    let (_, preview) = admin
        .page(
            &app,
            "/segments/preview?expr=intent%3Ahigh%20and%20not%20opted_out",
        )
        .await;
    assert!(preview.contains("2 of 2 contacts"), "{preview}");
    assert!(preview.contains("Layla Haddad") && preview.contains("Fahd Otaibi"));
    let (status, problem) = admin.page(&app, "/segments/preview?expr=intent%3A").await;
    assert_eq!(status, StatusCode::OK);
    assert!(problem.contains("cannot be read"), "{problem}");

    // A template to send, then the broadcast from the form.
    let (status, _) = common::answer(app.send(
        reqwest::Method::PUT,
        "/api/v1/templates/welcome",
        serde_json::json!({"text": "Hello {{ first_name }}, the sofa is back in stock."}),
    ))
    .await;
    assert!(status < 300, "{status}");
    let (_, page) = admin.page(&app, "/broadcasts").await;
    assert!(page.contains("<option >welcome</option>") || page.contains(">welcome</option>"));
    let token = csrf(&page);
    let refused = admin
        .post(
            &app,
            "/broadcasts",
            &[
                ("csrf", token.as_str()),
                ("name", "Back in stock"),
                ("audience", "intent:"),
                ("template", "welcome"),
                ("account", "wa-sales-1"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.expect("body").contains("audience:"));
    let created = admin
        .post(
            &app,
            "/broadcasts",
            &[
                ("csrf", token.as_str()),
                ("name", "Back in stock"),
                ("audience", "intent:high and not opted_out"),
                ("template", "welcome"),
                ("account", "wa-sales-1"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION]
        .to_str()
        .expect("path")
        .to_owned();
    let (status, page) = admin.page(&app, &location).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Back in stock") && page.contains(r#"data-status="draft">Draft<"#),
        "{page}"
    );
    let (_, progress) = admin.page(&app, &format!("{location}/progress")).await;
    assert!(progress.contains(r#"id="progress""#) && !progress.contains("<html"));
    let started = admin
        .post(
            &app,
            &format!("{location}/start"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&app, &location).await;
    assert!(page.contains(r#"data-status="running">Sending<"#), "{page}");
    assert!(page.contains(r#"data-refresh=""#));
}
