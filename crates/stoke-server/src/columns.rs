//! Reading contacts: header names (CSV) or keys (JSON) matched case-insensitively with common
//! synonyms, cells validated into a `ContactDraft`, every problem reported with its field. Shared
//! by `stoke import contacts` and the API's contact writes, so both accept the same values.

use std::collections::BTreeMap;

use stoke_core::{
    Channel, ContactDraft, ContactKind, ContactWindow, Country, CustomFieldDef, CustomFieldType,
    Email, Language, Phone, TimeZoneName, ValueError,
};

/// A column Stoke knows. Anything else becomes a custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name,
    FirstName,
    LastName,
    Phone,
    Email,
    WhatsAppId,
    TimeZone,
    Language,
    Country,
    City,
    Company,
    Kind,
    Birthday,
    PreferredChannel,
    ContactWindow,
    MaxPerWeek,
    Tags,
    Notes,
    /// The e-mail of the user the contact is assigned to.
    Owner,
    /// Export's id column: informative, not imported (ids are the store's).
    Id,
    Custom(String),
}

impl Column {
    /// Maps a header as written (`E-mail`, `Mobile`, `Full Name`) to a column.
    pub fn from_header(header: &str) -> Column {
        let key: String = header
            .trim()
            .trim_start_matches('\u{feff}')
            .to_lowercase()
            .chars()
            .map(|c| {
                if c == '_' || c == '-' || c == '.' {
                    ' '
                } else {
                    c
                }
            })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match key.as_str() {
            "name" | "full name" | "fullname" | "contact name" | "customer" | "customer name"
            | "display name" => Column::Name,
            "first name" | "firstname" | "given name" => Column::FirstName,
            "last name" | "lastname" | "surname" | "family name" => Column::LastName,
            "phone" | "phones" | "mobile" | "mobile phone" | "mobile number" | "phone number"
            | "whatsapp" | "whatsapp number" | "whatsapp phone" | "tel" | "telephone" | "cell"
            | "msisdn" => Column::Phone,
            "email" | "emails" | "e mail" | "mail" | "email address" => Column::Email,
            "whatsapp id" | "wa id" => Column::WhatsAppId,
            "timezone" | "time zone" | "tz" => Column::TimeZone,
            "language" | "lang" | "locale" => Column::Language,
            "country" | "country code" => Column::Country,
            "city" | "location" => Column::City,
            "company" | "organisation" | "organization" | "company name" => Column::Company,
            "kind" | "type" | "contact type" => Column::Kind,
            "birthday" | "date of birth" | "dob" | "birth date" | "birthdate" => Column::Birthday,
            "preferred channel" => Column::PreferredChannel,
            "contact window" | "window" => Column::ContactWindow,
            "max per week" | "max messages per week" => Column::MaxPerWeek,
            "tags" | "tag" | "labels" | "label" => Column::Tags,
            "notes" | "note" | "comments" | "comment" => Column::Notes,
            "owner" | "owner email" | "assigned to" | "assignee" => Column::Owner,
            "id" | "stoke id" | "contact id" => Column::Id,
            _ => Column::Custom(key.replace(' ', "_")),
        }
    }
}

pub use crate::lines::FieldError;

