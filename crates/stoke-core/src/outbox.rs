//! The outbox's rules (SPEC 5.3): whether one queued message may go now, must wait, or must not
//! go at all; how a failed send is retried; what a broadcast is. The dispatcher in the server
//! asks these questions; the store keeps the answers.

use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};

use crate::account::Channel;
use crate::contact::{ConsentStatus, Contact};
use crate::engine::ContactState;
use crate::planner;
use crate::playbook::Playbook;
use crate::tag::Tag;

/// Why a message is sent: promotions respect opt-outs and caps; service messages (an opt-out
/// confirmation, an agent's answer) only the channel's own rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    Promotion,
    Service,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Promotion => "promotion",
            Purpose::Service => "service",
        }
    }
}

impl FromStr for Purpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "promotion" => Ok(Purpose::Promotion),
            "service" => Ok(Purpose::Service),
            _ => Err(format!("{s:?} is not a purpose (promotion, service)")),
        }
    }
}

/// Where an outbox message is. `Sending` is written before the provider is called: a message
/// found `Sending` after a crash may or may not have left, so it becomes `Unknown`, never resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxStatus {
    Queued,
    Sending,
    Sent,
    Delivered,
    Read,
    Failed,
    Skipped,
    Unknown,
    Cancelled,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 9] = [
        OutboxStatus::Queued,
        OutboxStatus::Sending,
        OutboxStatus::Sent,
        OutboxStatus::Delivered,
        OutboxStatus::Read,
        OutboxStatus::Failed,
        OutboxStatus::Skipped,
        OutboxStatus::Unknown,
        OutboxStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Read => "read",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Skipped => "skipped",
            OutboxStatus::Unknown => "unknown",
            OutboxStatus::Cancelled => "cancelled",
        }
    }

    /// Still to be worked on by a dispatcher.
    pub fn open(self) -> bool {
        matches!(self, OutboxStatus::Queued | OutboxStatus::Sending)
    }

    /// A receipt moves a sent message forward only: a late "delivered" never undoes "read".
    pub fn advances_to(self, next: OutboxStatus) -> bool {
        let rank = |s: OutboxStatus| match s {
            OutboxStatus::Sending | OutboxStatus::Unknown => 0,
            OutboxStatus::Sent => 1,
            OutboxStatus::Delivered => 2,
            OutboxStatus::Read => 3,
            OutboxStatus::Failed => 4,
            _ => -1,
        };
        rank(self) >= 0 && rank(next) > rank(self)
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutboxStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutboxStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not an outbox status"))
    }
}

/// The kinds of send failure, each with its own recovery (SPEC 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The number or address does not exist: flagged on the contact, never retried.
    InvalidNumber,
    /// The account is restricted by the platform: the account stops, the message waits a day.
    Restricted,
    /// The platform asked us to slow down: the account pauses, the message waits.
    RateLimited,
    /// Outside the 24-hour service window: only a template may go; not retried as it is.
    OutsideWindow,
    /// The platform or the recipient's server declined this message: never retried as it is.
    Declined,
    /// The recipient reached the platform's cap of marketing messages (WhatsApp 131049, across
    /// all businesses): not retried today, deferred by the playbook's
    /// `pacing.marketing_cap_retry_after`.
    MarketingCapped,
    /// The contact stopped marketing messages from this business on the platform (WhatsApp
    /// 131050): their consent on the channel is withdrawn, never retried.
    StoppedMarketing,
    /// A network error or a provider hiccup: retried soon.
    Transient,
}

impl FailureClass {
    pub const ALL: [FailureClass; 8] = [
        FailureClass::InvalidNumber,
        FailureClass::Restricted,
        FailureClass::RateLimited,
        FailureClass::OutsideWindow,
        FailureClass::Declined,
        FailureClass::MarketingCapped,
        FailureClass::StoppedMarketing,
        FailureClass::Transient,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::InvalidNumber => "invalid_number",
            FailureClass::Restricted => "restricted",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::OutsideWindow => "outside_window",
            FailureClass::Declined => "declined",
            FailureClass::MarketingCapped => "marketing_capped",
            FailureClass::StoppedMarketing => "stopped_marketing",
            FailureClass::Transient => "transient",
        }
    }
}

impl FromStr for FailureClass {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FailureClass::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a failure class"))
    }
}

/// What to do after a failed send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// When to try the message again; `None`: it stays failed.
    pub retry_at: Option<Timestamp>,
    /// How long the whole account should stop sending.
    pub pause_account: Option<SignedDuration>,
    /// The contact's number is flagged invalid (cleanup candidates).
    pub flag_invalid: bool,
}

