//! Pacing of one sender account (SPEC 5.3): a jittered gap between messages, at most so many a
//! second, minute and hour, and a warm-up cap per day for a new account; for a WhatsApp Cloud
//! API number, its messaging tier's cap of unique contacts reached outside the service window.
//!
//! The numbers come from the playbook's profile for the account's kind (`[limits.personal]`:
//! a number run like a phone, paced like a person; `[limits.cloud_api]`: Meta's API, 80 a second
//! and no warm-up), then the account's own overrides.
//!
//! The limits hold over sliding windows of the account's own send times, which the dispatcher
//! reads back from the outbox when it takes an account over: they survive restarts and hold when
//! another node sent last. (An in-memory rate limiter such as GCRA forgets at a restart, and a
//! number banned for a burst after a crash is exactly what pacing exists to prevent.)

use jiff::{SignedDuration, Timestamp};

use crate::Channel;
use crate::account::Account;
use crate::id::ContactId;
use crate::playbook::{LimitsProfile, Playbook};

/// What kind of sender an account is, which picks its limits profile in the playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A number run from a phone or the WhatsApp Business app, an e-mail identity, ...
    Personal,
    /// A number on Meta's WhatsApp Business Cloud API.
    CloudApi,
}

impl AccountKind {
    /// A WhatsApp account with provider settings is on the Cloud API (the only WhatsApp
    /// settings Stoke keeps); everything else is paced as a person would send.
    pub fn of(account: &Account) -> AccountKind {
        if account.channel == Channel::WhatsApp && account.config.is_some() {
            AccountKind::CloudApi
        } else {
            AccountKind::Personal
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Personal => "personal",
            AccountKind::CloudApi => "cloud_api",
        }
    }

    /// The playbook's profile for this kind.
    pub fn profile(self, playbook: &Playbook) -> &LimitsProfile {
        match self {
            AccountKind::Personal => &playbook.limits.personal,
            AccountKind::CloudApi => &playbook.limits.cloud_api,
        }
    }
}

/// An account's own overrides of the playbook's pacing, as `stoke account add` takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountLimits {
    /// Sets the pace: the gap between messages follows from it.
    pub per_minute: Option<u32>,
    pub per_hour: Option<u32>,
    /// `Some(false)` for a number that is already established: no warm-up cap.
    pub warmup: Option<bool>,
}

/// The effective pacing of one account: the playbook's defaults with the account's overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub kind: AccountKind,
    pub min_gap: SignedDuration,
    pub max_gap: SignedDuration,
    /// `None`: no limit of its own (the gap decides).
    pub per_second: Option<u32>,
    pub per_minute: u32,
    pub per_hour: u32,
    /// The warm-up cap per 24 hours, while the account is younger than `warmup_for`.
    pub warmup_per_day: Option<u32>,
    pub warmup_for: SignedDuration,
    /// The messaging tier: unique contacts reached outside the service window in any 24 hours;
    /// `None`: unlimited.
    pub unique_per_day: Option<u32>,
}

const SECOND: SignedDuration = SignedDuration::from_secs(1);
const MINUTE: SignedDuration = SignedDuration::from_secs(60);
const HOUR: SignedDuration = SignedDuration::from_secs(3600);
const DAY: SignedDuration = SignedDuration::from_secs(86_400);

/// Why a message must wait, for the dispatcher's log and the account's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// The jittered gap after the last send.
    Gap,
    PerSecond,
    PerMinute,
    /// The account reached its hourly limit: stopped until the oldest send leaves the window.
    PerHour,
    Warmup,
}

impl Held {
    pub fn as_str(self) -> &'static str {
        match self {
            Held::Gap => "gap",
            Held::PerSecond => "per-second limit",
            Held::PerMinute => "per-minute limit",
            Held::PerHour => "hourly limit",
            Held::Warmup => "warm-up limit",
        }
    }
}

impl Pacing {
    /// The playbook's `[pacing]` with an account's overrides, for a personal account.
    pub fn new(playbook: &Playbook, limits: &AccountLimits) -> Pacing {
        Pacing::for_kind(playbook, AccountKind::Personal, None, limits)
    }

