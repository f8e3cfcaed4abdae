//! `stoke gen`: a deterministic, realistic synthetic workspace.
//!
//! Why it exists: demos, tests and benchmarks need a customer base that looks like the one a sales
//! team selling over WhatsApp and e-mail really has (Gulf, Egyptian, Russian and English-speaking
//! customers, local phone habits, half the base silent), at any size up to millions of contacts,
//! without ever touching real personal data.
//!
//! What it writes into `out` (created if missing):
//! - `contacts.csv`: `name,phone,email,country,language,timezone,city,birthday,tags,notes,customer_since`.
//!   Phones are valid per libphonenumber and unique; about 10% are written in a local human form
//!   (`050 123 4567`, `8 (916) 123-45-67`) that the importer normalises with the `country` column.
//!   `customer_since` is deliberately a column the importer does not know (it becomes a custom field).
//! - `messages.jsonl`: `{"id","contact","direction","channel","account","text","at"}` per line;
//!   `contact` is the E.164 phone for WhatsApp and the e-mail address for e-mail messages.
//! - `events.jsonl`: `order` (amount = sum of quantity x unit price, in the currency's own number
//!   of decimals), `click` and `open` events; `contact` is always the E.164 phone.
//! - With `agents` above zero, `agents.csv` (`email,name,role,team`, the format of `stoke import
//!   users`): that many agents, ten to a desk, desks by language in proportion to the base; and
//!   `contacts.csv` gains an `owner` column with an agent's e-mail. About 5% of contacts have no
//!   owner, 90% of the rest belong to a desk speaking their language, and shares are uneven (a
//!   senior rep holds several times a new hire's book). With no agents the files are exactly what
//!   they were before agents existed.
//!
//! Row `i` of `contacts.csv` (0-based, header excluded) is contact index `i`; message ids are
//! `m<i>-<n>` and event ids `e<i>-<n>` with `n` counting from 1 in time order for that contact.
//!
//! Shares follow SPEC sections 2, 3 and 5: activity by the customer's last reply (about 17% within
//! 24 h of `now`, 20% within 3 days, 20% within 7 days, about 43% older or never), purchase intent
//! (high 12%, medium 21%, potential 26%, none 41%), the five interests, about 1.5% STOP replies,
//! runs of negative messages, realistic typos, repeat orders on a product's purchase cycle,
//! "clicked but did not buy". Customer text is written in the customer's language (Gulf and
//! Egyptian Arabic, colloquial Russian, English) so a classifier has something real to find.
//!
//! Determinism contract: the same `(contacts, seed, now)` gives byte-identical files, on any run.
//! Every random choice comes from a `fastrand::Rng` seeded from `(seed, contact index)`; the clock,
//! hash-map iteration order and floating-point maths are never used. A contact's data depends
//! only on the seed, `now`, its index and the contacts before it, so a smaller run is a prefix of
//! a larger one. All timestamps are at or before `now` (whole seconds, RFC 3339 UTC with `Z`) and
//! within the last 400 days; `customer_since` and `birthday` are dates and may be older.
//!
//! Phones are unique by construction, not by retrying: each origin numbers its contacts 0, 1, 2,
//! ... and a seeded bijection (a small Feistel network with cycle walking) maps that counter onto
//! the origin's space of valid mobile numbers, so a million unique phones cost nothing.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::{Serialize, Serializer};

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// Number of contacts (rows of `contacts.csv`).
    pub contacts: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// The reference "now": every timestamp is at or before it.
    pub now: jiff::Timestamp,
    /// Output directory, created if missing.
    pub out: PathBuf,
    /// Agents in `agents.csv` who own the contacts; 0 writes neither it nor the owner column.
    pub agents: u64,
}

/// How many rows were written to each file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenSummary {
    pub contacts: u64,
    pub messages: u64,
    pub events: u64,
    pub agents: u64,
    pub teams: u64,
}

/// Writes `contacts.csv`, `messages.jsonl`, `events.jsonl` (and `agents.csv`) into `opts.out`.
pub fn generate(opts: &GenOptions) -> Result<GenSummary> {
    let now = opts.now.as_second();
    // The hand-written date formatting below writes four-digit years; refuse anything else rather
    // than write malformed dates. The oldest date written is a `customer_since`, up to
    // `HISTORY + SINCE_MAX_DAYS` before `now`.
    let oldest = now - HISTORY - SINCE_MAX_DAYS * DAY;
    let (oldest_year, _, _) = civil_from_days(oldest.div_euclid(DAY));
    let (now_year, _, _) = civil_from_days(now.div_euclid(DAY));
    if oldest_year < 1000 || now_year > 9999 {
        bail!(
            "`now` must lie between the years 1005 and 9999, got {}",
            opts.now
        );
    }

    if opts.agents > MAX_AGENTS {
        bail!(
            "--agents {}: at most {MAX_AGENTS} agents are generated",
            opts.agents
        );
    }

    fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating output directory {}", opts.out.display()))?;
    let create = |name: &str| -> Result<BufWriter<File>> {
        let path = opts.out.join(name);
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(BufWriter::with_capacity(4 << 20, file))
    };
    let mut contacts_out = csv::Writer::from_writer(create("contacts.csv")?);
    let mut messages_out = create("messages.jsonl")?;
    let mut events_out = create("events.jsonl")?;

    let staff = (opts.agents > 0).then(|| Staff::new(opts.seed, opts.agents));
    match &staff {
        Some(staff) => {
            let mut agents_out = csv::Writer::from_writer(create("agents.csv")?);
            staff.write(&mut agents_out)?;
            agents_out.flush().context("writing agents.csv")?;
            contacts_out.write_record(CSV_HEADER.iter().chain(&["owner"]))?;
        }
        None => {
            // A stale agents.csv beside contacts without owners would be imported by mistake.
            match fs::remove_file(opts.out.join("agents.csv")) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(e).context("removing the agents.csv of an earlier run");
                }
                _ => {}
            }
            contacts_out.write_record(CSV_HEADER)?;
        }
    }
    let mut g = Generator::new(opts.seed, now, opts.contacts);
    let mut summary = GenSummary {
        contacts: 0,
        messages: 0,
        events: 0,
        agents: opts.agents,
        teams: staff.as_ref().map_or(0, |s| s.teams.len() as u64),
    };
    for index in 0..opts.contacts {
        g.build(index)?;
        g.write_contact(&mut contacts_out, staff.as_ref(), index)?;
        summary.messages += g.write_messages(index, &mut messages_out)?;
        summary.events += g.write_events(index, &mut events_out)?;
        summary.contacts += 1;
    }
    // Flush explicitly: a BufWriter dropped with pending data swallows the write error.
    contacts_out.flush().context("writing contacts.csv")?;
    messages_out.flush().context("writing messages.jsonl")?;
    events_out.flush().context("writing events.jsonl")?;
    Ok(summary)
}

const CSV_HEADER: [&str; 11] = [
    "name",
    "phone",
    "email",
    "country",
    "language",
    "timezone",
    "city",
    "birthday",
    "tags",
    "notes",
    "customer_since",
];

const MIN: i64 = 60;
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// No message or event is placed further back than this ("within the last ~400 days").
const HISTORY: i64 = 395 * DAY;
/// Long-standing customers' `customer_since` goes back up to this many days before their first
/// message or event.
const SINCE_MAX_DAYS: i64 = 900;

// ---------------------------------------------------------------------------------------------
// Per-contact model
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Ar,
    Ru,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Ar => "ar",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
    fn customer(self) -> &'static CustomerBank {
        match self {
            Lang::Ar => &AR_CUSTOMER,
            Lang::Ru => &RU_CUSTOMER,
            Lang::En => &EN_CUSTOMER,
        }
    }
    fn business(self) -> &'static BusinessBank {
        match self {
            Lang::Ar => &AR_BUSINESS,
            Lang::Ru => &RU_BUSINESS,
            Lang::En => &EN_BUSINESS,
        }
    }
}

/// Arabic phrases are tagged `G|` (Gulf) or `E|` (Egyptian); untagged ones suit both.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dialect {
    Gulf,
    Egypt,
    Neutral,
}

/// Purchase intent (SPEC 3.2), fixed per contact; it decides what the customer writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Intent {
    High,
    Medium,
    Potential,
    None,
}

/// Activity tier (SPEC 3.1), i.e. where the customer's last reply falls.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tier {
    High,
    Medium,
    Low,
    Dormant,
}

/// Interests (SPEC 3.3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Interest {
    Discount,
    NewProduct,
    Function,
    Education,
    Loyal,
}

/// When the contact is usually reachable (SPEC 3.4), in local hours `[from, to)`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Window {
    Office,
    Night,
    Day,
    Morning,
}

impl Window {
    fn accepts(self, local_hour: i64, weekend: bool) -> bool {
        match self {
            Window::Office => !weekend && (9..18).contains(&local_hour),
            Window::Night => (20..23).contains(&local_hour),
            Window::Day => (10..22).contains(&local_hour),
            Window::Morning => (8..12).contains(&local_hour),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dir {
    In,
    Out,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Channel {
    WhatsApp,
    Email,
}

pub(crate) const ACCOUNTS: [&str; 6] = [
    "wa-sales-1",
    "wa-sales-2",
    "wa-sales-3",
    "wa-sales-4",
    "wa-support-1",
    "mail-sales",
];
const SUPPORT_ACCOUNT: u8 = 4;
const MAIL_ACCOUNT: u8 = 5;

/// What the customer says in one message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum InKind {
    High,
    Medium,
    Polite,
    Refusal,
    Negative,
    Stop,
    Interest,
}

/// What the business says in one message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OutKind {
    Greeting,
    Promo,
    Catalogue,
    FollowUp,
    Quote,
    OrderHelp,
    Spec,
    Guide,
    Thanks,
    RefusalAck,
    Apology,
    StopConfirm,
    Newsletter,
    DiscountCode,
    NewArrivals,
}

/// The role of one conversation in a contact's history.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Normal,
    Complaint,
}

struct Msg {
    at: i64,
    dir: Dir,
    channel: Channel,
    account: u8,
    text: (u32, u32),
}

/// Campaign of a click or open: `kind` indexes [`CAMPAIGNS`]; newsletters carry their send day,
/// WhatsApp links are named after the month of the click.
#[derive(Clone, Copy)]
struct Campaign {
    kind: u8,
    day: Option<i64>,
}

enum EventKind {
    Order { lines: (u32, u32) },
    Click { url: (u32, u32), campaign: Campaign },
    Open { campaign: Campaign },
}

struct Event {
    at: i64,
    kind: EventKind,
}

/// Everything about a contact that drives its history.
struct Profile {
    origin: &'static Origin,
    city: &'static City,
    lang: Lang,
    dialect: Dialect,
    intent: Intent,
    interest: Option<Interest>,
    replier: bool,
    tier: Tier,
    stop: bool,
    complaint: bool,
    window: Window,
    account: u8,
    products: [usize; 2],
    click_pct: u32,
}

/// One contact's CSV fields; buffers are reused from one contact to the next.
#[derive(Default)]
struct Row {
    name: String,
    first: String,
    first_latin: String,
    last_latin: String,
    company: bool,
    female: bool,
    phone: String,
    phone_csv: String,
    national: String,
    email: String,
    timezone: &'static str,
    city: &'static str,
    birthday: String,
    tags: String,
    notes: String,
    customer_since: String,
}

struct Generator {
    seed: u64,
    now: i64,
    perms: Vec<Perm>,
    counters: Vec<u64>,
    emails: HashSet<u64>,
    orders: u64,
    row: Row,
    profile: Option<Profile>,
    tl: Timeline,
    scratch: String,
    id: String,
    id2: String,
    url: String,
    line_rows: Vec<LineRow>,
}

impl Generator {
    fn new(seed: u64, now: i64, contacts: u64) -> Self {
        let perms = ORIGINS
            .iter()
            .enumerate()
            .map(|(i, o)| Perm::new(o.capacity(), mix64(seed ^ mix64(0xF0E1_D2C3 + i as u64))))
            .collect();
        // About 60% of contacts have an e-mail; capping the hint keeps huge runs from reserving
        // memory up front.
        let email_hint = usize::try_from(contacts.min(4_000_000) * 2 / 3).unwrap_or(0);
        Generator {
            seed,
            now,
            perms,
            counters: vec![0; ORIGINS.len()],
            emails: HashSet::with_capacity(email_hint),
            orders: 0,
            row: Row::default(),
            profile: None,
            tl: Timeline {
                now,
                msgs: Vec::with_capacity(64),
                text: String::with_capacity(4096),
                events: Vec::with_capacity(32),
                lines: Vec::with_capacity(32),
                ev_text: String::with_capacity(1024),
                quotes: Vec::with_capacity(8),
            },
            scratch: String::with_capacity(128),
            id: String::with_capacity(32),
            id2: String::with_capacity(32),
            url: String::with_capacity(128),
            line_rows: Vec::with_capacity(4),
        }
    }

    /// Builds contact `index` (row, messages, events) into the reusable buffers.
    fn build(&mut self, index: u64) -> Result<()> {
        let mut rng = fastrand::Rng::with_seed(mix64(self.seed ^ mix64(index ^ 0x5EED_0000_0000)));
        self.tl.clear();

        let origin_idx = pick_weighted(&mut rng, ORIGINS, |o| o.weight);
        let origin = &ORIGINS[origin_idx];
        let city = self.phone(&mut rng, origin_idx)?;
        let profile = self.profile(&mut rng, origin, city);
        self.person(&mut rng, &profile);
        self.email(&mut rng, &profile);
        self.tl.history(&mut rng, &profile, &self.row);
        self.tl.newsletters(&mut rng, &profile, &self.row);
        self.tl.orders(&mut rng, &profile);
        self.tl.finish();

        self.static_fields(&mut rng, &profile);
        self.profile = Some(profile);
        Ok(())
    }

    // -- phone ---------------------------------------------------------------------------------

    /// Sets the contact's phone and returns its city (US cities follow the area code).
    fn phone(&mut self, rng: &mut fastrand::Rng, origin_idx: usize) -> Result<&'static City> {
        let origin = &ORIGINS[origin_idx];
        let k = self.counters[origin_idx];
        if k >= origin.capacity() {
            bail!(
                "too many contacts: origin {} has room for {} unique numbers",
                origin.country,
                origin.capacity()
            );
        }
        self.counters[origin_idx] += 1;
        let x = self.perms[origin_idx].apply(k);
        let space = origin.subscriber_space();
        let prefix_idx = (x / space) as usize;
        let sub = x % space;
        let tail_pow = 10u64.pow(origin.sub_digits - 1);
        let first_digit = origin.sub_first_min + sub / tail_pow;
        let tail = sub % tail_pow;

        let row = &mut self.row;
        row.national.clear();
        row.national.push_str(origin.prefixes[prefix_idx]);
        push_u64(&mut row.national, first_digit);
        push_padded(&mut row.national, tail, origin.sub_digits as usize - 1);
        row.phone.clear();
        row.phone.push('+');
        row.phone.push_str(origin.calling_code);
        row.phone.push_str(&row.national);

        row.phone_csv.clear();
        if rng.u32(0..100) < 10 {
            local_form(rng, origin, &row.national, &mut row.phone_csv);
        } else {
            row.phone_csv.push_str(&row.phone);
        }

        let city = match origin.prefix_city.get(prefix_idx) {
            Some(&c) => &origin.cities[usize::from(c)],
            None => &origin.cities[pick_weighted(rng, origin.cities, |c| c.weight)],
        };
        Ok(city)
    }

    // -- profile -------------------------------------------------------------------------------

    fn profile(
        &mut self,
        rng: &mut fastrand::Rng,
        origin: &'static Origin,
        city: &'static City,
    ) -> Profile {
        let lang = [Lang::Ar, Lang::Ru, Lang::En][pick_weighted(rng, &origin.langs, |w| *w)];
        let dialect = match (lang, origin.names) {
            (Lang::Ar, NameGroup::Egypt) => Dialect::Egypt,
            (Lang::Ar, NameGroup::Gulf) => Dialect::Gulf,
            (Lang::Ar, _) if rng.bool() => Dialect::Egypt,
            (Lang::Ar, _) => Dialect::Gulf,
            _ => Dialect::Neutral,
        };
        let intent = match rng.u32(0..100) {
            0..12 => Intent::High,
            12..33 => Intent::Medium,
            33..59 => Intent::Potential,
            _ => Intent::None,
        };
        // Refusers who never answer at all are "read without replying"; the rest said no.
        let replier = intent != Intent::None || rng.u32(0..100) < 35;
        // Tier weights per intent are tuned so that over the whole base the shares land on
        // SPEC 3.1: about 17.5% high, 43% dormant (never-repliers included).
        let tier_w: [u32; 4] = match intent {
            Intent::High => [40, 25, 20, 15],
            Intent::Medium => [30, 27, 25, 18],
            Intent::Potential => [20, 30, 28, 22],
            Intent::None => [10, 25, 30, 35],
        };
        let tier = if replier {
            [Tier::High, Tier::Medium, Tier::Low, Tier::Dormant]
                [pick_weighted(rng, &tier_w, |w| *w)]
        } else {
            Tier::Dormant
        };
        let interest = match intent {
            Intent::High => Some(
                [
                    Interest::Discount,
                    Interest::NewProduct,
                    Interest::Function,
                    Interest::Education,
                    Interest::Loyal,
                ][pick_weighted(rng, &[40, 20, 15, 5, 20], |w| *w)],
            ),
            Intent::Medium => Some(
                [
                    Interest::Function,
                    Interest::Education,
                    Interest::NewProduct,
                    Interest::Loyal,
                ][pick_weighted(rng, &[40, 25, 20, 15], |w| *w)],
            ),
            Intent::Potential if rng.u32(0..100) < 30 => Some(Interest::Loyal),
            _ => None,
        };
        // 1.5% of all contacts reply STOP; only repliers can, and they are about 73% of the base.
        let stop = replier && rng.u32(0..10_000) < 205;
        let complaint = replier && intent != Intent::None && rng.u32(0..100) < 6;
        let window = [Window::Office, Window::Night, Window::Day, Window::Morning]
            [pick_weighted(rng, &[30, 20, 40, 10], |w| *w)];
        let main = pick_weighted(rng, PRODUCTS, |p| p.weight);
        let mut second = pick_weighted(rng, PRODUCTS, |p| p.weight);
        if second == main {
            second = (main + 1) % PRODUCTS.len();
        }
        Profile {
            origin,
            city,
            lang,
            dialect,
            intent,
            interest,
            replier,
            tier,
            stop,
            complaint,
            window,
            account: rng.u8(0..4),
            products: [main, second],
            click_pct: [2, 5, 10, 20][pick_weighted(rng, &[40, 35, 17, 8], |w| *w)],
        }
    }

    // -- name ----------------------------------------------------------------------------------

    fn person(&mut self, rng: &mut fastrand::Rng, p: &Profile) {
        let row = &mut self.row;
        row.name.clear();
        row.first.clear();
        row.first_latin.clear();
        row.last_latin.clear();
        row.female = rng.bool();
        row.company = rng.u32(0..100) < 3;

        // Which naming tradition: the origin's, except for language minorities.
        let group = match (p.lang, p.origin.names) {
            (Lang::Ru, _) => NameGroup::Russia,
            (Lang::Ar, NameGroup::Egypt | NameGroup::Gulf) => p.origin.names,
            (Lang::Ar, _) if p.dialect == Dialect::Egypt => NameGroup::Egypt,
            (Lang::Ar, _) => NameGroup::Gulf,
            (Lang::En, NameGroup::Gulf | NameGroup::Egypt) if rng.bool() => NameGroup::English,
            (Lang::En, g) => g,
        };
        // Native script for the language's own speakers; otherwise a Latin transliteration.
        let native = match (p.lang, group) {
            (Lang::Ar, NameGroup::Gulf) => rng.u32(0..100) < 65,
            (Lang::Ar, NameGroup::Egypt) => rng.u32(0..100) < 60,
            (Lang::Ru, NameGroup::Russia) => rng.u32(0..100) < 88,
            _ => false,
        };

        if row.company {
            let list = match group {
                NameGroup::Gulf => COMPANIES_GULF,
                NameGroup::Egypt => COMPANIES_EGYPT,
                NameGroup::Russia => COMPANIES_RU,
                NameGroup::English => COMPANIES_EN,
            };
            let (n, l) = list[rng.usize(..list.len())];
            row.name.push_str(if native { n } else { l });
            push_latin_slug(&mut row.first_latin, l, true);
            return;
        }

        match group {
            NameGroup::Gulf | NameGroup::Egypt => {
                let (males, females, families) = if group == NameGroup::Gulf {
                    (GULF_MALE, GULF_FEMALE, GULF_FAMILY)
                } else {
                    (EGYPT_MALE, EGYPT_FEMALE, EGYPT_FAMILY)
                };
                let firsts = if row.female { females } else { males };
                let (fa, fl) = firsts[rng.usize(..firsts.len())];
                let (la, ll) = families[rng.usize(..families.len())];
                row.first.push_str(if native { fa } else { fl });
                row.first_latin.push_str(fl);
                row.last_latin.push_str(ll);
                match rng.u32(0..100) {
                    // WhatsApp address books are full of first-name-only and "Abu X" entries.
                    0..4 => row.name.push_str(if native { fa } else { fl }),
                    4..7 if group == NameGroup::Gulf && !row.female => {
                        let (ka, kl) = GULF_MALE[rng.usize(..GULF_MALE.len())];
                        if native {
                            row.name.push_str("أبو ");
                            row.name.push_str(ka);
                        } else {
                            row.name.push_str("Abu ");
                            row.name.push_str(kl);
                        }
                    }
                    _ => {
                        row.name.push_str(if native { fa } else { fl });
                        row.name.push(' ');
                        if native {
                            row.name.push_str(la);
                        } else {
                            push_family_latin(rng, &mut row.name, ll);
                        }
                    }
                }
            }
            NameGroup::Russia => {
                let firsts = if row.female { RU_FEMALE } else { RU_MALE };
                let (fc, fl) = firsts[rng.usize(..firsts.len())];
                let (sc, sl) = RU_SURNAMES[rng.usize(..RU_SURNAMES.len())];
                row.first.push_str(if native { fc } else { fl });
                row.first_latin.push_str(fl);
                let female = row.female;
                push_ru_surname(&mut row.last_latin, sl, female, false);
                let mut surname = String::new();
                if native {
                    push_ru_surname(&mut surname, sc, female, true);
                } else {
                    surname.push_str(&row.last_latin);
                }
                match rng.u32(0..100) {
                    0..4 => row.name.push_str(&row.first),
                    4..20 => {
                        row.name.push_str(&surname);
                        row.name.push(' ');
                        row.name.push_str(&row.first);
                    }
                    20..34 if native => {
                        let (pm, pf) = RU_PATRONYMICS[rng.usize(..RU_PATRONYMICS.len())];
                        row.name.push_str(&surname);
                        row.name.push(' ');
                        row.name.push_str(&row.first);
                        row.name.push(' ');
                        row.name.push_str(if female { pf } else { pm });
                    }
                    _ => {
                        row.name.push_str(&row.first);
                        row.name.push(' ');
                        row.name.push_str(&surname);
                    }
                }
            }
            NameGroup::English => {
                let firsts = if row.female { EN_FEMALE } else { EN_MALE };
                let first = firsts[rng.usize(..firsts.len())];
                let last = EN_LAST[rng.usize(..EN_LAST.len())];
                row.first.push_str(first);
                row.first_latin.push_str(first);
                row.last_latin.push_str(last);
                row.name.push_str(first);
                if rng.u32(0..100) >= 4 {
                    row.name.push(' ');
                    row.name.push_str(last);
                }
            }
        }
    }