/// The recovery of a failure of `class` on the message's `attempts`-th try (1 for the first).
/// Transient failures are retried soon, with a doubling delay, a few times, then after the
/// playbook's `pacing.retry_after` like the rest.
pub fn recover(
    class: FailureClass,
    attempts: u32,
    now: Timestamp,
    playbook: &Playbook,
) -> Recovery {
    let later = playbook.duration("pacing.retry_after");
    let max_attempts = playbook.count("pacing.max_attempts");
    let retry = |after: SignedDuration| (attempts < max_attempts).then(|| now + after);
    match class {
        FailureClass::InvalidNumber
        | FailureClass::Declined
        | FailureClass::OutsideWindow
        | FailureClass::StoppedMarketing => Recovery {
            retry_at: None,
            pause_account: None,
            flag_invalid: class == FailureClass::InvalidNumber,
        },
        // Not a failure of the account: the message waits for the recipient's cap to clear.
        // A playbook written before the setting existed waits `retry_after` (a day too).
        FailureClass::MarketingCapped => Recovery {
            retry_at: retry(
                Some(playbook.duration("pacing.marketing_cap_retry_after"))
                    .filter(|d| !d.is_zero())
                    .unwrap_or(later),
            ),
            pause_account: None,
            flag_invalid: false,
        },
        FailureClass::Restricted => Recovery {
            retry_at: retry(later),
            pause_account: Some(later),
            flag_invalid: false,
        },
        FailureClass::RateLimited => Recovery {
            retry_at: retry(playbook.duration("pacing.rate_limit_pause")),
            pause_account: Some(playbook.duration("pacing.rate_limit_pause")),
            flag_invalid: false,
        },
        FailureClass::Transient => {
            let soon = playbook.duration("pacing.transient_retry_after");
            let tries = playbook.count("pacing.transient_retries");
            let after = if attempts <= tries {
                soon * 2i32.saturating_pow(attempts.saturating_sub(1).min(16))
            } else {
                later
            };
            Recovery {
                retry_at: retry(after),
                pause_account: None,
                flag_invalid: false,
            }
        }
    }
}

/// One queued message as the dispatcher weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    pub purpose: Purpose,
    pub channel: Channel,
    /// A broadcast sent at each contact's golden window (SPEC 5.3).
    pub golden_window: bool,
    /// An admin's override for urgent service notices.
    pub ignore_quiet_hours: bool,
    /// When the same content last left on another account, if ever.
    pub identical_sent_at: Option<Timestamp>,
    /// Promotions the contact received in the last 7 days.
    pub promotions_this_week: u32,
}

/// The dispatcher's verdict on one queued message at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// Not now: back to the queue until then.
    Wait {
        until: Timestamp,
        reason: String,
    },
    /// Never, and why (the broadcast's `skipped` count).
    Skip {
        reason: String,
    },
}

/// May this message go to this contact now? Opt-outs and the weekly cap skip a promotion;
/// quiet hours (in the contact's local time), the golden window and the gap between identical
/// contents on different accounts make it wait.
pub fn weigh(
    q: &Queued,
    contact: &Contact,
    state: &ContactState,
    tags: &[Tag],
    invalid_number: bool,
    now: Timestamp,
    playbook: &Playbook,
) -> Verdict {
    if invalid_number {
        return Verdict::Skip {
            reason: "the number is flagged invalid".into(),
        };
    }
    let withdrawn = contact
        .consent(q.channel)
        .is_some_and(|c| c.status == ConsentStatus::Withdrawn);
    if q.purpose == Purpose::Promotion {
        if state.opted_out.is_some() {
            return Verdict::Skip {
                reason: "opted out".into(),
            };
        }
        if withdrawn {
            return Verdict::Skip {
                reason: format!("consent withdrawn on {}", q.channel),
            };
        }
        // SPEC 3.4: "2-3 promotional messages a week are tolerated". Answers and follow-ups
        // in a conversation are not promotions; the planner paces those.
        let cap = contact
            .reach
            .max_per_week
            .unwrap_or(playbook.max_promotions_per_week);
        if q.promotions_this_week >= cap {
            return Verdict::Skip {
                reason: format!(
                    "frequency cap: {} promotions in the last 7 days (at most {cap})",
                    q.promotions_this_week
                ),
            };
        }
    }
    if let Some(at) = q.identical_sent_at {
        let gap = playbook.duration("pacing.identical_content_gap");
        if at + gap > now {
            return Verdict::Wait {
                until: at + gap,
                reason: "identical content left on another account".into(),
            };
        }
    }
    if !q.ignore_quiet_hours {
        let allowed = planner::allowed_at(contact, now, playbook);
        if allowed > now {
            return Verdict::Wait {
                until: allowed,
                reason: "quiet hours in the contact's local time".into(),
            };
        }
    }
    if q.golden_window
        && let Some(at) = planner::golden_moment(contact, tags, now, playbook)
        && at > now
    {
        return Verdict::Wait {
            until: at,
            reason: "the contact's golden window".into(),
        };
    }
    Verdict::Send
}

