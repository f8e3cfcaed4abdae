//! Bounces and complaints the relay reports after it accepted a message: a relay (or a small
//! adapter in front of one: SES, Postmark and the like each have their own notifications)
//! posts them to `POST /webhooks/email/{account}` in one documented format, signed with the
//! account's webhook secret. A rejection during the SMTP conversation needs none of this: the
//! provider sees it at once (`send::failure_class`).
//!
//! The body is JSON:
//!
//! ```json
//! {"reports": [
//!   {"type": "bounce", "message_id": "<stoke.…@shop.example>", "permanent": true,
//!    "detail": "550 5.1.1 user unknown", "at": "2026-11-24T10:00:00Z"},
//!   {"type": "complaint", "message_id": "stoke.…@shop.example"},
//!   {"type": "delivered", "message_id": "stoke.…@shop.example"}
//! ]}
//! ```
//!
//! `X-Stoke-Signature: sha256=HEX` is HMAC-SHA256 of the raw body under the account's
//! `webhook_secret`, checked in constant time before the body is parsed; without it, or with
//! an account that has no secret, the answer is 401 and nothing is read. A permanent bounce
//! fails the message and flags the contact's address (never sent to again); a temporary one
//! that the relay gave up on fails it without the flag; a complaint withdraws the contact's
//! e-mail consent (`spam complaint`) and stores a `complaint` event; `delivered` moves the
//! message forward. Reports for messages Stoke does not know are counted and skipped. Every
//! step is idempotent, so a relay that posts again does no harm.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use stoke_core::engine::Rules;
use stoke_core::outbox::OutboxStatus;
use stoke_core::{Channel, Consent, ConsentStatus, ContactRef, EventKind};
use stoke_store::{IncomingEvent, Store, StoreResult};

use super::EmailSettings;
use crate::AppState;
use crate::channel::AccountSettings;
use crate::whatsapp::webhook::signature_valid;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "x-stoke-signature";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reports {
    pub reports: Vec<Report>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    Bounce,
    Complaint,
    Delivered,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    #[serde(rename = "type")]
    pub kind: ReportKind,
    /// The `Message-ID` Stoke sent, with or without angle brackets.
    pub message_id: String,
    /// A bounce only: the address is gone for good (5.x.x), not a full mailbox.
    #[serde(default)]
    pub permanent: bool,
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
    /// When it happened (RFC 3339); the time of arrival otherwise.
    #[serde(default)]
    pub at: Option<String>,
}

/// What a batch of reports did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub recorded: u64,
    pub unknown: u64,
}

/// Applies the relay's reports (already authenticated).
pub async fn apply(
    store: &dyn Store,
    rules: &Arc<Rules>,
    reports: &[Report],
    now: Timestamp,
) -> StoreResult<Applied> {
    let mut applied = Applied::default();
    for r in reports {
        let id = r
            .message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let at =
            r.at.as_deref()
                .and_then(|a| a.parse::<Timestamp>().ok())
                .filter(|a| *a <= now)
                .unwrap_or(now);
        let detail: Option<String> = r
            .detail
            .as_deref()
            .map(|d| d.chars().take(500).collect::<String>());
        let known = match r.kind {
            ReportKind::Delivered => {
                store
                    .record_receipt(id, OutboxStatus::Delivered, at, None, false, rules)
                    .await?
            }
            ReportKind::Bounce => {
                let detail = format!(
                    "{} bounce: {}",
                    if r.permanent {
                        "permanent"
                    } else {
                        "temporary"
                    },
                    detail.as_deref().unwrap_or("reported by the relay")
                );
                store
                    .record_receipt(
                        id,
                        OutboxStatus::Failed,
                        at,
                        Some(&detail),
                        r.permanent,
                        rules,
                    )
                    .await?
            }
            ReportKind::Complaint => complaint(store, rules, id, detail.as_deref(), at).await?,
        };
        if known {
            applied.recorded += 1;
        } else {
            applied.unknown += 1;
        }
    }
    Ok(applied)
}

/// A spam complaint: the contact's e-mail consent withdrawn, and a `complaint` event.
async fn complaint(
    store: &dyn Store,
    rules: &Arc<Rules>,
    message: &str,
    detail: Option<&str>,
    at: Timestamp,
) -> StoreResult<bool> {
    let Some(contact) = store.contact_of_provider_message(message).await? else {
        return Ok(false);
    };
    let source = "spam complaint (reported by the relay)";
    let already = store
        .get_contact(contact)
        .await?
        .consent(Channel::Email)
        .is_some_and(|c| c.status == ConsentStatus::Withdrawn && c.source == source);
    if !already {
        store
            .record_consent(
                contact,
                &Consent {
                    channel: Channel::Email,
                    status: ConsentStatus::Withdrawn,
                    at,
                    source: source.into(),
                },
            )
            .await?;
    }
    let mut attributes = BTreeMap::from([
        ("channel".to_owned(), "email".to_owned()),
        ("message".to_owned(), message.to_owned()),
    ]);
    if let Some(d) = detail {
        attributes.insert("detail".into(), d.to_owned());
    }
    store
        .ingest_events(
            &[IncomingEvent {
                external_id: format!("email-complaint:{message}"),
                contact: ContactRef::Id(contact),
                at,
                kind: EventKind::Custom {
                    name: "complaint".into(),
                    attributes,
                },
            }],
            at,
            rules,
        )
        .await?;
    Ok(true)
}

/// `POST /webhooks/email/{account}`: the relay's signed reports.
pub(crate) async fn reports_handler(
    State(state): State<AppState>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = state.key.clone() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(signature) = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // An unknown account and a wrong signature look the same from outside.
    let secret = match state.store.get_account(&account).await {
        Ok(a) => EmailSettings::of(&a, &key)
            .ok()
            .and_then(|s| s.webhook_secret),
        Err(stoke_store::StoreError::NotFound { .. }) => None,
        Err(e) => {
            tracing::error!(error = %e, "e-mail webhook: cannot read the account");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    if !secret.is_some_and(|s| signature_valid(&s, &body, signature)) {
        tracing::warn!(%account, "e-mail webhook: a report without a valid signature was refused");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let reports: Reports = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("body: {e}")).into_response(),
    };
    let rules = state.rules.get();
    match apply(
        state.store.as_ref(),
        &rules,
        &reports.reports,
        Timestamp::now(),
    )
    .await
    {
        Ok(applied) => Json(serde_json::json!({
            "recorded": applied.recorded,
            "unknown": applied.unknown,
        }))
        .into_response(),
        Err(e) => {
            // Not a 200: the relay posts again, and every step is idempotent.
            tracing::error!(error = %e, "e-mail webhook: storing reports failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
