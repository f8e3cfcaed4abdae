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
