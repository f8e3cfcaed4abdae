//! WhatsApp's "Export chat" text files, read into entries: when, who, what.
//!
//! Exports exist so that new teams can bring years of customer history in on day one, and every
//! phone and locale writes them differently. The grammar this module reads:
//!
//! ```text
//! line    = [marks] header body
//! header  = "[" date sep time [meridiem] "]"          iOS:     [31.12.23, 21:05:33] Name: text
//!         | date sep time [meridiem] ("-" | ":" | " ")  Android: 31/12/2023, 21:05 - Name: text
//! date    = n "/" n "/" n  |  n "." n "." n ["."]  |  n "-" n "-" n     (any order of d, m, y)
//! sep     = "," | "،" | spaces | "klo"
//! time    = h ":" mm [":" ss]  |  h "." mm ["." ss]
//! body    = Name ": " text  |  system text
//! ```
//!
//! Digits may be Arabic-Indic; direction marks (U+200E, U+200F, U+061C, U+202A-U+202E,
//! U+2066-U+2069) are skipped anywhere in a header and removed from names and text; no-break
//! spaces (U+00A0, U+202F) count as spaces. Meridiem markers: AM/PM in any case and dotting
//! (`p. m.`), `ص`/`م` and their long forms, and `午前`/`午後`, `오전`/`오후`, `上午`/`下午` (also
//! before the time).
//!
//! Decisions are taken over the whole file, never line by line:
//! - The **layout** (bracketed, dash, colon or space after the time) is the one most
//!   header-shaped lines have; a line of another layout is text of the message before it.
//! - The **date order** is the one of the six under which the fewest headers are impossible
//!   dates (a day field above 12 or a four-digit year decides it; a two-digit year is only ever
//!   the last field, as in every locale that writes one), then the one under which the
//!   dates go back in time least often (exports are chronological), then day/month/year (or
//!   year/month/day when the year comes first), which [`OrderBasis::Assumed`] reports.
//! - A header-shaped line that names no author and breaks the file's chronology
//!   (`12/03/2024, 09:30 - 11:00 suits me` inside a message) is text of the message before it,
//!   and so is one whose date is impossible. An authored line out of order stays a message:
//!   delayed delivery does that.
//!
//! Kinds: a body without `Name: ` is a system line. After a name, a known media placeholder
//! (`<Media omitted>`, `image omitted`, `<attached: FILE>`, `FILE (file attached)` and their
//! Russian and Arabic forms) is media; a known system text (deleted message, encryption notice,
//! missed call) is a system line without author, and so is, in the bracketed layout, a text
//! WhatsApp starts with a left-to-right mark: iOS writes every system line as if the chat's
//! name had sent it. The placeholder lists are in this file; forms not listed read as text.
//!
//! Any other line is a continuation of the message before it. Nothing here panics on input:
//! what cannot be read is returned as a [`ChatProblem`] with its lines, and the rest is kept.

use std::fmt;

use jiff::civil::{Date, DateTime, Time};

/// A parsed export: its entries in file order, what could not be read, and how dates were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatExport {
    pub entries: Vec<ChatEntry>,
    pub problems: Vec<ChatProblem>,
    pub date_order: DateOrder,
    pub order_basis: OrderBasis,
    /// Whether the headers carry seconds (iOS does, Android does not).
    pub has_seconds: bool,
}

/// One message or system line of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEntry {
    /// The line its header is on (1-based).
    pub line: usize,
    /// Its last line, continuation lines included.
    pub last_line: usize,
    /// The local time the export shows; its zone is not in the file.
    pub at: DateTime,
    /// Who wrote it; `None` for system lines.
    pub author: Option<String>,
    /// What was written, direction marks removed, lines joined with `\n`.
    pub text: String,
    pub kind: EntryKind,
}

