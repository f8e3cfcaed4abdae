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
    let rules = storage.rules_for(store.as_ref()).await?;
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
    let broadcast = live_broadcast(&store, &rules).await?;
    let logins = dashboard_logins(store.as_ref()).await?;
    let token = create_token(store.as_ref(), "demo", Role::Admin, None)
        .await
        .context("while creating the demo token")?;
    let data_dir = storage.data.clone();
    let ready = Box::new(move |bound: SocketAddr| {
        // Written without panicking if stdout was closed: the server must keep running.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "\nDashboard: http://{bound}/ (log in with one of these; the passwords are new each run)"
        );
        for (role, email, password) in &logins {
            let _ = writeln!(out, "  {role:<6} {email}  password: {password}");
        }
        let _ = writeln!(
            out,
            "\nStoke is running at http://{bound}\n  health:   curl http://{bound}/healthz\n  contacts: curl -H 'Authorization: Bearer {token}' 'http://{bound}/api/v1/contacts?limit=5'\n  one:      curl -H 'Authorization: Bearer {token}' http://{bound}/api/v1/contacts/1\n  today:    curl -H 'Authorization: Bearer {token}' http://{bound}/api/v1/queue\n  sending:  broadcast {broadcast} through the simulator; simulated customers answer in their language\n            (stoke --data {data} broadcast show {broadcast})\nAPI token (admin, shown once): {token}\nPress Ctrl-C to stop.",
            data = data_dir.display()
        );
        let _ = out.flush();
    });
    serve(
        store,
        storage,
        listen,
        Some(ready),
        crate::outbound::World::Simulated,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// The demo's dashboard logins: an admin (created once) and the agent with the most customers,
/// each given a new random password on every run (only in the demo's own workspace) and printed
/// with it.
async fn dashboard_logins(
    store: &dyn stoke_store::Store,
) -> anyhow::Result<Vec<(&'static str, String, String)>> {
    const ADMIN: &str = "admin@demo.stoke";
    let now = Timestamp::now();
    let admin = match store.find_user_by_email(ADMIN).await? {
        Some(user) => user,
        None => {
            store
                .create_user(
                    &stoke_core::UserDraft {
                        email: stoke_core::Email::parse(ADMIN)?,
                        name: "Demo admin".into(),
                        role: Role::Admin,
                        team: None,
                        password_hash: None,
                    },
                    now,
                )
                .await?
        }
    };
    // The agent with the most customers (counted up to a page), so the queue has work in it.
    let mut busiest: Option<(usize, stoke_core::User)> = None;
    for user in store.list_users().await? {
        if user.role != Role::Agent {
            continue;
        }
        let filter = stoke_store::ContactFilter {
            owner: Some(user.id),
            ..Default::default()
        };
        let held = store
            .search_contacts(
                stoke_store::Scope::Everything,
                &filter,
                stoke_store::PageRequest::first(stoke_store::PageRequest::MAX_LIMIT),
            )
            .await?
            .items
            .len();
        if busiest.as_ref().is_none_or(|(most, _)| held > *most) {
            busiest = Some((held, user));
        }
    }
    let busiest = busiest.map(|(_, user)| user);
    let mut logins = Vec::new();
    for (role, user) in [("admin", Some(admin)), ("agent", busiest)] {
        let Some(user) = user else { continue };
        let password = stoke_server::auth::new_secret("")
            .map_err(|e| anyhow::anyhow!("no randomness for a demo password: {e}"))?;
        let password: String = password
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        let hash = stoke_server::auth::Password::new(password.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .hash()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store.set_password_hash(user.id, Some(&hash)).await?;
        logins.push((role, user.email.to_string(), password));
    }
    Ok(logins)
}

/// The demo's sending side: a simulator account, a welcome-back template in the three
/// languages, and a broadcast to the hottest leads, started, so that receipts and replies flow
/// and tags and queues change while the user watches. Reused when the demo runs again.
async fn live_broadcast(
    store: &std::sync::Arc<dyn stoke_store::Store>,
    rules: &stoke_core::engine::Rules,
) -> anyhow::Result<i64> {
    use stoke_core::template::{MediaKind, Template, Variant};

    let now = Timestamp::now();
    if let Some(b) = store
        .list_broadcasts(stoke_store::PageRequest::first(1))
        .await?
        .items
        .into_iter()
        .next()
    {
        return Ok(b.id);
    }
    let account = match store.get_account("simulator").await {
        Ok(a) => a,
        Err(_) => {
            store
                .create_account(
                    &stoke_core::AccountDraft {
                        name: "simulator".into(),
                        channel: stoke_core::Channel::Simulator,
                        address: None,
                        // An established number: the demo should not wait for a warm-up.
                        limits: stoke_core::pacing::AccountLimits {
                            warmup: Some(false),
                            ..Default::default()
                        },
                    },
                    now,
                )
                .await?
        }
    };
    let variant = |lang: Option<&str>, body: &str| -> anyhow::Result<Variant> {
        Ok(Variant {
            language: lang.map(stoke_core::Language::parse).transpose()?,
            kind: MediaKind::Text,
            body: body.into(),
            media_url: None,
            whatsapp: None,
        })
    };
    let template = Template::new(
        "demo-welcome-back",
        vec![
            variant(
                None,
                "Hi {{ first_name }}, our new collection is in. Shall I send you the prices?",
            )?,
            variant(
                Some("ar"),
                "مرحبا {{ first_name }}، وصلت التشكيلة الجديدة. أرسل لك الأسعار؟",
            )?,
            variant(
                Some("ru"),
                "{{ first_name }}, здравствуйте! Пришла новая коллекция. Прислать цены?",
            )?,
        ],
        [("first_name".to_owned(), "there".to_owned())].into(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.put_template(&template, now).await?;
    let index = stoke_server::segments::build_index(store.clone()).await?;
    // The hottest leads; in a large workspace, those of them who wrote today, so that one send
    // stays within the playbook's recipient limit.
    let mut created = None;
    for audience in [
        "intent:high and not opted_out",
        "intent:high and active_within:1d and not opted_out",
    ] {
        let request = stoke_server::broadcasts::NewBroadcast {
            name: "Demo: new collection to hot leads".into(),
            audience: audience.into(),
            account: account.name.clone(),
            template: Some(template.name().to_owned()),
            start: true,
            ..Default::default()
        };
        match stoke_server::broadcasts::create(
            store.as_ref(),
            &rules.playbook,
            &index,
            &request,
            "demo",
            now,
        )
        .await
        {
            Ok(done) => {
                created = Some(done);
                break;
            }
            // Too many hot leads for one send: try the narrower audience.
            Err(stoke_server::broadcasts::CreateError::Refused {
                field: "audience", ..
            }) if !audience.contains("active_within") => {}
            Err(stoke_server::broadcasts::CreateError::Refused { field, message }) => {
                anyhow::bail!("the demo broadcast was refused: {field}: {message}")
            }
            Err(stoke_server::broadcasts::CreateError::Store(e)) => return Err(e.into()),
        }
    }
    let created = created.context("the demo broadcast found no audience")?;
    let b = created.broadcast;
    Ok(b.id)
}
