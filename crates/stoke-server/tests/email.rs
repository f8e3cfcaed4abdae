//! The e-mail channel end to end: the dispatcher sends through `SmtpRelay` to a real SMTP server
//! process on loopback (aiosmtpd, installed and started by `scripts/smtp-sink`), the received
//! MIME is parsed and checked (headers, both parts, tracking links), and the links are followed
//! on a real Stoke server with a real SQLite store: the pixel records an open, a click redirects
//! to the original URL and records a click, a tampered token is refused, a one-click
//! unsubscribe withdraws e-mail consent with its reason. The relay's rejections become failure
//! classes, and AUTH is checked by the server.
//!
//! Without the sink (no python3 with venv, no package index) these tests FAIL, saying so: a test
//! of the e-mail channel that passes without an SMTP server would prove nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use mailparse::{MailHeaderMap, ParsedMail};
use stoke_core::engine::Rules;
use stoke_core::outbox::OutboxStatus;
use stoke_core::playbook::Playbook;
use stoke_core::{
    Account, Channel, ConsentStatus, ContactDraft, ContactId, Email, EventKind, Language,
};
use stoke_server::AccessSettings;
use stoke_server::channel::AccountSettings;
use stoke_server::channel::Provider;
use stoke_server::dispatch::Wake;
use stoke_server::email::send::SmtpRelay;
use stoke_server::email::{self, EmailSettings, Security};
use stoke_server::scheduler::LiveRules;
use stoke_server::secrets::WorkspaceKey;
use stoke_store::outbox::{Content, OutboxEntry};
use stoke_store::{PageRequest, Store};
use stoke_store_sqlite::SqliteStore;

/// The SMTP sink process; stopped when dropped (its stdin closes, and it is killed).
struct Sink {
    port: u16,
    dir: PathBuf,
    child: Child,
    _stdin: ChildStdin,
    _tmp: tempfile::TempDir,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sink {
    fn start(auth: Option<&str>) -> Sink {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink");
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("mail");
        let mut command = Command::new(&script);
        command.arg("--dir").arg(&dir);
        if let Some(auth) = auth {
            command.arg("--auth").arg(auth);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): the e-mail tests need the SMTP sink (python3 with venv; scripts/smtp-sink --install)",
                    script.display()
                )
            });
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        // The first run installs aiosmtpd from PyPI.
        let line = rx
            .recv_timeout(Duration::from_secs(300))
            .unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("listening 127.0.0.1 ")
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the SMTP sink did not start (it said {line:?}; see its errors above): the e-mail tests need python3 with venv and aiosmtpd from PyPI (scripts/smtp-sink --install)"
                )
            });
        Sink {
            port,
            dir,
            child,
            _stdin: stdin,
            _tmp: tmp,
        }
    }

    /// The messages received so far, in order: (raw bytes, envelope JSON).
    fn received(&self) -> Vec<(Vec<u8>, serde_json::Value)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .into_iter()
            .map(|p| {
                let raw = std::fs::read(&p).expect("message");
                let envelope = std::fs::read_to_string(p.with_extension("json")).expect("envelope");
                (raw, serde_json::from_str(&envelope).expect("envelope JSON"))
            })
            .collect()
    }
}

struct World {
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    key: WorkspaceKey,
    account: Account,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A Stoke server on loopback with an e-mail account whose relay is `sink`.
async fn world(sink: &Sink, credentials: Option<(&str, &str)>) -> World {
    let dir = tempfile::tempdir().expect("dir");
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("stoke.db")).expect("store"));
    let rules = Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules");
    let live = Arc::new(LiveRules::new(Arc::new(rules)));
    let key = WorkspaceKey::generate().expect("key");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (served, rules, served_key) = (store.clone(), live.clone(), key.clone());
    tokio::spawn(async move {
        stoke_server::serve_with_key(
            listener,
            served,
            rules,
            AccessSettings::default(),
            Some(served_key),
            std::future::pending(),
        )
        .await
        .expect("serve");
    });
    let account = email::configure(
        store.as_ref(),
        &key,
        "mail",
        EmailSettings {
            host: "127.0.0.1".into(),
            port: sink.port,
            security: Security::None,
            username: credentials.map(|(u, _)| u.to_owned()),
            password: credentials.map(|(_, p)| p.to_owned()),
            from_address: "sales@shop.example".into(),
            from_name: Some("Shop Sales".into()),
            public_url: base.clone(),
            unsubscribe_mailto: Some("unsubscribe@shop.example".into()),
            webhook_secret: Some(WEBHOOK_SECRET.into()),
        },
        "test",
        Timestamp::now() - SignedDuration::from_hours(24 * 60),
    )
    .await
    .expect("account");
    World {
        store,
        live,
        key,
        account,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        _dir: dir,
    }
}