impl ChatEntry {
    /// The words sent with a media placeholder (the lines after it); empty for other kinds.
    pub fn caption(&self) -> &str {
        match self.kind {
            EntryKind::Media { .. } => self.text.split_once('\n').map_or("", |(_, c)| c.trim()),
            _ => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Text,
    /// Written by WhatsApp: encryption notices, joins, deleted messages, missed calls.
    System,
    /// A placeholder for an image, video, document or voice note, with the attachment's file
    /// name when the export names it.
    Media {
        attachment: Option<String>,
    },
}

impl EntryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Text => "text",
            EntryKind::System => "system",
            EntryKind::Media { .. } => "media",
        }
    }
}

/// Lines that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatProblem {
    pub line: usize,
    pub last_line: usize,
    pub reason: String,
}

impl fmt::Display for ChatProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.last_line > self.line {
            write!(f, "lines {}-{}: {}", self.line, self.last_line, self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// The order of the three numbers of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    DayMonthYear,
    MonthDayYear,
    YearMonthDay,
    YearDayMonth,
    MonthYearDay,
    DayYearMonth,
}

/// In order of preference when nothing in the file decides.
const ORDERS: [DateOrder; 6] = [
    DateOrder::DayMonthYear,
    DateOrder::MonthDayYear,
    DateOrder::YearMonthDay,
    DateOrder::YearDayMonth,
    DateOrder::MonthYearDay,
    DateOrder::DayYearMonth,
];

impl DateOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            DateOrder::DayMonthYear => "day/month/year",
            DateOrder::MonthDayYear => "month/day/year",
            DateOrder::YearMonthDay => "year/month/day",
            DateOrder::YearDayMonth => "year/day/month",
            DateOrder::MonthYearDay => "month/year/day",
            DateOrder::DayYearMonth => "day/year/month",
        }
    }

    /// Positions of (day, month, year) among the three fields.
    fn positions(self) -> (usize, usize, usize) {
        match self {
            DateOrder::DayMonthYear => (0, 1, 2),
            DateOrder::MonthDayYear => (1, 0, 2),
            DateOrder::YearMonthDay => (2, 1, 0),
            DateOrder::YearDayMonth => (1, 2, 0),
            DateOrder::MonthYearDay => (2, 0, 1),
            DateOrder::DayYearMonth => (0, 2, 1),
        }
    }

    /// The same order with day and month exchanged.
    fn swapped(self) -> DateOrder {
        match self {
            DateOrder::DayMonthYear => DateOrder::MonthDayYear,
            DateOrder::MonthDayYear => DateOrder::DayMonthYear,
            DateOrder::YearMonthDay => DateOrder::YearDayMonth,
            DateOrder::YearDayMonth => DateOrder::YearMonthDay,
            DateOrder::MonthYearDay => DateOrder::DayYearMonth,
            DateOrder::DayYearMonth => DateOrder::MonthYearDay,
        }
    }

    fn date(self, fields: &[Field; 3]) -> Option<Date> {
        let (d, m, y) = self.positions();
        let (day, month, year) = (fields[d], fields[m], fields[y]);
        if day.digits > 2 || month.digits > 2 {
            return None;
        }
        // Two-digit years are this century's (WhatsApp is younger than 2000) and come last:
        // the locales that put the year first write it with four digits.
        let year = match year.digits {
            2 if y == 2 => 2000 + year.value,
            4 => year.value,
            _ => return None,
        };
        let (year, month, day) = (
            i16::try_from(year).ok()?,
            i8::try_from(month.value).ok()?,
            i8::try_from(day.value).ok()?,
        );
        Date::new(year, month, day).ok()
    }
}

/// Why the date order is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBasis {
    /// Other orders make dates impossible; this line is the first that rules out the order
    /// with day and month exchanged (a day above 12).
    Values { line: usize },
    /// Only this order keeps the dates in chronological order (or least out of it).
    Chronology,
    /// Nothing in the file decides: the preferred order was taken.
    Assumed,
}

