//! The WhatsApp Cloud API's sending side: `POST {api_base}/{api_version}/{phone_number_id}/messages`
//! with the documented JSON bodies, the message's `wamid` as the provider id, and Meta's error
//! codes read into Stoke's failure classes. Outside the 24-hour customer service window only an
//! approved template may go (Meta would refuse anything else with 131047): a message rendered
//! from a Stoke template goes as the variant's approved WhatsApp template with its parameters
//! filled for the contact, and anything else is refused before it leaves, saying what to set.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use stoke_core::Account;
use stoke_core::outbox::FailureClass;
use stoke_core::template::MediaKind;
use stoke_store::outbox::Outbound;

use super::WhatsAppSettings;
use super::webhook::failure_class;
use crate::channel::AccountSettings;
use crate::channel::{Accepted, Provider, Refused};
use crate::secrets::WorkspaceKey;

/// The customer service window: free-form messages only within this time of the contact's
/// last message.
pub const SERVICE_WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// One message in the Cloud API's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum WhatsAppMessage {
    Text {
        body: String,
    },
    /// Image, video, audio or document by link (`caption` is ignored for audio, which has none).
    Media {
        kind: MediaKind,
        link: String,
        caption: Option<String>,
        filename: Option<String>,
    },
    /// An approved template with its body's parameters, in order.
    Template {
        name: String,
        language: String,
        body_parameters: Vec<String>,
    },
    /// Reply buttons (up to three): `(id, title)`.
    Buttons {
        body: String,
        buttons: Vec<(String, String)>,
    },
}

impl WhatsAppMessage {
    /// Whether it may go outside the service window.
    pub fn is_template(&self) -> bool {
        matches!(self, WhatsAppMessage::Template { .. })
    }

    /// What the dispatcher rendered, in the Cloud API's terms.
    pub fn from_outbound(message: &Outbound) -> Self {
        let caption = (!message.text.trim().is_empty()).then(|| message.text.clone());
        match (&message.media_url, message.kind) {
            (Some(link), kind) if kind != MediaKind::Text => WhatsAppMessage::Media {
                kind,
                link: link.clone(),
                filename: (kind == MediaKind::Document).then(|| {
                    link.rsplit('/')
                        .next()
                        .and_then(|f| f.split('?').next())
                        .filter(|f| !f.is_empty())
                        .unwrap_or("document.pdf")
                        .to_owned()
                }),
                caption,
            },
            _ => WhatsAppMessage::Text {
                body: message.text.clone(),
            },
        }
    }

    /// The request body Meta documents, to `to` (E.164).
    pub fn body(&self, to: &str, callback: Option<&str>) -> serde_json::Value {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        let (kind, content) = match self {
            WhatsAppMessage::Text { body } => ("text", json!({"preview_url": false, "body": body})),
            WhatsAppMessage::Media {
                kind,
                link,
                caption,
                filename,
            } => {
                let name = match kind {
                    MediaKind::Image => "image",
                    MediaKind::Video => "video",
                    MediaKind::Audio => "audio",
                    MediaKind::Document | MediaKind::Text => "document",
                };
                let mut media = json!({ "link": link });
                if name != "audio"
                    && let Some(c) = caption
                {
                    media["caption"] = json!(c);
                }
                if name == "document"
                    && let Some(f) = filename
                {
                    media["filename"] = json!(f);
                }
                (name, media)
            }
            WhatsAppMessage::Template {
                name,
                language,
                body_parameters,
            } => {
                let mut template = json!({"name": name, "language": {"code": language}});
                if !body_parameters.is_empty() {
                    let parameters: Vec<serde_json::Value> = body_parameters
                        .iter()
                        .map(|p| json!({"type": "text", "text": p}))
                        .collect();
                    template["components"] = json!([{"type": "body", "parameters": parameters}]);
                }
                ("template", template)
            }
            WhatsAppMessage::Buttons { body, buttons } => {
                let buttons: Vec<serde_json::Value> = buttons
                    .iter()
                    .map(
                        |(id, title)| json!({"type": "reply", "reply": {"id": id, "title": title}}),
                    )
                    .collect();
                (
                    "interactive",
                    json!({"type": "button", "body": {"text": body}, "action": {"buttons": buttons}}),
                )
            }
        };
        body["type"] = json!(kind);
        body[kind] = content;
        if let Some(data) = callback {
            body["biz_opaque_callback_data"] = json!(data);
        }
        body
    }
}

