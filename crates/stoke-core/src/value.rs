//! Validated values: phone numbers, e-mail addresses, time zones, languages and countries.
//!
//! Each type has a private field and `parse` as its only constructor, so a value that exists is a
//! valid one. Parsing leans on libraries made for the job: `phonenumber` (a port of Google's
//! libphonenumber metadata), `email_address` (RFC 5321/5322 syntax) and `jiff` (the IANA database).

use std::fmt;

use phonenumber::Mode;

/// Why a value was refused, in words a person importing a file can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0:?} is not a phone number")]
    PhoneSyntax(String),
    #[error("{0:?} has no country code: write it as +<country code><number> or give a country")]
    PhoneNoCountry(String),
    #[error("{0:?} is not a valid number for its country")]
    PhoneInvalid(String),
    #[error("{0:?} is not a valid e-mail address")]
    Email(String),
    #[error("{0:?} is not an IANA time zone name (like Asia/Riyadh)")]
    TimeZone(String),
    #[error("{0:?} is not a language code (like ar, ru, en or pt-BR)")]
    Language(String),
    #[error("{0:?} is not an ISO 3166 country code (like SA, AE, EG, RU)")]
    Country(String),
    #[error("{0:?} is not an amount of money (like 249.00)")]
    Amount(String),
    #[error("{amount:?} has more decimals than {currency} allows ({allowed})")]
    AmountPrecision {
        amount: String,
        currency: String,
        allowed: u16,
    },
    #[error("{0:?} is not an ISO 4217 currency code (like SAR, AED, RUB)")]
    Currency(String),
    #[error("{0:?} is not a date (expected YYYY-MM-DD)")]
    Date(String),
    #[error("{0}")]
    Other(String),
}

/// A phone number in E.164 form (`+966501234567`), valid for its country.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Phone(String);

impl Phone {
    /// Parses a phone number written by a person: `+966 50 123 4567`, `8 (916) 123-45-67` with
    /// country RU, `050 123 4567` with country SA. Without a country the number must start with
    /// `+` (or `00`) and its country code.
    pub fn parse(raw: &str, default_country: Option<Country>) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        let digits = trimmed.chars().filter(char::is_ascii_digit).count();
        if !(4..=17).contains(&digits) {
            return Err(ValueError::PhoneSyntax(trimmed.to_owned()));
        }
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        let region = default_country.and_then(|c| c.phone_region());
        if !international && region.is_none() {
            return Err(ValueError::PhoneNoCountry(trimmed.to_owned()));
        }
        // "00" is the international prefix in most of the world; the parser only knows "+".
        let written = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        let number = phonenumber::parse(region, &written)
            .map_err(|_| ValueError::PhoneSyntax(trimmed.to_owned()))?;
        if !number.is_valid() {
            return Err(ValueError::PhoneInvalid(trimmed.to_owned()));
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// Re-reads a number this program validated and stored, checking only its E.164 shape: the
    /// full numbering-plan check costs far more than reading the row, and was done on the way in.
    pub fn from_stored(raw: &str) -> Result<Self, ValueError> {
        let digits = raw.strip_prefix('+').unwrap_or_default();
        if (7..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValueError::PhoneSyntax(raw.to_owned()))
        }
    }