/// Reads a whole export. Never fails: unreadable lines are in `problems`.
pub fn parse(text: &str) -> ChatExport {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();

    // Every line that looks like a header, then only those of the file's layout.
    let mut heads: Vec<Option<Header<'_>>> = lines.iter().map(|l| scan_header(l)).collect();
    let layout = dominant_layout(&heads);
    for head in &mut heads {
        if head.as_ref().is_some_and(|h| Some(h.layout) != layout) {
            *head = None;
        }
    }

    let fields: Vec<(usize, [Field; 3])> = heads
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.as_ref().map(|h| (i, h.fields)))
        .collect();
    let (date_order, order_basis) = choose_order(&fields);

    // When each header says it was written, and who it names.
    let stamps: Vec<Option<Result<DateTime, String>>> = heads
        .iter()
        .map(|h| h.as_ref().map(|h| h.datetime(date_order)))
        .collect();
    let authors: Vec<Option<String>> = heads
        .iter()
        .map(|h| {
            h.as_ref()
                .and_then(|h| split_author(h.body))
                .map(|(a, _)| a)
        })
        .collect();
    demote_out_of_order(&mut heads, &stamps, &authors);

    let has_seconds = heads.iter().flatten().any(|h| h.second.is_some());
    let mut export = ChatExport {
        entries: Vec::new(),
        problems: Vec::new(),
        date_order,
        order_basis,
        has_seconds,
    };

    let mut open: Option<Pending<'_>> = None;
    let mut stray: Option<(usize, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        let number = i + 1;
        if let (Some(head), Some(stamp)) = (&heads[i], &stamps[i]) {
            if let Some(p) = open.take() {
                finish(p, &mut export);
            }
            open = Some(Pending {
                line: number,
                last_line: number,
                at: stamp.clone(),
                layout: head.layout,
                body: vec![head.body],
            });
            continue;
        }
        match &mut open {
            Some(p) => {
                p.body.push(line);
                p.last_line = number;
            }
            None if is_blank(line) => {}
            None => {
                let run = stray.get_or_insert((number, number));
                run.1 = number;
            }
        }
    }
    if let Some(p) = open.take() {
        finish(p, &mut export);
    }
    if let Some((first, last)) = stray {
        export.problems.insert(
            0,
            ChatProblem {
                line: first,
                last_line: last,
                reason: "not part of a message: in an export every message starts with its date \
                         and time (31/12/2023, 21:05 - Name: text)"
                    .into(),
            },
        );
    }
    export
}

/// Compares author names as a person would: direction marks, spacing and case do not count.
pub fn author_key(name: &str) -> String {
    clean_author(name).to_lowercase()
}

fn is_blank(line: &str) -> bool {
    line.chars()
        .all(|c| c.is_whitespace() || is_mark(c) || is_gap(c))
}

/// Invisible direction marks WhatsApp puts around names, numbers and system text.
fn is_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Spaces, including the no-break spaces WhatsApp writes before AM/PM.
fn is_gap(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{202F}' | '\u{2007}' | '\u{2009}'
    )
}

fn digit(c: char) -> Option<u32> {
    let base = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{0966}'..='\u{096F}' => '\u{0966}',
        _ => return None,
    };
    Some(c as u32 - base as u32)
}

fn strip_marks(s: &str) -> String {
    s.chars().filter(|c| !is_mark(*c)).collect()
}

fn clean_author(raw: &str) -> String {
    let spaced: String = raw
        .chars()
        .filter(|c| !is_mark(*c))
        .map(|c| if is_gap(c) { ' ' } else { c })
        .collect();
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let joined = words.join(" ");
    // Newer exports show people not in the address book as "~ Name".
    match joined.strip_prefix('~') {
        Some(rest) => rest.trim().to_owned(),
        None => joined,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Field {
    value: u32,
    digits: usize,
}

/// What comes after the time: the file's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Bracket,
    Dash,
    Colon,
    Space,
}

/// Layouts in order of preference when two are equally common.
const LAYOUTS: [Layout; 4] = [Layout::Bracket, Layout::Dash, Layout::Colon, Layout::Space];

#[derive(Debug, Clone)]
struct Header<'a> {
    fields: [Field; 3],
    date_text: String,
    hour: u32,
    minute: u32,
    second: Option<u32>,
    pm: Option<bool>,
    layout: Layout,
    body: &'a str,
}