    // -- e-mail --------------------------------------------------------------------------------

    fn email(&mut self, rng: &mut fastrand::Rng, p: &Profile) {
        let row = &mut self.row;
        row.email.clear();
        if rng.u32(0..100) >= 60 {
            return;
        }
        let first = &mut self.scratch;
        first.clear();
        push_latin_slug(first, &row.first_latin, false);
        let mut last = String::new();
        push_latin_slug(&mut last, &row.last_latin, false);
        let year = 1955 + rng.u32(0..50);
        let local = &mut row.email;
        if row.company || last.is_empty() {
            match rng.u32(0..3) {
                0 => {
                    local.push_str("info.");
                    local.push_str(&row.first_latin);
                }
                1 => {
                    local.push_str(&row.first_latin);
                    push_u64(local, u64::from(rng.u32(1..100)));
                }
                _ => local.push_str(if first.is_empty() { "client" } else { first }),
            }
        } else {
            match rng.u32(0..6) {
                0 => {
                    local.push_str(first);
                    local.push('.');
                    local.push_str(&last);
                }
                1 => {
                    local.push_str(first);
                    local.push_str(&last);
                    push_u64(local, u64::from(rng.u32(1..100)));
                }
                2 => {
                    local.push_str(first);
                    local.push('.');
                    local.push_str(&last);
                    push_u64(local, u64::from(year));
                }
                3 => {
                    local.push_str(&first[..first.len().min(1)]);
                    local.push('.');
                    local.push_str(&last);
                    push_u64(local, u64::from(rng.u32(1..100)));
                }
                4 => {
                    local.push_str(first);
                    local.push('_');
                    push_u64(local, u64::from(rng.u32(1..1000)));
                }
                _ => {
                    local.push_str(&last);
                    local.push('.');
                    local.push_str(first);
                }
            }
        }
        if local.is_empty() {
            local.push_str("client");
        }
        let domain = p.origin.domains[pick_weighted(rng, p.origin.domains, |d| d.1)].0;
        // Unique by checking, not by construction: e-mails are few and short, and a collision
        // (same name, same number) just gets another digit, as real people do.
        let base_len = local.len();
        loop {
            local.push('@');
            local.push_str(domain);
            if self.emails.insert(fnv1a(local)) {
                break;
            }
            local.truncate(local.len() - domain.len() - 1);
            local.push(char::from(b'0' + rng.u8(0..10)));
            debug_assert!(local.len() > base_len);
        }
    }

    // -- static CSV fields ---------------------------------------------------------------------

    fn static_fields(&mut self, rng: &mut fastrand::Rng, p: &Profile) {
        let now = self.now;
        let row = &mut self.row;
        row.city = if p.lang == p.origin.native_lang() || rng.u32(0..100) < 15 {
            p.city.native
        } else {
            p.city.en
        };
        // About 30% leave the time zone empty: the product derives it from the phone.
        row.timezone = if rng.u32(0..100) < 30 { "" } else { p.city.tz };

        row.birthday.clear();
        if rng.u32(0..100) < 40 {
            let (y, _, _) = civil_from_days(now.div_euclid(DAY));
            let year = y - 18 - i64::from(rng.u32(0..53));
            let month = rng.u32(1..13);
            let day = rng.u32(1..=days_in_month(year, month));
            push_date(&mut row.birthday, year, month, day);
        }

        row.tags.clear();
        if rng.u32(0..100) < 20 {
            let n = 1 + pick_weighted(rng, &[60, 30, 10], |w| *w);
            let mut used = [usize::MAX; 3];
            for j in 0..n {
                let mut t = rng.usize(..TAGS.len());
                if row.company && rng.bool() {
                    t = rng.usize(..3); // wholesale, b2b, reseller
                }
                if used.contains(&t) {
                    continue;
                }
                used[j] = t;
                if !row.tags.is_empty() {
                    row.tags.push(';');
                }
                row.tags.push_str(TAGS[t]);
            }
        }

        row.notes.clear();
        if rng.u32(0..100) < 10 {
            let lang = if rng.u32(0..100) < 70 {
                p.lang
            } else {
                Lang::En
            };
            if rng.bool() {
                note_form(rng, lang, p.window, row);
            } else {
                let bank = match lang {
                    Lang::Ar => AR_NOTES,
                    Lang::Ru => RU_NOTES,
                    Lang::En => EN_NOTES,
                };
                row.notes.push_str(bank[rng.usize(..bank.len())]);
            }
        }

        // First seen: the first message or event, or earlier for long-standing customers.
        let first = self
            .tl
            .msgs
            .iter()
            .map(|m| m.at)
            .chain(self.tl.events.iter().map(|e| e.at))
            .min()
            .unwrap_or(now);
        let extra = if rng.u32(0..100) < 40 {
            0
        } else {
            between(rng, 1, SINCE_MAX_DAYS)
        };
        let (y, m, d) = civil_from_days(first.div_euclid(DAY) - extra);
        row.customer_since.clear();
        push_date(&mut row.customer_since, y, m, d);
    }

    // -- writers -------------------------------------------------------------------------------

    fn write_contact<W: Write>(
        &self,
        out: &mut csv::Writer<W>,
        staff: Option<&Staff>,
        index: u64,
    ) -> Result<()> {
        let r = &self.row;
        let Some(p) = &self.profile else {
            bail!("no contact built")
        };
        let fields = [
            r.name.as_str(),
            &r.phone_csv,
            &r.email,
            p.origin.country,
            p.lang.code(),
            r.timezone,
            r.city,
            &r.birthday,
            &r.tags,
            &r.notes,
            &r.customer_since,
        ];
        match staff {
            Some(staff) => out.write_record(
                fields
                    .into_iter()
                    .chain([staff.owner(self.seed, index, p.lang)]),
            )?,
            None => out.write_record(fields)?,
        }
        Ok(())
    }

    fn write_messages<W: Write>(&mut self, index: u64, out: &mut W) -> Result<u64> {
        let mut ts = [0u8; 20];
        for (n, m) in self.tl.msgs.iter().enumerate() {
            self.id.clear();
            self.id.push('m');
            push_u64(&mut self.id, index);
            self.id.push('-');
            push_u64(&mut self.id, n as u64 + 1);
            let contact = match m.channel {
                Channel::WhatsApp => self.row.phone.as_str(),
                Channel::Email => self.row.email.as_str(),
            };
            let row = MessageRow {
                id: &self.id,
                contact,
                direction: if m.dir == Dir::In { "in" } else { "out" },
                channel: if m.channel == Channel::Email {
                    "email"
                } else {
                    "whatsapp"
                },
                account: ACCOUNTS[usize::from(m.account)],
                text: &self.tl.text[m.text.0 as usize..m.text.1 as usize],
                at: fmt_timestamp(m.at, &mut ts),
            };
            serde_json::to_writer(&mut *out, &row)?;
            out.write_all(b"\n")?;
        }
        Ok(self.tl.msgs.len() as u64)
    }

    fn write_events<W: Write>(&mut self, index: u64, out: &mut W) -> Result<u64> {
        let Some(p) = &self.profile else {
            bail!("no contact built")
        };
        let currency = &p.origin.currency;
        let mut ts = [0u8; 20];
        for (n, e) in self.tl.events.iter().enumerate() {
            self.id.clear();
            self.id.push('e');
            push_u64(&mut self.id, index);
            self.id.push('-');
            push_u64(&mut self.id, n as u64 + 1);
            let at = fmt_timestamp(e.at, &mut ts);
            match &e.kind {
                EventKind::Order { lines } => {
                    self.orders += 1;
                    self.id2.clear();
                    self.id2.push_str("ORD-");
                    let (y, m, d) = civil_from_days(e.at.div_euclid(DAY));
                    push_padded(&mut self.id2, (y % 100) as u64, 2);
                    push_padded(&mut self.id2, u64::from(m), 2);
                    push_padded(&mut self.id2, u64::from(d), 2);
                    self.id2.push('-');
                    push_u64(&mut self.id2, 100_000 + self.orders);
                    self.line_rows.clear();
                    let mut amount = 0;
                    for &(product, quantity) in &self.tl.lines[lines.0 as usize..lines.1 as usize] {
                        let product = &PRODUCTS[usize::from(product)];
                        let unit = currency.price(product.price_usd_cents);
                        amount += unit * i64::from(quantity);
                        self.line_rows.push(LineRow {
                            sku: product.sku,
                            name: product.name_en,
                            quantity,
                            unit_price: Money {
                                minor: unit,
                                decimals: currency.decimals,
                            },
                        });
                    }
                    let row = OrderRow {
                        id: &self.id,
                        contact: &self.row.phone,
                        kind: "order",
                        at,
                        order_id: &self.id2,
                        amount: Money {
                            minor: amount,
                            decimals: currency.decimals,
                        },
                        currency: currency.code,
                        lines: &self.line_rows,
                    };
                    serde_json::to_writer(&mut *out, &row)?;
                }
                EventKind::Click { url, campaign } => {
                    campaign_name(&mut self.id2, *campaign, e.at);
                    self.url.clear();
                    self.url
                        .push_str(&self.tl.ev_text[url.0 as usize..url.1 as usize]);
                    self.url
                        .push_str(if self.url.contains('?') { "&" } else { "?" });
                    self.url.push_str("utm_campaign=");
                    self.url.push_str(&self.id2);
                    let row = ClickRow {
                        id: &self.id,
                        contact: &self.row.phone,
                        kind: "click",
                        at,
                        url: &self.url,
                        campaign: &self.id2,
                    };
                    serde_json::to_writer(&mut *out, &row)?;
                }
                EventKind::Open { campaign } => {
                    campaign_name(&mut self.id2, *campaign, e.at);
                    let row = OpenRow {
                        id: &self.id,
                        contact: &self.row.phone,
                        kind: "open",
                        at,
                        campaign: &self.id2,
                    };
                    serde_json::to_writer(&mut *out, &row)?;
                }
            }
            out.write_all(b"\n")?;
        }
        Ok(self.tl.events.len() as u64)
    }
}

/// One contact's messages and events, built in place and reused from contact to contact.
/// Text lives in one arena string per contact so a message costs no allocation.
struct Timeline {
    now: i64,
    msgs: Vec<Msg>,
    text: String,
    events: Vec<Event>,
    lines: Vec<(u8, u8)>,
    ev_text: String,
    quotes: Vec<i64>,
}

impl Timeline {
    fn clear(&mut self) {
        self.msgs.clear();
        self.text.clear();
        self.events.clear();
        self.lines.clear();
        self.ev_text.clear();
        self.quotes.clear();
    }

    /// Drops what lies after `now` and puts both lists in time order.
    fn finish(&mut self) {
        // Anything that would land after `now` (a business reply to a message a minute ago, a
        // click on it) simply has not happened yet.
        let now = self.now;
        self.msgs.retain(|m| m.at <= now);
        self.events.retain(|e| e.at <= now);
        // Stable sorts: equal timestamps keep generation order, so output stays deterministic.
        self.msgs.sort_by_key(|m| m.at);
        self.events.sort_by_key(|e| e.at);
    }

    // -- conversations -------------------------------------------------------------------------

    /// Customer history: conversations placed so the last customer reply falls in the
    /// contact's activity tier, then unanswered follow-ups up to `now`.
    fn history(&mut self, rng: &mut fastrand::Rng, p: &Profile, row: &Row) {
        let now = self.now;
        let has_email = !row.email.is_empty();
        let mut p_email = false;
        if has_email {
            let pct = match p.origin.names {
                NameGroup::Russia | NameGroup::English => 40,
                _ => 20,
            };
            p_email = rng.u32(0..100) < pct;
        }
        let ctx = Ctx::new(p, row, p_email);

        if !p.replier {
            // Read, never replied: a few outbound touches spread over the year.
            let count = 1 + pick_weighted(rng, &[20, 25, 25, 15, 15], |w| *w);
            let mut t = pick_time(rng, now - HISTORY + DAY, now - 2 * DAY, p);
            for j in 0..count {
                if t > now || (p.stop && j > 0) {
                    break;
                }
                let kind = if j == 0 {
                    [OutKind::Greeting, OutKind::Promo, OutKind::Catalogue][rng.usize(..3)]
                } else {
                    [
                        OutKind::FollowUp,
                        OutKind::Promo,
                        OutKind::Catalogue,
                        OutKind::NewArrivals,
                    ][rng.usize(..4)]
                };
                let product = p.products[rng.usize(..2)];
                let fill = Fill::new(rng, &ctx, product);
                let account = ctx.account(rng, Role::Normal);
                self.push_out(rng, &ctx, &fill, t, kind, account);
                let gap = between(rng, 5 * DAY, 60 * DAY);
                t = pick_time(rng, t + gap, t + gap + 2 * DAY, p);
            }
            return;
        }

        // The last customer reply, inside the tier's window.
        let (lo, hi) = match p.tier {
            Tier::High => (now - 23 * HOUR - 50 * MIN, now - 2 * MIN),
            Tier::Medium => (now - 71 * HOUR, now - 25 * HOUR),
            Tier::Low => (now - 6 * DAY - 22 * HOUR, now - 3 * DAY - HOUR),
            Tier::Dormant if rng.bool() => (now - 60 * DAY, now - 8 * DAY),
            Tier::Dormant => (now - 380 * DAY, now - 60 * DAY),
        };
        let last_reply = pick_time(rng, lo, hi, p);

        let earlier = match p.intent {
            Intent::High => 1 + rng.usize(..5),
            Intent::Medium => 1 + rng.usize(..4),
            Intent::Potential => 1 + rng.usize(..3),
            Intent::None => rng.usize(..2),
        };
        // Which conversation (0 = the last, counting backwards) is the complaint, if any.
        let complaint_at = if p.complaint {
            Some(rng.usize(..=earlier))
        } else {
            None
        };

        // The last conversation, anchored on its last inbound message.
        let (m0, e0, q0) = (self.msgs.len(), self.events.len(), self.quotes.len());
        let role = if complaint_at == Some(0) {
            Role::Complaint
        } else {
            Role::Normal
        };
        self.conversation(rng, &ctx, role, p.stop);
        let last_in = self.msgs[m0..]
            .iter()
            .rev()
            .find(|m| m.dir == Dir::In)
            .map_or(0, |m| m.at);
        let shift = last_reply - last_in;
        self.shift(m0, e0, q0, shift);
        let mut cursor = self.msgs[m0..]
            .iter()
            .map(|m| m.at)
            .min()
            .unwrap_or(last_reply);
        let last_end = self.msgs[m0..]
            .iter()
            .map(|m| m.at)
            .max()
            .unwrap_or(last_reply);

        // Earlier conversations, walking back in time.
        for j in 1..=earlier {
            let (m0, e0, q0) = (self.msgs.len(), self.events.len(), self.quotes.len());
            let role = if complaint_at == Some(j) {
                Role::Complaint
            } else {
                Role::Normal
            };
            let duration = self.conversation(rng, &ctx, role, false);
            let gap = between(rng, 2 * DAY, 40 * DAY);
            let latest = cursor - gap - duration;
            let start = pick_time(rng, latest - 3 * DAY, latest, p);
            if start < now - HISTORY {
                self.msgs.truncate(m0);
                self.events.truncate(e0);
                self.quotes.truncate(q0);
                break;
            }
            self.shift(m0, e0, q0, start);
            cursor = start;
        }

        // Unanswered follow-ups after the last conversation: a reply-based tier keeps falling
        // while the business keeps writing. An opted-out contact gets nothing more.
        if !p.stop {
            let count = match p.tier {
                Tier::High | Tier::Medium => rng.usize(..2),
                Tier::Low => rng.usize(..3),
                Tier::Dormant => rng.usize(..4),
            };
            let mut t = last_end;
            for _ in 0..count {
                let gap = between(rng, DAY, 12 * DAY);
                t = pick_time(rng, t + gap, t + gap + DAY, p);
                if t > now {
                    break;
                }
                let kind =
                    [OutKind::FollowUp, OutKind::Promo, OutKind::NewArrivals][rng.usize(..3)];
                let fill = Fill::new(rng, &ctx, p.products[0]);
                let account = ctx.account(rng, Role::Normal);
                self.push_out(rng, &ctx, &fill, t, kind, account);
            }
        }
    }

    /// Appends one conversation with times relative to 0 and returns its duration.
    fn conversation(&mut self, rng: &mut fastrand::Rng, ctx: &Ctx, role: Role, stop: bool) -> i64 {
        let first = self.msgs.len();
        let product = ctx.products[usize::from(rng.u32(0..100) >= 80)];
        let fill = Fill::new(rng, ctx, product);
        let account = ctx.account(rng, role);
        let mut t = 0;

        if role == Role::Complaint {
            // A run of negative messages in a row (3+ for about half) before anyone answers.
            let run = 1 + pick_weighted(rng, &[25, 25, 30, 20], |w| *w);
            for _ in 0..run {
                self.push_in(rng, ctx, &fill, t, InKind::Negative, account, false);
                t += between(rng, 20, 5 * MIN);
            }
            t += business_delay(rng);
            self.push_out(rng, ctx, &fill, t, OutKind::Apology, account);
            t += customer_delay(rng);
            let kind = if rng.bool() {
                InKind::Negative
            } else {
                InKind::Polite
            };
            self.push_in(rng, ctx, &fill, t, kind, account, false);
            t += business_delay(rng);
            let reply = if kind == InKind::Negative {
                OutKind::Apology
            } else {
                OutKind::Thanks
            };
            self.push_out(rng, ctx, &fill, t, reply, account);
        } else {
            let customer_first =
                matches!(ctx.intent, Intent::High | Intent::Medium) && rng.u32(0..100) < 35;
            if !customer_first {
                let opener = [
                    OutKind::Greeting,
                    OutKind::Promo,
                    OutKind::Catalogue,
                    OutKind::FollowUp,
                ][pick_weighted(rng, &[25, 25, 20, 30], |w| *w)];
                self.push_out(rng, ctx, &fill, t, opener, account);
                t += customer_delay(rng);
            }
            let exchanges = match ctx.intent {
                Intent::High | Intent::Medium => 1 + rng.usize(..3),
                Intent::Potential => 1 + rng.usize(..2),
                Intent::None => 1,
            };
            for e in 0..exchanges {
                let kind = pick_in_kind(rng, ctx.intent, e == 0);
                self.push_in(rng, ctx, &fill, t, kind, account, e == 0 && customer_first);
                let reply = reply_to(rng, kind, ctx.interest);
                let Some(reply) = reply else { break };
                t += business_delay(rng);
                self.push_out(rng, ctx, &fill, t, reply, account);
                if reply == OutKind::Quote {
                    self.quotes.push(t);
                }
                t += customer_delay(rng);
            }
        }
        if stop {
            t = self.msgs[first..].iter().map(|m| m.at).max().unwrap_or(0) + customer_delay(rng);
            self.push_in(rng, ctx, &fill, t, InKind::Stop, account, false);
            t += between(rng, 5, 2 * MIN);
            self.push_out(rng, ctx, &fill, t, OutKind::StopConfirm, account);
        }
        self.msgs[first..].iter().map(|m| m.at).max().unwrap_or(0)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_in(
        &mut self,
        rng: &mut fastrand::Rng,
        ctx: &Ctx,
        fill: &Fill,
        at: i64,
        kind: InKind,
        account: u8,
        salute: bool,
    ) {
        let bank = ctx.lang.customer();
        let phrases = match kind {
            InKind::High => bank.high,
            InKind::Medium => bank.medium,
            InKind::Polite => bank.polite,
            InKind::Refusal => bank.refusal,
            InKind::Negative => bank.negative,
            InKind::Stop => bank.stop,
            InKind::Interest => match ctx.interest {
                Some(Interest::Discount) => bank.discount,
                Some(Interest::NewProduct) => bank.new_product,
                Some(Interest::Function) => bank.function,
                Some(Interest::Education) => bank.education,
                Some(Interest::Loyal) => bank.loyal,
                None => bank.polite,
            },
        };
        let start = self.text.len();
        if salute && rng.u32(0..100) < 45 {
            let s = pick_phrase(rng, bank.salutation, ctx.dialect, fill);
            self.text.push_str(s);
            self.text
                .push_str(if ctx.lang == Lang::Ar { "، " } else { "! " });
        }
        let phrase = pick_phrase(rng, phrases, ctx.dialect, fill);
        expand(phrase, fill, &mut self.text);
        self.msgs.push(Msg {
            at,
            dir: Dir::In,
            channel: ctx.channel(account),
            account,
            text: (start as u32, self.text.len() as u32),
        });
    }

    fn push_out(
        &mut self,
        rng: &mut fastrand::Rng,
        ctx: &Ctx,
        fill: &Fill,
        at: i64,
        kind: OutKind,
        account: u8,
    ) {
        let bank = ctx.lang.business();
        let phrases = match kind {
            OutKind::Greeting => bank.greeting,
            OutKind::Promo => bank.promo,
            OutKind::Catalogue => bank.catalogue,
            OutKind::FollowUp => bank.follow_up,
            OutKind::Quote => bank.quote,
            OutKind::OrderHelp => bank.order_help,
            OutKind::Spec => bank.spec,
            OutKind::Guide => bank.guide,
            OutKind::Thanks => bank.thanks,
            OutKind::RefusalAck => bank.refusal_ack,
            OutKind::Apology => bank.apology,
            OutKind::StopConfirm => bank.stop_confirm,
            OutKind::Newsletter => bank.newsletter,
            OutKind::DiscountCode => bank.discount_code,
            OutKind::NewArrivals => bank.new_arrivals,
        };
        let start = self.text.len();
        let phrase = pick_phrase(rng, phrases, Dialect::Neutral, fill);
        expand(phrase, fill, &mut self.text);
        let end = self.text.len();
        self.msgs.push(Msg {
            at,
            dir: Dir::Out,
            channel: ctx.channel(account),
            account,
            text: (start as u32, end as u32),
        });
        // Some links get clicked; most clickers never buy ("high potential", SPEC 3.5).
        if kind != OutKind::Newsletter
            && rng.u32(0..100) < ctx.click_pct
            && let Some(url) = first_url(&self.text[start..end])
        {
            let u0 = self.ev_text.len();
            self.ev_text.push_str(url);
            let campaign = match kind {
                OutKind::Promo | OutKind::DiscountCode => 1,
                OutKind::NewArrivals => 2,
                _ => 0,
            };
            self.events.push(Event {
                at: at + click_delay(rng),
                kind: EventKind::Click {
                    url: (u0 as u32, self.ev_text.len() as u32),
                    campaign: Campaign {
                        kind: campaign,
                        day: None,
                    },
                },
            });
        }
    }

    fn shift(&mut self, m0: usize, e0: usize, q0: usize, by: i64) {
        for m in &mut self.msgs[m0..] {
            m.at += by;
        }
        for e in &mut self.events[e0..] {
            e.at += by;
        }
        for q in &mut self.quotes[q0..] {
            *q += by;
        }
    }

    // -- newsletters, opens, clicks ------------------------------------------------------------

    /// E-mail campaigns go out every 10 days; subscribers get some of them, open some and click
    /// fewer (opens are always more frequent than clicks).
    fn newsletters(&mut self, rng: &mut fastrand::Rng, p: &Profile, row: &Row) {
        if row.email.is_empty() || rng.u32(0..100) >= 70 {
            return;
        }
        let now = self.now;
        let stop_at = if p.stop {
            self.msgs
                .iter()
                .filter(|m| m.dir == Dir::In)
                .map(|m| m.at)
                .max()
        } else {
            None
        };
        let since = self.msgs.iter().map(|m| m.at).min().unwrap_or(now) - 30 * DAY;
        let receive_pct = 12 + rng.u32(0..20);
        let open_pct = 20 + rng.u32(0..55);
        let click_pct = 10 + rng.u32(0..30);
        let ctx = Ctx::new(p, row, true);
        let first_day = now.div_euclid(DAY) - 390;
        for j in 0..39 {
            let day = first_day + j * 10;
            let send = day * DAY + 8 * HOUR + between(rng, 0, 3 * HOUR);
            if send < since || send > now || stop_at.is_some_and(|s| send > s) {
                continue;
            }
            if rng.u32(0..100) >= receive_pct {
                continue;
            }
            let product = p.products[rng.usize(..2)];
            let fill = Fill::new(rng, &ctx, product);
            let m0 = self.text.len();
            self.push_out(rng, &ctx, &fill, send, OutKind::Newsletter, MAIL_ACCOUNT);
            let campaign = Campaign {
                kind: 3 + (j as u8 % (CAMPAIGNS.len() as u8 - 3)),
                day: Some(day),
            };
            if rng.u32(0..100) >= open_pct {
                continue;
            }
            let open = send + customer_delay(rng) + between(rng, 0, DAY);
            self.events.push(Event {
                at: open,
                kind: EventKind::Open { campaign },
            });
            if rng.u32(0..100) < click_pct {
                let url = first_url(&self.text[m0..]).unwrap_or("https://shop.example/news");
                let u0 = self.ev_text.len();
                self.ev_text.push_str(url);
                self.events.push(Event {
                    at: open + between(rng, 10, 20 * MIN),
                    kind: EventKind::Click {
                        url: (u0 as u32, self.ev_text.len() as u32),
                        campaign,
                    },
                });
            }
        }
    }

    // -- orders --------------------------------------------------------------------------------

    /// About 30% of contacts buy. Consumables are reordered on the product's cycle with jitter
    /// (cat food every ~35 days), some buyers lapse; others buy once or twice, often right
    /// after a quote.
    fn orders(&mut self, rng: &mut fastrand::Rng, p: &Profile) {
        let pct = match p.intent {
            Intent::High => 60,
            Intent::Medium => 40,
            Intent::Potential => 30,
            Intent::None => 12,
        };
        if rng.u32(0..100) >= pct {
            return;
        }
        let now = self.now;
        let main = &PRODUCTS[p.products[0]];
        if main.cycle_days > 0 && rng.u32(0..100) < 65 {
            let cycle = i64::from(main.cycle_days) * DAY;
            let mut t = pick_time(
                rng,
                now - HISTORY + DAY,
                (now - cycle).max(now - HISTORY + DAY),
                p,
            );
            for _ in 0..40 {
                if t > now {
                    break;
                }
                self.order(rng, p, t);
                if rng.u32(0..100) < 8 {
                    break;
                }
                let next = t + cycle * i64::from(rng.u32(80..121)) / 100;
                t = pick_time(rng, next - 6 * HOUR, next + 6 * HOUR, p);
            }
            return;
        }
        let count = 1 + pick_weighted(rng, &[75, 20, 5], |w| *w);
        let mut t = match self.quotes.get(rng.usize(..self.quotes.len().max(1))) {
            Some(&q) if rng.u32(0..100) < 70 => q + between(rng, 10 * MIN, 2 * DAY),
            _ => pick_time(rng, now - HISTORY + DAY, now - HOUR, p),
        };
        for _ in 0..count {
            if t > now {
                break;
            }
            self.order(rng, p, t);
            t = pick_time(rng, t + 20 * DAY, t + 120 * DAY, p);
        }
    }

    fn order(&mut self, rng: &mut fastrand::Rng, p: &Profile, at: i64) {
        let l0 = self.lines.len();
        let qty = 1 + pick_weighted(rng, &[60, 30, 10], |w| *w) as u8;
        self.lines.push((p.products[0] as u8, qty));
        if rng.u32(0..100) < 30 {
            self.lines.push((p.products[1] as u8, 1 + rng.u8(0..2)));
        }
        self.events.push(Event {
            at,
            kind: EventKind::Order {
                lines: (l0 as u32, self.lines.len() as u32),
            },
        });
    }
}

/// A time in `[lo, hi]`, preferring the contact's usual hours in its local time.
fn pick_time(rng: &mut fastrand::Rng, lo: i64, hi: i64, p: &Profile) -> i64 {
    let mut t = between(rng, lo, hi);
    for _ in 0..8 {
        let local = t + p.city.utc_offset_h * HOUR;
        let hour = local.rem_euclid(DAY) / HOUR;
        let weekday = (local.div_euclid(DAY) + 4).rem_euclid(7) as u8;
        if p.window.accepts(hour, p.origin.weekend.contains(&weekday)) {
            return t;
        }
        t = between(rng, lo, hi);
    }
    t
}

#[derive(Serialize)]
struct MessageRow<'a> {
    id: &'a str,
    contact: &'a str,
    direction: &'a str,
    channel: &'a str,
    account: &'a str,
    text: &'a str,
    at: &'a str,
}

