//! The JSON formats of messages and events, read into the store's incoming types: one object per
//! line for `stoke import messages|events`, the same objects in the body of `POST /api/v1/events`
//! and `POST /api/v1/messages`, so both doors accept exactly the same thing. Unknown keys are
//! refused (a typo such as `txt` must not silently import empty messages).

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use stoke_core::{Channel, ContactRef, Currency, Direction, EventKind, Money, OrderLine};
use stoke_store::{IncomingEvent, IncomingMessage};

/// One problem with one field of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

fn field(field: &str, reason: impl ToString) -> FieldError {
    FieldError {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// A key for lines that carry no id, derived from their content, so that importing the same
/// file twice stores each line once.
fn content_key(prefix: &str, line: &str) -> String {
    let digest = Sha256::digest(line.trim().as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}:{hex}")
}

fn parse_id(id: Option<String>, prefix: &str, line: &str) -> Result<String, FieldError> {
    match id {
        Some(id) if id.trim().is_empty() => Err(field(
            "id",
            "is empty: leave it out to derive one from the line",
        )),
        Some(id) if id.len() > 200 => Err(field("id", "is longer than 200 characters")),
        Some(id) => Ok(id),
        None => Ok(content_key(prefix, line)),
    }
}

fn parse_at(raw: &str) -> Result<jiff::Timestamp, FieldError> {
    raw.parse::<jiff::Timestamp>().map_err(|_| {
        field(
            "at",
            format!("{raw:?} is not an RFC 3339 time like 2026-11-20T10:15:00Z"),
        )
    })
}

fn parse_contact(raw: &str) -> Result<ContactRef, FieldError> {
    ContactRef::parse(raw).map_err(|e| {
        field(
            "contact",
            format!("{e} (expected a +phone, an e-mail or a contact id)"),
        )
    })
}

/// JSON's own errors name the line's column; turn them into a field error.
fn json_error(err: serde_json::Error) -> FieldError {
    let text = err.to_string();
    // serde's messages look like "unknown field `txt`, expected one of ..." or "missing field `at`".
    let name = text
        .split('`')
        .nth(1)
        .filter(|_| text.contains("field"))
        .unwrap_or("json")
        .to_owned();
    field(&name, text)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageLine {
    id: Option<String>,
    contact: String,
    direction: String,
    channel: String,
    account: Option<String>,
    text: String,
    at: String,
    provider_id: Option<String>,
}

/// Reads one line of a messages file.
pub fn parse_message(line: &str) -> Result<IncomingMessage, Vec<FieldError>> {
    let raw: MessageLine = serde_json::from_str(line).map_err(|e| vec![json_error(e)])?;
    let mut errors = Vec::new();
    let external_id = parse_id(raw.id, "msg", line)
        .map_err(|e| errors.push(e))
        .ok();
    let contact = parse_contact(&raw.contact).map_err(|e| errors.push(e)).ok();
    let direction = raw
        .direction
        .parse::<Direction>()
        .map_err(|e| errors.push(field("direction", e)))
        .ok();
    let channel = raw
        .channel
        .parse::<Channel>()
        .map_err(|e| errors.push(field("channel", e)))
        .ok();
    let at = parse_at(&raw.at).map_err(|e| errors.push(e)).ok();
    if raw.account.as_deref().is_some_and(|a| a.trim().is_empty()) {
        errors.push(field(
            "account",
            "is empty: leave it out to use the channel's default account",
        ));
    }
    match (external_id, contact, direction, channel, at) {
        (Some(external_id), Some(contact), Some(direction), Some(channel), Some(at))
            if errors.is_empty() =>
        {
            Ok(IncomingMessage {
                external_id,
                contact,
                account: raw
                    .account
                    .map_or_else(|| channel.as_str().to_owned(), |a| a.trim().to_owned()),
                channel,
                direction,
                text: raw.text,
                at,
                provider_id: raw.provider_id,
            })
        }
        _ => Err(errors),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineDto {
    sku: String,
    #[serde(default)]
    name: String,
    quantity: i64,
    unit_price: serde_json::Value,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum EventLine {
    Order {
        id: Option<String>,
        contact: String,
        at: String,
        order_id: String,
        amount: serde_json::Value,
        currency: String,
        #[serde(default)]
        lines: Vec<LineDto>,
    },
    Click {
        id: Option<String>,
        contact: String,
        at: String,
        url: String,
        campaign: Option<String>,
    },
    Open {
        id: Option<String>,
        contact: String,
        at: String,
        campaign: Option<String>,
    },
    Custom {
        id: Option<String>,
        contact: String,
        at: String,
        name: String,
        #[serde(default)]
        data: BTreeMap<String, serde_json::Value>,
    },
}

/// An amount written as a string (`"249.00"`, exact) or a JSON number (`249.5`).
fn amount_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads one line of an events file.
pub fn parse_event(line: &str) -> Result<IncomingEvent, Vec<FieldError>> {
    let raw: EventLine = serde_json::from_str(line).map_err(|e| {
        // The only enumeration in an event is its `type` tag.
        let text = e.to_string();
        if text.starts_with("unknown variant") || text.starts_with("missing field `type`") {
            vec![field("type", text)]
        } else {
            vec![json_error(e)]
        }
    })?;
    let (id, contact, at) = match &raw {
        EventLine::Order {
            id, contact, at, ..
        }
        | EventLine::Click {
            id, contact, at, ..
        }
        | EventLine::Open {
            id, contact, at, ..
        }
        | EventLine::Custom {
            id, contact, at, ..
        } => (id.clone(), contact.clone(), at.clone()),
    };
    let mut errors = Vec::new();
    let external_id = parse_id(id, "evt", line).map_err(|e| errors.push(e)).ok();
    let contact = parse_contact(&contact).map_err(|e| errors.push(e)).ok();
    let at = parse_at(&at).map_err(|e| errors.push(e)).ok();
    let kind = match raw {
        EventLine::Order {
            order_id,
            amount,
            currency,
            lines,
            ..
        } => parse_order(order_id, &amount, &currency, lines)
            .map_err(|e| errors.push(e))
            .ok(),
        EventLine::Click { url, campaign, .. } => {
            if url.trim().is_empty() {
                errors.push(field("url", "is empty"));
            }
            Some(EventKind::Click { url, campaign })
        }
        EventLine::Open { campaign, .. } => Some(EventKind::Open { campaign }),
        EventLine::Custom { name, data, .. } => {
            if name.trim().is_empty() {
                errors.push(field("name", "is empty"));
            }
            let attributes = data
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect();
            Some(EventKind::Custom { name, attributes })
        }
    };
    match (external_id, contact, at, kind) {
        (Some(external_id), Some(contact), Some(at), Some(kind)) if errors.is_empty() => {
            Ok(IncomingEvent {
                external_id,
                contact,
                at,
                kind,
            })
        }
        _ => Err(errors),
    }
}

fn parse_order(
    order_id: String,
    amount: &serde_json::Value,
    currency: &str,
    lines: Vec<LineDto>,
) -> Result<EventKind, FieldError> {
    let currency = Currency::parse(currency).map_err(|e| field("currency", e))?;
    let amount_raw = amount_text(amount)
        .ok_or_else(|| field("amount", "must be a number or a decimal string"))?;
    let amount = Money::parse(&amount_raw, currency).map_err(|e| field("amount", e))?;
    let lines = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let price_raw = amount_text(&l.unit_price).ok_or_else(|| {
                field(
                    &format!("lines[{i}].unit_price"),
                    "must be a number or a decimal string",
                )
            })?;
            let unit_price = Money::parse(&price_raw, currency)
                .map_err(|e| field(&format!("lines[{i}].unit_price"), e))?;
            Ok(OrderLine {
                sku: l.sku,
                name: l.name,
                quantity: l.quantity,
                unit_price,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    EventKind::order(order_id, amount, lines).map_err(|e| field("lines", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        let m = parse_message(r#"{"id":"m1","contact":"+966501234567","direction":"in","channel":"whatsapp","account":"wa-1","text":"بكم؟","at":"2026-11-20T10:15:00Z"}"#).expect("valid");
        assert_eq!(m.external_id, "m1");
        assert_eq!(m.account, "wa-1");
        let no_id = r#"{"contact":"a@b.com","direction":"out","channel":"email","text":"hi","at":"2026-11-20T10:15:00+03:00"}"#;
        let a = parse_message(no_id).expect("valid");
        assert_eq!(
            a.external_id,
            parse_message(no_id).expect("valid").external_id,
            "derived ids are stable"
        );
        assert_eq!(a.account, "email");
        let errors = parse_message(
            r#"{"contact":"x","direction":"sideways","channel":"fax","text":"","at":"yesterday"}"#,
        )
        .expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["contact", "direction", "channel", "at"]);
        let errors = parse_message(r#"{"contact":"+966501234567","direction":"in","channel":"whatsapp","txt":"hi","at":"2026-11-20T10:15:00Z"}"#).expect_err("typo");
        assert_eq!(errors[0].field, "txt");
        assert!(parse_message("not json").is_err());
    }

    #[test]
    fn events() {
        let e = parse_event(r#"{"id":"e1","contact":"+966501234567","type":"order","at":"2026-11-20T10:15:00Z","order_id":"A1","amount":"249.00","currency":"SAR","lines":[{"sku":"CAT","name":"Cat food","quantity":2,"unit_price":124.5}]}"#).expect("valid");
        assert_eq!(e.kind.as_str(), "order");
        let errors = parse_event(r#"{"id":"e1","contact":"+966501234567","type":"order","at":"2026-11-20T10:15:00Z","order_id":"A1","amount":"250.00","currency":"SAR","lines":[{"sku":"CAT","quantity":2,"unit_price":"124.50"}]}"#).expect_err("sum");
        assert_eq!(errors[0].field, "lines");
        let errors = parse_event(r#"{"id":"e1","contact":"+966501234567","type":"order","at":"2026-11-20T10:15:00Z","order_id":"A1","amount":"1.5","currency":"XXQ"}"#).expect_err("currency");
        assert_eq!(errors[0].field, "currency");
        assert!(parse_event(r#"{"id":"e2","contact":"a@b.com","type":"click","at":"2026-11-20T10:15:00Z","url":"https://x.example/p"}"#).is_ok());
        assert!(
            parse_event(
                r#"{"id":"e3","contact":"a@b.com","type":"open","at":"2026-11-20T10:15:00Z"}"#
            )
            .is_ok()
        );
        assert!(parse_event(r#"{"id":"e4","contact":"a@b.com","type":"custom","name":"signup","at":"2026-11-20T10:15:00Z","data":{"plan":"pro","seats":3}}"#).is_ok());
        assert!(
            parse_event(
                r#"{"id":"e5","contact":"a@b.com","type":"teleport","at":"2026-11-20T10:15:00Z"}"#
            )
            .is_err()
        );
    }
}

#[cfg(test)]
mod robustness {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Arbitrary lines, and real lines with a field mangled, get an error, never a panic.
        #[test]
        fn any_line_is_answered(line in any::<String>(), field in 0usize..7, junk in any::<String>()) {
            let _ = parse_message(&line);
            let _ = parse_event(&line);
            let keys = ["id", "contact", "direction", "channel", "account", "text", "at"];
            let mut value = serde_json::json!({"id": "m1", "contact": "+966501234567", "direction": "in",
                "channel": "whatsapp", "account": "wa", "text": "hi", "at": "2026-11-20T10:15:00Z"});
            value[keys[field]] = serde_json::Value::String(junk.clone());
            let _ = parse_message(&value.to_string());
            let mut order = serde_json::json!({"id": "e1", "contact": "+966501234567", "type": "order",
                "at": "2026-11-20T10:15:00Z", "order_id": "A", "amount": "1.00", "currency": "SAR",
                "lines": [{"sku": "X", "quantity": 1, "unit_price": "1.00"}]});
            order["amount"] = serde_json::Value::String(junk);
            let _ = parse_event(&order.to_string());
        }
    }
}
