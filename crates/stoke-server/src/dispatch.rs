//! The dispatcher: one worker per sender account sends the account's queued messages at the
//! account's pace (SPEC 5.3), through the channel's provider.
//!
//! Every decision is the domain's (`stoke_core::pacing`, `stoke_core::outbox::weigh`,
//! `stoke_core::outbox::recover`); this module asks the store and the provider and writes the
//! answers down. The order of writes is what makes a crash safe: a message is `Sending` in the
//! store before the provider is called, so after a SIGKILL it is found there and reported
//! `Unknown` instead of being sent a second time; one account sends one message at a time, so at
//! most one message per account can be in doubt.
//!
//! Several nodes may run dispatchers on one database: an account is dispatched by the node that
//! holds its lease (renewed while it works, taken over when it lapses), and `begin_send` claims
//! each message atomically.
//!
//! `AccountDispatcher::step` takes the time as a parameter, so tests drive pacing, quiet hours
//! and retries with a clock of their own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use stoke_core::engine::evaluate;
use stoke_core::outbox::{FailureClass, Purpose, Queued, Verdict, content_hash, recover, weigh};
use stoke_core::pacing::Held;
use stoke_core::template::{self, MediaKind, Template};
use stoke_core::{Account, AccountId, Channel, Contact, ContactId};
use stoke_store::outbox::{Content, DueMessage, Outbound, OutboundTemplate, SendOutcome, Takeover};
use stoke_store::{Store, StoreError, StoreResult};

use crate::channel::{Provider, Providers};
use crate::scheduler::LiveRules;

/// How a node dispatches.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// This node's name in leases; a node restarted under the same name takes its accounts
    /// back at once (and reports what was in flight).
    pub node: String,
    /// How long a lease lasts without renewal: another node takes over an account this long
    /// after its dispatcher died.
    pub lease: Duration,
    /// How often an idle dispatcher looks for new work (broadcasts started by another process).
    pub poll: Duration,
}

impl DispatchSettings {
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
        }
    }
}

/// Messages weighed per store read: few while messages go out (one leaves per step, and each
/// read loads contacts and states), many once a read found nothing to send (quiet hours, caps).
const BATCH_SENDING: u32 = 4;
const BATCH_SEARCHING: u32 = 64;

fn span(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::from_secs(30))
}

/// What a step did and when the dispatcher should step again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// Step again at this moment.
    At(Timestamp),
    /// Another node holds the account now: stop.
    Lost,
}

/// The worker of one account on this node.
#[derive(Debug)]
pub struct AccountDispatcher {
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    provider: Arc<dyn Provider>,
    account: Account,
    settings: DispatchSettings,
    /// The account's send times of the last day: what its pacing counts.
    sends: Vec<Timestamp>,
    /// The business-initiated sends (outside the contact's service window) of the last day,
    /// with their contact: what a WhatsApp Cloud API number's messaging tier counts. Kept by
    /// this worker only, so a takeover starts the count afresh (see ARCHITECTURE.md).
    initiated: Vec<(Timestamp, ContactId)>,
    lease_until: Timestamp,
    rng: fastrand::Rng,
    /// Where in the jittered gap the next send falls, drawn after each send.
    jitter: f64,
    batch: u32,
    templates: HashMap<String, (std::time::Instant, Option<Arc<Template>>)>,
    /// What the steps did, for logs and tests.
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub deferred: u64,
}