    /// The pacing of an account: `[pacing]`, then its kind's profile, then its own overrides.
    /// `--per-minute N` spreads N messages over a minute: the gap is at least 60/N seconds,
    /// jittered up by the playbook's own ratio of its longest to its shortest gap. A profile's
    /// `per_second` sets an exact gap of 1/N s instead. `tier` names the account's messaging
    /// tier (the profile's own when absent or unknown).
    pub fn for_kind(
        playbook: &Playbook,
        kind: AccountKind,
        tier: Option<&str>,
        limits: &AccountLimits,
    ) -> Pacing {
        let profile = kind.profile(playbook);
        let mut min_gap = playbook.duration("pacing.min_gap");
        let mut max_gap = playbook.duration("pacing.max_gap").max(min_gap);
        if let Some(n) = limits.per_minute.filter(|n| *n > 0) {
            let gap = SignedDuration::from_nanos(60_000_000_000 / i64::from(n));
            let ratio = if min_gap.is_zero() {
                1.0
            } else {
                max_gap.as_secs_f64() / min_gap.as_secs_f64()
            };
            min_gap = gap;
            max_gap = SignedDuration::from_secs_f64(gap.as_secs_f64() * ratio);
        } else if let Some(n) = profile.per_second.filter(|n| *n > 0) {
            min_gap = SignedDuration::from_nanos(1_000_000_000 / i64::from(n));
            max_gap = min_gap;
        }
        let scaled = |factor: u32| profile.per_second.map(|n| n.saturating_mul(factor));
        let warmup = limits.warmup.unwrap_or(profile.warmup);
        Pacing {
            kind,
            min_gap,
            max_gap,
            per_second: profile.per_second,
            per_minute: limits
                .per_minute
                .or(profile.per_minute)
                .or_else(|| scaled(60))
                .unwrap_or_else(|| playbook.count("pacing.per_minute")),
            per_hour: limits
                .per_hour
                .or(profile.per_hour)
                .or_else(|| scaled(3600))
                .unwrap_or_else(|| playbook.count("pacing.per_hour")),
            warmup_per_day: warmup.then(|| playbook.count("pacing.warmup_per_day")),
            warmup_for: DAY * i32::try_from(playbook.count("pacing.warmup_days")).unwrap_or(0),
            unique_per_day: profile.unique_per_day(tier),
        }
    }

    /// When a business-initiated message to `contact` (outside the service window) would go
    /// over the messaging tier at `now`, the moment enough of the contacts reached leave the
    /// 24 hours; `None` when it may go. `initiated` are the account's business-initiated sends
    /// (time and contact); a contact already reached in the last 24 hours costs nothing more.
    pub fn tier_free_at(
        &self,
        initiated: &[(Timestamp, ContactId)],
        contact: ContactId,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let limit = self.unique_per_day? as usize;
        let mut last: std::collections::HashMap<ContactId, Timestamp> =
            std::collections::HashMap::new();
        for (at, c) in initiated.iter().filter(|(at, _)| *at > now - DAY) {
            let e = last.entry(*c).or_insert(*at);
            *e = (*e).max(*at);
        }
        if last.contains_key(&contact) || last.len() < limit {
            return None;
        }
        let mut times: Vec<Timestamp> = last.into_values().collect();
        times.sort_unstable();
        // Free once len - limit + 1 contacts have left the window.
        Some(times[times.len() - limit] + DAY)
    }

    /// The earliest moment at or after `now` the account may send, and what held it back, if
    /// anything. `sends` are the account's send times (any order; only the last 24 hours
    /// matter); `jitter` in [0, 1) picks the gap between the shortest and the longest.
    pub fn next_send_at(
        &self,
        created_at: Timestamp,
        sends: &[Timestamp],
        now: Timestamp,
        jitter: f64,
    ) -> (Timestamp, Option<Held>) {
        let mut recent: Vec<Timestamp> = sends.iter().copied().filter(|t| *t > now - DAY).collect();
        recent.sort_unstable();
        let mut at = now;
        let mut held = None;
        if let Some(last) = recent.last() {
            let spread = (self.max_gap - self.min_gap).as_secs_f64() * jitter.clamp(0.0, 1.0);
            let gap = self.min_gap + SignedDuration::from_secs_f64(spread);
            if *last + gap > at {
                at = *last + gap;
                held = Some(Held::Gap);
            }
        }
        // Each window: at most `limit` sends in any `span` ending at the send. A window is open
        // at its start, so a send exactly one span after the oldest is allowed.
        let windows = [
            (SECOND, self.per_second, Held::PerSecond),
            (MINUTE, Some(self.per_minute), Held::PerMinute),
            (HOUR, Some(self.per_hour), Held::PerHour),
        ];
        loop {
            let mut moved = false;
            for (span, limit, why) in windows {
                let Some(limit) = limit else { continue };
                if let Some(t) = window_free_at(&recent, at, span, limit) {
                    at = t;
                    held = Some(why);
                    moved = true;
                }
            }
            if let Some(cap) = self.warmup_per_day
                && at < created_at + self.warmup_for
                && let Some(t) = window_free_at(&recent, at, DAY, cap)
            {
                at = t;
                held = Some(Held::Warmup);
                moved = true;
            }
            if !moved {
                return (at, held);
            }
        }
    }