#[derive(Serialize)]
struct OrderRow<'a> {
    id: &'a str,
    contact: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    at: &'a str,
    order_id: &'a str,
    amount: Money,
    currency: &'a str,
    lines: &'a [LineRow],
}

#[derive(Serialize)]
struct LineRow {
    sku: &'static str,
    name: &'static str,
    quantity: u8,
    unit_price: Money,
}

#[derive(Serialize)]
struct ClickRow<'a> {
    id: &'a str,
    contact: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    at: &'a str,
    url: &'a str,
    campaign: &'a str,
}

#[derive(Serialize)]
struct OpenRow<'a> {
    id: &'a str,
    contact: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    at: &'a str,
    campaign: &'a str,
}

/// `kind-YYYY-MM-DD` for a newsletter (its send day), `kind-YYYY-MM` for a WhatsApp link.
fn campaign_name(out: &mut String, c: Campaign, at: i64) {
    out.clear();
    out.push_str(CAMPAIGNS[usize::from(c.kind)]);
    out.push('-');
    let (y, m, d) = civil_from_days(c.day.unwrap_or(at.div_euclid(DAY)));
    push_padded(out, y as u64, 4);
    out.push('-');
    push_padded(out, u64::from(m), 2);
    if c.day.is_some() {
        out.push('-');
        push_padded(out, u64::from(d), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// Conversation helpers
// ---------------------------------------------------------------------------------------------

/// The per-contact facts a message template needs.
struct Ctx<'a> {
    lang: Lang,
    dialect: Dialect,
    intent: Intent,
    interest: Option<Interest>,
    first: &'a str,
    city: &'static str,
    currency: &'static Currency,
    products: [usize; 2],
    email: bool,
    account: u8,
    click_pct: u32,
}

impl<'a> Ctx<'a> {
    fn new(p: &Profile, row: &'a Row, email: bool) -> Self {
        Ctx {
            lang: p.lang,
            dialect: p.dialect,
            intent: p.intent,
            interest: p.interest,
            first: &row.first,
            city: if p.lang == p.origin.native_lang() {
                p.city.native
            } else {
                p.city.en
            },
            currency: &p.origin.currency,
            products: p.products,
            email,
            account: p.account,
            click_pct: p.click_pct,
        }
    }

    /// A contact sticks to its sales number; complaints go to support, e-mail to the mailbox.
    fn account(&self, rng: &mut fastrand::Rng, role: Role) -> u8 {
        if self.email {
            MAIL_ACCOUNT
        } else if role == Role::Complaint {
            SUPPORT_ACCOUNT
        } else if rng.u32(0..100) < 8 {
            rng.u8(0..4)
        } else {
            self.account
        }
    }

    fn channel(&self, account: u8) -> Channel {
        if account == MAIL_ACCOUNT {
            Channel::Email
        } else {
            Channel::WhatsApp
        }
    }
}

/// Values for the `{x}` placeholders of one conversation.
struct Fill<'a> {
    lang: Lang,
    dialect: Dialect,
    first: &'a str,
    city: &'static str,
    product: &'static Product,
    size: &'static str,
    colour: Option<&'static str>,
    price: Money,
    currency: &'static str,
    code: &'static str,
}

impl<'a> Fill<'a> {
    fn new(rng: &mut fastrand::Rng, ctx: &Ctx<'a>, product: usize) -> Self {
        let product = &PRODUCTS[product];
        let sizes = product.sizes.get(ctx.lang);
        let colour = if product.coloured {
            let c = COLOURS.get(ctx.lang);
            Some(c[rng.usize(..c.len())])
        } else {
            None
        };
        Fill {
            lang: ctx.lang,
            dialect: ctx.dialect,
            first: ctx.first,
            city: ctx.city,
            product,
            size: sizes[rng.usize(..sizes.len())],
            colour,
            price: Money {
                minor: ctx.currency.price(product.price_usd_cents),
                decimals: ctx.currency.decimals,
            },
            currency: ctx.currency.word(ctx.lang),
            code: PROMO_CODES[rng.usize(..PROMO_CODES.len())],
        }
    }
}

/// Replaces `{p}` (product), `{s}` and `{z}` (size), `{c}` (colour), `{n}` (first name),
/// `{city}`, `{price}`, `{cur}`, `{url}`, `{sku}` and `{code}`; anything else is copied as is.
/// A product name opening a sentence gets a capital letter.
fn expand(template: &str, f: &Fill, out: &mut String) {
    let start = out.len();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let Some(close) = tail.find('}') else {
            out.push_str(tail);
            return;
        };
        match &tail[1..close] {
            "p" => {
                let name = match (f.lang, f.dialect) {
                    (Lang::Ar, Dialect::Egypt) => f.product.name_ar_eg,
                    (Lang::Ar, _) => f.product.name_ar,
                    (Lang::Ru, _) => f.product.name_ru,
                    (Lang::En, _) => f.product.name,
                };
                let before = out[start..].trim_end();
                let mut chars = name.chars();
                match chars.next() {
                    Some(c) if before.is_empty() || before.ends_with(['.', '!', '?']) => {
                        out.extend(c.to_uppercase());
                        out.push_str(chars.as_str());
                    }
                    _ => out.push_str(name),
                }
            }
            "s" | "z" => out.push_str(f.size),
            "c" => out.push_str(f.colour.unwrap_or("")),
            "n" => out.push_str(if f.first.is_empty() {
                match f.lang {
                    Lang::Ar => "عميلنا العزيز",
                    Lang::Ru => "коллеги",
                    Lang::En => "team",
                }
            } else {
                f.first
            }),
            "city" => out.push_str(f.city),
            "price" => {
                let _ = write!(out, "{}", f.price);
            }
            "cur" => out.push_str(f.currency),
            "url" => {
                out.push_str("https://shop.example/p/");
                out.push_str(f.product.slug);
            }
            "sku" => out.push_str(f.product.slug),
            "code" => out.push_str(f.code),
            _ => out.push_str(&tail[..=close]),
        }
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
}

/// A phrase for the contact's dialect; phrases naming a colour (`{c}`) or a fitted size
/// (`{z}`) are skipped for products that have none. Falls back to the bank's first phrase,
/// which is always plain.
fn pick_phrase(
    rng: &mut fastrand::Rng,
    bank: &'static [&'static str],
    dialect: Dialect,
    fill: &Fill,
) -> &'static str {
    if bank.is_empty() {
        return "";
    }
    for _ in 0..12 {
        let (d, text) = split_dialect(bank[rng.usize(..bank.len())]);
        if d.is_some_and(|d| d != dialect)
            || (fill.colour.is_none() && text.contains("{c}"))
            || (!fill.product.fits && text.contains("{z}"))
        {
            continue;
        }
        return text;
    }
    split_dialect(bank[0]).1
}

fn split_dialect(phrase: &'static str) -> (Option<Dialect>, &'static str) {
    if let Some(t) = phrase.strip_prefix("G|") {
        (Some(Dialect::Gulf), t)
    } else if let Some(t) = phrase.strip_prefix("E|") {
        (Some(Dialect::Egypt), t)
    } else {
        (None, phrase)
    }
}

fn pick_in_kind(rng: &mut fastrand::Rng, intent: Intent, first: bool) -> InKind {
    use InKind::*;
    let table: &[(InKind, u32)] = match (intent, first) {
        (Intent::High, true) => &[(High, 60), (Interest, 25), (Medium, 10), (Polite, 5)],
        (Intent::High, false) => &[(High, 35), (Polite, 45), (Interest, 10), (Medium, 10)],
        (Intent::Medium, true) => &[(Medium, 60), (Interest, 30), (Polite, 10)],
        (Intent::Medium, false) => &[(Medium, 30), (Polite, 50), (Interest, 20)],
        (Intent::Potential, _) => &[(Polite, 88), (Interest, 12)],
        (Intent::None, _) => &[(Refusal, 100)],
    };
    table[pick_weighted(rng, table, |e| e.1)].0
}

/// How the business answers; `None` means the thread just ends there.
fn reply_to(rng: &mut fastrand::Rng, kind: InKind, interest: Option<Interest>) -> Option<OutKind> {
    let r = rng.u32(0..100);
    Some(match kind {
        InKind::High if r < 70 => OutKind::Quote,
        InKind::High => OutKind::OrderHelp,
        InKind::Medium if r < 80 => OutKind::Spec,
        InKind::Medium => OutKind::Guide,
        InKind::Polite if r < 50 => return None,
        InKind::Polite if r < 75 => OutKind::Thanks,
        InKind::Polite => OutKind::Guide,
        InKind::Refusal if r < 60 => OutKind::RefusalAck,
        InKind::Refusal => return None,
        InKind::Negative => OutKind::Apology,
        InKind::Stop => OutKind::StopConfirm,
        InKind::Interest => match interest {
            Some(Interest::Discount) => OutKind::DiscountCode,
            Some(Interest::NewProduct) => OutKind::NewArrivals,
            Some(Interest::Function) => OutKind::Spec,
            Some(Interest::Education) => OutKind::Guide,
            Some(Interest::Loyal) | None => OutKind::Thanks,
        },
    })
}

/// Customers answer within minutes to hours.
fn customer_delay(rng: &mut fastrand::Rng) -> i64 {
    const T: [(i64, i64, u32); 4] = [
        (MIN, 10 * MIN, 35),
        (10 * MIN, HOUR, 30),
        (HOUR, 4 * HOUR, 25),
        (4 * HOUR, 10 * HOUR, 10),
    ];
    let (lo, hi, _) = T[pick_weighted(rng, &T, |t| t.2)];
    between(rng, lo, hi)
}

/// Agents answer faster (a quote within the hour, SPEC 3.2), sometimes much later.
fn business_delay(rng: &mut fastrand::Rng) -> i64 {
    const T: [(i64, i64, u32); 4] = [
        (MIN, 5 * MIN, 40),
        (5 * MIN, 30 * MIN, 35),
        (30 * MIN, 2 * HOUR, 20),
        (2 * HOUR, 6 * HOUR, 5),
    ];
    let (lo, hi, _) = T[pick_weighted(rng, &T, |t| t.2)];
    between(rng, lo, hi)
}

fn click_delay(rng: &mut fastrand::Rng) -> i64 {
    if rng.u32(0..100) < 70 {
        between(rng, 20, 30 * MIN)
    } else {
        between(rng, 30 * MIN, 8 * HOUR)
    }
}

