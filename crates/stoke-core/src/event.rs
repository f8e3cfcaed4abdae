//! Events: what customers do besides writing. Orders, clicks, opens and custom events.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::id::{ContactId, EventId};
use crate::money::Money;
use crate::value::ValueError;

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    Order {
        order_id: String,
        amount: Money,
        lines: Vec<OrderLine>,
    },
    Click {
        url: String,
        campaign: Option<String>,
    },
    Open {
        campaign: Option<String>,
    },
    /// Anything an integrator sends: a name and flat attributes.
    Custom {
        name: String,
        attributes: BTreeMap<String, String>,
    },
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::Order { .. } => "order",
            EventKind::Click { .. } => "click",
            EventKind::Open { .. } => "open",
            EventKind::Custom { .. } => "custom",
        }
    }

    /// Builds an order, checking that the lines add up to the amount when lines are given.
    pub fn order(
        order_id: String,
        amount: Money,
        lines: Vec<OrderLine>,
    ) -> Result<Self, ValueError> {
        if order_id.trim().is_empty() {
            return Err(ValueError::Other("an order needs an order id".into()));
        }
        if !lines.is_empty() {
            let mut total = Money::from_minor(0, amount.currency());
            for line in &lines {
                if line.quantity <= 0 {
                    return Err(ValueError::Other(format!(
                        "line {:?} has quantity {}: it must be positive",
                        line.sku, line.quantity
                    )));
                }
                total = line
                    .unit_price
                    .checked_mul(line.quantity)
                    .and_then(|l| total.checked_add(l))
                    .ok_or_else(|| {
                        ValueError::Other(format!(
                            "line {:?} is not in the order's currency {}",
                            line.sku,
                            amount.currency()
                        ))
                    })?;
            }
            if total != amount {
                return Err(ValueError::Other(format!(
                    "the lines add up to {total}, not the amount {amount}"
                )));
            }
        }
        Ok(EventKind::Order {
            order_id,
            amount,
            lines,
        })
    }
}

/// The words a clicked link is about, for the interests it shows: its path and fragment,
/// percent-decoded, with separators as spaces (`https://shop.example/offers/discount-cat-food?
/// utm_source=mail` is "offers discount cat food"). The host is left out, since every link of a
/// shop names the shop, and so is the query, which holds tracking parameters more than topics.
pub fn link_topic(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (before_fragment, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let without_query = before_fragment.split('?').next().unwrap_or("");
    let path = without_query.find('/').map_or("", |i| &without_query[i..]);
    let mut words = String::new();
    for part in [path, fragment] {
        let decoded = percent_encoding::percent_decode_str(part).decode_utf8_lossy();
        for word in decoded.split(|c: char| !c.is_alphanumeric()) {
            if !word.is_empty() {
                if !words.is_empty() {
                    words.push(' ');
                }
                words.push_str(word);
            }
        }
    }
    words
}

/// An event to record; `external_id` is its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub external_id: String,
    pub contact: ContactId,
    pub at: Timestamp,
    pub kind: EventKind,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub external_id: String,
    pub contact: ContactId,
    pub at: Timestamp,
    pub kind: EventKind,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn sar(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("SAR").expect("ok")).expect("ok")
    }

    #[test]
    fn link_topics_are_the_words_of_the_path() {
        let check = |url: &str, expected: &str| assert_eq!(link_topic(url), expected, "{url}");
        check(
            "https://shop.example/offers/discount-cat-food?utm_source=mail&x=1",
            "offers discount cat food",
        );
        check("https://shop.example", "");
        check("https://shop.example/?q=sale", "");
        check(
            "http://shop.example/guides#how-to-clean",
            "guides how to clean",
        );
        check(
            "https://shop.example/%D8%AA%D8%AE%D9%81%D9%8A%D8%B6/%D0%A1%D0%BA%D0%B8%D0%B4%D0%BA%D0%B8",
            "تخفيض Скидки",
        );
        check("https://shop.example/spec_sheet.pdf", "spec sheet pdf");
    }

    #[test]
    fn order_lines_must_add_up() {
        let line = |q, p: &str| OrderLine {
            sku: "CAT".into(),
            name: "Cat food".into(),
            quantity: q,
            unit_price: sar(p),
        };
        assert!(EventKind::order("A1".into(), sar("249.00"), vec![line(2, "124.50")]).is_ok());
        assert!(EventKind::order("A1".into(), sar("249.00"), vec![]).is_ok());
        assert!(EventKind::order("A1".into(), sar("250.00"), vec![line(2, "124.50")]).is_err());
        assert!(EventKind::order("A1".into(), sar("0"), vec![line(0, "1")]).is_err());
        assert!(EventKind::order(" ".into(), sar("1"), vec![]).is_err());
    }
}
