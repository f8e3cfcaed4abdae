//! The classification engine (SPEC 3): a pure function from what Stoke knows about a contact and
//! what just happened to the contact's tags, each with the rule and evidence that set it, and the
//! next moment the contact must be looked at again.
//!
//! It is split in two so that replaying a history in one batch equals processing it event by
//! event, whatever `now` the steps ran at:
//! - `apply(state, event, analyzer)` folds one event into the `ContactState`. It depends on the
//!   event's own time only, never on `now`.
//! - `evaluate(state, now, playbook)` derives the tags that hold at `now`, and when they would
//!   next change with no new event (a tier decaying after 24 h): the due time the store indexes
//!   so that time-driven changes never need a scan of every contact.
//!
//! `step` does both and diffs the result against the tags the contact had.
//!
//! Events must be applied in time order; the store replays a contact's history when an older
//! event arrives late.

use std::collections::{BTreeMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use crate::id::{EventId, MessageId};
use crate::playbook::Playbook;
use crate::tag::{Evidence, Tag, TagChange, TagChangeKind, TagFamily};
use crate::text::{Analyzer, IntentTier, Sentiment};

/// A playbook with its lexicons compiled: what the engine needs, built once per playbook.
#[derive(Debug)]
pub struct Rules {
    pub playbook: Playbook,
    pub analyzer: Analyzer,
}

impl Rules {
    pub fn new(playbook: Playbook) -> Result<Self, crate::playbook::PlaybookError> {
        let analyzer = Analyzer::new(&playbook)?;
        Ok(Self { playbook, analyzer })
    }

    /// Folds a contact's whole history (in time order) into a fresh state.
    pub fn replay<'a>(&self, history: impl IntoIterator<Item = &'a EngineEvent>) -> ContactState {
        let mut state = ContactState::default();
        for event in history {
            apply(&mut state, event, &self.analyzer, &self.playbook);
        }
        state
    }
}

/// Something that happened to a contact, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// A message from the customer.
    Inbound {
        message: MessageId,
        text: String,
        at: Timestamp,
    },
    /// A message from the business (a touch).
    Outbound {
        message: MessageId,
        at: Timestamp,
    },
    /// An order, with the products (SKUs) its lines name; an order without lines counts as one
    /// purchase of `ANY_PRODUCT`.
    Order {
        event: EventId,
        at: Timestamp,
        products: Vec<String>,
    },
    /// A click on a link; `topic` is the words the link is about (`event::link_topic`), read
    /// for interests as a message's words are.
    Click {
        event: EventId,
        at: Timestamp,
        topic: String,
    },
    Open {
        event: EventId,
        at: Timestamp,
    },
    Delivered {
        message: MessageId,
        at: Timestamp,
    },
    /// The customer read a business message (a read receipt).
    Read {
        message: MessageId,
        at: Timestamp,
    },
}

impl EngineEvent {
    pub fn at(&self) -> Timestamp {
        match self {
            EngineEvent::Inbound { at, .. }
            | EngineEvent::Outbound { at, .. }
            | EngineEvent::Order { at, .. }
            | EngineEvent::Click { at, .. }
            | EngineEvent::Open { at, .. }
            | EngineEvent::Delivered { at, .. }
            | EngineEvent::Read { at, .. } => *at,
        }
    }
}

/// Where a fact came from: the message or event, when, and why in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub at: Timestamp,
    pub message: Option<MessageId>,
    pub event: Option<EventId>,
    pub detail: String,
}

impl Source {
    fn evidence(&self) -> Evidence {
        Evidence {
            message: self.message,
            event: self.event,
            detail: self.detail.clone(),
        }
    }
}

/// What the engine remembers about a contact between events. Everything here is derived from
/// the contact's history, so it can always be rebuilt by replaying it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactState {
    pub first_seen: Option<Timestamp>,
    pub last_event_at: Option<Timestamp>,
    pub last_inbound: Option<Source>,
    pub last_outbound_at: Option<Timestamp>,
    /// The intent tier the customer's words set, and the message that set it.
    pub intent: Option<(IntentTier, Source)>,
    /// Interest name to the latest message that showed it.
    pub interests: BTreeMap<String, Source>,
    /// Negative messages in a row, and the latest of them.
    pub negative_streak: u32,
    pub last_negative: Option<Source>,
    pub opted_out: Option<Source>,
    /// Times of recent inbound messages, newest last, for "active buyer" counts.
    pub recent_inbound: VecDeque<Timestamp>,
    /// Times of recent business messages (touches, by anyone), oldest first: the planner's
    /// cadences and weekly caps count them.
    pub recent_outbound: VecDeque<Timestamp>,
    pub orders: u32,
    pub last_order: Option<Source>,
    pub last_click: Option<Source>,
    /// The lead score: every engagement's points decayed to `score_at`, unclamped (it is shown
    /// clamped to 0-1000).
    pub score: f64,
    pub score_at: Option<Timestamp>,
    /// Per product: how often, first and latest purchase, to learn its repurchase interval.
    pub purchases: BTreeMap<String, Purchases>,
    /// The latest negative message, kept past the end of a streak (VIP repair looks back).
    pub last_complaint: Option<Source>,
    /// The latest read receipt of a business message.
    pub last_read: Option<Source>,
    /// Reply delays in minutes by the UTC hour of the business message answered: the golden
    /// window is the hour answered fastest. Bounded per hour.
    pub reply_delays: BTreeMap<u8, VecDeque<u32>>,
}

/// The purchases of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchases {
    pub count: u32,
    pub first: Timestamp,
    pub last: Timestamp,
    pub last_event: EventId,
}

/// The product an order without lines counts as.
pub const ANY_PRODUCT: &str = "(any order)";

/// Reply delays kept per hour of the day.
const DELAYS_KEPT_PER_HOUR: usize = 16;

/// Recent inbound and outbound times kept: enough for any sane "N interactions in a window" rule.
const RECENT_KEPT: usize = 32;

fn points(playbook: &Playbook, key: &str) -> f64 {
    f64::from(playbook.count(&format!("temperature.points.{key}")))
}

/// The score decayed from `score_at` to `at`.
fn decayed(state: &ContactState, at: Timestamp, playbook: &Playbook) -> f64 {
    let Some(since) = state.score_at else {
        return 0.0;
    };
    let half_life = playbook.duration("temperature.half_life").as_secs_f64();
    if half_life <= 0.0 {
        return state.score;
    }
    let elapsed = (at.as_second() - since.as_second()) as f64;
    state.score * 0.5f64.powf(elapsed / half_life)
}

/// Adds points to the decayed sum. Each event's points decay from its own time, so the sum does
/// not depend on the order events arrive in: a late click or receipt needs no replay.
fn add_points(state: &mut ContactState, at: Timestamp, amount: f64, playbook: &Playbook) {
    match state.score_at {
        Some(since) if at < since => {
            let late = ContactState {
                score: amount,
                score_at: Some(at),
                ..ContactState::default()
            };
            state.score += decayed(&late, since, playbook);
        }
        _ => {
            state.score = decayed(state, at, playbook) + amount;
            state.score_at = Some(at);
        }
    }
}

