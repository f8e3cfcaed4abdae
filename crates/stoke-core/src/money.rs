//! Money: an integer count of the currency's minor units and an ISO 4217 currency.
//!
//! Never a float: 0.1 + 0.2 must equal 0.3 when order lines are added up. Amounts are parsed from
//! decimal strings with `rust_decimal` and checked against the currency's number of decimals
//! (2 for SAR, 3 for KWD, 0 for JPY) from `iso_currency`.

use std::fmt;

use rust_decimal::Decimal;

use crate::value::ValueError;

/// An ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        iso_currency::Currency::from_code(&raw.trim().to_ascii_uppercase())
            .map(Self)
            .ok_or_else(|| ValueError::Currency(raw.trim().to_owned()))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point; currencies without minor units (and funds that ISO lists
    /// without an exponent) count as 0.
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses a decimal amount such as `249.00` or `1250` in the given currency.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, ValueError> {
        let trimmed = amount.trim();
        let decimal: Decimal = trimmed
            .parse()
            .map_err(|_| ValueError::Amount(trimmed.to_owned()))?;
        let exponent = currency.exponent();
        let normalized = decimal.normalize();
        if normalized.scale() > exponent {
            return Err(ValueError::AmountPrecision {
                amount: trimmed.to_owned(),
                currency: currency.code().to_owned(),
                allowed: exponent as u16,
            });
        }
        let minor = normalized
            .checked_mul(Decimal::from(10_i64.pow(exponent)))
            .and_then(|d| i64::try_from(d).ok())
            .ok_or_else(|| ValueError::Amount(trimmed.to_owned()))?;
        Ok(Self { minor, currency })
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// Adds two amounts of the same currency; `None` on a currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency).then_some(())?;
        Some(Money::from_minor(
            self.minor.checked_add(other.minor)?,
            self.currency,
        ))
    }

    /// Multiplies by a quantity; `None` on overflow.
    pub fn checked_mul(self, quantity: i64) -> Option<Money> {
        Some(Money::from_minor(
            self.minor.checked_mul(quantity)?,
            self.currency,
        ))
    }

    /// The amount as a decimal string with the currency's decimals (`249.00`), no currency code.
    pub fn amount_string(self) -> String {
        Decimal::new(self.minor, self.currency.exponent()).to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> Result<Money, ValueError> {
        Money::parse(amount, Currency::parse(currency).expect("known currency"))
    }

    #[test]
    fn parses_to_minor_units_by_currency() {
        assert_eq!(money("249.00", "SAR").expect("ok").minor(), 24900);
        assert_eq!(money("249.5", "SAR").expect("ok").minor(), 24950);
        assert_eq!(money("1.250", "KWD").expect("ok").minor(), 1250);
        assert_eq!(money("1500", "JPY").expect("ok").minor(), 1500);
        assert_eq!(money("1500.00", "JPY").expect("ok").minor(), 1500);
        assert_eq!(money("1.250", "KWD").expect("ok").amount_string(), "1.250");
        assert_eq!(money("249", "SAR").expect("ok").to_string(), "249.00 SAR");
    }

    #[test]
    fn refuses_what_is_not_money() {
        assert!(matches!(
            money("12.345", "SAR"),
            Err(ValueError::AmountPrecision { .. })
        ));
        assert!(matches!(money("abc", "SAR"), Err(ValueError::Amount(_))));
        assert!(matches!(money("1e400", "SAR"), Err(ValueError::Amount(_))));
        assert!(Currency::parse("XYZ").is_err());
    }

    #[test]
    fn adds_without_rounding_error() {
        let a = money("0.10", "USD").expect("ok");
        let b = money("0.20", "USD").expect("ok");
        assert_eq!(a.checked_add(b), Some(money("0.30", "USD").expect("ok")));
        assert_eq!(a.checked_add(money("0.20", "EUR").expect("ok")), None);
    }
}
