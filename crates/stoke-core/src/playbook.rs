//! The playbook: every rule, threshold, cadence, colour, lexicon and limit the engine uses, read
//! from one TOML file. The default (`playbook/default.toml` and `playbook/lexicons.toml`, with the
//! specification's numbers) is compiled in; a workspace may replace it.
//!
//! Loading reports every problem at once, each with its key path
//! (`intent.high.followups[1].within: expected a duration like "12h"`), and refuses unknown keys,
//! so a typo in a key is an error rather than a silently ignored setting.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::SignedDuration;
use jiff::civil::{Date, Time};

use crate::contact::ContactWindow;
use crate::value::TimeZoneName;

/// The default playbook's text: settings first, then the lexicons.
pub const DEFAULT_TOML: &str = concat!(
    include_str!("../playbook/default.toml"),
    "\n",
    include_str!("../playbook/lexicons.toml")
);

/// Colour names a tag may have; the dashboard maps each to its palette.
pub const COLOURS: &[&str] = &[
    "green", "yellow", "orange", "grey", "red", "blue", "purple", "gold", "pink", "teal", "brown",
    "black",
];

/// One problem in a playbook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A tier's look and its threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTier {
    /// The last reply is at most this old (none for the last tier).
    pub within: Option<SignedDuration>,
    pub colour: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub high: ActivityTier,
    pub medium: ActivityTier,
    pub low: ActivityTier,
    pub dormant: ActivityTier,
    pub high_first_touch_within: SignedDuration,
    pub high_touches: u32,
    pub high_touches_over: SignedDuration,
    pub medium_touch_every: SignedDuration,
    pub low_touch_every: SignedDuration,
    pub dormant_touches_per_month: u32,
    pub min_high_share: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub downgrade_after: SignedDuration,
    pub high_colour: String,
    pub quote_within: SignedDuration,
    pub high_followups: Vec<SignedDuration>,
    pub medium_colour: String,
    pub medium_followup_every: SignedDuration,
    pub medium_followups: u32,
    /// The spec sheet or guide goes out this soon after a medium-intent question.
    pub medium_guide_within: SignedDuration,
    pub decision_cycle: SignedDuration,
    pub potential_colour: String,
    pub potential_content_every: SignedDuration,
    pub conversion_cycle: SignedDuration,
    pub none_colour: String,
    pub none_broadcasts_per_month: u32,
}

/// The interests the classifier knows, in the order they are reported.
pub const INTERESTS: [&str; 5] = ["discount", "new_product", "function", "education", "loyal"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    pub name: String,
    pub colour: String,
    /// The interest's cadence settings (`offer_within`, `touches`, ...), checked for type only:
    /// the planner reads the ones it needs.
    pub durations: BTreeMap<String, SignedDuration>,
    pub counts: BTreeMap<String, u32>,
    /// Local windows (keys ending in `_at`, like `content_at = "Thu 14:00-18:00"`).
    pub windows: BTreeMap<String, ContactWindow>,
}

/// A holiday that calls for a greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: String,
    pub when: HolidayDate,
    /// ISO 3166 codes; with `languages`, who is greeted (neither: everyone).
    pub countries: Vec<String>,
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolidayDate {
    /// The same month and day every year.
    Yearly { month: i8, day: i8 },
    /// Listed dates (lunar holidays move every year).
    Dates(Vec<Date>),
}

/// The planner's settings (SPEC 4) that are more than a number.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerSettings {
    /// Local hours inside which anything may be sent or planned.
    pub quiet_hours_allowed: (Time, Time),
    /// The queue lists what is due within this long of its moment.
    pub horizon: SignedDuration,
    /// Greetings are planned for this local time.
    pub greeting_at: Time,
    pub holidays: Vec<Holiday>,
    /// Country code to the zone assumed for contacts of that country with no zone of their own.
    pub country_time_zones: BTreeMap<String, TimeZoneName>,
}

/// The word lists of one language. Entries are as written; the text module compiles them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lexicon {
    pub intent_high: Vec<String>,
    pub intent_medium: Vec<String>,
    pub polite: Vec<String>,
    pub refusal: Vec<String>,
    pub negative: Vec<String>,
    pub positive: Vec<String>,
    pub opt_out: Vec<String>,
    /// After-sales complaints and remedies asked for (refund, return, cancel the order, broken,
    /// wrong item): not a purchase, so not purchase intent, and negative. Optional in a file.
    pub complaint: Vec<String>,
    /// Words that make a message a question even without a question mark (`هل`, `ли`, `does`):
    /// a question about the product with no stronger signal is medium intent.
    pub question: Vec<String>,
    /// Entries that are high intent only when they end the message ("thanks, how much?",
    /// "كم؟"): the same words open weight and size questions.
    pub intent_high_ending: Vec<String>,
    /// Words that negate what is said (`not`, `не`, `ما`): a statement that asks nothing, buys
    /// nothing and has nothing polite, warm or loyal in it, and says one of these, turns
    /// something down ("we don't eat red meat", "сокола у меня больше нет"): none, not the
    /// polite reply (potential) a statement is otherwise taken for. Optional in a file.
    pub negation: Vec<String>,
    /// Words that ask whether something is there to buy (`есть`, `عندكم`, `do you have`): a
    /// question with one of them and nothing more specific (no spec, how-to or function word)
    /// asks about availability, which is high intent. Optional in a file.
    pub availability: Vec<String>,
    /// Words of a question about a place, a service or terms rather than a product's properties
    /// (parking, breakfast, included, metro, conditions, online): such a question does not get
    /// the function interest that a plain product question is given. Optional in a file.
    pub service_words: Vec<String>,
    /// Words that ask an amount (`сколько`, `كم`): a question with one, and no spec, purchase or
    /// stock word, asks the price ("сколько примерно?", "كم حق الثريا؟"), unless the word right
    /// after it is one of `measures`. Optional in a file.
    pub how_much: Vec<String>,
    /// Units and quantities that make a `how_much` word ask an amount other than money
    /// ("сколько дней", "كم ساعه", "how much water"): the question stays medium. Optional.
    pub measures: Vec<String>,
    /// Words that ask how to do something (`как`, `كيف`, `how do i`): a product question with
    /// one and no function word is about learning (education), not about the product's
    /// properties. Optional in a file.
    pub how_to: Vec<String>,
    /// Words that order when a number follows them (`want`, `ابي`, `нужно`): "ابي ٥ شنط",
    /// "need 100 balloons", "нужно 6 бутылей" are purchases. Optional in a file.
    pub order_words: Vec<String>,
    /// Phrases that ask for something wherever they stand, like a question mark ("please
    /// send", "просим предоставить", "ابي اعرف"): a polite message with one is still asking.
    /// Optional in a file.
    pub requests: Vec<String>,
    /// Units of time: an `order_words` number followed by one is a delay, not an order ("need
    /// 2 days to think", "ابي ٣ ايام افكر"). Optional in a file.
    pub time_units: Vec<String>,
    /// Phrases whose words are not the interest they look like: "happy new year" (no new
    /// product), "عرض سعر" (a quotation, not an offer), "сколько выйдет" (what it will come to,
    /// not a release). An interest word inside one is not that interest. Optional in a file.
    pub not_interests: Vec<String>,
    /// Opt-outs that count only as a clause of their own, wherever it stands: "لا ترسلوا" and
    /// "..., больше не присылайте" stop the messages, but "لا ترسلوا الفني" only calls off a
    /// technician. Optional in a file.
    pub opt_out_alone: Vec<String>,
    /// Words that are themselves, never a typo of a lexicon word: local words the built-in
    /// common-word lists lack ("عبايه" is an abaya, not a misspelt "عنايه"). Optional in a file.
    pub known_words: Vec<String>,
    /// Interest name (`discount`, ...) to its words.
    pub interests: BTreeMap<String, Vec<String>>,
}