/// A stable hash of a message's content, for the gap between identical contents on different
/// accounts (FNV-1a: stable across builds and machines, unlike `std`'s hasher).
pub fn content_hash(text: &str, media_url: Option<&str>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text
        .bytes()
        .chain([0u8])
        .chain(media_url.unwrap_or("").bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Where a broadcast is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BroadcastStatus {
    /// Created, recipients enqueued, not started.
    Draft,
    Running,
    Paused,
    Cancelled,
    /// Every recipient sent, failed, skipped or unknown.
    Completed,
}

impl BroadcastStatus {
    pub const ALL: [BroadcastStatus; 5] = [
        BroadcastStatus::Draft,
        BroadcastStatus::Running,
        BroadcastStatus::Paused,
        BroadcastStatus::Cancelled,
        BroadcastStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BroadcastStatus::Draft => "draft",
            BroadcastStatus::Running => "running",
            BroadcastStatus::Paused => "paused",
            BroadcastStatus::Cancelled => "cancelled",
            BroadcastStatus::Completed => "completed",
        }
    }

    /// The statuses a command may move a broadcast from: start from a draft or a pause, pause
    /// a running one, cancel anything not finished.
    pub fn may_become(self, next: BroadcastStatus) -> bool {
        use BroadcastStatus::*;
        matches!(
            (self, next),
            (Draft | Paused, Running) | (Running, Paused) | (Draft | Running | Paused, Cancelled)
        )
    }
}

impl fmt::Display for BroadcastStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BroadcastStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BroadcastStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a broadcast status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contact::{Consent, ContactKind};
    use crate::engine::Source;
    use crate::id::ContactId;
    use crate::value::TimeZoneName;

    fn playbook() -> Playbook {
        Playbook::default_playbook().expect("default playbook")
    }

    fn contact(zone: &str) -> Contact {
        let mut c = Contact::new(ContactId::new(1), at("2026-01-01T00:00:00Z"));
        c.kind = ContactKind::Person;
        c.name = "Amal".into();
        c.time_zone = Some(TimeZoneName::parse(zone).expect("zone"));
        c
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    fn promo() -> Queued {
        Queued {
            purpose: Purpose::Promotion,
            channel: Channel::WhatsApp,
            golden_window: false,
            ignore_quiet_hours: false,
            identical_sent_at: None,
            promotions_this_week: 0,
        }
    }

    #[test]
    fn quiet_hours_hold_in_each_contacts_zone() {
        let pb = playbook();
        let state = ContactState::default();
        // 20:30 UTC: 23:30 in Riyadh (quiet), 15:30 in New York (allowed).
        let now = at("2026-11-23T20:30:00Z");
        match weigh(
            &promo(),
            &contact("Asia/Riyadh"),
            &state,
            &[],
            false,
            now,
            &pb,
        ) {
            Verdict::Wait { until, .. } => assert_eq!(until, at("2026-11-24T05:00:00Z")),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            weigh(
                &promo(),
                &contact("America/New_York"),
                &state,
                &[],
                false,
                now,
                &pb
            ),
            Verdict::Send
        );
        let urgent = Queued {
            ignore_quiet_hours: true,
            ..promo()
        };
        assert_eq!(
            weigh(
                &urgent,
                &contact("Asia/Riyadh"),
                &state,
                &[],
                false,
                now,
                &pb
            ),
            Verdict::Send
        );
    }

    #[test]
    fn opt_outs_and_caps_skip_promotions_but_not_service_messages() {
        let pb = playbook();
        let now = at("2026-11-23T10:00:00Z");
        let c = contact("Europe/Moscow");
        let state = ContactState {
            opted_out: Some(Source {
                at: now,
                message: None,
                event: None,
                detail: "STOP".into(),
            }),
            ..ContactState::default()
        };
        assert!(matches!(
            weigh(&promo(), &c, &state, &[], false, now, &pb),
            Verdict::Skip { .. }
        ));
        let service = Queued {
            purpose: Purpose::Service,
            ..promo()
        };
        assert_eq!(
            weigh(&service, &c, &state, &[], false, now, &pb),
            Verdict::Send
        );
        let fresh = ContactState::default();
        let capped = Queued {
            promotions_this_week: pb.max_promotions_per_week,
            ..promo()
        };
        assert!(matches!(
            weigh(&capped, &c, &fresh, &[], false, now, &pb),
            Verdict::Skip { .. }
        ));
        let answer = Queued {
            purpose: Purpose::Service,
            ..capped
        };
        assert_eq!(
            weigh(&answer, &c, &fresh, &[], false, now, &pb),
            Verdict::Send
        );
        let mut withdrawn = c.clone();
        withdrawn.consents.push(Consent {
            channel: Channel::WhatsApp,
            status: ConsentStatus::Withdrawn,
            at: now,
            source: "test".into(),
        });
        let fresh = ContactState::default();
        assert!(matches!(
            weigh(&promo(), &withdrawn, &fresh, &[], false, now, &pb),
            Verdict::Skip { .. }
        ));
        assert!(matches!(
            weigh(&service, &c, &fresh, &[], true, now, &pb),
            Verdict::Skip { .. }
        ));
    }

    #[test]
    fn identical_content_waits_fifteen_seconds_after_another_account() {
        let pb = playbook();
        let now = at("2026-11-23T10:00:00Z");
        let q = Queued {
            identical_sent_at: Some(now - SignedDuration::from_secs(5)),
            ..promo()
        };
        let c = contact("Europe/Moscow");
        assert_eq!(
            weigh(&q, &c, &ContactState::default(), &[], false, now, &pb),
            Verdict::Wait {
                until: now + SignedDuration::from_secs(10),
                reason: "identical content left on another account".into()
            }
        );
    }

    #[test]
    fn a_golden_window_broadcast_waits_for_the_contacts_hour() {
        let pb = playbook();
        let golden = crate::tag::Tag {
            family: crate::tag::TagFamily::Preference,
            value: "golden-hour-16utc".into(),
            colour: "gold".into(),
            rule: "preference.golden_window".into(),
            evidence: crate::tag::Evidence {
                message: None,
                event: None,
                detail: "median 8 min".into(),
            },
            set_at: at("2026-11-01T00:00:00Z"),
        };
        let q = Queued {
            golden_window: true,
            ..promo()
        };
        let c = contact("Asia/Riyadh");
        let state = ContactState::default();
        let tags = [golden];
        // 10:00 UTC: waits for 16:00 UTC (19:00 in Riyadh, allowed).
        let morning = at("2026-11-23T10:00:00Z");
        assert_eq!(
            weigh(&q, &c, &state, &tags, false, morning, &pb),
            Verdict::Wait {
                until: at("2026-11-23T16:00:00Z"),
                reason: "the contact's golden window".into()
            }
        );
        // Inside the hour: at once. No hour learned: at once.
        let inside = at("2026-11-23T16:20:00Z");
        assert_eq!(
            weigh(&q, &c, &state, &tags, false, inside, &pb),
            Verdict::Send
        );
        assert_eq!(
            weigh(&q, &c, &state, &[], false, morning, &pb),
            Verdict::Send
        );
    }

    #[test]
    fn failures_recover_by_class() {
        let pb = playbook();
        let now = at("2026-11-23T10:00:00Z");
        let r = recover(FailureClass::InvalidNumber, 1, now, &pb);
        assert_eq!((r.retry_at, r.flag_invalid), (None, true));
        let soon = recover(FailureClass::Transient, 1, now, &pb)
            .retry_at
            .expect("retry");
        assert!(soon - now < SignedDuration::from_mins(5));
        let later = recover(FailureClass::Restricted, 1, now, &pb);
        assert_eq!(later.retry_at, Some(now + SignedDuration::from_hours(24)));
        assert!(later.pause_account.is_some());
        let last = recover(
            FailureClass::Transient,
            pb.count("pacing.max_attempts"),
            now,
            &pb,
        );
        assert_eq!(last.retry_at, None);
        // WhatsApp's per-user marketing cap: tomorrow, without pausing the account.
        let capped = recover(FailureClass::MarketingCapped, 1, now, &pb);
        assert_eq!(capped.retry_at, Some(now + SignedDuration::from_hours(24)));
        assert_eq!(capped.pause_account, None);
        let stopped = recover(FailureClass::StoppedMarketing, 1, now, &pb);
        assert_eq!((stopped.retry_at, stopped.flag_invalid), (None, false));
        assert!(OutboxStatus::Sent.advances_to(OutboxStatus::Read));
        assert!(!OutboxStatus::Read.advances_to(OutboxStatus::Delivered));
        assert_eq!(content_hash("a", None), content_hash("a", None));
        assert_ne!(content_hash("a", None), content_hash("a", Some("x")));
    }
}
