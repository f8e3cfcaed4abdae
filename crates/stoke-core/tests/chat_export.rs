//! The WhatsApp chat-export parser against a corpus of exports in each format WhatsApp writes
//! (`tests/chat_exports/NAME.txt`, with the entries expected in `NAME.jsonl`), against small
//! inline cases, and against garbled input (a property test standing in for a fuzz target).

use std::path::Path;

use proptest::prelude::*;
use stoke_core::chat_export::{ChatExport, DateOrder, EntryKind, OrderBasis, author_key, parse};

fn corpus_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chat_exports")
}

/// An entry as the corpus writes it: the JSON of `stoke import whatsapp-chat --dry-run --json`
/// plus the attachment's file name when there is one.
fn render(export: &ChatExport) -> Vec<serde_json::Value> {
    let format = if export.has_seconds {
        "%Y-%m-%dT%H:%M:%S"
    } else {
        "%Y-%m-%dT%H:%M"
    };
    export
        .entries
        .iter()
        .map(|e| {
            let mut value = serde_json::json!({
                "at": e.at.strftime(format).to_string(),
                "author": e.author,
                "text": e.text,
                "kind": e.kind.as_str(),
            });
            if let EntryKind::Media {
                attachment: Some(file),
            } = &e.kind
            {
                value["attachment"] = serde_json::Value::String(file.clone());
            }
            value
        })
        .collect()
}

fn corpus(name: &str) -> ChatExport {
    let text = std::fs::read_to_string(corpus_dir().join(format!("{name}.txt"))).expect("read");
    parse(&text)
}

#[test]
fn every_corpus_file_reads_as_expected() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("corpus")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".txt").map(str::to_owned)
        })
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the corpus is missing: {names:?}");
    for name in names {
        let export = corpus(&name);
        assert!(export.problems.is_empty(), "{name}: {:?}", export.problems);
        let expected: Vec<serde_json::Value> =
            std::fs::read_to_string(corpus_dir().join(format!("{name}.jsonl")))
                .expect("expected entries")
                .lines()
                .map(|l| serde_json::from_str(l).expect("json"))
                .collect();
        let got = render(&export);
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{name}: entry {i}");
        }
        assert_eq!(got.len(), expected.len(), "{name}: {got:#?}");
    }
}

#[test]
fn the_date_order_is_decided_by_the_whole_file() {
    let table = [
        (
            "android_24h_dmy",
            DateOrder::DayMonthYear,
            OrderBasis::Values { line: 1 },
        ),
        (
            "android_12h_us",
            DateOrder::MonthDayYear,
            OrderBasis::Values { line: 1 },
        ),
        (
            "ios_dmy_seconds",
            DateOrder::DayMonthYear,
            OrderBasis::Values { line: 1 },
        ),
        (
            "iso_dates",
            DateOrder::YearMonthDay,
            OrderBasis::Values { line: 1 },
        ),
        (
            "arabic_ios",
            DateOrder::DayMonthYear,
            OrderBasis::Values { line: 1 },
        ),
        (
            "ambiguous_order",
            DateOrder::DayMonthYear,
            OrderBasis::Chronology,
        ),
        (
            "timestamp_in_text",
            DateOrder::DayMonthYear,
            OrderBasis::Values { line: 3 },
        ),
    ];
    for (name, order, basis) in table {
        let export = corpus(name);
        assert_eq!(
            (export.date_order, export.order_basis),
            (order, basis),
            "{name}"
        );
    }
    // The day above 12 is on the last line: every line before it is read by it.
    let late =
        "01/02/2024, 10:00 - A: one\n02/03/2024, 10:00 - A: two\n03/13/2024, 10:00 - A: three";
    let export = parse(late);
    assert_eq!(export.date_order, DateOrder::MonthDayYear);
    assert_eq!(export.order_basis, OrderBasis::Values { line: 3 });
    assert_eq!(export.entries[0].at.to_string(), "2024-01-02T10:00:00");

    // Month first keeps this chronological; day first would jump back from October to March.
    let us = "09/28/2024, 10:00 - A: one\n10/01/2024, 10:00 - A: two\n10/02/2024, 10:00 - A: three\n03/10/2025, 09:00 - A: four";
    let export = parse(us);
    assert_eq!(
        (export.date_order, export.order_basis),
        (DateOrder::MonthDayYear, OrderBasis::Values { line: 1 })
    );
    let us = "09/10/2024, 10:00 - A: one\n10/01/2024, 10:00 - A: two\n10/02/2024, 10:00 - A: three";
    let export = parse(us);
    assert_eq!(
        (export.date_order, export.order_basis),
        (DateOrder::MonthDayYear, OrderBasis::Chronology)
    );

    // Nothing decides: day first is assumed, and said so.
    let export = parse("05/06/2024, 10:00 - A: hi");
    assert_eq!(
        (export.date_order, export.order_basis),
        (DateOrder::DayMonthYear, OrderBasis::Assumed)
    );
    assert_eq!(export.entries[0].at.to_string(), "2024-06-05T10:00:00");
}