impl Header<'_> {
    fn datetime(&self, order: DateOrder) -> Result<DateTime, String> {
        let date = order.date(&self.fields).ok_or_else(|| {
            format!(
                "{} is not a date read as {}; message skipped",
                self.date_text,
                order.as_str()
            )
        })?;
        let hour = match self.pm {
            Some(false) if self.hour == 12 => 0,
            Some(true) if self.hour < 12 => self.hour + 12,
            _ => self.hour,
        };
        let time = i8::try_from(hour)
            .ok()
            .zip(i8::try_from(self.minute).ok())
            .zip(i8::try_from(self.second.unwrap_or(0)).ok())
            .and_then(|((h, m), s)| Time::new(h, m, s, 0).ok())
            .ok_or_else(|| {
                format!(
                    "{:02}:{:02} is not a time of day; message skipped",
                    self.hour, self.minute
                )
            })?;
        Ok(date.to_datetime(time))
    }
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_marks(&mut self) {
        while self.peek().is_some_and(is_mark) {
            self.bump();
        }
    }

    /// Skips spaces and marks; returns how many spaces.
    fn skip_gaps(&mut self) -> usize {
        let mut spaces = 0;
        while let Some(c) = self.peek() {
            if is_gap(c) {
                spaces += 1;
            } else if !is_mark(c) {
                break;
            }
            self.bump();
        }
        spaces
    }

    fn eat(&mut self, want: char) -> bool {
        self.skip_marks();
        if self.peek() == Some(want) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_any(&mut self, choices: &[char]) -> Option<char> {
        self.skip_marks();
        let c = self.peek().filter(|c| choices.contains(c))?;
        self.bump();
        Some(c)
    }

    fn number(&mut self, max_digits: usize) -> Option<Field> {
        self.skip_marks();
        let (mut value, mut digits) = (0u32, 0usize);
        while let Some(d) = self.peek().and_then(digit) {
            if digits == max_digits {
                return None;
            }
            value = value * 10 + d;
            digits += 1;
            self.bump();
        }
        (digits > 0).then_some(Field { value, digits })
    }

    /// A word from `words` (longest first), not followed by a letter.
    fn word(&mut self, words: &[(&str, bool)]) -> Option<bool> {
        self.skip_marks();
        let rest = &self.s[self.pos..];
        for (word, pm) in words {
            if let Some(after) = rest.strip_prefix(word)
                && !after.chars().next().is_some_and(char::is_alphabetic)
            {
                self.pos += word.len();
                return Some(*pm);
            }
        }
        None
    }

    /// `AM`, `pm`, `a.m.`, `p. m.` and the like.
    fn latin_meridiem(&mut self) -> Option<bool> {
        let start = self.pos;
        let pm = match self.bump() {
            Some('a' | 'A') => false,
            Some('p' | 'P') => true,
            _ => {
                self.pos = start;
                return None;
            }
        };
        self.eat('.');
        self.skip_gaps();
        if !matches!(self.bump(), Some('m' | 'M')) {
            self.pos = start;
            return None;
        }
        self.eat('.');
        if self.peek().is_some_and(char::is_alphanumeric) {
            self.pos = start;
            return None;
        }
        Some(pm)
    }
}

/// Markers written before the hour.
const PREFIX_MERIDIEMS: &[(&str, bool)] = &[
    ("午前", false),
    ("午後", true),
    ("오전", false),
    ("오후", true),
    ("上午", false),
    ("下午", true),
];

/// Markers written after the time, other than the Latin AM/PM. Longest first.
const SUFFIX_MERIDIEMS: &[(&str, bool)] = &[
    ("صباحًا", false),
    ("صباحا", false),
    ("مساءً", true),
    ("مساءا", true),
    ("مساء", true),
    ("ص", false),
    ("م", true),
    ("午前", false),
    ("午後", true),
    ("上午", false),
    ("下午", true),
    ("vorm.", false),
    ("nachm.", true),
];