impl AccountDispatcher {
    /// Takes over an account at `now`: `None` when another node holds it. The takeover lists
    /// the messages found in flight, now `Unknown`.
    pub async fn claim(
        store: Arc<dyn Store>,
        live: Arc<LiveRules>,
        provider: Arc<dyn Provider>,
        account: Account,
        settings: DispatchSettings,
        now: Timestamp,
    ) -> StoreResult<Option<(Self, Takeover)>> {
        let until = now + span(settings.lease);
        let Some(takeover) = store
            .claim_account(account.id, &settings.node, until, now)
            .await?
        else {
            return Ok(None);
        };
        let sends = store
            .account_sends(account.id, now - SignedDuration::from_hours(24))
            .await?;
        let mut rng = fastrand::Rng::new();
        let jitter = rng.f64();
        Ok(Some((
            Self {
                store,
                live,
                provider,
                account,
                settings,
                sends,
                initiated: Vec::new(),
                lease_until: until,
                rng,
                jitter,
                batch: BATCH_SENDING,
                templates: HashMap::new(),
                sent: 0,
                failed: 0,
                skipped: 0,
                deferred: 0,
            },
            takeover,
        )))
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    /// A fixed seed for the gap's jitter (tests).
    pub fn seed(&mut self, seed: u64) {
        self.rng = fastrand::Rng::with_seed(seed);
        self.jitter = self.rng.f64();
    }

    /// Does what is due at `now`: sends at most one message (weighing, deferring and
    /// skipping others on the way) and says when to come back.
    pub async fn step(&mut self, now: Timestamp) -> StoreResult<Wake> {
        let lease = span(self.settings.lease);
        if self.lease_until - now <= lease / 2 {
            let until = now + lease;
            if !self
                .store
                .renew_account(self.account.id, &self.settings.node, until, now)
                .await?
            {
                return Ok(Wake::Lost);
            }
            self.lease_until = until;
            // Read back with each renewal, not each message: a pace changed with
            // `stoke account set` applies within half a lease.
            self.account = self.store.get_account(&self.account.name).await?;
        }
        let renew_by = self.lease_until - lease / 2;
        let poll = now + span(self.settings.poll);
        if let Some(until) = self.account.paused_until.filter(|u| *u > now) {
            return Ok(Wake::At(until.min(renew_by).max(now)));
        }
        let rules = self.live.get();
        let playbook = &rules.playbook;
        let pacing = crate::senders::pacing_of(playbook, &self.account);
        self.sends
            .retain(|t| *t > now - SignedDuration::from_hours(24));
        self.initiated
            .retain(|(t, _)| *t > now - SignedDuration::from_hours(24));
        let (free_at, held) =
            pacing.next_send_at(self.account.created_at, &self.sends, now, self.jitter);
        if free_at > now {
            if held == Some(Held::PerHour) {
                tracing::debug!(account = %self.account.name, until = %free_at, "hourly limit reached: the account waits");
            }
            return Ok(Wake::At(free_at.min(renew_by.max(now))));
        }
        let due = self
            .store
            .due_messages(self.account.id, now, self.batch)
            .await?;
        if due.is_empty() {
            let next = self.store.next_due_at(self.account.id).await?;
            let wake = next.map_or(poll, |n| n.min(poll)).max(now);
            return Ok(Wake::At(wake.min(renew_by.max(now))));
        }
        let gap = playbook.duration("pacing.identical_content_gap");
        for m in &due {
            let outbound = match self.render(m, &rules.playbook.default_language).await? {
                Ok(o) => o,
                Err(reason) => {
                    self.store.skip_message(m.id, &reason, now).await?;
                    self.skipped += 1;
                    continue;
                }
            };
            let identical_sent_at = self
                .store
                .identical_sent_at(&outbound.content_hash, self.account.id, now - gap)
                .await?;
            let queued = Queued {
                purpose: m.purpose,
                channel: self.account.channel,
                golden_window: m.golden_window,
                ignore_quiet_hours: m.ignore_quiet_hours,
                identical_sent_at,
                promotions_this_week: m.promotions_this_week,
            };
            // Only the golden window reads the tags; evaluating them costs an engine pass.
            let tags = if m.golden_window {
                evaluate(&m.state, now, playbook).0
            } else {
                Vec::new()
            };
            match weigh(
                &queued,
                &m.contact,
                &m.state,
                &tags,
                m.invalid_number,
                now,
                playbook,
            ) {
                Verdict::Skip { reason } => {
                    self.store.skip_message(m.id, &reason, now).await?;
                    self.skipped += 1;
                }
                Verdict::Wait { until, reason } => {
                    self.store.defer_message(m.id, until, &reason).await?;
                    self.deferred += 1;
                }
                Verdict::Send => {
                    let initiated = self.account.channel == Channel::WhatsApp
                        && crate::whatsapp::send::business_initiated(outbound.last_inbound_at, now);
                    if initiated
                        && let Some(until) = pacing.tier_free_at(&self.initiated, m.contact.id, now)
                    {
                        let reason = format!(
                            "the WhatsApp messaging tier: {} contacts reached outside the service window in 24 hours",
                            pacing.unique_per_day.unwrap_or_default()
                        );
                        self.store.defer_message(m.id, until, &reason).await?;
                        self.deferred += 1;
                        continue;
                    }
                    if !self
                        .store
                        .begin_send(m.id, &outbound, &self.settings.node, now)
                        .await?
                    {
                        continue;
                    }
                    let answer = self.provider.send(&self.account, &m.key, &outbound).await;
                    let outcome = match answer {
                        Ok(accepted) => {
                            self.sent += 1;
                            SendOutcome::Sent {
                                provider_id: accepted.provider_id,
                            }
                        }
                        Err(refused) => {
                            if refused.class == FailureClass::MarketingCapped {
                                // Back tomorrow: a wait, not a failure of the account.
                                self.deferred += 1;
                            } else {
                                self.failed += 1;
                            }
                            let r = recover(refused.class, m.attempts + 1, now, playbook);
                            if let Some(pause) = r.pause_account {
                                let reason =
                                    format!("{}: {}", refused.class.as_str(), refused.detail);
                                self.store
                                    .pause_account(
                                        self.account.id,
                                        Some(now + pause),
                                        Some(&reason),
                                    )
                                    .await?;
                                tracing::warn!(account = %self.account.name, %reason, until = %(now + pause), "account paused");
                                self.account.paused_until = Some(now + pause);
                                self.account.pause_reason = Some(reason);
                            }
                            SendOutcome::Failed {
                                class: refused.class,
                                detail: refused.detail,
                                retry_at: r.retry_at,
                                flag_invalid: r.flag_invalid,
                            }
                        }
                    };
                    match self.store.finish_send(m.id, &outcome, now, &rules).await {
                        Ok(()) => {}
                        // Erasure deletes a contact's outbox rows whatever their state, so a
                        // message in the provider's hands when its contact was erased has no
                        // row to end on: nothing is written about the erased contact, and the
                        // worker goes on. The attempt still counts for the account's pace.
                        Err(StoreError::NotFound {
                            entity: "outbox message",
                            ..
                        }) => {
                            let answer = match &outcome {
                                SendOutcome::Sent { .. } => "accepted",
                                SendOutcome::Failed { class, .. } => class.as_str(),
                            };
                            tracing::info!(
                                account = %self.account.name,
                                outbox_id = m.id,
                                contact = %m.contact.id,
                                answer,
                                "contact erased while sending: the answer is not recorded"
                            );
                        }
                        Err(e) => return Err(e),
                    }
                    match &outcome {
                        SendOutcome::Sent { .. } if initiated => {
                            self.initiated.push((now, m.contact.id));
                        }
                        // The same as the webhook's 131050: no more marketing on WhatsApp.
                        SendOutcome::Failed {
                            class: FailureClass::StoppedMarketing,
                            ..
                        } if self.account.channel == Channel::WhatsApp => {
                            crate::whatsapp::withdraw_marketing(
                                self.store.as_ref(),
                                m.contact.id,
                                now,
                            )
                            .await?;
                        }
                        _ => {}
                    }
                    self.sends.push(now);
                    self.jitter = self.rng.f64();
                    self.batch = BATCH_SENDING;
                    let (next, _) =
                        pacing.next_send_at(self.account.created_at, &self.sends, now, self.jitter);
                    return Ok(Wake::At(next.min(renew_by.max(now))));
                }
            }
        }
        // Everything read was deferred or skipped: look again at once, further.
        self.batch = BATCH_SEARCHING;
        Ok(Wake::At(now))
    }

    /// The message as it will leave: rendered for the contact, addressed on the channel; or
    /// why it cannot leave at all (no address, no such template, a variable with no value).
    async fn render(
        &mut self,
        m: &DueMessage,
        default_language: &str,
    ) -> StoreResult<Result<Outbound, String>> {
        let Some(to) = address(&m.contact, self.account.channel) else {
            return Ok(Err(format!(
                "the contact has no address for the {} channel",
                self.account.channel
            )));
        };
        let rendered = match &m.content {
            Content::Text(body) => template::render_text(body, &m.contact)
                .map(|text| (MediaKind::Text, text, None, None)),
            Content::Template(name) => match self.template(name).await? {
                Some(t) => t.render(&m.contact, default_language).map(|r| {
                    let used = OutboundTemplate {
                        name: name.clone(),
                        language: r.language.as_ref().map(|l| l.as_str().to_owned()),
                        whatsapp: r.whatsapp,
                    };
                    (r.kind, r.text, r.media_url, Some(used))
                }),
                None => return Ok(Err(format!("template {name:?} does not exist"))),
            },
        };
        Ok(match rendered {
            Ok((kind, text, media_url, used)) => Ok(Outbound {
                to,
                kind,
                content_hash: content_hash(&text, media_url.as_deref()),
                text,
                media_url,
                last_inbound_at: m.state.last_inbound.as_ref().map(|s| s.at),
                template: used,
            }),
            Err(e) => Err(e.to_string()),
        })
    }

    /// A template by name, read from the store at most every few seconds: a broadcast renders
    /// the same one for every recipient, and a replaced template takes effect soon after.
    async fn template(&mut self, name: &str) -> StoreResult<Option<Arc<Template>>> {
        if let Some((read_at, t)) = self.templates.get(name)
            && read_at.elapsed() < TEMPLATE_CACHE
        {
            return Ok(t.clone());
        }
        let t = match self.store.get_template(name).await {
            Ok(t) => Some(Arc::new(t)),
            Err(stoke_store::StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        self.templates
            .insert(name.to_owned(), (std::time::Instant::now(), t.clone()));
        Ok(t)
    }
}

/// How long a dispatcher keeps a template it read.
const TEMPLATE_CACHE: Duration = Duration::from_secs(10);

/// Where a contact is reached on a channel.
pub fn address(contact: &Contact, channel: Channel) -> Option<String> {
    match channel {
        Channel::Email => contact.emails.first().map(|e| e.as_str().to_owned()),
        Channel::WhatsApp => contact
            .whatsapp_id
            .clone()
            .or_else(|| contact.phones.first().map(|p| p.as_str().to_owned())),
        Channel::Sms | Channel::Simulator => contact
            .phones
            .first()
            .map(|p| p.as_str().to_owned())
            .or_else(|| contact.whatsapp_id.clone()),
        Channel::Webhook => Some(contact.id.to_string()),
    }
}

/// Runs every account's dispatcher on this node until the task is dropped: looks for accounts
/// every poll, starts a worker for each one with a provider, and reports what a takeover found
/// in flight.
pub async fn run(
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    providers: Providers,
    settings: DispatchSettings,
) {
    let mut workers: HashMap<AccountId, tokio::task::JoinHandle<()>> = HashMap::new();
    let mut warned: HashSet<AccountId> = HashSet::new();
    loop {
        match store.list_accounts().await {
            Ok(accounts) => {
                for account in accounts {
                    if workers.get(&account.id).is_some_and(|w| !w.is_finished()) {
                        continue;
                    }
                    let Some(provider) = providers.get(account.channel) else {
                        if warned.insert(account.id) {
                            tracing::info!(account = %account.name, channel = %account.channel, "no provider for this channel on this node: its messages wait");
                        }
                        continue;
                    };
                    let worker = tokio::spawn(work_account(
                        store.clone(),
                        live.clone(),
                        provider,
                        account.clone(),
                        settings.clone(),
                    ));
                    workers.insert(account.id, worker);
                }
            }
            Err(err) => tracing::error!(error = %err, "the dispatcher cannot list accounts"),
        }
        tokio::time::sleep(settings.poll.max(Duration::from_millis(200)) * 2).await;
    }
}

/// One account's worker: claims it (waiting while another node holds it), then steps until
/// the lease is lost or the store fails.
async fn work_account(
    store: Arc<dyn Store>,
    live: Arc<LiveRules>,
    provider: Arc<dyn Provider>,
    account: Account,
    settings: DispatchSettings,
) {
    let name = account.name.clone();
    let claimed = AccountDispatcher::claim(
        store,
        live,
        provider,
        account,
        settings.clone(),
        Timestamp::now(),
    )
    .await;
    let mut dispatcher = match claimed {
        Ok(Some((d, takeover))) => {
            for m in &takeover.unknown {
                tracing::warn!(account = %name, outbox_id = m.id, key = %m.key, contact = %m.contact, "in flight when its dispatcher stopped: marked unknown, not resent");
            }
            tracing::info!(account = %name, node = %settings.node, "dispatching");
            d
        }
        Ok(None) => {
            tokio::time::sleep(settings.lease / 2).await;
            return;
        }
        Err(err) => {
            tracing::error!(account = %name, error = %err, "cannot claim the account");
            tokio::time::sleep(settings.poll).await;
            return;
        }
    };
    loop {
        let now = Timestamp::now();
        match dispatcher.step(now).await {
            Ok(Wake::At(at)) => {
                let wait = (at - Timestamp::now()).max(SignedDuration::ZERO);
                if !wait.is_zero() {
                    tokio::time::sleep(Duration::try_from(wait).unwrap_or(settings.poll)).await;
                }
            }
            Ok(Wake::Lost) => {
                tracing::warn!(account = %name, "another node took the account over");
                return;
            }
            Err(err) => {
                tracing::error!(account = %name, error = %err, "dispatching failed; retrying");
                tokio::time::sleep(settings.poll).await;
            }
        }
    }
}

/// Enqueues the confirmation of an opt-out (SPEC 5.3: "confirms"), once per STOP message,
/// in the contact's language, on the account the STOP came in on.
pub async fn confirm_opt_out(
    store: &dyn Store,
    playbook: &stoke_core::playbook::Playbook,
    account: AccountId,
    contact: &Contact,
    stop_message_key: &str,
    now: Timestamp,
) -> StoreResult<()> {
    let language = contact.likely_language().map_or_else(
        || playbook.default_language.clone(),
        |l| l.primary().to_owned(),
    );
    let text = match playbook.setting(&format!("opt_out.confirm_{language}")) {
        Some(stoke_core::playbook::Setting::Text(t)) => t.clone(),
        _ => playbook.text_setting("opt_out.confirm_en").to_owned(),
    };
    store
        .enqueue(
            &stoke_store::outbox::OutboxDraft {
                key: format!("opt-out-confirmation-{stop_message_key}"),
                account,
                contact: contact.id,
                purpose: Purpose::Service,
                // Written as a literal: a playbook text is not a template.
                content: Content::Text(format!("{{% raw %}}{text}{{% endraw %}}")),
                not_before: now,
            },
            now,
        )
        .await?;
    Ok(())
}