async fn customer(w: &World, name: &str, address: &str, language: Option<&str>) -> ContactId {
    let draft = ContactDraft {
        name: Some(name.into()),
        emails: vec![Email::parse(address).expect("e-mail")],
        language: language.map(|l| Language::parse(l).expect("language")),
        ..ContactDraft::default()
    };
    w.store
        .create_contact(&draft, Timestamp::now() - SignedDuration::from_hours(2))
        .await
        .expect("contact")
        .id
}

/// Sends a broadcast of `text` to `contacts` through the dispatcher and the relay; returns the
/// outbox entries.
async fn broadcast(w: &World, text: &str, contacts: &[ContactId]) -> Vec<OutboxEntry> {
    let now = Timestamp::now();
    let b = common::running_broadcast(
        w.store.as_ref(),
        w.account.id,
        Content::Text(text.into()),
        contacts,
        true,
        now,
    )
    .await;
    let provider: Arc<dyn Provider> = Arc::new(SmtpRelay::new(w.key.clone()));
    let account = w.store.get_account(&w.account.name).await.expect("account");
    let mut d =
        common::claimed_dispatcher(w.store.clone(), w.live.clone(), provider, account, now, 7)
            .await;
    let mut clock = now;
    for _ in 0..100 {
        match d.step(clock).await.expect("step") {
            Wake::At(t) => clock = t.max(clock),
            Wake::Lost => panic!("lease lost"),
        }
        let entries = w
            .store
            .list_outbox(Some(b), PageRequest::first(50))
            .await
            .expect("outbox")
            .items;
        // Done when every message was tried once (a transient failure waits for a retry).
        if entries
            .iter()
            .all(|e| e.attempts > 0 || e.status != OutboxStatus::Queued)
        {
            return entries;
        }
    }
    panic!("the broadcast did not finish");
}