/// Reads a line's header, if it has the shape of one.
fn scan_header(line: &str) -> Option<Header<'_>> {
    let mut c = Cursor { s: line, pos: 0 };
    let bracket = c.eat('[');
    let date_start = {
        c.skip_marks();
        c.pos
    };
    let a = c.number(4)?;
    let sep = c.eat_any(&['/', '.', '-'])?;
    c.skip_gaps();
    let b = c.number(4)?;
    if !c.eat(sep) {
        return None;
    }
    c.skip_gaps();
    let d = c.number(4)?;
    if sep == '.' {
        c.eat('.');
    }
    let date_text = strip_marks(&line[date_start..c.pos]);

    let comma = c.eat_any(&[',', '،']).is_some();
    let spaces = c.skip_gaps();
    if !comma && spaces == 0 {
        return None;
    }
    if c.s[c.pos..].starts_with("klo ") {
        c.pos += 3;
        c.skip_gaps();
    }
    let mut pm = c.word(PREFIX_MERIDIEMS);
    if pm.is_some() {
        c.skip_gaps();
    }
    let hour = c.number(2)?;
    let time_sep = c.eat_any(&[':', '.'])?;
    let minute = c.number(2).filter(|m| m.digits == 2)?;
    let mut second = None;
    let before_seconds = c.pos;
    if c.eat(time_sep) {
        match c.number(2).filter(|s| s.digits == 2) {
            Some(s) => second = Some(s.value),
            None => c.pos = before_seconds,
        }
    }
    let before_marker = c.pos;
    c.skip_gaps();
    match c.latin_meridiem().or_else(|| c.word(SUFFIX_MERIDIEMS)) {
        Some(marker) if pm.is_none() => pm = Some(marker),
        _ => c.pos = before_marker,
    }

    let spaces = c.skip_gaps();
    let layout = if bracket {
        if !c.eat(']') {
            return None;
        }
        Layout::Bracket
    } else if c.eat_any(&['-', '–', '—']).is_some() {
        Layout::Dash
    } else if c.peek() == Some(':') && c.s[c.pos + 1..].chars().next().is_none_or(is_gap) {
        c.bump();
        Layout::Colon
    } else if spaces > 0 && c.pos < c.s.len() {
        Layout::Space
    } else {
        return None;
    };
    c.skip_gaps();
    Some(Header {
        fields: [a, b, d],
        date_text,
        hour: hour.value,
        minute: minute.value,
        second,
        pm,
        layout,
        body: &line[c.pos..],
    })
}

