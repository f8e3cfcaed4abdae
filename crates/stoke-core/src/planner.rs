//! The follow-up planner (SPEC 4): for one contact, the next action (when, which kind, why), and
//! the order of an agent's queue.
//!
//! A plan is a pure function of the contact (zone, window, weekly maximum, passive flag, dates,
//! consent), the engine's state (tiers at `now`, the touches by anyone) and the playbook. Each
//! cadence of SPEC 3.1-3.4 proposes a candidate; every candidate is then held to the contact's
//! constraints (weekly caps, the contact window and weekdays, quiet hours in local time, the
//! golden window when one is known) and the earliest wins.
//!
//! `due` is the moment the action should be done by: a quote "within 1 h" is due an hour after
//! the question, a follow-up "every 2 days" two days after the last touch. Past it, the action is
//! overdue. Moves for quiet hours and windows go forward, in the contact's local time, so a
//! daylight-saving change cannot push a follow-up into the night.

use std::cmp::Ordering;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::contact::{Contact, ContactWindow};
use crate::country_zones::COUNTRY_ZONES;
use crate::engine::{ContactState, evaluate, human};
use crate::playbook::{HolidayDate, Playbook};
use crate::tag::{Tag, TagFamily};
use crate::value::{Country, TimeZoneName};
use crate::{Channel, ContactId};

/// What the rep should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// Answer a buying question with a price.
    Quote,
    FollowUp,
    /// A spec sheet, guide, offer or news worth their time.
    Content,
    /// Birthday, important date or holiday.
    Greeting,
    /// No individual follow-up: the contact is reached by broadcasts only.
    BroadcastOnly,
    /// Nothing: opted out.
    None,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Quote => "quote",
            ActionKind::FollowUp => "follow-up",
            ActionKind::Content => "content",
            ActionKind::Greeting => "greeting",
            ActionKind::BroadcastOnly => "broadcast-only",
            ActionKind::None => "none",
        }
    }

    /// Whether a rep acts on it personally (it belongs in an individual queue).
    pub fn individual(self) -> bool {
        !matches!(self, ActionKind::BroadcastOnly | ActionKind::None)
    }
}

/// A contact's next action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAction {
    pub kind: ActionKind,
    /// When it should be done by; none for `None`.
    pub due: Option<Timestamp>,
    /// The cadence rule behind it (`intent.high`, `activity.medium`, `greeting.birthday`).
    pub rule: String,
    /// Why, in words: the tier, the evidence, the cadence and any move a constraint made.
    pub reason: String,
    /// What the contact is worth in the queue (`planner.value` points); higher goes first.
    pub priority: u32,
    /// The zone the plan was made in, and whether it was derived from the phone's country.
    pub zone: String,
}

impl NextAction {
    pub fn overdue(&self, now: Timestamp) -> bool {
        self.kind.individual() && self.due.is_some_and(|d| d < now)
    }

    /// Whether it belongs in an individual queue asked for at `now`: individual and due within
    /// the playbook's horizon (overdue items included).
    pub fn in_queue(&self, now: Timestamp, playbook: &Playbook) -> bool {
        let until = now
            .checked_add(playbook.planner.horizon)
            .unwrap_or(Timestamp::MAX);
        self.kind.individual() && self.due.is_some_and(|d| d <= until)
    }
}

/// Queue order (SPEC 4): the most valuable first ("green first every morning"), then the
/// earliest due, then the contact id so that the order is stable.
pub fn queue_order(a: (&NextAction, ContactId), b: (&NextAction, ContactId)) -> Ordering {
    b.0.priority
        .cmp(&a.0.priority)
        .then(a.0.due.cmp(&b.0.due))
        .then(a.1.cmp(&b.1))
}

/// The zone a contact's local times are in: their own, else the zone of their country (the
/// playbook's choice first, then the country's main zone), else UTC.
pub fn contact_zone(contact: &Contact, playbook: &Playbook) -> (TimeZone, String) {
    zone_of(contact, contact.home_country(), playbook)
}

