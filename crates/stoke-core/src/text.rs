//! Text analysis for Arabic, Russian and English (SPEC 3.6): normalisation, tokens, language,
//! stems, typo tolerance and lexicon matching, and the per-message classification built on them.
//!
//! The pipeline, applied alike to lexicon entries and to messages, so that they meet halfway:
//! 1. NFKC, lower case; Arabic diacritics and tatweel removed, alef variants to ا, ى to ي, ة to ه;
//!    Russian ё to е; a letter repeated for emphasis kept twice at most.
//! 2. Tokens: runs of letters and digits.
//! 3. Typo tolerance: a token of `typo_min_length` letters or more that is not a lexicon word is
//!    replaced by the lexicon word one edit away (two from `typo_two_edits_min_length`), found
//!    through a symmetric-deletion index rather than by comparing with every word.
//! 4. Snowball stems, per language.
//! 5. Every language's lexicon is matched at once by one Aho-Corasick automaton over the stemmed
//!    token stream, with spaces as word boundaries: "how much" matches "how much is it", never
//!    "showmuch". Messages are matched against every enabled language, because customers mix them
//!    ("كم price").

use std::borrow::Cow;
use std::collections::BTreeSet;

use aho_corasick::{AhoCorasick, MatchKind};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::{FxHashMap, FxHashSet};
use unicode_normalization::UnicodeNormalization;

use crate::playbook::{INTERESTS, Playbook};

/// Normalises text for matching (step 1 above).
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // A letter typed three times or more is typed for emphasis ("شكرااا", "спасибооо",
    // "pleaseee"): two are kept, which the typo tolerance reads as the word ("cool" keeps both).
    let (mut last, mut run) = ('\0', 0);
    for c in text.nfkc().flat_map(char::to_lowercase) {
        let c = match c {
            // Arabic harakat, superscript alef, Quranic marks, and tatweel carry no meaning here.
            '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0640}' => continue,
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            'ؤ' => 'و',
            'ئ' => 'ي',
            'ё' => 'е',
            // Persian/Urdu forms typed on some keyboards.
            'ک' => 'ك',
            'ی' => 'ي',
            _ => c,
        };
        run = if c == last { run + 1 } else { 1 };
        last = c;
        if run <= 2 || !c.is_alphabetic() {
            out.push(c);
        }
    }
    out
}

/// The word tokens of normalised text.
pub fn tokens(normalised: &str) -> impl Iterator<Item = &str> {
    normalised
        .split(|c: char| !is_word_char(c))
        .filter(|t| !t.is_empty())
}

/// `char::is_alphanumeric`, answered by ranges for the letters and digits of the scripts
/// customers write most (Latin, Cyrillic, Arabic), which are all letters or digits in Unicode:
/// the general lookup is a table search for every character outside ASCII, and every
/// character of every message passes through here several times.
fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\u{7F}' => false,
        'Ѐ'..='ӿ' if !('\u{0482}'..='\u{0489}').contains(&c) => true,
        '\u{0621}'..='\u{063A}' | '\u{0641}'..='\u{064A}' | '\u{0660}'..='\u{0669}' => true,
        _ => c.is_alphanumeric(),
    }
}

/// Whether text holds emoji and nothing else but spaces and punctuation: a polite reply.
pub fn is_emoji_only(text: &str) -> bool {
    let mut emoji = false;
    for c in text.chars() {
        if is_word_char(c) {
            return false;
        }
        if is_emoji(c) {
            emoji = true;
        }
    }
    emoji
}

fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2190..=0x21FF | 0x2300..=0x23FF | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// The writing system most of the letters are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    Arabic,
    Cyrillic,
    Latin,
}

fn script_of(c: char) -> Option<Script> {
    match c as u32 {
        0x0600..=0x06FF | 0x0750..=0x077F | 0x08A0..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFF => {
            Some(Script::Arabic)
        }
        0x0400..=0x052F => Some(Script::Cyrillic),
        _ if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) => {
            Some(Script::Latin)
        }
        _ => None,
    }
}

/// The language a script is written in, for the three built-in languages.
fn script_language(script: Script) -> &'static str {
    match script {
        Script::Arabic => "ar",
        Script::Cyrillic => "ru",
        Script::Latin => "en",
    }
}

/// Detects a message's language among the playbook's, by the script of most of its letters;
/// `default` when the text has no letters or its script's language is not enabled.
pub fn detect_language<'a>(text: &str, languages: &'a [String], default: &'a str) -> &'a str {
    let mut counts = [0usize; 3];
    for c in text.chars() {
        match script_of(c) {
            Some(Script::Arabic) => counts[0] += 1,
            Some(Script::Cyrillic) => counts[1] += 1,
            Some(Script::Latin) => counts[2] += 1,
            None => {}
        }
    }
    let scripts = [Script::Arabic, Script::Cyrillic, Script::Latin];
    // Ties go to the first script in this order: an Arabic or Russian message quoting a Latin
    // product name is still Arabic or Russian.
    let best = (0..3)
        .max_by_key(|i| (counts[*i], std::cmp::Reverse(*i)))
        .filter(|i| counts[*i] > 0);
    best.and_then(|i| {
        let code = script_language(scripts[i]);
        languages
            .iter()
            .find(|l| l.as_str() == code)
            .map(String::as_str)
    })
    .unwrap_or(default)
}

fn stemmer_for(language: &str) -> Option<Stemmer> {
    let algorithm = match language {
        "ar" => Algorithm::Arabic,
        "ru" => Algorithm::Russian,
        "en" => Algorithm::English,
        "de" => Algorithm::German,
        "fr" => Algorithm::French,
        "es" => Algorithm::Spanish,
        "pt" => Algorithm::Portuguese,
        "it" => Algorithm::Italian,
        "tr" => Algorithm::Turkish,
        "nl" => Algorithm::Dutch,
        "ro" => Algorithm::Romanian,
        "sv" => Algorithm::Swedish,
        "no" => Algorithm::Norwegian,
        "da" => Algorithm::Danish,
        "fi" => Algorithm::Finnish,
        "hu" => Algorithm::Hungarian,
        "el" => Algorithm::Greek,
        "ta" => Algorithm::Tamil,
        _ => return None,
    };
    Some(Stemmer::create(algorithm))
}

// Positions in `INTERESTS`.
const DISCOUNT: usize = 0;
const NEW_PRODUCT: usize = 1;
const FUNCTION: usize = 2;
const EDUCATION: usize = 3;
const LOYAL: usize = 4;

/// Which list a lexicon entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Signal {
    IntentHigh,
    IntentMedium,
    Polite,
    Refusal,
    Negative,
    Positive,
    OptOut,
    /// An after-sales complaint or a remedy asked for: refund, return, cancel the order, broken,
    /// wrong item.
    Complaint,
    /// Index into `INTERESTS`.
    Interest(usize),
    /// A phrase whose words are not the interest they look like ("happy new year", "عرض سعر"):
    /// it only shadows the interest words inside it.
    NotInterest,
}

