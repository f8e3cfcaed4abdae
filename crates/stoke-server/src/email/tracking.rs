//! The public end of every e-mail's links, served by Stoke itself: the open pixel
//! (`GET /t/o/{token}`), click redirects (`GET /t/c/{token}`) and the unsubscribe page
//! (`GET /u/{token}` shows it, `POST /u/{token}` records it, including RFC 8058's one-click
//! `List-Unsubscribe=One-Click` from the mail client).
//!
//! Nobody signs in to follow a link in an e-mail, so each token carries what it stands for and
//! proves it: `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, the payload being
//! the link's kind, the message's `Message-ID` and, for a click, the target URL; the key is
//! derived from the workspace key for this purpose only (`WorkspaceKey::derive`), so every node
//! sharing the workspace key honours every link and the key that seals credentials signs
//! nothing public. The MAC is checked in constant time (`hmac`'s `verify_slice`) before
//! anything is read; a forged or altered token is a 404 and records nothing, and a redirect
//! goes only to the URL that was signed, never to one named in the request (no open redirect).
//!
//! What a link records goes where every other event goes: `Store::ingest_events` runs the
//! engine (lead score, `last_click`, interests from the clicked URL's words), keyed by the
//! message (one open per message; one click per message and URL), so a mail client that
//! fetches the pixel ten times counts once. The contact is the one the message was sent to
//! (`Store::contact_of_provider_message`); a message Stoke no longer knows (an erased contact)
//! still redirects and shows the pixel, and records nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::{Digest, Sha256};
use stoke_core::engine::Rules;
use stoke_core::{Channel, Consent, ConsentStatus, ContactId, ContactRef, EventKind};
use stoke_store::{IncomingEvent, Store, StoreResult};

use crate::AppState;
use crate::secrets::WorkspaceKey;

/// What the tracking key is derived for.
const PURPOSE: &str = "stoke email tracking v1";

/// Tokens longer than this are refused before they are decoded.
const MAX_TOKEN: usize = 8 * 1024;

/// The longest reason kept, in characters.
const MAX_REASON: usize = 500;

/// What one link stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The open pixel of a message.
    Open { message: String },
    /// A link in a message, to `url`.
    Click { message: String, url: String },
    /// A message's unsubscribe link (page and one-click).
    Unsubscribe { message: String },
}

impl Link {
    fn payload(&self) -> Vec<u8> {
        let (kind, message, url) = match self {
            Link::Open { message } => ('o', message, None),
            Link::Click { message, url } => ('c', message, Some(url)),
            Link::Unsubscribe { message } => ('u', message, None),
        };
        let mut out = format!("{kind}{message}");
        if let Some(url) = url {
            out.push('\n');
            out.push_str(url);
        }
        out.into_bytes()
    }

    fn parse(payload: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(payload).ok()?;
        let mut chars = text.chars();
        let kind = chars.next()?;
        let rest = chars.as_str();
        let (message, url) = match rest.split_once('\n') {
            Some((m, u)) => (m.to_owned(), Some(u.to_owned())),
            None => (rest.to_owned(), None),
        };
        if message.is_empty() {
            return None;
        }
        match (kind, url) {
            ('o', None) => Some(Link::Open { message }),
            ('c', Some(url)) => Some(Link::Click { message, url }),
            ('u', None) => Some(Link::Unsubscribe { message }),
            _ => None,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Link::Open { message }
            | Link::Click { message, .. }
            | Link::Unsubscribe { message } => message,
        }
    }
}

/// Signs and checks link tokens. `Debug` hides the key.
#[derive(Clone)]
pub struct Tracker {
    key: [u8; 32],
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tracker(key hidden)")
    }
}