/// Lexicon list names as they appear in the file, in order.
pub const LEXICON_LISTS: [&str; 12] = [
    "intent_high",
    "intent_medium",
    "polite",
    "refusal",
    "negative",
    "positive",
    "opt_out",
    "interest_discount",
    "interest_new_product",
    "interest_function",
    "interest_education",
    "interest_loyal",
];

/// The sending limits of one kind of sender account (`[limits.personal]`,
/// `[limits.cloud_api]`), over `[pacing]`: what a key leaves out, `[pacing]` decides.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LimitsProfile {
    /// Messages a second: the gap between messages is exactly `1/n` s, without jitter (an API's
    /// throughput, not a person's typing). `None`: `[pacing]`'s jittered gap.
    pub per_second: Option<u32>,
    /// `None`: `per_second` times 60 when set, else `[pacing]`'s.
    pub per_minute: Option<u32>,
    /// `None`: `per_second` times 3600 when set, else `[pacing]`'s.
    pub per_hour: Option<u32>,
    /// Whether a new account of this kind is held to `[pacing]`'s warm-up cap.
    pub warmup: bool,
    /// The messaging tier of an account that names none.
    pub tier: Option<String>,
    /// Tier name to the unique contacts that may be reached outside the service window
    /// (business-initiated) in any 24 hours; `None`: unlimited.
    pub tiers: BTreeMap<String, Option<u32>>,
}

impl LimitsProfile {
    /// The limit of a tier by name; an unknown or absent name is the profile's own tier.
    /// `None`: unlimited (or no tiers at all).
    pub fn unique_per_day(&self, tier: Option<&str>) -> Option<u32> {
        tier.and_then(|t| self.tiers.get(t))
            .or_else(|| self.tier.as_deref().and_then(|t| self.tiers.get(t)))
            .copied()
            .flatten()
    }
}

/// The limits profiles by kind of account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits {
    /// A number run from a phone or the WhatsApp Business app, and every other account.
    pub personal: LimitsProfile,
    /// A number on Meta's WhatsApp Business Cloud API.
    pub cloud_api: LimitsProfile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextSettings {
    pub typo_min_length: usize,
    pub typo_two_edits_min_length: usize,
    /// How many of a built-in language's most frequent words count as real words, never
    /// "corrected" into a lexicon word ("technician" is not a typo of "technical"). 0, or a
    /// playbook written before the setting existed, corrects every unknown word.
    pub typo_common_words: usize,
}

/// A validated playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub languages: Vec<String>,
    pub default_language: String,
    pub activity: Activity,
    pub intent: Intent,
    pub interests: Vec<Interest>,
    pub office_hours: ContactWindow,
    pub night_owl: ContactWindow,
    pub max_promotions_per_week: u32,
    pub negative_streak: u32,
    pub sentiment_colour: String,
    pub max_tags: u32,
    pub stale_after: SignedDuration,
    pub planner: PlannerSettings,
    pub text: TextSettings,
    pub lexicons: BTreeMap<String, Lexicon>,
    /// Sending limits per kind of account (`[limits]`).
    pub limits: Limits,
    /// Every other setting, by key path, checked for type: durations, counts, shares.
    pub settings: BTreeMap<String, Setting>,
}

/// A setting read generically (the sections later issues' code reads by path).
#[derive(Debug, Clone, PartialEq)]
pub enum Setting {
    Duration(SignedDuration),
    Count(u32),
    Share(f64),
    Text(String),
}

impl Playbook {
    /// The compiled-in default.
    pub fn default_playbook() -> Result<Self, Vec<PlaybookError>> {
        Self::parse(DEFAULT_TOML)
    }

    /// Parses and validates a playbook file's text.
    pub fn parse(text: &str) -> Result<Self, Vec<PlaybookError>> {
        let root: toml::Table = text.parse::<toml::Table>().map_err(|e| {
            vec![PlaybookError {
                path: String::new(),
                message: format!("not valid TOML: {}", e.message()),
            }]
        })?;
        let mut r = Reader::default();
        let playbook = read_playbook(&mut r, &root);
        match playbook {
            Some(p) if r.errors.is_empty() => Ok(p),
            _ => Err(r.errors),
        }
    }

    /// A generic setting by its key path (`pacing.per_hour`).
    pub fn setting(&self, path: &str) -> Option<&Setting> {
        self.settings.get(path)
    }

    /// A duration setting; the default playbook has every one the code asks for, and a
    /// workspace playbook missing one is refused at load (see `REQUIRED`), so `None` here means
    /// a programming error caught by the tests.
    pub fn duration(&self, path: &str) -> SignedDuration {
        match self.settings.get(path) {
            Some(Setting::Duration(d)) => *d,
            _ => SignedDuration::ZERO,
        }
    }

    pub fn count(&self, path: &str) -> u32 {
        match self.settings.get(path) {
            Some(Setting::Count(n)) => *n,
            _ => 0,
        }
    }

    pub fn share(&self, path: &str) -> f64 {
        match self.settings.get(path) {
            Some(Setting::Share(f)) => *f,
            _ => 0.0,
        }
    }

    pub fn text_setting(&self, path: &str) -> &str {
        match self.settings.get(path) {
            Some(Setting::Text(t)) => t,
            _ => "grey",
        }
    }

    pub fn lexicon(&self, language: &str) -> Option<&Lexicon> {
        self.lexicons.get(language)
    }