impl Signal {
    fn rule(self) -> &'static str {
        match self {
            Signal::IntentHigh => "intent.high",
            Signal::IntentMedium => "intent.medium",
            Signal::Polite => "intent.potential.polite",
            Signal::Refusal => "intent.none.refusal",
            Signal::Negative => "sentiment.negative",
            Signal::Positive => "sentiment.positive",
            Signal::OptOut => "opt_out",
            Signal::Complaint => "intent.none.complaint",
            Signal::Interest(DISCOUNT) => "interest.discount",
            Signal::Interest(NEW_PRODUCT) => "interest.new_product",
            Signal::Interest(FUNCTION) => "interest.function",
            Signal::Interest(EDUCATION) => "interest.education",
            Signal::Interest(_) => "interest.loyal",
            Signal::NotInterest => "not_interest",
        }
    }
}

/// Finds the lexicon word within the allowed edits of a token, through an index of every
/// word with one or two letters deleted (the symmetric-deletion method).
///
/// Every token of every message that is not a lexicon word passes through `correct`, so it
/// allocates nothing per deletion form and hashes with `rustc-hash` (short keys, no hostile
/// input: the keys are the playbook's words).
#[derive(Debug, Default)]
struct TypoIndex {
    words: FxHashSet<String>,
    /// The language's most frequent words (`common_words`): real words, not typos.
    common: FxHashSet<&'static str>,
    /// A word, or a word with letters deleted, to the words it came from.
    deletions: FxHashMap<String, Vec<u32>>,
    ordered: Vec<String>,
    one_edit_from: usize,
    two_edits_from: usize,
}

fn deletions_of(word: &[char], depth: usize, out: &mut BTreeSet<String>) {
    if depth == 0 || word.len() <= 1 {
        return;
    }
    for i in 0..word.len() {
        let mut shorter = word.to_vec();
        shorter.remove(i);
        if out.insert(shorter.iter().collect()) {
            deletions_of(&shorter, depth - 1, out);
        }
    }
}

impl TypoIndex {
    /// `known` words are left as they are; tokens are corrected into `targets` only.
    fn new(
        words: FxHashSet<String>,
        common: FxHashSet<&'static str>,
        targets: BTreeSet<String>,
        one_edit_from: usize,
        two_edits_from: usize,
    ) -> Self {
        let ordered: Vec<String> = targets.into_iter().collect();
        let mut deletions: FxHashMap<String, Vec<u32>> = FxHashMap::default();
        for (i, word) in ordered.iter().enumerate() {
            let chars: Vec<char> = word.chars().collect();
            // A word is reachable with typos only if a typo'd form could be long enough to try.
            if chars.len() + 1 < one_edit_from {
                continue;
            }
            let depth = if chars.len() + 2 >= two_edits_from {
                2
            } else {
                1
            };
            let mut forms = BTreeSet::from([word.clone()]);
            deletions_of(&chars, depth, &mut forms);
            for form in forms {
                deletions.entry(form).or_default().push(i as u32);
            }
        }
        Self {
            words,
            common,
            deletions,
            ordered,
            one_edit_from,
            two_edits_from,
        }
    }

    /// The word a token was most likely meant to be, or the token itself.
    fn correct<'a>(&'a self, token: &'a str) -> &'a str {
        let len = token.chars().count();
        if len < self.one_edit_from || self.words.contains(token) || self.common.contains(token) {
            return token;
        }
        let allowed = if len >= self.two_edits_from { 2 } else { 1 };
        let chars: Vec<char> = token.chars().collect();
        let mut best: Option<(usize, &str)> = None;
        let mut consider = |form: &str| {
            for &i in self
                .deletions
                .get(form)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let word = self.ordered[i as usize].as_str();
                let distance = strsim::osa_distance(token, word);
                // Two slips in a word are believable, two at its start are another word:
                // "полировка" is not "дозировка".
                let plausible = distance < 2 || token.chars().next() == word.chars().next();
                if distance <= allowed
                    && plausible
                    && best.is_none_or(|(d, w)| (distance, word) < (d, w))
                {
                    best = Some((distance, word));
                }
            }
        };
        // The token, and every form of it with one letter deleted, or two (positions i < j):
        // the same forms `deletions_of` indexes words by, built in one buffer.
        consider(token);
        let mut form = String::with_capacity(token.len());
        for i in 0..chars.len() {
            form.clear();
            form.extend(chars[..i].iter().chain(&chars[i + 1..]));
            consider(&form);
            if allowed == 2 {
                for j in i + 1..chars.len() {
                    form.clear();
                    form.extend(
                        chars[..i]
                            .iter()
                            .chain(&chars[i + 1..j])
                            .chain(&chars[j + 1..]),
                    );
                    consider(&form);
                }
            }
        }
        best.map_or(token, |(_, w)| w)
    }
}

/// One lexicon entry in the automaton.
#[derive(Debug)]
struct Pattern {
    signal: Signal,
    /// The entry as written, for evidence.
    entry: String,
    tokens: usize,
    /// Counts only as a clause of its own (`opt_out_alone`).
    alone: bool,
}

/// One language's compiled lexicon.
struct LanguageMatcher {
    language: String,
    stemmer: Option<Stemmer>,
    typos: TypoIndex,
    automaton: AhoCorasick,
    /// Per automaton pattern, in pattern order.
    patterns: Vec<Pattern>,
    /// Entries written `=word`, and one-word opt-outs: matched as written, never stemmed or
    /// corrected, for words the stemmer folds into others (почём and почему share a stem, as do
    /// "stop" and "stopped").
    literals: WordSequences<Pattern>,
    /// The script this language's entries are written in, when it is one Stoke tells apart.
    script: Option<Script>,
    /// Message endings that are a price question ("how much?", "почём?", "كم؟").
    ending_high: FxHashSet<String>,
    /// Normalised words that open a question (`هل`, `ли`, `does`).
    question_openers: FxHashSet<String>,
    /// Normalised words that negate a statement (`not`, `не`, `ما`).
    negations: FxHashSet<String>,
    /// Normalised word sequences that ask whether something is in stock (`есть`, `عندكم`).
    availability: WordSequences,
    /// Normalised words of questions about a place, a service or terms (`parking`, `завтрак`).
    service_words: FxHashSet<String>,
    /// Normalised word sequences that ask an amount (`сколько`, `كم`), and the words after one
    /// that make it an amount other than money (`дней`, `ساعه`).
    how_much: WordSequences,
    measures: FxHashSet<String>,
    /// Normalised word sequences that ask how to do something (`как`, `how do i`).
    how_to: WordSequences,
    /// Normalised word sequences that order when a number follows (`want`, `ابي`, `нужно`).
    order_words: WordSequences,
    /// Normalised units of time (`days`, `ايام`, `дня`).
    time_units: FxHashSet<String>,
    /// Normalised word sequences that ask for something anywhere (`please send`, `пришлите`).
    requests: WordSequences,
}