/// Keeps the later of two facts of one kind (the latest click, the latest order).
fn keep_latest(slot: &mut Option<Source>, candidate: Source) {
    if slot.as_ref().is_none_or(|s| {
        (s.at, s.event, s.message) <= (candidate.at, candidate.event, candidate.message)
    }) {
        *slot = Some(candidate);
    }
}

impl EngineEvent {
    /// Whether folding this event commutes with the other events of a history: orders, clicks,
    /// opens and receipts do (counts, latest-of, decaying sums); messages do not (intent and
    /// streaks follow the conversation's order), so a late message replays the history.
    pub fn commutes(&self) -> bool {
        !matches!(
            self,
            EngineEvent::Inbound { .. } | EngineEvent::Outbound { .. }
        )
    }
}

/// Folds one event into the state.
pub fn apply(
    state: &mut ContactState,
    event: &EngineEvent,
    analyzer: &Analyzer,
    playbook: &Playbook,
) {
    let at = event.at();
    state.first_seen = Some(state.first_seen.map_or(at, |f| f.min(at)));
    state.last_event_at = Some(state.last_event_at.map_or(at, |l| l.max(at)));
    match event {
        EngineEvent::Inbound { message, text, at } => {
            let c = analyzer.classify(text, None);
            let quoted = quote(text);
            let source = |detail: String| Source {
                at: *at,
                message: Some(*message),
                event: None,
                detail,
            };
            // A reply to the business's last message teaches the golden window.
            if let Some(out_at) = state.last_outbound_at
                && state.last_inbound.as_ref().is_none_or(|l| l.at < out_at)
                && out_at <= *at
            {
                let minutes = ((at.as_second() - out_at.as_second()) / 60)
                    .clamp(0, i64::from(u32::MAX)) as u32;
                let hour = (out_at.as_second().rem_euclid(86_400) / 3600) as u8;
                let delays = state.reply_delays.entry(hour).or_default();
                delays.push_back(minutes);
                while delays.len() > DELAYS_KEPT_PER_HOUR {
                    delays.pop_front();
                }
            }
            state.last_inbound = Some(source(format!("replied {quoted}")));
            state.recent_inbound.push_back(*at);
            while state.recent_inbound.len() > RECENT_KEPT {
                state.recent_inbound.pop_front();
            }
            add_points(state, *at, points(playbook, "replied"), playbook);
            let because = |rule: &str| {
                let words: Vec<&str> = c
                    .evidence
                    .iter()
                    .filter(|e| e.rule.starts_with(rule))
                    .map(|e| e.matched.as_str())
                    .collect();
                if words.is_empty() || words.iter().all(|w| w.is_empty()) {
                    format!("wrote {quoted}")
                } else {
                    format!("wrote {quoted} ({})", words.join(", "))
                }
            };
            if c.opt_out {
                state.opted_out = Some(source(because("opt_out")));
                let penalty = f64::from(playbook.count("temperature.points.unsubscribed_penalty"));
                add_points(state, *at, -penalty, playbook);
            }
            let previous = state.intent.as_ref().map(|(tier, _)| *tier);
            let next = match (c.intent, previous) {
                // A refusal or an opt-out sets none whatever came before.
                (IntentTier::None, _) => Some(IntentTier::None),
                // Buying signals upgrade at once; politeness never downgrades.
                (new, Some(old)) if new < old => Some(new),
                (IntentTier::Potential, Some(IntentTier::None)) => Some(IntentTier::Potential),
                (new, None) => Some(new),
                _ => None,
            };
            if let Some(tier) = next {
                let rule = match tier {
                    IntentTier::High => "intent.high",
                    IntentTier::Medium => "intent.medium",
                    IntentTier::Potential => "intent.potential",
                    IntentTier::None => {
                        if c.opt_out {
                            "opt_out"
                        } else {
                            "intent.none"
                        }
                    }
                };
                state.intent = Some((tier, source(because(rule))));
            } else if let Some((tier, _)) = state.intent
                && tier == c.intent
            {
                // The same tier again: the newest message is the better evidence.
                state.intent = Some((
                    tier,
                    source(because(match tier {
                        IntentTier::High => "intent.high",
                        IntentTier::Medium => "intent.medium",
                        _ => "intent.potential",
                    })),
                ));
            }
            for interest in &c.interests {
                let rule = format!("interest.{interest}");
                state
                    .interests
                    .insert((*interest).to_owned(), source(because(&rule)));
            }
            if c.sentiment == Sentiment::Negative {
                state.negative_streak += 1;
                state.last_negative = Some(source(because("sentiment.negative")));
                state.last_complaint = state.last_negative.clone();
            } else {
                state.negative_streak = 0;
            }
        }
        EngineEvent::Outbound { at, .. } => {
            state.last_outbound_at = Some(state.last_outbound_at.map_or(*at, |l| l.max(*at)));
            state.recent_outbound.push_back(*at);
            while state.recent_outbound.len() > RECENT_KEPT {
                state.recent_outbound.pop_front();
            }
        }
        EngineEvent::Order {
            event,
            at,
            products,
        } => {
            state.orders += 1;
            let any = [ANY_PRODUCT.to_owned()];
            let products = if products.is_empty() {
                &any[..]
            } else {
                &products[..]
            };
            for product in products {
                state
                    .purchases
                    .entry(product.clone())
                    .and_modify(|p| {
                        p.count += 1;
                        p.first = p.first.min(*at);
                        if (p.last, p.last_event) < (*at, *event) {
                            p.last = *at;
                            p.last_event = *event;
                        }
                    })
                    .or_insert(Purchases {
                        count: 1,
                        first: *at,
                        last: *at,
                        last_event: *event,
                    });
            }
            keep_latest(
                &mut state.last_order,
                Source {
                    at: *at,
                    message: None,
                    event: Some(*event),
                    detail: "ordered".into(),
                },
            );
            add_points(state, *at, points(playbook, "converted"), playbook);
        }
        EngineEvent::Click { event, at, topic } => {
            keep_latest(
                &mut state.last_click,
                Source {
                    at: *at,
                    message: None,
                    event: Some(*event),
                    detail: "clicked a link".into(),
                },
            );
            add_points(state, *at, points(playbook, "clicked"), playbook);
            // The interests the link's words show, like a message's (only interests: a link
            // to a price list is not a question about the price). The newest evidence wins
            // whatever the order clicks arrive in, so clicks still commute.
            if !topic.trim().is_empty() {
                let c = analyzer.classify(topic, None);
                for interest in &c.interests {
                    let rule = format!("interest.{interest}");
                    let words: Vec<&str> = c
                        .evidence
                        .iter()
                        .filter(|e| e.rule.starts_with(rule.as_str()) && !e.matched.is_empty())
                        .map(|e| e.matched.as_str())
                        .collect();
                    let mut slot = state.interests.get(*interest).cloned();
                    keep_latest(
                        &mut slot,
                        Source {
                            at: *at,
                            message: None,
                            event: Some(*event),
                            detail: if words.is_empty() {
                                format!("clicked a link about {}", quote(topic))
                            } else {
                                format!("clicked a link about {}", words.join(", "))
                            },
                        },
                    );
                    if let Some(source) = slot {
                        state.interests.insert((*interest).to_owned(), source);
                    }
                }
            }
        }
        EngineEvent::Open { at, .. } => {
            add_points(state, *at, points(playbook, "opened"), playbook)
        }
        EngineEvent::Delivered { at, .. } => {
            add_points(state, *at, points(playbook, "delivered"), playbook)
        }
        EngineEvent::Read { message, at } => {
            keep_latest(
                &mut state.last_read,
                Source {
                    at: *at,
                    message: Some(*message),
                    event: None,
                    detail: "read the message".into(),
                },
            );
        }
    }
}