    pub fn interest(&self, name: &str) -> Option<&Interest> {
        self.interests.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Duration,
    Count,
    Share,
    Text,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Duration => "a duration like \"12h\"",
            Kind::Count => "a whole number",
            Kind::Share => "a share between 0.0 and 1.0",
            Kind::Text => "a colour or a window",
        }
    }
}

/// The generic settings the engine reads by path: a playbook without them is refused.
const REQUIRED: &[(&str, Kind)] = &[
    ("lifecycle.colour", Kind::Text),
    ("lifecycle.active_buyer_interactions", Kind::Count),
    ("lifecycle.active_buyer_window", Kind::Duration),
    ("lifecycle.dormant_buyer_after", Kind::Duration),
    ("lifecycle.cleanup_after", Kind::Duration),
    ("lifecycle.clicked_followup_within", Kind::Duration),
    ("lifecycle.new_subscriber_for", Kind::Duration),
    ("lifecycle.vip_repair_within", Kind::Duration),
    ("lifecycle.read_no_reply_followup_within", Kind::Duration),
    ("lifecycle.replenish_at", Kind::Share),
    ("preferences.golden_window_min_replies", Kind::Count),
    ("temperature.hot_colour", Kind::Text),
    ("temperature.warm_colour", Kind::Text),
    ("temperature.cold_colour", Kind::Text),
    ("temperature.hot_score", Kind::Count),
    ("temperature.warm_score", Kind::Count),
    ("temperature.half_life", Kind::Duration),
    ("temperature.points.delivered", Kind::Count),
    ("temperature.points.opened", Kind::Count),
    ("temperature.points.clicked", Kind::Count),
    ("temperature.points.replied", Kind::Count),
    ("temperature.points.converted", Kind::Count),
    ("planner.value.intent_high", Kind::Count),
    ("planner.value.intent_medium", Kind::Count),
    ("planner.value.intent_potential", Kind::Count),
    ("planner.value.intent_none", Kind::Count),
    ("planner.value.activity_high", Kind::Count),
    ("planner.value.activity_medium", Kind::Count),
    ("planner.value.activity_low", Kind::Count),
    ("planner.value.activity_dormant", Kind::Count),
    ("planner.value.hot", Kind::Count),
    ("planner.value.warm", Kind::Count),
    ("planner.value.repeat_buyer", Kind::Count),
    ("planner.value.vip_repair", Kind::Count),
    ("planner.value.escalate", Kind::Count),
    ("pacing.min_gap", Kind::Duration),
    ("pacing.max_gap", Kind::Duration),
    ("pacing.per_minute", Kind::Count),
    ("pacing.warn_per_minute", Kind::Count),
    ("pacing.per_hour", Kind::Count),
    ("pacing.platform_hour_cap", Kind::Count),
    ("pacing.identical_content_gap", Kind::Duration),
    ("pacing.warmup_days", Kind::Count),
    ("pacing.warmup_per_day", Kind::Count),
    ("pacing.retry_after", Kind::Duration),
    ("pacing.transient_retry_after", Kind::Duration),
    ("pacing.transient_retries", Kind::Count),
    ("pacing.max_attempts", Kind::Count),
    ("pacing.rate_limit_pause", Kind::Duration),
    ("broadcasts.max_recipients", Kind::Count),
    ("broadcasts.max_per_day", Kind::Count),
    ("opt_out.confirm_en", Kind::Text),
];

/// Sections read generically, by the type of each value.
const GENERIC_SECTIONS: [&str; 9] = [
    "preferences",
    "planner",
    "lifecycle",
    "temperature",
    "pacing",
    "broadcasts",
    "opt_out",
    "alerts",
    "autoreply",
];

/// The key paths the default playbook's generic sections have: a key outside them is a typo.
fn known_generic_paths() -> &'static BTreeSet<String> {
    static PATHS: std::sync::OnceLock<BTreeSet<String>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        fn walk(path: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
            for (key, value) in table {
                let here = join(path, key);
                match value {
                    toml::Value::Table(t) => walk(&here, t, out),
                    _ => {
                        out.insert(here);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        if let Ok(root) = DEFAULT_TOML.parse::<toml::Table>() {
            for section in GENERIC_SECTIONS {
                if let Some(toml::Value::Table(t)) = root.get(section) {
                    walk(section, t, &mut out);
                }
            }
        }
        out
    })
}

/// Parses `45s`, `30m`, `12h`, `3d`, `2w`.
pub fn parse_duration(raw: &str) -> Option<SignedDuration> {
    let raw = raw.trim();
    let unit_at = raw.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = raw.split_at(unit_at);
    let n: i64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    (n > 0).then(|| SignedDuration::from_secs(n * seconds))
}

/// Reads values out of a TOML tree, collecting every problem with its path and noting which keys
/// were read so that unknown ones can be reported.
#[derive(Default)]
struct Reader {
    errors: Vec<PlaybookError>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// A table being read, with the keys consumed so far.
struct Section<'a> {
    path: String,
    table: &'a toml::Table,
    seen: BTreeSet<&'a str>,
}

impl<'a> Section<'a> {
    fn new(path: impl Into<String>, table: &'a toml::Table) -> Self {
        Self {
            path: path.into(),
            table,
            seen: BTreeSet::new(),
        }
    }

    fn get(&mut self, r: &mut Reader, key: &str) -> Option<&'a toml::Value> {
        match self.table.get_key_value(key) {
            Some((k, v)) => {
                self.seen.insert(k.as_str());
                Some(v)
            }
            None => {
                r.fail(join(&self.path, key), "is missing");
                None
            }
        }
    }

    fn section(&mut self, r: &mut Reader, key: &str) -> Option<Section<'a>> {
        let path = join(&self.path, key);
        match self.get(r, key)? {
            toml::Value::Table(t) => Some(Section::new(path, t)),
            _ => {
                r.fail(path, "expected a table");
                None
            }
        }
    }

    fn duration(&mut self, r: &mut Reader, key: &str) -> Option<SignedDuration> {
        let path = join(&self.path, key);
        let value = self.get(r, key)?;
        r.duration_value(&path, value)
    }

    fn count(&mut self, r: &mut Reader, key: &str) -> Option<u32> {
        let path = join(&self.path, key);
        let value = self.get(r, key)?;
        r.count_value(&path, value)
    }

    fn share(&mut self, r: &mut Reader, key: &str) -> Option<f64> {
        let path = join(&self.path, key);
        match self.get(r, key)? {
            toml::Value::Float(f) if (0.0..=1.0).contains(f) => Some(*f),
            _ => {
                r.fail(path, "expected a share between 0.0 and 1.0, like 0.15");
                None
            }
        }
    }

    fn text(&mut self, r: &mut Reader, key: &str) -> Option<String> {
        let path = join(&self.path, key);
        match self.get(r, key)? {
            toml::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => {
                r.fail(path, "expected a non-empty string");
                None
            }
        }
    }

    fn colour(&mut self, r: &mut Reader, key: &str) -> Option<String> {
        let path = join(&self.path, key);
        let colour = self.text(r, key)?;
        if COLOURS.contains(&colour.as_str()) {
            Some(colour)
        } else {
            r.fail(
                path,
                format!("{colour:?} is not a colour ({})", COLOURS.join(", ")),
            );
            None
        }
    }

    fn window(&mut self, r: &mut Reader, key: &str) -> Option<ContactWindow> {
        let path = join(&self.path, key);
        let raw = self.text(r, key)?;
        ContactWindow::parse(&raw)
            .map_err(|e| r.fail(path, e.to_string()))
            .ok()
    }

    fn strings(&mut self, r: &mut Reader, key: &str) -> Option<Vec<String>> {
        let path = join(&self.path, key);
        match self.get(r, key)? {
            toml::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        toml::Value::String(s) if !s.trim().is_empty() => {
                            out.push(s.trim().to_owned())
                        }
                        _ => r.fail(format!("{path}[{i}]"), "expected a non-empty string"),
                    }
                }
                Some(out)
            }
            _ => {
                r.fail(path, "expected a list of strings");
                None
            }
        }
    }

    /// Reports keys that were never read.
    fn finish(self, r: &mut Reader) {
        for key in self.table.keys() {
            if !self.seen.contains(key.as_str()) {
                r.fail(
                    join(&self.path, key),
                    "is not a playbook setting (misspelt?)",
                );
            }
        }
    }
}