    /// A warning for limits that raise the ban risk (SPEC 5.3: over 20 a minute).
    pub fn risk_warning(&self, playbook: &Playbook) -> Option<String> {
        // The ban risk of a fast pace is a personal number's; an API number has Meta's limits.
        if self.kind == AccountKind::CloudApi {
            return None;
        }
        let warn = playbook.count("pacing.warn_per_minute");
        let cap = playbook.count("pacing.platform_hour_cap");
        let mut out = Vec::new();
        if warn > 0 && self.per_minute > warn {
            out.push(format!(
                "{} messages a minute is over {warn}: the ban risk rises",
                self.per_minute
            ));
        }
        if cap > 0 && self.per_hour >= cap {
            out.push(format!(
                "{} messages an hour reaches the platform's cut at {cap}",
                self.per_hour
            ));
        }
        (!out.is_empty()).then(|| out.join("; "))
    }
}

/// When `limit` sends in the window of `span` ending at `at` would be exceeded, the moment the
/// oldest counted send leaves the window; `None` when a send at `at` is within the limit.
fn window_free_at(
    sorted: &[Timestamp],
    at: Timestamp,
    span: SignedDuration,
    limit: u32,
) -> Option<Timestamp> {
    if limit == 0 {
        // A zero limit stops the account: one day, then asked again.
        return Some(at + DAY);
    }
    let start = at - span;
    let first = sorted.partition_point(|t| *t <= start);
    let end = sorted.partition_point(|t| *t <= at);
    let inside = &sorted[first..end];
    let limit = limit as usize;
    if inside.len() < limit {
        return None;
    }
    // Free once enough of the oldest have left: the (len - limit + 1)-th oldest plus the span.
    Some(inside[inside.len() - limit] + span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook() -> Playbook {
        Playbook::default_playbook().expect("default playbook")
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_790_000_000 + s).expect("time")
    }

    /// Sends as fast as the pacing allows for `hours` and returns the send times.
    fn run(
        p: &Pacing,
        created: Timestamp,
        from: Timestamp,
        hours: i64,
        seed: u64,
    ) -> Vec<Timestamp> {
        let mut sends = Vec::new();
        let mut now = from;
        let mut state = seed;
        let end = from + SignedDuration::from_hours(hours);
        loop {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (state >> 11) as f64 / (1u64 << 53) as f64;
            let (at, _) = p.next_send_at(created, &sends, now, jitter);
            if at >= end {
                return sends;
            }
            sends.push(at);
            now = at;
        }
    }

    fn max_in_window(sends: &[Timestamp], span: SignedDuration) -> usize {
        let mut best = 0;
        for (i, s) in sends.iter().enumerate() {
            let n = sends[i..].iter().take_while(|t| **t < *s + span).count();
            best = best.max(n);
        }
        best
    }

    #[test]
    fn an_established_account_never_exceeds_its_minute_or_hour() {
        let pb = playbook();
        let p = Pacing::new(
            &pb,
            &AccountLimits {
                warmup: Some(false),
                ..AccountLimits::default()
            },
        );
        let sends = run(&p, t(0), t(0), 5, 7);
        assert!(max_in_window(&sends, MINUTE) <= 12);
        assert!(max_in_window(&sends, HOUR) <= 200);
        // It does send at its hourly limit: 200 an hour, five hours.
        assert_eq!(sends.len(), 1000);
        for w in sends.windows(2) {
            assert!(w[1] - w[0] >= SignedDuration::from_secs(3));
        }
    }

    #[test]
    fn per_minute_sets_the_pace_and_the_gap_follows() {
        let pb = playbook();
        let limits = AccountLimits {
            per_minute: Some(30),
            per_hour: Some(1000),
            warmup: Some(false),
        };
        let p = Pacing::new(&pb, &limits);
        assert_eq!(p.min_gap, SignedDuration::from_secs(2));
        let sends = run(&p, t(0), t(0), 1, 3);
        assert!(max_in_window(&sends, MINUTE) <= 30);
        assert!(sends.len() > 700, "{}", sends.len());
        assert!(p.risk_warning(&pb).is_some());
        assert!(
            Pacing::new(&pb, &AccountLimits::default())
                .risk_warning(&pb)
                .is_none()
        );
    }

    #[test]
    fn a_new_account_sends_fifty_a_day_for_three_days_then_its_pace() {
        let pb = playbook();
        let p = Pacing::new(&pb, &AccountLimits::default());
        let created = t(0);
        let sends = run(&p, created, created, 24 * 4, 11);
        let day = |d: i64| {
            sends
                .iter()
                .filter(|s| **s >= created + DAY * d as i32 && **s < created + DAY * (d as i32 + 1))
                .count()
        };
        assert_eq!((day(0), day(1), day(2)), (50, 50, 50));
        assert!(max_in_window(&sends[..150], DAY) <= 50);
        assert!(day(3) > 1000, "after warm-up: {}", day(3));
    }

    #[test]
    fn a_cloud_api_number_sends_eighty_a_second_from_its_first_day() {
        let pb = playbook();
        let p = Pacing::for_kind(&pb, AccountKind::CloudApi, None, &AccountLimits::default());
        assert_eq!(
            p.min_gap,
            SignedDuration::from_millis(12) + SignedDuration::from_micros(500)
        );
        assert_eq!(
            (p.per_second, p.per_minute, p.warmup_per_day),
            (Some(80), 4800, None)
        );
        assert!(p.risk_warning(&pb).is_none());
        let created = t(0);
        let mut sends = Vec::new();
        let mut now = created;
        while sends.len() < 400 {
            let (at, _) = p.next_send_at(created, &sends, now, 0.5);
            sends.push(at);
            now = at;
        }
        // 400 messages in five seconds on the account's first day, never 81 in one second.
        assert!(sends[399] - sends[0] < SignedDuration::from_secs(5));
        assert!(max_in_window(&sends, SECOND) <= 80);
        // The account's own limits still win.
        let own = Pacing::for_kind(
            &pb,
            AccountKind::CloudApi,
            None,
            &AccountLimits {
                per_minute: Some(600),
                ..Default::default()
            },
        );
        assert_eq!(
            (own.per_minute, own.min_gap),
            (600, SignedDuration::from_millis(100))
        );
    }

    #[test]
    fn the_messaging_tier_caps_unique_contacts_a_day() {
        let pb = playbook();
        let limits = AccountLimits::default();
        let p = Pacing::for_kind(&pb, AccountKind::CloudApi, None, &limits);
        assert_eq!(p.unique_per_day, Some(250));
        let tier = |name| Pacing::for_kind(&pb, AccountKind::CloudApi, Some(name), &limits);
        assert_eq!(tier("1k").unique_per_day, Some(1000));
        assert_eq!(tier("2k").unique_per_day, Some(2000));
        assert_eq!(tier("100k").unique_per_day, Some(100_000));
        assert_eq!(tier("unlimited").unique_per_day, None);
        assert_eq!(tier("nonsense").unique_per_day, Some(250));
        assert_eq!(Pacing::new(&pb, &limits).unique_per_day, None);
        let c = ContactId::new;
        let sent: Vec<_> = (0..250)
            .map(|i| (t(i64::from(i) * 60), c(i64::from(i))))
            .collect();
        let now = t(20_000);
        // The 251st contact waits until the first leaves the 24 hours; one reached already goes.
        assert_eq!(p.tier_free_at(&sent, c(999), now), Some(t(0) + DAY));
        assert_eq!(p.tier_free_at(&sent, c(7), now), None);
        assert_eq!(p.tier_free_at(&sent[1..], c(999), now), None);
        assert_eq!(tier("unlimited").tier_free_at(&sent, c(999), now), None);
    }

    #[test]
    fn sends_before_now_count_and_the_gap_is_jittered() {
        let pb = playbook();
        let p = Pacing::new(
            &pb,
            &AccountLimits {
                warmup: Some(false),
                ..Default::default()
            },
        );
        let (at, held) = p.next_send_at(t(0), &[t(100)], t(101), 0.0);
        assert_eq!((at, held), (t(103), Some(Held::Gap)));
        let (at, _) = p.next_send_at(t(0), &[t(100)], t(101), 0.999_999);
        assert!(at > t(104) && at <= t(105));
        let (at, held) = p.next_send_at(t(0), &[t(100)], t(200), 0.5);
        assert_eq!((at, held), (t(200), None));
        // 200 sends in the last hour: stopped until the oldest leaves.
        let hour: Vec<_> = (0..200).map(|i| t(i * 15)).collect();
        let (at, held) = p.next_send_at(t(0), &hour, t(3000), 0.0);
        assert_eq!((at, held), (t(3600), Some(Held::PerHour)));
    }
}