fn quote(text: &str) -> String {
    let trimmed = text.trim();
    let short: String = trimmed.chars().take(60).collect();
    if short.len() < trimmed.len() {
        format!("\"{short}…\"")
    } else {
        format!("\"{short}\"")
    }
}

/// Tracks the earliest future moment at which a derived tag would change.
struct Wake {
    now: Timestamp,
    at: Option<Timestamp>,
}

impl Wake {
    fn at(&mut self, when: Timestamp) {
        if when > self.now && self.at.is_none_or(|a| when < a) {
            self.at = Some(when);
        }
    }
}

fn plus(at: Timestamp, d: SignedDuration) -> Timestamp {
    at.checked_add(d).unwrap_or(at)
}

fn tag(family: TagFamily, value: &str, colour: &str, rule: &str, source: &Source) -> Tag {
    Tag {
        family,
        value: value.to_owned(),
        colour: colour.to_owned(),
        rule: rule.to_owned(),
        evidence: source.evidence(),
        set_at: source.at,
    }
}

/// The tags that hold at `now`, and when they would next change with no new event.
pub fn evaluate(
    state: &ContactState,
    now: Timestamp,
    playbook: &Playbook,
) -> (Vec<Tag>, Option<Timestamp>) {
    let mut tags = Vec::new();
    let mut wake = Wake { now, at: None };
    let a = &playbook.activity;

    // Activity tier by the last reply (SPEC 3.1).
    let never = Source {
        at: state.first_seen.unwrap_or(now),
        message: None,
        event: None,
        detail: "has not replied yet".into(),
    };
    match &state.last_inbound {
        Some(last) => {
            let tiers = [("high", &a.high), ("medium", &a.medium), ("low", &a.low)];
            let mut chosen = None;
            for (name, tier) in tiers {
                let limit = plus(last.at, tier.within.unwrap_or(SignedDuration::ZERO));
                if now <= limit {
                    chosen = Some((name, &tier.colour));
                    wake.at(limit + SignedDuration::from_secs(1));
                    break;
                }
            }
            let (name, colour) = chosen.unwrap_or(("dormant", &a.dormant.colour));
            tags.push(tag(
                TagFamily::Activity,
                name,
                colour,
                &format!("activity.{name}"),
                last,
            ));
        }
        None => tags.push(tag(
            TagFamily::Activity,
            "dormant",
            &a.dormant.colour,
            "activity.dormant",
            &never,
        )),
    }

    // Purchase intent (SPEC 3.2), with the high tier's downgrade after silence.
    let i = &playbook.intent;
    let intent = match (&state.opted_out, &state.intent) {
        (Some(opt), _) => Some((IntentTier::None, "opt_out".to_owned(), opt.clone())),
        (None, Some((IntentTier::High, source))) => {
            let last_reply = state
                .last_inbound
                .as_ref()
                .map_or(source.at, |l| l.at.max(source.at));
            let limit = plus(last_reply, i.downgrade_after);
            if now > limit {
                let detail = format!(
                    "no reply for {} after: {}",
                    human(i.downgrade_after),
                    source.detail
                );
                Some((
                    IntentTier::Medium,
                    "intent.high.downgrade".to_owned(),
                    Source {
                        detail,
                        ..source.clone()
                    },
                ))
            } else {
                wake.at(limit + SignedDuration::from_secs(1));
                Some((IntentTier::High, "intent.high".to_owned(), source.clone()))
            }
        }
        (None, Some((tier, source))) => {
            Some((*tier, format!("intent.{}", tier.as_str()), source.clone()))
        }
        (None, None) => Some((
            IntentTier::None,
            "intent.none.no_reply".to_owned(),
            never.clone(),
        )),
    };
    if let Some((tier, rule, source)) = intent {
        let colour = match tier {
            IntentTier::High => &i.high_colour,
            IntentTier::Medium => &i.medium_colour,
            IntentTier::Potential => &i.potential_colour,
            IntentTier::None => &i.none_colour,
        };
        tags.push(tag(
            TagFamily::Intent,
            tier.as_str(),
            colour,
            &rule,
            &source,
        ));
    }

    // Interests (SPEC 3.3). One not shown again for `stale_after` is flagged stale (tag
    // hygiene, SPEC 3.5): it stays, under a rule that says so, until reviewed or reinforced.
    for (name, source) in &state.interests {
        if let Some(interest) = playbook.interest(name) {
            let stale_at = plus(source.at, playbook.stale_after);
            let rule = if now >= stale_at {
                format!("interest.{name}.stale")
            } else {
                wake.at(stale_at);
                format!("interest.{name}")
            };
            tags.push(tag(
                TagFamily::Interest,
                name,
                &interest.colour,
                &rule,
                source,
            ));
        }
    }

    // Sentiment escalation (SPEC 3.5).
    if state.negative_streak >= playbook.negative_streak.max(1)
        && let Some(source) = &state.last_negative
    {
        let detail = format!(
            "{} negative messages in a row; latest {}",
            state.negative_streak, source.detail
        );
        tags.push(tag(
            TagFamily::Sentiment,
            "escalate",
            &playbook.sentiment_colour,
            "sentiment.negative_streak",
            &Source {
                detail,
                ..source.clone()
            },
        ));
    }

    // Lifecycle and behaviour groups (SPEC 3.5).
    let colour = playbook.text_setting("lifecycle.colour").to_owned();
    if let Some(first) = state.first_seen {
        let until = plus(first, playbook.duration("lifecycle.new_subscriber_for"));
        if now < until {
            wake.at(until);
            let source = Source {
                at: first,
                message: None,
                event: None,
                detail: format!("first seen {first}"),
            };
            tags.push(tag(
                TagFamily::Lifecycle,
                "new",
                &colour,
                "lifecycle.new_subscriber",
                &source,
            ));
        }
    }
    let window = playbook.duration("lifecycle.active_buyer_window");
    let needed = playbook.count("lifecycle.active_buyer_interactions").max(1) as usize;
    let recent: Vec<&Timestamp> = state
        .recent_inbound
        .iter()
        .filter(|t| plus(**t, window) >= now)
        .collect();
    if recent.len() >= needed
        && let Some(last) = &state.last_inbound
    {
        // The group holds until the oldest counted message leaves the window.
        let oldest_needed = recent[recent.len() - needed];
        wake.at(plus(*oldest_needed, window) + SignedDuration::from_secs(1));
        let detail = format!("{} messages in the last {}", recent.len(), human(window));
        tags.push(tag(
            TagFamily::Lifecycle,
            "active",
            &colour,
            "lifecycle.active_buyer",
            &Source {
                detail,
                ..last.clone()
            },
        ));
    }
    if let Some(order) = &state.last_order {
        let after = plus(order.at, playbook.duration("lifecycle.dormant_buyer_after"));
        if now > after {
            let detail = format!(
                "no purchase for {}; last was {}",
                human(playbook.duration("lifecycle.dormant_buyer_after")),
                order.detail
            );
            tags.push(tag(
                TagFamily::Lifecycle,
                "dormant-buyer",
                &colour,
                "lifecycle.dormant_buyer",
                &Source {
                    detail,
                    ..order.clone()
                },
            ));
        } else {
            wake.at(after + SignedDuration::from_secs(1));
            if state.orders >= 2 {
                tags.push(tag(
                    TagFamily::Lifecycle,
                    "repeat-buyer",
                    &colour,
                    "lifecycle.repeat_buyer",
                    order,
                ));
            }
        }
    }
    if let Some(click) = &state.last_click
        && state.last_order.as_ref().is_none_or(|o| o.at < click.at)
    {
        let until = plus(
            click.at,
            playbook.duration("lifecycle.clicked_followup_within"),
        );
        if now <= until {
            wake.at(until + SignedDuration::from_secs(1));
            tags.push(tag(
                TagFamily::Lifecycle,
                "clicked-not-converted",
                &colour,
                "lifecycle.clicked_not_converted",
                click,
            ));
        }
    }
    let last_activity = [
        state.last_inbound.as_ref().map(|s| s.at),
        state.last_order.as_ref().map(|s| s.at),
    ]
    .into_iter()
    .flatten()
    .max()
    .or(state.first_seen);
    if let Some(last) = last_activity {
        let cleanup = plus(last, playbook.duration("lifecycle.cleanup_after"));
        if now > cleanup {
            let detail = format!(
                "no reply or purchase for {}",
                human(playbook.duration("lifecycle.cleanup_after"))
            );
            tags.push(tag(
                TagFamily::Lifecycle,
                "cleanup",
                &colour,
                "lifecycle.cleanup",
                &Source {
                    at: last,
                    message: None,
                    event: None,
                    detail,
                },
            ));
        } else {
            wake.at(cleanup + SignedDuration::from_secs(1));
        }
    }

    // Replenishment (SPEC 3.5): per product, a reminder at a share of its learned repurchase
    // interval (cat food every 35 days: day 28). The most overdue product is the evidence.
    let share = playbook.share("lifecycle.replenish_at");
    let mut overdue: Option<(Timestamp, &String, &Purchases, f64)> = None;
    for (product, p) in &state.purchases {
        if p.count < 2 || p.last <= p.first {
            continue;
        }
        let interval_days =
            (p.last.as_second() - p.first.as_second()) as f64 / 86_400.0 / f64::from(p.count - 1);
        let due = plus(
            p.last,
            SignedDuration::from_secs((interval_days * share * 86_400.0) as i64),
        );
        if now >= due {
            if overdue.is_none_or(|(d, ..)| due < d) {
                overdue = Some((due, product, p, interval_days));
            }
        } else {
            wake.at(due);
        }
    }
    if let Some((due, product, p, interval_days)) = overdue {
        let detail = format!(
            "{product}: bought {} times, every {interval_days:.0} days; due since {due}",
            p.count
        );
        let source = Source {
            at: p.last,
            message: None,
            event: Some(p.last_event),
            detail,
        };
        tags.push(tag(
            TagFamily::Lifecycle,
            "replenish-due",
            &colour,
            "lifecycle.replenish_due",
            &source,
        ));
    }

    // VIP repair (SPEC 3.5): a valuable customer who complained recently.
    if state.orders >= 2
        && let Some(complaint) = &state.last_complaint
    {
        let until = plus(
            complaint.at,
            playbook.duration("lifecycle.vip_repair_within"),
        );
        if now <= until {
            wake.at(until + SignedDuration::from_secs(1));
            let detail = format!(
                "{} orders and a complaint: {}",
                state.orders, complaint.detail
            );
            tags.push(tag(
                TagFamily::Lifecycle,
                "vip-repair",
                &colour,
                "lifecycle.vip_repair",
                &Source {
                    detail,
                    ..complaint.clone()
                },
            ));
        }
    }

    // Read, no reply (SPEC 3.5): a business message read and not answered; the group lasts as
    // long as a second follow-up is worth sending.
    if let Some(read) = &state.last_read
        && state.last_inbound.as_ref().is_none_or(|i| i.at < read.at)
    {
        let until = plus(
            read.at,
            playbook.duration("lifecycle.read_no_reply_followup_within"),
        );
        if now <= until {
            wake.at(until + SignedDuration::from_secs(1));
            tags.push(tag(
                TagFamily::Lifecycle,
                "read-no-reply",
                &colour,
                "lifecycle.read_no_reply",
                read,
            ));
        }
    }

    // Pipeline stage (seed 003): attraction until they show buying intent, sale while they do,
    // account once they have bought.
    let stage = if state.orders > 0 {
        state
            .last_order
            .clone()
            .map(|o| ("account", "stage.account", o))
    } else {
        match &state.intent {
            Some((IntentTier::High | IntentTier::Medium, source)) => {
                Some(("sale", "stage.sale", source.clone()))
            }
            _ => Some((
                "attraction",
                "stage.attraction",
                state.last_inbound.clone().unwrap_or_else(|| never.clone()),
            )),
        }
    };
    if let Some((value, rule, source)) = stage {
        tags.push(tag(TagFamily::Stage, value, &colour, rule, &source));
    }

    // The golden window (SPEC 3.4): the hour of day answered fastest, once enough replies say so.
    let needed = playbook
        .count("preferences.golden_window_min_replies")
        .max(1) as usize;
    let golden = state
        .reply_delays
        .iter()
        .filter(|(_, d)| d.len() >= needed)
        .map(|(hour, d)| {
            let mut sorted: Vec<u32> = d.iter().copied().collect();
            sorted.sort_unstable();
            (sorted[sorted.len() / 2], *hour, d.len())
        })
        .min();
    if let Some((median, hour, replies)) = golden
        && let Some(last) = &state.last_inbound
    {
        let detail = format!(
            "answers messages sent at {hour:02}:00 UTC fastest: median {median} min over {replies} replies"
        );
        let value = format!("golden-hour-{hour:02}utc");
        tags.push(tag(
            TagFamily::Preference,
            &value,
            &colour,
            "preference.golden_window",
            &Source {
                detail,
                ..last.clone()
            },
        ));
    }

    // Lead temperature from the decaying score (SPEC 3.5).
    if let Some(score_at) = state.score_at {
        let score = decayed(state, now, playbook).clamp(0.0, 1000.0);
        let hot = f64::from(playbook.count("temperature.hot_score"));
        let warm = f64::from(playbook.count("temperature.warm_score"));
        let (value, colour_key) = if score >= hot {
            ("hot", "temperature.hot_colour")
        } else if score >= warm {
            ("warm", "temperature.warm_colour")
        } else {
            ("cold", "temperature.cold_colour")
        };
        // When the score, decaying, falls below the threshold it is above.
        let below = [hot, warm].into_iter().find(|t| score >= *t && *t > 0.0);
        if let Some(threshold) = below {
            let half_life = playbook.duration("temperature.half_life").as_secs_f64();
            let seconds = half_life * (state.score / threshold).log2();
            if seconds.is_finite() && seconds > 0.0 {
                wake.at(plus(
                    score_at,
                    SignedDuration::from_secs(seconds.ceil() as i64 + 1),
                ));
            }
        }
        let source = Source {
            at: score_at,
            message: None,
            event: None,
            detail: format!("lead score {score:.0}"),
        };
        tags.push(tag(
            TagFamily::Temperature,
            value,
            playbook.text_setting(colour_key),
            &format!("temperature.{value}"),
            &source,
        ));
    }
    keep_the_most_useful(&mut tags, playbook.max_tags as usize);
    (tags, wake.at)
}

