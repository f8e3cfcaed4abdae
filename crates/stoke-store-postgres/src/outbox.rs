//! Sender accounts' pacing and leases, templates, broadcasts and the outbox: the SQLite store's
//! `outbox.rs` with what several nodes sharing one database need.
//!
//! Several nodes may dispatch at once, so nothing here relies on a single writer:
//! - `begin_send` is the claim of a message: one conditional update from `queued` to `sending`.
//!   Of two nodes that read the same due message, the second waits for the first's update, finds
//!   the row no longer queued and gets `false`. Reading due messages therefore takes no lock.
//! - `claim_account` locks the account's row before it reads the lease, so two nodes cannot both
//!   see a lapsed lease and take it.
//! - A broadcast's status changes, its completion and a send's end lock the row they read and
//!   write back; `create_broadcast` checks the workspace's daily limit under an advisory lock, so
//!   two nodes' broadcasts cannot both fit in the last slot.
//!
//! A broadcast's recipients are enqueued in chunks, one statement per chunk over unnested
//! arrays, with ids taken from the sequence first so that they follow the recipients' order.

use std::collections::HashMap;

use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::outbox::{BroadcastStatus, OutboxStatus, Purpose};
use stoke_core::pacing::AccountLimits;
use stoke_core::template::Template;
use stoke_core::{
    Account, AccountDraft, AccountId, ContactId, ContactRef, Direction, MessageId, MessageStatus,
    StatusChange,
};
use stoke_store::codec::{
    decode_limits, decode_template, encode_limits, encode_template, from_millis, parse_column,
    to_millis,
};
use stoke_store::outbox::{
    Broadcast, BroadcastDraft, BroadcastId, BroadcastReport, Content, DueMessage, Outbound,
    OutboxDraft, OutboxEntry, OutboxId, SendOutcome, Takeover,
};
use stoke_store::{IncomingMessage, Page, PageRequest, StoreError};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::contacts::{CONTACT_COLUMNS, contact_from_row};
use crate::{Fail, Res, Tx, allocate_ids, engine, execute, messages, not_found, query, query_opt};

/// Recipients enqueued per statement: 100,000 recipients are ten statements, each well under
/// the protocol's limits and short enough not to hold the sequence or the index for long.
const RECIPIENT_CHUNK: usize = 10_000;

/// The advisory lock key that serialises broadcast creation (the daily limit is a sum over the
/// workspace's broadcasts): "stoke-bc" in ASCII.
const BROADCAST_LOCK: i64 = 0x73_74_6f_6b_65_2d_62_63;

// Accounts.

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, name, channel, address, created_at, limits, paused_until, pause_reason, config";

pub(crate) fn account_from_row(row: &Row) -> Res<Account> {
    Ok(Account {
        id: AccountId::new(row.try_get(0)?),
        name: row.try_get(1)?,
        channel: parse_column("channel", row.try_get::<_, &str>(2)?)?,
        address: row.try_get(3)?,
        created_at: from_millis(row.try_get(4)?)?,
        limits: decode_limits(row.try_get::<_, &str>(5)?)?,
        paused_until: row
            .try_get::<_, Option<i64>>(6)?
            .map(from_millis)
            .transpose()?,
        pause_reason: row.try_get(7)?,
        config: row.try_get(8)?,
    })
}

pub(crate) async fn find_account(tx: &Tx<'_>, name: &str) -> Res<Option<Account>> {
    query_opt(
        tx,
        &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = $1"),
        &[&name],
    )
    .await?
    .map(|row| account_from_row(&row))
    .transpose()
}

/// Inserts a new account. Another node creating the same name first makes this fail on the
/// unique name, and the transaction runs again and finds it.
pub(crate) async fn insert_account(
    tx: &Tx<'_>,
    draft: &AccountDraft,
    now: Timestamp,
) -> Res<Account> {
    let name = draft.name.trim();
    if name.is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "account",
            reason: "an account needs a name".into(),
        }));
    }
    let row = query_opt(
        tx,
        &format!(
            "INSERT INTO accounts (name, channel, address, created_at, limits)
             VALUES ($1, $2, $3, $4, $5) RETURNING {ACCOUNT_COLUMNS}"
        ),
        &[
            &name,
            &draft.channel.as_str(),
            &draft.address,
            &to_millis(now),
            &encode_limits(&draft.limits),
        ],
    )
    .await?
    .ok_or_else(|| {
        Fail::Store(StoreError::Backend(
            "an account insert returned nothing".into(),
        ))
    })?;
    account_from_row(&row)
}