impl Reader {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(PlaybookError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn duration_value(&mut self, path: &str, value: &toml::Value) -> Option<SignedDuration> {
        match value {
            toml::Value::String(s) => match parse_duration(s) {
                Some(d) => Some(d),
                None => {
                    self.fail(
                        path,
                        format!("expected a duration like \"12h\", found {s:?}"),
                    );
                    None
                }
            },
            _ => {
                self.fail(path, "expected a duration like \"12h\"");
                None
            }
        }
    }

    fn count_value(&mut self, path: &str, value: &toml::Value) -> Option<u32> {
        match value {
            toml::Value::Integer(n) if (0..=i64::from(u32::MAX)).contains(n) => {
                u32::try_from(*n).ok()
            }
            _ => {
                self.fail(path, "expected a whole number, 0 or more");
                None
            }
        }
    }

    /// Reads a whole section generically into `settings`, by type of value.
    fn generic(&mut self, section: &mut Section<'_>, settings: &mut BTreeMap<String, Setting>) {
        for (key, value) in section.table {
            if section.seen.contains(key.as_str()) {
                continue;
            }
            section.seen.insert(key.as_str());
            let path = join(&section.path, key);
            let setting = match value {
                toml::Value::Integer(_) => self.count_value(&path, value).map(Setting::Count),
                toml::Value::Float(f) if (0.0..=1.0).contains(f) => Some(Setting::Share(*f)),
                toml::Value::Float(_) => {
                    self.fail(&path, "expected a share between 0.0 and 1.0");
                    None
                }
                toml::Value::String(s) if parse_duration(s).is_some() => {
                    parse_duration(s).map(Setting::Duration)
                }
                toml::Value::String(s) if s.contains(':') || COLOURS.contains(&s.as_str()) => {
                    Some(Setting::Text(s.clone()))
                }
                // Messages to customers, in their words.
                toml::Value::String(s) if section.path == "opt_out" && !s.trim().is_empty() => {
                    Some(Setting::Text(s.clone()))
                }
                toml::Value::String(s) => {
                    self.fail(
                        &path,
                        format!("expected a duration like \"12h\", found {s:?}"),
                    );
                    None
                }
                toml::Value::Table(t) => {
                    let mut inner = Section::new(path.clone(), t);
                    self.generic(&mut inner, settings);
                    None
                }
                _ => {
                    self.fail(&path, "expected a number, a share or a duration");
                    None
                }
            };
            if !known_generic_paths().contains(&path) && !matches!(value, toml::Value::Table(_)) {
                self.fail(&path, "is not a playbook setting (misspelt?)");
                continue;
            }
            if let Some(s) = setting {
                settings.insert(path, s);
            }
        }
    }
}

/// Reads a tier's threshold (absent for the last tier) and colour.
fn tier(r: &mut Reader, t: &mut Section<'_>, last: bool) -> Option<ActivityTier> {
    let within = if last { None } else { t.duration(r, "within") };
    let colour = t.colour(r, "colour")?;
    if !last && within.is_none() {
        return None;
    }
    Some(ActivityTier { within, colour })
}

fn read_activity(r: &mut Reader, root: &mut Section<'_>) -> Option<Activity> {
    let mut a = root.section(r, "activity")?;
    let mut high = a.section(r, "high")?;
    let high_tier = tier(r, &mut high, false);
    let first = high.duration(r, "first_touch_within");
    let touches = high.count(r, "touches");
    let over = high.duration(r, "touches_over");
    high.finish(r);
    let mut medium = a.section(r, "medium")?;
    let medium_tier = tier(r, &mut medium, false);
    let medium_every = medium.duration(r, "touch_every");
    medium.finish(r);
    let mut low = a.section(r, "low")?;
    let low_tier = tier(r, &mut low, false);
    let low_every = low.duration(r, "touch_every");
    low.finish(r);
    let mut dormant = a.section(r, "dormant")?;
    let dormant_tier = tier(r, &mut dormant, true);
    let per_month = dormant.count(r, "touches_per_month");
    dormant.finish(r);
    let mut health = a.section(r, "health")?;
    let min_high_share = health.share(r, "min_high_share");
    health.finish(r);
    a.finish(r);
    let activity = Activity {
        high: high_tier?,
        medium: medium_tier?,
        low: low_tier?,
        dormant: dormant_tier?,
        high_first_touch_within: first?,
        high_touches: touches?,
        high_touches_over: over?,
        medium_touch_every: medium_every?,
        low_touch_every: low_every?,
        dormant_touches_per_month: per_month?,
        min_high_share: min_high_share?,
    };
    let (h, m, l) = (
        activity.high.within?,
        activity.medium.within?,
        activity.low.within?,
    );
    if !(h < m && m < l) {
        r.fail(
            "activity",
            "the tiers' `within` must grow: high < medium < low",
        );
    }
    Some(activity)
}

fn read_intent(r: &mut Reader, root: &mut Section<'_>) -> Option<Intent> {
    let mut i = root.section(r, "intent")?;
    let downgrade_after = i.duration(r, "downgrade_after");
    let mut high = i.section(r, "high")?;
    let high_colour = high.colour(r, "colour");
    let quote_within = high.duration(r, "quote_within");
    let followups_path = join(&high.path, "followups");
    let followups = match high.get(r, "followups") {
        Some(toml::Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::new();
            for (n, item) in items.iter().enumerate() {
                let path = format!("{followups_path}[{n}]");
                match item {
                    toml::Value::Table(t) => {
                        let mut f = Section::new(path, t);
                        if let Some(d) = f.duration(r, "within") {
                            out.push(d);
                        }
                        f.finish(r);
                    }
                    _ => r.fail(path, "expected { within = \"12h\" }"),
                }
            }
            Some(out)
        }
        Some(_) => {
            r.fail(
                followups_path,
                "expected a list like [{ within = \"12h\" }]",
            );
            None
        }
        None => None,
    };
    high.finish(r);
    let mut medium = i.section(r, "medium")?;
    let medium_colour = medium.colour(r, "colour");
    let medium_every = medium.duration(r, "followup_every");
    let medium_followups = medium.count(r, "followups");
    let medium_guide_within = medium.duration(r, "guide_within");
    let decision_cycle = medium.duration(r, "decision_cycle");
    medium.finish(r);
    let mut potential = i.section(r, "potential")?;
    let potential_colour = potential.colour(r, "colour");
    let content_every = potential.duration(r, "content_every");
    let conversion_cycle = potential.duration(r, "conversion_cycle");
    potential.finish(r);
    let mut none = i.section(r, "none")?;
    let none_colour = none.colour(r, "colour");
    let broadcasts = none.count(r, "broadcasts_per_month");
    none.finish(r);
    i.finish(r);
    Some(Intent {
        downgrade_after: downgrade_after?,
        high_colour: high_colour?,
        quote_within: quote_within?,
        high_followups: followups?,
        medium_colour: medium_colour?,
        medium_followup_every: medium_every?,
        medium_followups: medium_followups?,
        medium_guide_within: medium_guide_within?,
        decision_cycle: decision_cycle?,
        potential_colour: potential_colour?,
        potential_content_every: content_every?,
        conversion_cycle: conversion_cycle?,
        none_colour: none_colour?,
        none_broadcasts_per_month: broadcasts?,
    })
}

fn read_interests(r: &mut Reader, root: &mut Section<'_>) -> Option<Vec<Interest>> {
    let mut section = root.section(r, "interests")?;
    let mut out = Vec::new();
    for name in INTERESTS {
        let Some(mut s) = section.section(r, name) else {
            continue;
        };
        let colour = s.colour(r, "colour");
        let mut durations = BTreeMap::new();
        let mut counts = BTreeMap::new();
        let mut windows = BTreeMap::new();
        for (key, value) in s.table {
            if key == "colour" {
                continue;
            }
            let path = join(&s.path, key);
            match value {
                toml::Value::String(raw) if key.ends_with("_at") => {
                    match ContactWindow::parse(raw) {
                        Ok(w) => {
                            windows.insert(key.clone(), w);
                        }
                        Err(e) => r.fail(path, e.to_string()),
                    }
                }
                toml::Value::Integer(_) => {
                    if let Some(n) = r.count_value(&path, value) {
                        counts.insert(key.clone(), n);
                    }
                }
                _ => {
                    if let Some(d) = r.duration_value(&path, value) {
                        durations.insert(key.clone(), d);
                    }
                }
            }
        }
        if let Some(colour) = colour {
            out.push(Interest {
                name: name.to_owned(),
                colour,
                durations,
                counts,
                windows,
            });
        }
    }
    for key in section.table.keys() {
        if !INTERESTS.contains(&key.as_str()) {
            r.fail(
                join("interests", key),
                format!("is not an interest ({})", INTERESTS.join(", ")),
            );
        }
    }
    Some(out)
}

fn read_lexicons(
    r: &mut Reader,
    root: &mut Section<'_>,
    languages: &[String],
) -> BTreeMap<String, Lexicon> {
    let mut out = BTreeMap::new();
    let Some(mut section) = root.section(r, "lexicon") else {
        return out;
    };
    for language in languages {
        let Some(mut s) = section.section(r, language) else {
            continue;
        };
        // The lists a lexicon may leave out (empty when absent).
        let mut optional = |s: &mut Section<'_>, key: &str| {
            if s.table.contains_key(key) {
                s.strings(r, key).unwrap_or_default()
            } else {
                Vec::new()
            }
        };
        let mut lexicon = Lexicon {
            question: optional(&mut s, "question"),
            intent_high_ending: optional(&mut s, "intent_high_ending"),
            complaint: optional(&mut s, "complaint"),
            negation: optional(&mut s, "negation"),
            availability: optional(&mut s, "availability"),
            service_words: optional(&mut s, "service_words"),
            how_much: optional(&mut s, "how_much"),
            measures: optional(&mut s, "measures"),
            how_to: optional(&mut s, "how_to"),
            order_words: optional(&mut s, "order_words"),
            requests: optional(&mut s, "requests"),
            time_units: optional(&mut s, "time_units"),
            not_interests: optional(&mut s, "not_interests"),
            known_words: optional(&mut s, "known_words"),
            opt_out_alone: optional(&mut s, "opt_out_alone"),
            ..Lexicon::default()
        };
        for list in LEXICON_LISTS {
            let words = s.strings(r, list).unwrap_or_default();
            match list {
                "intent_high" => lexicon.intent_high = words,
                "intent_medium" => lexicon.intent_medium = words,
                "polite" => lexicon.polite = words,
                "refusal" => lexicon.refusal = words,
                "negative" => lexicon.negative = words,
                "positive" => lexicon.positive = words,
                "opt_out" => lexicon.opt_out = words,
                other => {
                    let interest = other.trim_start_matches("interest_").to_owned();
                    lexicon.interests.insert(interest, words);
                }
            }
        }
        s.finish(r);
        out.insert(language.clone(), lexicon);
    }
    // Lexicons of languages not enabled are allowed (a team may keep them for later).
    section
        .seen
        .extend(section.table.keys().map(String::as_str));
    section.finish(r);
    out
}

