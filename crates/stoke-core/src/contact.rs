//! Contacts: every field group of SPEC section 2, the handles contacts are de-duplicated by, and
//! the two ways contacts change shape outside the engine: an import row applied to a contact, and
//! two contacts merged into one without losing anything.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use rust_decimal::Decimal;

use crate::account::Channel;
use crate::id::{ContactId, TeamId, UserId};
use crate::value::{Country, Email, Language, Phone, TimeZoneName, ValueError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContactKind {
    #[default]
    Person,
    Company,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Person => "person",
            ContactKind::Company => "company",
        }
    }
}

impl FromStr for ContactKind {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "individual" => Ok(ContactKind::Person),
            "company" | "business" | "organisation" | "organization" => Ok(ContactKind::Company),
            other => Err(ValueError::Other(format!(
                "{other:?} is not person or company"
            ))),
        }
    }
}

/// Legal details of a company contact.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompanyDetails {
    pub legal_name: Option<String>,
    pub registration_number: Option<String>,
    pub tax_id: Option<String>,
    pub address: Option<String>,
}

/// A person at a company contact: the director, the buyer, the accountant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPerson {
    pub name: String,
    pub role: Option<String>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    /// When they can be reached, as written ("mornings", "Mon-Thu").
    pub schedule: Option<String>,
}

/// When a contact wants to be reached, in their local time: `Mon-Fri 10:00-14:00`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactWindow {
    /// Weekdays the window applies to, Monday first.
    pub days: [bool; 7],
    pub from: Time,
    pub to: Time,
}

impl ContactWindow {
    /// Parses `Mon-Fri 10:00-14:00`, `Sat,Sun 12:00-20:00`, `daily 9:00-18:00` or just
    /// `10:00-14:00` (every day).
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::Other(format!(
                "{:?} is not a contact window like \"Mon-Fri 10:00-14:00\"",
                raw.trim()
            ))
        };
        let trimmed = raw.trim();
        let (days_part, hours_part) = match trimmed.rsplit_once(char::is_whitespace) {
            Some((d, h)) => (Some(d.trim()), h),
            None => (None, trimmed),
        };
        let (from, to) = hours_part.split_once('-').ok_or_else(bad)?;
        let parse_time = |t: &str| -> Result<Time, ValueError> {
            let (h, m) = t.trim().split_once(':').ok_or_else(bad)?;
            let h: i8 = h.parse().map_err(|_| bad())?;
            let m: i8 = m.parse().map_err(|_| bad())?;
            Time::new(h, m, 0, 0).map_err(|_| bad())
        };
        let (from, to) = (parse_time(from)?, parse_time(to)?);
        if from >= to {
            return Err(ValueError::Other(format!(
                "{trimmed:?}: the window must end after it starts"
            )));
        }
        let mut days = [false; 7];
        match days_part {
            None => days = [true; 7],
            Some(d) if d.eq_ignore_ascii_case("daily") => days = [true; 7],
            Some(d) => {
                for piece in d.split(',') {
                    match piece.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) = (
                                weekday_index(a).ok_or_else(bad)?,
                                weekday_index(b).ok_or_else(bad)?,
                            );
                            let mut i = a;
                            loop {
                                days[i] = true;
                                if i == b {
                                    break;
                                }
                                i = (i + 1) % 7;
                            }
                        }
                        None => days[weekday_index(piece).ok_or_else(bad)?] = true,
                    }
                }
            }
        }
        Ok(Self { days, from, to })
    }

    pub fn includes_day(&self, day: Weekday) -> bool {
        self.days[usize::from(day.to_monday_zero_offset().unsigned_abs())]
    }
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Russian day names by their first two letters (пн, вт, ... and the full names alike).
const WEEKDAY_NAMES_RU: [&str; 7] = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"];
const WEEKDAY_NAMES_RU_FULL: [&str; 7] = ["пон", "вто", "сре", "чет", "пят", "суб", "вос"];
/// Arabic day names, normalised (alef variants to ا, ة to ه), with or without the article.
const WEEKDAY_NAMES_AR: [&str; 7] = ["اثنين", "ثلاثاء", "اربعاء", "خميس", "جمعه", "سبت", "احد"];