/// Tag hygiene (SPEC 3.5): at most `max` engine tags. What a rep acts on comes first (activity,
/// intent, stage, temperature, sentiment), then fresh interests, lifecycle groups, preferences,
/// and stale interests last.
fn keep_the_most_useful(tags: &mut Vec<Tag>, max: usize) {
    if max == 0 || tags.len() <= max {
        return;
    }
    let rank = |t: &Tag| match t.family {
        TagFamily::Activity | TagFamily::Intent | TagFamily::Stage => 0,
        TagFamily::Temperature | TagFamily::Sentiment => 1,
        TagFamily::Interest if !t.rule.ends_with(".stale") => 2,
        TagFamily::Lifecycle => 3,
        TagFamily::Preference => 4,
        _ => 5,
    };
    // Stable: within a rank the engine's order (newest evidence is not assumed) stays.
    tags.sort_by_key(rank);
    tags.truncate(max);
}

/// A duration in the playbook's words: "3d", "24h".
pub(crate) fn human(d: SignedDuration) -> String {
    let s = d.as_secs();
    if s % 86_400 == 0 {
        format!("{}d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else {
        format!("{}m", s / 60)
    }
}

/// The changes that take a contact from `old` tags to `new` ones. Static tags are people's and
/// never touched. A tag that holds by the same rule with newer evidence is `Refreshed`.
pub fn diff(old: &[Tag], new: &[Tag]) -> Vec<TagChange> {
    let mut changes = Vec::new();
    for tag in old.iter().filter(|t| t.family != TagFamily::Static) {
        if !new
            .iter()
            .any(|n| n.family == tag.family && n.value == tag.value)
        {
            changes.push(TagChange {
                kind: TagChangeKind::Removed,
                tag: tag.clone(),
            });
        }
    }
    for tag in new {
        match old
            .iter()
            .find(|o| o.family == tag.family && o.value == tag.value)
        {
            Some(o) if o.rule == tag.rule && o.colour == tag.colour => {
                if o.evidence != tag.evidence || o.set_at != tag.set_at {
                    changes.push(TagChange {
                        kind: TagChangeKind::Refreshed,
                        tag: tag.clone(),
                    });
                }
            }
            _ => changes.push(TagChange {
                kind: TagChangeKind::Set,
                tag: tag.clone(),
            }),
        }
    }
    changes
}

/// One engine step: fold the event, derive the tags at `now`, and say what changed.
pub fn step(
    state: &ContactState,
    current_tags: &[Tag],
    event: &EngineEvent,
    now: Timestamp,
    analyzer: &Analyzer,
    playbook: &Playbook,
) -> (ContactState, Vec<TagChange>, Option<Timestamp>) {
    let mut next = state.clone();
    apply(&mut next, event, analyzer, playbook);
    let (tags, wake) = evaluate(&next, now, playbook);
    (next, diff(current_tags, &tags), wake)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The default rules, compiled once for all tests.
    fn rules() -> (&'static Playbook, &'static Analyzer) {
        static RULES: std::sync::OnceLock<Rules> = std::sync::OnceLock::new();
        let rules = RULES.get_or_init(|| {
            let playbook = Playbook::default_playbook().unwrap_or_else(|e| panic!("{e:?}"));
            Rules::new(playbook).unwrap_or_else(|e| panic!("{e}"))
        });
        (&rules.playbook, &rules.analyzer)
    }

    fn t(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    fn hours(h: i64) -> SignedDuration {
        SignedDuration::from_hours(h)
    }

    fn inbound(id: i64, text: &str, at: Timestamp) -> EngineEvent {
        EngineEvent::Inbound {
            message: MessageId::new(id),
            text: text.to_owned(),
            at,
        }
    }

    fn value(tags: &[Tag], family: TagFamily) -> Option<(&str, &str)> {
        tags.iter()
            .find(|t| t.family == family)
            .map(|t| (t.value.as_str(), t.rule.as_str()))
    }

    #[test]
    fn activity_decays_by_the_last_reply_and_says_when() {
        let (playbook, analyzer) = rules();
        let start = t("2026-11-02T10:00:00Z");
        let mut state = ContactState::default();
        apply(&mut state, &inbound(1, "hello", start), analyzer, playbook);
        let check = |after: SignedDuration, tier: &str| {
            let (tags, _) = evaluate(&state, start + after, playbook);
            assert_eq!(
                value(&tags, TagFamily::Activity).map(|v| v.0),
                Some(tier),
                "after {after:?}"
            );
        };
        check(hours(1), "high");
        check(hours(24), "high");
        check(hours(25), "medium");
        check(hours(72), "medium");
        check(hours(100), "low");
        check(hours(24 * 8), "dormant");
        let (_, wake) = evaluate(&state, start + hours(1), playbook);
        assert_eq!(
            wake,
            Some(start + hours(24) + SignedDuration::from_secs(1)),
            "the next look is when high ends"
        );
        let (tags, _) = evaluate(&state, start + hours(1), playbook);
        let activity = tags
            .iter()
            .find(|t| t.family == TagFamily::Activity)
            .expect("activity");
        assert_eq!(
            activity.evidence.message,
            Some(MessageId::new(1)),
            "the reply that set it"
        );
        assert_eq!(activity.colour, "green");
    }

    #[test]
    fn intent_upgrades_at_once_downgrades_after_silence_and_refusal_wins() {
        let (playbook, analyzer) = rules();
        let start = t("2026-11-02T10:00:00Z");
        let mut state = ContactState::default();
        let (tags, _) = evaluate(&state, start, playbook);
        assert_eq!(
            value(&tags, TagFamily::Intent),
            Some(("none", "intent.none.no_reply"))
        );
        apply(&mut state, &inbound(1, "thanks", start), analyzer, playbook);
        assert_eq!(
            value(&evaluate(&state, start, playbook).0, TagFamily::Intent).map(|v| v.0),
            Some("potential")
        );
        apply(
            &mut state,
            &inbound(2, "how much is it?", start + hours(1)),
            analyzer,
            playbook,
        );
        let (tags, wake) = evaluate(&state, start + hours(2), playbook);
        assert_eq!(
            value(&tags, TagFamily::Intent),
            Some(("high", "intent.high"))
        );
        assert_eq!(
            tags.iter()
                .find(|t| t.family == TagFamily::Intent)
                .and_then(|t| t.evidence.message),
            Some(MessageId::new(2))
        );
        assert!(wake.is_some());
        apply(
            &mut state,
            &inbound(3, "thanks", start + hours(3)),
            analyzer,
            playbook,
        );
        assert_eq!(
            value(
                &evaluate(&state, start + hours(4), playbook).0,
                TagFamily::Intent
            )
            .map(|v| v.0),
            Some("high"),
            "politeness does not downgrade"
        );
        let (tags, _) = evaluate(&state, start + hours(3 + 73), playbook);
        assert_eq!(
            value(&tags, TagFamily::Intent),
            Some(("medium", "intent.high.downgrade")),
            "three silent days"
        );
        apply(
            &mut state,
            &inbound(4, "no thanks, not interested", start + hours(80)),
            analyzer,
            playbook,
        );
        assert_eq!(
            value(
                &evaluate(&state, start + hours(80), playbook).0,
                TagFamily::Intent
            )
            .map(|v| v.0),
            Some("none")
        );
        apply(
            &mut state,
            &inbound(5, "STOP", start + hours(81)),
            analyzer,
            playbook,
        );
        assert!(state.opted_out.is_some());
        assert_eq!(
            value(
                &evaluate(&state, start + hours(82), playbook).0,
                TagFamily::Intent
            ),
            Some(("none", "opt_out"))
        );
    }

    #[test]
    fn orders_clicks_and_temperature() {
        let (playbook, analyzer) = rules();
        let start = t("2026-06-01T10:00:00Z");
        let mut state = ContactState::default();
        apply(
            &mut state,
            &EngineEvent::Click {
                event: EventId::new(1),
                at: start,
                topic: String::new(),
            },
            analyzer,
            playbook,
        );
        let (tags, _) = evaluate(&state, start + hours(1), playbook);
        assert!(tags.iter().any(|t| t.value == "clicked-not-converted"));
        apply(
            &mut state,
            &EngineEvent::Order {
                event: EventId::new(2),
                at: start + hours(2),
                products: vec![],
            },
            analyzer,
            playbook,
        );
        let (tags, _) = evaluate(&state, start + hours(3), playbook);
        assert!(
            !tags.iter().any(|t| t.value == "clicked-not-converted"),
            "the click converted"
        );
        assert_eq!(
            value(&tags, TagFamily::Temperature).map(|v| v.0),
            Some("warm"),
            "8 + 25 points"
        );
        let (tags, _) = evaluate(&state, start + hours(24 * 91), playbook);
        assert!(tags.iter().any(|t| t.value == "dormant-buyer"));
        assert_eq!(
            value(&tags, TagFamily::Temperature).map(|v| v.0),
            Some("cold"),
            "the score decays"
        );
    }

    #[test]
    fn a_clicked_links_words_show_interests() {
        let (playbook, analyzer) = rules();
        let start = t("2026-06-01T10:00:00Z");
        let click = |id: i64, at: Timestamp, url: &str| EngineEvent::Click {
            event: EventId::new(id),
            at,
            topic: crate::event::link_topic(url),
        };
        let mut state = ContactState::default();
        apply(
            &mut state,
            &click(
                1,
                start,
                "https://shop.example/offers/discount-cat-food?utm=x",
            ),
            analyzer,
            playbook,
        );
        let (tags, _) = evaluate(&state, start + hours(1), playbook);
        let discount = tags
            .iter()
            .find(|t| t.rule == "interest.discount")
            .unwrap_or_else(|| panic!("{tags:?}"));
        assert_eq!(discount.evidence.event, Some(EventId::new(1)));
        assert!(
            discount.evidence.detail.starts_with("clicked a link about"),
            "{:?}",
            discount.evidence
        );
        // An older click arriving later does not replace the newer evidence; a link with no
        // topic words shows no interest.
        apply(
            &mut state,
            &click(2, start - hours(5), "https://shop.example/sale"),
            analyzer,
            playbook,
        );
        assert_eq!(
            state.interests.get("discount").and_then(|s| s.event),
            Some(EventId::new(1))
        );
        let mut plain = ContactState::default();
        apply(
            &mut plain,
            &click(3, start, "https://shop.example/?id=7"),
            analyzer,
            playbook,
        );
        assert!(plain.interests.is_empty());
        // Nor does a price word make a click a purchase question.
        apply(
            &mut plain,
            &click(4, start, "https://shop.example/price-list"),
            analyzer,
            playbook,
        );
        assert!(plain.intent.is_none());
    }

    #[test]
    fn repeat_buyers_get_replenishment_vip_repair_and_the_account_stage() {
        let (playbook, analyzer) = rules();
        let start = t("2026-06-01T10:00:00Z");
        let mut state = ContactState::default();
        let stage = |state: &ContactState, at| {
            value(&evaluate(state, at, playbook).0, TagFamily::Stage).map(|v| v.0.to_owned())
        };
        assert_eq!(stage(&state, start).as_deref(), Some("attraction"));
        apply(
            &mut state,
            &inbound(1, "how much is it?", start),
            analyzer,
            playbook,
        );
        assert_eq!(stage(&state, start).as_deref(), Some("sale"));
        apply(
            &mut state,
            &EngineEvent::Order {
                event: EventId::new(1),
                at: start + hours(1),
                products: vec![],
            },
            analyzer,
            playbook,
        );
        apply(
            &mut state,
            &EngineEvent::Order {
                event: EventId::new(2),
                at: start + hours(1 + 24 * 35),
                products: vec![],
            },
            analyzer,
            playbook,
        );
        assert_eq!(
            stage(&state, start + hours(24 * 36)).as_deref(),
            Some("account")
        );
        // Every 35 days: the reminder is due at 80%, day 28 after the last order.
        let last = start + hours(1 + 24 * 35);
        let (tags, wake) = evaluate(&state, last + hours(24 * 27), playbook);
        assert!(!tags.iter().any(|t| t.value == "replenish-due"));
        assert_eq!(wake, Some(last + hours(24 * 28)));
        let (tags, _) = evaluate(&state, last + hours(24 * 28), playbook);
        assert!(tags.iter().any(|t| t.value == "replenish-due"), "{tags:?}");
        apply(
            &mut state,
            &inbound(2, "terrible, the bag arrived broken", last + hours(48)),
            analyzer,
            playbook,
        );
        let (tags, _) = evaluate(&state, last + hours(50), playbook);
        let repair = tags
            .iter()
            .find(|t| t.value == "vip-repair")
            .expect("vip repair");
        assert_eq!(repair.evidence.message, Some(MessageId::new(2)));
        let (tags, _) = evaluate(&state, last + hours(48 + 24 * 31), playbook);
        assert!(
            !tags.iter().any(|t| t.value == "vip-repair"),
            "thirty days later it is history"
        );
    }

    #[test]
    fn replenishment_is_learned_per_product() {
        let (playbook, analyzer) = rules();
        let start = t("2026-01-01T10:00:00Z");
        let mut state = ContactState::default();
        let order = |id: i64, day: i64, products: &[&str]| EngineEvent::Order {
            event: EventId::new(id),
            at: start + hours(24 * day),
            products: products.iter().map(|p| (*p).to_owned()).collect(),
        };
        // Cat food every 35 days; a bed bought once; litter every 10 days.
        for (id, day, products) in [
            (1, 0, &["CAT-FOOD", "BED"][..]),
            (2, 35, &["CAT-FOOD"][..]),
            (3, 40, &["LITTER"][..]),
            (4, 50, &["LITTER"][..]),
        ] {
            apply(&mut state, &order(id, day, products), analyzer, playbook);
        }
        // Litter: due at day 50 + 8; cat food: due at day 35 + 28 = 63.
        let (tags, wake) = evaluate(&state, start + hours(24 * 52), playbook);
        assert!(!tags.iter().any(|t| t.value == "replenish-due"));
        assert_eq!(wake.map(|w| w <= start + hours(24 * 58)), Some(true));
        let (tags, _) = evaluate(&state, start + hours(24 * 59), playbook);
        let due = tags
            .iter()
            .find(|t| t.value == "replenish-due")
            .expect("litter is due");
        assert!(
            due.evidence.detail.starts_with("LITTER"),
            "{}",
            due.evidence.detail
        );
        assert_eq!(due.evidence.event, Some(EventId::new(4)));
    }

    #[test]
    fn the_golden_window_is_the_hour_answered_fastest() {
        let (playbook, analyzer) = rules();
        let day = t("2026-11-02T00:00:00Z");
        let mut state = ContactState::default();
        let mut id = 0;
        for d in 0..4 {
            for (hour, delay_min) in [(9, 300), (19, 8)] {
                let sent = day + hours(24 * d + hour);
                id += 1;
                apply(
                    &mut state,
                    &EngineEvent::Outbound {
                        message: MessageId::new(id),
                        at: sent,
                    },
                    analyzer,
                    playbook,
                );
                id += 1;
                apply(
                    &mut state,
                    &inbound(id, "ok", sent + SignedDuration::from_mins(delay_min)),
                    analyzer,
                    playbook,
                );
            }
        }
        let (tags, _) = evaluate(&state, day + hours(24 * 5), playbook);
        let golden = tags
            .iter()
            .find(|t| t.family == TagFamily::Preference)
            .expect("a golden window");
        assert_eq!(golden.value, "golden-hour-19utc");
        assert!(
            golden.evidence.detail.contains("median 8 min"),
            "{}",
            golden.evidence.detail
        );
    }

    #[test]
    fn interests_go_stale_and_tags_are_capped() {
        let (playbook, analyzer) = rules();
        let start = t("2026-01-01T10:00:00Z");
        let mut state = ContactState::default();
        apply(
            &mut state,
            &inbound(1, "any promo code?", start),
            analyzer,
            playbook,
        );
        let rule = |at| {
            evaluate(&state, at, playbook)
                .0
                .into_iter()
                .find(|t| t.family == TagFamily::Interest)
                .map(|t| t.rule)
        };
        assert_eq!(
            rule(start + hours(24)).as_deref(),
            Some("interest.discount")
        );
        assert_eq!(
            rule(start + hours(24 * 181)).as_deref(),
            Some("interest.discount.stale")
        );
        let mut capped = playbook.clone();
        capped.max_tags = 3;
        let (tags, _) = evaluate(&state, start + hours(1), &capped);
        assert_eq!(tags.len(), 3);
        assert!(
            tags.iter().all(|t| matches!(
                t.family,
                TagFamily::Activity | TagFamily::Intent | TagFamily::Stage
            )),
            "{tags:?}"
        );
    }

    #[test]
    fn a_read_message_without_a_reply_is_followed_up_within_48_hours() {
        let (playbook, analyzer) = rules();
        let start = t("2026-11-02T10:00:00Z");
        let mut state = ContactState::default();
        apply(
            &mut state,
            &EngineEvent::Outbound {
                message: MessageId::new(1),
                at: start,
            },
            analyzer,
            playbook,
        );
        apply(
            &mut state,
            &EngineEvent::Read {
                message: MessageId::new(1),
                at: start + hours(1),
            },
            analyzer,
            playbook,
        );
        let (tags, wake) = evaluate(&state, start + hours(2), playbook);
        let read = tags
            .iter()
            .find(|t| t.value == "read-no-reply")
            .expect("read, no reply");
        assert_eq!(read.evidence.message, Some(MessageId::new(1)));
        assert_eq!(wake, Some(start + hours(49) + SignedDuration::from_secs(1)));
        assert!(
            !evaluate(&state, start + hours(50), playbook)
                .0
                .iter()
                .any(|t| t.value == "read-no-reply")
        );
        apply(
            &mut state,
            &inbound(2, "ok", start + hours(3)),
            analyzer,
            playbook,
        );
        assert!(
            !evaluate(&state, start + hours(4), playbook)
                .0
                .iter()
                .any(|t| t.value == "read-no-reply")
        );
    }

    #[test]
    fn three_negative_messages_in_a_row_escalate() {
        let (playbook, analyzer) = rules();
        let start = t("2026-11-02T10:00:00Z");
        let mut state = ContactState::default();
        for (i, text) in ["terrible", "terrible service", "this is terrible"]
            .iter()
            .enumerate()
        {
            let (tags, _) = evaluate(&state, start + hours(i as i64), playbook);
            assert!(!tags.iter().any(|t| t.family == TagFamily::Sentiment));
            apply(
                &mut state,
                &inbound(i as i64, text, start + hours(i as i64)),
                analyzer,
                playbook,
            );
        }
        let (tags, _) = evaluate(&state, start + hours(3), playbook);
        assert_eq!(
            value(&tags, TagFamily::Sentiment),
            Some(("escalate", "sentiment.negative_streak"))
        );
    }

    #[test]
    fn diff_separates_changes_from_refreshed_evidence() {
        let (playbook, analyzer) = rules();
        let start = t("2026-11-02T10:00:00Z");
        let mut state = ContactState::default();
        apply(&mut state, &inbound(1, "hello", start), analyzer, playbook);
        let (first, _) = evaluate(&state, start, playbook);
        apply(
            &mut state,
            &inbound(2, "hello again", start + hours(1)),
            analyzer,
            playbook,
        );
        let (second, _) = evaluate(&state, start + hours(1), playbook);
        let changes = diff(&first, &second);
        assert!(
            changes.iter().all(|c| c.kind == TagChangeKind::Refreshed),
            "{changes:?}"
        );
        assert!(diff(&second, &second).is_empty());
        let (later, _) = evaluate(&state, start + hours(30), playbook);
        let changes = diff(&second, &later);
        assert!(
            changes
                .iter()
                .any(|c| c.kind == TagChangeKind::Removed && c.tag.value == "high")
        );
        assert!(
            changes
                .iter()
                .any(|c| c.kind == TagChangeKind::Set && c.tag.value == "medium")
        );
    }

    const TEXTS: [&str; 8] = [
        "how much is it?",
        "thanks",
        "not interested",
        "terrible",
        "what is the warranty",
        "👍",
        "hello",
        "STOP",
    ];

    fn events() -> impl Strategy<Value = Vec<(u8, u32, u8)>> {
        // (kind, minutes after the previous event, text index)
        prop::collection::vec((0u8..6, 1u32..6000, 0u8..8), 1..25)
    }

    fn build(spec: &[(u8, u32, u8)], start: Timestamp) -> Vec<EngineEvent> {
        let mut at = start;
        spec.iter()
            .enumerate()
            .map(|(i, (kind, gap, text))| {
                at += SignedDuration::from_mins(i64::from(*gap));
                let id = i as i64 + 1;
                match kind {
                    0 | 1 => inbound(id, TEXTS[*text as usize], at),
                    2 => EngineEvent::Outbound {
                        message: MessageId::new(id),
                        at,
                    },
                    5 => EngineEvent::Read {
                        message: MessageId::new(id),
                        at,
                    },
                    3 => EngineEvent::Order {
                        event: EventId::new(id),
                        at,
                        products: vec![["CAT-FOOD", "LITTER"][(*text % 2) as usize].to_owned()],
                    },
                    _ => EngineEvent::Click {
                        event: EventId::new(id),
                        at,
                        topic: ["offers discount", "guides how to", ""][(*text % 3) as usize]
                            .to_owned(),
                    },
                }
            })
            .collect()
    }

    /// Applies changes the way the store does.
    fn apply_changes(tags: &mut Vec<Tag>, changes: &[TagChange]) {
        for change in changes {
            let t = &change.tag;
            match change.kind {
                TagChangeKind::Removed => {
                    tags.retain(|x| !(x.family == t.family && x.value == t.value))
                }
                TagChangeKind::Set | TagChangeKind::Refreshed => {
                    tags.retain(|x| {
                        !(x.family == t.family && (x.value == t.value || t.family.is_exclusive()))
                    });
                    tags.push(t.clone());
                }
            }
        }
        tags.sort_by(|a, b| (a.family, &a.value).cmp(&(b.family, &b.value)));
    }

    fn sorted(mut tags: Vec<Tag>) -> Vec<Tag> {
        tags.sort_by(|a, b| (a.family, &a.value).cmp(&(b.family, &b.value)));
        tags
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Event by event (each step at its event's time, then the due-time wake-ups up to the
        /// end) gives exactly the tags of replaying the whole history at once.
        #[test]
        fn batch_equals_incremental(spec in events(), tail_hours in 0i64..2000) {
            let (playbook, analyzer) = rules();
            let history = build(&spec, t("2026-01-01T00:00:00Z"));
            let end = history.last().map(EngineEvent::at).unwrap_or_else(|| t("2026-01-01T00:00:00Z")) + hours(tail_hours);

            let mut state = ContactState::default();
            let mut tags = Vec::new();
            let mut wake = None;
            for event in &history {
                // Wake-ups due before this event happen first, as the scheduler would run them.
                while let Some(w) = wake.filter(|w| *w <= event.at()) {
                    let (due, next) = evaluate(&state, w, playbook);
                    let changes = diff(&tags, &due);
                    apply_changes(&mut tags, &changes);
                    wake = next;
                }
                let (next_state, changes, next_wake) = step(&state, &tags, event, event.at(), analyzer, playbook);
                state = next_state;
                apply_changes(&mut tags, &changes);
                wake = next_wake;
            }
            while let Some(w) = wake.filter(|w| *w <= end) {
                let (due, next) = evaluate(&state, w, playbook);
                let changes = diff(&tags, &due);
                    apply_changes(&mut tags, &changes);
                wake = next;
            }
            let (at_end, _) = evaluate(&state, end, playbook);
            let changes = diff(&tags, &at_end);
            apply_changes(&mut tags, &changes);

            let mut replayed = ContactState::default();
            for event in &history {
                apply(&mut replayed, event, analyzer, playbook);
            }
            prop_assert_eq!(&replayed, &state);
            let (batch, _) = evaluate(&replayed, end, playbook);
            prop_assert_eq!(sorted(batch), tags);
        }

        /// Orders, clicks, opens and receipts may arrive after later messages (an events file
        /// imported after the messages): folding them late gives the state of the time order.
        #[test]
        fn late_commuting_events_need_no_replay(spec in events()) {
            let (playbook, analyzer) = rules();
            let history = build(&spec, t("2026-01-01T00:00:00Z"));
            let mut in_order = ContactState::default();
            for event in &history {
                apply(&mut in_order, event, analyzer, playbook);
            }
            let mut late = ContactState::default();
            for event in history.iter().filter(|e| !e.commutes()) {
                apply(&mut late, event, analyzer, playbook);
            }
            for event in history.iter().rev().filter(|e| e.commutes()) {
                apply(&mut late, event, analyzer, playbook);
            }
            let now = history.last().map(EngineEvent::at).unwrap_or_else(|| t("2026-01-01T00:00:00Z"));
            // The decaying sum is the same up to floating-point rounding.
            let (a, b) = (decayed(&in_order, now, playbook), decayed(&late, now, playbook));
            prop_assert!((a - b).abs() < 1e-6 * a.abs().max(1.0), "{a} != {b}");
            late.score = in_order.score;
            late.score_at = in_order.score_at;
            prop_assert_eq!(late, in_order);
        }

        /// Nothing changes between now and the wake-up the engine asked for: the due-time index
        /// misses no change. And the same inputs give the same outputs.
        #[test]
        fn no_change_before_the_wake_up(spec in events(), probe in 0.0f64..1.0) {
            let (playbook, analyzer) = rules();
            let history = build(&spec, t("2026-01-01T00:00:00Z"));
            let mut state = ContactState::default();
            for event in &history {
                apply(&mut state, event, analyzer, playbook);
            }
            let now = history.last().map(EngineEvent::at).unwrap_or_else(|| t("2026-01-01T00:00:00Z"));
            let (tags, wake) = evaluate(&state, now, playbook);
            prop_assert_eq!(&evaluate(&state, now, playbook).0, &tags);
            let key = |tags: &[Tag]| tags.iter().map(|t| (t.family, t.value.clone(), t.rule.clone())).collect::<Vec<_>>();
            let horizon = wake.unwrap_or(now + hours(24 * 400));
            let span = (horizon.as_second() - now.as_second() - 1).max(0) as f64;
            let inside = now + SignedDuration::from_secs((span * probe) as i64);
            prop_assert_eq!(key(&evaluate(&state, inside, playbook).0), key(&tags));
        }
    }
}
