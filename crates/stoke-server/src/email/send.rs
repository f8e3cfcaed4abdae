//! The e-mail channel's sending side: the `Provider` for `Channel::Email`, which composes the
//! message (`compose`) and submits it to the account's SMTP relay with `lettre` (STARTTLS
//! required, implicit TLS, or none on loopback; AUTH when a user name is set). The message's
//! `Message-ID` is the provider id that tracking links and bounce reports name.
//!
//! The relay's answer is read into Stoke's failure classes (`failure_class`): a permanent
//! rejection of the address (5xx with an enhanced status 5.1.x, or 550/551/553 without one) is
//! `InvalidNumber`, so the address is flagged and never tried again; other permanent answers
//! (policy, content, mailbox full) are `Declined`, not retried and not flagged, since the
//! address may be fine; refused credentials are `Restricted`, which pauses the account until
//! someone fixes its settings; a 4xx answer, a timeout or a broken connection is `Transient`.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use stoke_core::Account;
use stoke_core::outbox::FailureClass;
use stoke_store::outbox::Outbound;

use super::compose::{Composed, compose};
use super::tracking::Tracker;
use super::{EmailSettings, Security};
use crate::channel::AccountSettings;
use crate::channel::{Accepted, Provider, Refused};
use crate::secrets::WorkspaceKey;

/// How long one SMTP command may take before the send counts as failed (and is retried).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The failure class of a relay's answer: its reply code and the text after it (where an
/// enhanced status code like `5.1.1` is found).
pub fn failure_class(code: u16, text: &str) -> FailureClass {
    let enhanced = text
        .split_whitespace()
        .find(|w| {
            let parts: Vec<&str> = w.split('.').collect();
            parts.len() == 3
                && parts[0].len() == 1
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        })
        .unwrap_or("");
    match code {
        400..=499 => {
            if enhanced.starts_with("4.7.") && text.to_ascii_lowercase().contains("rate") {
                FailureClass::RateLimited
            } else {
                FailureClass::Transient
            }
        }
        // Authentication required, too weak, refused, or needing encryption.
        530 | 534 | 535 | 538 => FailureClass::Restricted,
        500..=599 => {
            if enhanced.starts_with("5.1.") {
                FailureClass::InvalidNumber
            } else if enhanced.starts_with("5.7.8") || enhanced.starts_with("5.7.0") && code == 535
            {
                FailureClass::Restricted
            } else if enhanced.is_empty() && matches!(code, 550 | 551 | 553) {
                FailureClass::InvalidNumber
            } else {
                FailureClass::Declined
            }
        }
        _ => FailureClass::Transient,
    }
}

/// A `lettre` error as a refusal.
fn refusal(error: &lettre::transport::smtp::Error) -> Refused {
    let detail = error.to_string();
    let class = match error.status() {
        Some(code) => {
            let code: u16 = code.to_string().parse().unwrap_or(0);
            failure_class(code, &detail)
        }
        // "No compatible authentication mechanism", a relay that offers no STARTTLS where it
        // is required: the account's settings are wrong, not this message.
        None if error.is_client() => FailureClass::Restricted,
        None => FailureClass::Transient,
    };
    Refused {
        class,
        detail: format!("SMTP: {detail}"),
    }
}

/// The SMTP relay as a Stoke provider.
#[derive(Debug, Clone)]
pub struct SmtpRelay {
    key: WorkspaceKey,
    tracker: Tracker,
}

impl SmtpRelay {
    pub fn new(key: WorkspaceKey) -> Self {
        let tracker = Tracker::new(&key);
        Self { key, tracker }
    }

    /// An account's settings, or a refusal that names what is wrong (the account pauses).
    pub fn settings(&self, account: &Account) -> Result<EmailSettings, Refused> {
        EmailSettings::of(account, &self.key).map_err(|e| Refused {
            class: FailureClass::Restricted,
            detail: e.to_string(),
        })
    }

    /// The message an outbox message becomes on this account (what `send` submits).
    pub fn compose(
        &self,
        settings: &EmailSettings,
        key: &str,
        message: &Outbound,
    ) -> Result<Composed, Refused> {
        compose(settings, &self.tracker, key, message).map_err(|e| Refused {
            class: if e.field == "to" {
                FailureClass::InvalidNumber
            } else {
                FailureClass::Restricted
            },
            detail: e.to_string(),
        })
    }

    fn transport(
        &self,
        settings: &EmailSettings,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, Refused> {
        let hello = reqwest::Url::parse(&settings.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .map_or_else(ClientId::default, ClientId::Domain);
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(settings.port)
                .timeout(Some(SMTP_TIMEOUT))
                .hello_name(hello);
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| Refused {
                class: FailureClass::Restricted,
                detail: format!("host: TLS parameters for {host:?}: {e}"),
            })
        };
        builder = match settings.security {
            Security::Starttls => builder.tls(Tls::Required(tls(&settings.host)?)),
            Security::Tls => builder.tls(Tls::Wrapper(tls(&settings.host)?)),
            // `normalised` refuses it for any host but loopback.
            Security::None => builder.tls(Tls::None),
        };
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }

    /// Submits a composed message with an account's settings.
    pub async fn submit(
        &self,
        settings: &EmailSettings,
        composed: &Composed,
    ) -> Result<Accepted, Refused> {
        if settings.security == Security::None && !super::is_loopback(&settings.host) {
            return Err(Refused {
                class: FailureClass::Restricted,
                detail: "security: none is only for a relay on loopback".into(),
            });
        }
        let transport = self.transport(settings)?;
        transport
            .send(composed.message.clone())
            .await
            .map_err(|e| refusal(&e))?;
        Ok(Accepted {
            provider_id: composed.message_id.clone(),
        })
    }
}

#[async_trait]
impl Provider for SmtpRelay {
    async fn send(
        &self,
        account: &Account,
        key: &str,
        message: &Outbound,
    ) -> Result<Accepted, Refused> {
        let settings = self.settings(account)?;
        let composed = self.compose(&settings, key, message)?;
        self.submit(&settings, &composed).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_answers_map_to_failure_classes() {
        for (code, text, class) in [
            (
                550,
                "5.1.1 <x@y>: Recipient address rejected: User unknown",
                FailureClass::InvalidNumber,
            ),
            (
                550,
                "Requested action not taken: mailbox unavailable",
                FailureClass::InvalidNumber,
            ),
            (
                553,
                "5.1.3 Bad recipient address syntax",
                FailureClass::InvalidNumber,
            ),
            (
                554,
                "5.7.1 Message rejected as spam",
                FailureClass::Declined,
            ),
            (550, "5.7.1 Relaying denied", FailureClass::Declined),
            (552, "5.2.2 Mailbox full", FailureClass::Declined),
            (
                535,
                "5.7.8 Authentication credentials invalid",
                FailureClass::Restricted,
            ),
            (
                530,
                "5.7.0 Authentication required",
                FailureClass::Restricted,
            ),
            (450, "4.2.1 Mailbox busy", FailureClass::Transient),
            (
                421,
                "4.7.0 Too many connections, rate limited",
                FailureClass::RateLimited,
            ),
            (451, "Local error in processing", FailureClass::Transient),
        ] {
            assert_eq!(failure_class(code, text), class, "{code} {text}");
        }
    }
}