fn header(mail: &ParsedMail, name: &str) -> String {
    mail.headers
        .get_first_value(name)
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The `href`s and `src`s of an HTML part, in order.
fn urls(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let end = rest.find('"').expect("closing quote");
            out.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    out
}

async fn events(w: &World, contact: ContactId) -> Vec<EventKind> {
    w.store
        .list_events(contact, PageRequest::first(100))
        .await
        .expect("events")
        .items
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

const WEBHOOK_SECRET: &str = "relay-webhook-secret";

/// `sha256=HEX` of HMAC-SHA256 over `body` under `secret`, as the relay signs its reports.
fn sign(secret: &str, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

const OFFER: &str = "Subject: Your offer, {{ first_name }}\n\nHello {{ first_name }},\nour cat food is on sale: https://shop.example/offers/discount-cat-food?size=2kg&ref=mail.\n\nReply to this e-mail with any question.";

#[tokio::test]
async fn messages_arrive_as_multipart_with_working_tracking_and_unsubscribe() {
    let sink = Sink::start(None);
    let w = world(&sink, None).await;
    let ann = customer(&w, "Ann Lee", "ann@customer.example", None).await;
    let entries = broadcast(&w, OFFER, &[ann]).await;
    assert_eq!(entries.len(), 1);
    let sent = &entries[0];
    assert_eq!(sent.status, OutboxStatus::Sent, "{sent:?}");
    let provider_id = sent.provider_id.clone().expect("provider id");

    let received = sink.received();
    assert_eq!(received.len(), 1, "one message at the relay");
    let (raw, envelope) = &received[0];
    assert_eq!(envelope["mail_from"], "sales@shop.example");
    assert_eq!(
        envelope["rcpt_tos"],
        serde_json::json!(["ann@customer.example"])
    );
    let mail = mailparse::parse_mail(raw).expect("the received MIME parses");
    // The unsubscribe headers as written on the wire, not RFC 2047-encoded words that a mail
    // client would not read as URIs.
    let wire = String::from_utf8_lossy(raw);
    assert!(wire.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    assert!(wire.contains("\r\nList-Unsubscribe: <http://"), "{wire}");
    assert!(!wire.contains("=?utf-8?"), "{wire}");
    assert_eq!(header(&mail, "From"), "\"Shop Sales\" <sales@shop.example>");
    assert_eq!(header(&mail, "To"), "ann@customer.example");
    assert_eq!(header(&mail, "Subject"), "Your offer, Ann");
    assert_eq!(header(&mail, "Message-ID"), format!("<{provider_id}>"));
    assert!(provider_id.ends_with("@shop.example"), "{provider_id}");
    assert_eq!(
        header(&mail, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let list_unsubscribe = header(&mail, "List-Unsubscribe");
    let unsubscribe_url = list_unsubscribe
        .split(',')
        .map(|p| p.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|p| p.starts_with("http"))
        .expect("an https (here loopback http) unsubscribe URI")
        .to_owned();
    assert!(
        unsubscribe_url.starts_with(&format!("{}/u/", w.base)),
        "{list_unsubscribe}"
    );
    assert!(
        list_unsubscribe.contains("<mailto:unsubscribe@shop.example?subject=unsubscribe>"),
        "{list_unsubscribe}"
    );
    assert_eq!(mail.ctype.mimetype, "multipart/alternative");
    assert_eq!(mail.subparts.len(), 2);
    // As on the wire: CRLF line ends.
    let text = mail.subparts[0]
        .get_body()
        .expect("text part")
        .replace("\r\n", "\n");
    let html = mail.subparts[1]
        .get_body()
        .expect("HTML part")
        .replace("\r\n", "\n");
    assert_eq!(mail.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(mail.subparts[1].ctype.mimetype, "text/html");
    assert_eq!(mail.subparts[1].ctype.charset.to_ascii_lowercase(), "utf-8");
    // The text part is the rendered text, the subject line taken out, its link as written.
    assert!(text.starts_with("Hello Ann,\n"), "{text:?}");
    assert!(text.contains("https://shop.example/offers/discount-cat-food?size=2kg&ref=mail."));
    assert!(!text.contains("Subject:"));
    // The HTML part: escaped paragraphs, the link shown as written but pointing at Stoke.
    assert!(html.contains("<p>Hello Ann,<br>"), "{html}");
    assert!(
        html.contains(">https://shop.example/offers/discount-cat-food?size=2kg&amp;ref=mail</a>."),
        "{html}"
    );
    let links = urls(&html);
    let click = links
        .iter()
        .find(|u| u.starts_with(&format!("{}/t/c/", w.base)))
        .expect("a click redirect")
        .clone();
    let pixel = links
        .iter()
        .find(|u| u.starts_with(&format!("{}/t/o/", w.base)))
        .expect("an open pixel")
        .clone();
    assert!(links.contains(&unsubscribe_url), "{links:?}");
    assert!(
        !links.iter().any(|u| u.starts_with("https://shop.example")),
        "every link goes through Stoke: {links:?}"
    );

    // The pixel: a GIF, and one open recorded however often it is fetched.
    for _ in 0..3 {
        let response = w.http.get(&pixel).send().await.expect("pixel");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "image/gif");
        assert_eq!(&response.bytes().await.expect("gif")[..6], b"GIF89a");
    }
    let opens = |e: &Vec<EventKind>| {
        e.iter()
            .filter(|k| matches!(k, EventKind::Open { .. }))
            .count()
    };
    assert_eq!(opens(&events(&w, ann).await), 1);

    // The click: a redirect to the original URL, and a click with it on the contact.
    let response = w.http.get(&click).send().await.expect("click");
    assert_eq!(response.status(), 302);
    assert_eq!(
        response.headers()["location"],
        "https://shop.example/offers/discount-cat-food?size=2kg&ref=mail"
    );
    let after_click = events(&w, ann).await;
    assert!(
        after_click
            .iter()
            .any(|k| matches!(k, EventKind::Click { url, .. }
            if url == "https://shop.example/offers/discount-cat-food?size=2kg&ref=mail")),
        "{after_click:?}"
    );
    // The engine saw it: the click moves the contact's tags like any imported click.
    let tags = w.store.list_tags(ann).await.expect("tags");
    assert!(
        tags.iter().any(|t| t.value == "clicked-not-converted"),
        "{tags:?}"
    );
    // The link's words ("offers discount cat food") show the discount interest, with the
    // click as evidence.
    let discount = tags
        .iter()
        .find(|t| t.rule == "interest.discount")
        .unwrap_or_else(|| panic!("no discount interest from the click: {tags:?}"));
    assert!(discount.evidence.event.is_some(), "{discount:?}");
    assert!(
        discount.evidence.detail.starts_with("clicked a link about"),
        "{discount:?}"
    );

    // Tampered tokens: another URL under the same signature, a changed signature, a token of
    // another kind on this route. Each is a 404 and records nothing.
    let token = click.rsplit('/').next().expect("token");
    let (payload, tag) = token.split_once('.').expect("signed token");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut forged_payload = b64.decode(payload).expect("payload");
    let text_payload = String::from_utf8(forged_payload.clone()).expect("utf-8");
    forged_payload = text_payload
        .replace("https://shop.example/", "https://evil.example/")
        .into_bytes();
    let mut flipped = tag.to_owned();
    flipped.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" });
    let open_token = pixel.rsplit('/').next().expect("token");
    for forged in [
        format!("{}/t/c/{}.{tag}", w.base, b64.encode(&forged_payload)),
        format!("{}/t/c/{payload}.{flipped}", w.base),
        format!("{}/t/c/{open_token}", w.base),
        format!("{}/t/c/not-a-token", w.base),
        format!("{}/t/o/{payload}.{flipped}", w.base),
    ] {
        let response = w.http.get(&forged).send().await.expect("forged");
        assert_eq!(response.status(), 404, "{forged}");
        assert!(response.headers().get("location").is_none());
    }
    assert_eq!(events(&w, ann).await.len(), after_click.len());

    // The unsubscribe page asks for a reason and changes nothing.
    let page = w.http.get(&unsubscribe_url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("page");
    assert!(page.contains("<form method=\"post\">") && page.contains("name=\"reason\""));
    let contact = w.store.get_contact(ann).await.expect("contact");
    assert!(!contact.opted_out(Channel::Email));

    // RFC 8058 one-click: the mail client's POST.
    let response = w
        .http
        .post(&unsubscribe_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("one-click");
    assert_eq!(response.status(), 200);
    let contact = w.store.get_contact(ann).await.expect("contact");
    let consent = contact.consent(Channel::Email).expect("consent");
    assert_eq!(consent.status, ConsentStatus::Withdrawn);
    assert_eq!(
        consent.source,
        "unsubscribe page: one-click (List-Unsubscribe-Post)"
    );
    // The page's form afterwards, with a reason: recorded too.
    let response = w
        .http
        .post(&unsubscribe_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reason=too_many&details=every+day+is+too+much")
        .send()
        .await
        .expect("form");
    assert_eq!(response.status(), 200);
    let contact = w.store.get_contact(ann).await.expect("contact");
    assert_eq!(
        contact.consent(Channel::Email).expect("consent").source,
        "unsubscribe page: too_many: every day is too much"
    );
    let unsubscribes: Vec<String> = events(&w, ann)
        .await
        .into_iter()
        .filter_map(|k| match k {
            EventKind::Custom { name, attributes } if name == "unsubscribe" => {
                attributes.get("reason").cloned()
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        unsubscribes,
        vec![
            "one-click (List-Unsubscribe-Post)".to_owned(),
            "too_many: every day is too much".to_owned()
        ]
    );
    // A tampered unsubscribe token records nothing.
    let (u_payload, u_tag) = unsubscribe_url
        .rsplit('/')
        .next()
        .and_then(|t| t.split_once('.'))
        .expect("token");
    let mut u_flipped = u_tag.to_owned();
    u_flipped.replace_range(0..1, if u_tag.starts_with('A') { "B" } else { "A" });
    let response = w
        .http
        .post(format!("{}/u/{u_payload}.{u_flipped}", w.base))
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("forged unsubscribe");
    assert_eq!(response.status(), 404);

    // Unsubscribed, the next promotion is not sent.
    let entries = broadcast(&w, OFFER, &[ann]).await;
    assert_eq!(entries[0].status, OutboxStatus::Skipped, "{:?}", entries[0]);
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn relay_rejections_become_failure_classes() {
    let sink = Sink::start(None);
    let w = world(&sink, None).await;
    let gone = customer(&w, "Gone", "reject-gone@customer.example", None).await;
    let busy = customer(&w, "Busy", "busy-now@customer.example", None).await;
    let entries = broadcast(&w, "Hello {{ first_name }}", &[gone, busy]).await;
    let of = |c: ContactId| entries.iter().find(|e| e.contact == c).expect("entry");
    // 550 5.1.1: permanent, the address flagged, never retried.
    let permanent = of(gone);
    assert_eq!(permanent.status, OutboxStatus::Failed, "{permanent:?}");
    let reason = permanent.reason.as_deref().unwrap_or("");
    assert!(
        reason.starts_with("invalid_number: SMTP: permanent error (550)")
            && reason.contains("5.1.1"),
        "{reason}"
    );
    // 451: transient, back in the queue for a retry.
    let transient = of(busy);
    assert_eq!(transient.status, OutboxStatus::Queued, "{transient:?}");
    assert_eq!(transient.attempts, 1);
    assert!(
        transient
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("transient: SMTP: transient error (451)"),
        "{:?}",
        transient.reason
    );
    assert!(sink.received().is_empty());
    // The flagged address is skipped from now on.
    let again = broadcast(&w, "Hello again", &[gone]).await;
    assert_eq!(again[0].status, OutboxStatus::Skipped, "{:?}", again[0]);
}

#[tokio::test]
async fn smtp_auth_is_used_and_a_wrong_password_pauses_the_account() {
    let sink = Sink::start(Some("stoke:correct horse"));
    let w = world(&sink, Some(("stoke", "correct horse"))).await;
    // The password is sealed in the store, never in clear.
    let stored = w.store.get_account("mail").await.expect("account");
    assert!(
        !stored
            .config
            .as_deref()
            .unwrap_or("")
            .contains("correct horse"),
        "{:?}",
        stored.config
    );
    let ann = customer(&w, "Ann", "ann@customer.example", Some("ru")).await;
    let entries = broadcast(&w, "Здравствуйте, {{ first_name }}!", &[ann]).await;
    assert_eq!(entries[0].status, OutboxStatus::Sent, "{:?}", entries[0]);
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].1["user"], "stoke");
    let mail = mailparse::parse_mail(&received[0].0).expect("MIME");
    // A subject in Cyrillic goes RFC 2047-encoded and reads back as written.
    assert_eq!(header(&mail, "Subject"), "Здравствуйте, Ann!");
    let html = mail.subparts[1].get_body().expect("HTML");
    assert!(
        html.contains("lang=\"ru\"") && html.contains("Отписаться"),
        "{html}"
    );
    // The unsubscribe page speaks the contact's language.
    let unsubscribe = urls(&html)
        .into_iter()
        .find(|u| u.contains("/u/"))
        .expect("unsubscribe link");
    let page = w
        .http
        .get(&unsubscribe)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    assert!(page.contains("Отписаться"), "{page}");

    // A wrong password: the relay refuses AUTH (535), the account is paused, nothing is sent.
    email::configure(
        w.store.as_ref(),
        &w.key,
        "mail",
        EmailSettings {
            password: Some("wrong".into()),
            ..EmailSettings::of(&stored, &w.key).expect("settings")
        },
        "test",
        Timestamp::now(),
    )
    .await
    .expect("reconfigure");
    let entries = broadcast(&w, "Second", &[ann]).await;
    assert_eq!(entries[0].status, OutboxStatus::Queued, "{:?}", entries[0]);
    assert!(
        entries[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .starts_with("restricted: SMTP: permanent error (535)"),
        "{:?}",
        entries[0].reason
    );
    let account = w.store.get_account("mail").await.expect("account");
    assert!(account.paused_until.is_some(), "{account:?}");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn the_relays_signed_reports_record_bounces_and_complaints() {
    let sink = Sink::start(None);
    let w = world(&sink, None).await;
    let ann = customer(&w, "Ann", "ann@customer.example", None).await;
    let bob = customer(&w, "Bob", "bob@customer.example", None).await;
    let entries = broadcast(&w, OFFER, &[ann, bob]).await;
    let id_of = |c: ContactId| {
        entries
            .iter()
            .find(|e| e.contact == c)
            .and_then(|e| e.provider_id.clone())
            .expect("sent")
    };
    let (ann_id, bob_id) = (id_of(ann), id_of(bob));
    let body = serde_json::json!({"reports": [
        {"type": "bounce", "message_id": format!("<{ann_id}>"), "permanent": true,
         "recipient": "ann@customer.example", "detail": "550 5.1.1 mailbox does not exist"},
        {"type": "complaint", "message_id": bob_id},
        {"type": "delivered", "message_id": "stoke.unknown@shop.example"}
    ]})
    .to_string();
    let url = format!("{}/webhooks/email/mail", w.base);
    let post = |signature: Option<String>, target: &str| {
        let mut request = w.http.post(target).body(body.clone());
        if let Some(s) = signature {
            request = request.header("x-stoke-signature", s);
        }
        request.send()
    };
    // Unsigned, signed with another secret, or for another account: refused, nothing read.
    for (signature, target) in [
        (None, url.clone()),
        (Some(sign("another secret", &body)), url.clone()),
        (
            Some(sign(WEBHOOK_SECRET, &body)),
            format!("{}/webhooks/email/nobody", w.base),
        ),
    ] {
        let response = post(signature, &target).await.expect("post");
        assert_eq!(response.status(), 401, "{target}");
    }
    let broadcast_id = entries[0].broadcast;
    let outbox = |c: ContactId| {
        let store = w.store.clone();
        async move {
            store
                .list_outbox(broadcast_id, PageRequest::first(50))
                .await
                .expect("outbox")
                .items
                .into_iter()
                .find(|e| e.contact == c)
                .expect("entry")
        }
    };
    assert_eq!(outbox(ann).await.status, OutboxStatus::Sent);
    let response = post(Some(sign(WEBHOOK_SECRET, &body)), &url)
        .await
        .expect("post");
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(answer, serde_json::json!({"recorded": 2, "unknown": 1}));
    // The permanent bounce failed Ann's message and flagged her address.
    let bounced = outbox(ann).await;
    assert_eq!(bounced.status, OutboxStatus::Failed, "{bounced:?}");
    assert!(
        bounced
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("permanent bounce: 550 5.1.1"),
        "{bounced:?}"
    );
    // Bob's complaint withdrew his e-mail consent and is an event on him.
    let contact = w.store.get_contact(bob).await.expect("contact");
    assert!(contact.opted_out(Channel::Email));
    assert!(
        events(&w, bob)
            .await
            .iter()
            .any(|k| matches!(k, EventKind::Custom { name, .. } if name == "complaint"))
    );
    // A relay that posts again changes nothing.
    let again = post(Some(sign(WEBHOOK_SECRET, &body)), &url)
        .await
        .expect("post");
    assert_eq!(again.status(), 200);
    let contact = w.store.get_contact(bob).await.expect("contact");
    assert_eq!(contact.consents.len(), 1);
    // Neither is sent the next promotion.
    let next = broadcast(&w, OFFER, &[ann, bob]).await;
    assert!(
        next.iter().all(|e| e.status == OutboxStatus::Skipped),
        "{next:?}"
    );
}