/// (at, author, text, kind) of each entry.
fn check(input: &str, expected: &[(&str, Option<&str>, &str, &str)]) {
    let export = parse(input);
    let got: Vec<(String, Option<String>, String, &str)> = export
        .entries
        .iter()
        .map(|e| {
            (
                e.at.to_string(),
                e.author.clone(),
                e.text.clone(),
                e.kind.as_str(),
            )
        })
        .collect();
    let want: Vec<(String, Option<String>, String, &str)> = expected
        .iter()
        .map(|(at, author, text, kind)| {
            (
                (*at).to_owned(),
                author.map(str::to_owned),
                (*text).to_owned(),
                *kind,
            )
        })
        .collect();
    assert_eq!(got, want, "{input:?}");
}

#[test]
fn localised_clocks_and_layouts() {
    // Spanish: "p. m." with a no-break space inside.
    check(
        "3/6/2018 1:55 p.\u{a0}m. - Ana: hola",
        &[("2018-06-03T13:55:00", Some("Ana"), "hola", "text")],
    );
    // Japanese: the marker comes before the time.
    check(
        "2024/01/05 午後9:05 - 佐藤: こんにちは\n2024/01/06 午前0:10 - 佐藤: はい",
        &[
            ("2024-01-05T21:05:00", Some("佐藤"), "こんにちは", "text"),
            ("2024-01-06T00:10:00", Some("佐藤"), "はい", "text"),
        ],
    );
    // Arabic long forms of the markers.
    check(
        "31/12/2023، 9:05 مساءً - علي: مرحبا\n1/1/2024، 7:00 صباحًا - علي: صباح الخير",
        &[
            ("2023-12-31T21:05:00", Some("علي"), "مرحبا", "text"),
            ("2024-01-01T07:00:00", Some("علي"), "صباح الخير", "text"),
        ],
    );
    // Finnish "klo" with dotted times; a colon or a space after the time.
    check(
        "13.6.2018 klo 21.25.15 - a: m",
        &[("2018-06-13T21:25:15", Some("a"), "m", "text")],
    );
    check(
        "13.06.18 21.25.15: a: m",
        &[("2018-06-13T21:25:15", Some("a"), "m", "text")],
    );
    check(
        "13. 6. 2018. 21:25:15 a: m",
        &[("2018-06-13T21:25:15", Some("a"), "m", "text")],
    );
    // Windows line endings and a byte-order mark.
    check(
        "\u{feff}31/12/2023, 21:05 - Ann: one\r\ntwo\r\n01/01/2024, 00:00 - Bob: three\r\n",
        &[
            ("2023-12-31T21:05:00", Some("Ann"), "one\ntwo", "text"),
            ("2024-01-01T00:00:00", Some("Bob"), "three", "text"),
        ],
    );
    // An empty message keeps its author; newer exports mark unsaved names with "~".
    check(
        "03/02/17, 18:42 - Luke: \n03/02/17, 18:43 - ~\u{202f}Leia: hi",
        &[
            ("2017-02-03T18:42:00", Some("Luke"), "", "text"),
            ("2017-02-03T18:43:00", Some("Leia"), "hi", "text"),
        ],
    );
}

#[test]
fn lines_that_cannot_be_read_are_reported_and_the_rest_is_kept() {
    let input = "Saved from my old phone\nsee below\n\n\
                 31/12/2023, 21:05 - Ann: hello\n\
                 31/02/2024, 10:00 - Bob: a message on a day that does not exist\n\
                 and its second line\n\
                 01/03/2024, 25:61 - Ann: an hour that does not exist\n\
                 02/03/2024, 09:00 - Ann: still here";
    let export = parse(input);
    let problems: Vec<String> = export.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("lines 1-2: not part of a message"));
    assert!(
        problems[1].starts_with("lines 5-6: 31/02/2024 is not a date read as day/month/year"),
        "{problems:?}"
    );
    assert!(
        problems[2].starts_with("line 7: 25:61 is not a time of day"),
        "{problems:?}"
    );
    let texts: Vec<&str> = export.entries.iter().map(|e| e.text.as_str()).collect();
    assert_eq!(texts, vec!["hello", "still here"]);

    // An authorless line with an impossible date is text of the message before it.
    check(
        "31/12/2023, 21:05 - Ann: the dates we said:\n31/02/2024, 10:00 - no such day",
        &[(
            "2023-12-31T21:05:00",
            Some("Ann"),
            "the dates we said:\n31/02/2024, 10:00 - no such day",
            "text",
        )],
    );
    // Not a chat at all: nothing is invented.
    let export = parse("Name,Phone\nAnn,+971501234567\n");
    assert!(export.entries.is_empty());
    assert_eq!(export.problems.len(), 1);
    assert!(parse("").entries.is_empty() && parse("").problems.is_empty());
}