/// Reads `[planner]`: its hours, holidays and zones by hand, its value points generically.
fn read_planner(
    r: &mut Reader,
    p: &mut Section<'_>,
    settings: &mut BTreeMap<String, Setting>,
) -> Option<PlannerSettings> {
    let local_time = |r: &mut Reader, path: &str, raw: &str| -> Option<Time> {
        match raw.trim().parse::<Time>() {
            Ok(t) => Some(t),
            Err(_) => {
                r.fail(
                    path,
                    format!("expected a local time like \"10:00\", found {raw:?}"),
                );
                None
            }
        }
    };
    let quiet = {
        let path = join(&p.path, "quiet_hours_allowed");
        let raw = p.text(r, "quiet_hours_allowed");
        raw.and_then(|raw| match ContactWindow::parse(&raw) {
            Ok(w) if w.days == [true; 7] => Some((w.from, w.to)),
            _ => {
                r.fail(
                    path,
                    format!("expected local hours like \"08:00-22:00\", found {raw:?}"),
                );
                None
            }
        })
    };
    let horizon = p.duration(r, "horizon");
    let greeting_at = {
        let path = join(&p.path, "greeting_at");
        p.text(r, "greeting_at")
            .and_then(|raw| local_time(r, &path, &raw))
    };
    let mut holidays = Vec::new();
    if p.table.contains_key("holidays") {
        let path = join(&p.path, "holidays");
        match p.get(r, "holidays") {
            Some(toml::Value::Array(items)) => {
                for (n, item) in items.iter().enumerate() {
                    let here = format!("{path}[{n}]");
                    match item {
                        toml::Value::Table(t) => {
                            if let Some(h) = read_holiday(r, Section::new(here, t)) {
                                holidays.push(h);
                            }
                        }
                        _ => r.fail(here, "expected { name = \"New Year\", date = \"01-01\" }"),
                    }
                }
            }
            _ => r.fail(path, "expected a list of [[planner.holidays]] tables"),
        }
    }
    let mut country_time_zones = BTreeMap::new();
    if p.table.contains_key("country_time_zones")
        && let Some(zones) = p.section(r, "country_time_zones")
    {
        for (code, zone) in zones.table {
            let here = join(&zones.path, code);
            let country_ok = code.len() == 2 && code.chars().all(|c| c.is_ascii_uppercase());
            match zone {
                toml::Value::String(z) if country_ok => match TimeZoneName::parse(z) {
                    Ok(tz) => {
                        country_time_zones.insert(code.clone(), tz);
                    }
                    Err(e) => r.fail(here, e.to_string()),
                },
                _ if !country_ok => r.fail(here, "expected a country code like \"RU\""),
                _ => r.fail(here, "expected a time zone like \"Asia/Yekaterinburg\""),
            }
        }
    }
    r.generic(p, settings);
    Some(PlannerSettings {
        quiet_hours_allowed: quiet?,
        horizon: horizon?,
        greeting_at: greeting_at?,
        holidays,
        country_time_zones,
    })
}

