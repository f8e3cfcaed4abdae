//! The simulator channel (SPEC 5.1): a provider inside Stoke that accepts sends, answers with
//! delivery and read receipts after realistic delays and failure rates, and has simulated
//! customers reply in their language, so that a new user sees tags and queues change with no
//! provider account.
//!
//! With `STOKE_SIMULATOR_LOG=PATH` every accepted send appends one JSON line
//! `{"account", "to", "idempotency_key", "text", "at"}`: the provider's own record, which the
//! crash tests hold the outbox's guarantees against.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use stoke_core::outbox::{FailureClass, OutboxStatus};
use stoke_core::{Account, Channel, ContactRef, Direction, Handle, Phone};
use stoke_server::channel::{Accepted, Provider, Refused};
use stoke_server::scheduler::LiveRules;
use stoke_store::outbox::Outbound;
use stoke_store::{IncomingMessage, Store};

use crate::generator::{ReplyMood, customer_reply};

/// How the simulated world behaves. Delays are divided by `speed` (the tests' fast world).
#[derive(Debug, Clone)]
pub struct SimulatorSettings {
    pub log: Option<PathBuf>,
    /// The provider's own latency per send.
    pub latency: Duration,
    pub speed: f64,
    /// Numbers that do not exist (a failed receipt, like WhatsApp's 131026).
    pub invalid_share: f64,
    /// Sends refused with a network error (retried soon).
    pub transient_share: f64,
    pub read_share: f64,
    pub reply_share: f64,
}

impl SimulatorSettings {
    /// Realistic defaults (SPEC 5.3: healthy delivery is 92-97%), overridden by
    /// `STOKE_SIMULATOR_LOG`, `STOKE_SIMULATOR_LATENCY_MS` and `STOKE_SIMULATOR_SPEED`.
    pub fn from_env() -> Self {
        let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok());
        Self {
            log: std::env::var_os("STOKE_SIMULATOR_LOG").map(PathBuf::from),
            latency: Duration::from_millis(
                number("STOKE_SIMULATOR_LATENCY_MS").map_or(40, |ms| ms.max(0.0) as u64),
            ),
            speed: number("STOKE_SIMULATOR_SPEED")
                .filter(|s| *s > 0.0)
                .unwrap_or(1.0),
            invalid_share: 0.03,
            transient_share: 0.01,
            read_share: 0.7,
            reply_share: 0.35,
        }
    }
}

/// The simulator provider.
#[derive(Debug)]
pub struct Simulator {
    settings: SimulatorSettings,
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    log: Option<Mutex<std::fs::File>>,
    rng: Mutex<fastrand::Rng>,
}

impl Simulator {
    pub fn new(
        settings: SimulatorSettings,
        store: Arc<dyn Store>,
        live: Arc<LiveRules>,
    ) -> anyhow::Result<Self> {
        let log = match &settings.log {
            Some(path) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?,
            )),
            None => None,
        };
        Ok(Self {
            settings,
            store,
            live,
            log,
            rng: Mutex::new(fastrand::Rng::new()),
        })
    }

    fn roll(&self) -> f64 {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).f64()
    }

    fn scaled(&self, lo_secs: f64, hi_secs: f64) -> Duration {
        let secs = lo_secs + (hi_secs - lo_secs) * self.roll();
        Duration::from_secs_f64(secs / self.settings.speed)
    }
}

/// A number's fate is fixed: the same number is invalid every time.
fn invalid(to: &str, share: f64) -> bool {
    let h = to.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (h % 10_000) as f64 / 10_000.0 < share
}

/// The customer's language, from their number's country: the simulator knows no more.
fn language_of(to: &str) -> &'static str {
    Phone::parse(to, None)
        .ok()
        .and_then(|p| p.country())
        .and_then(stoke_core::Country::language_hint)
        .unwrap_or("en")
}

/// What a simulated customer feels like saying (SPEC 3.2's shares of tiers).
fn mood(roll: f64) -> ReplyMood {
    match roll {
        r if r < 0.15 => ReplyMood::High,
        r if r < 0.37 => ReplyMood::Medium,
        r if r < 0.65 => ReplyMood::Polite,
        r if r < 0.98 => ReplyMood::Refusal,
        _ => ReplyMood::Stop,
    }
}