/// `contact_zone` with the contact's home country already read.
fn zone_of(contact: &Contact, country: Option<Country>, playbook: &Playbook) -> (TimeZone, String) {
    if let Some(tz) = &contact.time_zone {
        return (tz.zone(), tz.as_str().to_owned());
    }
    if let Some(country) = country {
        let code = country.as_str();
        if let Some(tz) = playbook.planner.country_time_zones.get(code) {
            return (tz.zone(), format!("{tz} (from country {code})"));
        }
        if let Ok(i) = COUNTRY_ZONES.binary_search_by(|(c, _)| c.cmp(&code))
            && let Ok(tz) = TimeZoneName::parse(COUNTRY_ZONES[i].1)
        {
            return (tz.zone(), format!("{tz} (from country {code})"));
        }
    }
    (TimeZone::UTC, "UTC (zone unknown)".to_owned())
}

/// How a candidate is held to the weekly caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cap {
    /// The customer is waiting for an answer: never held back.
    None,
    /// A deal's follow-up: only the contact's own "max N per week" holds it back.
    Declared,
    /// Promotional: the contact's maximum, else the playbook's, and a stricter one of its own.
    Promotional(Option<u32>),
}

struct Candidate {
    kind: ActionKind,
    due: Timestamp,
    rule: String,
    reason: String,
    cap: Cap,
    /// May move to the golden window (nothing is waiting on it).
    flexible: bool,
    /// A window of its own, like Thursday afternoon for how-to content.
    window: Option<ContactWindow>,
}

impl Candidate {
    fn new(kind: ActionKind, due: Timestamp, rule: &str, reason: String, cap: Cap) -> Self {
        Self {
            kind,
            due,
            rule: rule.to_owned(),
            reason,
            cap,
            flexible: matches!(cap, Cap::Promotional(_)),
            window: None,
        }
    }
}

const WEEK: SignedDuration = SignedDuration::from_hours(24 * 7);
const MONTH: SignedDuration = SignedDuration::from_hours(24 * 30);

fn plus(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(at)
}

/// A period split evenly: "2 per month" is every 15 days.
fn every(period: SignedDuration, times: u32) -> SignedDuration {
    period / times.max(1) as i32
}

/// The next action for a contact at `now`: the earliest of `actions`.
pub fn next_action(
    contact: &Contact,
    state: &ContactState,
    now: Timestamp,
    playbook: &Playbook,
) -> NextAction {
    let mut all = actions(contact, state, now, playbook);
    if all.is_empty() {
        let (tags, _) = evaluate(state, now, playbook);
        return NextAction {
            kind: ActionKind::None,
            due: None,
            rule: "none".into(),
            reason: format!("{}: no cadence applies", summary(&tags)),
            priority: value(&tags, playbook),
            zone: contact_zone(contact, playbook).1,
        };
    }
    all.swap_remove(0)
}

/// Every action the cadences plan for a contact at `now`, each held to the contact's
/// constraints, earliest first (ties: quote before follow-up before content before greeting).
/// An opted-out contact has one action, `None`, with the reason.
pub fn actions(
    contact: &Contact,
    state: &ContactState,
    now: Timestamp,
    playbook: &Playbook,
) -> Vec<NextAction> {
    let (tags, _) = evaluate(state, now, playbook);
    let country = contact.home_country();
    let (zone, zone_name) = zone_of(contact, country, playbook);
    let priority = value(&tags, playbook);
    let nothing = |rule: &str, reason: String| {
        vec![NextAction {
            kind: ActionKind::None,
            due: None,
            rule: rule.to_owned(),
            reason,
            priority,
            zone: zone_name.clone(),
        }]
    };
    if let Some(opt) = &state.opted_out {
        return nothing("opt_out", format!("opted out: {}", opt.detail));
    }
    if let Some(channel) = withdrawn_everywhere(contact) {
        return nothing(
            "consent.withdrawn",
            format!("withdrew consent for {}", channel.as_str()),
        );
    }
    let mut candidates = Vec::new();
    let local_today = now.to_zoned_datetime(zone.clone()).date();
    if contact.reach.passive {
        candidates.push(passive(state, now, &zone, local_today, playbook));
    } else {
        cadences(state, &tags, playbook, &mut candidates);
        let broadcast_only = candidates.iter().all(|c| !c.kind.individual());
        greetings(
            contact,
            country,
            &zone,
            local_today,
            broadcast_only,
            playbook,
            &mut candidates,
        );
    }
    let tiers = summary(&tags);
    let mut out: Vec<NextAction> = candidates
        .into_iter()
        .map(|c| constrain(c, contact, state, &zone, now, &tags, playbook))
        .map(|c| NextAction {
            kind: c.kind,
            due: Some(c.due),
            rule: c.rule,
            reason: format!("{tiers}: {}", c.reason),
            priority,
            zone: zone_name.clone(),
        })
        .collect();
    out.sort_by(|a, b| a.due.cmp(&b.due).then(a.kind.cmp(&b.kind)));
    out
}