fn read_holiday(r: &mut Reader, mut h: Section<'_>) -> Option<Holiday> {
    let name = h.text(r, "name");
    let when = match (h.table.contains_key("date"), h.table.contains_key("dates")) {
        (true, false) => {
            let path = join(&h.path, "date");
            let raw = h.text(r, "date")?;
            let parsed = raw.split_once('-').and_then(|(m, d)| {
                let (month, day) = (m.parse::<i8>().ok()?, d.parse::<i8>().ok()?);
                // A leap year, so that 02-29 is accepted (greeted on the 28th otherwise).
                Date::new(2024, month, day).ok().map(|_| (month, day))
            });
            match parsed {
                Some((month, day)) => Some(HolidayDate::Yearly { month, day }),
                None => {
                    r.fail(
                        path,
                        format!("expected a month-day like \"12-31\", found {raw:?}"),
                    );
                    None
                }
            }
        }
        (false, true) => {
            let path = join(&h.path, "dates");
            let raw = h.strings(r, "dates")?;
            let mut dates = Vec::new();
            for (i, d) in raw.iter().enumerate() {
                match d.parse::<Date>() {
                    Ok(date) => dates.push(date),
                    Err(_) => r.fail(
                        format!("{path}[{i}]"),
                        format!("expected a date like \"2026-03-20\", found {d:?}"),
                    ),
                }
            }
            dates.sort();
            Some(HolidayDate::Dates(dates))
        }
        _ => {
            r.fail(
                h.path.clone(),
                "give either `date` (\"12-31\") or `dates` ([\"2026-03-20\"])",
            );
            None
        }
    };
    let countries = if h.table.contains_key("countries") {
        h.strings(r, "countries").unwrap_or_default()
    } else {
        Vec::new()
    };
    let languages = if h.table.contains_key("languages") {
        h.strings(r, "languages").unwrap_or_default()
    } else {
        Vec::new()
    };
    h.finish(r);
    Some(Holiday {
        name: name?,
        when: when?,
        countries,
        languages,
    })
}