fn dominant_layout(heads: &[Option<Header<'_>>]) -> Option<Layout> {
    let count = |l: Layout| heads.iter().flatten().filter(|h| h.layout == l).count();
    let mut best: Option<(Layout, usize)> = None;
    for layout in LAYOUTS {
        let n = count(layout);
        if n > 0 && best.is_none_or(|(_, m)| n > m) {
            best = Some((layout, n));
        }
    }
    best.map(|(l, _)| l)
}

/// Picks the date order from every header of the file (see the module doc).
fn choose_order(fields: &[(usize, [Field; 3])]) -> (DateOrder, OrderBasis) {
    let score = |order: DateOrder| {
        let mut invalid = 0usize;
        let mut backwards = 0usize;
        let mut last: Option<Date> = None;
        for (_, f) in fields {
            match order.date(f) {
                Some(date) => {
                    if last.is_some_and(|l| date < l) {
                        backwards += 1;
                    }
                    last = Some(date);
                }
                None => invalid += 1,
            }
        }
        (invalid, backwards)
    };
    let mut scored: Vec<(DateOrder, (usize, usize))> =
        ORDERS.iter().map(|&o| (o, score(o))).collect();
    // Stable: equal scores keep the order of preference.
    scored.sort_by_key(|(_, s)| *s);
    let (best, best_score) = scored[0];
    let (runner_up, second_score) = scored[1];
    let basis = if second_score.0 > best_score.0 {
        // Name the line that rules out the reading people confuse with this one (day and
        // month swapped), else the one that rules out the runner-up.
        let first_ruling_out = |other: DateOrder| {
            fields
                .iter()
                .find(|(_, f)| best.date(f).is_some() && other.date(f).is_none())
                .map(|(i, _)| i + 1)
        };
        let line = first_ruling_out(best.swapped())
            .or_else(|| first_ruling_out(runner_up))
            .unwrap_or(0);
        OrderBasis::Values { line }
    } else if second_score.1 > best_score.1 {
        OrderBasis::Chronology
    } else {
        OrderBasis::Assumed
    };
    (best, basis)
}

/// Turns authorless header-shaped lines that are out of the file's chronology into text. The
/// chronology is the heaviest non-decreasing subsequence of header times, an authored header
/// weighing more than all authorless ones together, so that text posing as system lines
/// cannot outvote real messages.
fn demote_out_of_order(
    heads: &mut [Option<Header<'_>>],
    stamps: &[Option<Result<DateTime, String>>],
    authors: &[Option<String>],
) {
    let timed: Vec<(usize, DateTime)> = stamps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Some(Ok(at)) => Some((i, *at)),
            _ => None,
        })
        .collect();
    let heavy = timed.len() as u64 + 1;
    let weights: Vec<u64> = timed
        .iter()
        .map(|(i, _)| if authors[*i].is_some() { heavy } else { 1 })
        .collect();
    let in_chain = heaviest_chain(&timed, &weights);
    for ((i, _), chained) in timed.iter().zip(&in_chain) {
        if !chained && authors[*i].is_none() {
            heads[*i] = None;
        }
    }
    // An authorless line with an impossible date is text too; an authored one is a broken
    // message, reported.
    for (i, stamp) in stamps.iter().enumerate() {
        if matches!(stamp, Some(Err(_))) && authors[i].is_none() {
            heads[i] = None;
        }
    }
}

/// The heaviest non-decreasing subsequence of `timed`, as a mask: a Fenwick tree of prefix
/// maxima over the ranks of the times, O(n log n).
fn heaviest_chain(timed: &[(usize, DateTime)], weights: &[u64]) -> Vec<bool> {
    let n = timed.len();
    let mut ranks: Vec<DateTime> = timed.iter().map(|(_, t)| *t).collect();
    ranks.sort_unstable();
    ranks.dedup();
    let mut tree: Vec<(u64, usize)> = vec![(0, usize::MAX); ranks.len() + 1];
    let mut total = vec![0u64; n];
    let mut previous = vec![usize::MAX; n];
    for (k, (_, at)) in timed.iter().enumerate() {
        let rank = ranks.partition_point(|t| t <= at);
        let mut best = (0u64, usize::MAX);
        let mut i = rank;
        while i > 0 {
            if tree[i].0 > best.0 {
                best = tree[i];
            }
            i &= i - 1;
        }
        total[k] = best.0 + weights[k];
        previous[k] = best.1;
        let mut i = rank;
        while i < tree.len() {
            if total[k] > tree[i].0 {
                tree[i] = (total[k], k);
            }
            i += i & i.wrapping_neg();
        }
    }
    let mut mask = vec![false; n];
    let mut at = (0..n).max_by_key(|&k| (total[k], std::cmp::Reverse(k)));
    while let Some(k) = at.filter(|&k| k < n) {
        mask[k] = true;
        at = Some(previous[k]);
    }
    mask
}

struct Pending<'a> {
    line: usize,
    last_line: usize,
    at: Result<DateTime, String>,
    layout: Layout,
    body: Vec<&'a str>,
}

