//! The dashboard's three languages: which one a reader gets, its words (Project Fluent
//! catalogs in `locales/`, with each language's plural rules) and its way of writing dates,
//! times and numbers (ICU4X with CLDR's data: day-month order, 12- or 24-hour clocks, Russian
//! genitive months, grouping separators). Everything is built once per process; formatting a page's values is then cheap.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use icu_calendar::{Date, Gregorian};
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets;
use icu_datetime::options::TimePrecision;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::Locale;
use icu_time::{DateTime, Time};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A language the dashboard speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Ar,
    Ru,
}

impl Lang {
    pub(crate) const ALL: [Lang; 3] = [Lang::En, Lang::Ar, Lang::Ru];

    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
            Lang::Ru => "ru",
        }
    }

    /// The language's own name, for the picker.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ar => "العربية",
            Lang::Ru => "Русский",
        }
    }

    /// Arabic is written right to left: the whole layout mirrors.
    pub(crate) fn dir(self) -> &'static str {
        match self {
            Lang::Ar => "rtl",
            Lang::En | Lang::Ru => "ltr",
        }
    }

    pub(crate) fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first language of an `Accept-Language` header the dashboard speaks, in the order
    /// given (quality values are rarely anything but descending).
    pub(crate) fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| part.split(';').next())
            .find_map(Lang::parse)
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::Ar => 1,
            Lang::Ru => 2,
        }
    }
}

/// One language's words and formatters.
pub(crate) struct Catalog {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    date_time: FixedCalendarDateTimeFormatter<Gregorian, fieldsets::YMDT>,
    decimal: DecimalFormatter,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("lang", &self.lang)
            .finish_non_exhaustive()
    }
}

const SOURCES: [(Lang, &str); 3] = [
    (Lang::En, include_str!("locales/en.ftl")),
    (Lang::Ar, include_str!("locales/ar.ftl")),
    (Lang::Ru, include_str!("locales/ru.ftl")),
];

static CATALOGS: LazyLock<Vec<Catalog>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, source)| Catalog::new(*lang, source))
        .collect()
});

/// The catalog of a language.
pub(crate) fn catalog(lang: Lang) -> &'static Catalog {
    &CATALOGS[lang.index()]
}