fn read_playbook(r: &mut Reader, root: &toml::Table) -> Option<Playbook> {
    let mut top = Section::new("", root);
    match top.get(r, "version") {
        Some(toml::Value::Integer(1)) => {}
        Some(_) => r.fail("version", "this Stoke reads playbook version 1"),
        None => {}
    }
    let languages = top.strings(r, "languages").unwrap_or_default();
    if languages.is_empty() {
        r.fail(
            "languages",
            "name at least one language, like [\"ar\", \"ru\", \"en\"]",
        );
    }
    let default_language = top.text(r, "default_language");
    if let Some(d) = &default_language
        && !languages.contains(d)
    {
        r.fail(
            "default_language",
            format!("{d:?} is not one of the playbook's languages"),
        );
    }
    let activity = read_activity(r, &mut top);
    let intent = read_intent(r, &mut top);
    let interests = read_interests(r, &mut top);
    let mut settings = BTreeMap::new();

    let mut preferences = top.section(r, "preferences");
    let office_hours = preferences
        .as_mut()
        .and_then(|p| p.window(r, "office_hours"));
    let night_owl = preferences.as_mut().and_then(|p| p.window(r, "night_owl"));
    let max_promotions = preferences
        .as_mut()
        .and_then(|p| p.count(r, "max_promotions_per_week"));
    if let Some(mut p) = preferences {
        r.generic(&mut p, &mut settings);
    }
    let mut sentiment = top.section(r, "sentiment");
    let negative_streak = sentiment
        .as_mut()
        .and_then(|s| s.count(r, "negative_streak"));
    let sentiment_colour = sentiment.as_mut().and_then(|s| s.colour(r, "colour"));
    if let Some(s) = sentiment {
        s.finish(r);
    }
    let mut hygiene = top.section(r, "hygiene");
    let max_tags = hygiene.as_mut().and_then(|h| h.count(r, "max_tags"));
    let stale_after = hygiene.as_mut().and_then(|h| h.duration(r, "stale_after"));
    if let Some(h) = hygiene {
        h.finish(r);
    }
    let planner = top
        .section(r, "planner")
        .and_then(|mut p| read_planner(r, &mut p, &mut settings));
    let mut text = top.section(r, "text");
    let typo_min = text.as_mut().and_then(|t| t.count(r, "typo_min_length"));
    let typo_two = text
        .as_mut()
        .and_then(|t| t.count(r, "typo_two_edits_min_length"));
    let typo_common = match text.as_mut() {
        Some(t) if t.table.contains_key("typo_common_words") => t.count(r, "typo_common_words"),
        _ => Some(0),
    };
    if let Some(t) = text {
        t.finish(r);
    }
    if let (Some(one), Some(two)) = (typo_min, typo_two)
        && (one < 3 || two <= one)
    {
        r.fail(
            "text",
            "typo_min_length must be at least 3 and below typo_two_edits_min_length",
        );
    }
    for generic in &GENERIC_SECTIONS[2..] {
        if let Some(mut s) = top.section(r, generic) {
            r.generic(&mut s, &mut settings);
        }
    }
    let lexicons = read_lexicons(r, &mut top, &languages);
    // A playbook written before `[limits]` existed keeps loading with the built-in profiles:
    // they only describe kinds of accounts, not a team's choices.
    let limits = if root.contains_key("limits") {
        top.section(r, "limits").and_then(|l| read_limits(r, l))
    } else {
        Some(default_limits())
    };
    top.finish(r);
    for (path, kind) in REQUIRED {
        let ok = matches!(
            (settings.get(*path), kind),
            (Some(Setting::Duration(_)), Kind::Duration)
                | (Some(Setting::Count(_)), Kind::Count)
                | (Some(Setting::Share(_)), Kind::Share)
                | (Some(Setting::Text(_)), Kind::Text)
        );
        if !ok && r.errors.iter().all(|e| e.path != *path) {
            r.fail(*path, format!("is missing or is not {}", kind.describe()));
        }
    }

    Some(Playbook {
        languages,
        default_language: default_language?,
        activity: activity?,
        intent: intent?,
        interests: interests?,
        office_hours: office_hours?,
        night_owl: night_owl?,
        max_promotions_per_week: max_promotions?,
        negative_streak: negative_streak?,
        sentiment_colour: sentiment_colour?,
        max_tags: max_tags?,
        stale_after: stale_after?,
        planner: planner?,
        text: TextSettings {
            typo_min_length: typo_min? as usize,
            typo_two_edits_min_length: typo_two? as usize,
            typo_common_words: typo_common? as usize,
        },
        lexicons,
        limits: limits?,
        settings,
    })
}

/// The built-in `[limits]`.
fn default_limits() -> Limits {
    let mut r = Reader::default();
    DEFAULT_TOML
        .parse::<toml::Table>()
        .ok()
        .and_then(|root| match root.get("limits") {
            Some(toml::Value::Table(t)) => read_limits(&mut r, Section::new("limits", t)),
            _ => None,
        })
        .unwrap_or_default()
}

fn read_limits(r: &mut Reader, mut l: Section<'_>) -> Option<Limits> {
    let personal = l.section(r, "personal").and_then(|p| read_profile(r, p));
    let cloud_api = l.section(r, "cloud_api").and_then(|p| read_profile(r, p));
    let limits = Limits {
        personal: personal?,
        cloud_api: cloud_api?,
    };
    l.finish(r);
    Some(limits)
}

