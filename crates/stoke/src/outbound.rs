//! `stoke account`, `stoke template` and `stoke broadcast`: sender accounts and their pacing,
//! message templates, and broadcasts to a segment (SPEC 5.2-5.3). A running `stoke serve`
//! dispatches what these commands enqueue.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::Timestamp;
use stoke_core::outbox::{BroadcastStatus, OutboxStatus};
use stoke_core::pacing::{AccountKind, AccountLimits, Pacing};
use stoke_core::template::{MediaKind, Variant};
use stoke_core::{AccountDraft, Channel, ContactId, Language};
use stoke_store::{PageRequest, Store};

use stoke_server::broadcasts::{self, CreateError, NewBroadcast};
use stoke_server::channel::AccountSettings;
use stoke_server::senders;

use crate::settings::StorageArgs;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountCommand {
    /// Add a sender account with its pacing (the playbook's unless overridden).
    Add {
        #[arg(long)]
        name: String,
        /// simulator, whatsapp, email or webhook.
        #[arg(long)]
        channel: Channel,
        /// The sending number, address or URL.
        #[arg(long)]
        address: Option<String>,
        /// Messages a minute; the gap between messages follows from it.
        #[arg(long)]
        per_minute: Option<u32>,
        #[arg(long)]
        per_hour: Option<u32>,
        /// `off` for a number that is already established: no warm-up cap for new accounts.
        #[arg(long)]
        warmup: Option<OnOff>,
    },
    /// Change an account's pacing.
    Set {
        name: String,
        #[arg(long)]
        per_minute: Option<u32>,
        #[arg(long)]
        per_hour: Option<u32>,
        #[arg(long)]
        warmup: Option<OnOff>,
    },
    /// Every account with its effective pacing and state.
    List,
    /// Create or update a WhatsApp Cloud API account. Secrets never come from arguments (they
    /// would show in `ps`): with `--secrets-stdin`, lines `access_token=...`, `app_secret=...`,
    /// `verify_token=...` on standard input; otherwise `STOKE_WHATSAPP_TOKEN`,
    /// `STOKE_WHATSAPP_APP_SECRET`, `STOKE_WHATSAPP_VERIFY_TOKEN`. A secret not given keeps its
    /// stored value.
    Whatsapp {
        name: String,
        /// Meta's phone-number id (WhatsApp Manager, API setup).
        #[arg(long)]
        phone_number_id: String,
        /// Graph API version (v21.0 unless set).
        #[arg(long)]
        api_version: Option<String>,
        /// Graph API base URL (https://graph.facebook.com unless set).
        #[arg(long)]
        api_base: Option<String>,
        /// Read the secrets from standard input, one `key=value` a line.
        #[arg(long)]
        secrets_stdin: bool,
        /// The number's messaging tier in WhatsApp Manager: 250, 1k, 2k, 10k, 100k or
        /// unlimited (the playbook's `[limits.cloud_api.tiers]`); not given, the stored one
        /// (else the playbook's `tier`).
        #[arg(long)]
        tier: Option<String>,
    },
    /// Create or update an e-mail (SMTP) account. The password never comes from arguments (it
    /// would show in `ps`): `--password-stdin` reads it from standard input (one line), else
    /// `STOKE_SMTP_PASSWORD`; not given, the stored one is kept. The secret that signs the
    /// relay's bounce reports comes from `STOKE_SMTP_WEBHOOK_SECRET` the same way.
    Email {
        name: String,
        /// The SMTP relay's host name.
        #[arg(long)]
        host: String,
        /// The relay's port (587 for starttls, 465 for tls, 25 for none unless set).
        #[arg(long)]
        port: Option<u16>,
        /// starttls (required, no plain-text fallback), tls (from the first byte), or none
        /// (only for a relay on loopback).
        #[arg(long, default_value = "starttls")]
        security: String,
        /// The sender address (From, and the envelope sender bounces return to).
        #[arg(long)]
        from: String,
        /// The sender's name shown beside the address.
        #[arg(long)]
        from_name: Option<String>,
        /// The relay's user name for SMTP AUTH (kept from before when not given).
        #[arg(long)]
        username: Option<String>,
        /// Read the relay's password from standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Where this Stoke is reached from the internet (https://stoke.example.com): the base
        /// of tracking and unsubscribe links.
        #[arg(long)]
        public_url: String,
        /// An address that unsubscribes by mail, offered in List-Unsubscribe beside the link.
        #[arg(long)]
        unsubscribe_mailto: Option<String>,
    },
    /// Create or update a webhook gateway account (an SMS gateway or any tool that takes an
    /// HTTP POST): Stoke posts each message to `--url`, signed with the shared secret, and the
    /// tool posts replies and statuses to /webhooks/gateway/NAME signed the same way. The
    /// secret never comes from arguments: `--secret-stdin` (one line), else
    /// `STOKE_GATEWAY_SECRET`; not given, the stored one is kept.
    Webhook {
        name: String,
        /// Where messages are posted: https, or http on this machine.
        #[arg(long)]
        url: String,
        /// Read the shared secret from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
}

/// Secrets for `account whatsapp`: `key=value` lines, unknown keys refused by name.
fn read_secret_lines(
    text: &str,
    settings: &mut stoke_server::whatsapp::WhatsAppSettings,
) -> anyhow::Result<()> {
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            anyhow::bail!("standard input, line {}: expected key=value", n + 1);
        };
        let slot = match key.trim() {
            "access_token" => &mut settings.access_token,
            "app_secret" => &mut settings.app_secret,
            "verify_token" => &mut settings.verify_token,
            other => anyhow::bail!(
                "standard input, line {}: {other:?} is not access_token, app_secret or verify_token",
                n + 1
            ),
        };
        *slot = Some(value.trim().to_owned());
    }
    Ok(())
}