    /// The E.164 form, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The country the number belongs to, when the numbering plan says (`+7` is Russia or
    /// Kazakhstan, resolved by the number's range).
    pub fn country(&self) -> Option<Country> {
        let number = phonenumber::parse(None, &self.0).ok()?;
        let id = number.country().id()?;
        Country::parse(id.as_ref()).ok()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, trimmed and with its domain lower-cased (the local part is kept as written:
/// it is case-sensitive by the RFC, though de-duplication compares it case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        // `email_address` accepts display-name forms ("Ann <ann@x.com>") and quoted local parts;
        // a customer database wants the plain address of a reachable mailbox, so require a dot in
        // the domain and no angle brackets or spaces.
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default().without_display_text(),
        )
        .map_err(|_| ValueError::Email(trimmed.to_owned()))?;
        let domain = parsed.domain();
        if !domain.contains('.') || domain.starts_with('[') || trimmed.contains(char::is_whitespace)
        {
            return Err(ValueError::Email(trimmed.to_owned()));
        }
        Ok(Self(format!(
            "{}@{}",
            parsed.local_part(),
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Re-reads an address this program validated and stored, checking only its shape.
    pub fn from_stored(raw: &str) -> Result<Self, ValueError> {
        match raw.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && domain.contains('.')
                    && !raw.contains(char::is_whitespace) =>
            {
                Ok(Self(raw.to_owned()))
            }
            _ => Err(ValueError::Email(raw.to_owned())),
        }
    }

    /// The key contacts are de-duplicated by: the whole address lower-cased.
    pub fn dedup_key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IANA time zone name that the bundled time zone database knows (`Asia/Riyadh`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        let zone = jiff::tz::TimeZone::get(trimmed)
            .map_err(|_| ValueError::TimeZone(trimmed.to_owned()))?;
        // Keep the database's canonical spelling ("asia/riyadh" becomes "Asia/Riyadh").
        let name = zone.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone itself, for converting instants to the contact's local time.
    pub fn zone(&self) -> jiff::tz::TimeZone {
        // The name was checked against the same bundled database in `parse`.
        jiff::tz::TimeZone::get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC)
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A language as a BCP 47 tag reduced to what Stoke needs: a 2-3 letter primary language and
/// optional subtags (`ar`, `ru`, `en`, `pt-BR`), stored lower-case primary, as-written subtags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim().replace('_', "-");
        let mut parts = trimmed.split('-');
        let primary = parts.next().unwrap_or_default();
        let primary_ok =
            (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
        let rest_ok = parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if !primary_ok || !rest_ok {
            return Err(ValueError::Language(raw.trim().to_owned()));
        }
        let mut tag = primary.to_ascii_lowercase();
        if let Some((_, subtags)) = trimmed.split_once('-') {
            tag.push('-');
            tag.push_str(subtags);
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag (`pt` for `pt-BR`), which the lexicons are keyed by.
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-2 country code that the phone numbering metadata knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country(phonenumber::country::Id);

impl Country {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let upper = raw.trim().to_ascii_uppercase();
        if upper.len() != 2 {
            return Err(ValueError::Country(raw.trim().to_owned()));
        }
        upper
            .parse::<phonenumber::country::Id>()
            .map(Self)
            .map_err(|_| ValueError::Country(raw.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }

    fn phone_region(self) -> Option<phonenumber::country::Id> {
        Some(self.0)
    }

    /// The language most customers of this country write in, among the built-in ones (`ar`,
    /// `ru`); `None` elsewhere (the workspace's default language then). A hint for contacts
    /// whose language is not recorded.
    pub fn language_hint(self) -> Option<&'static str> {
        match self.as_str() {
            "SA" | "AE" | "EG" | "KW" | "QA" | "BH" | "OM" | "JO" | "IQ" | "MA" | "DZ" | "TN"
            | "LB" | "SY" | "YE" | "LY" | "SD" | "PS" | "MR" => Some("ar"),
            "RU" | "BY" | "KZ" | "KG" => Some("ru"),
            _ => None,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a calendar date written `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<jiff::civil::Date, ValueError> {
    raw.trim()
        .parse::<jiff::civil::Date>()
        .map_err(|_| ValueError::Date(raw.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Option<Country> {
        Some(Country::parse(code).expect("known country"))
    }

    #[test]
    fn phones_normalise_to_e164() {
        let cases = [
            ("+966 50 123 4567", None, "+966501234567"),
            ("00966501234567", None, "+966501234567"),
            ("050 123 4567", country("SA"), "+966501234567"),
            ("8 (916) 123-45-67", country("RU"), "+79161234567"),
            ("+7 916 123 45 67", country("SA"), "+79161234567"),
            ("010 1234 5678", country("EG"), "+201012345678"),
            ("+1 (212) 555-0123", None, "+12125550123"),
            ("07911 123456", country("GB"), "+447911123456"),
            ("+971 50 123 4567", None, "+971501234567"),
        ];
        for (raw, default, expected) in cases {
            let phone = Phone::parse(raw, default).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(phone.as_str(), expected, "{raw}");
        }
    }

    #[test]
    fn bad_phones_are_refused_with_the_reason() {
        assert!(matches!(
            Phone::parse("hello", None),
            Err(ValueError::PhoneSyntax(_))
        ));
        assert!(matches!(
            Phone::parse("0501234567", None),
            Err(ValueError::PhoneNoCountry(_))
        ));
        assert!(Phone::parse("+966 12", None).is_err());
        assert!(matches!(
            Phone::parse("+966 99 999 9999", None),
            Err(ValueError::PhoneInvalid(_))
        ));
        assert!(Phone::parse("", None).is_err());
    }

    #[test]
    fn stored_values_are_read_back_by_shape() {
        assert!(Phone::from_stored("+966501234567").is_ok());
        for bad in [
            "966501234567",
            "+0123456789",
            "+12",
            "+9665012345678901",
            "+96650abc4567",
        ] {
            assert!(Phone::from_stored(bad).is_err(), "{bad}");
        }
        assert!(Email::from_stored("ann@example.com").is_ok());
        assert!(Email::from_stored("ann@localhost").is_err());
    }

    #[test]
    fn phone_knows_its_country() {
        let phone = Phone::parse("+79161234567", None).expect("valid");
        assert_eq!(
            phone.country().map(|c| c.to_string()).as_deref(),
            Some("RU")
        );
        let phone = Phone::parse("+966501234567", None).expect("valid");
        assert_eq!(
            phone.country().map(|c| c.to_string()).as_deref(),
            Some("SA")
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann.Lee@Example.COM ").expect("ok").as_str(),
            "Ann.Lee@example.com"
        );
        assert_eq!(
            Email::parse("Ann.Lee@Example.COM").expect("ok").dedup_key(),
            "ann.lee@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@localhost",
            "Ann <ann@x.com>",
            "a b@x.com",
            "ann@@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZoneName::parse("Asia/Riyadh").expect("ok").as_str(),
            "Asia/Riyadh"
        );
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("").is_err());
        assert!(TimeZoneName::parse("+03:00").is_err());
    }

    #[test]
    fn languages_and_countries() {
        assert_eq!(Language::parse("AR").expect("ok").as_str(), "ar");
        assert_eq!(Language::parse("pt_BR").expect("ok").as_str(), "pt-BR");
        assert_eq!(Language::parse("pt-BR").expect("ok").primary(), "pt");
        assert!(Language::parse("arabic language").is_err());
        assert!(Language::parse("e").is_err());
        assert_eq!(Country::parse("sa").expect("ok").as_str(), "SA");
        assert!(Country::parse("XX").is_err());
        assert!(Country::parse("Saudi").is_err());
    }
}
