//! Outside input never panics the core: arbitrary text through every parser and the classifier.

use std::sync::OnceLock;

use proptest::prelude::*;
use stoke_core::contact::ContactWindow;
use stoke_core::note_form::parse_note;
use stoke_core::playbook::{DEFAULT_TOML, Playbook};
use stoke_core::text::Analyzer;
use stoke_core::{ContactRef, Currency, Email, Language, Money, Phone, TimeZoneName};

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        let playbook = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
        Analyzer::new(&playbook).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// Text with the characters that trouble parsers: Arabic, Cyrillic, emoji, combining marks,
/// direction marks, digits and punctuation.
fn messy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                'ا', 'أ', 'ة', 'ـ', '\u{064B}', 'ё', 'Й', '👍', '🙏', '\u{200F}', '\u{FE0F}', '?',
                '؟', '|', '-', ':', '+', '0', '9', ' '
            ]),
        ],
        0..80,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics(text in messy(), lang in prop::option::of("[a-z]{2}")) {
        let c = analyzer().classify(&text, lang.as_deref());
        prop_assert!(["ar", "ru", "en"].contains(&c.language.as_str()));
    }

    #[test]
    fn value_parsers_never_panic(text in messy()) {
        let _ = Phone::parse(&text, None);
        let _ = Email::parse(&text);
        let _ = TimeZoneName::parse(&text);
        let _ = Language::parse(&text);
        let _ = ContactRef::parse(&text);
        let _ = ContactWindow::parse(&text);
        let _ = parse_note(&text);
        if let Ok(sar) = Currency::parse("SAR") {
            let _ = Money::parse(&text, sar);
        }
    }

    #[test]
    fn the_playbook_reader_never_panics(cut in 0usize..40_000, junk in messy()) {
        // A truncated default with junk appended: every kind of broken file.
        let end = DEFAULT_TOML.char_indices().map(|(i, _)| i).take_while(|i| *i <= cut).last().unwrap_or(0);
        let text = format!("{}{junk}", &DEFAULT_TOML[..end]);
        let _ = Playbook::parse(&text);
    }
}