impl std::fmt::Debug for LanguageMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanguageMatcher")
            .field("language", &self.language)
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

impl LanguageMatcher {
    fn new(
        language: &str,
        lexicon: &crate::playbook::Lexicon,
        playbook: &Playbook,
    ) -> Result<Self, aho_corasick::BuildError> {
        let stemmer = stemmer_for(language);
        // (signal, entries, whether an entry counts only as a clause of its own)
        let mut lists: Vec<(Signal, &Vec<String>, bool)> = vec![
            (Signal::IntentHigh, &lexicon.intent_high, false),
            (Signal::IntentMedium, &lexicon.intent_medium, false),
            (Signal::Polite, &lexicon.polite, false),
            (Signal::Refusal, &lexicon.refusal, false),
            (Signal::Negative, &lexicon.negative, false),
            (Signal::Positive, &lexicon.positive, false),
            (Signal::OptOut, &lexicon.opt_out, false),
            (Signal::OptOut, &lexicon.opt_out_alone, true),
            (Signal::Complaint, &lexicon.complaint, false),
            (Signal::NotInterest, &lexicon.not_interests, false),
        ];
        for (i, name) in INTERESTS.iter().enumerate() {
            if let Some(words) = lexicon.interests.get(*name) {
                lists.push((Signal::Interest(i), words, false));
            }
        }
        let mut vocabulary = BTreeSet::new();
        let mut known: FxHashSet<String> = word_sequences(&lexicon.known_words).flatten().collect();
        let mut patterns = Vec::new();
        let mut pattern_texts = Vec::new();
        let mut seen = BTreeSet::new();
        let mut literals = WordSequences::default();
        for (signal, words, alone) in lists {
            for entry in words {
                let normalised = normalise(entry);
                let entry_tokens: Vec<&str> = tokens(&normalised).collect();
                if entry_tokens.is_empty() {
                    continue;
                }
                // A one-word opt-out is matched as written, like an `=` entry: its stem alone
                // would make "stopped working" an unsubscribe ("stop" and "stopped" share it).
                if entry.starts_with('=') || (signal == Signal::OptOut && entry_tokens.len() == 1) {
                    known.extend(entry_tokens.iter().map(|t| (*t).to_owned()));
                    literals.insert(
                        entry_tokens.iter().map(|t| (*t).to_owned()).collect(),
                        Pattern {
                            signal,
                            entry: entry.clone(),
                            tokens: entry_tokens.len(),
                            alone,
                        },
                    );
                    continue;
                }
                // Every entry word is known (never "corrected" into another); typos are never
                // corrected into an opt-out: unsubscribing someone by a guess is worse than
                // missing a misspelt "stop".
                known.extend(entry_tokens.iter().map(|t| (*t).to_owned()));
                if signal != Signal::OptOut {
                    vocabulary.extend(entry_tokens.iter().map(|t| (*t).to_owned()));
                }
                let stems: Vec<String> = entry_tokens
                    .iter()
                    .map(|t| stem(stemmer.as_ref(), t))
                    .collect();
                let text = format!(" {} ", stems.join(" "));
                if seen.insert((signal, text.clone())) {
                    pattern_texts.push(text);
                    patterns.push(Pattern {
                        signal,
                        entry: entry.clone(),
                        tokens: entry_tokens.len(),
                        alone,
                    });
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&pattern_texts)?;
        let typos = TypoIndex::new(
            known,
            common_words(language)
                .lines()
                .take(playbook.text.typo_common_words)
                .collect(),
            vocabulary,
            playbook.text.typo_min_length,
            playbook.text.typo_two_edits_min_length,
        );
        let question_openers = lexicon
            .question
            .iter()
            .map(|w| normalise(w.trim()))
            .collect();
        let negations = word_sequences(&lexicon.negation).flatten().collect();
        let service_words = word_sequences(&lexicon.service_words).flatten().collect();
        let availability = WordSequences::new(&lexicon.availability);
        let how_much = WordSequences::new(&lexicon.how_much);
        let measures = word_sequences(&lexicon.measures).flatten().collect();
        let how_to = WordSequences::new(&lexicon.how_to);
        let order_words = WordSequences::new(&lexicon.order_words);
        let time_units = word_sequences(&lexicon.time_units).flatten().collect();
        let requests = WordSequences::new(&lexicon.requests);
        let ending_high = lexicon
            .intent_high_ending
            .iter()
            .map(|w| tokens(&normalise(w)).collect::<Vec<_>>().join(" "))
            .filter(|w| !w.is_empty())
            .collect();
        let script = match language {
            "ar" | "fa" | "ur" => Some(Script::Arabic),
            "ru" | "uk" | "bg" | "sr" | "kk" => Some(Script::Cyrillic),
            _ if stemmer.is_some() && !matches!(language, "el" | "ta") => Some(Script::Latin),
            _ => None,
        };
        Ok(Self {
            language: language.to_owned(),
            script,
            stemmer,
            typos,
            automaton,
            patterns,
            literals,
            ending_high,
            question_openers,
            negations,
            availability,
            service_words,
            how_much,
            measures,
            how_to,
            order_words,
            time_units,
            requests,
        })
    }

    /// Every lexicon entry found in the message's tokens.
    fn find<'a>(&'a self, message_tokens: &[&str], out: &mut Vec<Found<'a>>) {
        let mut stream = String::with_capacity(message_tokens.len() * 8 + 2);
        let mut starts = Vec::with_capacity(message_tokens.len());
        stream.push(' ');
        for token in message_tokens {
            starts.push(stream.len());
            // A word in another script cannot match this language's entries: it keeps its
            // place (so phrases do not join across it) without the cost of typo search and
            // stemming. Other languages' matchers see it.
            let foreign = match (self.script, token.chars().find_map(script_of)) {
                (Some(mine), Some(theirs)) => mine != theirs,
                _ => false,
            };
            if foreign {
                stream.push('\u{1}');
            } else {
                let corrected = self.typos.correct(token);
                stream.push_str(&stem(self.stemmer.as_ref(), corrected));
            }
            stream.push(' ');
        }
        for m in self.automaton.find_overlapping_iter(&stream) {
            let pattern = &self.patterns[m.pattern().as_usize()];
            // The pattern starts with a space; its first token starts one byte later, and it
            // ends with the space before the next token.
            let start = starts.partition_point(|s| *s <= m.start());
            out.push(Found {
                signal: pattern.signal,
                entry: Cow::Borrowed(&pattern.entry),
                tokens: pattern.tokens,
                start,
                end: starts.partition_point(|s| *s < m.end()),
                ending: false,
                alone: pattern.alone,
            });
        }
        for start in 0..message_tokens.len() {
            for (words, pattern) in self.literals.at(message_tokens, start) {
                out.push(Found {
                    signal: pattern.signal,
                    entry: Cow::Borrowed(&pattern.entry),
                    tokens: pattern.tokens,
                    start,
                    end: start + words.len(),
                    ending: false,
                    alone: pattern.alone,
                });
            }
        }
        // Endings of up to four words: "thanks, how much?" ends with "how much".
        for take in 1..=message_tokens.len().min(4) {
            let ending = message_tokens[message_tokens.len() - take..].join(" ");
            if self.ending_high.contains(&ending) {
                out.push(Found {
                    signal: Signal::IntentHigh,
                    entry: Cow::Owned(ending),
                    tokens: take,
                    start: message_tokens.len() - take,
                    end: message_tokens.len(),
                    ending: true,
                    alone: false,
                });
            }
        }
    }
}

/// A built-in language's most frequent words of four letters or more, most frequent first,
/// already normalised (`scripts/common-words` writes them from wordfreq; see
/// `playbook/common-words/README.md`).
fn common_words(language: &str) -> &'static str {
    match language {
        "en" => include_str!("../playbook/common-words/en.txt"),
        "ru" => include_str!("../playbook/common-words/ru.txt"),
        "ar" => include_str!("../playbook/common-words/ar.txt"),
        _ => "",
    }
}