/// Splits a cell holding several values (`+966..; +971...`, `vip, wholesale`).
fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([';', ',', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Builds a draft from (column, header as written, cell) triples; returns every problem found,
/// including a missing handle (a new contact needs a phone, an e-mail or a WhatsApp id).
pub fn draft_from_cells<'a>(
    cells: impl Iterator<Item = (&'a Column, &'a str, &'a str)>,
    custom_fields: &BTreeMap<String, CustomFieldDef>,
) -> Result<ContactDraft, Vec<FieldError>> {
    draft_with(cells, custom_fields, true)
}

/// Like `draft_from_cells`, for changes to an existing contact: no handle is required.
pub fn changes_from_cells<'a>(
    cells: impl Iterator<Item = (&'a Column, &'a str, &'a str)>,
    custom_fields: &BTreeMap<String, CustomFieldDef>,
) -> Result<ContactDraft, Vec<FieldError>> {
    draft_with(cells, custom_fields, false)
}

fn draft_with<'a>(
    cells: impl Iterator<Item = (&'a Column, &'a str, &'a str)>,
    custom_fields: &BTreeMap<String, CustomFieldDef>,
    needs_handle: bool,
) -> Result<ContactDraft, Vec<FieldError>> {
    let mut draft = ContactDraft::default();
    let mut errors = Vec::new();
    let mut fail = |field: &str, err: ValueError| {
        errors.push(FieldError {
            field: field.to_owned(),
            reason: err.to_string(),
        })
    };
    let cells: Vec<(&Column, &str, &str)> = cells
        .map(|(c, h, v)| (c, h, v.trim()))
        .filter(|(_, _, v)| !v.is_empty())
        .collect();
    // The country is read first: it is how local phone numbers are understood.
    for (column, header, value) in &cells {
        if **column == Column::Country {
            match Country::parse(value) {
                Ok(c) => draft.country = Some(c),
                Err(e) => fail(header, e),
            }
        }
    }
    let (mut first, mut last) = (None, None);
    let mut phone_header = None;
    for (column, header, value) in cells {
        match column {
            Column::Name => draft.name = Some(value.to_owned()),
            Column::FirstName => first = Some(value),
            Column::LastName => last = Some(value),
            Column::Phone => {
                phone_header.get_or_insert(header);
                for raw in split_list(value) {
                    match Phone::parse(raw, draft.country) {
                        Ok(p) if !draft.phones.contains(&p) => draft.phones.push(p),
                        Ok(_) => {}
                        Err(e) => fail(header, e),
                    }
                }
            }
            Column::Email => {
                for raw in split_list(value) {
                    match Email::parse(raw) {
                        Ok(e) if !draft.emails.contains(&e) => draft.emails.push(e),
                        Ok(_) => {}
                        Err(e) => fail(header, e),
                    }
                }
            }
            Column::WhatsAppId => draft.whatsapp_id = Some(value.to_owned()),
            Column::TimeZone => match TimeZoneName::parse(value) {
                Ok(z) => draft.time_zone = Some(z),
                Err(e) => fail(header, e),
            },
            Column::Language => match Language::parse(value) {
                Ok(l) => draft.language = Some(l),
                Err(e) => fail(header, e),
            },
            Column::Country => {}
            Column::City => draft.city = Some(value.to_owned()),
            Column::Company => draft.company.legal_name = Some(value.to_owned()),
            Column::Kind => match value.parse::<ContactKind>() {
                Ok(k) => draft.kind = Some(k),
                Err(e) => fail(header, e),
            },
            Column::Birthday => match stoke_core::value::parse_date(value) {
                Ok(d) => draft.birthday = Some(d),
                Err(e) => fail(header, e),
            },
            Column::PreferredChannel => match value.parse::<Channel>() {
                Ok(c) => draft.reach.preferred_channel = Some(c),
                Err(e) => fail(header, ValueError::Other(e.to_string())),
            },
            Column::ContactWindow => match ContactWindow::parse(value) {
                Ok(w) => draft.reach.window = Some(w),
                Err(e) => fail(header, e),
            },
            Column::MaxPerWeek => match value.parse::<u32>() {
                Ok(n) if n <= 100 => draft.reach.max_per_week = Some(n),
                _ => fail(
                    header,
                    ValueError::Other(format!(
                        "{value:?} is not a number of messages from 0 to 100"
                    )),
                ),
            },
            Column::Tags => {
                for tag in split_list(value) {
                    let tag = tag.to_lowercase();
                    if !draft.tags.contains(&tag) {
                        draft.tags.push(tag);
                    }
                }
            }
            Column::Notes => draft.notes.push(value.to_owned()),
            Column::Owner => match Email::parse(value) {
                Ok(e) => draft.owner = Some(e),
                Err(e) => fail(header, e),
            },
            Column::Id => {}
            Column::Custom(key) => {
                let field_type = custom_fields
                    .get(key)
                    .map_or(&CustomFieldType::Text, |d| &d.field_type);
                match field_type.parse_value(value) {
                    Ok(v) => {
                        draft.custom.insert(key.clone(), v);
                    }
                    Err(e) => fail(header, e),
                }
            }
        }
    }
    // Notes in the seed's form declare preferences; explicit columns win over them.
    for note in &draft.notes {
        let declared = stoke_core::note_form::parse_note(note);
        if declared.is_empty() {
            continue;
        }
        draft.reach.format = draft.reach.format.or(declared.format);
        draft.reach.max_per_week = draft.reach.max_per_week.or(declared.max_per_week);
        if draft.reach.window.is_none() {
            draft.reach.window = declared.window;
        }
        draft.reach.passive |= declared.passive;
    }
    if draft.name.is_none() {
        let joined = [first, last]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !joined.is_empty() {
            draft.name = Some(joined);
        }
    }
    if needs_handle
        && draft.phones.is_empty()
        && draft.emails.is_empty()
        && draft.whatsapp_id.is_none()
        && errors.is_empty()
    {
        errors.push(FieldError {
            field: phone_header.unwrap_or("phone").to_owned(),
            reason: "a contact needs a phone or an e-mail".into(),
        });
    }
    if errors.is_empty() {
        Ok(draft)
    } else {
        Err(errors)
    }
}

/// One JSON object per line, keys as CSV headers, values strings, numbers, booleans or lists.
pub fn parse_contact_object(
    line: &str,
    custom: &BTreeMap<String, CustomFieldDef>,
) -> Result<ContactDraft, Vec<FieldError>> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(line).map_err(|e| {
            vec![FieldError {
                field: "json".into(),
                reason: format!("not a JSON object: {e}"),
            }]
        })?;
    let mut cells: Vec<(Column, String, String)> = Vec::with_capacity(object.len());
    let mut errors = Vec::new();
    for (key, value) in object {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        serde_json::Value::String(s) => parts.push(s),
                        serde_json::Value::Number(n) => parts.push(n.to_string()),
                        _ => errors.push(FieldError {
                            field: key.clone(),
                            reason: "lists may hold only strings and numbers".into(),
                        }),
                    }
                }
                parts.join(";")
            }
            serde_json::Value::Object(_) => {
                errors.push(FieldError {
                    field: key.clone(),
                    reason: "nested objects are not supported".into(),
                });
                continue;
            }
        };
        cells.push((Column::from_header(&key), key, text));
    }
    let draft = draft_from_cells(
        cells.iter().map(|(c, h, v)| (c, h.as_str(), v.as_str())),
        custom,
    );
    match (draft, errors.is_empty()) {
        (Ok(d), true) => Ok(d),
        (Ok(_), false) => Err(errors),
        (Err(mut e), _) => {
            e.extend(errors);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, &str)]) -> Result<ContactDraft, Vec<FieldError>> {
        let columns: Vec<(Column, String, String)> = pairs
            .iter()
            .map(|(h, v)| (Column::from_header(h), (*h).to_owned(), (*v).to_owned()))
            .collect();
        draft_from_cells(
            columns.iter().map(|(c, h, v)| (c, h.as_str(), v.as_str())),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn headers_match_synonyms() {
        for (header, column) in [
            ("Full Name", Column::Name),
            ("MOBILE", Column::Phone),
            ("WhatsApp", Column::Phone),
            ("E-mail", Column::Email),
            ("\u{feff}email", Column::Email),
            ("Time_Zone", Column::TimeZone),
            ("Customer Since", Column::Custom("customer_since".into())),
        ] {
            assert_eq!(Column::from_header(header), column, "{header}");
        }
    }

    #[test]
    fn local_numbers_use_the_row_country() {
        let d = row(&[
            ("phone", "050 123 4567"),
            ("country", "sa"),
            ("name", "Ahmed"),
        ])
        .expect("valid");
        assert_eq!(d.phones[0].as_str(), "+966501234567");
        assert_eq!(d.country.map(|c| c.to_string()).as_deref(), Some("SA"));
    }

    #[test]
    fn every_bad_cell_is_reported() {
        let errors = row(&[
            ("phone", "12"),
            ("email", "nope"),
            ("timezone", "Mars/Base"),
        ])
        .expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["phone", "email", "timezone"]);
    }

    #[test]
    fn notes_in_the_seed_form_fill_preferences() {
        let d = row(&[
            ("email", "wang@example.com"),
            (
                "notes",
                "Mr Wang | prefers text | Mon-Fri 9:00-18:00 | max 2 per week",
            ),
            ("max per week", "3"),
        ])
        .expect("valid");
        assert_eq!(
            d.reach.max_per_week,
            Some(3),
            "the column wins over the note"
        );
        assert_eq!(d.reach.format, Some(stoke_core::MessageFormat::Text));
        assert!(d.reach.window.is_some());
        assert_eq!(d.notes.len(), 1, "the note itself is kept");
    }

    #[test]
    fn the_owner_is_an_e_mail() {
        let d = row(&[("phone", "+966501234567"), ("Owner", "Ann@Shop.Example")]).expect("valid");
        assert_eq!(
            d.owner.map(|e| e.dedup_key()).as_deref(),
            Some("ann@shop.example")
        );
        let errors = row(&[("phone", "+966501234567"), ("owner", "ann")]).expect_err("bad");
        assert_eq!(errors[0].field, "owner");
        let d = row(&[("phone", "+966501234567"), ("owner", " ")]).expect("valid");
        assert_eq!(d.owner, None, "an empty cell leaves the owner as it is");
    }

    #[test]
    fn a_contact_needs_a_handle() {
        let errors = row(&[("name", "Nobody")]).expect_err("no handle");
        assert_eq!(errors[0].field, "phone");
    }

    #[test]
    fn lists_tags_and_custom_fields() {
        let d = row(&[
            ("email", "a@b.com"),
            ("tags", "VIP; wholesale"),
            ("customer since", "2021-03-01"),
            ("first name", "Ann"),
            ("last name", "Lee"),
        ])
        .expect("valid");
        assert_eq!(d.tags, vec!["vip", "wholesale"]);
        assert_eq!(d.name.as_deref(), Some("Ann Lee"));
        assert!(d.custom.contains_key("customer_since"));
    }
}

#[cfg(test)]
mod robustness {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Any header and any cell give a draft or named errors, never a panic.
        #[test]
        fn any_row_is_answered(cells in prop::collection::vec((any::<String>(), any::<String>()), 0..12)) {
            let columns: Vec<(Column, String, String)> =
                cells.into_iter().map(|(h, v)| (Column::from_header(&h), h, v)).collect();
            let result = draft_from_cells(columns.iter().map(|(c, h, v)| (c, h.as_str(), v.as_str())), &BTreeMap::new());
            if let Err(errors) = result {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| !e.reason.is_empty()));
            }
        }
    }
}
