//! `/webhooks/whatsapp`: Meta's verification handshake (GET) and its deliveries (POST).
//!
//! A delivery is authenticated before anything is read from it: `X-Hub-Signature-256` must be
//! `sha256=` and the hex HMAC-SHA256 of the raw body under the app secret of one of the
//! workspace's WhatsApp accounts (compared in constant time by `hmac`'s `verify_slice`).
//! Anything else is refused with 401 and nothing is stored. Then every entry and change is
//! mapped: messages through `inbound::receive` (the engine runs, STOP is answered), statuses
//! through `Store::record_receipt` (forward only). Message ids are idempotency keys, so a
//! delivery Meta retries is stored once.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::Sha256;
use stoke_core::outbox::{FailureClass, OutboxStatus};
use stoke_core::{Account, Channel, ContactRef, Direction, Handle, Phone};
use stoke_store::{IncomingMessage, Store};

use crate::AppState;

use super::WhatsAppSettings;

/// The handshake's query: `hub.mode`, `hub.verify_token`, `hub.challenge`.
#[derive(Debug, Deserialize)]
pub(crate) struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Compares two secrets without leaking where they differ: their SHA-256 digests (same length
/// whatever the secrets') compared byte by byte without an early exit.
fn same_secret(a: &str, b: &str) -> bool {
    use sha2::Digest;
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// `GET /webhooks/whatsapp`: answers the bare challenge when the verify token is one of the
/// workspace's WhatsApp accounts'; 403 otherwise.
pub(crate) async fn verify_handler(
    State(state): State<AppState>,
    Query(query): Query<Handshake>,
) -> Response {
    let (Some(key), Some("subscribe"), Some(token), Some(challenge)) = (
        state.key.as_deref(),
        query.mode.as_deref(),
        query.verify_token.as_deref(),
        query.challenge,
    ) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let accounts = match super::accounts(state.store.as_ref(), key).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "WhatsApp verification: cannot read accounts");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let matched = accounts.iter().fold(false, |found, (_, s)| {
        found
            | s.verify_token
                .as_deref()
                .is_some_and(|t| same_secret(token, t))
    });
    if matched {
        (
            StatusCode::OK,
            [(axum::http::header::CONTENT_TYPE, "text/plain")],
            challenge,
        )
            .into_response()
    } else {
        StatusCode::FORBIDDEN.into_response()
    }
}

/// Whether `header` signs `body` under `secret`.
pub fn signature_valid(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `POST /webhooks/whatsapp`: a signed delivery, stored and answered with 200.
pub(crate) async fn receive_handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = state.key.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(signature) = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok())
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let accounts = match super::accounts(state.store.as_ref(), &key).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "WhatsApp webhook: cannot read accounts");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let signed = accounts.iter().any(|(_, s)| {
        s.app_secret
            .as_deref()
            .is_some_and(|secret| signature_valid(secret, &body, signature))
    });
    if !signed {
        tracing::warn!("WhatsApp webhook: a delivery without a valid signature was refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let delivery: Delivery = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "WhatsApp webhook: a signed delivery is not the documented JSON");
            return (StatusCode::BAD_REQUEST, format!("body: {e}")).into_response();
        }
    };
    match store_delivery(&state, &accounts, &delivery, Timestamp::now()).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            // Not a 200: Meta delivers it again later, and ids make that harmless.
            tracing::error!(error = %e, "WhatsApp webhook: storing a delivery failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

// The documented envelope; unknown keys are ignored.

#[derive(Debug, Deserialize)]
pub struct Delivery {
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    pub value: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Value {
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<WaContact>,
    #[serde(default)]
    pub messages: Vec<serde_json::Value>,
    #[serde(default)]
    pub statuses: Vec<Status>,
    #[serde(default)]
    pub errors: Vec<WaError>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    pub phone_number_id: String,
}

#[derive(Debug, Deserialize)]
pub struct WaContact {
    pub wa_id: String,
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: String,
    pub status: String,
    pub timestamp: Option<String>,
    #[serde(default)]
    pub errors: Vec<WaError>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct WaError {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl WaError {
    /// `131026 Message Undeliverable: details`, for status timelines and logs.
    pub fn describe(&self) -> String {
        let mut out = self.code.map(|c| c.to_string()).unwrap_or_default();
        if let Some(title) = self.title.as_deref().or(self.message.as_deref()) {
            out = format!("{out} {title}").trim().to_owned();
        }
        if let Some(details) = self.error_data.as_ref().and_then(|d| d.details.as_deref()) {
            out = format!("{out}: {details}");
        }
        out
    }

    /// `131051 Message type unknown`: the code and title without Meta's explanation, for the text
    /// of a message the customer sent that Stoke cannot show. The explanation is English prose
    /// ("... is currently not supported") that the classifier would read as the customer's words.
    pub fn headline(&self) -> String {
        let code = self.code.map(|c| c.to_string()).unwrap_or_default();
        match self.title.as_deref().or(self.message.as_deref()) {
            Some(title) => format!("{code} {title}").trim().to_owned(),
            None => code,
        }
    }
}

/// What Stoke does with a Cloud API error code (Meta's error-codes page; see WIRE_FORMAT.md).
pub fn failure_class(code: i64, http_status: Option<u16>) -> FailureClass {
    match code {
        131026 => FailureClass::InvalidNumber,
        131047 => FailureClass::OutsideWindow,
        130429 | 131056 | 80007 | 131048 => FailureClass::RateLimited,
        131049 => FailureClass::MarketingCapped,
        131050 => FailureClass::StoppedMarketing,
        190 | 368 | 131031 | 10 | 200 => FailureClass::Restricted,
        _ if http_status.is_some_and(|s| s == 429) => FailureClass::RateLimited,
        _ => FailureClass::Transient,
    }
}

fn seconds(text: Option<&str>, now: Timestamp) -> Timestamp {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(now)
}

fn str_at<'a>(v: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    let mut at = v;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// A readable text for any inbound message: its words, or `[kind] caption` for media and the
/// like, with the media id kept so that it can be fetched later.
pub fn message_text(m: &serde_json::Value) -> String {
    let text = readable(m);
    if !text.trim().is_empty() {
        return text;
    }
    let kind = str_at(m, &["type"]).unwrap_or("unknown");
    let errors: Vec<String> = m
        .get("errors")
        .and_then(|e| serde_json::from_value::<Vec<WaError>>(e.clone()).ok())
        .unwrap_or_default()
        .iter()
        .map(WaError::headline)
        .collect();
    if errors.is_empty() {
        format!("[{kind}]")
    } else {
        format!("[{kind}] {}", errors.join("; "))
    }
}

fn readable(m: &serde_json::Value) -> String {
    let kind = str_at(m, &["type"]).unwrap_or("unknown");
    let media = |kind: &str| {
        let caption = str_at(m, &[kind, "caption"])
            .or_else(|| str_at(m, &[kind, "filename"]))
            .map(|c| format!(" {c}"))
            .unwrap_or_default();
        let id = str_at(m, &[kind, "id"])
            .map(|id| format!(" (media {id})"))
            .unwrap_or_default();
        let voice = if kind == "audio"
            && m.get("audio").and_then(|a| a.get("voice")) == Some(&serde_json::Value::Bool(true))
        {
            "voice"
        } else {
            kind
        };
        format!("[{voice}]{caption}{id}")
    };
    match kind {
        "text" => str_at(m, &["text", "body"]).unwrap_or_default().to_owned(),
        "image" | "video" | "audio" | "document" | "sticker" => media(kind),
        "location" => {
            let l = m.get("location");
            let coord = |k: &str| l.and_then(|l| l.get(k)).and_then(serde_json::Value::as_f64);
            let mut out = "[location]".to_owned();
            for k in ["name", "address"] {
                if let Some(v) = str_at(m, &["location", k]) {
                    out.push(' ');
                    out.push_str(v);
                }
            }
            if let (Some(lat), Some(lon)) = (coord("latitude"), coord("longitude")) {
                out.push_str(&format!(" ({lat}, {lon})"));
            }
            out
        }
        "contacts" => {
            let names: Vec<String> = m
                .get("contacts")
                .and_then(serde_json::Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .map(|c| {
                            let name = str_at(c, &["name", "formatted_name"]).unwrap_or("?");
                            let phone = c
                                .get("phones")
                                .and_then(|p| p.get(0))
                                .and_then(|p| str_at(p, &["phone"]))
                                .map(|p| format!(" {p}"))
                                .unwrap_or_default();
                            format!("{name}{phone}")
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("[contacts] {}", names.join("; ")).trim().to_owned()
        }
        "interactive" => {
            let reply = str_at(m, &["interactive", "type"]).unwrap_or("interactive");
            let title = str_at(m, &["interactive", reply, "title"])
                .or_else(|| str_at(m, &["interactive", reply, "body"]))
                .unwrap_or_default();
            let id = str_at(m, &["interactive", reply, "id"])
                .map(|i| format!(" ({i})"))
                .unwrap_or_default();
            format!("{title}{id}").trim().to_owned()
        }
        "button" => str_at(m, &["button", "text"])
            .or_else(|| str_at(m, &["button", "payload"]))
            .unwrap_or("[button]")
            .to_owned(),
        "reaction" => match str_at(m, &["reaction", "emoji"]) {
            Some(e) => format!("[reaction] {e}"),
            None => "[reaction removed]".to_owned(),
        },
        "system" => str_at(m, &["system", "body"])
            .map(|b| format!("[system] {b}"))
            .unwrap_or_default(),
        "order" => {
            let items = m
                .get("order")
                .and_then(|o| o.get("product_items"))
                .and_then(serde_json::Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            let id = str_at(i, &["product_retailer_id"])?;
                            let qty = i.get("quantity").and_then(serde_json::Value::as_i64);
                            Some(format!("{id} x{}", qty.unwrap_or(1)))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!("[order] {items}").trim().to_owned()
        }
        // Anything else (unsupported, system, unknown) is written by kind with its errors.
        _ => String::new(),
    }
}

/// A `wa_id` (digits with the country code) as a contact reference.
fn contact_of(wa_id: &str) -> Option<ContactRef> {
    let digits = wa_id.trim().trim_start_matches('+');
    Phone::parse(&format!("+{digits}"), None)
        .ok()
        .map(|p| ContactRef::Handle(Handle::Phone(p)))
}

async fn store_delivery(
    state: &AppState,
    accounts: &[(Account, WhatsAppSettings)],
    delivery: &Delivery,
    now: Timestamp,
) -> Result<(), stoke_store::StoreError> {
    let rules = state.rules.get();
    let store: &dyn Store = state.store.as_ref();
    let mut incoming = Vec::new();
    let mut names = Vec::new();
    for change in delivery.entry.iter().flat_map(|e| &e.changes) {
        let Some(value) = change.value.as_ref() else {
            continue;
        };
        if change.field != "messages" {
            continue;
        }
        let phone_number_id = value.metadata.as_ref().map(|m| m.phone_number_id.as_str());
        let Some((account, _)) = accounts
            .iter()
            .find(|(_, s)| Some(s.phone_number_id.as_str()) == phone_number_id)
        else {
            tracing::warn!(
                phone_number_id = phone_number_id.unwrap_or(""),
                "WhatsApp webhook: no account has this phone-number id; change skipped"
            );
            continue;
        };
        for error in &value.errors {
            tracing::warn!(account = %account.name, error = %error.describe(), "WhatsApp reported an error");
        }
        for m in &value.messages {
            let (Some(id), Some(from)) = (str_at(m, &["id"]), str_at(m, &["from"])) else {
                continue;
            };
            let Some(contact) = contact_of(from) else {
                tracing::warn!(account = %account.name, "WhatsApp webhook: a sender is not a phone number");
                continue;
            };
            if let Some(name) = value
                .contacts
                .iter()
                .find(|c| c.wa_id == from)
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.name.clone())
            {
                names.push((contact.clone(), name));
            }
            incoming.push(IncomingMessage {
                external_id: format!("whatsapp:{id}"),
                contact,
                account: account.name.clone(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: message_text(m),
                at: seconds(str_at(m, &["timestamp"]), now),
                provider_id: Some(id.to_owned()),
            });
        }
        for s in &value.statuses {
            let status = match s.status.as_str() {
                "sent" => OutboxStatus::Sent,
                "delivered" => OutboxStatus::Delivered,
                "read" | "played" => OutboxStatus::Read,
                "failed" => OutboxStatus::Failed,
                other => {
                    tracing::debug!(status = other, "WhatsApp webhook: status not tracked");
                    continue;
                }
            };
            let at = seconds(s.timestamp.as_deref(), now);
            let detail: Vec<String> = s.errors.iter().map(WaError::describe).collect();
            let classes: Vec<FailureClass> = s
                .errors
                .iter()
                .filter_map(|e| e.code)
                .map(|c| failure_class(c, None))
                .collect();
            let invalid =
                status == OutboxStatus::Failed && classes.contains(&FailureClass::InvalidNumber);
            let detail = (!detail.is_empty()).then(|| detail.join("; "));
            store
                .record_receipt(&s.id, status, at, detail.as_deref(), invalid, &rules)
                .await?;
            if status == OutboxStatus::Failed && s.errors.iter().any(|e| e.code == Some(131050)) {
                opt_out_of_marketing(store, &s.id, at).await?;
            }
        }
    }
    if !incoming.is_empty() {
        crate::inbound::receive(store, &rules, &incoming, now).await?;
    }
    for (contact, name) in names {
        name_new_contact(store, &contact, &name).await?;
    }
    Ok(())
}

/// A contact created by this delivery gets the profile name WhatsApp shows; a named contact
/// keeps the name a person gave them.
async fn name_new_contact(
    store: &dyn Store,
    contact: &ContactRef,
    name: &str,
) -> Result<(), stoke_store::StoreError> {
    let ContactRef::Handle(handle) = contact else {
        return Ok(());
    };
    let Some(found) = store.find_contact(handle).await? else {
        return Ok(());
    };
    if !found.name.trim().is_empty() || name.trim().is_empty() {
        return Ok(());
    }
    let mut named = found;
    named.name = name.trim().to_owned();
    store
        .update_contact(&named, Timestamp::now())
        .await
        .map(|_| ())
}

/// 131050 in a status: the contact of the message stops receiving marketing on WhatsApp.
async fn opt_out_of_marketing(
    store: &dyn Store,
    wamid: &str,
    at: Timestamp,
) -> Result<(), stoke_store::StoreError> {
    let Some(contact) = store.contact_of_provider_message(wamid).await? else {
        return Ok(());
    };
    super::withdraw_marketing(store, contact, at).await
}