/// The tiers a rep reads first: "intent high, activity green".
fn summary(tags: &[Tag]) -> String {
    let value = |family| {
        tags.iter()
            .find(|t| t.family == family)
            .map_or("?", |t| t.value.as_str())
    };
    format!(
        "intent {}, activity {}",
        value(TagFamily::Intent),
        value(TagFamily::Activity)
    )
}

/// A channel the contact can be reached on whose consent they withdrew, when they withdrew it on
/// every channel they have.
fn withdrawn_everywhere(contact: &Contact) -> Option<Channel> {
    let mut reachable = Vec::new();
    if !contact.phones.is_empty() || contact.whatsapp_id.is_some() {
        reachable.push(Channel::WhatsApp);
    }
    if !contact.emails.is_empty() {
        reachable.push(Channel::Email);
    }
    if reachable.is_empty() {
        return None;
    }
    reachable
        .iter()
        .all(|c| contact.opted_out(*c))
        .then(|| reachable[0])
}

/// The queue value of a contact: `planner.value` points for the tags it holds.
fn value(tags: &[Tag], playbook: &Playbook) -> u32 {
    let points = |key: &str| playbook.count(&format!("planner.value.{key}"));
    tags.iter()
        .map(|t| match (t.family, t.value.as_str()) {
            (TagFamily::Intent, tier) | (TagFamily::Activity, tier) => {
                points(&format!("{}_{tier}", t.family.as_str()))
            }
            (TagFamily::Temperature, "hot") => points("hot"),
            (TagFamily::Temperature, "warm") => points("warm"),
            (TagFamily::Lifecycle, "repeat-buyer") => points("repeat_buyer"),
            (TagFamily::Lifecycle, "vip-repair") => points("vip_repair"),
            (TagFamily::Sentiment, "escalate") => points("escalate"),
            _ => 0,
        })
        .sum()
}

/// The touches (business messages by anyone) after a moment.
fn touches_after(state: &ContactState, after: Timestamp) -> Vec<Timestamp> {
    state
        .recent_outbound
        .iter()
        .copied()
        .filter(|t| *t > after)
        .collect()
}