fn finish(p: Pending<'_>, export: &mut ChatExport) {
    let at = match p.at {
        Ok(at) => at,
        Err(reason) => {
            export.problems.push(ChatProblem {
                line: p.line,
                last_line: p.last_line,
                reason,
            });
            return;
        }
    };
    let first = p.body[0];
    let (author, first_text) = match split_author(first) {
        Some((author, rest)) => (Some(author), rest),
        None => (None, first),
    };
    let mut text = strip_marks(first_text);
    for line in &p.body[1..] {
        text.push('\n');
        text.push_str(&strip_marks(line));
    }
    let text = without_edit_note(text.trim_end()).to_owned();
    let first_clean = text.lines().next().unwrap_or("").trim();

    let (author, kind) = match author {
        None => (None, EntryKind::System),
        Some(author) => {
            if let Some(attachment) = media(first_clean) {
                (Some(author), EntryKind::Media { attachment })
            } else if is_system_text(first_clean)
                // iOS writes system lines as if the chat's name had sent them, starting the
                // text with a left-to-right mark.
                || (p.layout == Layout::Bracket
                    && first_text.trim_start_matches(is_gap).starts_with('\u{200E}'))
            {
                (None, EntryKind::System)
            } else {
                (Some(author), EntryKind::Text)
            }
        }
    };
    export.entries.push(ChatEntry {
        line: p.line,
        last_line: p.last_line,
        at,
        author,
        text,
        kind,
    });
}

/// `Name: text` → (Name, text), when what comes before the colon can be a name.
fn split_author(body: &str) -> Option<(String, &str)> {
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != ':' {
            continue;
        }
        let next = chars.peek().map(|(_, n)| *n);
        if next.is_some_and(|n| !is_gap(n)) {
            continue;
        }
        let author = clean_author(&body[..i]);
        // A quote before the colon is a system line quoting a group name or subject.
        let quoted = author
            .chars()
            .any(|c| matches!(c, '"' | '“' | '”' | '«' | '»' | '„'));
        if author.is_empty() || quoted || author.chars().count() > 100 {
            return None;
        }
        let rest = &body[i + 1..];
        let rest = rest
            .char_indices()
            .next()
            .filter(|(_, c)| is_gap(*c))
            .map_or(rest, |(_, c)| &rest[c.len_utf8()..]);
        return Some((author, rest));
    }
    None
}

/// Notes WhatsApp appends to edited messages.
const EDIT_NOTES: &[&str] = &[
    "<This message was edited>",
    "<Сообщение изменено>",
    "<تم تعديل هذه الرسالة>",
    "<Diese Nachricht wurde bearbeitet>",
    "<Se editó este mensaje.>",
];

fn without_edit_note(text: &str) -> &str {
    for note in EDIT_NOTES {
        if let Some(rest) = text.strip_suffix(note) {
            return rest.trim_end();
        }
    }
    text
}

/// Placeholders standing for media left out of the export.
const OMITTED: &[&str] = &[
    "<media omitted>",
    "<без медиафайлов>",
    "<медиа отсутствуют>",
    "<تم استبعاد الوسائط>",
    "<medien ausgeschlossen>",
    "<multimedia omitido>",
    "<médias omis>",
    "<mídia oculta>",
    "<media omessi>",
    "<media weggelaten>",
    "<medya dahil edilmedi>",
    "<media tidak disertakan>",
    "image omitted",
    "video omitted",
    "audio omitted",
    "sticker omitted",
    "gif omitted",
    "document omitted",
    "contact card omitted",
    "изображение отсутствует",
    "видео отсутствует",
    "аудио отсутствует",
    "аудиофайл отсутствует",
    "стикер отсутствует",
    "gif отсутствует",
    "документ отсутствует",
    "тут был медиафайл",
    "تم استبعاد الصورة",
    "تم استبعاد الفيديو",
    "تم استبعاد الصوت",
    "تم استبعاد الملصق",
    "تم استبعاد المستند",
];

/// `<attached: FILE>` labels.
const ATTACHED_LABELS: &[&str] = &["attached:", "вложение:", "مرفق:", "anhang:", "adjunto:"];