fn stem(stemmer: Option<&Stemmer>, token: &str) -> String {
    match stemmer {
        Some(s) => s.stem(token).into_owned(),
        None => token.to_owned(),
    }
}

/// Each entry of a word list as its normalised tokens (an entry with none is left out).
fn word_sequences(list: &[String]) -> impl Iterator<Item = Vec<String>> + '_ {
    list.iter()
        .map(|w| tokens(&normalise(w)).map(str::to_owned).collect::<Vec<_>>())
        .filter(|w| !w.is_empty())
}

/// Word sequences indexed by their first word, each with what it stands for (nothing for the
/// rule lists `how_much`, `availability`, ...; the pattern for literal entries), so that finding
/// them in a message costs a hash lookup per token instead of a comparison per entry.
#[derive(Debug)]
struct WordSequences<T = ()> {
    by_first_word: FxHashMap<String, Vec<(Vec<String>, T)>>,
}

impl<T> Default for WordSequences<T> {
    fn default() -> Self {
        Self {
            by_first_word: FxHashMap::default(),
        }
    }
}

impl WordSequences {
    /// A rule list: each entry normalised into its words.
    fn new(list: &[String]) -> Self {
        let mut sequences = Self::default();
        for words in word_sequences(list) {
            sequences.insert(words, ());
        }
        sequences
    }

    /// Whether the list holds this one-word entry.
    fn has_word(&self, word: &str) -> bool {
        self.by_first_word
            .get(word)
            .is_some_and(|entries| entries.iter().any(|(w, ())| w.len() == 1))
    }
}

impl<T> WordSequences<T> {
    /// Adds a sequence (never empty) and what it stands for.
    fn insert(&mut self, words: Vec<String>, value: T) {
        self.by_first_word
            .entry(words[0].clone())
            .or_default()
            .push((words, value));
    }

    /// The entries that the message's tokens hold from `start`, in the order they were added.
    fn at<'s>(
        &'s self,
        message_tokens: &[&str],
        start: usize,
    ) -> impl Iterator<Item = (&'s [String], &'s T)> {
        let rest = message_tokens.get(start..).unwrap_or_default();
        rest.first()
            .and_then(|first| self.by_first_word.get(*first))
            .into_iter()
            .flatten()
            .filter(move |(words, _)| {
                words.len() <= rest.len() && words.iter().zip(rest).all(|(w, t)| w == t)
            })
            .map(|(words, value)| (words.as_slice(), value))
    }
}

/// A lexicon entry found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found<'a> {
    signal: Signal,
    /// The lexicon entry as written (borrowed from the analyzer), or the ending found.
    entry: Cow<'a, str>,
    tokens: usize,
    /// The message tokens it covers, `start..end`.
    start: usize,
    end: usize,
    /// Found as a message ending (`intent_high_ending`), not as an entry.
    ending: bool,
    /// Counts only as a clause of its own (`Pattern::alone`).
    alone: bool,
}

impl Found<'_> {
    /// Whether `other` covers this entry's words and more: "wrong size" covers "size", "cancel
    /// my order" covers "order", "been buying from you" covers "buy".
    fn inside(&self, other: &Found<'_>) -> bool {
        other.start <= self.start
            && self.end <= other.end
            && other.end - other.start > self.end - self.start
    }
}

/// The clause each token of normalised text is in: a clause ends at sentence punctuation, a
/// comma or an emoji, so that "not what I ordered. refund" and "got a broken one, want to buy
/// another" are two clauses each.
fn clauses(normalised: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut clause, mut in_token, mut boundary) = (0, false, false);
    for c in normalised.chars() {
        if is_word_char(c) {
            if !in_token {
                if boundary && !out.is_empty() {
                    clause += 1;
                }
                boundary = false;
                out.push(clause);
                in_token = true;
            }
        } else {
            in_token = false;
            if matches!(
                c,
                '.' | ',' | '!' | '?' | ';' | '\n' | '،' | '؟' | '؛' | '…'
            ) || is_emoji(c)
            {
                boundary = true;
            }
        }
    }
    out
}

/// The purchase-intent tiers (SPEC 3.2), highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntentTier {
    High,
    Medium,
    Potential,
    None,
}

impl IntentTier {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentTier::High => "high",
            IntentTier::Medium => "medium",
            IntentTier::Potential => "potential",
            IntentTier::None => "none",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }
}

/// A rule that fired and the words that made it fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub rule: &'static str,
    pub matched: String,
}

/// What one message says about its writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub language: String,
    pub intent: IntentTier,
    /// Interest names from `playbook::INTERESTS`, in that order.
    pub interests: Vec<&'static str>,
    pub sentiment: Sentiment,
    pub opt_out: bool,
    pub evidence: Vec<Evidence>,
}

/// A single-word opt-out ("stop") or refusal ("no") counts only in a message this short, so
/// that "non-stop flight" or "does it not leak?" is neither; longer entries ("remove me from
/// your list", "not interested") count anywhere.
const SHORT_REPLY_TOKENS: usize = 3;

/// A one-word refusal this long is a word of its own ("передумал", "overpriced", "неактуально"),
/// not grammar like "no", "не" or "لا": it counts anywhere in a message.
const LONG_REFUSAL_LETTERS: usize = 6;