pub(crate) async fn create_account(
    tx: &Tx<'_>,
    draft: &AccountDraft,
    now: Timestamp,
) -> Res<Account> {
    let name = draft.name.trim();
    if find_account(tx, name).await?.is_some() {
        return Err(Fail::Store(StoreError::Conflict {
            entity: "account",
            key: name.to_owned(),
            reason: "an account of that name exists".into(),
        }));
    }
    insert_account(tx, draft, now).await
}

pub(crate) async fn get_account(tx: &Tx<'_>, name: &str) -> Res<Account> {
    find_account(tx, name)
        .await?
        .ok_or_else(|| not_found("account", name))
}

pub(crate) async fn set_limits(tx: &Tx<'_>, name: &str, limits: &AccountLimits) -> Res<Account> {
    query_opt(
        tx,
        &format!("UPDATE accounts SET limits = $2 WHERE name = $1 RETURNING {ACCOUNT_COLUMNS}"),
        &[&name, &encode_limits(limits)],
    )
    .await?
    .map(|row| account_from_row(&row))
    .transpose()?
    .ok_or_else(|| not_found("account", name))
}

pub(crate) async fn set_config(tx: &Tx<'_>, name: &str, config: Option<&str>) -> Res<Account> {
    query_opt(
        tx,
        &format!("UPDATE accounts SET config = $2 WHERE name = $1 RETURNING {ACCOUNT_COLUMNS}"),
        &[&name, &config],
    )
    .await?
    .map(|row| account_from_row(&row))
    .transpose()?
    .ok_or_else(|| not_found("account", name))
}

pub(crate) async fn contact_of_provider_message(
    tx: &Tx<'_>,
    provider_id: &str,
) -> Res<Option<ContactId>> {
    Ok(query_opt(
        tx,
        "SELECT contact_id FROM outbox WHERE provider_id = $1 LIMIT 1",
        &[&provider_id],
    )
    .await?
    .map(|row| row.try_get::<_, i64>(0))
    .transpose()?
    .map(ContactId::new))
}

pub(crate) async fn pause(
    tx: &Tx<'_>,
    account: AccountId,
    until: Option<Timestamp>,
    reason: Option<&str>,
) -> Res<()> {
    let n = execute(
        tx,
        "UPDATE accounts SET paused_until = $2, pause_reason = $3 WHERE id = $1",
        &[&account.get(), &until.map(to_millis), &reason],
    )
    .await?;
    if n == 0 {
        return Err(not_found("account", account));
    }
    Ok(())
}

// Templates.

