//! Declared preferences written in a contact's notes, in the seed's form (SPEC 2):
//! `Mr Wang | prefers text | Mon-Fri 9:00-18:00 | max 2 per week`, in English, Russian or
//! Arabic (`предпочитает голосовые | Пн-Пт 10:00-14:00 | не более 2 в неделю`,
//! `يفضل الرسائل النصية | الأحد-الخميس 10:00-14:00`).
//!
//! Each `|`-separated part is read on its own: a contact window, a preferred format, a weekly
//! maximum, the passive "I'll contact you when I need it", or (first part only) how to address
//! the person. Parts that are none of these are left alone: a note is still a note.

use crate::contact::{ContactWindow, MessageFormat};
use crate::text::{normalise, tokens};

/// What a note declares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeclaredPreferences {
    pub salutation: Option<String>,
    pub format: Option<MessageFormat>,
    pub window: Option<ContactWindow>,
    pub max_per_week: Option<u32>,
    pub passive: bool,
}

impl DeclaredPreferences {
    pub fn is_empty(&self) -> bool {
        *self == DeclaredPreferences::default()
    }
}

/// Word stems that name a format, checked on normalised tokens.
const FORMATS: &[(&str, MessageFormat)] = &[
    ("voice", MessageFormat::Voice),
    ("audio", MessageFormat::Voice),
    ("голос", MessageFormat::Voice),
    ("аудио", MessageFormat::Voice),
    ("صوت", MessageFormat::Voice),
    ("فويس", MessageFormat::Voice),
    ("video", MessageFormat::Video),
    ("видео", MessageFormat::Video),
    ("فيديو", MessageFormat::Video),
    ("image", MessageFormat::TextImage),
    ("picture", MessageFormat::TextImage),
    ("photo", MessageFormat::TextImage),
    ("картин", MessageFormat::TextImage),
    ("фото", MessageFormat::TextImage),
    ("صور", MessageFormat::TextImage),
    ("text", MessageFormat::Text),
    ("текст", MessageFormat::Text),
    ("نص", MessageFormat::Text),
    ("كتاب", MessageFormat::Text),
];

const WEEK: &[&str] = &["week", "weekly", "недел", "اسبوع", "اسبوعيا", "بالاسبوع"];
const TWICE: &[&str] = &["twice", "مرتين", "дважды"];
const PASSIVE: &[&str] = &[
    "when i need",
    "contact you when",
    "i'll contact",
    "напишу сам",
    "сам напишу",
    "сам свяжусь",
    "когда понадобится",
    "عند الحاجه",
    "ساتواصل",
];

/// Reads the declared preferences of a note; parts it does not understand are ignored.
pub fn parse_note(note: &str) -> DeclaredPreferences {
    let mut out = DeclaredPreferences::default();
    if !note.contains('|') && !looks_declarative(note) {
        return out;
    }
    for (i, part) in note
        .split('|')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        let normalised = normalise(part);
        let words: Vec<&str> = tokens(&normalised).collect();
        if let Ok(window) = ContactWindow::parse(part) {
            out.window = Some(window);
            continue;
        }
        if PASSIVE.iter().any(|p| normalised.contains(&normalise(p))) {
            out.passive = true;
            continue;
        }
        if words.iter().any(|w| WEEK.iter().any(|k| w.starts_with(k))) {
            let number = words.iter().find_map(|w| w.parse::<u32>().ok());
            let twice = words
                .iter()
                .any(|w| TWICE.contains(w) || w.starts_with("два"));
            if let Some(n) = number
                .or(twice.then_some(2))
                .or(Some(1))
                .filter(|n| *n <= 50)
            {
                out.max_per_week = Some(n);
                continue;
            }
        }
        if let Some((_, format)) = FORMATS.iter().find(|(stem, _)| {
            words
                .iter()
                .any(|w| w.starts_with(stem) || w.trim_start_matches("ال").starts_with(stem))
        }) {
            out.format = Some(*format);
            continue;
        }
        if i == 0 && words.len() <= 4 {
            out.salutation = Some(part.to_owned());
        }
    }
    out
}

/// A note without `|` is read only if it is one declaration ("prefers voice").
fn looks_declarative(note: &str) -> bool {
    let n = normalise(note);
    [
        "prefer",
        "предпочит",
        "يفضل",
        "max ",
        "не более",
        "per week",
    ]
    .iter()
    .any(|k| n.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_form_in_three_languages() {
        let en = parse_note("Mr Wang | prefers text | Mon-Fri 9:00-18:00 | max 2 per week");
        assert_eq!(en.salutation.as_deref(), Some("Mr Wang"));
        assert_eq!(en.format, Some(MessageFormat::Text));
        assert_eq!(
            en.window.as_ref().map(ToString::to_string).as_deref(),
            Some("Mon,Tue,Wed,Thu,Fri 09:00-18:00")
        );
        assert_eq!(en.max_per_week, Some(2));
        let ru = parse_note("предпочитает голосовые | Пн-Пт 10:00-14:00 | не более 2 в неделю");
        assert_eq!(
            (ru.format, ru.max_per_week),
            (Some(MessageFormat::Voice), Some(2))
        );
        assert!(ru.window.is_some());
        let ar = parse_note("يفضل الرسائل النصية | الأحد-الخميس 10:00-14:00 | مرتين أسبوعيًا");
        assert_eq!(
            (ar.format, ar.max_per_week),
            (Some(MessageFormat::Text), Some(2))
        );
        assert!(ar.window.is_some_and(|w| w.days[6] && !w.days[4]));
        let passive = parse_note("لا أحتاج حاليًا | سأتواصل عند الحاجة");
        assert!(passive.passive);
        assert!(parse_note("prefers voice").format == Some(MessageFormat::Voice));
    }

    #[test]
    fn ordinary_notes_declare_nothing() {
        assert!(parse_note("called twice, no answer").is_empty());
        assert!(parse_note("Wants the blue one, will visit the showroom").is_empty());
        assert!(parse_note("").is_empty());
    }
}
