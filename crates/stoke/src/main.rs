//! The `stoke` binary: command line, configuration, wiring. The only place that picks a store
//! backend (`settings`) and the only place that reads the clock for the core.

mod classify;
mod demo;
mod export;
mod generator;
mod import;
mod migrate;
mod outbound;
mod queue;
mod settings;
mod simulator;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use stoke_core::Role;
use stoke_core::engine::Rules;
use stoke_store::Store;

use settings::StorageArgs;

/// mimalloc: measured faster than the system allocator on the paths that allocate most (the
/// queue, reclassify, ingest); see BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stoke: the self-hosted engagement engine for teams that sell over chat.
#[derive(Debug, Parser)]
#[command(name = "stoke", version, about)]
struct Cli {
    #[command(flatten)]
    storage: StorageArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (API and health) on the configured store.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "STOKE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Generate a demo workspace into an empty data directory, import it and serve it.
    Demo {
        #[arg(long, env = "STOKE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed of the generated workspace.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Number of generated contacts.
        #[arg(long, default_value_t = 2_000)]
        contacts: u64,
    },
    /// Import contacts, messages or events.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Export contacts or messages to stdout (or --out).
    Export {
        what: ExportWhat,
        #[arg(long, value_enum, default_value = "csv")]
        format: export::Format,
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate a deterministic synthetic workspace: contacts.csv, messages.jsonl, events.jsonl
    /// (and agents.csv with --agents, to import with `stoke import users` before the contacts).
    Gen {
        #[arg(long)]
        contacts: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// The moment the workspace ends at (RFC 3339); default now. Fix it for identical output.
        #[arg(long)]
        now: Option<Timestamp>,
        /// Also write agents.csv with this many agents and give contacts an owner column.
        #[arg(long, default_value_t = 0)]
        agents: u64,
    },
    /// Counts of what the workspace holds.
    Stats,
    /// Classify messages: `--text "..."`, or JSON lines {"id", "text", "lang"?} on stdin.
    Classify {
        #[arg(long)]
        text: Option<String>,
        /// The language, when known (ar, ru, en); detected otherwise.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Recompute every contact's tags from its history (after a playbook change).
    Reclassify {
        /// The moment tags are evaluated at (RFC 3339); default now.
        #[arg(long)]
        now: Option<Timestamp>,
    },
    /// The contacts a segment expression holds:
    /// `stoke segment "intent:high and interest:discount and active_within:7d and not opted_out"`.
    Segment {
        expression: String,
        /// The moment `active_within` counts back from (RFC 3339); default now.
        #[arg(long)]
        now: Option<Timestamp>,
        /// Print the matching contact ids, one a line, after the count.
        #[arg(long)]
        ids: bool,
        /// Evaluate this many times and report the median (a benchmark).
        #[arg(long, default_value_t = 1)]
        repeat: u32,
    },
    /// Move a workspace from SQLite to PostgreSQL, and check every table arrived whole.
    Migrate {
        /// The source: sqlite://PATH (the data directory's stoke.db: sqlite://./stoke-data/stoke.db).
        #[arg(long)]
        from: String,
        /// The target: an empty PostgreSQL database, postgres://USER:PASSWORD@HOST/DB.
        #[arg(long)]
        to: String,
    },
    /// Whom to contact, when and why: an agent's queue (or the whole workspace's) at a moment.
    Queue {
        /// The agent whose contacts to plan (their e-mail); default every contact.
        #[arg(long)]
        agent: Option<String>,
        /// The moment (RFC 3339); default now.
        #[arg(long)]
        now: Option<Timestamp>,
        /// A JSON array in queue order instead of a table.
        #[arg(long)]
        json: bool,
        /// Each agent's count of due and overdue actions instead of the items.
        #[arg(long, conflicts_with_all = ["agent", "json"])]
        per_agent: bool,
    },
    /// Contacts: `contact show ID` prints a contact's tags, each with its reason.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Show or check the playbook.
    #[command(subcommand)]
    Playbook(PlaybookCommand),
    /// Administration: users and API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Sender accounts and their pacing.
    #[command(subcommand)]
    Account(outbound::AccountCommand),
    /// Message templates with variables, fallbacks and language variants.
    #[command(subcommand)]
    Template(outbound::TemplateCommand),
    /// Broadcasts to a segment, sent by a running `stoke serve`.
    #[command(subcommand)]
    Broadcast(outbound::BroadcastCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportWhat {
    Contacts,
    Messages,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A CSV or JSON-lines contact list.
    Contacts(ImportArgs),
    /// Messages, one JSON object a line.
    Messages(ImportArgs),
    /// Orders, clicks, opens and custom events, one JSON object a line.
    Events(ImportArgs),
    /// Users without passwords and their teams: CSV `email,name,role,team` with a header (role
    /// defaults to agent). E-mails that already have a user are left as they are.
    Users(ImportArgs),
    /// WhatsApp "Export chat" files: a .txt, the .zip WhatsApp shares, or a folder of them.
    WhatsappChat(import::whatsapp_chat::ChatArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// Import the valid rows and list the bad ones, instead of importing nothing.
    #[arg(long)]
    skip_invalid: bool,
    /// The moment tags are evaluated at (RFC 3339); default now. For replaying a history as of
    /// its own end, as benchmarks and demos of old data do.
    #[arg(long)]
    now: Option<Timestamp>,
}

#[derive(Debug, Subcommand)]
enum ContactCommand {
    /// A contact, its tags with the rule and evidence behind each, and their history.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
enum PlaybookCommand {
    /// Print the playbook in force: the workspace's (set with `playbook set`), else
    /// DATA/playbook.toml, else the built-in default.
    Show,
    /// Make FILE the workspace's playbook, kept in the database for every node (checked first).
    Set { file: PathBuf },
    /// Drop the workspace's playbook: DATA/playbook.toml or the default applies again.
    Unset,
    /// Validate a playbook file, listing every problem with its key path.
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an API token; it is printed once, on the last line of stdout.
    CreateToken {
        #[arg(long)]
        name: String,
        /// admin, manager or agent; default the user's role, or admin for a token of no user.
        #[arg(long)]
        role: Option<Role>,
        /// The user (e-mail) the token acts for: required for manager and agent tokens, whose
        /// data is scoped to that user's team or contacts.
        #[arg(long)]
        user: Option<String>,
    },
    /// List the API tokens (id, name, role, user; never a secret).
    Tokens,
    /// Revoke an API token by its id (from `stoke admin tokens`): it stops working at once.
    RevokeToken { id: i64 },
    /// Create a user (admin, manager or agent), with a password read from stdin if asked.
    CreateUser {
        #[arg(long)]
        email: String,
        /// admin, manager or agent.
        #[arg(long)]
        role: Role,
        #[arg(long)]
        name: Option<String>,
        /// The team's name; a team of that name is created when there is none.
        #[arg(long)]
        team: Option<String>,
        /// Read the password from one line of stdin; without it the user cannot log in yet.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The audit log: every recorded change, oldest first (read-only; nothing edits it).
    Audit {
        /// Only the last N entries.
        #[arg(long)]
        last: Option<usize>,
        /// One JSON object a line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(
        cli.command,
        Command::Serve { .. } | Command::Demo { .. }
    ));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("STOKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { listen } => {
            let store = cli.storage.open()?;
            serve(store, &cli.storage, listen, None, outbound::World::Real).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            seed,
            contacts,
        } => demo::run(&cli.storage, listen, seed, contacts).await,
        // Routed before the store opens: a dry run must not create a database.
        Command::Import(ImportCommand::WhatsappChat(args)) => {
            import::whatsapp_chat::run(&cli.storage, args).await
        }
        Command::Import(command) => {
            let store = cli.storage.open()?;
            let rules = cli.storage.rules_for(store.as_ref()).await?;
            import_command(store.as_ref(), &rules, command).await
        }
        Command::Export { what, format, out } => {
            let store = cli.storage.open()?;
            let sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(BufWriter::new(
                    File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout().lock())),
            };
            match what {
                ExportWhat::Contacts => export::contacts(store.as_ref(), format, sink).await?,
                ExportWhat::Messages => export::messages(store.as_ref(), format, sink).await?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Gen {
            contacts,
            seed,
            out,
            now,
            agents,
        } => {
            let options = generator::GenOptions {
                contacts,
                seed,
                now: now.unwrap_or_else(Timestamp::now),
                out: out.clone(),
                agents,
            };
            let summary =
                tokio::task::spawn_blocking(move || generator::generate(&options)).await??;
            let agents = if summary.agents > 0 {
                format!(", {} agents in {} teams", summary.agents, summary.teams)
            } else {
                String::new()
            };
            println!(
                "generated {} contacts, {} messages, {} events{agents} in {}",
                summary.contacts,
                summary.messages,
                summary.events,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats => {
            let counts = cli.storage.open()?.counts().await?;
            println!(
                "contacts {}\naccounts {}\nconversations {}\nmessages {}\nevents {}\ntags {}\nusers {}",
                counts.contacts,
                counts.accounts,
                counts.conversations,
                counts.messages,
                counts.events,
                counts.tags,
                counts.users
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify { text, lang } => classify::run(&cli.storage.data, text, lang),
        Command::Segment {
            expression,
            now,
            ids,
            repeat,
        } => {
            let segment = stoke_core::segment::Segment::parse(&expression)
                .map_err(|e| anyhow::anyhow!("segment {expression:?}: {e}"))?;
            let store = cli.storage.open()?;
            let now = now.unwrap_or_else(Timestamp::now);
            let started = std::time::Instant::now();
            let index = stoke_server::segments::build_index(store).await?;
            let built = started.elapsed();
            let t0 = std::time::Instant::now();
            let matched = index.evaluate(&segment, now);
            let mut times = vec![t0.elapsed()];
            for _ in 1..repeat.max(1) {
                let t0 = std::time::Instant::now();
                std::hint::black_box(index.evaluate(&segment, now));
                times.push(t0.elapsed());
            }
            times.sort();
            let median = times[times.len() / 2];
            let mut out = std::io::stdout().lock();
            if ids {
                for id in &matched {
                    writeln!(out, "{id}")?;
                }
            }
            writeln!(
                out,
                "{} of {} contacts match {segment} (index built in {:.1} s; evaluated in {:.2} ms, median of {})",
                matched.len(),
                index.len(),
                built.as_secs_f64(),
                median.as_secs_f64() * 1e3,
                times.len()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { from, to } => migrate::run(&cli.storage.data, &from, &to).await,
        Command::Account(command) => outbound::account(&cli.storage, command).await,
        Command::Template(command) => outbound::template(&cli.storage, command).await,
        Command::Broadcast(command) => outbound::broadcast(&cli.storage, command).await,
        Command::Queue {
            agent,
            now,
            json,
            per_agent,
        } => {
            let store = cli.storage.open()?;
            let rules = cli.storage.rules_for(store.as_ref()).await?;
            let now = now.unwrap_or_else(Timestamp::now);
            let owner = match &agent {
                Some(email) => Some(queue::agent(store.as_ref(), email).await?),
                None => None,
            };
            let items = stoke_server::queue::build(store.clone(), rules, owner, now).await?;
            let mut out = std::io::stdout().lock();
            if per_agent {
                let agents = store
                    .list_users()
                    .await?
                    .into_iter()
                    .map(|u| (u.id, u.email.to_string()))
                    .collect();
                queue::write_per_agent(&mut out, &items, &agents, now)?;
            } else if json {
                queue::write_json(&mut out, &items, now)?;
            } else {
                queue::write_table(&mut out, &items, now)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reclassify { now } => {
            let store = cli.storage.open()?;
            let rules = cli.storage.rules_for(store.as_ref()).await?;
            let started = std::time::Instant::now();
            let done = reclassify(store, rules, now.unwrap_or_else(Timestamp::now)).await?;
            println!(
                "reclassified {done} contacts with a history in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Contact(ContactCommand::Show { id }) => {
            let store = cli.storage.open()?;
            let reference = stoke_core::ContactRef::parse(&id).map_err(|e| {
                anyhow::anyhow!("{id:?}: {e} (expected a contact id, a +phone or an e-mail)")
            })?;
            let contact = match reference {
                stoke_core::ContactRef::Id(id) => store.get_contact(id).await?,
                stoke_core::ContactRef::Handle(h) => store
                    .find_contact(&h)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no contact has {}", h.key()))?,
            };
            show_contact(store.as_ref(), &contact).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Playbook(PlaybookCommand::Show) => {
            let store = cli.storage.open()?;
            let (_, origin) = cli.storage.playbook(store.as_ref()).await?;
            println!(
                "# The playbook in force: {}\n{}",
                origin.source, origin.text
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Playbook(PlaybookCommand::Set { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let store = cli.storage.open()?;
            stoke_server::playbook::replace(
                store.as_ref(),
                &text,
                &outbound::whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), cli_refusal(e)))?;
            println!(
                "The workspace's playbook is now {}; running servers follow within seconds. Run `stoke reclassify` to recompute existing tags.",
                file.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Playbook(PlaybookCommand::Unset) => {
            let store = cli.storage.open()?;
            let before = store
                .get_setting(stoke_server::playbook::PLAYBOOK_SETTING)
                .await?;
            store
                .delete_setting(stoke_server::playbook::PLAYBOOK_SETTING)
                .await?;
            if let Some((text, _)) = before {
                outbound::audit(
                    store.as_ref(),
                    "playbook.unset",
                    "playbook".to_owned(),
                    Some(serde_json::Value::String(text)),
                    None,
                )
                .await?;
            }
            let (_, origin) = cli.storage.playbook(store.as_ref()).await?;
            println!("The playbook in force is now {}.", origin.source);
            Ok(ExitCode::SUCCESS)
        }
        Command::Playbook(PlaybookCommand::Check { file }) => classify::check(&file),
        Command::Admin(AdminCommand::CreateToken { name, role, user }) => {
            let store = cli.storage.open()?;
            let user = match &user {
                Some(email) => match store.find_user_by_email(email.trim()).await? {
                    Some(u) => Some(u),
                    None => anyhow::bail!(
                        "--user: no user with e-mail {email:?}; create it with `stoke admin create-user`"
                    ),
                },
                None => None,
            };
            let role = role
                .or(user.as_ref().map(|u| u.role))
                .unwrap_or(Role::Admin);
            let token = create_token(store.as_ref(), &name, role, user.as_ref()).await?;
            println!("created {role} token {name:?}; it is shown once, keep it secret:");
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::Tokens) => {
            let store = cli.storage.open()?;
            let users = store.list_users().await?;
            for t in store.list_api_tokens().await? {
                let user = t
                    .user
                    .and_then(|id| users.iter().find(|u| u.id == id))
                    .map_or_else(|| "-".to_owned(), |u| u.email.to_string());
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id, t.name, t.role, user, t.created_at
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::RevokeToken { id }) => {
            let store = cli.storage.open()?;
            let token = stoke_server::people::revoke_token(
                store.as_ref(),
                id,
                &outbound::whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(cli_refusal)?;
            println!(
                "revoked {} token {:?} (id {})",
                token.role, token.name, token.id
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::CreateUser {
            email,
            role,
            name,
            team,
            password_stdin,
        }) => {
            use import::users::{NewUser, read_password_line};
            use stoke_server::people::CreatedUser;
            let password = password_stdin
                .then(|| read_password_line(std::io::stdin().lock()))
                .transpose()?;
            let store = cli.storage.open()?;
            let new = NewUser {
                email,
                role,
                name,
                team,
            };
            let created: CreatedUser = stoke_server::people::create_user(
                store.as_ref(),
                &new,
                password.as_ref(),
                &outbound::whoami(),
                Timestamp::now(),
            )
            .await
            .map_err(cli_refusal)?;
            println!("{}", import::users::report(&created));
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin(AdminCommand::Audit { last, json }) => {
            let store = cli.storage.open()?;
            let mut entries = Vec::new();
            let mut page = stoke_store::PageRequest::first(1000);
            loop {
                let p = store.list_audit(page).await?;
                entries.extend(p.items);
                if let Some(n) = last {
                    let excess = entries.len().saturating_sub(n);
                    entries.drain(..excess);
                }
                match p.next {
                    Some(next) => page.after = Some(next),
                    None => break,
                }
            }
            let mut out = std::io::stdout().lock();
            for e in entries {
                if json {
                    let doc = serde_json::json!({
                        "id": e.id,
                        "at": e.at.to_string(),
                        "actor": e.actor,
                        "action": e.action,
                        "subject": e.subject,
                        "before": e.before.as_deref().and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok()),
                        "after": e.after.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()),
                    });
                    writeln!(out, "{doc}")?;
                } else {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}{}",
                        e.id,
                        e.at,
                        e.actor,
                        e.action,
                        e.subject,
                        e.after.map(|a| format!("\t{a}")).unwrap_or_default()
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Rebuilds every contact from its history, two batches in flight so that one batch's reading
/// and replaying overlaps another's writing.
async fn reclassify(
    store: Arc<dyn Store>,
    rules: Arc<Rules>,
    now: Timestamp,
) -> anyhow::Result<u64> {
    let mut page = stoke_store::PageRequest::first(500);
    let mut running = tokio::task::JoinSet::new();
    let mut done = 0;
    loop {
        let ids = store.contact_ids(page).await?;
        let batch = ids.items;
        let (store, rules) = (store.clone(), rules.clone());
        running.spawn(async move { store.reclassify(&batch, now, &rules).await });
        while running.len() >= 2 {
            if let Some(result) = running.join_next().await {
                done += result??;
            }
        }
        match ids.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    while let Some(result) = running.join_next().await {
        done += result??;
    }
    Ok(done)
}

async fn show_contact(store: &dyn Store, contact: &stoke_core::Contact) -> anyhow::Result<()> {
    let name = if contact.name.is_empty() {
        "(no name)"
    } else {
        &contact.name
    };
    println!("contact {}: {name}", contact.id);
    for phone in &contact.phones {
        println!("  phone  {phone}");
    }
    for email in &contact.emails {
        println!("  e-mail {email}");
    }
    let tags = store.list_tags(contact.id).await?;
    println!("tags:");
    if tags.is_empty() {
        println!("  (none yet: tags follow the contact's messages and events)");
    }
    for tag in &tags {
        let source = match (tag.evidence.message, tag.evidence.event) {
            (Some(m), _) => format!(" [message {m}]"),
            (_, Some(e)) => format!(" [event {e}]"),
            _ => String::new(),
        };
        println!(
            "  {}:{} ({}) by rule {}, since {}: {}{source}",
            tag.family, tag.value, tag.colour, tag.rule, tag.set_at, tag.evidence.detail
        );
    }
    let history = store.tag_history(contact.id).await?;
    if !history.is_empty() {
        println!("history:");
        for change in history {
            println!(
                "  {} {} {}:{} by rule {}: {}",
                change.tag.set_at,
                change.kind.as_str(),
                change.tag.family,
                change.tag.value,
                change.tag.rule,
                change.tag.evidence.detail
            );
        }
    }
    Ok(())
}

/// Creates a token, recorded in the audit log as the operator; returns its secret. Refusals
/// name the command's option.
pub(crate) async fn create_token(
    store: &dyn Store,
    name: &str,
    role: Role,
    user: Option<&stoke_core::User>,
) -> anyhow::Result<String> {
    stoke_server::people::create_token(
        store,
        name,
        role,
        user,
        &outbound::whoami(),
        Timestamp::now(),
    )
    .await
    .map_err(cli_refusal)
}

/// A refusal from a change the CLI and the API share, in the CLI's terms (`--field: why`).
pub(crate) fn cli_refusal(refusal: stoke_server::broadcasts::CreateError) -> anyhow::Error {
    match refusal {
        stoke_server::broadcasts::CreateError::Refused { field, message } => {
            anyhow::anyhow!("--{}: {message}", field.replace('_', "-"))
        }
        stoke_server::broadcasts::CreateError::Store(e) => e.into(),
    }
}

async fn import_command(
    store: &dyn Store,
    rules: &Arc<Rules>,
    command: ImportCommand,
) -> anyhow::Result<ExitCode> {
    let (args, what) = match &command {
        ImportCommand::Contacts(a) => (a, "contacts"),
        ImportCommand::Messages(a) => (a, "messages"),
        ImportCommand::Events(a) => (a, "events"),
        ImportCommand::Users(a) => (a, "users"),
        ImportCommand::WhatsappChat(_) => unreachable!("routed in run"),
    };
    let now = args.now.unwrap_or_else(Timestamp::now);
    let file = args.file.display().to_string();
    let (rows, problems, bad_rows, written, summary) = match &command {
        ImportCommand::Contacts(a) => {
            let r = import::contacts(store, &a.file, a.skip_invalid, now).await?;
            let o = r.outcome;
            let summary = format!(
                "{} created, {} updated, {} unchanged, {} merged",
                o.created, o.updated, o.unchanged, o.merged
            );
            let bad_rows = r.bad_rows();
            (r.rows, r.problems, bad_rows, r.written, summary)
        }
        ImportCommand::Users(a) => {
            let r = import::users::import(store, &a.file, a.skip_invalid, now).await?;
            let o = r.outcome;
            let summary = format!(
                "{} created, {} already there (left as they are), {} new teams",
                o.created, o.existing, o.teams_created
            );
            let bad_rows = r.bad_rows();
            (r.rows, r.problems, bad_rows, r.written, summary)
        }
        ImportCommand::WhatsappChat(_) => unreachable!("routed in run"),
        ImportCommand::Messages(a) | ImportCommand::Events(a) => {
            let r = if matches!(command, ImportCommand::Messages(_)) {
                import::messages(store, &a.file, a.skip_invalid, now, rules).await?
            } else {
                import::events(store, &a.file, a.skip_invalid, now, rules).await?
            };
            let o = &r.outcome;
            let summary = format!(
                "{} stored, {} already there, {} new contacts",
                o.inserted, o.duplicates, o.contacts_created
            );
            let bad_rows = r.bad_rows();
            (r.rows, r.problems, bad_rows, r.written, summary)
        }
    };
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for problem in &problems {
        writeln!(err, "{file}: {problem}")?;
    }
    if !written {
        writeln!(
            err,
            "{file}: {bad_rows} of {rows} rows are bad; nothing was imported (use --skip-invalid to import the valid rows)"
        )?;
        return Ok(ExitCode::FAILURE);
    }
    println!("{file}: {rows} {what} rows: {summary}; {bad_rows} bad rows skipped");
    Ok(if problems.is_empty() || args.skip_invalid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Serves until Ctrl-C or SIGTERM; `ready` receives the bound address.
pub(crate) async fn serve(
    store: Arc<dyn Store>,
    storage: &settings::StorageArgs,
    listen: SocketAddr,
    ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
    world: outbound::World,
) -> anyhow::Result<()> {
    // Read before the server announces itself, so a change made after that is never missed.
    let data = storage.data.clone();
    let loaded = playbook_stamp(&data);
    let (rules, origin) = storage.playbook(store.as_ref()).await?;
    let workspace_at = origin.updated_at;
    let key = stoke_server::secrets::WorkspaceKey::load(&data)
        .context("while loading the workspace key")?;
    if let Some(settings) = stoke_server::whatsapp::from_env(|n| std::env::var(n).ok()) {
        let account = stoke_server::whatsapp::configure(
            store.as_ref(),
            &key,
            stoke_server::whatsapp::ENV_ACCOUNT,
            settings,
            "env:STOKE_WHATSAPP",
            jiff::Timestamp::now(),
        )
        .await
        .context("while configuring the WhatsApp account from STOKE_WHATSAPP_*")?;
        tracing::info!(account = %account.name, "WhatsApp account configured from the environment");
    }
    if let Some(settings) = stoke_server::email::from_env(|n| std::env::var(n).ok()) {
        let account = stoke_server::email::configure(
            store.as_ref(),
            &key,
            stoke_server::email::ENV_ACCOUNT,
            settings.context("STOKE_SMTP_*")?,
            "env:STOKE_SMTP",
            jiff::Timestamp::now(),
        )
        .await
        .context("while configuring the e-mail account from STOKE_SMTP_*")?;
        tracing::info!(account = %account.name, "e-mail account configured from the environment");
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "serving");
    if let Some(ready) = ready {
        ready(bound);
    }
    let live = Arc::new(stoke_server::scheduler::LiveRules::with_origin(
        rules, origin,
    ));
    let scheduler = tokio::spawn(stoke_server::scheduler::run(
        store.clone(),
        live.clone(),
        std::time::Duration::from_secs(30),
    ));
    let node = node_name();
    tracing::info!(%node, "dispatching as");
    let dispatcher = tokio::spawn(stoke_server::dispatch::run(
        store.clone(),
        live.clone(),
        outbound::providers(store.clone(), live.clone(), key.clone(), world)?,
        dispatch_settings(node),
    ));
    let watcher = tokio::spawn(watch_playbook(
        storage.clone(),
        store.clone(),
        live.clone(),
        (loaded, workspace_at),
    ));
    let served = stoke_server::serve_with_key(
        listener,
        store,
        live,
        access_settings()?,
        Some(key),
        shutdown_signal(),
    )
    .await;
    scheduler.abort();
    dispatcher.abort();
    watcher.abort();
    served?;
    Ok(())
}

/// How the server hands out sessions: `STOKE_TRUSTED_PROXIES` lists the reverse proxies (IP
/// addresses, comma-separated) whose `X-Forwarded-For` names the client, so that logins are
/// throttled per client rather than per proxy.
fn access_settings() -> anyhow::Result<stoke_server::AccessSettings> {
    let mut settings = stoke_server::AccessSettings::default();
    if let Ok(list) = std::env::var("STOKE_TRUSTED_PROXIES") {
        for raw in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            settings.trusted_proxies.push(raw.parse().map_err(|_| {
                anyhow::anyhow!("STOKE_TRUSTED_PROXIES: {raw:?} is not an IP address")
            })?);
        }
    }
    Ok(settings)
}

/// This node's name in dispatch leases: `STOKE_NODE`, else the host's name. Nodes sharing one
/// database need different names; a node restarted under its name takes its accounts back at
/// once.
fn node_name() -> String {
    std::env::var("STOKE_NODE")
        .ok()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "stoke".to_owned())
}

/// The dispatcher's settings; `STOKE_DISPATCH_LEASE_SECS` shortens the lease another node waits
/// out before taking over a dead node's accounts (30 s by default).
fn dispatch_settings(node: String) -> stoke_server::dispatch::DispatchSettings {
    let mut settings = stoke_server::dispatch::DispatchSettings::new(node);
    if let Some(secs) = std::env::var("STOKE_DISPATCH_LEASE_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| *s >= 2)
    {
        settings.lease = std::time::Duration::from_secs(secs);
    }
    settings
}

/// When DATA/playbook.toml was last written, if it exists.
fn playbook_stamp(data: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(data.join("playbook.toml"))
        .and_then(|m| m.modified())
        .ok()
}

/// Reloads the playbook when the workspace's (in the database, shared by every node) or
/// DATA/playbook.toml changes, appears or goes, without a restart. A playbook with problems is
/// reported and the rules in force stay. `seen` stamps the playbook the rules in force came from.
/// The store's change feed (PostgreSQL's notifications from every node) wakes it as soon as a
/// setting is written; the five-second tick covers the file and a store without such a feed.
async fn watch_playbook(
    storage: settings::StorageArgs,
    store: Arc<dyn Store>,
    live: Arc<stoke_server::scheduler::LiveRules>,
    mut seen: (Option<std::time::SystemTime>, Option<Timestamp>),
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(5));
    let mut feed = store.changes();
    loop {
        match feed.as_mut() {
            Some(changes) => tokio::select! {
                _ = ticker.tick() => {}
                change = changes.recv() => match change {
                    // `Any` is every write on SQLite; the tick covers what it might hide.
                    Ok(stoke_store::Change::Settings) | Err(RecvError::Lagged(_)) => {}
                    Ok(stoke_store::Change::Tags | stoke_store::Change::Any) => continue,
                    Err(RecvError::Closed) => feed = None,
                },
            },
            None => {
                ticker.tick().await;
            }
        }
        let workspace_at = match store
            .get_setting(stoke_server::playbook::PLAYBOOK_SETTING)
            .await
        {
            Ok(setting) => setting.map(|(_, at)| at),
            Err(err) => {
                tracing::warn!(%err, "cannot read the workspace's playbook; the rules in force stay");
                continue;
            }
        };
        let now = (playbook_stamp(&storage.data), workspace_at);
        if now == seen {
            continue;
        }
        seen = now;
        match storage.playbook(store.as_ref()).await {
            Ok((rules, origin)) => {
                tracing::info!(source = %origin.source, "playbook reloaded");
                live.replace_from(rules, origin);
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "the changed playbook was not loaded; the previous one stays")
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