impl Catalog {
    /// Builds a catalog from the FTL embedded in the binary. The sources are ours and checked by
    /// the tests, so a broken one is a bug: the messages that parse are kept and the rest show
    /// their ids (a page never fails for a word).
    fn new(lang: Lang, source: &'static str) -> Catalog {
        let locale: Locale = lang.code().parse().unwrap_or(Locale::UNKNOWN);
        let id: unic_langid::LanguageIdentifier = lang.code().parse().unwrap_or_default();
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, errors)| {
            tracing::error!(
                lang = lang.code(),
                ?errors,
                "a dashboard catalog does not parse"
            );
            r
        });
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Arabic text holds Latin names and numbers: Unicode isolation marks around each
        // placeable keep them from reordering the sentence. Left-to-right text needs none.
        bundle.set_use_isolating(lang == Lang::Ar);
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                lang = lang.code(),
                ?errors,
                "a dashboard catalog repeats a message"
            );
        }
        let date_time = FixedCalendarDateTimeFormatter::try_new(
            (&locale).into(),
            fieldsets::YMDT::medium().with_time_precision(TimePrecision::Minute),
        )
        .or_else(|_| {
            FixedCalendarDateTimeFormatter::try_new(
                (&Locale::UNKNOWN).into(),
                fieldsets::YMDT::medium().with_time_precision(TimePrecision::Minute),
            )
        })
        .unwrap_or_else(|e| panic!("ICU4X's compiled data has no date format: {e}"));
        let decimal = DecimalFormatter::try_new((&locale).into(), Default::default())
            .or_else(|_| DecimalFormatter::try_new((&Locale::UNKNOWN).into(), Default::default()))
            .unwrap_or_else(|e| panic!("ICU4X's compiled data has no number format: {e}"));
        Catalog {
            lang,
            bundle,
            date_time,
            decimal,
        }
    }

    /// A message without arguments; its id when the catalog lacks it.
    pub(crate) fn text(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with arguments (`("count", 3)`, `("name", "Sara")`). A number argument also
    /// gets `n`, the number written in this language, for messages that choose a plural form
    /// by `count` and show `n`.
    pub(crate) fn text_with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Str(s) => fluent.set(*name, FluentValue::from(*s)),
                Arg::Num(n) => {
                    fluent.set(*name, FluentValue::from(*n));
                    if *name == "count" {
                        fluent.set("n", FluentValue::from(self.number(*n)));
                    }
                }
            }
        }
        self.format(id, Some(&fluent))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_owned();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    /// A whole number as this language writes it (`12,345`, `12 345`), CLDR's choice of digits.
    pub(crate) fn number(&self, n: i64) -> String {
        self.decimal.format(&Decimal::from(n)).to_string()
    }

    /// A moment as a date and time in `zone`, written in this language.
    pub(crate) fn date_time(&self, at: Timestamp, zone: &TimeZone) -> String {
        let civil = zone.to_datetime(at);
        let date = Date::try_new_gregorian(
            i32::from(civil.year()),
            civil.month().unsigned_abs(),
            civil.day().unsigned_abs(),
        );
        let time = Time::try_new(
            civil.hour().unsigned_abs(),
            civil.minute().unsigned_abs(),
            0,
            0,
        );
        match (date, time) {
            (Ok(date), Ok(time)) => self.date_time.format(&DateTime { date, time }).to_string(),
            // Outside what ICU4X represents: the plain ISO form still says when.
            _ => civil.strftime("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// A message argument.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Str(&'a str),
    Num(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> Vec<String> {
        let resource = FluentResource::try_new(source.to_owned())
            .unwrap_or_else(|(_, errors)| panic!("does not parse: {errors:?}"));
        resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_language_has_every_message() {
        let english = ids(SOURCES[0].1);
        assert!(english.len() > 50);
        for (lang, source) in &SOURCES[1..] {
            let theirs = ids(source);
            let missing: Vec<_> = english.iter().filter(|id| !theirs.contains(id)).collect();
            let extra: Vec<_> = theirs.iter().filter(|id| !english.contains(id)).collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
            assert!(
                extra.is_empty(),
                "{lang:?} has {extra:?} that English lacks"
            );
        }
    }

    #[test]
    fn plurals_follow_each_language() {
        let count = |lang, n| catalog(lang).text_with("today-count", &[("count", Arg::Num(n))]);
        assert_eq!(count(Lang::En, 1), "One contact to reach");
        assert_eq!(count(Lang::En, 3), "3 contacts to reach");
        assert_eq!(count(Lang::Ru, 1), "1 клиент ждёт контакта");
        assert_eq!(count(Lang::Ru, 3), "3 клиента ждут контакта");
        assert_eq!(count(Lang::Ru, 5), "5 клиентов ждут контакта");
        assert_eq!(count(Lang::Ru, 21), "21 клиент ждёт контакта");
        assert_eq!(count(Lang::Ar, 2), "عميلان للتواصل معهما");
        // The forms for 3 to 10 and for 11 to 99, the number isolated from the sentence.
        assert_eq!(count(Lang::Ar, 3), "\u{2068}3\u{2069} عملاء للتواصل معهم");
        assert_eq!(count(Lang::Ar, 11), "\u{2068}11\u{2069} عميلًا للتواصل معهم");
    }

    #[test]
    fn dates_and_numbers_are_written_the_readers_way() {
        let at: Timestamp = "2026-11-24T09:05:00Z".parse().expect("moment");
        let riyadh = TimeZone::get("Asia/Riyadh").expect("zone");
        let en = catalog(Lang::En).date_time(at, &riyadh);
        assert!(en.contains("Nov") && en.contains("12:05"), "{en}");
        let ru = catalog(Lang::Ru).date_time(at, &riyadh);
        assert!(ru.contains("нояб") && ru.contains("12:05"), "{ru}");
        let ar = catalog(Lang::Ar).date_time(at, &riyadh);
        // CLDR's Arabic: day before month, a 12-hour clock with its own evening mark.
        assert!(
            ar.starts_with("24") && ar.contains("2026") && ar.contains("12:05 م"),
            "{ar}"
        );
        assert!(!en.contains(":00 "), "minutes, not seconds: {en}");
        assert_eq!(catalog(Lang::En).number(12345), "12,345");
        assert_eq!(catalog(Lang::Ar).number(12345), "12,345");
        assert_eq!(catalog(Lang::Ru).number(12345), "12\u{a0}345");
    }

    #[test]
    fn the_readers_language_is_found() {
        assert_eq!(
            Lang::from_accept_language("ar-SA,ar;q=0.9,en;q=0.8"),
            Some(Lang::Ar)
        );
        assert_eq!(
            Lang::from_accept_language("de-DE, ru;q=0.5"),
            Some(Lang::Ru)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::parse("EN_gb"), Some(Lang::En));
    }
}