/// The playbook's lexicons compiled for matching. Build once per playbook; cheap to share.
#[derive(Debug)]
pub struct Analyzer {
    languages: Vec<String>,
    default_language: String,
    matchers: Vec<LanguageMatcher>,
}

impl Analyzer {
    /// Compiles the playbook's lexicons. Fails only when a lexicon is too large for an
    /// automaton (far beyond any real word list).
    pub fn new(playbook: &Playbook) -> Result<Self, crate::playbook::PlaybookError> {
        let mut matchers = Vec::new();
        for language in &playbook.languages {
            if let Some(lexicon) = playbook.lexicon(language) {
                let matcher = LanguageMatcher::new(language, lexicon, playbook).map_err(|e| {
                    crate::playbook::PlaybookError {
                        path: format!("lexicon.{language}"),
                        message: format!("the lexicon cannot be compiled: {e}"),
                    }
                })?;
                matchers.push(matcher);
            }
        }
        Ok(Self {
            languages: playbook.languages.clone(),
            default_language: playbook.default_language.clone(),
            matchers,
        })
    }

    /// The first message token found in a word set of any language's matcher.
    fn word_of<'t>(
        &self,
        message_tokens: &[&'t str],
        set: impl Fn(&LanguageMatcher) -> &FxHashSet<String>,
    ) -> Option<&'t str> {
        message_tokens
            .iter()
            .find(|t| self.matchers.iter().any(|m| set(m).contains(**t)))
            .copied()
    }

    /// The first entry (by where it starts in the message) of a word-sequence list of any
    /// language's matcher that the message's tokens hold at a span (first token, one past the
    /// last) for which `accept` holds.
    fn sequence_in<'s>(
        &'s self,
        message_tokens: &[&str],
        list: impl Fn(&'s LanguageMatcher) -> &'s WordSequences,
        accept: impl Fn(usize, usize) -> bool,
    ) -> Option<&'s [String]> {
        self.sequence_at(message_tokens, list, accept)
            .map(|(_, words)| words)
    }

    /// [`Self::sequence_in`] with where the entry starts.
    fn sequence_at<'s>(
        &'s self,
        message_tokens: &[&str],
        list: impl Fn(&'s LanguageMatcher) -> &'s WordSequences,
        accept: impl Fn(usize, usize) -> bool,
    ) -> Option<(usize, &'s [String])> {
        (0..message_tokens.len()).find_map(|start| {
            self.matchers.iter().find_map(|m| {
                list(m)
                    .at(message_tokens, start)
                    .map(|(words, ())| words)
                    .find(|words| accept(start, start + words.len()))
                    .map(|words| (start, words))
            })
        })
    }

    /// A question for an amount that is not followed by a unit or quantity: the price.
    fn price_question(&self, message_tokens: &[&str]) -> Option<&[String]> {
        self.sequence_in(
            message_tokens,
            |m| &m.how_much,
            |_, after| {
                message_tokens
                    .get(after)
                    .is_none_or(|next| !self.matchers.iter().any(|m| m.measures.contains(*next)))
            },
        )
    }

    /// Classifies one message. `language` overrides detection when the caller knows better.
    pub fn classify(&self, text: &str, language: Option<&str>) -> Classification {
        let language = match language {
            Some(l) if self.languages.iter().any(|x| x == l) => l.to_owned(),
            _ => detect_language(text, &self.languages, &self.default_language).to_owned(),
        };
        let normalised = normalise(text);
        let message_tokens: Vec<&str> = tokens(&normalised).collect();
        let clause_of = clauses(&normalised);
        let mut found = Vec::new();
        for matcher in &self.matchers {
            matcher.find(&message_tokens, &mut found);
        }
        // Longest match wins across the lists that decide intent: a purchase or spec word
        // inside a longer complaint, refusal, loyalty, polite or opt-out entry is that entry's
        // word ("cancel my order", "wrong size", "not buying", "been buying from you for years",
        // "жду курьера").
        let shadowed = |f: &Found| {
            // "happy new year" is no new product, "عرض سعر" (a quotation) no offer.
            if matches!(f.signal, Signal::Interest(_))
                && found
                    .iter()
                    .any(|g| g.signal == Signal::NotInterest && f.inside(g))
            {
                return true;
            }
            // An opt-out inside a longer refusal, complaint or offer is that one's: "стоп,
            // передумала" changes an order, "لا ترسل لي السعر" turns down one price, "промокод из
            // рассылки" is the newsletter's promo code.
            if f.signal == Signal::OptOut
                && found.iter().any(|g| {
                    matches!(
                        g.signal,
                        Signal::Refusal | Signal::Complaint | Signal::Interest(DISCOUNT)
                    ) && f.inside(g)
                })
            {
                return true;
            }
            // An offer word inside a spec phrase is the phrase's: "كم عرض" asks the width.
            if f.signal == Signal::Interest(DISCOUNT)
                && found.iter().any(|g| {
                    matches!(g.signal, Signal::IntentMedium | Signal::Interest(FUNCTION))
                        && f.inside(g)
                })
            {
                return true;
            }
            matches!(
                f.signal,
                Signal::IntentHigh
                    | Signal::IntentMedium
                    | Signal::Complaint
                    | Signal::Refusal
                    | Signal::Interest(FUNCTION)
            ) && found.iter().any(|g| {
                g.signal != f.signal
                    && matches!(
                        g.signal,
                        Signal::IntentHigh
                            | Signal::IntentMedium
                            | Signal::Complaint
                            | Signal::Refusal
                            | Signal::OptOut
                            | Signal::Polite
                            | Signal::Interest(LOYAL)
                    )
                    && f.inside(g)
            })
        };
        // A question word ending the message asks about the spec word just before it:
        // "الكنب يتحمل وزن كم؟" and "the backpack weight how much" ask the weight, not the price.
        let asks_spec = |f: &Found| {
            f.ending
                && found
                    .iter()
                    .any(|g| g.signal == Signal::IntentMedium && g.end == f.start)
        };
        // A price word that is an amount word asks that amount when a unit or a spec word
        // follows it: "بتاخد كام كيلو" (كام stems like بكام) asks the load, "شكد وزنه؟" the
        // weight.
        let asks_measure = |f: &Found| {
            f.signal == Signal::IntentHigh
                && f.tokens == 1
                && message_tokens
                    .get(f.start)
                    .is_some_and(|word| self.matchers.iter().any(|m| m.how_much.has_word(word)))
                && (message_tokens
                    .get(f.end)
                    .is_some_and(|next| self.matchers.iter().any(|m| m.measures.contains(*next)))
                    || found
                        .iter()
                        .any(|g| g.signal == Signal::IntentMedium && g.start == f.end))
        };
        let mut found: Vec<Found> = found
            .iter()
            .filter(|f| !shadowed(f) && !asks_spec(f) && !asks_measure(f))
            .cloned()
            .collect();
        // The clauses a complaint is made in: a purchase word there is about the order
        // complained of ("I'd like a refund for order 4412"), not a new purchase.
        let complaint_clauses: BTreeSet<usize> = found
            .iter()
            .filter(|f| f.signal == Signal::Complaint)
            .flat_map(|f| (f.start..f.end).filter_map(|t| clause_of.get(t).copied()))
            .collect();
        let complaint = !complaint_clauses.is_empty();
        let outside_complaint = |f: &Found| {
            !(f.start..f.end).any(|t| {
                clause_of
                    .get(t)
                    .is_some_and(|c| complaint_clauses.contains(c))
            })
        };
        // "ابي ٥ شنط", "need 100 balloons", "нужно 6 бутылей": a want word followed by a
        // number orders that many (not when negated, "don't need 2", nor a delay, "need 2 days
        // to think").
        let is_number = |t: &&str| t.chars().all(char::is_numeric);
        // The want words and the number after them, for evidence.
        let quantity_order = self
            .sequence_at(
                &message_tokens,
                |m| &m.order_words,
                |start, after| {
                    message_tokens.get(after).is_some_and(is_number)
                        && clause_of.get(after) == clause_of.get(after - 1)
                        && !message_tokens.get(after + 1).is_some_and(|t| {
                            self.matchers.iter().any(|m| m.time_units.contains(*t))
                        })
                        && !start
                            .checked_sub(1)
                            .and_then(|before| message_tokens.get(before))
                            .is_some_and(|t| self.matchers.iter().any(|m| m.negations.contains(*t)))
                        && !(start..=after).any(|t| {
                            clause_of
                                .get(t)
                                .is_some_and(|c| complaint_clauses.contains(c))
                        })
                },
            )
            .map(|(start, words)| {
                let number = message_tokens[start + words.len()];
                format!("{} {number}", words.join(" "))
            });
        let new_purchase = quantity_order.is_some()
            || found
                .iter()
                .any(|f| f.signal == Signal::IntentHigh && outside_complaint(f));
        // A question about the product beside a complaint: "it stopped working, is it under
        // warranty?" (but not "wrong size, can I exchange it": that is the remedy asked for).
        let product_question = found.iter().any(|f| {
            matches!(
                f.signal,
                Signal::IntentMedium | Signal::Interest(FUNCTION) | Signal::Interest(EDUCATION)
            ) && outside_complaint(f)
        });
        found.sort_by(|a, b| (a.signal, &a.entry).cmp(&(b.signal, &b.entry)));
        found.dedup_by(|a, b| a.signal == b.signal && a.entry == b.entry);

        let has = |signal: Signal| found.iter().any(|f| f.signal == signal);
        // Whether the span (first token, one past the last) lies inside a found phrase of one
        // of these lists: "то есть" asks for no stock, "как обычно" how to do nothing.
        let inside_phrase = |signals: &[Signal], start: usize, end: usize| {
            found
                .iter()
                .any(|g| signals.contains(&g.signal) && g.start <= start && end <= g.end)
        };
        // A question: a question mark, or a question word opening the message or one of its
        // clauses ("the wrong colour came. how do I get the right one").
        // The second word opens it after a greeting or a short word ("hi how much", "а есть
        // синий"), not after a subject ("this is", "سجلت في").
        // A negation is no greeting: "ما في مشكله" says there is no problem.
        let after_greeting = message_tokens.first().is_some_and(|t| {
            (t.chars().count() <= 3 && !self.matchers.iter().any(|m| m.negations.contains(*t)))
                || found
                    .iter()
                    .any(|f| f.signal == Signal::Polite && f.start == 0 && f.end == 1)
        });
        let opener = message_tokens.iter().enumerate().find_map(|(i, t)| {
            let opens = i == 0
                || (i == 1 && after_greeting)
                || (i > 0 && clause_of.get(i) != clause_of.get(i - 1));
            // Inside a polite, loyalty or not-interest phrase it is the phrase's: "спасибо что
            // напомнили", "как всегда все супер".
            let in_phrase = found.iter().any(|f| {
                matches!(
                    f.signal,
                    Signal::Polite | Signal::Interest(LOYAL) | Signal::NotInterest
                ) && f.tokens > 1
                    && f.start <= i
                    && i < f.end
            });
            (opens
                && !in_phrase
                && self
                    .matchers
                    .iter()
                    .any(|m| m.question_openers.contains(*t)))
            .then_some(t)
        });
        // ... or a request anywhere: "просим предоставить характеристики", "kindly share".
        let asks = text.contains(['?', '؟'])
            || opener.is_some()
            || self
                .sequence_in(&message_tokens, |m| &m.requests, |_, _| true)
                .is_some();
        // A one-word opt-out or refusal counts as a short reply of its own (see
        // SHORT_REPLY_TOKENS).
        let short = message_tokens.len() <= SHORT_REPLY_TOKENS;
        // Whether the entry is a clause of its own: the whole clause it stands in.
        let clause_alone = |f: &Found| {
            let clause = clause_of.get(f.start);
            clause.is_some() && clause_of.iter().filter(|c| Some(*c) == clause).count() == f.tokens
        };
        // "стоп, а доставка сколько стоит?" stops to ask the price: an opt-out that stands alone
        // in its clause is none when the message goes on to ask about buying.
        let stands_alone = |f: &Found| clause_alone(f) && !(asks && new_purchase);
        // A one-word opt-out counts as a short reply of its own, or as the opening or closing
        // clause on its own ("STOP. I said stop three times", "по 5 смс в день! STOP"). An
        // `opt_out_alone` entry ("لا ترسلوا", "больше не присылайте") counts as any clause of its
        // own ("отключите уведомления, больше не присылайте"): with an object it is about that
        // ("больше не присылайте курьера").
        let opening_or_closing = |f: &Found| {
            let clause = clause_of.get(f.start);
            clause == clause_of.first() || clause == clause_of.last()
        };
        let opt_out = found.iter().any(|f| {
            f.signal == Signal::OptOut
                && if f.alone {
                    stands_alone(f)
                } else {
                    f.tokens > 1 || short || (stands_alone(f) && opening_or_closing(f))
                }
        });
        let emoji_only = message_tokens.is_empty() && is_emoji_only(text);
        // The order of these rules is the product's:
        // - an opt-out outranks everything;
        // - a refusal outranks a price word that is not asked about ("your prices are a joke,
        //   no thanks"), but a question about buying outranks a refusal ("no thanks, how much is
        //   the blue one?");
        // - a complaint (refund, return, cancel the order, broken, wrong item) is not a
        //   purchase: a purchase word in its clause is about the order complained of, and only
        //   a purchase said in another clause ("it came broken, do you have another in stock?")
        //   or a question about the product ("it stopped working, is it under warranty?")
        //   outranks it;
        // - asking about a discount is asking about buying (SPEC 3.2: price, discount);
        // - any other question about the product is medium: potential is polite replies only,
        //   so an unhappy message that asks nothing is none.
        // A one-word refusal ("no", "нет", "لا", "pass") is a refusal only as a short reply of
        // its own: inside a sentence it is grammar ("does it not leak?", "I'll pass by"), and
        // in a polite phrase it is politeness ("no problem", "нет проблем").
        let polite_phrase = found
            .iter()
            .any(|f| f.signal == Signal::Polite && f.tokens > 1);
        // A one-word refusal in a question is grammar too: "не промокает?", "no?".
        let counts_as_refusal = |f: &Found| {
            f.signal == Signal::Refusal
                && (f.tokens > 1
                    || f.entry.chars().count() >= LONG_REFUSAL_LETTERS
                    || (short && !polite_phrase && !text.contains(['?', '؟'])))
        };
        let refusal = found.iter().any(counts_as_refusal);
        let discount = has(Signal::Interest(DISCOUNT));
        let education = has(Signal::Interest(EDUCATION));
        // The words that made a question about stock high, or a negated statement none, when
        // those rules decided (each looked for only when its rule is reached).
        let mut availability_question = None;
        let mut price_question = None;
        let mut negated_statement = None;
        let intent = if opt_out {
            IntentTier::None
        } else if new_purchase && (asks || !(refusal || complaint)) {
            IntentTier::High
        } else if refusal {
            IntentTier::None
        } else if complaint {
            if asks && product_question {
                IntentTier::Medium
            } else {
                IntentTier::None
            }
        } else if discount && asks {
            // Asking about an offer is asking about buying, whatever it is on: "any offer on
            // the 17 inch tyres?".
            IntentTier::High
        } else if let Some(words) = self.sequence_in(
            &message_tokens,
            |m| &m.how_much,
            |start, after| {
                // "second hand iphone 12 how much? battery above 85%": an amount asked at the
                // end of a clause, not right after a spec word ("weight how much?") nor inside
                // one ("كل قد ايه", how often), is the price whatever the other clauses name.
                let closes = after == message_tokens.len()
                    || clause_of.get(after) != clause_of.get(after - 1);
                closes
                    && !found.iter().any(|g| {
                        g.signal == Signal::IntentMedium
                            && (g.end == start || (g.start <= start && after <= g.end))
                    })
            },
        ) {
            price_question = Some(words);
            IntentTier::High
        } else if let Some(words) = (asks && !education)
            .then(|| {
                // A question that opens with a stock word asks whether it is there to buy,
                // whatever size or spec it names: "عندكم حفاضات مقاس ٥؟", "do u have the 3
                // seater in olive velvet?".
                self.sequence_in(
                    &message_tokens,
                    |m| &m.availability,
                    |start, end| {
                        (start == 0 || clause_of.get(start) != clause_of.get(start - 1))
                            && !inside_phrase(&[Signal::NotInterest], start, end)
                    },
                )
            })
            .flatten()
        {
            availability_question = Some(words);
            IntentTier::High
        } else if has(Signal::IntentMedium) && (asks || !has(Signal::Polite)) {
            // "thanks for the info" is polite; "send me the info" or "info?" is asking.
            IntentTier::Medium
        } else if let Some(words) = (asks && !education && !has(Signal::Interest(FUNCTION)))
            .then(|| {
                self.sequence_in(
                    &message_tokens,
                    |m| &m.availability,
                    |start, end| !inside_phrase(&[Signal::NotInterest], start, end),
                )
            })
            .flatten()
        {
            // "плов есть?", "عندكم فحمات فرامل لكامري؟": whether it is there to buy.
            availability_question = Some(words);
            IntentTier::High
        } else if let Some(words) = (asks && !has(Signal::Interest(FUNCTION)))
            .then(|| self.price_question(&message_tokens))
            .flatten()
        {
            // "сколько примерно?", "كم حق الثريا؟": an amount with no unit is the price.
            price_question = Some(words);
            IntentTier::High
        } else if asks {
            IntentTier::Medium
        } else if has(Signal::Negative) {
            IntentTier::None
        } else if let Some(word) =
            (!has(Signal::Polite) && !has(Signal::Positive) && !has(Signal::Interest(LOYAL)))
                .then(|| self.word_of(&message_tokens, |m| &m.negations))
                .flatten()
        {
            // A statement that negates and is not polite turns something down: "we don't eat
            // red meat", "сокола у меня больше нет", "ماكو حاجه هسه".
            negated_statement = Some(word);
            IntentTier::None
        } else {
            IntentTier::Potential
        };
        // Function-oriented is researching the product (SPEC 3.3): a question about it that is
        // not about price, availability or ordering. Someone buying is not researching, so a
        // high-intent message does not carry it; a medium-intent one does unless it is about
        // learning (education), about what is new, or about a place, a service or terms ("is
        // breakfast included?", "парковка есть?").
        // A product question that asks how to do something is about learning: "как приучить
        // щенка к пелёнке?", "وشلون اعالجه". A how-to word inside a `not_interests` or loyalty
        // phrase is grammar: "как появятся", "как обычно".
        let how_to_question = (intent == IntentTier::Medium
            && !education
            && !has(Signal::Interest(FUNCTION)))
        .then(|| {
            self.sequence_in(
                &message_tokens,
                |m| &m.how_to,
                |start, end| {
                    !inside_phrase(&[Signal::NotInterest, Signal::Interest(LOYAL)], start, end)
                },
            )
        })
        .flatten();
        let education = education || how_to_question.is_some();
        let function = match intent {
            IntentTier::High => false,
            IntentTier::Medium => {
                has(Signal::Interest(FUNCTION))
                    || !(education
                        || has(Signal::Interest(NEW_PRODUCT))
                        || self
                            .word_of(&message_tokens, |m| &m.service_words)
                            .is_some())
            }
            _ => has(Signal::Interest(FUNCTION)),
        };
        let inferred_function = function && !has(Signal::Interest(FUNCTION));
        // Someone opting out says what they want no more of ("stop sending offers"): that is
        // not an interest.
        let interests: Vec<&'static str> = INTERESTS
            .iter()
            .enumerate()
            .filter(|_| !opt_out)
            .filter(|(i, _)| match *i {
                FUNCTION => function,
                // Loyalty is said warmly; "never ordering from you again" is not it.
                LOYAL => has(Signal::Interest(LOYAL)) && !has(Signal::Negative) && !complaint,
                EDUCATION => education,
                _ => has(Signal::Interest(*i)),
            })
            .map(|(_, name)| *name)
            .collect();
        let sentiment = if has(Signal::Negative) || complaint {
            Sentiment::Negative
        } else if has(Signal::Positive) {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        };
        let decisive = |s: Signal| match s {
            Signal::OptOut => opt_out,
            Signal::Complaint => intent == IntentTier::None && !opt_out && !refusal,
            Signal::IntentHigh => intent == IntentTier::High,
            Signal::IntentMedium => intent == IntentTier::Medium,
            Signal::Refusal => intent == IntentTier::None && !opt_out && refusal,
            Signal::Polite => intent == IntentTier::Potential,
            Signal::Negative => sentiment == Sentiment::Negative,
            Signal::Positive => sentiment == Sentiment::Positive,
            Signal::Interest(_) if opt_out => false,
            Signal::Interest(FUNCTION) => function,
            Signal::Interest(LOYAL) => !has(Signal::Negative) && !complaint,
            Signal::Interest(_) => true,
            Signal::NotInterest => false,
        };
        let mut evidence: Vec<Evidence> = found
            .iter()
            .filter(|f| decisive(f.signal))
            .map(|f| Evidence {
                rule: f.signal.rule(),
                matched: f.entry.clone().into_owned(),
            })
            .collect();
        let asked = || opener.map_or_else(|| "?".to_owned(), |w| (*w).to_owned());
        if intent == IntentTier::Medium && !has(Signal::IntentMedium) {
            evidence.push(Evidence {
                rule: "intent.medium.question",
                matched: asked(),
            });
        }
        if intent == IntentTier::High && !has(Signal::IntentHigh) {
            evidence.push(
                match (quantity_order, availability_question, price_question) {
                    (Some(matched), _, _) => Evidence {
                        rule: "intent.high.quantity_order",
                        matched,
                    },
                    (_, Some(words), _) => Evidence {
                        rule: "intent.high.availability_question",
                        matched: words.join(" "),
                    },
                    (_, _, Some(words)) => Evidence {
                        rule: "intent.high.price_question",
                        matched: words.join(" "),
                    },
                    _ => Evidence {
                        rule: "intent.high.discount_question",
                        matched: asked(),
                    },
                },
            );
        }
        if inferred_function {
            let matched = if asks { asked() } else { String::new() };
            evidence.push(Evidence {
                rule: "interest.function.product_question",
                matched,
            });
        }
        if let Some(words) = how_to_question {
            evidence.push(Evidence {
                rule: "interest.education.how_to_question",
                matched: words.join(" "),
            });
        }
        if let Some(word) = negated_statement {
            evidence.push(Evidence {
                rule: "intent.none.negated_statement",
                matched: word.to_owned(),
            });
        }
        if emoji_only {
            evidence.push(Evidence {
                rule: "intent.potential.emoji",
                matched: text.trim().to_owned(),
            });
        } else if intent == IntentTier::Potential && !has(Signal::Polite) {
            evidence.push(Evidence {
                rule: "intent.potential.reply",
                matched: String::new(),
            });
        }
        Classification {
            language,
            intent,
            interests,
            sentiment,
            opt_out,
            evidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_positions_match_the_playbook_names() {
        assert_eq!(
            [
                INTERESTS[DISCOUNT],
                INTERESTS[NEW_PRODUCT],
                INTERESTS[FUNCTION],
                INTERESTS[EDUCATION],
                INTERESTS[LOYAL]
            ],
            ["discount", "new_product", "function", "education", "loyal"]
        );
    }

    #[test]
    fn word_characters_are_unicode_letters_and_digits() {
        for c in ('\0'..='\u{07FF}').chain(['٠', '٩', 'ё', 'Ё', '😀', '،', '؟', 'ـ']) {
            assert_eq!(
                is_word_char(c),
                c.is_alphanumeric(),
                "{c:?} U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn normalisation_unifies_letter_variants() {
        assert_eq!(normalise("أَحْمَــد"), "احمد");
        assert_eq!(normalise("إلى مكتبة"), "الي مكتبه");
        assert_eq!(normalise("Ёлка"), "елка");
        assert_eq!(normalise("شكراااا سووووبر"), "شكراا سووبر");
        assert_eq!(normalise("coool, 1000 thx"), "cool, 1000 thx");
        assert!(is_emoji_only("👍🙏 !"));
        assert!(!is_emoji_only("ok 👍"));
    }

    #[test]
    fn common_words_are_single_normalised_words_without_repeats() {
        for language in ["en", "ru", "ar"] {
            let words: Vec<&str> = common_words(language).lines().collect();
            assert!(words.len() >= 10_000, "{language}: {} words", words.len());
            let mut seen = FxHashSet::default();
            for word in words {
                assert_eq!(normalise(word), word, "{language}: {word}");
                assert_eq!(
                    tokens(word).collect::<Vec<_>>(),
                    [word],
                    "{language}: {word}"
                );
                assert!(seen.insert(word), "{language}: {word} twice");
            }
        }
    }

    /// A matcher reads only the words of its own script, so an entry with a word of another
    /// script (Arabizi under `[lexicon.ar]`, "stop الرسايل") would never match: it belongs under
    /// the lexicon of that script, or nowhere.
    #[test]
    fn every_lexicon_entry_is_written_in_its_lexicons_script() {
        let root: toml::Table = crate::playbook::DEFAULT_TOML.parse().expect("default toml");
        let lexicons = root["lexicon"].as_table().expect("lexicon tables");
        for (language, lists) in lexicons {
            let own = match language.as_str() {
                "ar" => Script::Arabic,
                "ru" => Script::Cyrillic,
                _ => Script::Latin,
            };
            for (list, entries) in lists.as_table().expect("lists") {
                for entry in entries.as_array().into_iter().flatten() {
                    let entry = entry.as_str().unwrap_or_default();
                    // A word's script is its first letter's ("ценa" with a Latin "a" is Russian).
                    for word in entry.split_whitespace() {
                        let script = word.chars().find_map(script_of);
                        assert!(
                            script.is_none_or(|s| s == own),
                            "lexicon.{language}.{list}: {entry:?} has a word in another script"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_common_word_is_not_taken_for_a_typo() {
        let mut playbook = Playbook::default_playbook().expect("playbook");
        let analyzer = Analyzer::new(&playbook).expect("analyzer");
        // "опытом" (with experience) is one letter from "оптом" (wholesale), a price word.
        let wholesale = |a: &Analyzer| {
            a.classify("репетитор с опытом?", None)
                .evidence
                .iter()
                .any(|e| e.matched == "оптом")
        };
        assert!(!wholesale(&analyzer));
        // "pirce" is no word: still the typo of "price" it is.
        assert_eq!(analyzer.classify("pirce?", None).intent.as_str(), "high");
        playbook.text.typo_common_words = 0;
        let without = Analyzer::new(&playbook).expect("analyzer");
        assert!(wholesale(&without));
    }
}