pub(crate) async fn put_template(tx: &Tx<'_>, t: &Template, now: Timestamp) -> Res<()> {
    execute(
        tx,
        "INSERT INTO templates (name, doc, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
        &[&t.name(), &encode_template(t), &to_millis(now)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn get_template(tx: &Tx<'_>, name: &str) -> Res<Template> {
    let row = query_opt(tx, "SELECT doc FROM templates WHERE name = $1", &[&name])
        .await?
        .ok_or_else(|| not_found("template", name))?;
    Ok(decode_template(name, row.try_get::<_, &str>(0)?)?)
}

pub(crate) async fn list_templates(tx: &Tx<'_>) -> Res<Vec<Template>> {
    let rows = query(tx, "SELECT name, doc FROM templates ORDER BY name", &[]).await?;
    rows.iter()
        .map(|row| Ok(decode_template(row.try_get(0)?, row.try_get(1)?)?))
        .collect()
}

// Broadcasts.

const BROADCAST_COLUMNS: &str = "id, name, audience, account_id, template, body, not_before, golden_window, ignore_quiet, status, recipients, created_by, created_at, updated_at";

fn content_of(template: Option<String>, body: Option<String>) -> Res<Content> {
    match (template, body) {
        (Some(t), _) => Ok(Content::Template(t)),
        (None, Some(b)) => Ok(Content::Text(b)),
        (None, None) => Err(Fail::Store(StoreError::Backend(
            "stored outbox content is unreadable: neither template nor text".into(),
        ))),
    }
}

fn split_content(c: &Content) -> (Option<&str>, Option<&str>) {
    match c {
        Content::Template(t) => (Some(t.as_str()), None),
        Content::Text(b) => (None, Some(b.as_str())),
    }
}

/// A flag as SQLite keeps it, an integer 0 or 1, so that a copy carries it unchanged.
fn flag(value: bool) -> i64 {
    i64::from(value)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn broadcast_from_row(row: &Row) -> Res<Broadcast> {
    Ok(Broadcast {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        audience: row.try_get(2)?,
        account: AccountId::new(row.try_get(3)?),
        content: content_of(row.try_get(4)?, row.try_get(5)?)?,
        not_before: from_millis(row.try_get(6)?)?,
        golden_window: row.try_get::<_, i64>(7)? != 0,
        ignore_quiet_hours: row.try_get::<_, i64>(8)? != 0,
        status: parse_column("broadcast status", row.try_get::<_, &str>(9)?)?,
        recipients: count(row.try_get(10)?),
        created_by: row.try_get(11)?,
        created_at: from_millis(row.try_get(12)?)?,
        updated_at: from_millis(row.try_get(13)?)?,
    })
}

/// Reads a broadcast; `lock` also locks its row until the transaction ends.
async fn load_broadcast(tx: &Tx<'_>, id: BroadcastId, lock: bool) -> Res<Broadcast> {
    let sql = if lock {
        format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1 FOR NO KEY UPDATE")
    } else {
        format!("SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = $1")
    };
    query_opt(tx, &sql, &[&id])
        .await?
        .map(|row| broadcast_from_row(&row))
        .transpose()?
        .ok_or_else(|| not_found("broadcast", id))
}

pub(crate) async fn create_broadcast(
    tx: &Tx<'_>,
    draft: &BroadcastDraft,
    recipients: &[ContactId],
    now: Timestamp,
) -> Res<Broadcast> {
    let name = draft.name.trim();
    if name.is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "name",
            reason: "a broadcast needs a name".into(),
        }));
    }
    if query_opt(
        tx,
        "SELECT 1 FROM accounts WHERE id = $1",
        &[&draft.account.get()],
    )
    .await?
    .is_none()
    {
        return Err(not_found("account", draft.account));
    }
    // The limit is a sum over every broadcast of the last day: two nodes checking it at once
    // would both see room for one more. The lock is the transaction's, released at its end.
    execute(tx, "SELECT pg_advisory_xact_lock($1)", &[&BROADCAST_LOCK]).await?;
    let day_ago = to_millis(now) - 86_400_000;
    let created_today: i64 = query(
        tx,
        "SELECT COALESCE(SUM(recipients), 0)::bigint FROM broadcasts
         WHERE created_at > $1 AND status != 'cancelled'",
        &[&day_ago],
    )
    .await?
    .first()
    .map(|r| r.try_get(0))
    .transpose()?
    .unwrap_or(0);
    let total = count(created_today) + recipients.len() as u64;
    if total > draft.daily_limit {
        return Err(Fail::Store(StoreError::Invalid {
            field: "audience",
            reason: format!(
                "{} recipients on top of {created_today} in the last 24 hours exceed the workspace's {} a day",
                recipients.len(),
                draft.daily_limit
            ),
        }));
    }
    let ids: Vec<i64> = recipients.iter().map(|c| c.get()).collect();
    // Every recipient must exist (a foreign-key failure would not say which one is missing).
    if let Some(row) = query_opt(
        tx,
        "SELECT r FROM unnest($1::bigint[]) AS r
         WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = r) LIMIT 1",
        &[&ids],
    )
    .await?
    {
        return Err(not_found("contact", row.try_get::<_, i64>(0)?));
    }
    let (template, body) = split_content(&draft.content);
    let at = to_millis(now);
    let row = query_opt(
        tx,
        "INSERT INTO broadcasts (name, audience, account_id, template, body, not_before,
           golden_window, ignore_quiet, status, recipients, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $11) RETURNING id",
        &[
            &name,
            &draft.audience,
            &draft.account.get(),
            &template,
            &body,
            &to_millis(draft.not_before),
            &flag(draft.golden_window),
            &flag(draft.ignore_quiet_hours),
            &(recipients.len() as i64),
            &draft.created_by,
            &at,
        ],
    )
    .await?
    .ok_or_else(|| {
        Fail::Store(StoreError::Backend(
            "a broadcast insert returned nothing".into(),
        ))
    })?;
    let id: BroadcastId = row.try_get(0)?;
    let not_before = to_millis(draft.not_before);
    for chunk in ids.chunks(RECIPIENT_CHUNK) {
        let outbox_ids = allocate_ids(tx, "outbox", chunk.len()).await?;
        // A recipient named twice is enqueued once: the key (see `broadcast_key` in SQLite's
        // store, the same text) is unique.
        execute(
            tx,
            "INSERT INTO outbox (id, key, account_id, contact_id, broadcast_id, purpose, status,
               not_before, updated_at)
             SELECT r.id, 'broadcast-' || $3::bigint || '-contact-' || r.contact, $4, r.contact, $3,
               'promotion', 'queued', $5, $6
             FROM unnest($1::bigint[], $2::bigint[]) AS r(id, contact)
             ON CONFLICT (key) DO NOTHING",
            &[
                &outbox_ids,
                &chunk,
                &id,
                &draft.account.get(),
                &not_before,
                &at,
            ],
        )
        .await?;
    }
    load_broadcast(tx, id, false).await
}