#[derive(Debug, clap::Subcommand)]
pub enum TemplateCommand {
    /// Add a template, or a language variant to one (`--lang`), replacing that variant.
    Add {
        #[arg(long)]
        name: String,
        /// The variant's language (ar, ru, en, ...); without it, the variant for everyone else.
        #[arg(long)]
        lang: Option<String>,
        /// The text (or the media's caption), with variables like {{ first_name }}.
        #[arg(long, conflicts_with = "file")]
        text: Option<String>,
        /// Read the text from a file.
        #[arg(long)]
        file: Option<PathBuf>,
        /// text, image, video, document (pdf) or audio (voice).
        #[arg(long, default_value = "text")]
        kind: String,
        #[arg(long)]
        media_url: Option<String>,
        /// A variable's value when a contact has none: --fallback first_name=friend.
        #[arg(long = "fallback", value_name = "VAR=VALUE")]
        fallbacks: Vec<String>,
        /// The Meta-approved WhatsApp template this variant goes out as outside the 24-hour
        /// service window (its name in WhatsApp Manager).
        #[arg(long, requires = "wa_language")]
        wa_template: Option<String>,
        /// The approved template's language code: ar, en_US, ru, ...
        #[arg(long, requires = "wa_template")]
        wa_language: Option<String>,
        /// The variables filling the approved template's {{1}}, {{2}}, ... in order:
        /// --wa-param first_name --wa-param order_id.
        #[arg(long = "wa-param", value_name = "VARIABLE", requires = "wa_template")]
        wa_parameters: Vec<String>,
    },
    List,
    /// A template's variants, or its rendering for one contact (`--contact ID`).
    Show {
        name: String,
        #[arg(long)]
        contact: Option<i64>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum BroadcastCommand {
    /// Create a broadcast to a segment; prints its id on the last line.
    Create {
        #[arg(long)]
        name: String,
        /// A segment expression: `intent:high and not opted_out`, `active_within:7d`, `all`.
        #[arg(long)]
        audience: String,
        /// The sender account's name.
        #[arg(long)]
        account: String,
        #[arg(
            long,
            conflicts_with = "template",
            required_unless_present = "template"
        )]
        text: Option<String>,
        #[arg(long)]
        template: Option<String>,
        /// Send from this moment (RFC 3339); default at once.
        #[arg(long, conflicts_with = "golden_window")]
        at: Option<Timestamp>,
        /// Send to each contact at the hour they answer fastest.
        #[arg(long)]
        golden_window: bool,
        /// Ignore quiet hours: for urgent service notices only (recorded with the broadcast).
        #[arg(long)]
        no_quiet_hours: bool,
        /// Start at once instead of leaving a draft.
        #[arg(long)]
        start: bool,
    },
    Start {
        id: i64,
    },
    Pause {
        id: i64,
    },
    Cancel {
        id: i64,
    },
    /// A broadcast's status and its recipients counted by status.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Every broadcast, newest first.
    List,
}

