//! `POST /webhooks/gateway/{account}`: what a gateway reports back, signed like Stoke's own
//! posts (see the module above). The body:
//!
//! ```json
//! {"events": [
//!   {"type": "message", "id": "GATEWAY MESSAGE ID", "from": "+966501234567",
//!    "text": "Yes please, how much?", "at": "2026-11-24T10:00:00Z"},
//!   {"type": "status", "message_id": "ID STOKE SENT OR THE GATEWAY RETURNED",
//!    "status": "sent|delivered|read|failed", "detail": "...", "invalid": false,
//!    "at": "2026-11-24T10:00:05Z"}
//! ]}
//! ```
//!
//! At most 1000 events. Messages become Stoke messages on the account (the contact created from
//! `from` when new, a phone number or an e-mail address) and go through the engine, keyed
//! `gateway:ACCOUNT:ID`, so a report posted twice is stored once; a STOP is confirmed once.
//! Statuses move the outbox message forward (never back); `invalid: true` on a failure flags the
//! number. `at` is optional (the time of arrival). The whole body is checked before anything is
//! stored: a mistake is a 400 naming the event and field, and nothing of it is applied.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use stoke_core::outbox::OutboxStatus;
use stoke_core::{Channel, ContactRef, Direction};
use stoke_store::IncomingMessage;

use super::{GatewaySettings, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use crate::AppState;
use crate::channel::AccountSettings;

/// The most events one post may carry.
pub const MAX_EVENTS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    events: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageEvent {
    id: String,
    from: String,
    text: String,
    at: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusEvent {
    message_id: String,
    status: String,
    detail: Option<String>,
    #[serde(default)]
    invalid: bool,
    at: Option<String>,
}

/// One checked event.
#[derive(Debug)]
enum Checked {
    Message(IncomingMessage),
    Status {
        id: String,
        status: OutboxStatus,
        detail: Option<String>,
        invalid: bool,
        at: Timestamp,
    },
}

fn problem(field: String, reason: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({
            "error": {"code": "invalid", "message": reason.to_string(), "field": field}
        })),
    )
        .into_response()
}

fn moment(raw: Option<&str>, now: Timestamp) -> Result<Timestamp, String> {
    match raw {
        None => Ok(now),
        Some(raw) => raw
            .parse()
            .map_err(|_| format!("{raw:?} is not a moment like 2026-11-24T10:00:00Z")),
    }
}

/// The event and field at fault, and why.
#[derive(Debug)]
struct Fault {
    field: String,
    reason: String,
}

fn fault(field: String, reason: impl std::fmt::Display) -> Fault {
    Fault {
        field,
        reason: reason.to_string(),
    }
}