async fn counts(tx: &Tx<'_>, id: BroadcastId) -> Res<Vec<(OutboxStatus, u64)>> {
    let rows = query(
        tx,
        "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = $1 GROUP BY status",
        &[&id],
    )
    .await?;
    let mut out = rows
        .iter()
        .map(|row| {
            Ok((
                parse_column::<OutboxStatus>("outbox status", row.try_get::<_, &str>(0)?)?,
                count(row.try_get(1)?),
            ))
        })
        .collect::<Res<Vec<_>>>()?;
    out.sort();
    Ok(out)
}

/// A running broadcast with nothing open (queued or sending) is complete.
pub(crate) fn broadcast_finished(report: &BroadcastReport) -> bool {
    report.broadcast.status == BroadcastStatus::Running
        && report.counts.iter().all(|(s, n)| !s.open() || *n == 0)
}

pub(crate) async fn broadcast_report(tx: &Tx<'_>, id: BroadcastId) -> Res<BroadcastReport> {
    Ok(BroadcastReport {
        broadcast: load_broadcast(tx, id, false).await?,
        counts: counts(tx, id).await?,
    })
}

/// Stores a finished broadcast as completed, deciding again under the broadcast's lock (a
/// node may have paused it, or a retry queued a message again, since it was read).
pub(crate) async fn complete_broadcast(
    tx: &Tx<'_>,
    id: BroadcastId,
    now: Timestamp,
) -> Res<BroadcastReport> {
    let report = BroadcastReport {
        broadcast: load_broadcast(tx, id, true).await?,
        counts: counts(tx, id).await?,
    };
    if broadcast_finished(&report) {
        execute(
            tx,
            "UPDATE broadcasts SET status = 'completed', updated_at = $2
             WHERE id = $1 AND status = 'running'",
            &[&id, &to_millis(now)],
        )
        .await?;
        return broadcast_report(tx, id).await;
    }
    Ok(report)
}

pub(crate) async fn list_broadcasts(tx: &Tx<'_>, page: PageRequest) -> Res<Page<Broadcast>> {
    let limit = page.effective_limit();
    let rows = query(
        tx,
        &format!(
            "SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id < $1 ORDER BY id DESC LIMIT $2"
        ),
        &[&page.after.unwrap_or(i64::MAX), &(i64::from(limit) + 1)],
    )
    .await?;
    let items = rows
        .iter()
        .map(broadcast_from_row)
        .collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, |b| b.id))
}

pub(crate) async fn set_broadcast_status(
    tx: &Tx<'_>,
    id: BroadcastId,
    next: BroadcastStatus,
    now: Timestamp,
) -> Res<Broadcast> {
    // Locked: two nodes pausing and cancelling the same broadcast apply one after the other.
    let current = load_broadcast(tx, id, true).await?;
    if current.status == next {
        return Ok(current);
    }
    if !current.status.may_become(next) {
        return Err(Fail::Store(StoreError::Conflict {
            entity: "broadcast",
            key: id.to_string(),
            reason: format!("a {} broadcast cannot become {next}", current.status),
        }));
    }
    let at = to_millis(now);
    execute(
        tx,
        "UPDATE broadcasts SET status = $2, updated_at = $3 WHERE id = $1",
        &[&id, &next.as_str(), &at],
    )
    .await?;
    if next == BroadcastStatus::Cancelled {
        // A message a dispatcher is claiming at this moment either became `sending` first
        // (and leaves) or finds itself cancelled (`begin_send` is `false`).
        execute(
            tx,
            "UPDATE outbox SET status = 'cancelled', updated_at = $2
             WHERE broadcast_id = $1 AND status = 'queued'",
            &[&id, &at],
        )
        .await?;
    }
    load_broadcast(tx, id, false).await
}

// The outbox.

fn is_foreign_key_violation(fail: &Fail) -> bool {
    matches!(fail, Fail::Db(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION))
}

pub(crate) async fn enqueue(tx: &Tx<'_>, d: &OutboxDraft, now: Timestamp) -> Res<OutboxId> {
    if d.key.trim().is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "key",
            reason: "an outbound message needs an idempotency key".into(),
        }));
    }
    let (template, body) = split_content(&d.content);
    // Of two nodes enqueueing the same key, the second's insert waits for the first to commit
    // and then does nothing; the read after it (a new snapshot) finds the first one's row.
    let inserted = query_opt(
        tx,
        "INSERT INTO outbox (key, account_id, contact_id, purpose, template, body, status,
           not_before, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8)
         ON CONFLICT (key) DO NOTHING RETURNING id",
        &[
            &d.key,
            &d.account.get(),
            &d.contact.get(),
            &d.purpose.as_str(),
            &template,
            &body,
            &to_millis(d.not_before),
            &to_millis(now),
        ],
    )
    .await
    .map_err(|fail| {
        if is_foreign_key_violation(&fail) {
            Fail::Store(StoreError::Invalid {
                field: "contact",
                reason: format!(
                    "contact {} or account {} does not exist",
                    d.contact, d.account
                ),
            })
        } else {
            fail
        }
    })?;
    let row = match inserted {
        Some(row) => row,
        None => query_opt(tx, "SELECT id FROM outbox WHERE key = $1", &[&d.key])
            .await?
            .ok_or(Fail::Raced("an outbox key"))?,
    };
    Ok(row.try_get(0)?)
}