fn read_profile(r: &mut Reader, mut p: Section<'_>) -> Option<LimitsProfile> {
    let optional_count = |p: &mut Section<'_>, r: &mut Reader, key: &str| {
        if p.table.contains_key(key) {
            match p.count(r, key) {
                Some(0) => {
                    r.fail(join(&p.path, key), "expected 1 or more");
                    None
                }
                n => n,
            }
        } else {
            None
        }
    };
    let per_second = optional_count(&mut p, r, "per_second");
    let per_minute = optional_count(&mut p, r, "per_minute");
    let per_hour = optional_count(&mut p, r, "per_hour");
    let warmup = match p.get(r, "warmup") {
        Some(toml::Value::Boolean(b)) => Some(*b),
        Some(_) => {
            r.fail(join(&p.path, "warmup"), "expected true or false");
            None
        }
        None => None,
    };
    let mut tiers = BTreeMap::new();
    if p.table.contains_key("tiers") {
        let mut t = p.section(r, "tiers")?;
        for (name, value) in t.table {
            t.seen.insert(name.as_str());
            let path = join(&t.path, name);
            match value {
                toml::Value::String(s) if s == "unlimited" => {
                    tiers.insert(name.clone(), None);
                }
                toml::Value::Integer(n) if *n > 0 => match u32::try_from(*n) {
                    Ok(n) => {
                        tiers.insert(name.clone(), Some(n));
                    }
                    Err(_) => r.fail(path, "expected a whole number up to 4294967295"),
                },
                _ => r.fail(
                    path,
                    "expected a number of unique contacts a day, or \"unlimited\"",
                ),
            }
        }
        t.finish(r);
    }
    let tier = if p.table.contains_key("tier") {
        let path = join(&p.path, "tier");
        match p.text(r, "tier") {
            Some(tier) if tiers.contains_key(&tier) => Some(Some(tier)),
            Some(tier) => {
                let names: Vec<&str> = tiers.keys().map(String::as_str).collect();
                r.fail(
                    path,
                    format!("{tier:?} is not one of the tiers ({})", names.join(", ")),
                );
                None
            }
            None => None,
        }
    } else {
        Some(None)
    };
    p.finish(r);
    let tier = tier?;
    Some(LimitsProfile {
        per_second,
        per_minute,
        per_hour,
        warmup: warmup?,
        tier,
        tiers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_profiles_are_read_and_checked_with_their_paths() {
        let p = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            p.limits.personal,
            LimitsProfile {
                warmup: true,
                ..LimitsProfile::default()
            }
        );
        assert_eq!(p.limits.cloud_api.per_second, Some(80));
        assert!(!p.limits.cloud_api.warmup);
        assert_eq!(p.limits.cloud_api.tier.as_deref(), Some("250"));
        assert_eq!(p.limits.cloud_api.tiers.get("10k"), Some(&Some(10_000)));
        assert_eq!(p.limits.cloud_api.tiers.get("unlimited"), Some(&None));
        // A playbook from before `[limits]` keeps loading with the built-in profiles.
        let start = DEFAULT_TOML.find("[limits.personal]").expect("limits");
        let end = DEFAULT_TOML.find("[broadcasts]").expect("broadcasts");
        let old = format!("{}{}", &DEFAULT_TOML[..start], &DEFAULT_TOML[end..]);
        assert_eq!(
            Playbook::parse(&old).expect("old playbook").limits,
            p.limits
        );
        let bad = DEFAULT_TOML
            .replace("per_second = 80", "per_second = 0\nper_day = 3")
            .replace("tier = \"250\"", "tier = \"5k\"")
            .replace("\"10k\" = 10000", "\"10k\" = \"lots\"")
            .replace("warmup = true", "warmup = \"yes\"");
        let errors: Vec<String> = Playbook::parse(&bad)
            .expect_err("bad limits")
            .iter()
            .map(|e| e.path.clone())
            .collect();
        for path in [
            "limits.cloud_api.per_second",
            "limits.cloud_api.per_day",
            "limits.cloud_api.tier",
            "limits.cloud_api.tiers.10k",
            "limits.personal.warmup",
        ] {
            assert!(errors.iter().any(|e| e == path), "{path} in {errors:?}");
        }
    }

    #[test]
    fn the_default_playbook_is_valid() {
        let p = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.activity.high.within, Some(SignedDuration::from_hours(24)));
        assert_eq!(p.intent.high_followups.len(), 3);
        assert_eq!(p.intent.downgrade_after, SignedDuration::from_hours(72));
        assert_eq!(p.interests.len(), 5);
        assert_eq!(p.setting("pacing.per_hour"), Some(&Setting::Count(200)));
        assert_eq!(
            p.setting("pacing.min_gap"),
            Some(&Setting::Duration(SignedDuration::from_secs(3)))
        );
        for language in ["ar", "ru", "en"] {
            let lexicon = p.lexicon(language).expect("lexicon");
            assert!(
                !lexicon.intent_high.is_empty() && !lexicon.opt_out.is_empty(),
                "{language}"
            );
        }
    }

    /// A workspace playbook saved before the common-word lists and the optional lexicon lists
    /// of 2026-11-24 keeps loading: no common words, empty lists, the old classifier.
    #[test]
    fn a_playbook_saved_before_the_optional_text_settings_keeps_loading() {
        let mut root: toml::Table = DEFAULT_TOML.parse().expect("default toml");
        if let Some(toml::Value::Table(text)) = root.get_mut("text") {
            text.remove("typo_common_words");
        }
        let optional = [
            "how_much",
            "measures",
            "how_to",
            "order_words",
            "time_units",
            "requests",
            "not_interests",
            "opt_out_alone",
            "known_words",
        ];
        if let Some(toml::Value::Table(lexicons)) = root.get_mut("lexicon") {
            for (_, lexicon) in lexicons.iter_mut() {
                if let toml::Value::Table(lists) = lexicon {
                    for key in optional {
                        lists.remove(key);
                    }
                }
            }
        }
        let text = toml::to_string(&root).expect("serialise");
        let p = Playbook::parse(&text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.text.typo_common_words, 0);
        let en = p.lexicon("en").expect("en");
        assert!(en.how_much.is_empty() && en.how_to.is_empty() && en.opt_out_alone.is_empty());
        assert!(en.order_words.is_empty() && en.time_units.is_empty() && en.requests.is_empty());
        assert!(!en.intent_high.is_empty());
        // Present, the setting is checked like any count.
        let errors =
            errors_of(|t| t.replace("typo_common_words = 60000", "typo_common_words = \"many\""));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("text.typo_common_words")),
            "{errors:?}"
        );
    }

    fn errors_of(edit: impl Fn(String) -> String) -> Vec<String> {
        let text = edit(DEFAULT_TOML.to_owned());
        match Playbook::parse(&text) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn planner_settings_are_checked_with_their_paths() {
        let errors =
            errors_of(|t| {
                t.replace("greeting_at = \"10:00\"", "greeting_at = \"10 am\"")
                .replace("date = \"01-01\"", "date = \"13-01\"")
                .replace("\"2027-03-10\"", "\"2027-13-10\"")
                .replace(
                    "# [planner.country_time_zones]\n# RU = \"Asia/Yekaterinburg\"",
                    "[planner.country_time_zones]\nRU = \"Mars/Olympus\"\nru = \"Europe/Moscow\"",
                )
                .replace("content_at = \"Thu 14:00-18:00\"", "content_at = \"Thursday\"")
            });
        let expected = [
            "planner.greeting_at: expected a local time like \"10:00\", found \"10 am\"",
            "planner.holidays[0].date: expected a month-day like \"12-31\", found \"13-01\"",
            "planner.holidays[6].dates[1]: expected a date like \"2026-03-20\", found \"2027-13-10\"",
            "planner.country_time_zones.ru: expected a country code like \"RU\"",
            "interests.education.content_at",
        ];
        for e in expected {
            assert!(
                errors.iter().any(|x| x.starts_with(e)),
                "{e} not in {errors:#?}"
            );
        }
        assert!(
            errors
                .iter()
                .any(|x| x.starts_with("planner.country_time_zones.RU")),
            "{errors:#?}"
        );
        let p = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.planner.holidays.len(), 12);
        assert_eq!(p.planner.horizon, SignedDuration::from_hours(24));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let errors = errors_of(|t| {
            t.replace(
                "followups = [{ within = \"12h\" }, { within = \"24h\" }",
                "followups = [{ within = \"12h\" }, { within = \"soon\" }",
            )
            .replace(
                "colour = \"green\"\nfirst_touch_within",
                "colour = \"chartreuse\"\nfirst_touch_within",
            )
            .replace("\nper_hour = 200", "\nper_hour = -1\nper_huor = 3")
        });
        assert!(errors.contains(&"intent.high.followups[1].within: expected a duration like \"12h\", found \"soon\"".to_owned()), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("activity.high.colour: \"chartreuse\" is not a colour")),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"pacing.per_hour: expected a whole number, 0 or more".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("pacing.per_huor")),
            "{errors:?}"
        );
    }

    #[test]
    fn structure_and_syntax_errors() {
        assert!(
            errors_of(|t| t.replace("[intent.none]", "[intent.nope]"))
                .iter()
                .any(|e| e.starts_with("intent.none: is missing"))
        );
        assert!(
            errors_of(|t| t.replace(
                "within = \"3d\"\ncolour = \"yellow\"",
                "within = \"1h\"\ncolour = \"yellow\""
            ))
            .iter()
            .any(|e| e.starts_with("activity: the tiers"))
        );
        assert!(errors_of(|_| "version = ".to_owned())[0].starts_with("not valid TOML"));
        assert!(
            errors_of(|t| t.replace("default_language = \"en\"", "default_language = \"fr\""))
                .len()
                == 1
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45s"), Some(SignedDuration::from_secs(45)));
        assert_eq!(
            parse_duration("2w"),
            Some(SignedDuration::from_hours(24 * 14))
        );
        for bad in ["", "12", "h", "0h", "-3h", "1.5h", "3 days"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
