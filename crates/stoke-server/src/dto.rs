//! The API's JSON shapes. Domain types carry no serde derives; these do, so the wire format
//! changes only when this file does.

use std::collections::BTreeMap;

use serde::Serialize;
use stoke_core::{Contact, CustomValue, Event, EventKind, Message, Note, Tag, TagChange, Task};
use stoke_store::Counts;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct PageDto<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ContactDto {
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
    pub whatsapp_id: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub company: Option<String>,
    pub reach: ReachDto,
    pub birthday: Option<String>,
    #[schema(value_type = Object)]
    pub custom: BTreeMap<String, serde_json::Value>,
    pub consents: Vec<ConsentDto>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagDto>>,
}

#[derive(Serialize, ToSchema)]
pub struct ReachDto {
    pub preferred_channel: Option<&'static str>,
    pub window: Option<String>,
    pub format: Option<&'static str>,
    pub max_per_week: Option<u32>,
    pub passive: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentDto {
    pub channel: &'static str,
    pub status: &'static str,
    pub at: String,
    pub source: String,
}

impl ContactDto {
    pub fn new(c: Contact, tags: Option<Vec<Tag>>) -> Self {
        Self {
            id: c.id.get(),
            kind: c.kind.as_str(),
            name: c.name,
            phones: c.phones.iter().map(ToString::to_string).collect(),
            emails: c.emails.iter().map(ToString::to_string).collect(),
            whatsapp_id: c.whatsapp_id,
            country: c.country.map(|x| x.to_string()),
            city: c.city,
            language: c.language.map(|l| l.to_string()),
            time_zone: c.time_zone.map(|z| z.to_string()),
            company: c.company.legal_name,
            reach: ReachDto {
                preferred_channel: c.reach.preferred_channel.map(|x| x.as_str()),
                window: c.reach.window.map(|w| w.to_string()),
                format: c.reach.format.map(|f| f.as_str()),
                max_per_week: c.reach.max_per_week,
                passive: c.reach.passive,
            },
            birthday: c.relationship.birthday.map(|d| d.to_string()),
            custom: c
                .custom
                .into_iter()
                .map(|(k, v)| {
                    let value = match v {
                        CustomValue::Text(t) | CustomValue::Choice(t) => {
                            serde_json::Value::String(t)
                        }
                        CustomValue::Number(n) => serde_json::Value::String(n.to_string()),
                        CustomValue::Date(d) => serde_json::Value::String(d.to_string()),
                        CustomValue::YesNo(b) => serde_json::Value::Bool(b),
                    };
                    (k, value)
                })
                .collect(),
            consents: c
                .consents
                .into_iter()
                .map(|x| ConsentDto {
                    channel: x.channel.as_str(),
                    status: x.status.as_str(),
                    at: x.at.to_string(),
                    source: x.source,
                })
                .collect(),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            tags: tags.map(|t| t.into_iter().map(TagDto::from).collect()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TagDto {
    pub family: &'static str,
    pub value: String,
    pub colour: String,
    pub rule: String,
    pub evidence: EvidenceDto,
    pub set_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceDto {
    pub message: Option<i64>,
    pub event: Option<i64>,
    pub detail: String,
}

impl From<Tag> for TagDto {
    fn from(t: Tag) -> Self {
        Self {
            family: t.family.as_str(),
            value: t.value,
            colour: t.colour,
            rule: t.rule,
            evidence: EvidenceDto {
                message: t.evidence.message.map(|m| m.get()),
                event: t.evidence.event.map(|e| e.get()),
                detail: t.evidence.detail,
            },
            set_at: t.set_at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TagChangeDto {
    pub change: &'static str,
    #[serde(flatten)]
    pub tag: TagDto,
}

impl From<TagChange> for TagChangeDto {
    fn from(c: TagChange) -> Self {
        Self {
            change: c.kind.as_str(),
            tag: c.tag.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct StatusDto {
    pub status: &'static str,
    pub at: String,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub id: i64,
    pub external_id: String,
    pub conversation: i64,
    pub account: i64,
    pub channel: &'static str,
    pub direction: &'static str,
    pub text: String,
    pub at: String,
    pub provider_id: Option<String>,
    pub statuses: Vec<StatusDto>,
}

impl From<Message> for MessageDto {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.get(),
            external_id: m.external_id,
            conversation: m.conversation.get(),
            account: m.account.get(),
            channel: m.channel.as_str(),
            direction: m.direction.as_str(),
            text: m.text,
            at: m.at.to_string(),
            provider_id: m.provider_id,
            statuses: m
                .statuses
                .into_iter()
                .map(|s| StatusDto {
                    status: s.status.as_str(),
                    at: s.at.to_string(),
                    detail: s.detail,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    pub id: i64,
    pub external_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub at: String,
    /// The type's own fields: `order_id`, `amount`, `currency`, `lines` for an order; `url`
    /// and `campaign` for a click; `campaign` for an open; `name` and `data` for a custom event.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<Event> for EventDto {
    fn from(e: Event) -> Self {
        let kind = e.kind.as_str();
        let detail = match e.kind {
            EventKind::Order {
                order_id,
                amount,
                lines,
            } => serde_json::json!({
                "order_id": order_id,
                "amount": amount.amount_string(),
                "currency": amount.currency().code(),
                "lines": lines.into_iter().map(|l| serde_json::json!({
                    "sku": l.sku, "name": l.name, "quantity": l.quantity, "unit_price": l.unit_price.amount_string(),
                })).collect::<Vec<_>>(),
            }),
            EventKind::Click { url, campaign } => {
                serde_json::json!({ "url": url, "campaign": campaign })
            }
            EventKind::Open { campaign } => serde_json::json!({ "campaign": campaign }),
            EventKind::Custom { name, attributes } => {
                serde_json::json!({ "name": name, "data": attributes })
            }
        };
        Self {
            id: e.id.get(),
            external_id: e.external_id,
            kind,
            at: e.at.to_string(),
            detail,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CountsDto {
    pub contacts: u64,
    pub accounts: u64,
    pub conversations: u64,
    pub messages: u64,
    pub events: u64,
    pub tags: u64,
    pub users: u64,
}

impl From<Counts> for CountsDto {
    fn from(c: Counts) -> Self {
        Self {
            contacts: c.contacts,
            accounts: c.accounts,
            conversations: c.conversations,
            messages: c.messages,
            events: c.events,
            tags: c.tags,
            users: c.users,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NoteDto {
    pub id: i64,
    pub author: Option<i64>,
    pub text: String,
    pub at: String,
}

impl From<Note> for NoteDto {
    fn from(n: Note) -> Self {
        Self {
            id: n.id.get(),
            author: n.author.map(|u| u.get()),
            text: n.text,
            at: n.at.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub due_at: Option<String>,
    pub assignee: Option<i64>,
    pub done_at: Option<String>,
    pub created_at: String,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.get(),
            kind: t.kind.as_str(),
            title: t.title,
            due_at: t.due_at.map(|x| x.to_string()),
            assignee: t.assignee.map(|u| u.get()),
            done_at: t.done_at.map(|x| x.to_string()),
            created_at: t.created_at.to_string(),
        }
    }
}