/// What goes out for a dispatched message at `now`: its rendered text (or media) inside the
/// service window; outside it, its template's approved WhatsApp template, or a refusal naming
/// the template and what to set.
pub fn for_outbound(message: &Outbound, now: Timestamp) -> Result<WhatsAppMessage, Refused> {
    let free = WhatsAppMessage::from_outbound(message);
    if window_open(message.last_inbound_at, now) {
        return Ok(free);
    }
    match &message.template {
        Some(t) => match &t.whatsapp {
            Some(approved) => Ok(WhatsAppMessage::Template {
                name: approved.name.clone(),
                language: approved.language.clone(),
                body_parameters: approved.parameters.clone(),
            }),
            None => {
                let variant = t.language.as_deref().unwrap_or("default");
                Err(Refused {
                    class: FailureClass::OutsideWindow,
                    detail: format!(
                        "outside WhatsApp's 24-hour service window ({}) and template {:?} \
                         (variant {variant}) has no approved WhatsApp template: set its \
                         whatsapp_template, whatsapp_language and whatsapp_parameters \
                         (PUT /api/v1/templates/{}, or stoke template add --wa-template)",
                        last_wrote(message.last_inbound_at),
                        t.name,
                        t.name
                    ),
                })
            }
        },
        None => check_window(&free, message.last_inbound_at, now).map(|()| free),
    }
}

fn window_open(last_inbound_at: Option<Timestamp>, now: Timestamp) -> bool {
    last_inbound_at.is_some_and(|at| now.duration_since(at) <= SERVICE_WINDOW)
}

fn last_wrote(last_inbound_at: Option<Timestamp>) -> String {
    last_inbound_at
        .map(|at| format!("the contact last wrote at {at}"))
        .unwrap_or_else(|| "the contact has never written".to_owned())
}

/// Whether a message sent at `now` opens a business-initiated conversation (the contact's
/// window is closed): what the messaging tier counts.
pub fn business_initiated(last_inbound_at: Option<Timestamp>, now: Timestamp) -> bool {
    !window_open(last_inbound_at, now)
}

/// Refuses a free-form message outside the window, before it leaves.
pub fn check_window(
    message: &WhatsAppMessage,
    last_inbound_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), Refused> {
    if message.is_template() || window_open(last_inbound_at, now) {
        return Ok(());
    }
    let last = last_wrote(last_inbound_at);
    Err(Refused {
        class: FailureClass::OutsideWindow,
        detail: format!(
            "outside WhatsApp's 24-hour service window ({last}): only an approved template may go"
        ),
    })
}

/// The Cloud API as a Stoke provider.
#[derive(Debug, Clone)]
pub struct WhatsAppCloud {
    key: WorkspaceKey,
    client: reqwest::Client,
}

impl WhatsAppCloud {
    pub fn new(key: WorkspaceKey) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self { key, client })
    }

    /// Sends one message with an account's settings (templates, buttons and read marks use
    /// this directly; the dispatcher goes through `Provider::send`).
    pub async fn post(
        &self,
        settings: &WhatsAppSettings,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, Refused> {
        let token = settings.access_token.as_deref().ok_or_else(|| Refused {
            class: FailureClass::Restricted,
            detail: "access_token: the account has none (stoke account whatsapp)".into(),
        })?;
        let url = format!(
            "{}/{}/{}/messages",
            settings.api_base, settings.api_version, settings.phone_number_id
        );
        let response = self
            .client
            .post(&url)
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| Refused {
                class: FailureClass::Transient,
                detail: format!("Graph API unreachable: {}", e.without_url()),
            })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| Refused {
            class: FailureClass::Transient,
            detail: format!("Graph API answer unreadable: {}", e.without_url()),
        })?;
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or(json!({}));
        if status.is_success() {
            return Ok(answer);
        }
        let error = &answer["error"];
        let code = error["code"].as_i64();
        let class = match code {
            Some(c) => failure_class(c, Some(status.as_u16())),
            None if status.as_u16() == 429 => FailureClass::RateLimited,
            None => FailureClass::Transient,
        };
        let mut detail = format!(
            "HTTP {}: {}",
            status.as_u16(),
            error["message"].as_str().unwrap_or("no error message")
        );
        if let Some(details) = error["error_data"]["details"].as_str() {
            detail.push_str(&format!(" ({details})"));
        }
        if let Some(c) = code {
            detail = format!("{c} {detail}");
        }
        Err(Refused { class, detail })
    }

    /// Sends a message and returns its wamid.
    pub async fn send_message(
        &self,
        settings: &WhatsAppSettings,
        to: &str,
        message: &WhatsAppMessage,
        callback: Option<&str>,
    ) -> Result<Accepted, Refused> {
        let answer = self.post(settings, &message.body(to, callback)).await?;
        match answer["messages"][0]["id"].as_str() {
            Some(id) if !id.is_empty() => Ok(Accepted {
                provider_id: id.to_owned(),
            }),
            _ => Err(Refused {
                class: FailureClass::Transient,
                detail: "the Graph API accepted the message without a messages[0].id".into(),
            }),
        }
    }

    /// Marks an inbound message read (the blue ticks the customer sees).
    pub async fn mark_read(&self, settings: &WhatsAppSettings, wamid: &str) -> Result<(), Refused> {
        self.post(
            settings,
            &json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid}),
        )
        .await
        .map(|_| ())
    }

    /// An account's settings, or a refusal that names what is wrong (the account pauses).
    pub fn settings(&self, account: &Account) -> Result<WhatsAppSettings, Refused> {
        WhatsAppSettings::of(account, &self.key).map_err(|e| Refused {
            class: FailureClass::Restricted,
            detail: e.to_string(),
        })
    }
}