fn weekday_index(name: &str) -> Option<usize> {
    let lower = crate::text::normalise(name.trim());
    if let Some(i) = lower
        .get(..3)
        .and_then(|key| WEEKDAY_NAMES.iter().position(|d| *d == key))
    {
        return Some(i);
    }
    let mut chars = lower.chars();
    let two: String = chars.by_ref().take(2).collect();
    let three: String = lower.chars().take(3).collect();
    if let Some(i) = WEEKDAY_NAMES_RU.iter().position(|d| *d == two) {
        return Some(i);
    }
    if let Some(i) = WEEKDAY_NAMES_RU_FULL.iter().position(|d| *d == three) {
        return Some(i);
    }
    let bare = lower.strip_prefix("ال").unwrap_or(&lower);
    WEEKDAY_NAMES_AR.iter().position(|d| *d == bare)
}

impl fmt::Display for ContactWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let days: Vec<&str> = (0..7).filter(|i| self.days[*i]).map(|i| names[i]).collect();
        if days.len() == 7 {
            f.write_str("daily")?;
        } else {
            f.write_str(&days.join(","))?;
        }
        write!(
            f,
            " {}-{}",
            self.from.strftime("%H:%M"),
            self.to.strftime("%H:%M")
        )
    }
}

/// The format a contact prefers to receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageFormat {
    Text,
    Voice,
    TextImage,
    Video,
}

impl MessageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageFormat::Text => "text",
            MessageFormat::Voice => "voice",
            MessageFormat::TextImage => "text+image",
            MessageFormat::Video => "video",
        }
    }
}

impl FromStr for MessageFormat {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(MessageFormat::Text),
            "voice" | "audio" => Ok(MessageFormat::Voice),
            "text+image" | "image" => Ok(MessageFormat::TextImage),
            "video" => Ok(MessageFormat::Video),
            other => Err(ValueError::Other(format!(
                "{other:?} is not a format (text, voice, text+image, video)"
            ))),
        }
    }
}

/// How to reach a contact (SPEC 2, "How to reach them").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReachPreferences {
    pub preferred_channel: Option<Channel>,
    pub window: Option<ContactWindow>,
    pub format: Option<MessageFormat>,
    pub max_per_week: Option<u32>,
    /// "I'll contact you when I need it": one brand message at month end only.
    pub passive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Unpaid,
    Partial,
    Paid,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::Partial => "partial",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

impl FromStr for PaymentStatus {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "unpaid" => Ok(PaymentStatus::Unpaid),
            "partial" => Ok(PaymentStatus::Partial),
            "paid" => Ok(PaymentStatus::Paid),
            "refunded" => Ok(PaymentStatus::Refunded),
            other => Err(ValueError::Other(format!(
                "{other:?} is not a payment status"
            ))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurchaseFrequency {
    OneOff,
    Rare,
    Regular,
}

impl PurchaseFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseFrequency::OneOff => "one-off",
            PurchaseFrequency::Rare => "rare",
            PurchaseFrequency::Regular => "regular",
        }
    }
}

impl FromStr for PurchaseFrequency {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "one-off" | "oneoff" | "once" => Ok(PurchaseFrequency::OneOff),
            "rare" => Ok(PurchaseFrequency::Rare),
            "regular" => Ok(PurchaseFrequency::Regular),
            other => Err(ValueError::Other(format!(
                "{other:?} is not a purchase frequency"
            ))),
        }
    }
}

/// The commercial state of a contact (SPEC 2, "Interaction").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Commerce {
    pub current_order: Option<String>,
    pub order_stage: Option<String>,
    pub payment_status: Option<PaymentStatus>,
    pub purchase_frequency: Option<PurchaseFrequency>,
    /// Products, sizes, colours, quantities they prefer, as written.
    pub purchase_preferences: Vec<String>,
}