/// Every cadence of SPEC 3.1-3.3 that applies, as candidates.
fn cadences(state: &ContactState, tags: &[Tag], playbook: &Playbook, out: &mut Vec<Candidate>) {
    let find = |family: TagFamily| tags.iter().find(|t| t.family == family);
    let i = &playbook.intent;
    let a = &playbook.activity;
    let last_touch = state.last_outbound_at;

    // A customer whose last message is unanswered is waiting for a reply (`activity.unanswered`),
    // not for the next follow-up of a sequence.
    let waiting = state
        .last_inbound
        .as_ref()
        .is_some_and(|l| last_touch.is_none_or(|t| t < l.at));
    if let Some(intent) = find(TagFamily::Intent) {
        let since = intent.set_at;
        let evidence = &intent.evidence.detail;
        let asked_and_unanswered = touches_after(state, since).is_empty();
        // Follow-ups count from the customer's last word: touches after they last wrote.
        let after = touches_after(
            state,
            state
                .last_inbound
                .as_ref()
                .map_or(since, |l| l.at.max(since)),
        );
        match (intent.value.as_str(), intent.rule.as_str()) {
            ("high", _) if waiting && !asked_and_unanswered => {}
            ("high", _) => match after.len() {
                0 => out.push(Candidate::new(
                    ActionKind::Quote,
                    plus(since, i.quote_within),
                    "intent.high",
                    format!(
                        "{evidence}; quote within {} (each hour of delay costs close probability)",
                        human(i.quote_within)
                    ),
                    Cap::None,
                )),
                n if n - 1 < i.high_followups.len() => {
                    let last = after[n - 1];
                    out.push(Candidate::new(
                        ActionKind::FollowUp,
                        plus(last, i.high_followups[n - 1]),
                        "intent.high.followup",
                        format!(
                            "quoted; follow-up {} of {} within {} of the last touch",
                            n,
                            i.high_followups.len(),
                            human(i.high_followups[n - 1])
                        ),
                        Cap::Declared,
                    ));
                }
                n => out.push(Candidate::new(
                    ActionKind::FollowUp,
                    plus(after[n - 1], i.medium_followup_every),
                    "intent.high.followup",
                    format!(
                        "quoted and followed up {} times without an answer; every {} until they answer",
                        n - 1,
                        human(i.medium_followup_every)
                    ),
                    Cap::Declared,
                )),
            },
            ("medium", rule) if waiting && !(rule == "intent.medium" && asked_and_unanswered) => {
            }
            ("medium", rule) => {
                let guide_pending = rule == "intent.medium" && asked_and_unanswered;
                if guide_pending {
                    out.push(Candidate::new(
                        ActionKind::Content,
                        plus(since, i.medium_guide_within),
                        "intent.medium.guide",
                        format!("{evidence}; send the spec sheet or guide"),
                        Cap::None,
                    ));
                } else {
                    let guide = usize::from(rule == "intent.medium");
                    let done = after.len().saturating_sub(guide);
                    if done < i.medium_followups as usize {
                        let base = after.last().copied().or(last_touch).unwrap_or(since);
                        let why = if rule == "intent.medium" {
                            evidence.clone()
                        } else {
                            format!("down from high: {evidence}")
                        };
                        out.push(Candidate::new(
                            ActionKind::FollowUp,
                            plus(base, i.medium_followup_every),
                            "intent.medium.followup",
                            format!(
                                "{why}; follow-up {} of {} every {}, each with something new (a case study, a time-limited offer)",
                                done + 1,
                                i.medium_followups,
                                human(i.medium_followup_every)
                            ),
                            Cap::Declared,
                        ));
                    }
                }
            }
            ("potential", _) => out.push(Candidate::new(
                ActionKind::Content,
                plus(last_touch.unwrap_or(since).max(since), i.potential_content_every),
                "intent.potential",
                format!(
                    "polite replies only; valuable content every {}",
                    human(i.potential_content_every)
                ),
                Cap::Promotional(None),
            )),
            _ => {
                // Refused, read without replying, or never answered: broadcasts only (SPEC 3.2).
                let gap = every(MONTH, i.none_broadcasts_per_month);
                out.push(Candidate::new(
                    ActionKind::BroadcastOnly,
                    plus(last_touch.unwrap_or(since).max(since), gap),
                    &intent.rule,
                    format!(
                        "{evidence}; no individual follow-up, {} broadcasts a month",
                        i.none_broadcasts_per_month
                    ),
                    Cap::Promotional(None),
                ));
                return;
            }
        }
    }

    if let (Some(activity), Some(last)) = (find(TagFamily::Activity), &state.last_inbound) {
        let replied = last.at;
        if last_touch.is_none_or(|t| t < replied) {
            out.push(Candidate::new(
                ActionKind::FollowUp,
                plus(replied, a.high_first_touch_within),
                "activity.unanswered",
                format!(
                    "{}, unanswered; answer within {}",
                    last.detail,
                    human(a.high_first_touch_within)
                ),
                Cap::None,
            ));
        } else {
            let touch = last_touch.unwrap_or(replied);
            match activity.value.as_str() {
                "high" => {
                    let n = touches_after(state, replied).len();
                    if n < a.high_touches as usize {
                        out.push(Candidate::new(
                            ActionKind::FollowUp,
                            plus(replied, every(a.high_touches_over, a.high_touches) * (n as i32 + 1)),
                            "activity.high",
                            format!(
                                "replied within 24h; touch {} of {} in {}",
                                n + 1,
                                a.high_touches,
                                human(a.high_touches_over)
                            ),
                            Cap::Promotional(None),
                        ));
                    }
                }
                "medium" => out.push(Candidate::new(
                    ActionKind::FollowUp,
                    plus(touch, a.medium_touch_every),
                    "activity.medium",
                    format!(
                        "last reply within 3 days; every {}, changing topic",
                        human(a.medium_touch_every)
                    ),
                    Cap::Promotional(None),
                )),
                "low" => out.push(Candidate::new(
                    ActionKind::FollowUp,
                    plus(touch, a.low_touch_every),
                    "activity.low",
                    format!(
                        "silent since a reply within 7 days; a light touch every {}, no hard offers",
                        human(a.low_touch_every)
                    ),
                    Cap::Promotional(None),
                )),
                _ => out.push(Candidate::new(
                    ActionKind::BroadcastOnly,
                    plus(touch, every(MONTH, a.dormant_touches_per_month)),
                    "activity.dormant",
                    format!(
                        "no reply for over 7 days; {} touches a month (holidays, big events)",
                        a.dormant_touches_per_month
                    ),
                    Cap::Promotional(None),
                )),
            }
        }
    }

    for interest in tags
        .iter()
        .filter(|t| t.family == TagFamily::Interest && !t.rule.ends_with(".stale"))
    {
        let Some(settings) = playbook.interest(&interest.value) else {
            continue;
        };
        let duration = |key: &str| settings.durations.get(key).copied();
        let count = |key: &str| settings.counts.get(key).copied();
        let since = interest.set_at;
        let after = touches_after(state, since);
        let base = last_touch.unwrap_or(since).max(since);
        let rule = format!("interest.{}", interest.value);
        let candidate = match interest.value.as_str() {
            "discount" if after.is_empty() => duration("offer_within").map(|within| {
                Candidate::new(
                    ActionKind::Content,
                    plus(since, within),
                    &rule,
                    format!(
                        "{}; an exclusive time-limited code within {}",
                        interest.evidence.detail,
                        human(within)
                    ),
                    Cap::Promotional(count("max_promotions_per_week")),
                )
            }),
            "function" => {
                let (touches, over) = (count("touches").unwrap_or(0), duration("touches_over"));
                match (after.len(), over) {
                    (0, _) => Some(Candidate::new(
                        ActionKind::Content,
                        plus(since, playbook.intent.medium_guide_within),
                        &rule,
                        format!("{}; the spec sheet (PDF) first", interest.evidence.detail),
                        Cap::Declared,
                    )),
                    (n, Some(over)) if n < touches as usize => Some(Candidate::new(
                        ActionKind::Content,
                        plus(base, every(over, touches)),
                        &rule,
                        format!(
                            "function-oriented; expert touch {} of {touches} over {}",
                            n + 1,
                            human(over)
                        ),
                        Cap::Promotional(None),
                    )),
                    _ => None,
                }
            }
            "education" => duration("content_every").map(|gap| {
                let mut c = Candidate::new(
                    ActionKind::Content,
                    plus(base, gap),
                    &rule,
                    format!("education; how-to content every {}", human(gap)),
                    Cap::Promotional(None),
                );
                c.window = settings.windows.get("content_at").cloned();
                c
            }),
            "new_product" => count("updates_per_month").map(|n| {
                Candidate::new(
                    ActionKind::Content,
                    plus(base, every(MONTH, n)),
                    &rule,
                    format!("new-product; {n} updates a month"),
                    Cap::Promotional(None),
                )
            }),
            "loyal" => duration("vip_every").map(|gap| {
                Candidate::new(
                    ActionKind::Content,
                    plus(base, gap),
                    &rule,
                    format!(
                        "brand-loyal; VIP event or early access every {}",
                        human(gap)
                    ),
                    Cap::Promotional(None),
                )
            }),
            _ => None,
        };
        out.extend(candidate);
    }
}