/// The queued messages a dispatcher may send: outside broadcasts or in running ones.
const SENDABLE: &str = "o.status = 'queued' AND (o.broadcast_id IS NULL OR b.status = 'running')";

/// Reads due messages without locking them: `begin_send` is the claim, so two nodes reading
/// the same message send it once (the second's `begin_send` is `false`).
const WEEK_MS: i64 = 7 * 86_400_000;

pub(crate) async fn due_messages(
    tx: &Tx<'_>,
    account: AccountId,
    now: Timestamp,
    limit: u32,
) -> Res<Vec<DueMessage>> {
    let rows = query(
        tx,
        &format!(
            "SELECT o.id, o.key, o.broadcast_id, o.purpose, COALESCE(o.template, b.template),
                    COALESCE(o.body, b.body), COALESCE(b.golden_window, 0),
                    COALESCE(b.ignore_quiet, 0), o.attempts, o.not_before, o.contact_id,
                    f.contact_id IS NOT NULL,
                    (SELECT COUNT(*) FROM outbox p WHERE p.contact_id = o.contact_id
                       AND p.purpose = 'promotion' AND p.sent_at > $4
                       AND p.status IN ('sent', 'delivered', 'read'))
             FROM outbox o LEFT JOIN broadcasts b ON b.id = o.broadcast_id
                           LEFT JOIN contact_flags f ON f.contact_id = o.contact_id
             WHERE o.account_id = $1 AND o.not_before <= $2 AND {SENDABLE}
             ORDER BY o.not_before, o.id LIMIT $3"
        ),
        &[
            &account.get(),
            &to_millis(now),
            &i64::from(limit.max(1)),
            &(to_millis(now) - WEEK_MS),
        ],
    )
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The contacts and their engine states, one query each for the whole page.
    let mut ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get(10))
        .collect::<Result<_, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    let mut contacts = HashMap::with_capacity(ids.len());
    for row in query(
        tx,
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ANY($1)"),
        &[&ids],
    )
    .await?
    {
        let contact = contact_from_row(&row)?;
        contacts.insert(contact.id, contact);
    }
    let contact_ids: Vec<ContactId> = ids.iter().copied().map(ContactId::new).collect();
    let states = engine::load_states(tx, &contact_ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let contact_id = ContactId::new(row.try_get(10)?);
        let contact = contacts
            .get(&contact_id)
            .cloned()
            .ok_or_else(|| not_found("contact", contact_id))?;
        out.push(DueMessage {
            id: row.try_get(0)?,
            key: row.try_get(1)?,
            account,
            broadcast: row.try_get(2)?,
            purpose: parse_column::<Purpose>("purpose", row.try_get::<_, &str>(3)?)?,
            content: content_of(row.try_get(4)?, row.try_get(5)?)?,
            golden_window: row.try_get::<_, i64>(6)? != 0,
            ignore_quiet_hours: row.try_get::<_, i64>(7)? != 0,
            attempts: u32::try_from(row.try_get::<_, i64>(8)?).unwrap_or(0),
            not_before: from_millis(row.try_get(9)?)?,
            contact,
            state: states.get(&contact_id).cloned().unwrap_or_default(),
            invalid_number: row.try_get(11)?,
            promotions_this_week: u32::try_from(row.try_get::<_, i64>(12)?).unwrap_or(u32::MAX),
        });
    }
    Ok(out)
}

