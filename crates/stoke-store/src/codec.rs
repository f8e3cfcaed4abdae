//! How the parts of a contact and an event that have no columns of their own are kept: as JSON
//! documents with a versioned, explicit shape. Shared by every backend so that a workspace moved
//! from SQLite to PostgreSQL carries the same bytes.
//!
//! These DTOs are the storage format: renaming a field here is a migration.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use stoke_core::contact::{Commerce, CompanyDetails, ImportantDate, Relationship};
use stoke_core::{
    Channel, Consent, ConsentStatus, Contact, ContactDraft, ContactPerson, ContactWindow,
    CustomValue, Email, EventKind, MessageFormat, Money, OrderLine, PaymentStatus, Phone,
    PurchaseFrequency, ReachPreferences, UserId,
};

use stoke_core::engine::{ContactState, EngineEvent, Purchases, Source};
use stoke_core::text::IntentTier;
use stoke_core::{EventId, MessageId};

use crate::StoreError;

/// The contact fields without a column of their own.
#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ProfileDoc {
    legal_name: Option<String>,
    registration_number: Option<String>,
    tax_id: Option<String>,
    company_address: Option<String>,
    persons: Vec<PersonDoc>,
    photo_url: Option<String>,
    phones: Vec<String>,
    emails: Vec<String>,
    whatsapp_id: Option<String>,
    other_handles: Vec<(String, String)>,
    preferred_channel: Option<String>,
    window: Option<String>,
    format: Option<String>,
    max_per_week: Option<u32>,
    passive: bool,
    current_order: Option<String>,
    order_stage: Option<String>,
    payment_status: Option<String>,
    purchase_frequency: Option<String>,
    purchase_preferences: Vec<String>,
    birthday: Option<Date>,
    important_dates: Vec<(String, Date)>,
    hobbies: Vec<String>,
    favourite_team: Option<String>,
    custom: BTreeMap<String, CustomDoc>,
    consents: Vec<ConsentDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonDoc {
    name: String,
    role: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    schedule: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
enum CustomDoc {
    Text(String),
    Number(Decimal),
    Date(Date),
    Choice(String),
    YesNo(bool),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentDoc {
    channel: String,
    status: String,
    at: Timestamp,
    source: String,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is unreadable: {detail}"))
}

fn parse_opt<T: std::str::FromStr>(what: &str, raw: Option<String>) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    raw.map(|r| r.parse::<T>().map_err(|e| corrupt(what, e)))
        .transpose()
}

impl ProfileDoc {
    /// Encodes the parts of `contact` that have no column.
    pub fn encode(contact: &Contact) -> String {
        let doc = ProfileDoc {
            legal_name: contact.company.legal_name.clone(),
            registration_number: contact.company.registration_number.clone(),
            tax_id: contact.company.tax_id.clone(),
            company_address: contact.company.address.clone(),
            persons: contact
                .persons
                .iter()
                .map(|p| PersonDoc {
                    name: p.name.clone(),
                    role: p.role.clone(),
                    phone: p.phone.as_ref().map(|x| x.as_str().to_owned()),
                    email: p.email.as_ref().map(|x| x.as_str().to_owned()),
                    schedule: p.schedule.clone(),
                })
                .collect(),
            photo_url: contact.photo_url.clone(),
            phones: contact
                .phones
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            emails: contact
                .emails
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            whatsapp_id: contact.whatsapp_id.clone(),
            other_handles: contact.other_handles.clone(),
            preferred_channel: contact
                .reach
                .preferred_channel
                .map(|c| c.as_str().to_owned()),
            window: contact.reach.window.as_ref().map(ToString::to_string),
            format: contact.reach.format.map(|f| f.as_str().to_owned()),
            max_per_week: contact.reach.max_per_week,
            passive: contact.reach.passive,
            current_order: contact.commerce.current_order.clone(),
            order_stage: contact.commerce.order_stage.clone(),
            payment_status: contact
                .commerce
                .payment_status
                .map(|p| p.as_str().to_owned()),
            purchase_frequency: contact
                .commerce
                .purchase_frequency
                .map(|p| p.as_str().to_owned()),
            purchase_preferences: contact.commerce.purchase_preferences.clone(),
            birthday: contact.relationship.birthday,
            important_dates: contact
                .relationship
                .important_dates
                .iter()
                .map(|d| (d.label.clone(), d.date))
                .collect(),
            hobbies: contact.relationship.hobbies.clone(),
            favourite_team: contact.relationship.favourite_team.clone(),
            custom: contact
                .custom
                .iter()
                .map(|(k, v)| {
                    let doc = match v {
                        CustomValue::Text(t) => CustomDoc::Text(t.clone()),
                        CustomValue::Number(n) => CustomDoc::Number(*n),
                        CustomValue::Date(d) => CustomDoc::Date(*d),
                        CustomValue::Choice(c) => CustomDoc::Choice(c.clone()),
                        CustomValue::YesNo(b) => CustomDoc::YesNo(*b),
                    };
                    (k.clone(), doc)
                })
                .collect(),
            consents: contact
                .consents
                .iter()
                .map(|c| ConsentDoc {
                    channel: c.channel.as_str().to_owned(),
                    status: c.status.as_str().to_owned(),
                    at: c.at,
                    source: c.source.clone(),
                })
                .collect(),
        };
        // A struct of strings, numbers and dates always serialises.
        serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Decodes a stored profile into `contact`, whose column fields are already set.
    pub fn decode_into(json: &str, contact: &mut Contact) -> Result<(), StoreError> {
        let doc: ProfileDoc = serde_json::from_str(json).map_err(|e| corrupt("profile", e))?;
        contact.company = CompanyDetails {
            legal_name: doc.legal_name,
            registration_number: doc.registration_number,
            tax_id: doc.tax_id,
            address: doc.company_address,
        };
        contact.persons = doc
            .persons
            .into_iter()
            .map(|p| {
                Ok(ContactPerson {
                    name: p.name,
                    role: p.role,
                    phone: p
                        .phone
                        .map(|x| Phone::from_stored(&x))
                        .transpose()
                        .map_err(|e| corrupt("person", e))?,
                    email: p
                        .email
                        .map(|x| Email::from_stored(&x))
                        .transpose()
                        .map_err(|e| corrupt("person", e))?,
                    schedule: p.schedule,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        contact.photo_url = doc.photo_url;
        contact.phones = doc
            .phones
            .iter()
            .map(|p| Phone::from_stored(p).map_err(|e| corrupt("phone", e)))
            .collect::<Result<_, _>>()?;
        contact.emails = doc
            .emails
            .iter()
            .map(|e| Email::from_stored(e).map_err(|err| corrupt("e-mail", err)))
            .collect::<Result<_, _>>()?;
        contact.whatsapp_id = doc.whatsapp_id;
        contact.other_handles = doc.other_handles;
        contact.reach = ReachPreferences {
            preferred_channel: parse_opt::<Channel>("channel", doc.preferred_channel)?,
            window: doc
                .window
                .map(|w| ContactWindow::parse(&w).map_err(|e| corrupt("window", e)))
                .transpose()?,
            format: parse_opt::<MessageFormat>("format", doc.format)?,
            max_per_week: doc.max_per_week,
            passive: doc.passive,
        };
        contact.commerce = Commerce {
            current_order: doc.current_order,
            order_stage: doc.order_stage,
            payment_status: parse_opt::<PaymentStatus>("payment status", doc.payment_status)?,
            purchase_frequency: parse_opt::<PurchaseFrequency>(
                "frequency",
                doc.purchase_frequency,
            )?,
            purchase_preferences: doc.purchase_preferences,
        };
        contact.relationship = Relationship {
            birthday: doc.birthday,
            important_dates: doc
                .important_dates
                .into_iter()
                .map(|(label, date)| ImportantDate { label, date })
                .collect(),
            hobbies: doc.hobbies,
            favourite_team: doc.favourite_team,
        };
        contact.custom = doc
            .custom
            .into_iter()
            .map(|(k, v)| {
                let value = match v {
                    CustomDoc::Text(t) => CustomValue::Text(t),
                    CustomDoc::Number(n) => CustomValue::Number(n),
                    CustomDoc::Date(d) => CustomValue::Date(d),
                    CustomDoc::Choice(c) => CustomValue::Choice(c),
                    CustomDoc::YesNo(b) => CustomValue::YesNo(b),
                };
                (k, value)
            })
            .collect();
        contact.consents = doc
            .consents
            .into_iter()
            .map(|c| {
                Ok(Consent {
                    channel: c.channel.parse().map_err(|e| corrupt("consent", e))?,
                    status: c
                        .status
                        .parse::<ConsentStatus>()
                        .map_err(|e| corrupt("consent", e))?,
                    at: c.at,
                    source: c.source,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(())
    }
}

/// The event fields beyond kind, time and amount.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum EventDoc {
    Order {
        order_id: String,
        lines: Vec<LineDoc>,
    },
    Click {
        url: String,
        campaign: Option<String>,
    },
    Open {
        campaign: Option<String>,
    },
    Custom {
        name: String,
        attributes: BTreeMap<String, String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineDoc {
    sku: String,
    name: String,
    quantity: i64,
    unit_price_minor: i64,
}

/// Encodes an event's payload; the order amount and currency have columns of their own so that
/// revenue can be summed in SQL, and are returned beside the document.
pub fn encode_event(kind: &EventKind) -> (String, Option<Money>) {
    let (doc, amount) = match kind {
        EventKind::Order {
            order_id,
            amount,
            lines,
        } => (
            EventDoc::Order {
                order_id: order_id.clone(),
                lines: lines
                    .iter()
                    .map(|l| LineDoc {
                        sku: l.sku.clone(),
                        name: l.name.clone(),
                        quantity: l.quantity,
                        unit_price_minor: l.unit_price.minor(),
                    })
                    .collect(),
            },
            Some(*amount),
        ),
        EventKind::Click { url, campaign } => (
            EventDoc::Click {
                url: url.clone(),
                campaign: campaign.clone(),
            },
            None,
        ),
        EventKind::Open { campaign } => (
            EventDoc::Open {
                campaign: campaign.clone(),
            },
            None,
        ),
        EventKind::Custom { name, attributes } => (
            EventDoc::Custom {
                name: name.clone(),
                attributes: attributes.clone(),
            },
            None,
        ),
    };
    (
        serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned()),
        amount,
    )
}

/// The products (SKUs) of a stored order's lines, for the engine; empty for other events.
pub fn order_products(json: &str) -> Result<Vec<String>, StoreError> {
    match serde_json::from_str::<EventDoc>(json).map_err(|e| corrupt("event", e))? {
        EventDoc::Order { lines, .. } => Ok(lines.into_iter().map(|l| l.sku).collect()),
        _ => Ok(Vec::new()),
    }
}

/// The words a stored click's link is about (`stoke_core::link_topic`), for the engine; empty
/// for other events.
pub fn click_topic(json: &str) -> Result<String, StoreError> {
    match serde_json::from_str::<EventDoc>(json).map_err(|e| corrupt("event", e))? {
        EventDoc::Click { url, .. } => Ok(stoke_core::link_topic(&url)),
        _ => Ok(String::new()),
    }
}

/// Decodes an event's payload with its amount columns.
pub fn decode_event(json: &str, amount: Option<Money>) -> Result<EventKind, StoreError> {
    let doc: EventDoc = serde_json::from_str(json).map_err(|e| corrupt("event", e))?;
    Ok(match doc {
        EventDoc::Order { order_id, lines } => {
            let amount = amount.ok_or_else(|| corrupt("order", "no amount"))?;
            EventKind::Order {
                order_id,
                amount,
                lines: lines
                    .into_iter()
                    .map(|l| OrderLine {
                        sku: l.sku,
                        name: l.name,
                        quantity: l.quantity,
                        unit_price: Money::from_minor(l.unit_price_minor, amount.currency()),
                    })
                    .collect(),
            }
        }
        EventDoc::Click { url, campaign } => EventKind::Click { url, campaign },
        EventDoc::Open { campaign } => EventKind::Open { campaign },
        EventDoc::Custom { name, attributes } => EventKind::Custom { name, attributes },
    })
}

/// Timestamps are kept as milliseconds since the Unix epoch in both backends' integer columns:
/// compact, ordered, and free of time-zone text.
pub fn to_millis(at: Timestamp) -> i64 {
    at.as_millisecond()
}

pub fn from_millis(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms).map_err(|e| corrupt("time", e))
}

/// Parses a stored enum-like column.
pub fn parse_column<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    raw.parse::<T>().map_err(|e| corrupt(what, e))
}

/// The engine's view of a stored receipt for a business message.
pub fn status_event(status: &str, message: MessageId, at: Timestamp) -> Option<EngineEvent> {
    match status {
        "delivered" => Some(EngineEvent::Delivered { message, at }),
        "read" => Some(EngineEvent::Read { message, at }),
        _ => None,
    }
}

/// The engine's view of an event; custom events do not move tags (yet).
pub fn event_of(kind: &EventKind, event: EventId, at: Timestamp) -> Option<EngineEvent> {
    match kind {
        EventKind::Order { lines, .. } => Some(EngineEvent::Order {
            event,
            at,
            products: lines.iter().map(|l| l.sku.clone()).collect(),
        }),
        EventKind::Click { url, .. } => Some(EngineEvent::Click {
            event,
            at,
            topic: stoke_core::link_topic(url),
        }),
        EventKind::Open { .. } => Some(EngineEvent::Open { event, at }),
        EventKind::Custom { .. } => None,
    }
}

/// `ContactDraft::apply`, plus the owner the draft names, resolved by the backend from its users
/// (e-mail key to user).
pub fn apply_draft(draft: &ContactDraft, owners: &BTreeMap<String, UserId>, contact: &mut Contact) {
    draft.apply(contact);
    if let Some(id) = draft
        .owner
        .as_ref()
        .and_then(|e| owners.get(&e.dedup_key()))
    {
        contact.owner = Some(*id);
    }
}

/// A moment in a stored list: written as Unix milliseconds (the lists are the bulk of a state and
/// are read and written on every batch), read from either that or an RFC 3339 string.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum Moment {
    Millis(i64),
    Text(Timestamp),
}

impl Moment {
    fn of(at: Timestamp) -> Self {
        Moment::Millis(to_millis(at))
    }

    fn at(self) -> Result<Timestamp, StoreError> {
        match self {
            Moment::Millis(ms) => from_millis(ms),
            Moment::Text(at) => Ok(at),
        }
    }
}

fn moments(list: Vec<Moment>) -> Result<std::collections::VecDeque<Timestamp>, StoreError> {
    list.into_iter().map(Moment::at).collect()
}

/// The engine's memory of a contact, as stored beside it.
#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct StateDoc {
    first_seen: Option<Timestamp>,
    last_event_at: Option<Timestamp>,
    last_inbound: Option<SourceDoc>,
    last_outbound_at: Option<Timestamp>,
    intent: Option<(String, SourceDoc)>,
    interests: BTreeMap<String, SourceDoc>,
    negative_streak: u32,
    last_negative: Option<SourceDoc>,
    opted_out: Option<SourceDoc>,
    /// Unix milliseconds (states stored before were RFC 3339 strings: both are read).
    recent_inbound: Vec<Moment>,
    /// Unix milliseconds. Absent in states stored before the planner counted touches;
    /// `stoke reclassify` fills it.
    recent_outbound: Vec<Moment>,
    orders: u32,
    last_order: Option<SourceDoc>,
    last_click: Option<SourceDoc>,
    score: f64,
    score_at: Option<Timestamp>,
    purchases: BTreeMap<String, PurchaseDoc>,
    last_complaint: Option<SourceDoc>,
    reply_delays: BTreeMap<u8, Vec<u32>>,
    last_read: Option<SourceDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PurchaseDoc {
    count: u32,
    first: Timestamp,
    last: Timestamp,
    last_event: i64,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceDoc {
    at: Timestamp,
    message: Option<i64>,
    event: Option<i64>,
    detail: String,
}

impl From<&Source> for SourceDoc {
    fn from(s: &Source) -> Self {
        Self {
            at: s.at,
            message: s.message.map(MessageId::get),
            event: s.event.map(EventId::get),
            detail: s.detail.clone(),
        }
    }
}

impl From<SourceDoc> for Source {
    fn from(s: SourceDoc) -> Self {
        Self {
            at: s.at,
            message: s.message.map(MessageId::new),
            event: s.event.map(EventId::new),
            detail: s.detail,
        }
    }
}

fn tier_from(name: &str) -> Result<IntentTier, StoreError> {
    match name {
        "high" => Ok(IntentTier::High),
        "medium" => Ok(IntentTier::Medium),
        "potential" => Ok(IntentTier::Potential),
        "none" => Ok(IntentTier::None),
        other => Err(corrupt("intent", other)),
    }
}

impl StateDoc {
    pub fn encode(state: &ContactState) -> String {
        let doc = StateDoc {
            first_seen: state.first_seen,
            last_event_at: state.last_event_at,
            last_inbound: state.last_inbound.as_ref().map(Into::into),
            last_outbound_at: state.last_outbound_at,
            intent: state
                .intent
                .as_ref()
                .map(|(t, s)| (t.as_str().to_owned(), s.into())),
            interests: state
                .interests
                .iter()
                .map(|(k, v)| (k.clone(), v.into()))
                .collect(),
            negative_streak: state.negative_streak,
            last_negative: state.last_negative.as_ref().map(Into::into),
            opted_out: state.opted_out.as_ref().map(Into::into),
            recent_inbound: state
                .recent_inbound
                .iter()
                .copied()
                .map(Moment::of)
                .collect(),
            recent_outbound: state
                .recent_outbound
                .iter()
                .copied()
                .map(Moment::of)
                .collect(),
            orders: state.orders,
            last_order: state.last_order.as_ref().map(Into::into),
            last_click: state.last_click.as_ref().map(Into::into),
            score: state.score,
            score_at: state.score_at,
            purchases: state
                .purchases
                .iter()
                .map(|(k, p)| {
                    let doc = PurchaseDoc {
                        count: p.count,
                        first: p.first,
                        last: p.last,
                        last_event: p.last_event.get(),
                    };
                    (k.clone(), doc)
                })
                .collect(),
            last_complaint: state.last_complaint.as_ref().map(Into::into),
            reply_delays: state
                .reply_delays
                .iter()
                .map(|(h, d)| (*h, d.iter().copied().collect()))
                .collect(),
            last_read: state.last_read.as_ref().map(Into::into),
        };
        serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn decode(json: &str) -> Result<ContactState, StoreError> {
        let d: StateDoc = serde_json::from_str(json).map_err(|e| corrupt("engine state", e))?;
        Ok(ContactState {
            first_seen: d.first_seen,
            last_event_at: d.last_event_at,
            last_inbound: d.last_inbound.map(Into::into),
            last_outbound_at: d.last_outbound_at,
            intent: d
                .intent
                .map(|(t, s)| tier_from(&t).map(|tier| (tier, s.into())))
                .transpose()?,
            interests: d
                .interests
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            negative_streak: d.negative_streak,
            last_negative: d.last_negative.map(Into::into),
            opted_out: d.opted_out.map(Into::into),
            recent_inbound: moments(d.recent_inbound)?,
            recent_outbound: moments(d.recent_outbound)?,
            orders: d.orders,
            last_order: d.last_order.map(Into::into),
            last_click: d.last_click.map(Into::into),
            score: d.score,
            score_at: d.score_at,
            purchases: d
                .purchases
                .into_iter()
                .map(|(k, p)| {
                    let purchases = Purchases {
                        count: p.count,
                        first: p.first,
                        last: p.last,
                        last_event: EventId::new(p.last_event),
                    };
                    (k, purchases)
                })
                .collect(),
            last_complaint: d.last_complaint.map(Into::into),
            reply_delays: d
                .reply_delays
                .into_iter()
                .map(|(h, v)| (h, v.into_iter().collect()))
                .collect(),
            last_read: d.last_read.map(Into::into),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stoke_core::engine::{EngineEvent, Rules};
    use stoke_core::playbook::Playbook;

    #[test]
    fn engine_state_survives_storage() {
        let rules = Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules");
        let at = |m: i64| Timestamp::from_second(1_790_000_000 + m * 60).expect("time");
        let history = [
            EngineEvent::Outbound {
                message: MessageId::new(1),
                at: at(0),
            },
            EngineEvent::Read {
                message: MessageId::new(1),
                at: at(5),
            },
            EngineEvent::Inbound {
                message: MessageId::new(2),
                text: "how much? any promo code".into(),
                at: at(9),
            },
            EngineEvent::Inbound {
                message: MessageId::new(3),
                text: "terrible, broken".into(),
                at: at(20),
            },
            EngineEvent::Order {
                event: EventId::new(1),
                at: at(30),
                products: vec!["CAT".into()],
            },
            EngineEvent::Click {
                event: EventId::new(2),
                at: at(40),
                topic: "offers discount".into(),
            },
            EngineEvent::Order {
                event: EventId::new(3),
                at: at(50_000),
                products: vec!["CAT".into(), "LITTER".into()],
            },
        ];
        let state = rules.replay(&history);
        assert_eq!(
            StateDoc::decode(&StateDoc::encode(&state)).expect("decode"),
            state
        );
        assert!(
            StateDoc::decode("{\"surprise\": 1}").is_err(),
            "unknown fields are refused"
        );
    }
    #[test]
    fn stored_moment_lists_are_read_in_either_form() {
        let old = r#"{"recent_inbound":["2026-11-20T10:00:00Z"]}"#;
        let new = r#"{"recent_inbound":[1795168800000],"recent_outbound":[1795168800000]}"#;
        let at: Timestamp = "2026-11-20T10:00:00Z".parse().expect("time");
        assert_eq!(StateDoc::decode(old).expect("old").recent_inbound, [at]);
        let state = StateDoc::decode(new).expect("new");
        assert_eq!(
            (state.recent_inbound[0], state.recent_outbound[0]),
            (at, at)
        );
        assert!(StateDoc::encode(&state).contains("[1795168800000]"));
    }
}

/// An account's pacing overrides.
#[derive(Debug, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct LimitsDoc {
    #[serde(skip_serializing_if = "Option::is_none")]
    per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_hour: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warmup: Option<bool>,
}

pub fn encode_limits(limits: &stoke_core::pacing::AccountLimits) -> String {
    let doc = LimitsDoc {
        per_minute: limits.per_minute,
        per_hour: limits.per_hour,
        warmup: limits.warmup,
    };
    serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
}

pub fn decode_limits(json: &str) -> Result<stoke_core::pacing::AccountLimits, StoreError> {
    let doc: LimitsDoc = serde_json::from_str(json).map_err(|e| corrupt("account limits", e))?;
    Ok(stoke_core::pacing::AccountLimits {
        per_minute: doc.per_minute,
        per_hour: doc.per_hour,
        warmup: doc.warmup,
    })
}

/// A template's variants and fallbacks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateDoc {
    variants: Vec<VariantDoc>,
    fallbacks: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantDoc {
    language: Option<String>,
    kind: String,
    body: String,
    media_url: Option<String>,
    /// The approved WhatsApp template (absent in documents written before issue 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    whatsapp: Option<ApprovedDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovedDoc {
    name: String,
    language: String,
    parameters: Vec<String>,
}

pub fn encode_template(t: &stoke_core::template::Template) -> String {
    let doc = TemplateDoc {
        variants: t
            .variants()
            .iter()
            .map(|v| VariantDoc {
                language: v.language.as_ref().map(|l| l.as_str().to_owned()),
                kind: v.kind.as_str().to_owned(),
                body: v.body.clone(),
                media_url: v.media_url.clone(),
                whatsapp: v.whatsapp.as_ref().map(|a| ApprovedDoc {
                    name: a.name.clone(),
                    language: a.language.clone(),
                    parameters: a.parameters.clone(),
                }),
            })
            .collect(),
        fallbacks: t.fallbacks().clone(),
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

pub fn decode_template(
    name: &str,
    json: &str,
) -> Result<stoke_core::template::Template, StoreError> {
    use stoke_core::template::{Template, Variant};
    let doc: TemplateDoc = serde_json::from_str(json).map_err(|e| corrupt("template", e))?;
    let mut variants = Vec::new();
    for v in doc.variants {
        variants.push(Variant {
            language: v
                .language
                .map(|l| stoke_core::Language::parse(&l))
                .transpose()
                .map_err(|e| corrupt("template language", e))?,
            kind: parse_column("template kind", &v.kind)?,
            body: v.body,
            media_url: v.media_url,
            whatsapp: v.whatsapp.map(|a| stoke_core::template::ApprovedTemplate {
                name: a.name,
                language: a.language,
                parameters: a.parameters,
            }),
        });
    }
    Template::new(name, variants, doc.fallbacks).map_err(|e| corrupt("template", e))
}