#[async_trait]
impl Provider for WhatsAppCloud {
    async fn send(
        &self,
        account: &Account,
        key: &str,
        message: &Outbound,
    ) -> Result<Accepted, Refused> {
        let settings = self.settings(account)?;
        let wa = for_outbound(message, Timestamp::now())?;
        self.send_message(&settings, &message.to, &wa, Some(key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_as_documented() {
        let to = "+966501234567";
        let text = WhatsAppMessage::Text { body: "Hi".into() }.body(to, None);
        assert_eq!(
            text,
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,
                   "type":"text","text":{"preview_url":false,"body":"Hi"}})
        );
        let template = WhatsAppMessage::Template {
            name: "order_update".into(),
            language: "ar".into(),
            body_parameters: vec!["Ahmed".into(), "1042".into()],
        }
        .body(to, Some("k1"));
        assert_eq!(
            template["template"],
            json!({"name":"order_update","language":{"code":"ar"},"components":[
                {"type":"body","parameters":[{"type":"text","text":"Ahmed"},{"type":"text","text":"1042"}]}]})
        );
        assert_eq!(template["biz_opaque_callback_data"], "k1");
        let doc = WhatsAppMessage::Media {
            kind: MediaKind::Document,
            link: "https://example.com/spec.pdf".into(),
            caption: Some("Spec".into()),
            filename: Some("spec.pdf".into()),
        }
        .body(to, None);
        assert_eq!(
            doc["document"],
            json!({"link":"https://example.com/spec.pdf","caption":"Spec","filename":"spec.pdf"})
        );
        let audio = WhatsAppMessage::Media {
            kind: MediaKind::Audio,
            link: "https://example.com/a.ogg".into(),
            caption: Some("ignored".into()),
            filename: None,
        }
        .body(to, None);
        assert_eq!(audio["audio"], json!({"link":"https://example.com/a.ogg"}));
        let buttons = WhatsAppMessage::Buttons {
            body: "A quote?".into(),
            buttons: vec![("yes".into(), "Yes".into())],
        }
        .body(to, None);
        assert_eq!(
            buttons["interactive"],
            json!({"type":"button","body":{"text":"A quote?"},"action":{"buttons":[
                {"type":"reply","reply":{"id":"yes","title":"Yes"}}]}})
        );
    }

    #[test]
    fn the_window_lets_templates_through_only() {
        let now: Timestamp = "2026-11-24T12:00:00Z".parse().expect("time");
        let text = WhatsAppMessage::Text { body: "x".into() };
        let template = WhatsAppMessage::Template {
            name: "t".into(),
            language: "en".into(),
            body_parameters: vec![],
        };
        let recent = now - SignedDuration::from_hours(23);
        let old = now - SignedDuration::from_hours(25);
        assert!(check_window(&text, Some(recent), now).is_ok());
        let refused = check_window(&text, Some(old), now).expect_err("outside");
        assert_eq!(refused.class, FailureClass::OutsideWindow);
        assert!(refused.detail.contains("24-hour"), "{}", refused.detail);
        assert!(check_window(&text, None, now).is_err());
        assert!(check_window(&template, None, now).is_ok());
    }

    #[test]
    fn error_codes_map_to_failure_classes() {
        for (code, class) in [
            (131026, FailureClass::InvalidNumber),
            (131047, FailureClass::OutsideWindow),
            (130429, FailureClass::RateLimited),
            (131056, FailureClass::RateLimited),
            (80007, FailureClass::RateLimited),
            (131049, FailureClass::MarketingCapped),
            (131050, FailureClass::StoppedMarketing),
            (190, FailureClass::Restricted),
            (368, FailureClass::Restricted),
            (131031, FailureClass::Restricted),
            (131000, FailureClass::Transient),
        ] {
            assert_eq!(failure_class(code, Some(400)), class, "{code}");
        }
    }
}