pub(crate) async fn next_due_at(tx: &Tx<'_>, account: AccountId) -> Res<Option<Timestamp>> {
    let ms: Option<i64> = query_opt(
        tx,
        &format!(
            "SELECT MIN(o.not_before) FROM outbox o LEFT JOIN broadcasts b ON b.id = o.broadcast_id
             WHERE o.account_id = $1 AND {SENDABLE}"
        ),
        &[&account.get()],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?
    .flatten();
    Ok(ms.map(from_millis).transpose()?)
}

pub(crate) async fn defer(tx: &Tx<'_>, id: OutboxId, until: Timestamp, reason: &str) -> Res<()> {
    execute(
        tx,
        "UPDATE outbox SET not_before = $2, reason = $3 WHERE id = $1 AND status = 'queued'",
        &[&id, &to_millis(until), &reason],
    )
    .await?;
    Ok(())
}

pub(crate) async fn skip(tx: &Tx<'_>, id: OutboxId, reason: &str, now: Timestamp) -> Res<()> {
    execute(
        tx,
        "UPDATE outbox SET status = 'skipped', reason = $2, updated_at = $3
         WHERE id = $1 AND status = 'queued'",
        &[&id, &reason, &to_millis(now)],
    )
    .await?;
    Ok(())
}

/// The claim: one conditional update. Under READ COMMITTED a second node's update waits for
/// the first's transaction, then re-reads the row, finds it `sending` and changes nothing.
pub(crate) async fn begin_send(
    tx: &Tx<'_>,
    id: OutboxId,
    out: &Outbound,
    node: &str,
    now: Timestamp,
) -> Res<bool> {
    let n = execute(
        tx,
        "UPDATE outbox SET status = 'sending', sent_text = $2, media_kind = $3, media_url = $4,
           content_hash = $5, node = $6, attempts = attempts + 1, updated_at = $7
         WHERE id = $1 AND status = 'queued'
           AND (broadcast_id IS NULL OR broadcast_id IN (SELECT id FROM broadcasts WHERE status = 'running'))",
        &[
            &id,
            &out.text,
            &out.kind.as_str(),
            &out.media_url,
            &out.content_hash,
            &node,
            &to_millis(now),
        ],
    )
    .await?;
    Ok(n == 1)
}

pub(crate) async fn finish_send(
    tx: &Tx<'_>,
    id: OutboxId,
    outcome: &SendOutcome,
    now: Timestamp,
    rules: &Rules,
) -> Res<()> {
    // Locked: a send ends once, even if a late answer and a takeover race.
    let row = query_opt(
        tx,
        "SELECT o.key, o.contact_id, o.status, o.sent_text, a.name, a.channel
         FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = $1
         FOR NO KEY UPDATE OF o",
        &[&id],
    )
    .await?
    .ok_or_else(|| not_found("outbox message", id))?;
    let key: String = row.try_get(0)?;
    let contact = ContactId::new(row.try_get(1)?);
    let status: &str = row.try_get(2)?;
    if status != OutboxStatus::Sending.as_str() && status != OutboxStatus::Unknown.as_str() {
        return Err(Fail::Store(StoreError::Conflict {
            entity: "outbox message",
            key: id.to_string(),
            reason: format!("it is {status}, not sending"),
        }));
    }
    let at = to_millis(now);
    match outcome {
        SendOutcome::Sent { provider_id } => {
            // Through the ingest path, in this transaction: the engine sees the outbound touch.
            let message = IncomingMessage {
                external_id: stoke_store::outbox::message_key(&key),
                contact: ContactRef::Id(contact),
                account: row.try_get(4)?,
                channel: parse_column("channel", row.try_get::<_, &str>(5)?)?,
                direction: Direction::Out,
                text: row.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                at: now,
                provider_id: Some(provider_id.clone()),
            };
            messages::ingest_messages(tx, &[message], now, rules).await?;
            let message_id: Option<i64> = query_opt(
                tx,
                "SELECT id FROM messages WHERE external_id = $1",
                &[&stoke_store::outbox::message_key(&key)],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
            execute(
                tx,
                "UPDATE outbox SET status = 'sent', provider_id = $2, message_id = $3, sent_at = $4,
                   reason = NULL, updated_at = $4
                 WHERE id = $1",
                &[&id, provider_id, &message_id, &at],
            )
            .await?;
        }
        SendOutcome::Failed {
            class,
            detail,
            retry_at,
            flag_invalid,
        } => {
            let reason = format!("{}: {detail}", class.as_str());
            match retry_at {
                Some(retry) => {
                    execute(
                        tx,
                        "UPDATE outbox SET status = 'queued', not_before = $2, reason = $3,
                           sent_at = $4, updated_at = $4
                         WHERE id = $1",
                        &[&id, &to_millis(*retry), &reason, &at],
                    )
                    .await?
                }
                None => {
                    execute(
                        tx,
                        "UPDATE outbox SET status = 'failed', reason = $2, sent_at = $3,
                           updated_at = $3
                         WHERE id = $1",
                        &[&id, &reason, &at],
                    )
                    .await?
                }
            };
            if *flag_invalid {
                flag_invalid_number(tx, contact, detail, now).await?;
            }
        }
    }
    Ok(())
}

async fn flag_invalid_number(
    tx: &Tx<'_>,
    contact: ContactId,
    detail: &str,
    now: Timestamp,
) -> Res<()> {
    execute(
        tx,
        "INSERT INTO contact_flags (contact_id, invalid_number, at) VALUES ($1, $2, $3)
         ON CONFLICT (contact_id) DO UPDATE
           SET invalid_number = excluded.invalid_number, at = excluded.at",
        &[&contact.get(), &detail, &to_millis(now)],
    )
    .await?;
    Ok(())
}

pub(crate) async fn record_receipt(
    tx: &Tx<'_>,
    provider_id: &str,
    status: OutboxStatus,
    at: Timestamp,
    detail: Option<&str>,
    flag_invalid: bool,
    rules: &Rules,
) -> Res<bool> {
    // Locked, so that two receipts for one message (delivered and read, on two nodes) cannot
    // both move it from what they read. Provider ids are the provider's: should two messages
    // share one, the oldest takes the receipt, as in SQLite's store.
    let Some(row) = query_opt(
        tx,
        "SELECT id, status, message_id, contact_id FROM outbox WHERE provider_id = $1
         ORDER BY id LIMIT 1 FOR NO KEY UPDATE",
        &[&provider_id],
    )
    .await?
    else {
        return Ok(false);
    };
    let id: OutboxId = row.try_get(0)?;
    let current: OutboxStatus = parse_column("outbox status", row.try_get::<_, &str>(1)?)?;
    let message: Option<i64> = row.try_get(2)?;
    let contact = ContactId::new(row.try_get(3)?);
    if current.advances_to(status) {
        execute(
            tx,
            "UPDATE outbox SET status = $2, reason = COALESCE($3, reason), updated_at = $4
             WHERE id = $1",
            &[&id, &status.as_str(), &detail, &to_millis(at)],
        )
        .await?;
    }
    let message_status = match status {
        OutboxStatus::Delivered => Some(MessageStatus::Delivered),
        OutboxStatus::Read => Some(MessageStatus::Read),
        OutboxStatus::Failed => Some(MessageStatus::Failed),
        OutboxStatus::Sent => Some(MessageStatus::Sent),
        _ => None,
    };
    if let (Some(message), Some(s)) = (message, message_status) {
        let change = StatusChange {
            status: s,
            at,
            detail: detail.map(str::to_owned),
        };
        messages::add_status(tx, MessageId::new(message), &change, rules).await?;
    }
    if flag_invalid {
        flag_invalid_number(tx, contact, detail.unwrap_or("invalid number"), at).await?;
    }
    Ok(true)
}

pub(crate) async fn account_sends(
    tx: &Tx<'_>,
    account: AccountId,
    since: Timestamp,
) -> Res<Vec<Timestamp>> {
    let rows = query(
        tx,
        "SELECT sent_at FROM outbox WHERE account_id = $1 AND sent_at > $2 ORDER BY sent_at",
        &[&account.get(), &to_millis(since)],
    )
    .await?;
    rows.iter()
        .map(|r| Ok(from_millis(r.try_get(0)?)?))
        .collect()
}

pub(crate) async fn identical_sent_at(
    tx: &Tx<'_>,
    hash: &str,
    other_than: AccountId,
    since: Timestamp,
) -> Res<Option<Timestamp>> {
    let ms: Option<i64> = query_opt(
        tx,
        // One index seek per other account to its latest send of this content: a broadcast of
        // one text puts many rows of its own account in the window, and those are never read.
        "SELECT MAX((SELECT MAX(o.sent_at) FROM outbox o
                     WHERE o.content_hash = $1 AND o.account_id = a.id AND o.sent_at > $3))
         FROM accounts a WHERE a.id != $2",
        &[&hash, &other_than.get(), &to_millis(since)],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()?
    .flatten();
    Ok(ms.map(from_millis).transpose()?)
}

/// Takes the account's lease under its row lock: of two nodes finding it lapsed, the second
/// waits for the first to commit, reads the first's live lease and gets `None`. `FOR NO KEY
/// UPDATE` is enough to keep claimers apart and still lets messages and outbox rows naming the
/// account pass their foreign-key checks meanwhile.
pub(crate) async fn claim_account(
    tx: &Tx<'_>,
    account: AccountId,
    node: &str,
    until: Timestamp,
    now: Timestamp,
) -> Res<Option<Takeover>> {
    let row = query_opt(
        tx,
        "SELECT lease_node, lease_until FROM accounts WHERE id = $1 FOR NO KEY UPDATE",
        &[&account.get()],
    )
    .await?
    .ok_or_else(|| not_found("account", account))?;
    let holder: Option<&str> = row.try_get(0)?;
    let held_until: Option<i64> = row.try_get(1)?;
    let live = held_until.is_some_and(|u| u > to_millis(now));
    if live && holder != Some(node) {
        return Ok(None);
    }
    execute(
        tx,
        "UPDATE accounts SET lease_node = $2, lease_until = $3 WHERE id = $1",
        &[&account.get(), &node, &to_millis(until)],
    )
    .await?;
    let rows = query(
        tx,
        &format!(
            "UPDATE outbox SET status = 'unknown',
               reason = 'in flight when its dispatcher stopped; not resent', updated_at = $2
             WHERE account_id = $1 AND status = 'sending' RETURNING {ENTRY_COLUMNS}"
        ),
        &[&account.get(), &to_millis(now)],
    )
    .await?;
    let mut unknown = rows.iter().map(entry_from_row).collect::<Res<Vec<_>>>()?;
    unknown.sort_by_key(|e| e.id);
    Ok(Some(Takeover { unknown }))
}

pub(crate) async fn renew_account(
    tx: &Tx<'_>,
    account: AccountId,
    node: &str,
    until: Timestamp,
) -> Res<bool> {
    let n = execute(
        tx,
        "UPDATE accounts SET lease_until = $3 WHERE id = $1 AND lease_node = $2",
        &[&account.get(), &node, &to_millis(until)],
    )
    .await?;
    Ok(n == 1)
}

pub(crate) async fn release_account(tx: &Tx<'_>, account: AccountId, node: &str) -> Res<()> {
    execute(
        tx,
        "UPDATE accounts SET lease_node = NULL, lease_until = NULL
         WHERE id = $1 AND lease_node = $2",
        &[&account.get(), &node],
    )
    .await?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "id, key, account_id, contact_id, broadcast_id, status, attempts, not_before, sent_text, provider_id, reason, sent_at";

fn entry_from_row(row: &Row) -> Res<OutboxEntry> {
    Ok(OutboxEntry {
        id: row.try_get(0)?,
        key: row.try_get(1)?,
        account: AccountId::new(row.try_get(2)?),
        contact: ContactId::new(row.try_get(3)?),
        broadcast: row.try_get(4)?,
        status: parse_column("outbox status", row.try_get::<_, &str>(5)?)?,
        attempts: u32::try_from(row.try_get::<_, i64>(6)?).unwrap_or(0),
        not_before: from_millis(row.try_get(7)?)?,
        text: row.try_get(8)?,
        provider_id: row.try_get(9)?,
        reason: row.try_get(10)?,
        sent_at: row
            .try_get::<_, Option<i64>>(11)?
            .map(from_millis)
            .transpose()?,
    })
}

pub(crate) async fn list_outbox(
    tx: &Tx<'_>,
    broadcast: Option<BroadcastId>,
    page: PageRequest,
) -> Res<Page<OutboxEntry>> {
    let limit = page.effective_limit();
    let after = page.after.unwrap_or(0);
    let fetch = i64::from(limit) + 1;
    // Two statements rather than `IS NOT DISTINCT FROM`, which no index serves.
    let rows = match broadcast {
        Some(b) => {
            query(
                tx,
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM outbox WHERE broadcast_id = $1 AND id > $2
                     ORDER BY id LIMIT $3"
                ),
                &[&b, &after, &fetch],
            )
            .await?
        }
        None => {
            query(
                tx,
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM outbox WHERE broadcast_id IS NULL AND id > $1
                     ORDER BY id LIMIT $2"
                ),
                &[&after, &fetch],
            )
            .await?
        }
    };
    let items = rows.iter().map(entry_from_row).collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, |e| e.id))
}