/// A passive responder ("I'll contact you when I need it"): one brand message at month end.
fn passive(
    state: &ContactState,
    now: Timestamp,
    zone: &TimeZone,
    today: Date,
    playbook: &Playbook,
) -> Candidate {
    let at = playbook.planner.greeting_at;
    let month_end = |d: Date| d.last_of_month().to_datetime(at);
    let mut end = month_end(today);
    let touched_this_month = state
        .last_outbound_at
        .is_some_and(|t| t.to_zoned_datetime(zone.clone()).date() >= today.first_of_month());
    if touched_this_month {
        end = month_end(
            today
                .first_of_month()
                .checked_add(1.month())
                .unwrap_or(today),
        );
    }
    let due = end
        .to_zoned_datetime(zone.clone())
        .map_or(now, |z| z.timestamp());
    Candidate::new(
        ActionKind::BroadcastOnly,
        due,
        "preference.passive",
        "a passive responder (\"I'll contact you when I need it\"): one brand message at month end"
            .into(),
        Cap::None,
    )
}

/// The next birthday, important date and holiday, each as a candidate on its local day.
fn greetings(
    contact: &Contact,
    country: Option<Country>,
    zone: &TimeZone,
    today: Date,
    broadcast_only: bool,
    playbook: &Playbook,
    out: &mut Vec<Candidate>,
) {
    let at = playbook.planner.greeting_at;
    let on = |d: Date| {
        d.to_datetime(at)
            .to_zoned_datetime(zone.clone())
            .map(|z| z.timestamp())
            .ok()
    };
    let mut personal: Vec<(String, Date)> = Vec::new();
    if let Some(b) = contact.relationship.birthday {
        personal.push(("birthday".into(), b));
    }
    for d in &contact.relationship.important_dates {
        personal.push((d.label.clone(), d.date));
    }
    for (label, date) in personal {
        if let Some(day) = next_yearly(today, date.month(), date.day())
            && let Some(due) = on(day)
        {
            out.push(Candidate::new(
                ActionKind::Greeting,
                due,
                "greeting.personal",
                format!("{label} on {day}"),
                Cap::None,
            ));
        }
    }
    let country = country.map(|c| c.as_str().to_owned());
    let language = contact.language.as_ref().map(|l| l.primary().to_owned());
    for h in &playbook.planner.holidays {
        let applies = (h.countries.is_empty() && h.languages.is_empty())
            || country.as_ref().is_some_and(|c| h.countries.contains(c))
            || language.as_ref().is_some_and(|l| h.languages.contains(l));
        if !applies {
            continue;
        }
        let day = match &h.when {
            HolidayDate::Yearly { month, day } => next_yearly(today, *month, *day),
            HolidayDate::Dates(dates) => dates.iter().copied().find(|d| *d >= today),
        };
        if let Some(day) = day
            && let Some(due) = on(day)
        {
            // Holidays reach broadcast-only contacts through the broadcast, not a rep.
            let kind = if broadcast_only {
                ActionKind::BroadcastOnly
            } else {
                ActionKind::Greeting
            };
            out.push(Candidate::new(
                kind,
                due,
                "greeting.holiday",
                format!("{} on {day}", h.name),
                Cap::None,
            ));
        }
    }
}