/// Reads every event, or says which one is wrong and why.
fn check(account: &str, report: Report, now: Timestamp) -> Result<Vec<Checked>, Fault> {
    if report.events.len() > MAX_EVENTS {
        return Err(fault(
            "events".into(),
            format!(
                "holds {} events; at most {MAX_EVENTS} in one post",
                report.events.len()
            ),
        ));
    }
    let mut checked = Vec::with_capacity(report.events.len());
    for (i, event) in report.events.into_iter().enumerate() {
        let at = |field: &str| format!("events[{i}].{field}");
        let kind = event
            .get("type")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .ok_or_else(|| fault(at("type"), "give \"message\" or \"status\""))?;
        let mut fields = event;
        if let Some(map) = fields.as_object_mut() {
            map.remove("type");
        }
        match kind.as_str() {
            "message" => {
                let m: MessageEvent =
                    serde_json::from_value(fields).map_err(|e| fault(format!("events[{i}]"), e))?;
                let id = m.id.trim();
                if id.is_empty() || id.len() > 200 {
                    return Err(fault(at("id"), "holds 1 to 200 characters"));
                }
                let contact = ContactRef::parse(&m.from).map_err(|e| fault(at("from"), e))?;
                if m.text.trim().is_empty() {
                    return Err(fault(at("text"), "is empty"));
                }
                checked.push(Checked::Message(IncomingMessage {
                    external_id: format!("gateway:{account}:{id}"),
                    contact,
                    account: account.to_owned(),
                    channel: Channel::Webhook,
                    direction: Direction::In,
                    text: m.text,
                    at: moment(m.at.as_deref(), now).map_err(|e| fault(at("at"), e))?,
                    provider_id: Some(id.to_owned()),
                }));
            }
            "status" => {
                let s: StatusEvent =
                    serde_json::from_value(fields).map_err(|e| fault(format!("events[{i}]"), e))?;
                let status = match s.status.as_str() {
                    "sent" => OutboxStatus::Sent,
                    "delivered" => OutboxStatus::Delivered,
                    "read" => OutboxStatus::Read,
                    "failed" => OutboxStatus::Failed,
                    other => {
                        return Err(fault(
                            at("status"),
                            format!("{other:?} is not sent, delivered, read or failed"),
                        ));
                    }
                };
                if s.message_id.trim().is_empty() {
                    return Err(fault(at("message_id"), "is empty"));
                }
                checked.push(Checked::Status {
                    id: s.message_id.trim().to_owned(),
                    status,
                    detail: s.detail,
                    invalid: s.invalid && status == OutboxStatus::Failed,
                    at: moment(s.at.as_deref(), now).map_err(|e| fault(at("at"), e))?,
                });
            }
            other => {
                return Err(fault(
                    at("type"),
                    format!("{other:?} is not \"message\" or \"status\""),
                ));
            }
        }
    }
    Ok(checked)
}

/// `POST /webhooks/gateway/{account}`.
pub(crate) async fn receive_handler(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Timestamp::now();
    let Some(key) = state.key.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // An unknown account and a wrong signature look the same from outside.
    let settings = match state.store.get_account(&account).await {
        Ok(a) => GatewaySettings::of(&a, &key).ok(),
        Err(stoke_store::StoreError::NotFound { .. }) => None,
        Err(e) => {
            tracing::error!(error = %e, "gateway webhook: cannot read the account");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = settings.is_some_and(|s| {
        verify(
            &s.secret,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            &body,
            now,
        )
        .is_ok()
    });
    if !signed {
        tracing::warn!(%account, "gateway webhook: a post without a valid, recent signature was refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let report: Report = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem("body".into(), e),
    };
    let checked = match check(&account, report, now) {
        Ok(c) => c,
        Err(f) => return problem(f.field, f.reason),
    };
    let rules = state.rules.get();
    let (messages, statuses): (Vec<_>, Vec<_>) = checked
        .into_iter()
        .partition(|c| matches!(c, Checked::Message(_)));
    let messages: Vec<IncomingMessage> = messages
        .into_iter()
        .filter_map(|c| match c {
            Checked::Message(m) => Some(m),
            Checked::Status { .. } => None,
        })
        .collect();
    let stored = match crate::inbound::receive(state.store.as_ref(), &rules, &messages, now).await {
        Ok(outcome) => outcome.inserted,
        Err(e) => {
            // Not a 200: the gateway posts again, and every step is idempotent.
            tracing::error!(error = %e, "gateway webhook: storing messages failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let (mut recorded, mut unknown) = (0_u64, 0_u64);
    for status in statuses {
        let Checked::Status {
            id,
            status,
            detail,
            invalid,
            at,
        } = status
        else {
            continue;
        };
        match state
            .store
            .record_receipt(&id, status, at, detail.as_deref(), invalid, &rules)
            .await
        {
            Ok(true) => recorded += 1,
            Ok(false) => unknown += 1,
            Err(e) => {
                tracing::error!(error = %e, "gateway webhook: storing a status failed");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    Json(serde_json::json!({
        "messages": stored,
        "statuses": recorded,
        "unknown": unknown,
    }))
    .into_response()
}