#[async_trait]
impl Provider for Simulator {
    async fn send(&self, account: &Account, key: &str, m: &Outbound) -> Result<Accepted, Refused> {
        tokio::time::sleep(self.settings.latency).await;
        if self.roll() < self.settings.transient_share {
            return Err(Refused {
                class: FailureClass::Transient,
                detail: "simulated network timeout".into(),
            });
        }
        let at = Timestamp::now();
        if let Some(log) = &self.log {
            let line = serde_json::json!({
                "account": account.name,
                "to": m.to,
                "idempotency_key": key,
                "text": m.text,
                "at": at.to_string(),
            });
            // One write call per line: `writeln!` writes in pieces, and a node killed between
            // them would leave half a line for the next one to append to.
            let line = format!("{line}\n");
            let mut file = log.lock().unwrap_or_else(|p| p.into_inner());
            file.write_all(line.as_bytes()).map_err(|e| Refused {
                class: FailureClass::Transient,
                detail: format!("simulator log: {e}"),
            })?;
        }
        let provider_id = format!(
            "sim-{:016x}",
            self.rng.lock().unwrap_or_else(|p| p.into_inner()).u64(..)
        );
        // The customer's side plays out in the background, as a provider's webhooks would.
        let world = Reaction {
            store: self.store.clone(),
            live: self.live.clone(),
            account: account.name.clone(),
            to: m.to.clone(),
            provider_id: provider_id.clone(),
            invalid: invalid(&m.to, self.settings.invalid_share),
            delivered_after: self.scaled(1.0, 4.0),
            read_after: (self.roll() < self.settings.read_share).then(|| self.scaled(5.0, 90.0)),
            reply: (self.roll() < self.settings.reply_share)
                .then(|| (self.scaled(10.0, 120.0), mood(self.roll()), self.roll())),
        };
        tokio::spawn(world.play());
        Ok(Accepted { provider_id })
    }
}

/// What happens to one accepted message on the customer's side.
struct Reaction {
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    account: String,
    to: String,
    provider_id: String,
    invalid: bool,
    delivered_after: Duration,
    read_after: Option<Duration>,
    reply: Option<(Duration, ReplyMood, f64)>,
}

impl Reaction {
    async fn play(self) {
        let rules = self.live.get();
        tokio::time::sleep(self.delivered_after).await;
        if self.invalid {
            let outcome = self
                .store
                .record_receipt(
                    &self.provider_id,
                    OutboxStatus::Failed,
                    Timestamp::now(),
                    Some("131026 message undeliverable: the number is not on the channel"),
                    true,
                    &rules,
                )
                .await;
            if let Err(err) = outcome {
                tracing::warn!(error = %err, "simulator: failed receipt not recorded");
            }
            return;
        }
        let receipt = |status| {
            let store = self.store.clone();
            let rules = rules.clone();
            let id = self.provider_id.clone();
            async move {
                if let Err(err) = store
                    .record_receipt(&id, status, Timestamp::now(), None, false, &rules)
                    .await
                {
                    tracing::warn!(error = %err, "simulator: receipt not recorded");
                }
            }
        };
        receipt(OutboxStatus::Delivered).await;
        let Some(read_after) = self.read_after else {
            return;
        };
        tokio::time::sleep(read_after).await;
        receipt(OutboxStatus::Read).await;
        let Some((after, mood, pick)) = self.reply else {
            return;
        };
        tokio::time::sleep(after).await;
        let Ok(phone) = Phone::parse(&self.to, None) else {
            return;
        };
        let mut rng = fastrand::Rng::with_seed((pick * u64::MAX as f64) as u64);
        let text = customer_reply(&mut rng, language_of(&self.to), mood);
        let message = IncomingMessage {
            external_id: format!("sim-reply-{}", self.provider_id),
            contact: ContactRef::Handle(Handle::Phone(phone)),
            account: self.account.clone(),
            channel: Channel::Simulator,
            direction: Direction::In,
            text,
            at: Timestamp::now(),
            provider_id: None,
        };
        if let Err(err) = stoke_server::inbound::receive(
            self.store.as_ref(),
            &rules,
            &[message],
            Timestamp::now(),
        )
        .await
        {
            tracing::warn!(error = %err, "simulator: reply not stored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_fate_and_languages_follow_the_prefix() {
        assert_eq!(invalid("+966501234567", 0.5), invalid("+966501234567", 0.5));
        let share = (0..2000)
            .filter(|i| invalid(&format!("+9665{i:08}"), 0.03))
            .count();
        assert!((30..=90).contains(&share), "{share}");
        assert_eq!(language_of("+79161234567"), "ru");
        assert_eq!(language_of("+966501234567"), "ar");
        assert_eq!(language_of("+447700900123"), "en");
        let mut rng = fastrand::Rng::with_seed(1);
        for m in [ReplyMood::High, ReplyMood::Stop, ReplyMood::Polite] {
            for lang in ["ar", "ru", "en"] {
                assert!(!customer_reply(&mut rng, lang, m).trim().is_empty());
            }
        }
    }
}
