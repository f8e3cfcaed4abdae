//! `stoke queue`: each agent's day (SPEC 4), built by `stoke_server::queue` (the API serves the
//! same), printed as a table, as JSON or per agent.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Result, bail};
use jiff::Timestamp;
use stoke_core::UserId;
use stoke_server::queue::{QueueItem, QueueItemDto};
use stoke_store::Store;

/// The queue as one JSON array, in queue order: the API's shape.
pub fn write_json(out: &mut impl Write, items: &[QueueItem], now: Timestamp) -> Result<()> {
    let rows: Vec<QueueItemDto> = items.iter().map(|i| QueueItemDto::new(i, now)).collect();
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