/// The next date on or after `today` with this month and day (29 February: the 28th in other
/// years).
fn next_yearly(today: Date, month: i8, day: i8) -> Option<Date> {
    let this = |year: i16| {
        Date::new(year, month, day)
            .or_else(|_| Date::new(year, month, day - 1))
            .ok()
    };
    match this(today.year()) {
        Some(d) if d >= today => Some(d),
        _ => this(today.year() + 1),
    }
}

/// Holds a candidate to the contact's constraints: weekly caps, the golden window, the contact
/// window and weekdays, quiet hours. Each move is said in the reason.
fn constrain(
    mut c: Candidate,
    contact: &Contact,
    state: &ContactState,
    zone: &TimeZone,
    now: Timestamp,
    tags: &[Tag],
    playbook: &Playbook,
) -> Candidate {
    let declared = contact.reach.max_per_week;
    let cap = match c.cap {
        Cap::None => None,
        Cap::Declared => declared,
        Cap::Promotional(own) => {
            let base = declared.unwrap_or(playbook.max_promotions_per_week);
            Some(own.map_or(base, |o| o.min(base)))
        }
    };
    if let Some(cap) = cap.filter(|n| *n > 0) {
        let before = c.due;
        // Spaced evenly: "twice a week" is a message every 3-4 days.
        if declared.is_some()
            && let Some(last) = state.last_outbound_at
        {
            c.due = c.due.max(plus(last, every(WEEK, cap)));
        }
        // And never more than `cap` touches in any 7 days.
        let touches: Vec<Timestamp> = state.recent_outbound.iter().copied().collect();
        loop {
            let window_start = c.due.checked_sub(WEEK).unwrap_or(c.due);
            let inside: Vec<&Timestamp> = touches
                .iter()
                .filter(|t| **t > window_start && **t <= c.due)
                .collect();
            if inside.len() < cap as usize {
                break;
            }
            // The window is open at its start: a week after the oldest touch, it has left.
            c.due = plus(*inside[0], WEEK);
        }
        if c.due > before {
            c.reason
                .push_str(&format!("; held back: at most {cap} a week"));
        }
    }
    let mut windows: Vec<&ContactWindow> = Vec::new();
    if let Some(w) = &contact.reach.window {
        windows.push(w);
    } else if c.flexible
        && let Some((name, w)) = time_type(tags, zone, c.due, playbook)
    {
        // Learned time type (SPEC 3.4): someone who answers fastest in office hours is not
        // sent promotions at the weekend; a night owl gets them in the evening.
        windows.push(w);
        c.reason.push_str(&format!("; {name}"));
    }
    if let Some(w) = &c.window {
        windows.push(w);
    }
    let quiet = playbook.planner.quiet_hours_allowed;
    let fitted = fit(c.due, zone, quiet, &windows);
    if fitted > c.due {
        let local = fitted.to_zoned_datetime(zone.clone());
        c.reason.push_str(&format!(
            "; moved to {} {} local ({})",
            local.strftime("%a %H:%M"),
            local.time_zone().iana_name().unwrap_or(""),
            if windows.is_empty() {
                "quiet hours"
            } else {
                "their window"
            }
        ));
    }
    c.due = fitted;
    // The golden window (SPEC 3.4): a flexible action in the future waits for the hour they
    // answer fastest, when that hour is allowed and within a day.
    if c.flexible
        && c.due >= now
        && let Some(hour) = golden_hour(tags)
    {
        let day_start = c.due.as_second() - c.due.as_second().rem_euclid(86_400);
        let mut golden = day_start + i64::from(hour) * 3600;
        if golden < c.due.as_second() {
            golden += 86_400;
        }
        if let Ok(g) = Timestamp::from_second(golden)
            && fit(g, zone, quiet, &windows) == g
        {
            c.due = g;
            let local = g.to_zoned_datetime(zone.clone());
            c.reason.push_str(&format!(
                "; at {} local, when they answer fastest",
                local.strftime("%H:%M")
            ));
        }
    }
    c
}