/// A date that matters to the relationship: a birthday (theirs or family's), an anniversary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportantDate {
    /// `birthday` for the contact's own; `birthday: wife`, `anniversary` for others.
    pub label: String,
    pub date: Date,
}

/// SPEC 2, "Relationship": these drive greeting reminders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relationship {
    pub birthday: Option<Date>,
    pub important_dates: Vec<ImportantDate>,
    pub hobbies: Vec<String>,
    pub favourite_team: Option<String>,
}

/// A typed custom field value (the workspace defines the fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomValue {
    Text(String),
    Number(Decimal),
    Date(Date),
    Choice(String),
    YesNo(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentStatus {
    Granted,
    Withdrawn,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Granted => "granted",
            ConsentStatus::Withdrawn => "withdrawn",
        }
    }
}

impl FromStr for ConsentStatus {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "granted" => Ok(ConsentStatus::Granted),
            "withdrawn" => Ok(ConsentStatus::Withdrawn),
            other => Err(ValueError::Other(format!(
                "{other:?} is not granted or withdrawn"
            ))),
        }
    }
}

/// A consent record for one channel: when and how it was given or withdrawn. Records are kept,
/// never overwritten, so the contact's history of consent can be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub channel: Channel,
    pub status: ConsentStatus,
    pub at: Timestamp,
    /// How: `import`, `reply "STOP"`, `unsubscribe page`, `web form`.
    pub source: String,
}

/// Something that identifies one contact and no other: what de-duplication keys on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Handle {
    Phone(Phone),
    Email(Email),
    WhatsApp(String),
}

impl Handle {
    pub fn kind(&self) -> &'static str {
        match self {
            Handle::Phone(_) => "phone",
            Handle::Email(_) => "email",
            Handle::WhatsApp(_) => "whatsapp",
        }
    }

    /// The normalised value the store indexes (e-mails lower-cased).
    pub fn key(&self) -> String {
        match self {
            Handle::Phone(p) => p.as_str().to_owned(),
            Handle::Email(e) => e.dedup_key(),
            Handle::WhatsApp(w) => w.clone(),
        }
    }
}

/// How an import row or an API call names a contact: by id or by one of its handles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactRef {
    Id(ContactId),
    Handle(Handle),
}

impl ContactRef {
    /// Reads `+966501234567` (a phone, E.164), `ann@example.com` (an e-mail) or `42` (a
    /// contact id). A phone must carry its country code: a bare number is read as an id.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        if trimmed.contains('@') {
            return Email::parse(trimmed).map(|e| ContactRef::Handle(Handle::Email(e)));
        }
        if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
            return trimmed
                .parse()
                .map(|id| ContactRef::Id(ContactId::new(id)))
                .map_err(|_| ValueError::Other(format!("{trimmed:?} is not a contact id")));
        }
        Phone::parse(trimmed, None).map(|p| ContactRef::Handle(Handle::Phone(p)))
    }
}

/// The type of a workspace-defined custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomFieldType {
    Text,
    Number,
    Date,
    Choice(Vec<String>),
    YesNo,
}

impl CustomFieldType {
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomFieldType::Text => "text",
            CustomFieldType::Number => "number",
            CustomFieldType::Date => "date",
            CustomFieldType::Choice(_) => "choice",
            CustomFieldType::YesNo => "yes/no",
        }
    }

    /// Reads a value written by a person into this type.
    pub fn parse_value(&self, raw: &str) -> Result<CustomValue, ValueError> {
        let trimmed = raw.trim();
        match self {
            CustomFieldType::Text => Ok(CustomValue::Text(trimmed.to_owned())),
            CustomFieldType::Number => trimmed
                .parse::<Decimal>()
                .map(CustomValue::Number)
                .map_err(|_| ValueError::Other(format!("{trimmed:?} is not a number"))),
            CustomFieldType::Date => crate::value::parse_date(trimmed).map(CustomValue::Date),
            CustomFieldType::Choice(choices) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(trimmed))
                .map(|c| CustomValue::Choice(c.clone()))
                .ok_or_else(|| {
                    ValueError::Other(format!("{trimmed:?} is not one of {}", choices.join(", ")))
                }),
            CustomFieldType::YesNo => match trimmed.to_lowercase().as_str() {
                "yes" | "y" | "true" | "1" | "да" | "نعم" => Ok(CustomValue::YesNo(true)),
                "no" | "n" | "false" | "0" | "нет" | "لا" => Ok(CustomValue::YesNo(false)),
                _ => Err(ValueError::Other(format!("{trimmed:?} is not yes or no"))),
            },
        }
    }
}