/// A merge's share of the outbox: the absorbed contact's messages and number flag move to the
/// survivor (their rows reference the contact the merge deletes). A queued message of a
/// broadcast the survivor is also a recipient of is cancelled rather than sent twice.
pub(crate) async fn merge_contacts(
    tx: &Tx<'_>,
    keep: ContactId,
    absorb: ContactId,
    now: Timestamp,
) -> Res<()> {
    let (k, a) = (keep.get(), absorb.get());
    execute(
        tx,
        "UPDATE outbox SET status = 'cancelled', reason = 'merged into contact ' || $1::bigint,
           updated_at = $3
         WHERE contact_id = $2 AND status = 'queued' AND broadcast_id IN
           (SELECT broadcast_id FROM outbox WHERE contact_id = $1 AND broadcast_id IS NOT NULL)",
        &[&k, &a, &to_millis(now)],
    )
    .await?;
    execute(
        tx,
        "UPDATE outbox SET contact_id = $1 WHERE contact_id = $2",
        &[&k, &a],
    )
    .await?;
    // The survivor's own flag, if any, stays; otherwise it inherits the absorbed one's: one of
    // its numbers was reported invalid.
    execute(
        tx,
        "INSERT INTO contact_flags (contact_id, invalid_number, at)
         SELECT $1, invalid_number, at FROM contact_flags WHERE contact_id = $2
         ON CONFLICT (contact_id) DO NOTHING",
        &[&k, &a],
    )
    .await?;
    execute(tx, "DELETE FROM contact_flags WHERE contact_id = $1", &[&a]).await?;
    Ok(())
}