fn first_url(text: &str) -> Option<&str> {
    let start = text.find("https://")?;
    let rest = &text[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    // Drop sentence punctuation glued to the link.
    Some(rest[..end].trim_end_matches(['.', ',', ')', '!', '؟', '?']))
}

/// The seed's note form, `Mr Wang | prefers text | Mon-Fri 9:00-18:00 | max 2 per week`, in
/// the note's language, with parts left out at random as people do.
fn note_form(rng: &mut fastrand::Rng, lang: Lang, window: Window, row: &mut Row) {
    let (formats, windows, caps, passive) = match lang {
        Lang::Ar => (
            AR_NOTE_FORMATS,
            AR_NOTE_WINDOWS,
            AR_NOTE_CAPS,
            "يتواصل معنا إذا احتاج",
        ),
        Lang::Ru => (
            RU_NOTE_FORMATS,
            RU_NOTE_WINDOWS,
            RU_NOTE_CAPS,
            "сам напишет, когда понадобится",
        ),
        Lang::En => (
            EN_NOTE_FORMATS,
            EN_NOTE_WINDOWS,
            EN_NOTE_CAPS,
            "will contact us when needed",
        ),
    };
    let notes = &mut row.notes;
    let sep = |n: &mut String| {
        if !n.is_empty() {
            n.push_str(" | ");
        }
    };
    if lang == Lang::En && !row.company && !row.last_latin.is_empty() && rng.u32(0..100) < 40 {
        notes.push_str(if row.female { "Ms " } else { "Mr " });
        notes.push_str(&row.last_latin);
    }
    if rng.u32(0..100) < 80 {
        sep(notes);
        // Format shares from SPEC 3.4: text 55%, voice 25%, text+image 15%, video 5%.
        notes.push_str(formats[pick_weighted(rng, &[55u32, 25, 15, 5], |w| *w)]);
    }
    if rng.u32(0..100) < 75 {
        sep(notes);
        let w = match window {
            Window::Office => 0,
            Window::Night => windows.len() - 1,
            _ => rng.usize(..windows.len()),
        };
        notes.push_str(windows[w]);
    }
    if rng.u32(0..100) < 60 {
        sep(notes);
        notes.push_str(caps[rng.usize(..caps.len())]);
    }
    if rng.u32(0..100) < 8 || !notes.contains(" | ") {
        sep(notes);
        notes.push_str(passive);
    }
}

// ---------------------------------------------------------------------------------------------
// Phones
// ---------------------------------------------------------------------------------------------

/// A seeded bijection on `[0, domain)`: a 4-round Feistel network on the smallest even number
/// of bits covering the domain, with cycle walking for values that fall outside it. Distinct
/// inputs give distinct outputs, which is what makes phone numbers unique by construction.
struct Perm {
    domain: u64,
    half: u32,
    keys: [u64; 4],
}

impl Perm {
    fn new(domain: u64, key: u64) -> Self {
        let bits = (64 - domain.saturating_sub(1).leading_zeros()).max(2);
        let bits = bits + (bits & 1);
        let mut keys = [0; 4];
        for (r, k) in keys.iter_mut().enumerate() {
            *k = mix64(key.wrapping_add((r as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407)));
        }
        Perm {
            domain: domain.max(1),
            half: bits / 2,
            keys,
        }
    }

    fn apply(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let mut y = x % self.domain;
        loop {
            let (mut l, mut r) = (y >> self.half, y & mask);
            for k in self.keys {
                let f = mix64(r ^ k) & mask;
                (l, r) = (r, l ^ f);
            }
            y = (l << self.half) | r;
            if y < self.domain {
                return y;
            }
        }
    }
}

/// A human local form of the number, still valid when parsed with the row's country.
fn local_form(rng: &mut fastrand::Rng, o: &Origin, n: &str, out: &mut String) {
    // Without a trunk prefix, a KW number starting 965... reads like a country code to some
    // parsers (the Rust phonenumber port among them): write those internationally.
    let ambiguous = o.local == LocalStyle::Gulf8 && n.starts_with(o.calling_code);
    let intl = ambiguous || rng.u32(0..100) < 35;
    let idd = !intl && o.local != LocalStyle::Russia && rng.u32(0..100) < 15;
    let cc = o.calling_code;
    let mut put = |parts: &[&str]| {
        for p in parts {
            out.push_str(p);
        }
    };
    if idd {
        // "00" is the international prefix in every origin except the US.
        let prefix = if o.local == LocalStyle::Us { "+" } else { "00" };
        put(&[prefix, cc, n]);
        return;
    }
    match o.local {
        LocalStyle::Gulf9 if intl => put(&["+", cc, " ", &n[..2], " ", &n[2..5], " ", &n[5..]]),
        LocalStyle::Gulf9 => put(&["0", &n[..2], " ", &n[2..5], " ", &n[5..]]),
        LocalStyle::Egypt if intl => put(&["+", cc, " ", &n[..2], " ", &n[2..6], " ", &n[6..]]),
        LocalStyle::Egypt => put(&["0", &n[..2], " ", &n[2..6], " ", &n[6..]]),
        LocalStyle::Russia if intl => {
            put(&["+7 ", &n[..3], " ", &n[3..6], "-", &n[6..8], "-", &n[8..]])
        }
        LocalStyle::Russia => put(&["8 (", &n[..3], ") ", &n[3..6], "-", &n[6..8], "-", &n[8..]]),
        LocalStyle::Us if intl => put(&["+1 ", &n[..3], "-", &n[3..6], "-", &n[6..]]),
        LocalStyle::Us => put(&["(", &n[..3], ") ", &n[3..6], "-", &n[6..]]),
        LocalStyle::Uk if intl => put(&["+44 ", &n[..4], " ", &n[4..]]),
        LocalStyle::Uk => put(&["0", &n[..4], " ", &n[4..]]),
        LocalStyle::Gulf8 if intl => put(&["+", cc, " ", &n[..4], " ", &n[4..]]),
        LocalStyle::Gulf8 => put(&[&n[..4], " ", &n[4..]]),
    }
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// Latin family names come as `Al-Qahtani`, `Al Qahtani` or `Alqahtani`, as in real exports.
fn push_family_latin(rng: &mut fastrand::Rng, out: &mut String, name: &str) {
    match name.strip_prefix("Al-") {
        Some(rest) => match rng.u32(0..100) {
            0..60 => out.push_str(name),
            60..85 => {
                out.push_str("Al ");
                out.push_str(rest);
            }
            _ => {
                out.push_str("Al");
                out.push_str(&rest.to_lowercase());
            }
        },
        None => out.push_str(name),
    }
}

/// Russian surnames agree with gender: Иванов/Иванова, Вишневский/Вишневская, Коваленко.
fn push_ru_surname(out: &mut String, male: &str, female: bool, cyrillic: bool) {
    if !female {
        out.push_str(male);
        return;
    }
    let (sky, skaya, plus) = if cyrillic {
        ("ский", "ская", "а")
    } else {
        ("sky", "skaya", "a")
    };
    if let Some(stem) = male.strip_suffix(sky) {
        out.push_str(stem);
        out.push_str(skaya);
    } else if ["ов", "ев", "ёв", "ин", "ov", "ev", "in"]
        .iter()
        .any(|s| male.ends_with(s))
    {
        out.push_str(male);
        out.push_str(plus);
    } else {
        out.push_str(male);
    }
}

/// Lower-case ASCII letters and digits of a Latin name, for e-mail addresses. With
/// `drop_legal`, legal-form words (LLC, Ltd, OOO, ...) are left out.
fn push_latin_slug(out: &mut String, name: &str, drop_legal: bool) {
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() || drop_legal && LEGAL_FORMS.iter().any(|l| l.eq_ignore_ascii_case(word))
        {
            continue;
        }
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
}

const LEGAL_FORMS: &[&str] = &[
    "llc", "co", "ltd", "inc", "est", "ooo", "ip", "ao", "sae", "s", "a", "e",
];

// ---------------------------------------------------------------------------------------------
// Agents and who owns which contact (`--agents N`)
// ---------------------------------------------------------------------------------------------

/// More agents than any sales floor has; the bound keeps a typo from exhausting memory.
const MAX_AGENTS: u64 = 100_000;
/// Agents per team in `agents.csv`; the last team may be smaller.
const AGENTS_PER_TEAM: u64 = 10;
/// Per mille of contacts left without an owner: leads nobody has picked up yet.
const UNASSIGNED_PER_MILLE: u32 = 50;
/// Percent of assigned contacts owned outside their language's desks (a referral, a rep's own
/// network, a desk that speaks no language of theirs).
const CROSS_DESK_PCT: u32 = 10;
/// Where agents' addresses live; `.example` is reserved (RFC 2606), so no mail can leak.
const AGENT_DOMAIN: &str = "shop.example";

struct Agent {
    email: String,
    name: String,
    team: usize,
}

/// Agents with integer weights, cumulative, to draw one in proportion to its weight.
#[derive(Default)]
struct Pool {
    agents: Vec<usize>,
    cumulative: Vec<u64>,
}

impl Pool {
    fn push(&mut self, agent: usize, weight: u32) {
        let total = self.cumulative.last().copied().unwrap_or(0);
        self.agents.push(agent);
        self.cumulative.push(total + u64::from(weight));
    }

    fn pick(&self, rng: &mut fastrand::Rng) -> Option<usize> {
        let total = *self.cumulative.last()?;
        let r = rng.u64(0..total);
        let i = self.cumulative.partition_point(|&c| c <= r);
        self.agents.get(i).copied()
    }
}

/// The sales team of a generated workspace: desks by language, agents with an uneven share of
/// the base (senior reps hold several times what a new hire does), and the draw of each
/// contact's owner.
struct Staff {
    agents: Vec<Agent>,
    teams: Vec<String>,
    /// Per language (ar, ru, en), the agents of the desks speaking it.
    desks: [Pool; 3],
    everyone: Pool,
}

fn lang_index(lang: Lang) -> usize {
    match lang {
        Lang::Ar => 0,
        Lang::Ru => 1,
        Lang::En => 2,
    }
}

/// The language of each of `teams` desks, in proportion to the languages of the customer base
/// (largest remainder, so 10 desks give 6 Arabic, 2 Russian and 2 English), grouped by language.
fn desk_languages(teams: usize) -> Vec<Lang> {
    const LANGS: [Lang; 3] = [Lang::Ar, Lang::Ru, Lang::En];
    let mut share = [0u64; 3];
    for o in ORIGINS {
        for (k, s) in share.iter_mut().enumerate() {
            *s += u64::from(o.weight) * u64::from(o.langs[k]);
        }
    }
    let total: u64 = share.iter().sum();
    let n = teams as u64;
    let mut counts: [u64; 3] = share.map(|s| n * s / total);
    let mut by_remainder = [0usize, 1, 2];
    by_remainder.sort_by_key(|&k| std::cmp::Reverse(n * share[k] % total));
    for &k in by_remainder
        .iter()
        .cycle()
        .take((n - counts.iter().sum::<u64>()) as usize)
    {
        counts[k] += 1;
    }
    LANGS
        .iter()
        .zip(counts)
        .flat_map(|(&l, c)| std::iter::repeat_n(l, c as usize))
        .collect()
}

impl Staff {
    fn new(seed: u64, agents: u64) -> Self {
        let teams = usize::try_from(agents.div_ceil(AGENTS_PER_TEAM)).unwrap_or(usize::MAX);
        let langs = desk_languages(teams);
        let mut numbered = [0u32; 3];
        let team_names = langs
            .iter()
            .map(|&l| {
                numbered[lang_index(l)] += 1;
                let desk = match l {
                    Lang::Ar => "Arabic desk",
                    Lang::Ru => "Russian desk",
                    Lang::En => "English desk",
                };
                format!("{desk} {}", numbered[lang_index(l)])
            })
            .collect();
        let mut staff = Staff {
            agents: Vec::new(),
            teams: team_names,
            desks: Default::default(),
            everyone: Pool::default(),
        };
        let mut taken = HashSet::new();
        for a in 0..agents {
            let mut rng = fastrand::Rng::with_seed(mix64(seed ^ mix64(a ^ 0xA6E7_0000_0000)));
            let team = usize::try_from(a / AGENTS_PER_TEAM).unwrap_or(usize::MAX);
            let lang = langs[team];
            let female = rng.bool();
            let mut last = String::new();
            let first = match lang {
                Lang::Ar => {
                    let (males, females, families) = if rng.u32(0..100) < 35 {
                        (EGYPT_MALE, EGYPT_FEMALE, EGYPT_FAMILY)
                    } else {
                        (GULF_MALE, GULF_FEMALE, GULF_FAMILY)
                    };
                    let firsts = if female { females } else { males };
                    last.push_str(families[rng.usize(..families.len())].1);
                    firsts[rng.usize(..firsts.len())].1
                }
                Lang::Ru => {
                    let firsts = if female { RU_FEMALE } else { RU_MALE };
                    let surname = RU_SURNAMES[rng.usize(..RU_SURNAMES.len())].1;
                    push_ru_surname(&mut last, surname, female, false);
                    firsts[rng.usize(..firsts.len())].1
                }
                Lang::En => {
                    let firsts = if female { EN_FEMALE } else { EN_MALE };
                    last.push_str(EN_LAST[rng.usize(..EN_LAST.len())]);
                    firsts[rng.usize(..firsts.len())]
                }
            };
            let mut local = String::new();
            push_latin_slug(&mut local, first, false);
            local.push('.');
            push_latin_slug(&mut local, &last, false);
            // Namesakes get a number, as mail administrators do.
            let mut email = format!("{local}@{AGENT_DOMAIN}");
            let mut n = 1;
            while !taken.insert(email.clone()) {
                n += 1;
                email = format!("{local}{n}@{AGENT_DOMAIN}");
            }
            // Senior reps hold a big book, new hires a small one.
            let weight = match rng.u32(0..100) {
                0..15 => rng.u32(250..=400),
                15..80 => rng.u32(80..=160),
                _ => rng.u32(15..=50),
            };
            let index = staff.agents.len();
            staff.desks[lang_index(lang)].push(index, weight);
            staff.everyone.push(index, weight);
            staff.agents.push(Agent {
                email,
                name: format!("{first} {last}"),
                team,
            });
        }
        staff
    }

    /// The owner of contact `index`, or "" for none. Drawn from its own random stream, so every
    /// other column is the same as without agents, and a smaller run stays a prefix.
    fn owner(&self, seed: u64, index: u64, lang: Lang) -> &str {
        let mut rng = fastrand::Rng::with_seed(mix64(seed ^ mix64(index ^ 0x0A55_1600_0000)));
        if rng.u32(0..1000) < UNASSIGNED_PER_MILLE {
            return "";
        }
        let desk = &self.desks[lang_index(lang)];
        let pool = if desk.agents.is_empty() || rng.u32(0..100) < CROSS_DESK_PCT {
            &self.everyone
        } else {
            desk
        };
        pool.pick(&mut rng)
            .map_or("", |a| self.agents[a].email.as_str())
    }

    fn write<W: Write>(&self, out: &mut csv::Writer<W>) -> Result<()> {
        out.write_record(AGENTS_HEADER)?;
        for a in &self.agents {
            out.write_record([a.email.as_str(), &a.name, "agent", &self.teams[a.team]])?;
        }
        Ok(())
    }
}

const AGENTS_HEADER: [&str; 4] = ["email", "name", "role", "team"];

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

/// splitmix64's finaliser: spreads seeds and indices over all 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// Uniform in `[lo, hi]`, or `lo` when the range is empty (never panics).
fn between(rng: &mut fastrand::Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo { lo } else { rng.i64(lo..=hi) }
}

/// Index of an item chosen with integer weights (no floats, so results never depend on the
/// platform's maths).
fn pick_weighted<T>(rng: &mut fastrand::Rng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    if total == 0 {
        return 0;
    }
    let mut r = rng.u32(0..total);
    for (i, item) in items.iter().enumerate() {
        let w = weight(item);
        if r < w {
            return i;
        }
        r -= w;
    }
    items.len() - 1
}

fn push_u64(out: &mut String, v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &b in &buf[i..] {
        out.push(char::from(b));
    }
}

fn push_padded(out: &mut String, v: u64, width: usize) {
    let mut digits = 1;
    let mut x = v / 10;
    while x > 0 {
        digits += 1;
        x /= 10;
    }
    for _ in digits..width {
        out.push('0');
    }
    push_u64(out, v);
}

fn push_date(out: &mut String, y: i64, m: u32, d: u32) {
    push_padded(out, y.max(0) as u64, 4);
    out.push('-');
    push_padded(out, u64::from(m), 2);
    out.push('-');
    push_padded(out, u64::from(d), 2);
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` without going through `fmt` (tens of millions of calls per run).
fn fmt_timestamp(t: i64, buf: &mut [u8; 20]) -> &str {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    let put = |buf: &mut [u8; 20], at: usize, v: u64, width: usize| {
        let mut v = v;
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(buf, 0, y.clamp(0, 9999) as u64, 4);
    buf[4] = b'-';
    put(buf, 5, u64::from(m), 2);
    buf[7] = b'-';
    put(buf, 8, u64::from(d), 2);
    buf[10] = b'T';
    put(buf, 11, (s / HOUR) as u64, 2);
    buf[13] = b':';
    put(buf, 14, (s % HOUR / MIN) as u64, 2);
    buf[16] = b':';
    put(buf, 17, (s % MIN) as u64, 2);
    buf[19] = b'Z';
    std::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00Z")
}

/// An amount in minor units (cents, fils), printed with the currency's decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Money {
    minor: i64,
    decimals: u8,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = 10i64.pow(u32::from(self.decimals));
        write!(
            f,
            "{}.{:0width$}",
            self.minor / unit,
            self.minor % unit,
            width = usize::from(self.decimals)
        )
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Data: origins, names, products, phrase banks
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NameGroup {
    Gulf,
    Egypt,
    Russia,
    English,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum LocalStyle {
    /// `050 123 4567` (SA, AE).
    Gulf9,
    /// `010 1234 5678`.
    Egypt,
    /// `8 (916) 123-45-67`.
    Russia,
    /// `(212) 555-0134`.
    Us,
    /// `07700 900123`.
    Uk,
    /// `5012 3456` (KW, QA, BH: no trunk prefix).
    Gulf8,
}

struct City {
    en: &'static str,
    native: &'static str,
    tz: &'static str,
    /// Standard-time offset, only used to place messages at plausible local hours.
    utc_offset_h: i64,
    weight: u32,
}

struct Currency {
    code: &'static str,
    decimals: u8,
    /// Local major units per US dollar, times 10,000.
    rate: u64,
    /// Prices are rounded up to this many minor units ...
    step: i64,
    /// ... minus this, for the usual 24.99 / 2990 look.
    tail: i64,
    ar: &'static str,
    ru: &'static str,
}

impl Currency {
    /// The shop's price of a product in this currency, in minor units. Integer maths only, so
    /// `amount == sum(quantity * unit_price)` holds exactly.
    fn price(&self, usd_cents: u32) -> i64 {
        let minor_per_major = 10u64.pow(u32::from(self.decimals));
        let raw = u64::from(usd_cents) * self.rate * minor_per_major / 1_000_000;
        let raw = i64::try_from(raw).unwrap_or(i64::MAX / 2);
        let rounded = (raw + self.step - 1) / self.step * self.step;
        (rounded - self.tail).max(self.step)
    }

    fn word(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Ar => self.ar,
            Lang::Ru => self.ru,
            Lang::En => self.code,
        }
    }
}

struct Origin {
    country: &'static str,
    calling_code: &'static str,
    /// Per mille of contacts.
    weight: u32,
    /// Leading digits of valid mobile national numbers; every digit after them is free.
    prefixes: &'static [&'static str],
    /// Digits after the prefix.
    sub_digits: u32,
    /// Lowest first digit after the prefix (2 for US exchanges, else 0).
    sub_first_min: u64,
    /// US only: the city of each area code in `prefixes`.
    prefix_city: &'static [u8],
    cities: &'static [City],
    currency: Currency,
    /// Weights of ar, ru, en.
    langs: [u32; 3],
    names: NameGroup,
    local: LocalStyle,
    domains: &'static [(&'static str, u32)],
    /// Weekend days, 0 = Sunday.
    weekend: [u8; 2],
}

impl Origin {
    fn subscriber_space(&self) -> u64 {
        (10 - self.sub_first_min) * 10u64.pow(self.sub_digits - 1)
    }
    fn capacity(&self) -> u64 {
        self.prefixes.len() as u64 * self.subscriber_space()
    }
    fn native_lang(&self) -> Lang {
        match self.names {
            NameGroup::Gulf | NameGroup::Egypt => Lang::Ar,
            NameGroup::Russia => Lang::Ru,
            NameGroup::English => Lang::En,
        }
    }
}

const GULF_DOMAINS: &[(&str, u32)] = &[("gmail.com", 55), ("hotmail.com", 25), ("outlook.com", 20)];
const RU_DOMAINS: &[(&str, u32)] = &[("mail.ru", 40), ("yandex.ru", 35), ("gmail.com", 25)];
const EN_DOMAINS: &[(&str, u32)] = &[("gmail.com", 60), ("outlook.com", 25), ("hotmail.com", 15)];
const FRI_SAT: [u8; 2] = [5, 6];
const SAT_SUN: [u8; 2] = [6, 0];

const fn city(
    en: &'static str,
    native: &'static str,
    tz: &'static str,
    utc_offset_h: i64,
    weight: u32,
) -> City {
    City {
        en,
        native,
        tz,
        utc_offset_h,
        weight,
    }
}

const fn currency(
    code: &'static str,
    decimals: u8,
    rate: u64,
    step: i64,
    tail: i64,
    ar: &'static str,
    ru: &'static str,
) -> Currency {
    Currency {
        code,
        decimals,
        rate,
        step,
        tail,
        ar,
        ru,
    }
}

static ORIGINS: &[Origin] = &[
    Origin {
        country: "SA",
        calling_code: "966",
        weight: 250,
        // 5[013-689]\d{7} is mobile in libphonenumber's metadata.
        prefixes: &["50", "53", "54", "55", "56", "58", "59", "51"],
        sub_digits: 7,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Riyadh", "الرياض", "Asia/Riyadh", 3, 35),
            city("Jeddah", "جدة", "Asia/Riyadh", 3, 25),
            city("Dammam", "الدمام", "Asia/Riyadh", 3, 10),
            city("Mecca", "مكة", "Asia/Riyadh", 3, 8),
            city("Medina", "المدينة المنورة", "Asia/Riyadh", 3, 7),
            city("Khobar", "الخبر", "Asia/Riyadh", 3, 7),
            city("Taif", "الطائف", "Asia/Riyadh", 3, 4),
            city("Abha", "أبها", "Asia/Riyadh", 3, 4),
        ],
        currency: currency("SAR", 2, 37_500, 50, 0, "ريال", "SAR"),
        langs: [85, 0, 15],
        names: NameGroup::Gulf,
        local: LocalStyle::Gulf9,
        domains: GULF_DOMAINS,
        weekend: FRI_SAT,
    },
    Origin {
        country: "AE",
        calling_code: "971",
        weight: 150,
        prefixes: &["50", "52", "54", "55", "56", "58"],
        sub_digits: 7,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Dubai", "دبي", "Asia/Dubai", 4, 40),
            city("Abu Dhabi", "أبوظبي", "Asia/Dubai", 4, 25),
            city("Sharjah", "الشارقة", "Asia/Dubai", 4, 18),
            city("Ajman", "عجمان", "Asia/Dubai", 4, 7),
            city("Al Ain", "العين", "Asia/Dubai", 4, 6),
            city("Ras Al Khaimah", "رأس الخيمة", "Asia/Dubai", 4, 4),
        ],
        currency: currency("AED", 2, 36_730, 50, 0, "درهم", "AED"),
        langs: [75, 0, 25],
        names: NameGroup::Gulf,
        local: LocalStyle::Gulf9,
        domains: GULF_DOMAINS,
        weekend: SAT_SUN,
    },
    Origin {
        country: "EG",
        calling_code: "20",
        weight: 200,
        prefixes: &["10", "11", "12", "15"],
        sub_digits: 8,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Cairo", "القاهرة", "Africa/Cairo", 2, 40),
            city("Giza", "الجيزة", "Africa/Cairo", 2, 18),
            city("Alexandria", "الإسكندرية", "Africa/Cairo", 2, 20),
            city("Mansoura", "المنصورة", "Africa/Cairo", 2, 8),
            city("Tanta", "طنطا", "Africa/Cairo", 2, 6),
            city("Asyut", "أسيوط", "Africa/Cairo", 2, 4),
            city("Hurghada", "الغردقة", "Africa/Cairo", 2, 4),
        ],
        currency: currency("EGP", 2, 485_000, 500, 0, "جنيه", "EGP"),
        langs: [95, 0, 5],
        names: NameGroup::Egypt,
        local: LocalStyle::Egypt,
        domains: GULF_DOMAINS,
        weekend: FRI_SAT,
    },
    Origin {
        country: "RU",
        calling_code: "7",
        weight: 200,
        prefixes: &[
            "900", "901", "902", "903", "904", "905", "906", "908", "909", "910", "911", "912",
            "913", "914", "915", "916", "917", "918", "919", "920", "921", "922", "923", "925",
            "926", "927", "928", "929", "950", "951", "952", "953", "958", "960", "961", "962",
            "963", "964", "965", "966", "967", "968", "977", "978", "980", "981", "982", "983",
            "985", "987", "988", "989", "991", "992", "993", "995", "996", "999",
        ],
        sub_digits: 7,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Moscow", "Москва", "Europe/Moscow", 3, 35),
            city(
                "Saint Petersburg",
                "Санкт-Петербург",
                "Europe/Moscow",
                3,
                15,
            ),
            city("Kazan", "Казань", "Europe/Moscow", 3, 7),
            city("Nizhny Novgorod", "Нижний Новгород", "Europe/Moscow", 3, 5),
            city("Krasnodar", "Краснодар", "Europe/Moscow", 3, 7),
            city("Rostov-on-Don", "Ростов-на-Дону", "Europe/Moscow", 3, 5),
            city("Yekaterinburg", "Екатеринбург", "Asia/Yekaterinburg", 5, 9),
            city("Chelyabinsk", "Челябинск", "Asia/Yekaterinburg", 5, 4),
            city("Novosibirsk", "Новосибирск", "Asia/Novosibirsk", 7, 8),
        ],
        currency: currency("RUB", 2, 900_000, 10_000, 1_000, "روبل", "₽"),
        langs: [0, 97, 3],
        names: NameGroup::Russia,
        local: LocalStyle::Russia,
        domains: RU_DOMAINS,
        weekend: SAT_SUN,
    },
    Origin {
        country: "US",
        calling_code: "1",
        weight: 80,
        // Real area codes; the city (and so the time zone) follows the area code.
        prefixes: &[
            "212", "646", "718", "917", "347", "617", "305", "786", "404", "678", "312", "773",
            "872", "713", "832", "214", "469", "213", "310", "323", "424", "818", "415", "206",
        ],
        sub_digits: 7,
        sub_first_min: 2,
        prefix_city: &[
            0, 0, 0, 0, 0, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 7, 7, 7, 7, 8, 9,
        ],
        cities: &[
            city("New York", "New York", "America/New_York", -5, 0),
            city("Boston", "Boston", "America/New_York", -5, 0),
            city("Miami", "Miami", "America/New_York", -5, 0),
            city("Atlanta", "Atlanta", "America/New_York", -5, 0),
            city("Chicago", "Chicago", "America/Chicago", -6, 0),
            city("Houston", "Houston", "America/Chicago", -6, 0),
            city("Dallas", "Dallas", "America/Chicago", -6, 0),
            city("Los Angeles", "Los Angeles", "America/Los_Angeles", -8, 0),
            city(
                "San Francisco",
                "San Francisco",
                "America/Los_Angeles",
                -8,
                0,
            ),
            city("Seattle", "Seattle", "America/Los_Angeles", -8, 0),
        ],
        currency: currency("USD", 2, 10_000, 100, 1, "دولار", "$"),
        langs: [3, 3, 94],
        names: NameGroup::English,
        local: LocalStyle::Us,
        domains: EN_DOMAINS,
        weekend: SAT_SUN,
    },
    Origin {
        country: "GB",
        calling_code: "44",
        weight: 70,
        prefixes: &[
            "740", "741", "742", "743", "744", "746", "747", "748", "749", "751", "753", "754",
            "755", "756", "757", "758", "759", "771", "772", "773", "774", "775", "776", "777",
            "780", "781", "784", "785", "786", "787", "788", "789", "790", "792", "794", "795",
            "796", "797", "798", "799",
        ],
        sub_digits: 7,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("London", "London", "Europe/London", 0, 45),
            city("Manchester", "Manchester", "Europe/London", 0, 12),
            city("Birmingham", "Birmingham", "Europe/London", 0, 12),
            city("Leeds", "Leeds", "Europe/London", 0, 7),
            city("Glasgow", "Glasgow", "Europe/London", 0, 7),
            city("Liverpool", "Liverpool", "Europe/London", 0, 6),
            city("Bristol", "Bristol", "Europe/London", 0, 6),
        ],
        currency: currency("GBP", 2, 7_900, 100, 1, "جنيه إسترليني", "£"),
        langs: [4, 2, 94],
        names: NameGroup::English,
        local: LocalStyle::Uk,
        domains: EN_DOMAINS,
        weekend: SAT_SUN,
    },
    Origin {
        country: "KW",
        calling_code: "965",
        weight: 20,
        prefixes: &["50", "55", "66", "90", "94", "96", "97", "99"],
        sub_digits: 6,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Kuwait City", "مدينة الكويت", "Asia/Kuwait", 3, 40),
            city("Hawalli", "حولي", "Asia/Kuwait", 3, 25),
            city("Salmiya", "السالمية", "Asia/Kuwait", 3, 20),
            city("Jahra", "الجهراء", "Asia/Kuwait", 3, 15),
        ],
        currency: currency("KWD", 3, 3_070, 250, 0, "دينار", "KWD"),
        langs: [80, 0, 20],
        names: NameGroup::Gulf,
        local: LocalStyle::Gulf8,
        domains: GULF_DOMAINS,
        weekend: FRI_SAT,
    },
    Origin {
        country: "QA",
        calling_code: "974",
        weight: 15,
        prefixes: &["33", "55", "66", "70", "77"],
        sub_digits: 6,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Doha", "الدوحة", "Asia/Qatar", 3, 70),
            city("Al Rayyan", "الريان", "Asia/Qatar", 3, 20),
            city("Al Wakrah", "الوكرة", "Asia/Qatar", 3, 10),
        ],
        currency: currency("QAR", 2, 36_400, 50, 0, "ريال قطري", "QAR"),
        langs: [80, 0, 20],
        names: NameGroup::Gulf,
        local: LocalStyle::Gulf8,
        domains: GULF_DOMAINS,
        weekend: FRI_SAT,
    },
    Origin {
        country: "BH",
        calling_code: "973",
        weight: 15,
        prefixes: &["32", "33", "34", "35", "36", "37", "39"],
        sub_digits: 6,
        sub_first_min: 0,
        prefix_city: &[],
        cities: &[
            city("Manama", "المنامة", "Asia/Bahrain", 3, 60),
            city("Muharraq", "المحرق", "Asia/Bahrain", 3, 25),
            city("Riffa", "الرفاع", "Asia/Bahrain", 3, 15),
        ],
        currency: currency("BHD", 3, 3_760, 250, 0, "دينار", "BHD"),
        langs: [80, 0, 20],
        names: NameGroup::Gulf,
        local: LocalStyle::Gulf8,
        domains: GULF_DOMAINS,
        weekend: FRI_SAT,
    },
];

/// A list of strings per language.
struct Localized {
    en: &'static [&'static str],
    ar: &'static [&'static str],
    ru: &'static [&'static str],
}

impl Localized {
    fn get(&self, lang: Lang) -> &'static [&'static str] {
        match lang {
            Lang::Ar => self.ar,
            Lang::Ru => self.ru,
            Lang::En => self.en,
        }
    }
}

const WEIGHTS: Localized = Localized {
    en: &["1 kg", "2 kg", "5 kg", "10 kg"],
    ar: &["1 كيلو", "2 كيلو", "5 كيلو", "10 كيلو"],
    ru: &["1 кг", "2 кг", "5 кг", "10 кг"],
};
const VOLUMES: Localized = Localized {
    en: &["50 ml", "100 ml", "200 ml"],
    ar: &["50 مل", "100 مل", "200 مل"],
    ru: &["50 мл", "100 мл", "200 мл"],
};
const LITRES: Localized = Localized {
    en: &["500 ml", "1 L", "5 L"],
    ar: &["500 مل", "1 لتر", "5 لتر"],
    ru: &["500 мл", "1 л", "5 л"],
};
const CLOTHES: Localized = Localized {
    en: &["S", "M", "L", "XL", "XXL"],
    ar: &["S", "M", "L", "XL", "XXL"],
    ru: &["S", "M", "L", "XL", "XXL"],
};
const ABAYA_SIZES: Localized = Localized {
    en: &["52", "54", "56", "58", "60"],
    ar: &["52", "54", "56", "58", "60"],
    ru: &["52", "54", "56", "58", "60"],
};
const SHOES: Localized = Localized {
    en: &["40", "41", "42", "43", "44", "45"],
    ar: &["40", "41", "42", "43", "44", "45"],
    ru: &["40", "41", "42", "43", "44", "45"],
};
const PHONES: Localized = Localized {
    en: &["iPhone 15", "iPhone 16 Pro", "Galaxy S24", "Redmi Note 13"],
    ar: &["iPhone 15", "iPhone 16 Pro", "Galaxy S24", "Redmi Note 13"],
    ru: &["iPhone 15", "iPhone 16 Pro", "Galaxy S24", "Redmi Note 13"],
};
const CAPACITIES: Localized = Localized {
    en: &["10000 mAh", "20000 mAh"],
    ar: &["10000 mAh", "20000 mAh"],
    ru: &["10000 mAh", "20000 mAh"],
};
const COLOURS: Localized = Localized {
    en: &[
        "black", "white", "navy", "beige", "grey", "red", "olive", "pink",
    ],
    ar: &[
        "أسود",
        "أبيض",
        "كحلي",
        "بيج",
        "رمادي",
        "أحمر",
        "زيتي",
        "وردي",
    ],
    ru: &[
        "чёрный",
        "белый",
        "тёмно-синий",
        "бежевый",
        "серый",
        "красный",
        "оливковый",
        "розовый",
    ],
};

struct Product {
    sku: &'static str,
    slug: &'static str,
    /// Name on order lines.
    name_en: &'static str,
    /// Names in conversation.
    name: &'static str,
    name_ar: &'static str,
    name_ar_eg: &'static str,
    name_ru: &'static str,
    price_usd_cents: u32,
    /// Typical repurchase interval in days; 0 for one-off purchases.
    cycle_days: u32,
    sizes: &'static Localized,
    coloured: bool,
    /// Sizes are worn or fitted (clothes, shoes, phone models), so "doesn't fit" makes sense.
    fits: bool,
    weight: u32,
}

#[allow(clippy::too_many_arguments)]
const fn product(
    sku: &'static str,
    slug: &'static str,
    name_en: &'static str,
    name: &'static str,
    name_ar: &'static str,
    name_ar_eg: &'static str,
    name_ru: &'static str,
    price_usd_cents: u32,
    cycle_days: u32,
    sizes: &'static Localized,
    coloured: bool,
    fits: bool,
    weight: u32,
) -> Product {
    Product {
        sku,
        slug,
        name_en,
        name,
        name_ar,
        name_ar_eg,
        name_ru,
        price_usd_cents,
        cycle_days,
        sizes,
        coloured,
        fits,
        weight,
    }
}

// Columns: sku, slug, order-line name, then conversation names (en, ar Gulf, ar Egyptian, ru),
// price in US cents, repurchase cycle in days, sizes, coloured, fitted sizes, popularity.
#[rustfmt::skip]
static PRODUCTS: &[Product] = &[
    product("CAT-FOOD-2KG", "cat-food-2kg", "Cat food 2 kg", "cat food", "أكل القطط", "أكل القطط", "корм для кошек", 3320, 35, &WEIGHTS, false, false, 14),
    product("DOG-FOOD-10KG", "dog-food-10kg", "Dog food 10 kg", "dog food", "أكل الكلاب", "أكل الكلاب", "корм для собак", 5900, 30, &WEIGHTS, false, false, 8),
    product("CAT-LITTER-10L", "cat-litter-10l", "Cat litter 10 L", "cat litter", "رمل القطط", "رمل القطط", "наполнитель для лотка", 1500, 21, &WEIGHTS, false, false, 7),
    product("COFFEE-BEANS-1KG", "coffee-beans-1kg", "Coffee beans 1 kg", "coffee beans", "حبوب القهوة", "البن", "кофе в зёрнах", 2800, 28, &WEIGHTS, false, false, 9),
    product("DATES-BOX-1KG", "dates-box-1kg", "Premium dates box 1 kg", "dates box", "علبة التمر", "علبة البلح", "коробка фиников", 2400, 30, &WEIGHTS, false, false, 6),
    product("OLIVE-OIL-1L", "olive-oil-1l", "Olive oil 1 L", "olive oil", "زيت الزيتون", "زيت الزيتون", "оливковое масло", 1400, 30, &LITRES, false, false, 5),
    product("FACE-CREAM-50ML", "face-cream-50ml", "Face cream 50 ml", "face cream", "كريم الوجه", "كريم الوش", "крем для лица", 3500, 60, &VOLUMES, false, false, 7),
    product("OUD-PERFUME-100ML", "oud-perfume-100ml", "Oud perfume 100 ml", "oud perfume", "عطر العود", "برفان العود", "парфюм с удом", 8900, 90, &VOLUMES, false, false, 8),
    product("ABAYA-CLASSIC", "abaya-classic", "Classic abaya", "abaya", "العباية", "العباية", "абайя", 12000, 0, &ABAYA_SIZES, true, true, 6),
    product("SNEAKERS-RUN", "sneakers-run", "Running sneakers", "running shoes", "الحذاء الرياضي", "الكوتشي", "кроссовки", 9500, 0, &SHOES, true, true, 8),
    product("HOODIE-BASIC", "hoodie-basic", "Basic hoodie", "hoodie", "الهودي", "الهودي", "худи", 4500, 0, &CLOTHES, true, true, 7),
    product("PHONE-CASE", "phone-case", "Phone case", "phone case", "كفر الجوال", "جراب الموبايل", "чехол для телефона", 1900, 0, &PHONES, true, true, 7),
    product("POWER-BANK-20K", "power-bank-20k", "Power bank", "power bank", "الباور بانك", "الباور بانك", "повербанк", 3900, 0, &CAPACITIES, true, false, 5),
];

/// Campaign names: the first three name WhatsApp links, the rest rotate for newsletters.
const CAMPAIGNS: &[&str] = &[
    "wa-catalog",
    "wa-promo",
    "wa-new-arrivals",
    "newsletter",
    "new-arrivals",
    "flash-sale",
    "care-tips",
    "weekend-deals",
    "vip-early-access",
    "back-in-stock",
];

const PROMO_CODES: &[&str] = &[
    "STOKE10",
    "WELCOME10",
    "VIP15",
    "SAVE15",
    "FRIEND10",
    "FLASH20",
];

/// The first three are the ones companies get most.
const TAGS: &[&str] = &[
    "wholesale",
    "b2b",
    "reseller",
    "retail",
    "vip",
    "instagram-lead",
    "facebook-lead",
    "referral",
    "expo-2025",
    "cat-owner",
    "dog-owner",
    "gift-buyer",
];

// -- names ------------------------------------------------------------------------------------

#[rustfmt::skip]
const GULF_MALE: &[(&str, &str)] = &[
    ("محمد", "Mohammed"), ("عبدالله", "Abdullah"), ("فهد", "Fahad"), ("سعود", "Saud"),
    ("خالد", "Khalid"), ("سلطان", "Sultan"), ("ناصر", "Nasser"), ("تركي", "Turki"),
    ("فيصل", "Faisal"), ("عبدالرحمن", "Abdulrahman"), ("سلمان", "Salman"), ("بندر", "Bandar"),
    ("ماجد", "Majed"), ("راشد", "Rashid"), ("حمد", "Hamad"), ("منصور", "Mansour"),
    ("يوسف", "Yousef"), ("عمر", "Omar"), ("علي", "Ali"), ("نايف", "Nayef"),
    ("مشعل", "Mishal"), ("بدر", "Badr"), ("حمدان", "Hamdan"), ("سيف", "Saif"),
    ("زايد", "Zayed"),
];
#[rustfmt::skip]
const GULF_FEMALE: &[(&str, &str)] = &[
    ("نورة", "Noura"), ("فاطمة", "Fatima"), ("سارة", "Sarah"), ("مريم", "Maryam"),
    ("العنود", "Alanoud"), ("ريم", "Reem"), ("هيا", "Haya"), ("لطيفة", "Latifa"),
    ("منى", "Mona"), ("عائشة", "Aisha"), ("شيخة", "Shaikha"), ("الجوهرة", "Aljawhara"),
    ("دانة", "Dana"), ("لولوة", "Lulwa"), ("حصة", "Hessa"), ("أمل", "Amal"),
    ("نوف", "Nouf"), ("غادة", "Ghada"), ("شهد", "Shahad"), ("روان", "Rawan"),
];
#[rustfmt::skip]
const GULF_FAMILY: &[(&str, &str)] = &[
    ("القحطاني", "Al-Qahtani"), ("العتيبي", "Al-Otaibi"), ("الدوسري", "Al-Dosari"),
    ("الشمري", "Al-Shammari"), ("الحربي", "Al-Harbi"), ("الغامدي", "Al-Ghamdi"),
    ("الزهراني", "Al-Zahrani"), ("المطيري", "Al-Mutairi"), ("السبيعي", "Al-Subaie"),
    ("الشهري", "Al-Shehri"), ("العنزي", "Al-Anazi"), ("المالكي", "Al-Malki"),
    ("البلوشي", "Al-Balushi"), ("الكعبي", "Al-Kaabi"), ("المنصوري", "Al-Mansouri"),
    ("النعيمي", "Al-Nuaimi"), ("الهاجري", "Al-Hajri"), ("الكواري", "Al-Kuwari"),
    ("المري", "Al-Marri"), ("الظاهري", "Al-Dhaheri"), ("الفلاسي", "Al-Falasi"),
    ("السويدي", "Al-Suwaidi"), ("المهيري", "Al-Muhairi"), ("العجمي", "Al-Ajmi"),
    ("الرشيدي", "Al-Rashidi"), ("البوعينين", "Al-Buainain"),
];
#[rustfmt::skip]
const EGYPT_MALE: &[(&str, &str)] = &[
    ("أحمد", "Ahmed"), ("محمد", "Mohamed"), ("محمود", "Mahmoud"), ("مصطفى", "Mostafa"),
    ("عمرو", "Amr"), ("كريم", "Karim"), ("حسام", "Hossam"), ("شريف", "Sherif"),
    ("طارق", "Tarek"), ("هشام", "Hesham"), ("وليد", "Walid"), ("إسلام", "Eslam"),
    ("مينا", "Mina"), ("بيشوي", "Bishoy"), ("أيمن", "Ayman"), ("ياسر", "Yasser"),
    ("حازم", "Hazem"), ("عمر", "Omar"), ("يوسف", "Youssef"), ("إبراهيم", "Ibrahim"),
];
#[rustfmt::skip]
const EGYPT_FEMALE: &[(&str, &str)] = &[
    ("منى", "Mona"), ("ياسمين", "Yasmin"), ("نورهان", "Nourhan"), ("آية", "Aya"),
    ("دينا", "Dina"), ("رانيا", "Rania"), ("مريم", "Mariam"), ("هبة", "Heba"),
    ("سلمى", "Salma"), ("إسراء", "Esraa"), ("شيماء", "Shaimaa"), ("مي", "Mai"),
    ("نهى", "Noha"), ("منة", "Menna"), ("هالة", "Hala"),
];
#[rustfmt::skip]
const EGYPT_FAMILY: &[(&str, &str)] = &[
    ("عبد الفتاح", "Abdel Fattah"), ("السيد", "El Sayed"), ("حسن", "Hassan"),
    ("إبراهيم", "Ibrahim"), ("مصطفى", "Mostafa"), ("عبد الرحمن", "Abdel Rahman"),
    ("الشريف", "El Sherif"), ("منصور", "Mansour"), ("فوزي", "Fawzy"), ("شحاتة", "Shehata"),
    ("عثمان", "Osman"), ("جرجس", "Girgis"), ("حنا", "Hanna"), ("سليمان", "Soliman"),
    ("عبد العزيز", "Abdel Aziz"), ("النجار", "El Naggar"), ("الشناوي", "El Shenawy"),
    ("سعيد", "Said"), ("رمضان", "Ramadan"), ("فهمي", "Fahmy"),
];
#[rustfmt::skip]
const RU_MALE: &[(&str, &str)] = &[
    ("Александр", "Aleksandr"), ("Сергей", "Sergey"), ("Дмитрий", "Dmitry"), ("Андрей", "Andrey"),
    ("Алексей", "Aleksey"), ("Максим", "Maksim"), ("Иван", "Ivan"), ("Михаил", "Mikhail"),
    ("Никита", "Nikita"), ("Артём", "Artem"), ("Евгений", "Evgeny"), ("Владимир", "Vladimir"),
    ("Павел", "Pavel"), ("Роман", "Roman"), ("Олег", "Oleg"), ("Игорь", "Igor"),
    ("Николай", "Nikolay"), ("Денис", "Denis"), ("Кирилл", "Kirill"), ("Антон", "Anton"),
];
#[rustfmt::skip]
const RU_FEMALE: &[(&str, &str)] = &[
    ("Анна", "Anna"), ("Мария", "Maria"), ("Елена", "Elena"), ("Ольга", "Olga"),
    ("Наталья", "Natalya"), ("Татьяна", "Tatyana"), ("Ирина", "Irina"), ("Екатерина", "Ekaterina"),
    ("Светлана", "Svetlana"), ("Юлия", "Yulia"), ("Анастасия", "Anastasia"), ("Дарья", "Darya"),
    ("Марина", "Marina"), ("Ксения", "Ksenia"), ("Алина", "Alina"), ("Виктория", "Viktoria"),
    ("Полина", "Polina"), ("Людмила", "Lyudmila"), ("Софья", "Sofya"), ("Валентина", "Valentina"),
];
/// Male forms; feminine forms are derived (Иванов/Иванова, Вишневский/Вишневская).
#[rustfmt::skip]
const RU_SURNAMES: &[(&str, &str)] = &[
    ("Иванов", "Ivanov"), ("Смирнов", "Smirnov"), ("Кузнецов", "Kuznetsov"), ("Попов", "Popov"),
    ("Васильев", "Vasilyev"), ("Петров", "Petrov"), ("Соколов", "Sokolov"), ("Михайлов", "Mikhaylov"),
    ("Новиков", "Novikov"), ("Фёдоров", "Fedorov"), ("Морозов", "Morozov"), ("Волков", "Volkov"),
    ("Алексеев", "Alekseev"), ("Лебедев", "Lebedev"), ("Семёнов", "Semenov"), ("Егоров", "Egorov"),
    ("Павлов", "Pavlov"), ("Козлов", "Kozlov"), ("Степанов", "Stepanov"), ("Николаев", "Nikolaev"),
    ("Орлов", "Orlov"), ("Макаров", "Makarov"), ("Никитин", "Nikitin"), ("Захаров", "Zakharov"),
    ("Зайцев", "Zaytsev"), ("Борисов", "Borisov"), ("Яковлев", "Yakovlev"), ("Романов", "Romanov"),
    ("Вишневский", "Vishnevsky"), ("Ковалевский", "Kovalevsky"), ("Коваленко", "Kovalenko"),
    ("Шевченко", "Shevchenko"),
];
#[rustfmt::skip]
const RU_PATRONYMICS: &[(&str, &str)] = &[
    ("Александрович", "Александровна"), ("Сергеевич", "Сергеевна"), ("Дмитриевич", "Дмитриевна"),
    ("Андреевич", "Андреевна"), ("Алексеевич", "Алексеевна"), ("Иванович", "Ивановна"),
    ("Михайлович", "Михайловна"), ("Владимирович", "Владимировна"), ("Николаевич", "Николаевна"),
    ("Викторович", "Викторовна"), ("Петрович", "Петровна"), ("Юрьевич", "Юрьевна"),
];
#[rustfmt::skip]
const EN_MALE: &[&str] = &[
    "James", "John", "Michael", "David", "Robert", "William", "Daniel", "Matthew", "Christopher",
    "Joseph", "Thomas", "Andrew", "Ryan", "Oliver", "Harry", "George", "Jack", "Ethan", "Noah",
    "Liam", "Raj", "Arjun",
];
#[rustfmt::skip]
const EN_FEMALE: &[&str] = &[
    "Mary", "Jennifer", "Sarah", "Jessica", "Emily", "Emma", "Olivia", "Sophie", "Charlotte",
    "Amelia", "Ashley", "Megan", "Rachel", "Laura", "Hannah", "Grace", "Chloe", "Lucy", "Madison",
    "Abigail", "Priya", "Maria",
];
#[rustfmt::skip]
const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
    "Taylor", "Anderson", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White",
    "Harris", "Clark", "Lewis", "Walker", "Hall", "Young", "Evans", "Roberts", "Wright", "Green",
    "O'Brien", "Patel", "Khan", "Nguyen", "Fernandes", "Santos",
];
const COMPANIES_GULF: &[(&str, &str)] = &[
    ("مؤسسة النور التجارية", "Al Noor Trading LLC"),
    ("شركة الريان للتجارة", "Al Rayyan Trading Co."),
    ("مؤسسة الواحة للعطور", "Al Waha Perfumes Est."),
    ("شركة الخليج للتموين", "Gulf Catering Supplies LLC"),
    ("متجر زهرة الصحراء", "Desert Rose Store"),
    ("شركة المدار الذهبي، فرع جدة", "Golden Orbit Trading, LLC"),
    ("مؤسسة بيت القهوة", "Coffee House Est."),
    ("شركة دار الحيوانات الأليفة", "Pet House Trading"),
];
const COMPANIES_EGYPT: &[(&str, &str)] = &[
    ("شركة النيل للاستيراد والتصدير", "Nile Import & Export"),
    ("مكتبة الأمل", "Al Amal Bookstore"),
    ("شركة الدلتا للتجارة", "Delta Trading Co."),
    ("صيدلية الشفاء", "El Shifa Pharmacy"),
    ("شركة القاهرة للمستلزمات", "Cairo Supplies, S.A.E."),
];
const COMPANIES_RU: &[(&str, &str)] = &[
    ("ООО Ромашка", "OOO Romashka"),
    ("ООО «Вектор»", "OOO Vektor"),
    ("ИП Смирнов А. В.", "IP Smirnov A. V."),
    ("ООО \"Зоомир\"", "OOO Zoomir"),
    ("АО «СеверТорг»", "AO SeverTorg"),
    ("ООО Кофейный двор, филиал Казань", "OOO Kofeyny Dvor"),
    ("ИП Кузнецова Е. А.", "IP Kuznetsova E. A."),
];
const COMPANIES_EN: &[(&str, &str)] = &[
    ("Acme Pet Supplies LLC", "Acme Pet Supplies LLC"),
    ("Smith & Sons, Ltd", "Smith & Sons, Ltd"),
    ("Blue Harbor Coffee Co.", "Blue Harbor Coffee Co."),
    ("Northwind Traders Inc.", "Northwind Traders Inc."),
    ("Green Valley Farms, LLC", "Green Valley Farms, LLC"),
    ("Baker Street \"Boutique\" Ltd", "Baker Street Boutique Ltd"),
];

// -- notes ------------------------------------------------------------------------------------

const EN_NOTE_FORMATS: &[&str] = &[
    "prefers text",
    "prefers voice",
    "prefers text+image",
    "prefers video",
];
const RU_NOTE_FORMATS: &[&str] = &[
    "предпочитает текст",
    "предпочитает голосовые",
    "предпочитает текст с картинками",
    "предпочитает видео",
];
const AR_NOTE_FORMATS: &[&str] = &[
    "يفضل الرسائل النصية",
    "يفضل الرسائل الصوتية",
    "يفضل نص مع صور",
    "يفضل الفيديو",
];
/// First: office hours; last: evenings (matched to the contact's window).
const EN_NOTE_WINDOWS: &[&str] = &[
    "Mon-Fri 9:00-18:00",
    "Mon-Fri 10:00-14:00",
    "Sun-Thu 10:00-14:00",
    "Sat-Sun 12:00-20:00",
    "daily 20:00-23:00",
];
const RU_NOTE_WINDOWS: &[&str] = &[
    "Пн-Пт 9:00-18:00",
    "Пн-Пт 10:00-14:00",
    "Сб-Вс 12:00-20:00",
    "ежедневно 20:00-23:00",
];
const AR_NOTE_WINDOWS: &[&str] = &[
    "الأحد-الخميس 9:00-18:00",
    "الأحد-الخميس 10:00-14:00",
    "السبت-الأربعاء 16:00-22:00",
    "يومياً 20:00-23:00",
];
const EN_NOTE_CAPS: &[&str] = &["max 1 per week", "max 2 per week", "max 3 per week"];
const RU_NOTE_CAPS: &[&str] = &[
    "не более 1 в неделю",
    "не более 2 в неделю",
    "не более 3 в неделю",
];
const AR_NOTE_CAPS: &[&str] = &[
    "رسالة واحدة في الأسبوع كحد أقصى",
    "رسالتين في الأسبوع كحد أقصى",
    "3 رسائل في الأسبوع كحد أقصى",
];
const EN_NOTES: &[&str] = &[
    "Wholesale buyer, pays by bank transfer",
    "Call after 5pm, assistant: Sarah",
    "Met at the expo, interested in bulk orders",
    "Has 3 cats, buys every month",
    "Deliver to the office, 2nd floor, ask for reception",
    "VIP, \"always pays on time\"",
    "Asked for an invoice with VAT number",
    "Complained once about late delivery, handle with care",
];
const RU_NOTES: &[&str] = &[
    "Оптовик, оплата по счёту",
    "Звонить после обеда, бухгалтер Ольга",
    "Познакомились на выставке, интересует опт",
    "Две кошки, берёт корм каждый месяц",
    "Доставка в офис, 3 этаж, код 45",
    "Нужен счёт с НДС",
    "Постоянный клиент, «всегда платит вовремя»",
];
const AR_NOTES: &[&str] = &[
    "تاجر جملة، الدفع بتحويل بنكي",
    "يفضل التواصل بعد العصر",
    "تعرفنا عليه في المعرض، مهتم بالجملة",
    "عنده قطط، يطلب كل شهر",
    "التوصيل للمكتب، الدور الثاني",
    "طلب فاتورة ضريبية",
    "عميل قديم، \"دايم يدفع بوقته\"",
];

// -- phrase banks -----------------------------------------------------------------------------

/// What customers write, per bucket. The first phrase of each bank has no placeholder and no
/// dialect tag, so it is always a safe fallback.
struct CustomerBank {
    /// Purchase intent high: price, discount, availability, how to order (with typos).
    high: &'static [&'static str],
    /// Purchase intent medium: specs, weight, size, warranty, after-sales.
    medium: &'static [&'static str],
    /// Potential: only polite replies and emoji.
    polite: &'static [&'static str],
    /// None: "not needed now", refusals.
    refusal: &'static [&'static str],
    /// Negative sentiment.
    negative: &'static [&'static str],
    /// Opt-out keywords.
    stop: &'static [&'static str],
    discount: &'static [&'static str],
    new_product: &'static [&'static str],
    function: &'static [&'static str],
    education: &'static [&'static str],
    loyal: &'static [&'static str],
    salutation: &'static [&'static str],
}

/// What the business writes.
struct BusinessBank {
    greeting: &'static [&'static str],
    promo: &'static [&'static str],
    catalogue: &'static [&'static str],
    follow_up: &'static [&'static str],
    quote: &'static [&'static str],
    order_help: &'static [&'static str],
    spec: &'static [&'static str],
    guide: &'static [&'static str],
    thanks: &'static [&'static str],
    refusal_ack: &'static [&'static str],
    apology: &'static [&'static str],
    stop_confirm: &'static [&'static str],
    newsletter: &'static [&'static str],
    discount_code: &'static [&'static str],
    new_arrivals: &'static [&'static str],
}

static EN_CUSTOMER: CustomerBank = CustomerBank {
    high: &[
        "How much is it?",
        "How much is the {p}?",
        "What's the price of the {p} in {s}?",
        "price pls",
        "pirce for the {p}?",
        "how mcuh for 2?",
        "Do you have the {p} in {c}, size {z}?",
        "Is the {p} in stock?",
        "Any discount if I take 3?",
        "Can I order the {p} today? How do I pay?",
        "How do I place an order?",
        "What's your best price for the {p}?",
        "Can you deliver the {p} to {city}? How much?",
        "I want to order the {p} {s}, how?",
        "price and delivery cost to {city} please",
        "do u have it in {c}",
        "Still available? Need 2 of the {p}",
        "Can you send me the price list?",
        "hw much is shipping?",
        "Is it available now? I want to buy",
    ],
    medium: &[
        "What are the specs?",
        "What are the specs of the {p}?",
        "How much does the {p} weigh?",
        "What size is {z} exactly? Do you have a size chart?",
        "Is there a warranty on the {p}?",
        "How long is the warranty?",
        "What is the {p} made of?",
        "Can I return it if {z} doesn't fit?",
        "Do you offer after-sales service?",
        "What are the dimensions of the {p}?",
        "What's the difference between {s} and the bigger one?",
        "Is the {c} the same as in the photo?",
        "What's in the {p}? Ingredients/materials?",
        "does it come with a manual?",
        "How long does delivery to {city} take?",
        "Can I get it repaired if it breaks?",
        "what matrial is it",
        "How big is the {s} one?",
    ],
    polite: &[
        "Thanks",
        "Thank you!",
        "ok",
        "OK thanks",
        "Okay 👍",
        "👍",
        "🙏🙏",
        "👌",
        "Great, thanks!",
        "Noted, thank you",
        "thx",
        "Got it",
        "Appreciate it 🙏",
        "Sounds good",
        "Cool, thanks",
        "😊",
        "Thank you so much ❤️",
        "ok 👌",
    ],
    refusal: &[
        "Not needed now",
        "No thanks, not interested",
        "Not interested, thanks",
        "Maybe later",
        "I'll contact you when I need it",
        "Not right now, thank you",
        "We're fine for now",
        "No need at the moment",
        "I already bought elsewhere, thanks",
        "Too expensive for me, no thanks",
        "Nope, all good",
        "Not now, I'll let you know",
        "no thx",
        "Not for me, thanks",
        "I don't need it anymore",
        "We'll pass this time",
    ],
    negative: &[
        "This is bad",
        "Very bad quality",
        "I want a refund",
        "Refund please",
        "The {p} arrived broken",
        "Terrible service",
        "Still no delivery, this is bad",
        "Wrong size, I asked for {z}",
        "Wrong colour, I ordered {c}",
        "Nobody answers, awful",
        "Worst experience ever",
        "I want my money back",
        "The package was damaged",
        "It broke after a week",
        "Disappointed, refund now",
        "bad bad bad",
        "Why is it so late? Really bad",
        "Not what I ordered. Refund.",
    ],
    stop: &["STOP", "stop", "Stop", "unsubscribe", "UNSUBSCRIBE"],
    discount: &[
        "Any offer?",
        "When is the sale?",
        "Do you have a promo code?",
        "Any discount on the {p}?",
        "Is there a coupon for new customers?",
        "Will there be a Black Friday sale?",
        "Any deals this week?",
        "Can you do a better price?",
        "Do you have a discount for 2 or more?",
        "Is there a free shipping code?",
        "any promo?",
        "Waiting for the sale, when?",
        "Is the {p} on discount?",
        "Any cashback or offer?",
        "Student discount?",
        "Send me a code pls",
    ],
    new_product: &[
        "Anything new?",
        "What's the latest {p}?",
        "Is there an updated model of the {p}?",
        "Will you release new colours?",
        "When do new arrivals come?",
        "Do you have the new collection?",
        "Is this the newest version?",
        "Let me know when the new {p} is out",
        "Will you restock with new models?",
        "What's new this season?",
        "Have you got the latest version in {c}?",
        "any new stuff?",
        "I saw a new {p} on Instagram, do you have it?",
        "When is the next launch?",
        "Is the new model out yet?",
        "Any new flavours or versions coming?",
    ],
    function: &[
        "How does it compare to the cheaper one?",
        "How does the {p} compare to the cheaper one?",
        "Which one is more durable?",
        "Can you compare {s} vs the bigger size?",
        "Is it waterproof?",
        "Full specs please",
        "How long does it last?",
        "How does your {p} compare with other brands?",
        "What's the weight of the {s}?",
        "Which one is better quality?",
        "Is the material durable?",
        "What does the warranty cover exactly?",
        "Spec sheet?",
        "Difference between the two models?",
        "Is it lighter than the old one?",
        "Technical details please",
    ],
    education: &[
        "How do I use it?",
        "How do I use the {p}?",
        "Any tips on care and maintenance?",
        "How to clean the {p}?",
        "Is there a tutorial?",
        "How should I store the {p}?",
        "Do you have a guide for beginners?",
        "How often should I replace it?",
        "Any video on how to set it up?",
        "How to wash it without damaging the {c}?",
        "Any tips for first-time buyers?",
        "Where can I read about the latest trends?",
        "How to choose the right size?",
        "Is there a manual in English?",
        "How to make it last longer?",
        "Care instructions please",
    ],
    loyal: &[
        "I've used your products for years",
        "I recommended you to friends",
        "Always happy with your shop",
        "My sister ordered because of me 😄",
        "You're the best, will order again",
        "Third order from you, love it",
        "Told my colleagues about you",
        "Best {p} I've tried",
        "I only buy from you now",
        "Keep it up, great service",
        "Recommended you on Instagram",
        "Loyal customer here 🙌",
        "My friends want the same {p}",
        "Your quality never disappoints",
        "Been with you since the first order",
        "I always come back to you",
    ],
    salutation: &["Hi", "Hello", "Hey", "Good morning", "Hi there"],
};

static RU_CUSTOMER: CustomerBank = CustomerBank {
    high: &[
        "Сколько стоит?",
        "Сколько стоит {p}?",
        "скока стоит {p}?",
        "сколько стоет {p} {s}?",
        "Цена?",
        "почём {p}?",
        "Какая цена на {p}, цвет {c}?",
        "Есть в наличии {p} {s}?",
        "а {c} есть?",
        "Как заказать?",
        "Хочу заказать {p}, как оплатить?",
        "Скидка будет, если возьму 3?",
        "Доставка в {city} сколько?",
        "Можно оформить заказ на {p}?",
        "Пришлите прайс, пожалуйста",
        "цену скиньте",
        "есть ещё {p}? надо 2 шт",
        "Сколько будет с доставкой?",
        "скок стоит доставка?",
    ],
    medium: &[
        "Какие характеристики?",
        "Какие характеристики у товара {p}?",
        "Сколько весит?",
        "Какой размер у {z}? Есть размерная сетка?",
        "Гарантия есть?",
        "Какая гарантия на {p}?",
        "Из какого материала?",
        "Что входит в комплект?",
        "Можно вернуть, если {z} не подойдёт?",
        "Есть сервис после покупки?",
        "Какие габариты?",
        "Чем отличается {s} от большего?",
        "Цвет {c} как на фото?",
        "Какой состав?",
        "Инструкция на русском есть?",
        "Сколько идёт доставка в {city}?",
        "Если сломается, ремонтируете?",
        "а материал какой",
    ],
    polite: &[
        "Спасибо",
        "спс",
        "Спасибо большое!",
        "ок",
        "Ок, понятно",
        "Хорошо",
        "Понятно, спасибо",
        "👍",
        "🙏",
        "Благодарю",
        "Отлично, спасибо",
        "Принято",
        "ясно",
        "Супер 👌",
        "спасибо 😊",
        "Ок 👍",
        "Хорошо, спасибо ❤️",
    ],
    refusal: &[
        "Пока не нужно",
        "Нет, спасибо, не интересно",
        "Не актуально",
        "Сейчас не надо",
        "Спасибо, не нужно",
        "Напишу, когда понадобится",
        "Пока неактуально, спасибо",
        "Уже купили в другом месте",
        "Дорого, не буду брать",
        "Не интересует",
        "Может быть позже",
        "нет",
        "Не сейчас",
        "Мы пока не планируем",
        "Не надо, спасибо",
        "Больше не нужно",
    ],
    negative: &[
        "Ужасно",
        "ужасное качество",
        "Верните деньги",
        "Хочу вернуть деньги",
        "Товар пришёл сломанный",
        "Ужасный сервис",
        "Где мой заказ?? Это плохо",
        "Не тот размер, в заказе был {z}",
        "Не тот цвет, в заказе был {c}",
        "Никто не отвечает, безобразие",
        "Худший магазин",
        "Коробка порвана, всё помято",
        "Сломалось через неделю",
        "Очень разочаровали",
        "Требую возврат",
        "плохо, очень плохо",
        "Это не то, что в заказе. Возврат!",
    ],
    stop: &["стоп", "Стоп", "СТОП", "STOP", "отписаться", "Отписаться"],
    discount: &[
        "Есть акции?",
        "Когда распродажа?",
        "Промокод есть?",
        "Скидка на {p} будет?",
        "Есть скидка для новых клиентов?",
        "Будет чёрная пятница?",
        "Какие скидки на этой неделе?",
        "Можно подешевле?",
        "Скидка от 2 штук есть?",
        "Бесплатная доставка бывает?",
        "акции есть?",
        "жду распродажу, когда?",
        "{p} по акции?",
        "Кэшбэк есть?",
        "Скиньте промокод плиз",
        "А со скидкой сколько?",
    ],
    new_product: &[
        "Что нового?",
        "Есть новинки?",
        "Вышла новая модель?",
        "Будут новые цвета?",
        "Когда поступление?",
        "Новая коллекция уже есть?",
        "Это последняя версия?",
        "Напишите, когда появятся новинки",
        "Обновлённая модель есть?",
        "Что пришло на этой неделе?",
        "В инсте была новинка, у вас есть?",
        "Когда следующий завоз?",
        "Последнюю версию в цвете {c} можно?",
        "новенькое что-нибудь есть?",
        "Будет {p} в размере {z}?",
        "Новинки сезона покажете?",
    ],
    function: &[
        "Чем лучше дешёвого аналога?",
        "Что долговечнее?",
        "Сравните {s} и размер побольше",
        "Сколько держит заряд?",
        "Он водонепроницаемый?",
        "Скиньте полные характеристики",
        "На сколько хватает?",
        "Чем отличается от конкурентов?",
        "Какой вес у {s}?",
        "Какой из них качественнее?",
        "Материал износостойкий?",
        "Что покрывает гарантия?",
        "Есть спецификация в PDF?",
        "Разница между двумя моделями?",
        "Легче, чем старая модель?",
        "Технические детали пришлите",
    ],
    education: &[
        "Как этим пользоваться?",
        "Есть советы по уходу?",
        "Как чистить?",
        "Есть видеоинструкция?",
        "{p}: как правильно хранить?",
        "Есть гайд для новичков?",
        "Как часто менять?",
        "Как настроить?",
        "Как стирать, чтобы {c} цвет не полинял?",
        "Как правильно подобрать размер?",
        "Советы для тех, кто покупает впервые?",
        "Где почитать про тренды?",
        "Инструкция есть?",
        "Как продлить срок службы?",
        "Рекомендации по уходу пришлите",
        "Какая норма в день?",
    ],
    loyal: &[
        "Пользуюсь вашими товарами уже несколько лет",
        "Рекомендую вас всем друзьям",
        "Всегда всё отлично, спасибо вам",
        "Сестра заказала по моей рекомендации",
        "Вы лучшие, закажу ещё",
        "Третий заказ у вас, всё супер",
        "Коллегам про вас рассказываю",
        "Лучше, чем у вас, не найти",
        "Беру только у вас",
        "Так держать, отличный сервис",
        "Отметили вас в инстаграме",
        "Постоянный клиент 🙌",
        "Друзья тоже хотят заказать",
        "Качество всегда на высоте",
        "С вами с первого заказа",
        "Всегда возвращаюсь к вам",
    ],
    salutation: &[
        "Здравствуйте",
        "Добрый день",
        "Привет",
        "Добрый вечер",
        "Здрасте",
    ],
};

static AR_CUSTOMER: CustomerBank = CustomerBank {
    high: &[
        "كم السعر؟",
        "G|كم سعر {p}؟",
        "G|بكم {p}؟",
        "G|سعرة كم؟",
        "G|عندكم {p} مقاس {z}؟",
        "G|متوفر باللون {c}؟",
        "G|ابي اطلب {p}، كيف الطريقة؟",
        "G|فيه خصم لو اخذت ثنتين؟",
        "G|كم التوصيل إلى {city}؟",
        "G|ودي اطلب، وش الطريقة؟",
        "G|السعر لو سمحت",
        "G|{p} موجود؟ ابي حبتين",
        "G|بكم الحبة؟",
        "E|بكام {p}؟",
        "E|بكام ده؟",
        "E|عايز اعرف سعر {p}",
        "E|فيه خصم ولا لأ؟",
        "E|ازاي اطلب؟",
        "E|متاح مقاس {z}؟",
        "E|الشحن لحد {city} بكام؟",
        "E|لو سمحت السعر كام؟",
        "E|عاوز اتنين {p} لون {c}، ينفع؟",
        "E|الاوردر بيتعمل ازاي؟",
        "السعر مع التوصيل كم؟",
    ],
    medium: &[
        "ممكن المواصفات؟",
        "G|وش مواصفات {p}؟",
        "G|كم وزن {p}؟",
        "G|المقاس {z} كم بالضبط؟ عندكم جدول مقاسات؟",
        "G|فيه ضمان؟",
        "G|كم مدة الضمان على {p}؟",
        "G|وش الخامة؟",
        "G|اقدر ارجعه لو المقاس ما ضبط؟",
        "G|عندكم صيانة بعد البيع؟",
        "G|اللون {c} نفس الصورة؟",
        "E|ايه مواصفات {p}؟",
        "E|وزنه كام؟",
        "E|فيه ضمان؟ كام سنة؟",
        "E|الخامة ايه؟",
        "E|ينفع ارجعه لو المقاس {z} مش مظبوط؟",
        "E|فيه خدمة بعد البيع؟",
        "E|مقاساته ايه بالظبط؟",
        "E|الفرق ايه بين {s} والاكبر؟",
        "كم يوم التوصيل إلى {city}؟",
    ],
    polite: &[
        "شكرا",
        "شكراً لك",
        "تمام",
        "اوكي",
        "👍",
        "🙏🙏",
        "👌",
        "🌹🌹",
        "G|مشكور",
        "G|يعطيك العافية",
        "G|الله يعطيك العافية 🌹",
        "G|تسلم",
        "G|زين، مشكور",
        "E|متشكر",
        "E|تمام، شكرا",
        "E|ماشي",
        "E|تسلم ايدك",
        "E|حلو، شكرا 😊",
        "جزاك الله خير",
        "❤️",
    ],
    refusal: &[
        "لا شكرا",
        "G|مو محتاج الحين",
        "G|لا شكرا، مو مهتم",
        "G|ما احتاج الحين، اذا احتجت اكلمكم",
        "G|خلاص ما ابي",
        "G|مو الحين",
        "G|اشتريت من مكان ثاني، مشكور",
        "G|غالي علي، لا شكرا",
        "G|ما يحتاج",
        "E|مش محتاج دلوقتي",
        "E|لا شكرا مش مهتم",
        "E|مش عايز دلوقتي، لما احتاج هكلمكم",
        "E|مش دلوقتي",
        "E|اشتريت من مكان تاني",
        "E|غالي اوي، لا شكرا",
        "E|مش محتاجه خلاص",
        "ربما لاحقاً",
        "غير مهتم حالياً",
    ],
    negative: &[
        "سيء",
        "سيء جدا",
        "الخدمة سيئة",
        "G|ابغى استرجاع المبلغ",
        "G|المنتج وصل خربان",
        "G|وين طلبي؟ تأخرتوا وايد، سيء",
        "G|المقاس غلط، طلبت {z}",
        "G|اللون غلط، طلبت {c}",
        "G|محد يرد، شي سيء",
        "G|ابي ارجع فلوسي",
        "E|الخدمة وحشة جدا",
        "E|عايز فلوسي",
        "E|المنتج جالي بايظ",
        "E|الاوردر اتأخر اوي، حاجة وحشة",
        "E|المقاس غلط، انا طلبت {z}",
        "E|محدش بيرد",
        "E|عايز ارجع المنتج",
        "استرجاع لو سمحت",
        "تجربة سيئة",
    ],
    stop: &["إيقاف", "إيقاف", "إيقاف", "ايقاف", "STOP"],
    discount: &[
        "فيه عروض؟",
        "G|متى التخفيضات؟",
        "G|عندكم كود خصم؟",
        "G|فيه خصم على {p}؟",
        "G|فيه كوبون للعملاء الجدد؟",
        "G|بيكون فيه عروض الجمعة البيضاء؟",
        "G|عروض هالاسبوع؟",
        "G|تقدر تنزل بالسعر شوي؟",
        "G|ابغى كود خصم لو سمحت",
        "G|العرض لين متى؟",
        "E|الخصومات امتى؟",
        "E|فيه كود خصم؟",
        "E|لو خدت اتنين فيه خصم؟",
        "E|الشحن ببلاش امتى؟",
        "E|ممكن تعملي خصم؟",
        "E|فيه عرض على {p}؟",
        "E|فيه تخفيضات الايام دي؟",
        "E|العرض ده لحد امتى؟",
        "E|عندكم عروض بلاك فرايداي؟",
    ],
    new_product: &[
        "فيه جديد؟",
        "G|وش الجديد؟",
        "G|نزل موديل جديد من {p}؟",
        "G|بتنزلون الوان جديدة؟",
        "G|متى توصل البضاعة الجديدة؟",
        "G|عندكم التشكيلة الجديدة؟",
        "G|هذا آخر اصدار؟",
        "G|بلغوني اذا نزل الجديد",
        "G|شفت {p} جديد بالانستا، موجود عندكم؟",
        "E|ايه الجديد؟",
        "E|فيه موديلات جديدة؟",
        "E|هتنزلوا الوان جديدة امتى؟",
        "E|الكولكشن الجديد نزل؟",
        "E|ده اخر اصدار؟",
        "E|قولولي لما الجديد ينزل",
        "E|شفت حاجة جديدة على الانستا، عندكم؟",
        "متى الإطلاق الجاي؟",
    ],
    function: &[
        "ممكن مقارنة بين الموديلات؟",
        "G|وش الفرق بين {p} والارخص؟",
        "G|ايهم يتحمل اكثر؟",
        "G|قارن لي بين {s} والمقاس الاكبر",
        "G|يتحمل الماء؟",
        "G|ابي المواصفات كاملة",
        "G|كم يعيش معي؟",
        "G|وش يغطي الضمان؟",
        "E|ايه الفرق بين ده والارخص؟",
        "E|انهي اجود؟",
        "E|بيستحمل؟",
        "E|ابعتلي المواصفات كاملة",
        "E|الضمان بيغطي ايه؟",
        "E|الخامة دي بتعيش؟",
        "E|الوزن كام في {s}؟",
        "فيه ملف مواصفات PDF؟",
        "مقارنة مع الماركات الثانية؟",
    ],
    education: &[
        "كيف استخدمه؟",
        "G|عندكم نصايح للعناية فيه؟",
        "G|كيف انظف {p}؟",
        "G|فيه فيديو يشرح؟",
        "G|كيف احفظ {p}؟",
        "G|عندكم دليل للمبتدئين؟",
        "G|كل كم اغيره؟",
        "G|كيف اختار المقاس الصح؟",
        "E|ازاي استخدمه؟",
        "E|فيه نصايح للعناية بيه؟",
        "E|ازاي انضفه؟",
        "E|فيه فيديو شرح؟",
        "E|ازاي اخزن {p}؟",
        "E|اغسله ازاي من غير ما اللون {c} يبوظ؟",
        "E|كل قد ايه اغيره؟",
        "فيه دليل استخدام بالعربي؟",
        "كيف احافظ عليه يعيش اطول؟",
    ],
    loyal: &[
        "استخدم منتجاتكم من سنين",
        "G|نصحت ربعي فيكم",
        "G|دايم تعاملكم ممتاز",
        "G|اختي طلبت منكم بسببي",
        "G|انتم الافضل، بطلب مرة ثانية",
        "G|ثالث طلب منكم، ما شاء الله عليكم",
        "G|ما اشتري الا منكم",
        "G|الله يوفقكم، خدمة ممتازة",
        "E|رشحتكم لصحابي",
        "E|انتو احسن ناس",
        "E|تالت اوردر ليا عندكم",
        "E|مش بشتري غير منكم",
        "E|الجودة عندكم دايما عالية",
        "E|صحابي عايزين نفس {p}",
        "نصحت اصدقائي فيكم",
        "عميل دائم 🙌",
    ],
    salutation: &[
        "السلام عليكم",
        "مرحبا",
        "G|هلا",
        "G|هلا والله",
        "E|ازيك",
        "E|صباح الخير",
        "مساء الخير",
    ],
};

static EN_BUSINESS: BusinessBank = BusinessBank {
    greeting: &[
        "Hi {n}! Thanks for reaching out to Stoke Shop. How can we help?",
        "Hello {n}, welcome! Our catalogue: https://shop.example/catalog",
        "Hi {n} 👋 This is Stoke Shop. Anything we can help you with today?",
        "Good day {n}! The {p} is back in stock. Interested?",
        "Hi {n}, thanks for following us! Popular this week: https://shop.example/catalog",
        "Hello {n}! I'm your personal manager at Stoke Shop, write any time.",
    ],
    promo: &[
        "{n}, this week only: 10% off the {p} with code {code}. {url}",
        "Flash sale! {p} from {price} {cur}. Order here: {url}",
        "Weekend deal: buy 2, get free delivery to {city}. {url}",
        "Exclusive for you, {n}: code {code} gives 15% off until Sunday.",
        "Back in stock: {p} in {c}. Limited quantity: {url}",
        "New price on the {p}: {price} {cur}. Details: {url}",
    ],
    catalogue: &[
        "Here is our full catalogue: https://shop.example/catalog",
        "{n}, please have a look at our {p} range: {url}",
        "All sizes and colours of the {p}: {url}",
        "Our price list for this month: https://shop.example/prices.pdf",
        "Catalogue with delivery prices to {city}: https://shop.example/catalog",
    ],
    follow_up: &[
        "Hi {n}, just checking in. Still interested in the {p}?",
        "{n}, did you have a chance to look at the catalogue?",
        "Hello {n}! The {p} you asked about is still available. Shall I reserve one?",
        "Hi {n}, any questions I can answer about the {p}?",
        "Just a reminder: the {p} offer is valid until tomorrow.",
        "Hi {n}, hope all is well! Time to restock your {p}?",
    ],
    quote: &[
        "The {p} ({s}) is {price} {cur}. Delivery to {city} takes 1-2 days.",
        "The price is {price} {cur}. Shall I place the order for you?",
        "{p}: {price} {cur} each, 2 or more get 5% off. Order here: {url}",
        "It's {price} {cur} and we have it in {c}. Want me to reserve it?",
        "Price: {price} {cur}, free delivery over 2 items. Card or cash on delivery.",
        "{price} {cur} for the {p}. Order today and get 5% more off.",
    ],
    order_help: &[
        "You can order here: {url} or just send me the size and address.",
        "To order, send your name, address in {city} and the quantity. We deliver in 1-2 days.",
        "Yes, it's available! Order via {url}, cash on delivery is fine.",
        "Sure, tell me the quantity and I'll send a payment link.",
    ],
    spec: &[
        "Here is the spec sheet for the {p}: {url}",
        "The {p} comes with a 1-year warranty. Full details: {url}",
        "Size chart: https://shop.example/size-guide ({z} fits most customers)",
        "The {p} in {s}: full specs and photos here {url}",
        "Warranty is 12 months, and after-sales service is free for the first 3 months.",
    ],
    guide: &[
        "Here is our care guide: https://shop.example/blog/care-guide",
        "Step-by-step how-to: https://shop.example/blog/how-to",
        "Tip of the week: keep the {p} in a dry place. More tips: https://shop.example/blog",
        "Our video tutorial: https://shop.example/video/{sku}",
        "You're welcome! Here's an article you may like: https://shop.example/blog/trends",
    ],
    thanks: &[
        "You're welcome, {n}! 😊",
        "Thank you, {n}! We're always here.",
        "Thank you for your trust ❤️",
        "Glad to help! Have a great day.",
        "Thanks {n}! Recommend us to friends and get 10% off with code {code}",
    ],
    refusal_ack: &[
        "No problem, {n}. Write any time you need us.",
        "Understood, thank you! We'll only send you the monthly news.",
        "Sure, we won't bother you. Have a nice day!",
        "Okay, thanks for letting us know.",
    ],
    apology: &[
        "We're very sorry, {n}. Please send your order number and a photo, we'll arrange a refund or replacement today.",
        "Sorry for the trouble! I've passed this to our support lead, you'll get a call within the hour.",
        "Apologies for the delay. Your refund has been approved and will arrive in 3-5 days.",
        "We're sorry about the {p}. A replacement is on its way, free of charge.",
    ],
    stop_confirm: &[
        "You have been unsubscribed and will not receive further messages. Reply START to subscribe again.",
        "Done, {n}: you're unsubscribed. Sorry to see you go.",
    ],
    newsletter: &[
        "Stoke Shop news: new arrivals, {p} offers and care tips. Read more: https://shop.example/news",
        "This week's picks: {p} from {price} {cur}. https://shop.example/news",
        "Our monthly digest is here, {n}: https://shop.example/news",
        "Flash sale inside: up to 20% off. https://shop.example/sale",
        "Care tips: how to get the most out of your {p}. https://shop.example/blog",
    ],
    discount_code: &[
        "Yes! Use code {code} for 10% off until Friday.",
        "Our sale starts Thursday. For you now: code {code}, 10% off the {p}.",
        "Here's a personal code for you: {code} (valid 72 hours).",
        "The {p} is 15% off this week: {price} {cur}. {url}",
    ],
    new_arrivals: &[
        "Yes! New {p} models just arrived: {url}",
        "Our new collection is out: https://shop.example/new",
        "The updated {p} launches next week. First 100 orders get 10% off.",
        "New colours of the {p} are in: {c} and more. {url}",
    ],
};

static RU_BUSINESS: BusinessBank = BusinessBank {
    greeting: &[
        "Здравствуйте, {n}! Спасибо, что написали в Stoke Shop. Чем помочь?",
        "Добрый день, {n}! Наш каталог: https://shop.example/catalog",
        "Привет, {n} 👋 Это Stoke Shop. Чем можем помочь?",
        "Здравствуйте, {n}! {p} снова в наличии. Интересно?",
        "{n}, добрый день! Я ваш персональный менеджер, пишите в любое время.",
        "Здравствуйте! Вот что популярно на этой неделе: https://shop.example/catalog",
    ],
    promo: &[
        "{n}, только на этой неделе: -10% на {p} по промокоду {code}. {url}",
        "Распродажа! {p} от {price} {cur}. Заказ: {url}",
        "Бесплатная доставка в {city} при заказе от 2 шт. {url}",
        "Только для вас, {n}: промокод {code}, скидка 15% до воскресенья.",
        "Снова в наличии: {p}, цвет {c}. Количество ограничено: {url}",
        "Новая цена на {p}: {price} {cur}. Подробнее: {url}",
    ],
    catalogue: &[
        "Наш полный каталог: https://shop.example/catalog",
        "{n}, посмотрите нашу линейку: {url}",
        "Все размеры и цвета: {url}",
        "Прайс на этот месяц: https://shop.example/prices.pdf",
        "Каталог и стоимость доставки в {city}: https://shop.example/catalog",
    ],
    follow_up: &[
        "{n}, добрый день! Ещё актуально?",
        "Здравствуйте, {n}! Удалось посмотреть каталог?",
        "{n}, {p} ещё в наличии. Отложить для вас?",
        "Остались вопросы? С радостью отвечу.",
        "Напоминаю: предложение действует до завтра.",
        "{n}, пора пополнить запасы? {p} в наличии.",
    ],
    quote: &[
        "{p} ({s}) стоит {price} {cur}. Доставка в {city} 1-2 дня.",
        "Цена {price} {cur}. Оформить заказ?",
        "{price} {cur} за штуку, от 2 шт. скидка 5%. Заказ: {url}",
        "Стоит {price} {cur}, есть цвет {c}. Отложить?",
        "Цена: {price} {cur}, при заказе сегодня ещё 5% скидки.",
        "Цена {price} {cur}, оплата картой или при получении.",
    ],
    order_help: &[
        "Заказать можно тут: {url} или пришлите размер и адрес.",
        "Для заказа пришлите ФИО, адрес в {city} и количество. Доставим за 1-2 дня.",
        "Да, в наличии! Оформите по ссылке {url}, можно оплатить при получении.",
        "Конечно, напишите количество, пришлю ссылку на оплату.",
    ],
    spec: &[
        "Характеристики товара: {url}",
        "Гарантия 1 год. Подробно: {url}",
        "Размерная сетка: https://shop.example/size-guide ({z} подходит большинству)",
        "Все характеристики и фото: {url}",
        "Гарантия 12 месяцев, сервис первые 3 месяца бесплатно.",
    ],
    guide: &[
        "Наш гид по уходу: https://shop.example/blog/care-guide",
        "Пошаговая инструкция: https://shop.example/blog/how-to",
        "Совет недели: храните в сухом месте. Ещё советы: https://shop.example/blog",
        "Видеоинструкция: https://shop.example/video/{sku}",
        "Пожалуйста! Вот статья, которая может быть интересна: https://shop.example/blog/trends",
    ],
    thanks: &[
        "Пожалуйста, {n}! 😊",
        "Спасибо, {n}! Всегда на связи.",
        "Спасибо за доверие ❤️",
        "Рады помочь! Хорошего дня.",
        "Спасибо! Порекомендуйте нас друзьям и получите 10% по коду {code}",
    ],
    refusal_ack: &[
        "Хорошо, {n}. Пишите, когда понадобится.",
        "Поняли, спасибо! Будем присылать только ежемесячные новости.",
        "Конечно, не будем беспокоить. Хорошего дня!",
        "Спасибо, что сообщили.",
    ],
    apology: &[
        "Приносим извинения, {n}. Пришлите номер заказа и фото, оформим возврат или замену сегодня.",
        "Извините за неудобства! Передали старшему менеджеру, вам перезвонят в течение часа.",
        "Извините за задержку. Возврат одобрен, деньги придут за 3-5 дней.",
        "Нам очень жаль. Замену отправим бесплатно.",
    ],
    stop_confirm: &[
        "Вы отписаны от рассылки. Чтобы подписаться снова, напишите START.",
        "Готово, {n}: вы отписаны. Жаль, что уходите.",
    ],
    newsletter: &[
        "Новости Stoke Shop: новинки, акции и советы. Читать: https://shop.example/news",
        "Подборка недели: {p} от {price} {cur}. https://shop.example/news",
        "{n}, ежемесячный дайджест: https://shop.example/news",
        "Распродажа: скидки до 20%. https://shop.example/sale",
        "Советы по уходу: https://shop.example/blog",
    ],
    discount_code: &[
        "Да! Промокод {code} даёт 10% до пятницы.",
        "Распродажа с четверга. А вам уже сейчас: код {code}, -10%.",
        "Персональный промокод: {code} (действует 72 часа).",
        "На этой неделе {p} со скидкой 15%: {price} {cur}. {url}",
    ],
    new_arrivals: &[
        "Да! Новые модели уже в наличии: {url}",
        "Новая коллекция: https://shop.example/new",
        "Обновлённая модель выходит на следующей неделе. Первым 100 заказам -10%.",
        "Новые цвета уже есть: {c} и другие. {url}",
    ],
};

static AR_BUSINESS: BusinessBank = BusinessBank {
    greeting: &[
        "مرحبا {n}! شكراً لتواصلك مع متجر ستوك. كيف نقدر نخدمك؟",
        "أهلاً {n}، هذا كتالوجنا: https://shop.example/catalog",
        "حياك الله {n} 👋 معك متجر ستوك، كيف نقدر نساعدك اليوم؟",
        "السلام عليكم {n}، {p} رجع متوفر. يهمك؟",
        "مرحبا {n}! أنا مسؤول حسابك في متجر ستوك، تواصل معي بأي وقت.",
        "أهلاً {n}، هذي أكثر المنتجات طلباً هالأسبوع: https://shop.example/catalog",
    ],
    promo: &[
        "{n}، هالأسبوع فقط: خصم 10% على {p} بكود {code}. {url}",
        "تخفيضات! {p} من {price} {cur}. اطلب من هنا: {url}",
        "عرض نهاية الأسبوع: اطلب قطعتين والتوصيل إلى {city} مجاناً. {url}",
        "عرض خاص لك {n}: كود {code} يعطيك خصم 15% لين يوم الأحد.",
        "رجع متوفر: {p} باللون {c}. الكمية محدودة: {url}",
        "سعر جديد: {p} بـ {price} {cur}. التفاصيل: {url}",
    ],
    catalogue: &[
        "هذا الكتالوج الكامل: https://shop.example/catalog",
        "{n}، تفضل شوف التشكيلة: {url}",
        "كل المقاسات والألوان: {url}",
        "قائمة أسعار هالشهر: https://shop.example/prices.pdf",
        "الكتالوج مع أسعار التوصيل إلى {city}: https://shop.example/catalog",
    ],
    follow_up: &[
        "مرحبا {n}، حبيت أتطمن، لا زلت مهتم؟",
        "{n}، شفت الكتالوج؟",
        "أهلاً {n}! {p} اللي سألت عنه لا يزال متوفر، أحجزه لك؟",
        "{n}، عندك أي سؤال عن {p}؟",
        "تذكير: العرض على {p} ينتهي بكرة.",
        "مرحبا {n}، حان وقت تجديد {p}؟",
    ],
    quote: &[
        "سعر {p} ({s}) هو {price} {cur}، والتوصيل إلى {city} خلال يوم إلى يومين.",
        "السعر {price} {cur}. أسوي لك الطلب؟",
        "{p}: {price} {cur} للحبة، وخصم 5% على قطعتين وأكثر. للطلب: {url}",
        "سعره {price} {cur} ومتوفر باللون {c}. أحجزه لك؟",
        "السعر: {price} {cur}، والتوصيل مجاني فوق قطعتين. الدفع بالبطاقة أو عند الاستلام.",
        "{price} {cur}، ولو طلبت اليوم لك خصم إضافي 5%.",
    ],
    order_help: &[
        "تقدر تطلب من هنا: {url} أو أرسل لي المقاس والعنوان.",
        "للطلب أرسل الاسم والعنوان في {city} والكمية، ويوصلك خلال يوم إلى يومين.",
        "إيه متوفر! اطلب من الرابط {url} والدفع عند الاستلام متاح.",
        "أكيد، قل لي الكمية وأرسل لك رابط الدفع.",
    ],
    spec: &[
        "هذي مواصفات {p}: {url}",
        "{p} عليه ضمان سنة. التفاصيل: {url}",
        "جدول المقاسات: https://shop.example/size-guide (مقاس {z} يناسب أغلب العملاء)",
        "كل المواصفات والصور: {url}",
        "الضمان 12 شهر، وخدمة ما بعد البيع مجانية أول 3 شهور.",
    ],
    guide: &[
        "هذا دليل العناية: https://shop.example/blog/care-guide",
        "شرح خطوة بخطوة: https://shop.example/blog/how-to",
        "نصيحة الأسبوع: احفظ {p} في مكان جاف. نصايح أكثر: https://shop.example/blog",
        "فيديو الشرح: https://shop.example/video/{sku}",
        "العفو! هذا مقال ممكن يعجبك: https://shop.example/blog/trends",
    ],
    thanks: &[
        "العفو {n}! 😊",
        "شكراً لك {n}، نحن بالخدمة دايماً.",
        "شكراً لثقتك ❤️",
        "بالخدمة! يومك سعيد.",
        "شكراً {n}! انصح فينا أصحابك واحصل على خصم 10% بكود {code}",
    ],
    refusal_ack: &[
        "ولا يهمك {n}، تواصل معنا متى ما احتجت.",
        "تمام، شكراً! بنرسل لك النشرة الشهرية فقط.",
        "أكيد، ما راح نزعجك. يومك سعيد!",
        "شكراً على التوضيح.",
    ],
    apology: &[
        "نعتذر منك {n}. أرسل رقم الطلب وصورة، ونرتب الاسترجاع أو الاستبدال اليوم.",
        "آسفين على الإزعاج! حولنا الموضوع لمسؤول الدعم وبيتصل عليك خلال ساعة.",
        "نعتذر عن التأخير. تمت الموافقة على الاسترجاع وبيوصلك المبلغ خلال 3-5 أيام.",
        "نعتذر عن المشكلة. أرسلنا لك بديل مجاناً.",
    ],
    stop_confirm: &[
        "تم إلغاء اشتراكك ولن تصلك رسائل أخرى. أرسل START للاشتراك من جديد.",
        "تم {n}، ألغينا اشتراكك. نتمنى نشوفك قريب.",
    ],
    newsletter: &[
        "أخبار متجر ستوك: وصل جديد وعروض ونصائح. اقرأ المزيد: https://shop.example/news",
        "اختيارات الأسبوع: {p} من {price} {cur}. https://shop.example/news",
        "{n}، النشرة الشهرية وصلت: https://shop.example/news",
        "تخفيضات حتى 20%: https://shop.example/sale",
        "نصائح العناية: https://shop.example/blog",
    ],
    discount_code: &[
        "أكيد! استخدم كود {code} وخذ خصم 10% لين الجمعة.",
        "التخفيضات تبدأ الخميس، ولك الحين كود {code} خصم 10%.",
        "هذا كود خاص لك: {code} (صالح 72 ساعة).",
        "{p} عليه خصم 15% هالأسبوع: {price} {cur}. {url}",
    ],
    new_arrivals: &[
        "إيه! وصلت موديلات جديدة: {url}",
        "التشكيلة الجديدة نزلت: https://shop.example/new",
        "الموديل المحدث ينزل الأسبوع الجاي، وأول 100 طلب لهم خصم 10%.",
        "وصلت ألوان جديدة: {c} وغيرها. {url}",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use anyhow::ensure;
    use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

    fn now() -> jiff::Timestamp {
        "2026-11-20T10:15:00Z".parse().expect("valid timestamp")
    }

    /// A scratch directory removed on drop (no tempfile crate in this module's dependencies).
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("stoke-gen-test-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn run(name: &str, contacts: u64, seed: u64) -> Result<(Scratch, GenSummary)> {
        let dir = Scratch::new(name);
        let summary = generate(&GenOptions {
            contacts,
            seed,
            now: now(),
            out: dir.0.join("nested"),
            agents: 0,
        })?;
        Ok((dir, summary))
    }

    fn read(dir: &Scratch, file: &str) -> Result<String> {
        let path = dir.0.join("nested").join(file);
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// A JSON object with its keys in file order (serde_json's map would sort them).
    struct Obj(Vec<(String, serde_json::Value)>);

    impl<'de> Deserialize<'de> for Obj {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Obj;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj, A::Error> {
                    let mut fields = Vec::new();
                    while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                        fields.push(entry);
                    }
                    Ok(Obj(fields))
                }
            }
            d.deserialize_map(V)
        }
    }

    impl Obj {
        fn keys(&self) -> Vec<&str> {
            self.0.iter().map(|(k, _)| k.as_str()).collect()
        }
        fn get(&self, key: &str) -> Result<&serde_json::Value> {
            self.0
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .context(format!("no key {key}"))
        }
        fn str(&self, key: &str) -> Result<&str> {
            self.get(key)?
                .as_str()
                .context(format!("{key} is not a string"))
        }
    }

    /// `m<i>-<n>` / `e<i>-<n>` into (i, n).
    fn split_id(id: &str, prefix: char) -> Result<(usize, usize)> {
        let rest = id.strip_prefix(prefix).context("id prefix")?;
        let (i, n) = rest.split_once('-').context("id dash")?;
        Ok((i.parse()?, n.parse()?))
    }

    fn parse_at(at: &str) -> Result<i64> {
        ensure!(at.len() == 20 && at.ends_with('Z'), "bad timestamp {at}");
        Ok(at.parse::<jiff::Timestamp>()?.as_second())
    }

    fn minor_units(s: &str, decimals: usize) -> Result<i64> {
        let (int, frac) = s.split_once('.').context("amount without decimals")?;
        ensure!(
            frac.len() == decimals,
            "{s} should have {decimals} decimals"
        );
        Ok(int.parse::<i64>()? * 10i64.pow(decimals as u32) + frac.parse::<i64>()?)
    }

    struct Contact {
        phone: String,
        email: String,
        country: String,
        language: String,
    }

    fn contacts(csv_text: &str) -> Result<Vec<Contact>> {
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
        ensure!(header == CSV_HEADER, "header {header:?}");
        let mut out = Vec::new();
        for record in reader.records() {
            let r = record?;
            ensure!(r.len() == 11, "row {} has {} fields", out.len(), r.len());
            let region: phonenumber::country::Id = r[3]
                .parse()
                .map_err(|_| anyhow::anyhow!("bad country {}", &r[3]))?;
            let number = phonenumber::parse(Some(region), &r[1])
                .map_err(|e| anyhow::anyhow!("row {}: {} does not parse: {e}", out.len(), &r[1]))?;
            ensure!(
                phonenumber::is_valid(&number),
                "row {}: {} is not valid",
                out.len(),
                &r[1]
            );
            out.push(Contact {
                phone: number.format().mode(phonenumber::Mode::E164).to_string(),
                email: r[2].to_owned(),
                country: r[3].to_owned(),
                language: r[4].to_owned(),
            });
        }
        Ok(out)
    }

    #[test]
    fn same_arguments_give_identical_bytes_and_another_seed_differs() -> Result<()> {
        let (a, sa) = run("det-a", 1500, 42)?;
        let (b, sb) = run("det-b", 1500, 42)?;
        let (c, _) = run("det-c", 1500, 43)?;
        assert_eq!(sa, sb);
        for file in ["contacts.csv", "messages.jsonl", "events.jsonl"] {
            assert!(
                read(&a, file)? == read(&b, file)?,
                "{file} differs between identical runs"
            );
            assert!(
                read(&a, file)? != read(&c, file)?,
                "{file} ignores the seed"
            );
        }
        Ok(())
    }

    #[test]
    fn a_now_outside_four_digit_years_is_refused() {
        let dir = Scratch::new("range");
        let now: jiff::Timestamp = "1001-06-01T00:00:00Z".parse().expect("valid timestamp");
        let opts = GenOptions {
            contacts: 1,
            seed: 1,
            now,
            out: dir.0.clone(),
            agents: 0,
        };
        assert!(generate(&opts).is_err());
    }

    #[test]
    fn a_smaller_run_is_a_prefix_of_a_larger_one() -> Result<()> {
        let (small, s) = run("prefix-small", 300, 7)?;
        let (large, _) = run("prefix-large", 600, 7)?;
        assert_eq!(s.contacts, 300);
        for file in ["contacts.csv", "messages.jsonl", "events.jsonl"] {
            assert!(
                read(&large, file)?.starts_with(&read(&small, file)?),
                "{file}"
            );
        }
        Ok(())
    }

    #[test]
    fn agents_own_most_contacts_unevenly_and_mostly_in_their_language() -> Result<()> {
        let dir = Scratch::new("agents");
        let gen_into = |name: &str, agents: u64| {
            generate(&GenOptions {
                contacts: 4000,
                seed: 5,
                now: now(),
                out: dir.0.join(name),
                agents,
            })
        };
        let file = |name: &str, f: &str| fs::read_to_string(dir.0.join(name).join(f));
        gen_into("none", 0)?;
        let s = gen_into("some", 100)?;
        gen_into("again", 100)?;
        assert_eq!((s.agents, s.teams), (100, 10));
        assert!(!dir.0.join("none").join("agents.csv").exists());
        for f in [
            "agents.csv",
            "contacts.csv",
            "messages.jsonl",
            "events.jsonl",
        ] {
            ensure!(
                file("some", f)? == file("again", f)?,
                "{f} is not deterministic"
            );
        }
        for f in ["messages.jsonl", "events.jsonl"] {
            ensure!(
                file("some", f)? == file("none", f)?,
                "{f} changed with agents"
            );
        }

        let agents_csv = file("some", "agents.csv")?;
        let mut agents = csv::Reader::from_reader(agents_csv.as_bytes());
        ensure!(
            agents.headers()?.iter().eq(AGENTS_HEADER),
            "agents.csv header"
        );
        let mut desk_lang: BTreeMap<String, &str> = BTreeMap::new();
        let mut team_sizes: BTreeMap<String, usize> = BTreeMap::new();
        for record in agents.records() {
            let r = record?;
            let (email, team) = (r[0].to_owned(), r[3].to_owned());
            ensure!(email.ends_with("@shop.example") && !r[1].is_empty() && &r[2] == "agent");
            let lang = match team.split(' ').next() {
                Some("Arabic") => "ar",
                Some("Russian") => "ru",
                Some("English") => "en",
                _ => bail!("team {team:?}"),
            };
            *team_sizes.entry(team).or_default() += 1;
            ensure!(
                desk_lang.insert(email, lang).is_none(),
                "e-mails are unique"
            );
        }
        assert_eq!(desk_lang.len(), 100);
        assert!(team_sizes.values().all(|&n| n == 10), "{team_sizes:?}");
        let langs: Vec<Lang> = desk_languages(10);
        let count = |l: Lang| langs.iter().filter(|&&x| x == l).count();
        assert_eq!(
            (count(Lang::Ar), count(Lang::Ru), count(Lang::En)),
            (6, 2, 2)
        );

        let plain: Vec<String> = file("none", "contacts.csv")?
            .lines()
            .map(str::to_owned)
            .collect();
        let owned_csv = file("some", "contacts.csv")?;
        let mut owned = csv::Reader::from_reader(owned_csv.as_bytes());
        let header: Vec<String> = owned.headers()?.iter().map(str::to_owned).collect();
        assert_eq!(header.last().map(String::as_str), Some("owner"));
        assert_eq!(header[..header.len() - 1], CSV_HEADER);
        let (mut unassigned, mut same_language, mut assigned) = (0, 0, 0);
        let mut per_agent: BTreeMap<String, u32> = BTreeMap::new();
        let mut rows = 0;
        for (record, plain) in owned.records().zip(plain.iter().skip(1)) {
            let r = record?;
            rows += 1;
            // Every other column is exactly what a run without agents writes.
            let mut others = csv::Writer::from_writer(Vec::new());
            others.write_record(r.iter().take(CSV_HEADER.len()))?;
            let others = String::from_utf8(others.into_inner()?)?;
            ensure!(others.trim_end() == plain, "{others} vs {plain}");
            let owner = &r[CSV_HEADER.len()];
            if owner.is_empty() {
                unassigned += 1;
                continue;
            }
            let Some(lang) = desk_lang.get(owner) else {
                bail!("owner {owner} is not an agent")
            };
            assigned += 1;
            if *lang == &r[4] {
                same_language += 1;
            }
            *per_agent.entry(owner.to_owned()).or_default() += 1;
        }
        assert_eq!(rows, 4000);
        assert!((120..=280).contains(&unassigned), "{unassigned} unassigned");
        assert!(
            same_language * 100 >= assigned * 85,
            "{same_language} of {assigned} in their language"
        );
        let (min, max) = (
            per_agent.values().min().copied().unwrap_or(0),
            per_agent.values().max().copied().unwrap_or(0),
        );
        assert!(per_agent.len() >= 95, "almost every agent has a book");
        assert!(max >= 4 * min.max(1), "uneven books: {min}..{max}");
        Ok(())
    }

    #[test]
    fn zero_contacts_writes_only_the_header() -> Result<()> {
        let (dir, s) = run("zero", 0, 1)?;
        assert_eq!(
            s,
            GenSummary {
                contacts: 0,
                messages: 0,
                events: 0,
                agents: 0,
                teams: 0,
            }
        );
        assert_eq!(
            read(&dir, "contacts.csv")?,
            format!("{}\n", CSV_HEADER.join(","))
        );
        assert!(read(&dir, "messages.jsonl")?.is_empty());
        Ok(())
    }

    #[test]
    fn contacts_csv_rows_are_valid_with_unique_phones_and_emails() -> Result<()> {
        const N: usize = 6000;
        let (dir, summary) = run("contacts", N as u64, 3)?;
        assert_eq!(summary.contacts, N as u64);
        let text = read(&dir, "contacts.csv")?;
        let rows = contacts(&text)?;
        assert_eq!(rows.len(), N);

        let phones: BTreeSet<&str> = rows.iter().map(|c| c.phone.as_str()).collect();
        assert_eq!(phones.len(), N, "phones are not unique");
        let emails: Vec<&str> = rows
            .iter()
            .map(|c| c.email.as_str())
            .filter(|e| !e.is_empty())
            .collect();
        let unique: BTreeSet<&str> = emails.iter().copied().collect();
        assert_eq!(unique.len(), emails.len(), "emails are not unique");
        for e in &emails {
            let (local, domain) = e.split_once('@').context("email without @")?;
            assert!(
                !local.is_empty()
                    && local
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._".contains(&b)),
                "{e}"
            );
            assert!(
                [
                    "gmail.com",
                    "mail.ru",
                    "yandex.ru",
                    "outlook.com",
                    "hotmail.com"
                ]
                .contains(&domain),
                "{e}"
            );
        }

        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let (mut local_forms, mut empty_tz, mut birthdays, mut tags, mut notes) = (0, 0, 0, 0, 0);
        let zones: BTreeSet<&str> = ORIGINS
            .iter()
            .flat_map(|o| o.cities.iter().map(|c| c.tz))
            .collect();
        for record in reader.records() {
            let r = record?;
            assert!(!r[0].is_empty(), "empty name");
            assert!(["SA", "AE", "EG", "RU", "US", "GB", "KW", "QA", "BH"].contains(&&r[3]));
            assert!(["ar", "ru", "en"].contains(&&r[4]));
            local_forms += usize::from(!r[1].starts_with('+') || r[1].contains(' '));
            if r[5].is_empty() {
                empty_tz += 1;
            } else {
                assert!(zones.contains(&r[5]), "unknown zone {}", &r[5]);
                jiff::tz::TimeZone::get(&r[5])?;
            }
            assert!(!r[6].is_empty(), "empty city");
            if !r[7].is_empty() {
                birthdays += 1;
                r[7].parse::<jiff::civil::Date>()?;
            }
            if !r[8].is_empty() {
                tags += 1;
                assert!(r[8].split(';').all(|t| TAGS.contains(&t)), "{}", &r[8]);
            }
            notes += usize::from(!r[9].is_empty());
            let since: jiff::civil::Date = r[10].parse()?;
            assert!(since <= jiff::civil::date(2026, 11, 20), "{since}");
        }
        let pct = |n: usize| n * 100 / N;
        assert!(
            (5..=15).contains(&pct(local_forms)),
            "local forms {}%",
            pct(local_forms)
        );
        assert!(
            (25..=35).contains(&pct(empty_tz)),
            "empty time zones {}%",
            pct(empty_tz)
        );
        assert!(
            (35..=45).contains(&pct(birthdays)),
            "birthdays {}%",
            pct(birthdays)
        );
        assert!((15..=25).contains(&pct(tags)), "tags {}%", pct(tags));
        assert!((7..=13).contains(&pct(notes)), "notes {}%", pct(notes));
        assert!(
            (55..=65).contains(&pct(emails.len())),
            "emails {}%",
            pct(emails.len())
        );
        assert!(text.contains(" | "), "no note in the seed's note form");
        Ok(())
    }

    #[test]
    fn messages_and_events_are_well_formed() -> Result<()> {
        const N: usize = 3000;
        let (dir, summary) = run("lines", N as u64, 11)?;
        let rows = contacts(&read(&dir, "contacts.csv")?)?;
        let now = now().as_second();
        let oldest = now - 400 * DAY;

        let messages = read(&dir, "messages.jsonl")?;
        let mut last: Option<(usize, usize, i64)> = None;
        let mut count = 0;
        for line in messages.lines() {
            let m: Obj = serde_json::from_str(line).with_context(|| line.to_owned())?;
            assert_eq!(
                m.keys(),
                [
                    "id",
                    "contact",
                    "direction",
                    "channel",
                    "account",
                    "text",
                    "at"
                ]
            );
            let (i, n) = split_id(m.str("id")?, 'm')?;
            let at = parse_at(m.str("at")?)?;
            assert!(at <= now && at >= oldest, "{line}");
            match last {
                Some((li, ln, lat)) if li == i => {
                    assert_eq!(n, ln + 1, "{line}");
                    assert!(at >= lat, "messages of contact {i} out of order");
                }
                Some((li, _, _)) => assert!(i > li && n == 1, "{line}"),
                None => assert_eq!(n, 1),
            }
            last = Some((i, n, at));
            assert!(["in", "out"].contains(&m.str("direction")?));
            assert!(!m.str("text")?.is_empty(), "{line}");
            assert!(
                !m.str("text")?.contains('{'),
                "unexpanded placeholder: {line}"
            );
            let c = &rows[i];
            match m.str("channel")? {
                "email" => {
                    assert_eq!(m.str("contact")?, c.email);
                    assert_eq!(m.str("account")?, "mail-sales");
                }
                "whatsapp" => {
                    assert_eq!(m.str("contact")?, c.phone, "E.164 of the CSV row");
                    assert!(m.str("account")?.starts_with("wa-"));
                }
                other => panic!("channel {other}"),
            }
            count += 1;
        }
        assert_eq!(count, summary.messages);
        assert!((7..=13).contains(&(count / N as u64)), "{count} messages");

        let events = read(&dir, "events.jsonl")?;
        let mut last: Option<(usize, usize, i64)> = None;
        let (mut opens, mut clicks, mut orders) = (0, 0, 0);
        let mut order_ids = BTreeSet::new();
        let mut buyers = BTreeSet::new();
        for line in events.lines() {
            let e: Obj = serde_json::from_str(line).with_context(|| line.to_owned())?;
            let (i, n) = split_id(e.str("id")?, 'e')?;
            let at = parse_at(e.str("at")?)?;
            assert!(at <= now && at >= oldest, "{line}");
            match last {
                Some((li, ln, lat)) if li == i => {
                    assert_eq!(n, ln + 1);
                    assert!(at >= lat, "events of contact {i} out of order");
                }
                _ => assert_eq!(n, 1),
            }
            last = Some((i, n, at));
            let c = &rows[i];
            assert_eq!(e.str("contact")?, c.phone);
            match e.str("type")? {
                "order" => {
                    orders += 1;
                    buyers.insert(i);
                    assert_eq!(
                        e.keys(),
                        [
                            "id", "contact", "type", "at", "order_id", "amount", "currency",
                            "lines"
                        ]
                    );
                    assert!(
                        order_ids.insert(e.str("order_id")?.to_owned()),
                        "duplicate order id"
                    );
                    let origin = ORIGINS
                        .iter()
                        .find(|o| o.country == c.country)
                        .context("origin")?;
                    assert_eq!(e.str("currency")?, origin.currency.code);
                    let decimals = usize::from(origin.currency.decimals);
                    let mut sum = 0;
                    let lines = e.get("lines")?.as_array().context("lines")?;
                    assert!(!lines.is_empty());
                    for l in lines {
                        let q = l["quantity"].as_i64().context("quantity")?;
                        let unit =
                            minor_units(l["unit_price"].as_str().context("unit")?, decimals)?;
                        assert!(
                            q >= 1 && unit > 0 && l["sku"].is_string() && l["name"].is_string()
                        );
                        sum += q * unit;
                    }
                    assert_eq!(minor_units(e.str("amount")?, decimals)?, sum, "{line}");
                }
                "click" => {
                    clicks += 1;
                    assert_eq!(e.keys(), ["id", "contact", "type", "at", "url", "campaign"]);
                    assert!(e.str("url")?.starts_with("https://shop.example/"));
                    assert!(e.str("url")?.contains(e.str("campaign")?));
                }
                "open" => {
                    opens += 1;
                    assert_eq!(e.keys(), ["id", "contact", "type", "at", "campaign"]);
                    assert!(!c.email.is_empty(), "open without e-mail");
                }
                other => panic!("type {other}"),
            }
        }
        assert_eq!(opens + clicks + orders, summary.events);
        assert!(
            opens > clicks && clicks > 0 && orders > 0,
            "{opens} {clicks} {orders}"
        );
        let buyer_pct = buyers.len() * 100 / N;
        assert!((22..=38).contains(&buyer_pct), "buyers {buyer_pct}%");
        Ok(())
    }

    #[test]
    fn activity_stop_and_language_shares_follow_the_spec() -> Result<()> {
        const N: usize = 20_000;
        let (dir, _) = run("shares", N as u64, 2026)?;
        let rows = contacts(&read(&dir, "contacts.csv")?)?;
        let now = now().as_second();
        let mut last_in: Vec<Option<i64>> = vec![None; N];
        let mut stopped = vec![false; N];
        let mut per_lang: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        let stops = [
            "STOP",
            "stop",
            "Stop",
            "UNSUBSCRIBE",
            "unsubscribe",
            "إيقاف",
            "ايقاف",
            "стоп",
            "Стоп",
            "СТОП",
            "отписаться",
            "Отписаться",
        ];
        let mut negative_runs = 0;
        let mut run_len = (usize::MAX, 0);
        for line in read(&dir, "messages.jsonl")?.lines() {
            let m: Obj = serde_json::from_str(line)?;
            let (i, _) = split_id(m.str("id")?, 'm')?;
            let lang = rows[i].language.as_str();
            let entry = per_lang
                .entry(if lang == "ar" {
                    "ar"
                } else if lang == "ru" {
                    "ru"
                } else {
                    "en"
                })
                .or_default();
            if m.str("direction")? == "in" {
                entry.0 += 1;
                let at = parse_at(m.str("at")?)?;
                last_in[i] = Some(last_in[i].map_or(at, |l| l.max(at)));
                let text = m.str("text")?;
                stopped[i] |= stops.contains(&text);
                let negative = [
                    "bad",
                    "refund",
                    "Ужасн",
                    "ужасн",
                    "Верните",
                    "سيء",
                    "استرجاع",
                    "وحش",
                ]
                .iter()
                .any(|w| text.contains(w));
                run_len = if negative && run_len.0 == i {
                    (i, run_len.1 + 1)
                } else if negative {
                    (i, 1)
                } else {
                    (i, 0)
                };
                if run_len.1 == 3 {
                    negative_runs += 1;
                }
            } else {
                entry.1 += 1;
            }
        }
        let share = |n: usize| n as f64 * 100.0 / N as f64;
        let day = last_in
            .iter()
            .filter(|l| l.is_some_and(|t| t > now - DAY))
            .count();
        let silent = last_in
            .iter()
            .filter(|l| l.is_none_or(|t| t < now - 7 * DAY))
            .count();
        let stop = stopped.iter().filter(|s| **s).count();
        assert!(
            (12.0..=22.0).contains(&share(day)),
            "replied within 24 h: {:.1}%",
            share(day)
        );
        assert!(
            (33.0..=47.0).contains(&share(silent)),
            "silent 7+ days: {:.1}%",
            share(silent)
        );
        assert!(
            (0.5..=3.0).contains(&share(stop)),
            "STOP: {:.2}%",
            share(stop)
        );
        assert!(negative_runs > 0, "no run of 3 negative messages");
        for lang in ["ar", "ru", "en"] {
            let (ins, outs) = per_lang.get(lang).copied().unwrap_or_default();
            assert!(ins > 1000 && outs > 1000, "{lang}: {ins} in, {outs} out");
        }
        Ok(())
    }

    #[test]
    fn timestamps_match_jiff_formatting() -> Result<()> {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut buf = [0u8; 20];
        for _ in 0..20_000 {
            let t = rng.i64(-30_000_000_000..200_000_000_000);
            let expected = jiff::Timestamp::from_second(t)?.to_string();
            assert_eq!(fmt_timestamp(t, &mut buf), expected);
            let (y, m, d) = civil_from_days(t.div_euclid(DAY));
            let mut date = String::new();
            push_date(&mut date, y, m, d);
            assert_eq!(date, expected[..10]);
        }
        Ok(())
    }

    #[test]
    fn every_phone_prefix_and_local_form_is_valid() -> Result<()> {
        let mut rng = fastrand::Rng::with_seed(9);
        for o in ORIGINS {
            let region: phonenumber::country::Id = o
                .country
                .parse()
                .map_err(|_| anyhow::anyhow!("region {}", o.country))?;
            let space = o.subscriber_space();
            let tail = 10u64.pow(o.sub_digits - 1);
            for prefix in o.prefixes {
                for sub in [0, space - 1, rng.u64(0..space)] {
                    let mut national = String::from(*prefix);
                    push_u64(&mut national, o.sub_first_min + sub / tail);
                    push_padded(&mut national, sub % tail, o.sub_digits as usize - 1);
                    let e164 = format!("+{}{}", o.calling_code, national);
                    let n = phonenumber::parse(None, &e164)?;
                    assert!(phonenumber::is_valid(&n), "{e164} is not valid");
                    for _ in 0..6 {
                        let mut local = String::new();
                        local_form(&mut rng, o, &national, &mut local);
                        let parsed = phonenumber::parse(Some(region), &local)?;
                        assert!(phonenumber::is_valid(&parsed), "{local} ({})", o.country);
                        assert_eq!(
                            parsed.format().mode(phonenumber::Mode::E164).to_string(),
                            e164
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn the_phone_permutation_is_a_bijection() {
        for domain in [1, 7, 1000, 12_345, 80_000] {
            let perm = Perm::new(domain, 99);
            let seen: BTreeSet<u64> = (0..domain).map(|x| perm.apply(x)).collect();
            assert_eq!(seen.len() as u64, domain);
            assert!(seen.iter().all(|&y| y < domain));
        }
    }

    #[test]
    fn phrase_banks_are_rich_and_well_formed() {
        for (lang, c) in [
            ("en", &EN_CUSTOMER),
            ("ru", &RU_CUSTOMER),
            ("ar", &AR_CUSTOMER),
        ] {
            let buckets = [
                ("high", c.high),
                ("medium", c.medium),
                ("polite", c.polite),
                ("refusal", c.refusal),
                ("negative", c.negative),
                ("discount", c.discount),
                ("new_product", c.new_product),
                ("function", c.function),
                ("education", c.education),
                ("loyal", c.loyal),
            ];
            for (name, bank) in buckets
                .into_iter()
                .chain([("stop", c.stop), ("salutation", c.salutation)])
            {
                assert!(!bank.is_empty(), "{lang} {name}");
                assert!(
                    !bank[0].contains('{') && split_dialect(bank[0]).0.is_none(),
                    "{lang} {name}"
                );
            }
            for (name, bank) in buckets {
                assert!(bank.len() >= 15, "{lang} {name} has {} phrases", bank.len());
                if lang == "ar" {
                    for d in [Dialect::Gulf, Dialect::Egypt] {
                        let n = bank
                            .iter()
                            .filter(|p| {
                                split_dialect(p).0
                                    != Some(if d == Dialect::Gulf {
                                        Dialect::Egypt
                                    } else {
                                        Dialect::Gulf
                                    })
                            })
                            .count();
                        assert!(n >= 8, "ar {name} has {n} phrases for {d:?}");
                    }
                }
            }
        }
        for b in [&EN_BUSINESS, &RU_BUSINESS, &AR_BUSINESS] {
            for bank in [
                b.greeting,
                b.promo,
                b.catalogue,
                b.follow_up,
                b.quote,
                b.order_help,
                b.spec,
                b.guide,
                b.thanks,
                b.refusal_ack,
                b.apology,
                b.stop_confirm,
                b.newsletter,
                b.discount_code,
                b.new_arrivals,
            ] {
                assert!(!bank.is_empty() && !bank[0].contains("{c}") && !bank[0].contains("{z}"));
            }
        }
    }

    #[test]
    fn prices_use_the_currency_decimals() {
        assert_eq!(
            Money {
                minor: 12_450,
                decimals: 2
            }
            .to_string(),
            "124.50"
        );
        assert_eq!(
            Money {
                minor: 10_250,
                decimals: 3
            }
            .to_string(),
            "10.250"
        );
        assert_eq!(
            Money {
                minor: 5,
                decimals: 2
            }
            .to_string(),
            "0.05"
        );
        let sar = &ORIGINS[0].currency;
        assert_eq!(sar.price(3320), 12_450, "cat food in SAR");
        for o in ORIGINS {
            for p in PRODUCTS {
                assert!(o.currency.price(p.price_usd_cents) > 0);
            }
        }
    }
}

/// What a simulated customer answers a business message with (the simulator channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyMood {
    High,
    Medium,
    Polite,
    Refusal,
    Stop,
}

/// A customer's reply in a language (`ar`, `ru`, anything else English), from the same phrase
/// banks as the generated workspaces: dialect forms, typos and emoji included.
pub(crate) fn customer_reply(rng: &mut fastrand::Rng, language: &str, mood: ReplyMood) -> String {
    let lang = match language {
        "ar" => Lang::Ar,
        "ru" => Lang::Ru,
        _ => Lang::En,
    };
    let dialect = match lang {
        Lang::Ar if rng.bool() => Dialect::Egypt,
        Lang::Ar => Dialect::Gulf,
        _ => Dialect::Neutral,
    };
    let product = &PRODUCTS[rng.usize(..PRODUCTS.len())];
    let sizes = product.sizes.get(lang);
    let colours = COLOURS.get(lang);
    let fill = Fill {
        lang,
        dialect,
        first: "",
        city: "",
        product,
        size: sizes[rng.usize(..sizes.len())],
        colour: product
            .coloured
            .then(|| colours[rng.usize(..colours.len())]),
        price: Money {
            minor: i64::from(product.price_usd_cents),
            decimals: 2,
        },
        currency: "",
        code: PROMO_CODES[rng.usize(..PROMO_CODES.len())],
    };
    let bank = lang.customer();
    let phrases = match mood {
        ReplyMood::High => bank.high,
        ReplyMood::Medium => bank.medium,
        ReplyMood::Polite => bank.polite,
        ReplyMood::Refusal => bank.refusal,
        ReplyMood::Stop => bank.stop,
    };
    let mut out = String::new();
    expand(pick_phrase(rng, phrases, dialect, &fill), &fill, &mut out);
    out
}