/// A custom field the workspace defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomFieldDef {
    /// Lower-case key, as used in imports and the API.
    pub name: String,
    pub field_type: CustomFieldType,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub kind: ContactKind,
    pub name: String,
    pub company: CompanyDetails,
    pub persons: Vec<ContactPerson>,
    pub photo_url: Option<String>,
    pub country: Option<Country>,
    pub city: Option<String>,
    pub language: Option<Language>,
    /// As given; when absent the planner derives one from the phone's country.
    pub time_zone: Option<TimeZoneName>,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
    pub whatsapp_id: Option<String>,
    /// Other handles (telegram, instagram) as (kind, value).
    pub other_handles: Vec<(String, String)>,
    pub reach: ReachPreferences,
    pub commerce: Commerce,
    pub relationship: Relationship,
    pub custom: BTreeMap<String, CustomValue>,
    pub consents: Vec<Consent>,
    pub owner: Option<UserId>,
    pub team: Option<TeamId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Contact {
    /// An empty contact, for the store to fill from a draft.
    pub fn new(id: ContactId, now: Timestamp) -> Self {
        Self {
            id,
            kind: ContactKind::Person,
            name: String::new(),
            company: CompanyDetails::default(),
            persons: Vec::new(),
            photo_url: None,
            country: None,
            city: None,
            language: None,
            time_zone: None,
            phones: Vec::new(),
            emails: Vec::new(),
            whatsapp_id: None,
            other_handles: Vec::new(),
            reach: ReachPreferences::default(),
            commerce: Commerce::default(),
            relationship: Relationship::default(),
            custom: BTreeMap::new(),
            consents: Vec::new(),
            owner: None,
            team: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// A contact known only by a handle (a message from a new number): the handle, and the
    /// country a phone number belongs to.
    pub fn from_handle(id: ContactId, handle: &Handle, now: Timestamp) -> Self {
        let mut contact = Contact::new(id, now);
        match handle {
            Handle::Phone(p) => {
                contact.phones.push(p.clone());
                contact.country = p.country();
            }
            Handle::Email(e) => contact.emails.push(e.clone()),
            Handle::WhatsApp(w) => contact.whatsapp_id = Some(w.clone()),
        }
        contact
    }

    /// Where the contact lives as far as Stoke can tell: their country, else their first phone
    /// number's. Reading a number's country parses it: compute this once per use.
    pub fn home_country(&self) -> Option<Country> {
        self.country
            .or_else(|| self.phones.first().and_then(|p| p.country()))
    }

    /// The language to write to this contact in: theirs, else their country's usual one
    /// (`Country::language_hint`), else `None` (the workspace's default).
    pub fn likely_language(&self) -> Option<Language> {
        self.language.clone().or_else(|| {
            self.home_country()
                .and_then(Country::language_hint)
                .and_then(|l| Language::parse(l).ok())
        })
    }

    /// Every handle this contact is known by.
    pub fn handles(&self) -> Vec<Handle> {
        let mut handles: Vec<Handle> = self.phones.iter().cloned().map(Handle::Phone).collect();
        handles.extend(self.emails.iter().cloned().map(Handle::Email));
        handles.extend(self.whatsapp_id.iter().cloned().map(Handle::WhatsApp));
        handles
    }

    /// The latest consent record for a channel, if any.
    pub fn consent(&self, channel: Channel) -> Option<&Consent> {
        self.consents
            .iter()
            .filter(|c| c.channel == channel)
            .max_by_key(|c| c.at)
    }

    /// Whether the contact has opted out of a channel (their latest record withdraws consent).
    pub fn opted_out(&self, channel: Channel) -> bool {
        self.consent(channel)
            .is_some_and(|c| c.status == ConsentStatus::Withdrawn)
    }

    /// Merges `other` into `self`: `self`'s values win, gaps are filled from `other`, lists are
    /// united, consent records kept from both. Nothing `other` knew is dropped.
    pub fn absorb(&mut self, other: Contact) {
        fill(&mut self.name, other.name);
        fill_opt(&mut self.company.legal_name, other.company.legal_name);
        fill_opt(
            &mut self.company.registration_number,
            other.company.registration_number,
        );
        fill_opt(&mut self.company.tax_id, other.company.tax_id);
        fill_opt(&mut self.company.address, other.company.address);
        unite(&mut self.persons, other.persons);
        fill_opt(&mut self.photo_url, other.photo_url);
        fill_opt(&mut self.country, other.country);
        fill_opt(&mut self.city, other.city);
        fill_opt(&mut self.language, other.language);
        fill_opt(&mut self.time_zone, other.time_zone);
        unite(&mut self.phones, other.phones);
        unite(&mut self.emails, other.emails);
        fill_opt(&mut self.whatsapp_id, other.whatsapp_id);
        unite(&mut self.other_handles, other.other_handles);
        fill_opt(
            &mut self.reach.preferred_channel,
            other.reach.preferred_channel,
        );
        fill_opt(&mut self.reach.window, other.reach.window);
        fill_opt(&mut self.reach.format, other.reach.format);
        fill_opt(&mut self.reach.max_per_week, other.reach.max_per_week);
        self.reach.passive |= other.reach.passive;
        fill_opt(
            &mut self.commerce.current_order,
            other.commerce.current_order,
        );
        fill_opt(&mut self.commerce.order_stage, other.commerce.order_stage);
        fill_opt(
            &mut self.commerce.payment_status,
            other.commerce.payment_status,
        );
        fill_opt(
            &mut self.commerce.purchase_frequency,
            other.commerce.purchase_frequency,
        );
        unite(
            &mut self.commerce.purchase_preferences,
            other.commerce.purchase_preferences,
        );
        fill_opt(&mut self.relationship.birthday, other.relationship.birthday);
        unite(
            &mut self.relationship.important_dates,
            other.relationship.important_dates,
        );
        unite(&mut self.relationship.hobbies, other.relationship.hobbies);
        fill_opt(
            &mut self.relationship.favourite_team,
            other.relationship.favourite_team,
        );
        for (key, value) in other.custom {
            self.custom.entry(key).or_insert(value);
        }
        unite(&mut self.consents, other.consents);
        fill_opt(&mut self.owner, other.owner);
        fill_opt(&mut self.team, other.team);
        self.created_at = self.created_at.min(other.created_at);
    }
}

fn fill(target: &mut String, source: String) {
    if target.trim().is_empty() {
        *target = source;
    }
}

fn fill_opt<T>(target: &mut Option<T>, source: Option<T>) {
    if target.is_none() {
        *target = source;
    }
}

fn unite<T: PartialEq>(target: &mut Vec<T>, source: Vec<T>) {
    for item in source {
        if !target.contains(&item) {
            target.push(item);
        }
    }
}

/// What an import row, an API call or a webhook says about a contact. Every field is optional:
/// a draft only changes what it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactDraft {
    pub kind: Option<ContactKind>,
    pub name: Option<String>,
    pub company: CompanyDetails,
    pub photo_url: Option<String>,
    pub country: Option<Country>,
    pub city: Option<String>,
    pub language: Option<Language>,
    pub time_zone: Option<TimeZoneName>,
    pub phones: Vec<Phone>,
    pub emails: Vec<Email>,
    pub whatsapp_id: Option<String>,
    pub reach: ReachPreferences,
    pub birthday: Option<Date>,
    pub custom: BTreeMap<String, CustomValue>,
    pub consents: Vec<Consent>,
    /// Static tags to add (`wholesale`, `vip`).
    pub tags: Vec<String>,
    /// Notes to add; one identical to an existing note is not added again.
    pub notes: Vec<String>,
    /// The e-mail of the user the contact is assigned to; `None` leaves the owner as it is.
    /// Only the store can turn it into a `UserId` (inside its transaction, refusing an e-mail no
    /// user has), so `apply` leaves it alone.
    pub owner: Option<Email>,
}

impl ContactDraft {
    /// Every handle the draft names; a draft with none cannot be matched or created.
    pub fn handles(&self) -> Vec<Handle> {
        let mut handles: Vec<Handle> = self.phones.iter().cloned().map(Handle::Phone).collect();
        handles.extend(self.emails.iter().cloned().map(Handle::Email));
        handles.extend(self.whatsapp_id.iter().cloned().map(Handle::WhatsApp));
        handles
    }

    /// Applies the draft to a contact: the values it names replace the contact's, handles and
    /// consent records are added. Returns whether anything changed, so that re-importing the
    /// same file writes nothing.
    pub fn apply(&self, contact: &mut Contact) -> bool {
        let before = contact.clone();
        set(&mut contact.kind, self.kind);
        if let Some(name) = self.name.as_ref().filter(|n| !n.trim().is_empty()) {
            contact.name.clone_from(name);
        }
        set_opt(&mut contact.company.legal_name, &self.company.legal_name);
        set_opt(
            &mut contact.company.registration_number,
            &self.company.registration_number,
        );
        set_opt(&mut contact.company.tax_id, &self.company.tax_id);
        set_opt(&mut contact.company.address, &self.company.address);
        set_opt(&mut contact.photo_url, &self.photo_url);
        set_opt(&mut contact.country, &self.country);
        set_opt(&mut contact.city, &self.city);
        set_opt(&mut contact.language, &self.language);
        set_opt(&mut contact.time_zone, &self.time_zone);
        unite(&mut contact.phones, self.phones.clone());
        unite(&mut contact.emails, self.emails.clone());
        set_opt(&mut contact.whatsapp_id, &self.whatsapp_id);
        set_opt(
            &mut contact.reach.preferred_channel,
            &self.reach.preferred_channel,
        );
        set_opt(&mut contact.reach.window, &self.reach.window);
        set_opt(&mut contact.reach.format, &self.reach.format);
        set_opt(&mut contact.reach.max_per_week, &self.reach.max_per_week);
        contact.reach.passive |= self.reach.passive;
        set_opt(&mut contact.relationship.birthday, &self.birthday);
        for (key, value) in &self.custom {
            contact.custom.insert(key.clone(), value.clone());
        }
        unite(&mut contact.consents, self.consents.clone());
        *contact != before
    }
}

fn set<T: Copy>(target: &mut T, source: Option<T>) {
    if let Some(value) = source {
        *target = value;
    }
}

fn set_opt<T: Clone>(target: &mut Option<T>, source: &Option<T>) {
    if source.is_some() {
        target.clone_from(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s, None).expect("phone")
    }

    #[test]
    fn contact_refs() {
        assert_eq!(
            ContactRef::parse("42").expect("ok"),
            ContactRef::Id(ContactId::new(42))
        );
        assert!(matches!(
            ContactRef::parse("+966501234567"),
            Ok(ContactRef::Handle(Handle::Phone(_)))
        ));
        assert!(matches!(
            ContactRef::parse("a@b.com"),
            Ok(ContactRef::Handle(Handle::Email(_)))
        ));
        assert!(ContactRef::parse("").is_err());
        assert!(ContactRef::parse("Ahmed").is_err());
    }

    #[test]
    fn custom_values() {
        let choice = CustomFieldType::Choice(vec!["Gold".into(), "Silver".into()]);
        assert_eq!(
            choice.parse_value("gold").expect("ok"),
            CustomValue::Choice("Gold".into())
        );
        assert!(choice.parse_value("bronze").is_err());
        assert!(CustomFieldType::Number.parse_value("12.5").is_ok());
        assert!(CustomFieldType::Number.parse_value("twelve").is_err());
        assert_eq!(
            CustomFieldType::YesNo.parse_value("Да").expect("ok"),
            CustomValue::YesNo(true)
        );
        assert!(CustomFieldType::Date.parse_value("2026-02-30").is_err());
    }

    #[test]
    fn contact_windows() {
        let w = ContactWindow::parse("Mon-Fri 10:00-14:00").expect("ok");
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        assert_eq!(w.to_string(), "Mon,Tue,Wed,Thu,Fri 10:00-14:00");
        assert!(w.includes_day(Weekday::Monday));
        assert!(!w.includes_day(Weekday::Sunday));
        let w = ContactWindow::parse("Sun-Thu 9:00-18:00").expect("ok");
        assert_eq!(w.days, [true, true, true, true, false, false, true]);
        let w = ContactWindow::parse("Пн-Пт 10:00-14:00").expect("ok");
        assert_eq!(w.days, [true, true, true, true, true, false, false]);
        let w = ContactWindow::parse("الأحد-الخميس 10:00-14:00").expect("ok");
        assert_eq!(w.days, [true, true, true, true, false, false, true]);
        let w = ContactWindow::parse("10:00-14:00").expect("ok");
        assert_eq!(w.to_string(), "daily 10:00-14:00");
        assert!(ContactWindow::parse("Mon-Fri 14:00-10:00").is_err());
        assert!(ContactWindow::parse("whenever").is_err());
        assert!(ContactWindow::parse("Mon-Fri 25:00-26:00").is_err());
    }

    #[test]
    fn draft_applies_and_reports_change() {
        let mut contact = Contact::new(ContactId::new(1), ts("2026-01-01T00:00:00Z"));
        let draft = ContactDraft {
            name: Some("Ahmed".into()),
            phones: vec![phone("+966501234567")],
            ..ContactDraft::default()
        };
        assert!(draft.apply(&mut contact));
        assert!(
            !draft.apply(&mut contact),
            "the same draft twice changes nothing"
        );
        assert_eq!(contact.name, "Ahmed");
        let renamed = ContactDraft {
            name: Some("Ahmed Ali".into()),
            ..ContactDraft::default()
        };
        assert!(renamed.apply(&mut contact));
        assert_eq!(
            contact.phones.len(),
            1,
            "a draft without phones keeps the contact's"
        );
    }

    #[test]
    fn absorb_keeps_everything() {
        let mut keep = Contact::new(ContactId::new(1), ts("2026-02-01T00:00:00Z"));
        keep.name = "Ahmed".into();
        keep.phones = vec![phone("+966501234567")];
        let mut other = Contact::new(ContactId::new(2), ts("2026-01-01T00:00:00Z"));
        other.name = "Ahmed Ali".into();
        other.phones = vec![phone("+966501234568"), phone("+966501234567")];
        other.emails = vec![Email::parse("ahmed@example.com").expect("ok")];
        other.custom.insert("vip".into(), CustomValue::YesNo(true));
        keep.absorb(other);
        assert_eq!(keep.name, "Ahmed", "the survivor's values win");
        assert_eq!(keep.phones.len(), 2);
        assert_eq!(keep.emails.len(), 1);
        assert_eq!(keep.custom.len(), 1);
        assert_eq!(
            keep.created_at,
            ts("2026-01-01T00:00:00Z"),
            "history starts at the older"
        );
    }

    #[test]
    fn latest_consent_decides_opt_out() {
        let mut c = Contact::new(ContactId::new(1), ts("2026-01-01T00:00:00Z"));
        assert!(!c.opted_out(Channel::WhatsApp));
        c.consents.push(Consent {
            channel: Channel::WhatsApp,
            status: ConsentStatus::Withdrawn,
            at: ts("2026-03-01T00:00:00Z"),
            source: "reply STOP".into(),
        });
        c.consents.push(Consent {
            channel: Channel::WhatsApp,
            status: ConsentStatus::Granted,
            at: ts("2026-02-01T00:00:00Z"),
            source: "import".into(),
        });
        assert!(c.opted_out(Channel::WhatsApp));
        assert!(!c.opted_out(Channel::Email));
    }
}
