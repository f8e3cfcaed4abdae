//! The `stoke` binary: command line, configuration, wiring. The only place that picks a store
//! backend (`settings`) and the only place that reads the clock for the core.

mod demo;
mod export;
mod generator;
mod import;
mod settings;

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
use stoke_store::Store;

use settings::StorageArgs;

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
    /// Generate a deterministic synthetic workspace: contacts.csv, messages.jsonl, events.jsonl.
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
    },
    /// Counts of what the workspace holds.
    Stats,
    /// Administration: tokens (users and roles arrive with the API issue).
    #[command(subcommand)]
    Admin(AdminCommand),
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
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// Import the valid rows and list the bad ones, instead of importing nothing.
    #[arg(long)]
    skip_invalid: bool,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an API token; it is printed once, on the last line of stdout.
    CreateToken {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "admin")]
        role: Role,
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
            serve(store, listen, None).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            listen,
            seed,
            contacts,
        } => demo::run(&cli.storage, listen, seed, contacts).await,
        Command::Import(command) => {
            let store = cli.storage.open()?;
            import_command(store.as_ref(), command).await
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
        } => {
            let options = generator::GenOptions {
                contacts,
                seed,
                now: now.unwrap_or_else(Timestamp::now),
                out: out.clone(),
            };
            let summary =
                tokio::task::spawn_blocking(move || generator::generate(&options)).await??;
            println!(
                "generated {} contacts, {} messages, {} events in {}",
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
        Command::Admin(AdminCommand::CreateToken { name, role }) => {
            let store = cli.storage.open()?;
            let token = create_token(store.as_ref(), &name, role).await?;
            println!("created {role} token {name:?}; it is shown once, keep it secret:");
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Creates a token and returns its secret.
pub(crate) async fn create_token(
    store: &dyn Store,
    name: &str,
    role: Role,
) -> anyhow::Result<String> {
    if name.trim().is_empty() {
        anyhow::bail!("--name: a token needs a name that says who uses it");
    }
    if role != Role::Admin {
        anyhow::bail!("--role {role}: only admin tokens exist until role-scoped access is built");
    }
    let token = stoke_server::auth::new_token()
        .map_err(|e| anyhow::anyhow!("the system's random source failed: {e}"))?;
    store
        .create_api_token(
            name.trim(),
            role,
            None,
            &stoke_server::auth::hash_token(&token),
            Timestamp::now(),
        )
        .await?;
    Ok(token)
}

async fn import_command(store: &dyn Store, command: ImportCommand) -> anyhow::Result<ExitCode> {
    let now = Timestamp::now();
    let (args, what) = match &command {
        ImportCommand::Contacts(a) => (a, "contacts"),
        ImportCommand::Messages(a) => (a, "messages"),
        ImportCommand::Events(a) => (a, "events"),
    };
    let file = args.file.display().to_string();
    let (rows, problems, bad_rows, written, summary) = match &command {
        ImportCommand::Contacts(a) => {
            let r = import::contacts(store, &a.file, a.skip_invalid, now).await?;
            let o = r.outcome;
            let summary = format!(
                "{} created, {} updated, {} unchanged, {} merged",
                o.created, o.updated, o.unchanged, o.merged
            );
            (r.rows, r.problems.clone(), r.bad_rows(), r.written, summary)
        }
        ImportCommand::Messages(a) | ImportCommand::Events(a) => {
            let r = if matches!(command, ImportCommand::Messages(_)) {
                import::messages(store, &a.file, a.skip_invalid, now).await?
            } else {
                import::events(store, &a.file, a.skip_invalid, now).await?
            };
            let o = &r.outcome;
            let summary = format!(
                "{} stored, {} already there, {} new contacts",
                o.inserted, o.duplicates, o.contacts_created
            );
            (r.rows, r.problems.clone(), r.bad_rows(), r.written, summary)
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
    listen: SocketAddr,
    ready: Option<Box<dyn FnOnce(SocketAddr) + Send>>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "serving");
    if let Some(ready) = ready {
        ready(bound);
    }
    stoke_server::serve(listener, store, shutdown_signal()).await?;
    Ok(())
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