#[test]
fn a_line_of_another_layout_is_text() {
    // iOS-looking and space-separated lines inside an Android export are part of a message.
    check(
        "31/12/2023, 21:05 - Ann: forwarding this:\n[31/12/2023, 20:00:00] Bob: old news\n31/12/2023 20:01 Bob: more\n31/12/2023, 21:06 - Ann: done",
        &[
            (
                "2023-12-31T21:05:00",
                Some("Ann"),
                "forwarding this:\n[31/12/2023, 20:00:00] Bob: old news\n31/12/2023 20:01 Bob: more",
                "text",
            ),
            ("2023-12-31T21:06:00", Some("Ann"), "done", "text"),
        ],
    );
    // An authored line out of chronological order stays a message (delayed delivery).
    check(
        "31/12/2023, 21:05 - Ann: one\n31/12/2023, 21:04 - Bob: two\n31/12/2023, 21:06 - Ann: three",
        &[
            ("2023-12-31T21:05:00", Some("Ann"), "one", "text"),
            ("2023-12-31T21:04:00", Some("Bob"), "two", "text"),
            ("2023-12-31T21:06:00", Some("Ann"), "three", "text"),
        ],
    );
}

#[test]
fn captions_names_and_kinds() {
    let export = corpus("android_24h_dmy");
    let media: Vec<(&str, &str)> = export
        .entries
        .iter()
        .filter(|e| matches!(e.kind, EntryKind::Media { .. }))
        .map(|e| (e.text.lines().next().unwrap_or(""), e.caption()))
        .collect();
    assert_eq!(
        media,
        vec![
            ("<Media omitted>", ""),
            (
                "IMG-20240102-WA0003.jpg (file attached)",
                "Like this one but in dark grey"
            ),
        ]
    );
    assert_eq!(
        author_key("\u{202a}+971\u{a0}50 123  4567\u{202c}"),
        author_key("+971 50 123 4567")
    );
    assert_eq!(author_key("Sara STOKE Home"), author_key("sara stoke home"));
    // Group names with a colon in quotes are system lines, not authors.
    check(
        "15/02/2024, 09:00 - Ann changed the subject from \"Sale: March\" to \"Sale: April\"",
        &[(
            "2024-02-15T09:00:00",
            None,
            "Ann changed the subject from \"Sale: March\" to \"Sale: April\"",
            "system",
        )],
    );
}

/// Lines from real layouts, for garbling.
const PIECES: &[&str] = &[
    "31/12/2023, 21:05 - Ann: hello",
    "[31.12.23, 21:05:33] Ann: \u{200e}image omitted",
    "12/31/23, 9:05\u{202f}PM - Bob: hi",
    "٣١/١٢/٢٠٢٣، ٩:٠٥ م - \u{200f}محمد: مرحبا",
    "2023-12-31, 21:05 - Messages and calls are end-to-end encrypted.",
    "01/01/2024, 00:00 - Bob: <attached: x.jpg>",
    "13.06.18 21.25.15: a: m",
    "13. 6. 2018. 21:25:15 a: m",
    "2024/01/05 午後9:05 - 佐藤: こんにちは",
    "31/02/2024, 10:00 - Bob: no such day",
    "continuation text",
    "",
    "\u{200e}[",
    "99/99/9999, 99:99 - :",
];

fn garbled_line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9/.,:\\[\\] \u{202f}\u{200e}APMapm٠-٩ص-]{0,40}",
        (
            proptest::sample::select(PIECES),
            any::<usize>(),
            any::<String>()
        )
            .prop_map(|(piece, at, junk)| {
                // Cut the line at a character boundary and splice junk in.
                let cut = piece
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([piece.len()])
                    .nth(at % (piece.chars().count() + 1))
                    .unwrap_or(0);
                format!("{}{}{}", &piece[..cut], junk, &piece[cut..])
            }),
        proptest::sample::select(PIECES).prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Garbled exports never panic, and every line is in a message or in a problem.
    #[test]
    fn every_line_is_read_or_reported(
        lines in proptest::collection::vec(garbled_line(), 0..30),
        crlf in any::<bool>(),
    ) {
        let text = lines.join(if crlf { "\r\n" } else { "\n" });
        let export = parse(&text);
        let total = text.trim_start_matches('\u{feff}').split('\n').count();
        let mut covered = vec![false; total + 1];
        let mut last_end = 0;
        for e in &export.entries {
            prop_assert!(e.line > last_end && e.line <= e.last_line && e.last_line <= total);
            last_end = e.last_line;
            covered[e.line..=e.last_line].iter_mut().for_each(|c| *c = true);
        }
        for p in &export.problems {
            prop_assert!(p.line >= 1 && p.line <= p.last_line && p.last_line <= total);
            covered[p.line..=p.last_line].iter_mut().for_each(|c| *c = true);
        }
        for (i, line) in text.trim_start_matches('\u{feff}').split('\n').enumerate() {
            let blank = line.chars().all(|c| c.is_whitespace() || matches!(c,
                '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'));
            prop_assert!(covered[i + 1] || blank, "line {} {:?} is neither read nor reported", i + 1, line);
        }
    }
}