/// The earliest moment at or after `at` a message may reach the contact: inside the playbook's
/// quiet hours and the contact's own window, in their local time (the outbox's rule).
pub fn allowed_at(contact: &Contact, at: Timestamp, playbook: &Playbook) -> Timestamp {
    let (zone, _) = contact_zone(contact, playbook);
    let windows: Vec<&ContactWindow> = contact.reach.window.iter().collect();
    fit(at, &zone, playbook.planner.quiet_hours_allowed, &windows)
}

/// The next moment inside the contact's golden hour, from `after` (inside it already: `after`),
/// when the engine has learned one and it is an allowed hour for them.
pub fn golden_moment(
    contact: &Contact,
    tags: &[Tag],
    after: Timestamp,
    playbook: &Playbook,
) -> Option<Timestamp> {
    let hour = golden_hour(tags)?;
    let now = after.as_second();
    let mut start = now - now.rem_euclid(86_400) + i64::from(hour) * 3600;
    if start + 3600 <= now {
        start += 86_400;
    }
    let at = Timestamp::from_second(start).ok()?.max(after);
    (allowed_at(contact, at, playbook) == at).then_some(at)
}

/// The contact's time type, from the local hour of their golden window: office hours or night
/// owl (the playbook's windows), or none.
fn time_type<'p>(
    tags: &[Tag],
    zone: &TimeZone,
    around: Timestamp,
    playbook: &'p Playbook,
) -> Option<(&'static str, &'p ContactWindow)> {
    let hour = golden_hour(tags)?;
    let day_start = around.as_second() - around.as_second().rem_euclid(86_400);
    let golden = Timestamp::from_second(day_start + i64::from(hour) * 3600).ok()?;
    let local = golden.to_zoned_datetime(zone.clone()).time();
    let inside = |w: &ContactWindow| w.from <= local && local < w.to;
    if inside(&playbook.night_owl) {
        Some(("a night owl", &playbook.night_owl))
    } else if inside(&playbook.office_hours) {
        Some(("office hours", &playbook.office_hours))
    } else {
        None
    }
}

