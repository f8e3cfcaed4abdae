//! The gateway's sending side: one signed JSON POST per message to the account's URL.
//!
//! The body:
//!
//! ```json
//! {"id": "OUTBOX KEY", "account": "sms-1", "to": "+966501234567", "kind": "text",
//!  "text": "...", "media_url": null, "sent_at": "2026-11-24T10:00:00Z"}
//! ```
//!
//! `id` is the outbox's idempotency key (also sent as `Idempotency-Key`): a retry after an
//! unclear failure carries the same id, so the tool can drop the second copy. The tool answers
//! 2xx, optionally with `{"id": "ITS OWN MESSAGE ID"}`, which statuses then name (otherwise
//! they name Stoke's `id`). 408, 429 and 5xx (and no answer) are retried later; 410 says the
//! number does not exist (flagged, never retried); any other 4xx declines the message for good.

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::json;
use stoke_core::Account;
use stoke_core::outbox::FailureClass;
use stoke_store::outbox::Outbound;

use super::{GatewaySettings, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::channel::AccountSettings;
use crate::channel::{Accepted, Provider, Refused};
use crate::secrets::WorkspaceKey;

/// The provider for `Channel::Webhook` accounts.
#[derive(Debug, Clone)]
pub struct HttpGateway {
    key: WorkspaceKey,
    client: reqwest::Client,
}

impl HttpGateway {
    pub fn new(key: WorkspaceKey) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            // A tool that redirects is misconfigured: follow nothing, report it.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { key, client })
    }
}

/// What an answer's status means for the message.
pub fn failure_class(status: u16) -> FailureClass {
    match status {
        408 | 425 | 429 | 500..=599 => FailureClass::Transient,
        410 => FailureClass::InvalidNumber,
        _ => FailureClass::Declined,
    }
}

#[async_trait]
impl Provider for HttpGateway {
    async fn send(
        &self,
        account: &Account,
        key: &str,
        message: &Outbound,
    ) -> Result<Accepted, Refused> {
        let settings = GatewaySettings::of(account, &self.key).map_err(|e| Refused {
            class: FailureClass::Restricted,
            detail: e.to_string(),
        })?;
        let now = Timestamp::now();
        let body = json!({
            "id": key,
            "account": account.name,
            "to": message.to,
            "kind": message.kind.as_str(),
            "text": message.text,
            "media_url": message.media_url,
            "sent_at": now.to_string(),
        })
        .to_string();
        let timestamp = now.as_second();
        let answer = self
            .client
            .post(&settings.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", key)
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                sign(&settings.secret, timestamp, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Refused {
                class: FailureClass::Transient,
                detail: format!("the gateway did not answer: {e}"),
            })?;
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            let detail: String = text.chars().take(300).collect();
            return Err(Refused {
                class: failure_class(status.as_u16()),
                detail: format!("the gateway answered {status}: {detail}"),
            });
        }
        let provider_id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_owned)))
            .filter(|id| !id.trim().is_empty() && id.len() <= 200)
            .unwrap_or_else(|| key.to_owned());
        Ok(Accepted { provider_id })
    }
}