fn limits(per_minute: Option<u32>, per_hour: Option<u32>, warmup: Option<OnOff>) -> AccountLimits {
    AccountLimits {
        per_minute,
        per_hour,
        warmup: warmup.map(|w| w == OnOff::On),
    }
}

fn describe_pacing(p: &Pacing) -> String {
    format!(
        "{} limits, gap {:.3}-{:.3} s, {}{} a minute, {} an hour{}{}",
        p.kind.as_str(),
        p.min_gap.as_secs_f64(),
        p.max_gap.as_secs_f64(),
        p.per_second
            .map(|n| format!("{n} a second, "))
            .unwrap_or_default(),
        p.per_minute,
        p.per_hour,
        p.unique_per_day
            .map(|n| format!(", tier {n} unique contacts a day outside the service window"))
            .unwrap_or_default(),
        p.warmup_per_day
            .map(|d| format!(
                ", warm-up {d} a day for {} days",
                p.warmup_for.as_hours() / 24
            ))
            .unwrap_or_default()
    )
}

pub async fn account(storage: &StorageArgs, command: AccountCommand) -> anyhow::Result<ExitCode> {
    let store = storage.open()?;
    let rules = storage.rules_for(store.as_ref()).await?;
    let playbook = &rules.playbook;
    let mut out = std::io::stdout().lock();
    match command {
        AccountCommand::Add {
            name,
            channel,
            address,
            per_minute,
            per_hour,
            warmup,
        } => {
            let limits = limits(per_minute, per_hour, warmup);
            let (account, warning) = senders::create_account(
                store.as_ref(),
                playbook,
                &AccountDraft {
                    name,
                    channel,
                    address,
                    limits,
                },
                &whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(crate::cli_refusal)?;
            if let Some(warning) = warning {
                eprintln!("warning: {warning}");
            }
            let pacing = senders::pacing_of(playbook, &account);
            writeln!(
                out,
                "Account {} ({}): {}",
                account.name,
                account.channel,
                describe_pacing(&pacing)
            )?;
            writeln!(out, "{}", account.id)?;
        }
        AccountCommand::Set {
            name,
            per_minute,
            per_hour,
            warmup,
        } => {
            let (account, warning) = senders::change_limits(
                store.as_ref(),
                playbook,
                &name,
                &limits(per_minute, per_hour, warmup),
                &whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(crate::cli_refusal)?;
            if let Some(warning) = warning {
                eprintln!("warning: {warning}");
            }
            let pacing = senders::pacing_of(playbook, &account);
            writeln!(
                out,
                "Account {}: {}",
                account.name,
                describe_pacing(&pacing)
            )?;
        }
        AccountCommand::Whatsapp {
            name,
            phone_number_id,
            api_version,
            api_base,
            secrets_stdin,
            tier,
        } => {
            use stoke_server::whatsapp::{self, WhatsAppSettings};
            if let Some(t) = &tier
                && !playbook.limits.cloud_api.tiers.contains_key(t.trim())
            {
                let names: Vec<&str> = playbook
                    .limits
                    .cloud_api
                    .tiers
                    .keys()
                    .map(String::as_str)
                    .collect();
                bail!(
                    "--tier {t:?}: not a tier of the playbook's [limits.cloud_api.tiers] ({})",
                    names.join(", ")
                );
            }
            let key = stoke_server::secrets::WorkspaceKey::load(&storage.data)?;
            let stored = store
                .get_account(&name)
                .await
                .ok()
                .and_then(|a| WhatsAppSettings::of(&a, &key).ok());
            let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
            let mut settings = WhatsAppSettings {
                phone_number_id,
                api_version: api_version.unwrap_or_default(),
                api_base: api_base.unwrap_or_default(),
                access_token: env("STOKE_WHATSAPP_TOKEN"),
                app_secret: env("STOKE_WHATSAPP_APP_SECRET"),
                verify_token: env("STOKE_WHATSAPP_VERIFY_TOKEN"),
                tier,
            };
            if secrets_stdin {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
                read_secret_lines(&text, &mut settings)?;
            }
            if let Some(stored) = stored {
                settings.access_token = settings.access_token.or(stored.access_token);
                settings.app_secret = settings.app_secret.or(stored.app_secret);
                settings.verify_token = settings.verify_token.or(stored.verify_token);
                settings.tier = settings.tier.or(stored.tier);
            }
            let account = whatsapp::configure(
                store.as_ref(),
                &key,
                &name,
                settings.clone(),
                &whoami(),
                Timestamp::now(),
            )
            .await?;
            let set = |s: &Option<String>| if s.is_some() { "set" } else { "not set" };
            let pacing = Pacing::for_kind(
                playbook,
                AccountKind::of(&account),
                settings.tier.as_deref(),
                &account.limits,
            );
            writeln!(
                out,
                "WhatsApp account {} (phone-number id {}): access token {}, app secret {}, verify token {}; {}",
                account.name,
                settings.phone_number_id.trim(),
                set(&settings.access_token),
                set(&settings.app_secret),
                set(&settings.verify_token),
                describe_pacing(&pacing),
            )?;
        }
        AccountCommand::Email {
            name,
            host,
            port,
            security,
            from,
            from_name,
            username,
            password_stdin,
            public_url,
            unsubscribe_mailto,
        } => {
            use stoke_server::email::{self, EmailSettings};
            let key = stoke_server::secrets::WorkspaceKey::load(&storage.data)?;
            let stored = store
                .get_account(&name)
                .await
                .ok()
                .and_then(|a| EmailSettings::of(&a, &key).ok());
            let mut password = std::env::var("STOKE_SMTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            if password_stdin {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("while reading the password from standard input")?;
                let line = text.lines().next().unwrap_or("").to_owned();
                if line.is_empty() {
                    bail!("--password-stdin: standard input holds no password");
                }
                password = Some(line);
            }
            // What is not given again is kept: the user name, the password, the secret.
            let (stored_username, stored_password, stored_secret) = stored
                .map(|s| (s.username, s.password, s.webhook_secret))
                .unwrap_or_default();
            let webhook_secret = std::env::var("STOKE_SMTP_WEBHOOK_SECRET")
                .ok()
                .filter(|s| !s.is_empty())
                .or(stored_secret);
            let settings = EmailSettings {
                host,
                port: port.unwrap_or(0),
                security: security.parse()?,
                username: username.or(stored_username),
                password: password.or(stored_password),
                webhook_secret,
                from_address: from,
                from_name,
                public_url,
                unsubscribe_mailto,
            };
            let account = email::configure(
                store.as_ref(),
                &key,
                &name,
                settings.clone(),
                &whoami(),
                Timestamp::now(),
            )
            .await?;
            let settings = settings.normalised()?;
            writeln!(
                out,
                "E-mail account {} ({} via {}:{}, {}): password {}, webhook secret {}, links at {}",
                account.name,
                settings.from_address,
                settings.host,
                settings.port,
                settings.security.as_str(),
                if settings.password.is_some() {
                    "set"
                } else {
                    "not set"
                },
                if settings.webhook_secret.is_some() {
                    "set"
                } else {
                    "not set"
                },
                settings.public_url,
            )?;
        }
        AccountCommand::Webhook {
            name,
            url,
            secret_stdin,
        } => {
            use stoke_server::gateway::{self, GatewaySettings};
            let key = stoke_server::secrets::WorkspaceKey::load(&storage.data)?;
            let mut secret = std::env::var("STOKE_GATEWAY_SECRET")
                .ok()
                .filter(|s| !s.is_empty());
            if secret_stdin {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .context("while reading the secret from standard input")?;
                let line = text.lines().next().unwrap_or("").trim().to_owned();
                if line.is_empty() {
                    bail!("--secret-stdin: standard input holds no secret");
                }
                secret = Some(line);
            }
            let stored = store
                .get_account(&name)
                .await
                .ok()
                .and_then(|a| GatewaySettings::of(&a, &key).ok())
                .map(|s| s.secret);
            let Some(secret) = secret.or(stored) else {
                bail!(
                    "account {name} has no shared secret yet: give one with --secret-stdin or STOKE_GATEWAY_SECRET"
                );
            };
            let account = gateway::configure(
                store.as_ref(),
                &key,
                &name,
                GatewaySettings { url, secret },
                &whoami(),
                Timestamp::now(),
            )
            .await?;
            let settings = GatewaySettings::of(&account, &key)?;
            writeln!(
                out,
                "Webhook gateway account {}: messages posted to {}; replies and statuses to /webhooks/gateway/{}",
                account.name, settings.url, account.name
            )?;
        }
        AccountCommand::List => {
            for a in store.list_accounts().await? {
                let pacing = senders::pacing_of(playbook, &a);
                let paused = match (&a.paused_until, &a.pause_reason) {
                    (Some(until), reason) if *until > Timestamp::now() => format!(
                        "; paused until {until}{}",
                        reason
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}{paused}",
                    a.id,
                    a.name,
                    a.channel,
                    describe_pacing(&pacing)
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn template(storage: &StorageArgs, command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let store = storage.open()?;
    let mut out = std::io::stdout().lock();
    match command {
        TemplateCommand::Add {
            name,
            lang,
            text,
            file,
            kind,
            media_url,
            fallbacks,
            wa_template,
            wa_language,
            wa_parameters,
        } => {
            let whatsapp = senders::approved_template(wa_template, wa_language, wa_parameters)
                .map_err(|(field, message)| {
                    anyhow::anyhow!("--{}: {message}", field.replace("whatsapp_", "wa-"))
                })?;
            let body = match (text, file) {
                (Some(t), _) => t,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
                (None, None) => bail!("give the template's text with --text or --file"),
            };
            let language = lang
                .map(|l| Language::parse(&l))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
            let kind: MediaKind = kind.parse().map_err(|e| anyhow::anyhow!("--{e}"))?;
            let mut parsed = BTreeMap::new();
            for f in fallbacks {
                let Some((k, v)) = f.split_once('=') else {
                    bail!("--fallback {f:?}: write it as VARIABLE=VALUE");
                };
                parsed.insert(k.trim().to_owned(), v.to_owned());
            }
            let variant = Variant {
                language,
                kind,
                body,
                media_url,
                whatsapp,
            };
            let t = senders::put_variant(
                store.as_ref(),
                &name,
                variant,
                parsed,
                &whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(crate::cli_refusal)?;
            writeln!(
                out,
                "Template {} has {} variant(s): {}",
                t.name(),
                t.variants().len(),
                t.variants()
                    .iter()
                    .map(|v| v
                        .language
                        .as_ref()
                        .map_or("default", |l| l.as_str())
                        .to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        TemplateCommand::List => {
            for t in store.list_templates().await? {
                writeln!(out, "{}\t{} variant(s)", t.name(), t.variants().len())?;
            }
        }
        TemplateCommand::Show { name, contact } => {
            let t = store.get_template(&name).await?;
            match contact {
                Some(id) => {
                    let contact = store.get_contact(ContactId::new(id)).await?;
                    let rules = storage.rules_for(store.as_ref()).await?;
                    let r = t
                        .render(&contact, &rules.playbook.default_language)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    writeln!(
                        out,
                        "[{} {}]{}\n{}",
                        r.language.as_ref().map_or("default", |l| l.as_str()),
                        r.kind,
                        r.media_url.map(|u| format!(" {u}")).unwrap_or_default(),
                        r.text
                    )?;
                }
                None => {
                    for v in t.variants() {
                        writeln!(
                            out,
                            "[{} {}]{}\n{}\n",
                            v.language.as_ref().map_or("default", |l| l.as_str()),
                            v.kind,
                            v.media_url
                                .as_ref()
                                .map(|u| format!(" {u}"))
                                .unwrap_or_default(),
                            v.body
                        )?;
                    }
                    for (k, v) in t.fallbacks() {
                        writeln!(out, "fallback {k} = {v}")?;
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn broadcast(
    storage: &StorageArgs,
    command: BroadcastCommand,
) -> anyhow::Result<ExitCode> {
    let store = storage.open()?;
    let now = Timestamp::now();
    let mut out = std::io::stdout().lock();
    match command {
        BroadcastCommand::Create {
            name,
            audience,
            account,
            text,
            template,
            at,
            golden_window,
            no_quiet_hours,
            start,
        } => {
            let rules = storage.rules_for(store.as_ref()).await?;
            let index = stoke_server::segments::build_index(store.clone()).await?;
            let request = NewBroadcast {
                name,
                audience,
                account,
                text,
                template,
                at,
                golden_window,
                no_quiet_hours,
                start,
            };
            let actor = whoami();
            let created = match broadcasts::create(
                store.as_ref(),
                &rules.playbook,
                &index,
                &request,
                &actor,
                now,
            )
            .await
            {
                Ok(c) => c,
                Err(CreateError::Refused { field, message }) => {
                    bail!("--{}: {message}", field.replace('_', "-"))
                }
                Err(CreateError::Store(e)) => return Err(e.into()),
            };
            let b = &created.broadcast;
            if no_quiet_hours {
                eprintln!(
                    "note: broadcast {} ignores quiet hours (an override for urgent service notices); recorded in the audit log as created by {actor}",
                    b.id
                );
            }
            writeln!(
                out,
                "Broadcast {:?} to {} contacts ({}) on {}: {} (enqueued in {:.2} s)",
                b.name,
                b.recipients,
                b.audience,
                created.account,
                b.status,
                created.enqueue.as_secs_f64()
            )?;
            writeln!(out, "{}", b.id)?;
        }
        BroadcastCommand::Start { id } => {
            let b = broadcasts::set_status(
                store.as_ref(),
                id,
                BroadcastStatus::Running,
                &whoami(),
                now,
            )
            .await?;
            writeln!(out, "Broadcast {} is {}", b.id, b.status)?;
        }
        BroadcastCommand::Pause { id } => {
            let b =
                broadcasts::set_status(store.as_ref(), id, BroadcastStatus::Paused, &whoami(), now)
                    .await?;
            writeln!(out, "Broadcast {} is {}", b.id, b.status)?;
        }
        BroadcastCommand::Cancel { id } => {
            let b = broadcasts::set_status(
                store.as_ref(),
                id,
                BroadcastStatus::Cancelled,
                &whoami(),
                now,
            )
            .await?;
            writeln!(out, "Broadcast {} is {}", b.id, b.status)?;
        }
        BroadcastCommand::Show { id, json } => {
            let r = store.get_broadcast(id, now).await?;
            let b = &r.broadcast;
            if json {
                writeln!(out, "{}", broadcasts::report_json(&r))?;
            } else {
                writeln!(
                    out,
                    "Broadcast {} {:?}: {} to {} contacts ({}) from {}",
                    b.id, b.name, b.status, b.recipients, b.audience, b.not_before
                )?;
                for (status, n) in &r.counts {
                    writeln!(out, "  {status}: {n}")?;
                }
                let (unknown, reasons) = outcomes(store.as_ref(), id).await?;
                for (reason, n) in reasons {
                    writeln!(out, "  {n} skipped or failed: {reason}")?;
                }
                for line in unknown {
                    writeln!(out, "  in doubt: {line}")?;
                }
            }
        }
        BroadcastCommand::List => {
            for b in store.list_broadcasts(PageRequest::first(100)).await?.items {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{} recipients\t{}",
                    b.id, b.status, b.name, b.recipients, b.created_at
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// For `show`: the recipients whose message was in flight at a crash (never resent), and the
/// reasons messages were skipped or failed, most frequent first.
async fn outcomes(store: &dyn Store, id: i64) -> anyhow::Result<(Vec<String>, Vec<(String, u64)>)> {
    let mut unknown = Vec::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut page = PageRequest::first(1000);
    loop {
        let p = store.list_outbox(Some(id), page).await?;
        for e in &p.items {
            match e.status {
                OutboxStatus::Unknown => unknown.push(format!(
                    "contact {} (message {}, key {}): {}",
                    e.contact,
                    e.id,
                    e.key,
                    e.reason.as_deref().unwrap_or("")
                )),
                OutboxStatus::Skipped | OutboxStatus::Failed => {
                    *reasons
                        .entry(
                            e.reason
                                .clone()
                                .unwrap_or_else(|| "no reason recorded".into()),
                        )
                        .or_default() += 1;
                }
                _ => {}
            }
        }
        match p.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    let mut reasons: Vec<(String, u64)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok((unknown, reasons))
}

/// Records a change made from the command line in the audit log, as `cli:USER`.
pub async fn audit(
    store: &dyn Store,
    action: &str,
    subject: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    stoke_server::audit::record(
        store,
        &whoami(),
        action,
        subject,
        before,
        after,
        Timestamp::now(),
    )
    .await
    .with_context(|| format!("the change was made, but the audit log did not record {action}"))
}

/// Who ran the command, for the audit log and the broadcast's record.
pub fn whoami() -> String {
    std::env::var("STOKE_OPERATOR")
        .or_else(|_| std::env::var("USER"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".to_owned())
}

/// Where a node's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Each channel through its provider (simulator accounts through the simulator).
    Real,
    /// `stoke demo`: every account's messages go to the simulator, whatever its channel, so that
    /// the generated WhatsApp and e-mail accounts answer and nothing leaves the machine.
    Simulated,
}

/// The simulator and dispatcher pieces `serve` wires in.
pub fn providers(
    store: Arc<dyn Store>,
    live: Arc<stoke_server::scheduler::LiveRules>,
    key: stoke_server::secrets::WorkspaceKey,
    world: World,
) -> anyhow::Result<stoke_server::channel::Providers> {
    let simulator = Arc::new(crate::simulator::Simulator::new(
        crate::simulator::SimulatorSettings::from_env(),
        store,
        live,
    )?);
    let providers =
        stoke_server::channel::Providers::default().with(Channel::Simulator, simulator.clone());
    Ok(match world {
        World::Simulated => Channel::ALL
            .into_iter()
            .fold(providers, |p, channel| p.with(channel, simulator.clone())),
        World::Real => {
            let email = stoke_server::email::send::SmtpRelay::new(key.clone());
            let gateway = stoke_server::gateway::send::HttpGateway::new(key.clone())
                .context("while building the webhook gateway's HTTP client")?;
            let whatsapp = stoke_server::whatsapp::send::WhatsAppCloud::new(key)
                .context("while building the WhatsApp Cloud API client")?;
            providers
                .with(Channel::WhatsApp, Arc::new(whatsapp))
                .with(Channel::Email, Arc::new(email))
                .with(Channel::Webhook, Arc::new(gateway))
        }
    })
}