/// The golden hour (UTC) from the engine's preference tag.
fn golden_hour(tags: &[Tag]) -> Option<u8> {
    tags.iter()
        .find(|t| t.family == TagFamily::Preference && t.rule == "preference.golden_window")
        .and_then(|t| {
            t.value
                .strip_prefix("golden-hour-")?
                .strip_suffix("utc")?
                .parse()
                .ok()
        })
}

/// The earliest moment at or after `at` inside quiet hours and every window, in local time.
/// When the windows and quiet hours never meet (a contact who asked for 06:00-07:00), the
/// contact's own window wins: they asked for it.
fn fit(
    at: Timestamp,
    zone: &TimeZone,
    quiet: (Time, Time),
    windows: &[&ContactWindow],
) -> Timestamp {
    search(at, zone, Some(quiet), windows)
        .or_else(|| search(at, zone, None, windows))
        .unwrap_or(at)
}

fn search(
    at: Timestamp,
    zone: &TimeZone,
    quiet: Option<(Time, Time)>,
    windows: &[&ContactWindow],
) -> Option<Timestamp> {
    let local = at.to_zoned_datetime(zone.clone());
    let first_day = local.date();
    for offset in 0..15i32 {
        let day = first_day.checked_add(offset.days()).ok()?;
        let (mut from, mut to) = quiet.unwrap_or((Time::MIN, Time::MAX));
        let mut open = true;
        for w in windows {
            open &= w.includes_day(day.weekday());
            from = from.max(w.from);
            to = to.min(w.to);
        }
        if !open || from >= to {
            continue;
        }
        let start = if offset == 0 {
            from.max(local.time())
        } else {
            from
        };
        if start >= to {
            continue;
        }
        // A start inside a daylight-saving gap resolves to the later side; never before `at`.
        let candidate = day
            .to_datetime(start)
            .to_zoned_datetime(zone.clone())
            .ok()?
            .timestamp();
        return Some(candidate.max(at));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_zone_is_in_the_bundled_database_and_sorted() {
        for (code, zone) in COUNTRY_ZONES {
            assert!(TimeZoneName::parse(zone).is_ok(), "{code}: {zone}");
        }
        assert!(COUNTRY_ZONES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn yearly_dates_roll_over_and_leap_days_fall_back() {
        let d = |s: &str| s.parse::<Date>().expect("date");
        assert_eq!(next_yearly(d("2026-11-23"), 12, 31), Some(d("2026-12-31")));
        assert_eq!(next_yearly(d("2026-11-23"), 1, 5), Some(d("2027-01-05")));
        assert_eq!(next_yearly(d("2026-11-23"), 11, 23), Some(d("2026-11-23")));
        assert_eq!(next_yearly(d("2026-11-23"), 2, 29), Some(d("2027-02-28")));
        assert_eq!(next_yearly(d("2027-11-23"), 2, 29), Some(d("2028-02-29")));
    }
}