/// `FILE (file attached)` labels.
const FILE_ATTACHED: &[&str] = &[
    "file attached",
    "datei angehängt",
    "файл прикреплен",
    "файл прикреплён",
    "ملف مرفق",
    "archivo adjunto",
    "fichier joint",
    "arquivo anexado",
    "file allegato",
    "dosya ekli",
    "bestand bijgevoegd",
];

/// Whether a message's first line is a media placeholder, and the file it names.
fn media(first: &str) -> Option<Option<String>> {
    let lower = first.to_lowercase();
    if OMITTED.contains(&lower.as_str()) {
        return Some(None);
    }
    let named = |file: &str| {
        let file = file.trim();
        (!file.is_empty()).then(|| file.to_owned())
    };
    // iOS: "Offer.pdf • 3 pages document omitted".
    if let Some(rest) = strip_suffix_ci(first, " document omitted") {
        return Some(named(rest.split(" • ").next().unwrap_or(rest)));
    }
    if let Some(inner) = first.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
        let inner = inner.trim();
        for label in ATTACHED_LABELS {
            if let Some(file) = strip_prefix_ci(inner, label).and_then(named) {
                return Some(Some(file));
            }
        }
    }
    if let Some(file) = strip_suffix_ci(first, "<attached>").and_then(named) {
        return Some(Some(file));
    }
    if let Some(open) = first.rfind(" (")
        && let Some(label) = first[open + 2..].strip_suffix(')')
        && FILE_ATTACHED.contains(&label.to_lowercase().as_str())
        && let Some(file) = named(&first[..open])
    {
        return Some(Some(file));
    }
    None
}

fn same_letter(a: char, b: char) -> bool {
    a.to_lowercase().eq(b.to_lowercase())
}

/// `s` without `prefix`, compared case-insensitively letter by letter (never slicing `s`
/// at an offset measured on another string).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = s.chars();
    for p in prefix.chars() {
        if !same_letter(rest.next()?, p) {
            return None;
        }
    }
    Some(rest.as_str())
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let mut rest = s.chars();
    for p in suffix.chars().rev() {
        if !same_letter(rest.next_back()?, p) {
            return None;
        }
    }
    Some(rest.as_str())
}

/// Lowercase, without Arabic vowel signs and tatweel, trailing full stop removed.
fn fold(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}'))
        .flat_map(char::to_lowercase)
        .collect();
    folded.trim().trim_end_matches('.').to_owned()
}

/// System texts that appear after a name: on iOS every system line does, on Android deleted
/// messages do. Lines without a name are system lines whatever they say.
fn is_system_text(first: &str) -> bool {
    let t = fold(first);
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| t.starts_with(p));
    let is = |texts: &[&str]| texts.contains(&t.as_str());
    (t.starts_with("messages") && t.contains("end-to-end encrypt"))
        || is(&[
            "this message was deleted",
            "you deleted this message",
            "данное сообщение удалено",
            "это сообщение удалено",
            "сообщение удалено",
            "вы удалили данное сообщение",
            "вы удалили это сообщение",
            "تم حذف هذه الرسالة",
            "لقد حذفت هذه الرسالة",
            "حذفت هذه الرسالة",
        ])
        || starts(&[
            "this message was deleted by",
            "missed voice call",
            "missed video call",
            "missed group voice call",
            "missed group video call",
            "waiting for this message",
            "your security code with",
            "you blocked this contact",
            "you unblocked this contact",
            "пропущенный аудиозвонок",
            "пропущенный видеозвонок",
            "пропущенный голосовой звонок",
            "ожидание этого сообщения",
            "مكالمة صوتية فائتة",
            "مكالمة فيديو فائتة",
            "في انتظار هذه الرسالة",
        ])
        || t.contains("changed their phone number")
        || t.contains("сквозным шифрованием")
        || (t.contains("مشفر") && t.contains("بين الطرفين"))
}