impl Tracker {
    pub fn new(key: &WorkspaceKey) -> Self {
        Self {
            key: key.derive(PURPOSE),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length")
    }

    /// The token for a link.
    pub fn sign(&self, link: &Link) -> String {
        let payload = link.payload();
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The link a token stands for, when this workspace signed it as it is.
    pub fn verify(&self, token: &str) -> Option<Link> {
        if token.len() > MAX_TOKEN {
            return None;
        }
        let (payload, tag) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).ok()?;
        Link::parse(&payload)
    }
}

/// The contact a message went to, if Stoke still knows the message.
async fn contact_of(store: &dyn Store, message: &str) -> StoreResult<Option<ContactId>> {
    store.contact_of_provider_message(message).await
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Records an open of a message (once per message); `false` when the message is unknown.
pub async fn record_open(
    store: &dyn Store,
    rules: &Arc<Rules>,
    message: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let Some(contact) = contact_of(store, message).await? else {
        return Ok(false);
    };
    store
        .ingest_events(
            &[IncomingEvent {
                external_id: format!("email-open:{message}"),
                contact: ContactRef::Id(contact),
                at: now,
                kind: EventKind::Open { campaign: None },
            }],
            now,
            rules,
        )
        .await?;
    Ok(true)
}

/// Records a click on a link of a message (once per message and URL); `false` when the
/// message is unknown.
pub async fn record_click(
    store: &dyn Store,
    rules: &Arc<Rules>,
    message: &str,
    url: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let Some(contact) = contact_of(store, message).await? else {
        return Ok(false);
    };
    store
        .ingest_events(
            &[IncomingEvent {
                external_id: format!("email-click:{message}:{}", short_hash(url)),
                contact: ContactRef::Id(contact),
                at: now,
                kind: EventKind::Click {
                    url: url.to_owned(),
                    campaign: None,
                },
            }],
            now,
            rules,
        )
        .await?;
    Ok(true)
}

/// Records an unsubscribe from e-mail: the contact's e-mail consent withdrawn with the reason
/// (`unsubscribe page: REASON`), and an `unsubscribe` custom event with the reason and the
/// message. A second submission with the same reason changes nothing; a reason given after a
/// one-click unsubscribe is recorded too. `false` when the message is unknown.
pub async fn unsubscribe(
    store: &dyn Store,
    rules: &Arc<Rules>,
    message: &str,
    reason: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let Some(contact) = contact_of(store, message).await? else {
        return Ok(false);
    };
    let reason: String = reason.trim().chars().take(MAX_REASON).collect();
    let source = format!("unsubscribe page: {reason}");
    let current = store.get_contact(contact).await?;
    let already = current
        .consent(Channel::Email)
        .is_some_and(|c| c.status == ConsentStatus::Withdrawn && c.source == source);
    if !already {
        store
            .record_consent(
                contact,
                &Consent {
                    channel: Channel::Email,
                    status: ConsentStatus::Withdrawn,
                    at: now,
                    source,
                },
            )
            .await?;
    }
    let attributes = BTreeMap::from([
        ("channel".to_owned(), "email".to_owned()),
        ("message".to_owned(), message.to_owned()),
        ("reason".to_owned(), reason.clone()),
    ]);
    store
        .ingest_events(
            &[IncomingEvent {
                external_id: format!("email-unsubscribe:{message}:{}", short_hash(&reason)),
                contact: ContactRef::Id(contact),
                at: now,
                kind: EventKind::Custom {
                    name: "unsubscribe".into(),
                    attributes,
                },
            }],
            now,
            rules,
        )
        .await?;
    Ok(true)
}

/// The transparent 1x1 GIF of the open pixel.
const PIXEL: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such link\n").into_response()
}

/// The link a request's token stands for, if this workspace signed it.
fn link_of(state: &AppState, token: &str) -> Option<Link> {
    let key = state.key.as_ref()?;
    Tracker::new(key).verify(token)
}

/// `GET /t/o/{token}`: records an open and answers the pixel. A failure to record is logged,
/// and the pixel still goes: the reader's mail client is not the one to tell.
pub(crate) async fn open_handler(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    let Some(Link::Open { message }) = link_of(&state, &token) else {
        return not_found();
    };
    let rules = state.rules.get();
    if let Err(e) = record_open(state.store.as_ref(), &rules, &message, Timestamp::now()).await {
        tracing::error!(error = %e, "an e-mail open could not be recorded");
    }
    (
        [
            (header::CONTENT_TYPE, "image/gif"),
            (header::CACHE_CONTROL, "no-store, max-age=0"),
        ],
        PIXEL,
    )
        .into_response()
}

/// `GET /t/c/{token}`: records a click and redirects to the signed URL. A failure to record is
/// logged and the reader still goes where the link said.
pub(crate) async fn click_handler(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    let Some(Link::Click { message, url }) = link_of(&state, &token) else {
        return not_found();
    };
    // Only web links are ever signed; checked again so that a key misuse cannot redirect to
    // `javascript:` or the like.
    let lower = url.get(..8).unwrap_or(&url).to_ascii_lowercase();
    let Ok(location) = HeaderValue::from_str(&url) else {
        return not_found();
    };
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return not_found();
    }
    let rules = state.rules.get();
    if let Err(e) = record_click(
        state.store.as_ref(),
        &rules,
        &message,
        &url,
        Timestamp::now(),
    )
    .await
    {
        tracing::error!(error = %e, "an e-mail click could not be recorded");
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// The unsubscribe page's words in one language.
struct Words {
    lang: &'static str,
    dir: &'static str,
    title: &'static str,
    ask: &'static str,
    reasons: [(&'static str, &'static str); 4],
    other: &'static str,
    button: &'static str,
    done: &'static str,
}

const EN: Words = Words {
    lang: "en",
    dir: "ltr",
    title: "Unsubscribe",
    ask: "Stop our e-mails? Tell us why, if you like:",
    reasons: [
        ("too_many", "Too many e-mails"),
        ("not_relevant", "Not relevant to me"),
        ("never_signed_up", "I never signed up"),
        ("other", "Another reason"),
    ],
    other: "Anything else:",
    button: "Unsubscribe",
    done: "You are unsubscribed: we will not e-mail you offers again.",
};

const RU: Words = Words {
    lang: "ru",
    dir: "ltr",
    title: "Отписаться",
    ask: "Больше не присылать писем? Расскажите почему, если хотите:",
    reasons: [
        ("too_many", "Слишком много писем"),
        ("not_relevant", "Мне это неинтересно"),
        ("never_signed_up", "Я не подписывался"),
        ("other", "Другая причина"),
    ],
    other: "Что-нибудь ещё:",
    button: "Отписаться",
    done: "Вы отписаны: мы больше не будем присылать вам предложения.",
};

const AR: Words = Words {
    lang: "ar",
    dir: "rtl",
    title: "إلغاء الاشتراك",
    ask: "هل تريد إيقاف رسائلنا؟ أخبرنا بالسبب إن أردت:",
    reasons: [
        ("too_many", "رسائل كثيرة جدا"),
        ("not_relevant", "لا تهمني"),
        ("never_signed_up", "لم أشترك أبدا"),
        ("other", "سبب آخر"),
    ],
    other: "شيء آخر:",
    button: "إلغاء الاشتراك",
    done: "تم إلغاء اشتراكك: لن نرسل لك عروضا بالبريد مرة أخرى.",
};

/// The page's words in the language of the message's contact.
async fn words_for(store: &dyn Store, message: &str) -> &'static Words {
    let language = match contact_of(store, message).await {
        Ok(Some(id)) => store
            .get_contact(id)
            .await
            .ok()
            .and_then(|c| c.likely_language()),
        _ => None,
    };
    match language.as_ref().map(|l| l.primary()) {
        Some("ru") => &RU,
        Some("ar") => &AR,
        _ => &EN,
    }
}

fn page(words: &Words, body: &str) -> Html<String> {
    let mut html = String::from("<!DOCTYPE html>\n<html lang=\"");
    html.push_str(words.lang);
    html.push_str("\" dir=\"");
    html.push_str(words.dir);
    html.push_str("\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>");
    html.push_str(words.title);
    html.push_str(
        "</title></head>\n<body style=\"font-family:sans-serif;max-width:32em;margin:2em auto\">\n",
    );
    html.push_str(body);
    html.push_str("</body>\n</html>\n");
    Html(html)
}

/// `GET /u/{token}`: the unsubscribe form. Showing it changes nothing (link scanners open
/// links; RFC 8058 asks that only a POST unsubscribes).
pub(crate) async fn unsubscribe_page_handler(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    let Some(Link::Unsubscribe { message }) = link_of(&state, &token) else {
        return not_found();
    };
    let words = words_for(state.store.as_ref(), &message).await;
    let mut body = format!(
        "<h1>{}</h1>\n<form method=\"post\">\n<p>{}</p>\n",
        words.title, words.ask
    );
    for (value, label) in words.reasons {
        body.push_str(&format!(
            "<p><label><input type=\"radio\" name=\"reason\" value=\"{value}\"> {label}</label></p>\n"
        ));
    }
    body.push_str(&format!(
        "<p><label>{}<br><textarea name=\"details\" rows=\"3\" cols=\"40\" maxlength=\"{MAX_REASON}\"></textarea></label></p>\n<p><button type=\"submit\">{}</button></p>\n</form>\n",
        words.other, words.button
    ));
    let mut response = page(words, &body).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The reason a POST gives: RFC 8058's one-click body, or the form's choice and words.
pub fn reason_of(body: &[u8]) -> String {
    let mut reason = None;
    let mut details = None;
    let mut one_click = false;
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "List-Unsubscribe" if value == "One-Click" => one_click = true,
            "reason" => reason = Some(value.trim().to_owned()),
            "details" => details = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    // A multipart/form-data one-click (RFC 8058 allows it) is not urlencoded: its part's name
    // and value are looked for as they are written.
    if !one_click && reason.is_none() {
        let text = String::from_utf8_lossy(body);
        one_click = text.contains("List-Unsubscribe=One-Click")
            || (text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click"));
    }
    let chosen = reason.filter(|r| !r.is_empty());
    let details = details.filter(|d| !d.is_empty());
    match (chosen, details) {
        (Some(r), Some(d)) => format!("{r}: {d}"),
        (Some(r), None) => r,
        (None, Some(d)) => d,
        (None, None) if one_click => "one-click (List-Unsubscribe-Post)".to_owned(),
        (None, None) => "no reason given".to_owned(),
    }
}

/// `POST /u/{token}`: unsubscribes the message's contact from e-mail, with the reason; the
/// mail client's one-click (`List-Unsubscribe=One-Click`) and the page's form alike.
pub(crate) async fn unsubscribe_handler(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let Some(Link::Unsubscribe { message }) = link_of(&state, &token) else {
        return not_found();
    };
    let reason = reason_of(&body);
    let rules = state.rules.get();
    match unsubscribe(
        state.store.as_ref(),
        &rules,
        &message,
        &reason,
        Timestamp::now(),
    )
    .await
    {
        Ok(_) => {
            let words = words_for(state.store.as_ref(), &message).await;
            page(
                words,
                &format!("<h1>{}</h1>\n<p>{}</p>\n", words.title, words.done),
            )
            .into_response()
        }
        Err(e) => {
            // Unlike an open, an unsubscribe that was not recorded must not look done: the
            // mail client (or the person) tries again.
            tracing::error!(error = %e, "an unsubscribe could not be recorded");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the unsubscribe could not be recorded; please try again\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_signed() {
        let key = WorkspaceKey::generate().expect("key");
        let tracker = Tracker::new(&key);
        let links = [
            Link::Open {
                message: "stoke.ab@shop.example".into(),
            },
            Link::Click {
                message: "stoke.ab@shop.example".into(),
                url: "https://shop.example/a?b=c\nd".into(),
            },
            Link::Unsubscribe {
                message: "stoke.ab@shop.example".into(),
            },
        ];
        for link in &links {
            let token = tracker.sign(link);
            assert_eq!(tracker.verify(&token).as_ref(), Some(link));
            let (payload, tag) = token.split_once('.').expect("two parts");
            // Another link's payload under this tag, a changed tag, another key: refused.
            let other = Tracker::new(&WorkspaceKey::generate().expect("key"));
            assert_eq!(other.verify(&token), None);
            let mut bad = tag.to_owned();
            bad.replace_range(0..1, if tag.starts_with('A') { "B" } else { "A" });
            assert_eq!(tracker.verify(&format!("{payload}.{bad}")), None);
            let forged = URL_SAFE_NO_PAD.encode(b"chttps://evil.example");
            assert_eq!(tracker.verify(&format!("{forged}.{tag}")), None);
        }
        assert_eq!(tracker.verify("nonsense"), None);
        assert_eq!(tracker.verify(""), None);
        assert_eq!(tracker.verify(&"a.".repeat(MAX_TOKEN)), None);
    }

    #[test]
    fn reasons_come_from_the_one_click_body_or_the_form() {
        assert_eq!(
            reason_of(b"List-Unsubscribe=One-Click"),
            "one-click (List-Unsubscribe-Post)"
        );
        assert_eq!(
            reason_of(b"reason=too_many&details=every+day+is+a+lot"),
            "too_many: every day is a lot"
        );
        assert_eq!(reason_of(b"reason=&details="), "no reason given");
        let multipart = b"--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n";
        assert_eq!(reason_of(multipart), "one-click (List-Unsubscribe-Post)");
    }
}
