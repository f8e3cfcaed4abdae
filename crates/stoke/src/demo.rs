//! `stoke demo`: from an empty data directory to a running, populated Stoke in one command.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;
use stoke_core::Role;

use crate::settings::StorageArgs;
use crate::{create_token, generator, import, serve};

pub async fn run(
    storage: &StorageArgs,
    listen: SocketAddr,
    seed: u64,
    contacts: u64,
) -> anyhow::Result<ExitCode> {
    let store = storage.open()?;
    let rules = storage.rules()?;
    let counts = store.counts().await?;
    if counts.contacts == 0 {
        let dir = storage.data.join("demo");
        println!(
            "Generating a demo workspace of {contacts} contacts (seed {seed}) in {}",
            dir.display()
        );
        let options = generator::GenOptions {
            contacts,
            seed,
            now: Timestamp::now(),
            out: dir.clone(),
            // A small team, so that each rep has a queue of their own.
            agents: 5,
        };
        let summary = tokio::task::spawn_blocking(move || generator::generate(&options)).await??;
        let now = Timestamp::now();
        let u = import::users::import(store.as_ref(), &dir.join("agents.csv"), false, now).await?;
        anyhow::ensure!(
            u.problems.is_empty(),
            "the generated agents did not import: {}",
            u.problems[0]
        );
        let c = import::contacts(store.as_ref(), &dir.join("contacts.csv"), false, now).await?;
        anyhow::ensure!(
            c.problems.is_empty(),
            "the generated contacts did not import: {}",
            c.problems[0]
        );
        let m = import::messages(
            store.as_ref(),
            &dir.join("messages.jsonl"),
            false,
            now,
            &rules,
        )
        .await?;
        anyhow::ensure!(
            m.problems.is_empty(),
            "the generated messages did not import: {}",
            m.problems[0]
        );
        let e = import::events(
            store.as_ref(),
            &dir.join("events.jsonl"),
            false,
            now,
            &rules,
        )
        .await?;
        anyhow::ensure!(
            e.problems.is_empty(),
            "the generated events did not import: {}",
            e.problems[0]
        );
        println!(
            "Imported {} contacts, {} messages, {} events.",
            summary.contacts, m.outcome.inserted, e.outcome.inserted
        );
    } else {
        println!(
            "Using the existing workspace in {} ({} contacts).",
            storage.data.display(),
            counts.contacts
        );
    }
    let token = create_token(store.as_ref(), "demo", Role::Admin, None)
        .await
        .context("while creating the demo token")?;
    let ready = Box::new(move |bound: SocketAddr| {
        // Written without panicking if stdout was closed: the server must keep running.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "\nStoke is running at http://{bound}\n  health:   curl http://{bound}/healthz\n  contacts: curl -H 'Authorization: Bearer {token}' 'http://{bound}/api/v1/contacts?limit=5'\n  one:      curl -H 'Authorization: Bearer {token}' http://{bound}/api/v1/contacts/1\n  today:    curl -H 'Authorization: Bearer {token}' http://{bound}/api/v1/queue\nAPI token (admin, shown once): {token}\nPress Ctrl-C to stop."
        );
        let _ = out.flush();
    });
    serve(store, rules, storage.data.clone(), listen, Some(ready)).await?;
    Ok(ExitCode::SUCCESS)
}
