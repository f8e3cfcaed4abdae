//! `stoke queue`: each agent's day (SPEC 4). One pass over the contacts (one owner's through the
//! owner index) plans every contact with the domain planner and keeps what is due within the
//! playbook's horizon, in queue order.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde::Serialize;
use stoke_core::engine::Rules;
use stoke_core::planner::{NextAction, next_action, queue_order};
use stoke_core::{Contact, ContactId, UserId};
use stoke_store::{PageRequest, Store};

/// One line of a queue.
pub struct QueueItem {
    pub contact: ContactId,
    pub name: String,
    pub phone: Option<String>,
    pub owner: Option<UserId>,
    pub action: NextAction,
}

/// The queue at `now`: every contact (or one owner's) whose next action is individual and due
/// within the horizon, most valuable first. Pages are planned on the blocking pool while the next
/// ones are read, so reading and planning use every core.
pub async fn build(
    store: Arc<dyn Store>,
    rules: Arc<Rules>,
    owner: Option<UserId>,
    now: Timestamp,
) -> Result<Vec<QueueItem>> {
    // Pages planned at once: enough to keep every core busy, few enough to bound memory.
    let in_flight = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let mut planning = std::collections::VecDeque::new();
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .planning_page(
                owner,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await
            .context("reading contacts")?;
        after = page.next;
        let rules = rules.clone();
        planning.push_back(tokio::task::spawn_blocking(move || {
            page.items
                .into_iter()
                .filter_map(|(contact, state)| {
                    let action = next_action(&contact, &state, now, &rules.playbook);
                    action
                        .in_queue(now, &rules.playbook)
                        .then(|| item(contact, action))
                })
                .collect::<Vec<_>>()
        }));
        while planning.len() >= in_flight || (after.is_none() && !planning.is_empty()) {
            if let Some(done) = planning.pop_front() {
                items.extend(done.await.context("planning")?);
            }
        }
        if after.is_none() {
            break;
        }
    }
    items.sort_by(|a, b| queue_order((&a.action, a.contact), (&b.action, b.contact)));
    Ok(items)
}

fn item(contact: Contact, action: NextAction) -> QueueItem {
    QueueItem {
        contact: contact.id,
        phone: contact.phones.first().map(|p| p.as_str().to_owned()),
        name: contact.name,
        owner: contact.owner,
        action,
    }
}

#[derive(Serialize)]
struct JsonContact<'a> {
    id: i64,
    name: &'a str,
    phone: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    contact: JsonContact<'a>,
    due: Option<Timestamp>,
    action: &'static str,
    reason: &'a str,
    priority: u32,
    overdue: bool,
}

/// The queue as one JSON array, in queue order.
pub fn write_json(out: &mut impl Write, items: &[QueueItem], now: Timestamp) -> Result<()> {
    let rows: Vec<JsonItem<'_>> = items
        .iter()
        .map(|i| JsonItem {
            contact: JsonContact {
                id: i.contact.get(),
                name: &i.name,
                phone: i.phone.as_deref(),
            },
            due: i.action.due,
            action: i.action.kind.as_str(),
            reason: &i.action.reason,
            priority: i.action.priority,
            overdue: i.action.overdue(now),
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &rows)?;
    writeln!(out)?;
    Ok(())
}

/// The queue as a table a rep reads: due in the contact's local time, overdue marked.
pub fn write_table(out: &mut impl Write, items: &[QueueItem], now: Timestamp) -> Result<()> {
    let overdue = items.iter().filter(|i| i.action.overdue(now)).count();
    writeln!(
        out,
        "{} to contact, {overdue} overdue (queue at {now})",
        items.len()
    )?;
    for (n, i) in items.iter().enumerate() {
        let due = i.action.due.map_or_else(String::new, |d| {
            let zone = i.action.zone.split(' ').next().unwrap_or("UTC");
            d.in_tz(zone)
                .map(|z| z.strftime("%a %d %b %H:%M").to_string())
                .unwrap_or_else(|_| d.to_string())
        });
        writeln!(
            out,
            "{:>4}. {}{:<14} {:<16} p{:<3} {} ({}) {}\n      {}",
            n + 1,
            if i.action.overdue(now) { "! " } else { "  " },
            i.action.kind.as_str(),
            due,
            i.action.priority,
            i.name,
            i.phone.as_deref().unwrap_or("no phone"),
            i.contact,
            i.action.reason
        )?;
    }
    Ok(())
}

/// Every agent's queue summed up: what a manager checks in the morning.
pub fn write_per_agent(
    out: &mut impl Write,
    items: &[QueueItem],
    agents: &BTreeMap<UserId, String>,
    now: Timestamp,
) -> Result<()> {
    let mut per: BTreeMap<Option<UserId>, (usize, usize)> = BTreeMap::new();
    for i in items {
        let e = per.entry(i.owner).or_default();
        e.0 += 1;
        e.1 += usize::from(i.action.overdue(now));
    }
    writeln!(out, "{:<40} {:>8} {:>8}", "agent", "due", "overdue")?;
    for (owner, (due, overdue)) in &per {
        let name = match owner {
            Some(id) => agents.get(id).map_or_else(|| id.to_string(), Clone::clone),
            None => "(unassigned)".to_owned(),
        };
        writeln!(out, "{name:<40} {due:>8} {overdue:>8}")?;
    }
    Ok(())
}

/// The user an `--agent` e-mail names.
pub async fn agent(store: &dyn Store, email: &str) -> Result<UserId> {
    match store.find_user_by_email(email.trim()).await? {
        Some(user) => Ok(user.id),
        None => bail!(
            "--agent: no user with e-mail {email:?}; create it with `stoke admin create-user`"
        ),
    }
}
