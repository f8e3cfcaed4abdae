//! Sender accounts' pacing and leases, templates, broadcasts and the outbox.

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, Row, params};
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
use stoke_store::{IncomingMessage, Page, PageRequest, StoreError, StoreResult};

use crate::{contacts, db_err, engine, messages};

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, name, channel, address, created_at, limits, paused_until, pause_reason, config";

pub(crate) fn account_from_row(row: &Row<'_>) -> StoreResult<Account> {
    Ok(Account {
        id: AccountId::new(row.get(0).map_err(db_err)?),
        name: row.get(1).map_err(db_err)?,
        channel: parse_column("channel", &row.get::<_, String>(2).map_err(db_err)?)?,
        address: row.get(3).map_err(db_err)?,
        created_at: from_millis(row.get(4).map_err(db_err)?)?,
        limits: decode_limits(&row.get::<_, String>(5).map_err(db_err)?)?,
        paused_until: row
            .get::<_, Option<i64>>(6)
            .map_err(db_err)?
            .map(from_millis)
            .transpose()?,
        pause_reason: row.get(7).map_err(db_err)?,
        config: row.get(8).map_err(db_err)?,
    })
}

pub(crate) fn find_account(conn: &Connection, name: &str) -> StoreResult<Option<Account>> {
    conn.prepare_cached(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?1"
    ))
    .map_err(db_err)?
    .query([name])
    .map_err(db_err)?
    .next()
    .map_err(db_err)?
    .map(account_from_row)
    .transpose()
}

pub(crate) fn insert_account(
    conn: &Connection,
    draft: &AccountDraft,
    now: Timestamp,
) -> StoreResult<Account> {
    let name = draft.name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid {
            field: "account",
            reason: "an account needs a name".into(),
        });
    }
    conn.execute(
        "INSERT INTO accounts (name, channel, address, created_at, limits) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            name,
            draft.channel.as_str(),
            draft.address,
            to_millis(now),
            encode_limits(&draft.limits)
        ],
    )
    .map_err(db_err)?;
    find_account(conn, name)?
        .ok_or_else(|| StoreError::Backend("account vanished after insert".into()))
}

pub(crate) fn create_account(
    conn: &Connection,
    draft: &AccountDraft,
    now: Timestamp,
) -> StoreResult<Account> {
    if find_account(conn, draft.name.trim())?.is_some() {
        return Err(StoreError::Conflict {
            entity: "account",
            key: draft.name.trim().to_owned(),
            reason: "an account of that name exists".into(),
        });
    }
    insert_account(conn, draft, now)
}

pub(crate) fn get_account(conn: &Connection, name: &str) -> StoreResult<Account> {
    find_account(conn, name)?.ok_or_else(|| StoreError::not_found("account", name))
}

pub(crate) fn set_limits(
    conn: &Connection,
    name: &str,
    limits: &AccountLimits,
) -> StoreResult<Account> {
    let n = conn
        .execute(
            "UPDATE accounts SET limits = ?2 WHERE name = ?1",
            params![name, encode_limits(limits)],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::not_found("account", name));
    }
    get_account(conn, name)
}

pub(crate) fn set_config(
    conn: &Connection,
    name: &str,
    config: Option<&str>,
) -> StoreResult<Account> {
    let n = conn
        .execute(
            "UPDATE accounts SET config = ?2 WHERE name = ?1",
            params![name, config],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::not_found("account", name));
    }
    get_account(conn, name)
}

pub(crate) fn pause(
    conn: &Connection,
    account: AccountId,
    until: Option<Timestamp>,
    reason: Option<&str>,
) -> StoreResult<()> {
    let n = conn
        .execute(
            "UPDATE accounts SET paused_until = ?2, pause_reason = ?3 WHERE id = ?1",
            params![account.get(), until.map(to_millis), reason],
        )
        .map_err(db_err)?;
    if n == 0 {
        return Err(StoreError::not_found("account", account));
    }
    Ok(())
}

// Templates.

pub(crate) fn put_template(conn: &Connection, t: &Template, now: Timestamp) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO templates (name, doc, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
        params![t.name(), encode_template(t), to_millis(now)],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn get_template(conn: &Connection, name: &str) -> StoreResult<Template> {
    let doc: Option<String> = conn
        .query_row("SELECT doc FROM templates WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()
        .map_err(db_err)?;
    match doc {
        Some(doc) => decode_template(name, &doc),
        None => Err(StoreError::not_found("template", name)),
    }
}

pub(crate) fn list_templates(conn: &Connection) -> StoreResult<Vec<Template>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, doc FROM templates ORDER BY name")
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let name: String = row.get(0).map_err(db_err)?;
        let doc: String = row.get(1).map_err(db_err)?;
        out.push(decode_template(&name, &doc)?);
    }
    Ok(out)
}

// Broadcasts.

const BROADCAST_COLUMNS: &str = "id, name, audience, account_id, template, body, not_before, golden_window, ignore_quiet, status, recipients, created_by, created_at, updated_at";

fn content_of(template: Option<String>, body: Option<String>) -> StoreResult<Content> {
    match (template, body) {
        (Some(t), _) => Ok(Content::Template(t)),
        (None, Some(b)) => Ok(Content::Text(b)),
        (None, None) => Err(StoreError::Backend(
            "stored outbox content is unreadable: neither template nor text".into(),
        )),
    }
}

fn split_content(c: &Content) -> (Option<&str>, Option<&str>) {
    match c {
        Content::Template(t) => (Some(t.as_str()), None),
        Content::Text(b) => (None, Some(b.as_str())),
    }
}

fn broadcast_from_row(row: &Row<'_>) -> StoreResult<Broadcast> {
    Ok(Broadcast {
        id: row.get(0).map_err(db_err)?,
        name: row.get(1).map_err(db_err)?,
        audience: row.get(2).map_err(db_err)?,
        account: AccountId::new(row.get(3).map_err(db_err)?),
        content: content_of(row.get(4).map_err(db_err)?, row.get(5).map_err(db_err)?)?,
        not_before: from_millis(row.get(6).map_err(db_err)?)?,
        golden_window: row.get(7).map_err(db_err)?,
        ignore_quiet_hours: row.get(8).map_err(db_err)?,
        status: parse_column(
            "broadcast status",
            &row.get::<_, String>(9).map_err(db_err)?,
        )?,
        recipients: row.get::<_, i64>(10).map_err(db_err)?.max(0) as u64,
        created_by: row.get(11).map_err(db_err)?,
        created_at: from_millis(row.get(12).map_err(db_err)?)?,
        updated_at: from_millis(row.get(13).map_err(db_err)?)?,
    })
}

fn load_broadcast(conn: &Connection, id: BroadcastId) -> StoreResult<Broadcast> {
    conn.prepare_cached(&format!(
        "SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id = ?1"
    ))
    .map_err(db_err)?
    .query([id])
    .map_err(db_err)?
    .next()
    .map_err(db_err)?
    .map(broadcast_from_row)
    .transpose()?
    .ok_or_else(|| StoreError::not_found("broadcast", id))
}

/// The key of a broadcast's message to one recipient: a recipient is enqueued once.
fn broadcast_key(id: BroadcastId, contact: ContactId) -> String {
    format!("broadcast-{id}-contact-{contact}")
}

pub(crate) fn create_broadcast(
    conn: &Connection,
    draft: &BroadcastDraft,
    recipients: &[ContactId],
    now: Timestamp,
) -> StoreResult<Broadcast> {
    if draft.name.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "a broadcast needs a name".into(),
        });
    }
    let day_ago = to_millis(now) - 86_400_000;
    let sent_today: i64 = conn
        .query_row(
            "SELECT COALESCE(SUM(recipients), 0) FROM broadcasts WHERE created_at > ?1 AND status != 'cancelled'",
            [day_ago],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let total = sent_today.max(0) as u64 + recipients.len() as u64;
    if total > draft.daily_limit {
        return Err(StoreError::Invalid {
            field: "audience",
            reason: format!(
                "{} recipients on top of {sent_today} in the last 24 hours exceed the workspace's {} a day",
                recipients.len(),
                draft.daily_limit
            ),
        });
    }
    let (template, body) = split_content(&draft.content);
    conn.execute(
        "INSERT INTO broadcasts (name, audience, account_id, template, body, not_before, golden_window, ignore_quiet, status, recipients, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'draft', ?9, ?10, ?11, ?11)",
        params![
            draft.name.trim(),
            draft.audience,
            draft.account.get(),
            template,
            body,
            to_millis(draft.not_before),
            draft.golden_window,
            draft.ignore_quiet_hours,
            recipients.len() as i64,
            draft.created_by,
            to_millis(now),
        ],
    )
    .map_err(|e| match e {
        r2d2_sqlite::rusqlite::Error::SqliteFailure(f, _)
            if f.code == r2d2_sqlite::rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::not_found("account", draft.account)
        }
        e => db_err(e),
    })?;
    let id = conn.last_insert_rowid();
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO outbox (key, account_id, contact_id, broadcast_id, purpose, status, not_before, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'promotion', 'queued', ?5, ?6) ON CONFLICT (key) DO NOTHING",
        )
        .map_err(db_err)?;
    let not_before = to_millis(draft.not_before);
    let at = to_millis(now);
    for contact in recipients {
        insert
            .execute(params![
                broadcast_key(id, *contact),
                draft.account.get(),
                contact.get(),
                id,
                not_before,
                at
            ])
            .map_err(|e| match e {
                r2d2_sqlite::rusqlite::Error::SqliteFailure(f, _)
                    if f.code == r2d2_sqlite::rusqlite::ErrorCode::ConstraintViolation =>
                {
                    StoreError::not_found("contact", contact)
                }
                e => db_err(e),
            })?;
    }
    load_broadcast(conn, id)
}

fn counts(conn: &Connection, id: BroadcastId) -> StoreResult<Vec<(OutboxStatus, u64)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ?1 GROUP BY status ORDER BY status",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([id]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let status: OutboxStatus =
            parse_column("outbox status", &row.get::<_, String>(0).map_err(db_err)?)?;
        out.push((status, row.get::<_, i64>(1).map_err(db_err)?.max(0) as u64));
    }
    out.sort();
    Ok(out)
}

/// A running broadcast with nothing open (queued or sending) is complete.
pub(crate) fn broadcast_finished(report: &BroadcastReport) -> bool {
    report.broadcast.status == BroadcastStatus::Running
        && report.counts.iter().all(|(s, n)| !s.open() || *n == 0)
}

pub(crate) fn broadcast_report(conn: &Connection, id: BroadcastId) -> StoreResult<BroadcastReport> {
    Ok(BroadcastReport {
        broadcast: load_broadcast(conn, id)?,
        counts: counts(conn, id)?,
    })
}

pub(crate) fn complete_broadcast(
    conn: &Connection,
    id: BroadcastId,
    now: Timestamp,
) -> StoreResult<BroadcastReport> {
    let report = broadcast_report(conn, id)?;
    if broadcast_finished(&report) {
        conn.execute(
            "UPDATE broadcasts SET status = 'completed', updated_at = ?2 WHERE id = ?1 AND status = 'running'",
            params![id, to_millis(now)],
        )
        .map_err(db_err)?;
        return broadcast_report(conn, id);
    }
    Ok(report)
}

pub(crate) fn list_broadcasts(
    conn: &Connection,
    page: PageRequest,
) -> StoreResult<Page<Broadcast>> {
    let limit = page.effective_limit();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {BROADCAST_COLUMNS} FROM broadcasts WHERE id < ?1 ORDER BY id DESC LIMIT ?2"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            page.after.unwrap_or(i64::MAX),
            i64::from(limit) + 1
        ])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(broadcast_from_row(row)?);
    }
    Ok(Page::from_overfetch(items, limit, |b| b.id))
}

pub(crate) fn set_broadcast_status(
    conn: &Connection,
    id: BroadcastId,
    next: BroadcastStatus,
    now: Timestamp,
) -> StoreResult<Broadcast> {
    let current = load_broadcast(conn, id)?;
    if current.status == next {
        return Ok(current);
    }
    if !current.status.may_become(next) {
        return Err(StoreError::Conflict {
            entity: "broadcast",
            key: id.to_string(),
            reason: format!("a {} broadcast cannot become {next}", current.status),
        });
    }
    conn.execute(
        "UPDATE broadcasts SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, next.as_str(), to_millis(now)],
    )
    .map_err(db_err)?;
    if next == BroadcastStatus::Cancelled {
        conn.execute(
            "UPDATE outbox SET status = 'cancelled', updated_at = ?2 WHERE broadcast_id = ?1 AND status = 'queued'",
            params![id, to_millis(now)],
        )
        .map_err(db_err)?;
    }
    load_broadcast(conn, id)
}

// The outbox.

pub(crate) fn enqueue(conn: &Connection, d: &OutboxDraft, now: Timestamp) -> StoreResult<OutboxId> {
    if d.key.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "key",
            reason: "an outbound message needs an idempotency key".into(),
        });
    }
    let (template, body) = split_content(&d.content);
    conn.execute(
        "INSERT INTO outbox (key, account_id, contact_id, purpose, template, body, status, not_before, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8) ON CONFLICT (key) DO NOTHING",
        params![
            d.key,
            d.account.get(),
            d.contact.get(),
            d.purpose.as_str(),
            template,
            body,
            to_millis(d.not_before),
            to_millis(now)
        ],
    )
    .map_err(|e| match e {
        r2d2_sqlite::rusqlite::Error::SqliteFailure(f, _)
            if f.code == r2d2_sqlite::rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Invalid {
                field: "contact",
                reason: format!("contact {} or account {} does not exist", d.contact, d.account),
            }
        }
        e => db_err(e),
    })?;
    conn.query_row("SELECT id FROM outbox WHERE key = ?1", [&d.key], |r| {
        r.get(0)
    })
    .map_err(db_err)
}

/// The queued messages a dispatcher may send: outside broadcasts or in running ones.
const SENDABLE: &str = "o.status = 'queued' AND (o.broadcast_id IS NULL OR b.status = 'running')";

pub(crate) fn due_messages(
    conn: &Connection,
    account: AccountId,
    now: Timestamp,
    limit: u32,
) -> StoreResult<Vec<DueMessage>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT o.id, o.key, o.broadcast_id, o.purpose, COALESCE(o.template, b.template), COALESCE(o.body, b.body),
                    COALESCE(b.golden_window, 0), COALESCE(b.ignore_quiet, 0), o.attempts, o.not_before, o.contact_id,
                    f.contact_id IS NOT NULL,
                    (SELECT COUNT(*) FROM outbox p WHERE p.contact_id = o.contact_id
                       AND p.purpose = 'promotion' AND p.sent_at > ?4
                       AND p.status IN ('sent', 'delivered', 'read'))
             FROM outbox o LEFT JOIN broadcasts b ON b.id = o.broadcast_id
                           LEFT JOIN contact_flags f ON f.contact_id = o.contact_id
             WHERE o.account_id = ?1 AND o.not_before <= ?2 AND {SENDABLE}
             ORDER BY o.not_before, o.id LIMIT ?3"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            account.get(),
            to_millis(now),
            i64::from(limit.max(1)),
            to_millis(now) - 7 * 86_400_000
        ])
        .map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let contact_id = ContactId::new(row.get(10).map_err(db_err)?);
        let contact = contacts::load(conn, contact_id)?;
        let state = engine::load_state(conn, contact_id)?.unwrap_or_default();
        out.push(DueMessage {
            id: row.get(0).map_err(db_err)?,
            key: row.get(1).map_err(db_err)?,
            account,
            broadcast: row.get(2).map_err(db_err)?,
            purpose: parse_column::<Purpose>("purpose", &row.get::<_, String>(3).map_err(db_err)?)?,
            content: content_of(row.get(4).map_err(db_err)?, row.get(5).map_err(db_err)?)?,
            golden_window: row.get(6).map_err(db_err)?,
            ignore_quiet_hours: row.get(7).map_err(db_err)?,
            attempts: row.get::<_, i64>(8).map_err(db_err)?.max(0) as u32,
            not_before: from_millis(row.get(9).map_err(db_err)?)?,
            contact,
            state,
            invalid_number: row.get(11).map_err(db_err)?,
            promotions_this_week: row.get::<_, i64>(12).map_err(db_err)?.max(0) as u32,
        });
    }
    Ok(out)
}

pub(crate) fn next_due_at(conn: &Connection, account: AccountId) -> StoreResult<Option<Timestamp>> {
    let ms: Option<i64> = conn
        .query_row(
            &format!(
                "SELECT MIN(o.not_before) FROM outbox o LEFT JOIN broadcasts b ON b.id = o.broadcast_id
                 WHERE o.account_id = ?1 AND {SENDABLE}"
            ),
            [account.get()],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    ms.map(from_millis).transpose()
}

pub(crate) fn defer(
    conn: &Connection,
    id: OutboxId,
    until: Timestamp,
    reason: &str,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE outbox SET not_before = ?2, reason = ?3 WHERE id = ?1 AND status = 'queued'",
        params![id, to_millis(until), reason],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn skip(
    conn: &Connection,
    id: OutboxId,
    reason: &str,
    now: Timestamp,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE outbox SET status = 'skipped', reason = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'queued'",
        params![id, reason, to_millis(now)],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn begin_send(
    conn: &Connection,
    id: OutboxId,
    out: &Outbound,
    node: &str,
    now: Timestamp,
) -> StoreResult<bool> {
    let n = conn
        .execute(
            "UPDATE outbox SET status = 'sending', sent_text = ?2, media_kind = ?3, media_url = ?4, content_hash = ?5,
                    node = ?6, attempts = attempts + 1, updated_at = ?7
             WHERE id = ?1 AND status = 'queued'
               AND (broadcast_id IS NULL OR broadcast_id IN (SELECT id FROM broadcasts WHERE status = 'running'))",
            params![
                id,
                out.text,
                out.kind.as_str(),
                out.media_url,
                out.content_hash,
                node,
                to_millis(now)
            ],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

pub(crate) fn finish_send(
    conn: &Connection,
    id: OutboxId,
    outcome: &SendOutcome,
    now: Timestamp,
    rules: &Rules,
) -> StoreResult<()> {
    /// The outbox row and its account, as `finish_send` needs them.
    struct Row {
        key: String,
        contact: i64,
        status: String,
        text: Option<String>,
        account_name: String,
        channel: String,
    }
    let row = conn
        .query_row(
            "SELECT o.key, o.contact_id, o.status, o.sent_text, a.name, a.channel
             FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?1",
            [id],
            |r| {
                Ok(Row {
                    key: r.get(0)?,
                    contact: r.get(1)?,
                    status: r.get(2)?,
                    text: r.get(3)?,
                    account_name: r.get(4)?,
                    channel: r.get(5)?,
                })
            },
        )
        .optional()
        .map_err(db_err)?;
    let Some(Row {
        key,
        contact,
        status,
        text,
        account_name,
        channel,
    }) = row
    else {
        return Err(StoreError::not_found("outbox message", id));
    };
    if status != OutboxStatus::Sending.as_str() && status != OutboxStatus::Unknown.as_str() {
        return Err(StoreError::Conflict {
            entity: "outbox message",
            key: id.to_string(),
            reason: format!("it is {status}, not sending"),
        });
    }
    let at = to_millis(now);
    match outcome {
        SendOutcome::Sent { provider_id } => {
            let message = IncomingMessage {
                external_id: stoke_store::outbox::message_key(&key),
                contact: ContactRef::Id(ContactId::new(contact)),
                account: account_name,
                channel: parse_column("channel", &channel)?,
                direction: Direction::Out,
                text: text.unwrap_or_default(),
                at: now,
                provider_id: Some(provider_id.clone()),
            };
            messages::ingest_messages(conn, &[message], now, rules)?;
            let message_id: Option<i64> = conn
                .query_row(
                    "SELECT id FROM messages WHERE external_id = ?1",
                    [stoke_store::outbox::message_key(&key)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            conn.execute(
                "UPDATE outbox SET status = 'sent', provider_id = ?2, message_id = ?3, sent_at = ?4, reason = NULL, updated_at = ?4
                 WHERE id = ?1",
                params![id, provider_id, message_id, at],
            )
            .map_err(db_err)?;
        }
        SendOutcome::Failed {
            class,
            detail,
            retry_at,
            flag_invalid,
        } => {
            let reason = format!("{}: {detail}", class.as_str());
            match retry_at {
                Some(retry) => conn.execute(
                    "UPDATE outbox SET status = 'queued', not_before = ?2, reason = ?3, sent_at = ?4, updated_at = ?4 WHERE id = ?1",
                    params![id, to_millis(*retry), reason, at],
                ),
                None => conn.execute(
                    "UPDATE outbox SET status = 'failed', reason = ?2, sent_at = ?3, updated_at = ?3 WHERE id = ?1",
                    params![id, reason, at],
                ),
            }
            .map_err(db_err)?;
            if *flag_invalid {
                flag_invalid_number(conn, ContactId::new(contact), detail, now)?;
            }
        }
    }
    Ok(())
}

fn flag_invalid_number(
    conn: &Connection,
    contact: ContactId,
    detail: &str,
    now: Timestamp,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO contact_flags (contact_id, invalid_number, at) VALUES (?1, ?2, ?3)
         ON CONFLICT (contact_id) DO UPDATE SET invalid_number = excluded.invalid_number, at = excluded.at",
        params![contact.get(), detail, to_millis(now)],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn record_receipt(
    conn: &Connection,
    provider_id: &str,
    status: OutboxStatus,
    at: Timestamp,
    detail: Option<&str>,
    flag_invalid: bool,
    rules: &Rules,
) -> StoreResult<bool> {
    let row: Option<(OutboxId, String, Option<i64>, i64)> = conn
        .query_row(
            "SELECT id, status, message_id, contact_id FROM outbox WHERE provider_id = ?1",
            [provider_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db_err)?;
    let Some((id, current, message, contact)) = row else {
        return Ok(false);
    };
    let current: OutboxStatus = parse_column("outbox status", &current)?;
    if current.advances_to(status) {
        conn.execute(
            "UPDATE outbox SET status = ?2, reason = COALESCE(?3, reason), updated_at = ?4 WHERE id = ?1",
            params![id, status.as_str(), detail, to_millis(at)],
        )
        .map_err(db_err)?;
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
        messages::add_status(conn, MessageId::new(message), &change, rules)?;
    }
    if flag_invalid {
        flag_invalid_number(
            conn,
            ContactId::new(contact),
            detail.unwrap_or("invalid number"),
            at,
        )?;
    }
    Ok(true)
}

pub(crate) fn account_sends(
    conn: &Connection,
    account: AccountId,
    since: Timestamp,
) -> StoreResult<Vec<Timestamp>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT sent_at FROM outbox WHERE account_id = ?1 AND sent_at > ?2 ORDER BY sent_at",
        )
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![account.get(), to_millis(since)])
        .map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(from_millis(row.get(0).map_err(db_err)?)?);
    }
    Ok(out)
}

pub(crate) fn identical_sent_at(
    conn: &Connection,
    hash: &str,
    other_than: AccountId,
    since: Timestamp,
) -> StoreResult<Option<Timestamp>> {
    let ms: Option<i64> = conn
        .query_row(
            // One index seek per other account to its latest send of this content: a broadcast
            // of one text puts many rows of its own account in the window, never read here.
            "SELECT MAX((SELECT MAX(o.sent_at) FROM outbox o
                         WHERE o.content_hash = ?1 AND o.account_id = a.id AND o.sent_at > ?3))
             FROM accounts a WHERE a.id != ?2",
            params![hash, other_than.get(), to_millis(since)],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    ms.map(from_millis).transpose()
}

pub(crate) fn claim_account(
    conn: &Connection,
    account: AccountId,
    node: &str,
    until: Timestamp,
    now: Timestamp,
) -> StoreResult<Option<Takeover>> {
    let lease: Option<(Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT lease_node, lease_until FROM accounts WHERE id = ?1",
            [account.get()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(db_err)?;
    let Some((holder, held_until)) = lease else {
        return Err(StoreError::not_found("account", account));
    };
    let live = held_until.is_some_and(|u| u > to_millis(now));
    if live && holder.as_deref() != Some(node) {
        return Ok(None);
    }
    conn.execute(
        "UPDATE accounts SET lease_node = ?2, lease_until = ?3 WHERE id = ?1",
        params![account.get(), node, to_millis(until)],
    )
    .map_err(db_err)?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "UPDATE outbox SET status = 'unknown', reason = 'in flight when its dispatcher stopped; not resent', updated_at = ?2
             WHERE account_id = ?1 AND status = 'sending' RETURNING {ENTRY_COLUMNS}"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![account.get(), to_millis(now)])
        .map_err(db_err)?;
    let mut unknown = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        unknown.push(entry_from_row(row)?);
    }
    unknown.sort_by_key(|e| e.id);
    Ok(Some(Takeover { unknown }))
}

pub(crate) fn renew_account(
    conn: &Connection,
    account: AccountId,
    node: &str,
    until: Timestamp,
) -> StoreResult<bool> {
    let n = conn
        .execute(
            "UPDATE accounts SET lease_until = ?3 WHERE id = ?1 AND lease_node = ?2",
            params![account.get(), node, to_millis(until)],
        )
        .map_err(db_err)?;
    Ok(n == 1)
}

pub(crate) fn release_account(
    conn: &Connection,
    account: AccountId,
    node: &str,
) -> StoreResult<()> {
    conn.execute(
        "UPDATE accounts SET lease_node = NULL, lease_until = NULL WHERE id = ?1 AND lease_node = ?2",
        params![account.get(), node],
    )
    .map_err(db_err)?;
    Ok(())
}

const ENTRY_COLUMNS: &str = "id, key, account_id, contact_id, broadcast_id, status, attempts, not_before, sent_text, provider_id, reason, sent_at";

fn entry_from_row(row: &Row<'_>) -> StoreResult<OutboxEntry> {
    Ok(OutboxEntry {
        id: row.get(0).map_err(db_err)?,
        key: row.get(1).map_err(db_err)?,
        account: AccountId::new(row.get(2).map_err(db_err)?),
        contact: ContactId::new(row.get(3).map_err(db_err)?),
        broadcast: row.get(4).map_err(db_err)?,
        status: parse_column("outbox status", &row.get::<_, String>(5).map_err(db_err)?)?,
        attempts: row.get::<_, i64>(6).map_err(db_err)?.max(0) as u32,
        not_before: from_millis(row.get(7).map_err(db_err)?)?,
        text: row.get(8).map_err(db_err)?,
        provider_id: row.get(9).map_err(db_err)?,
        reason: row.get(10).map_err(db_err)?,
        sent_at: row
            .get::<_, Option<i64>>(11)
            .map_err(db_err)?
            .map(from_millis)
            .transpose()?,
    })
}

pub(crate) fn list_outbox(
    conn: &Connection,
    broadcast: Option<BroadcastId>,
    page: PageRequest,
) -> StoreResult<Page<OutboxEntry>> {
    let limit = page.effective_limit();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox WHERE broadcast_id IS ?1 AND id > ?2 ORDER BY id LIMIT ?3"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            broadcast,
            page.after.unwrap_or(0),
            i64::from(limit) + 1
        ])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(entry_from_row(row)?);
    }
    Ok(Page::from_overfetch(items, limit, |e| e.id))
}

/// A merge's share of the outbox: the absorbed contact's messages and number flag move to the
/// survivor (their rows reference the contact the merge deletes). A queued message of a
/// broadcast the survivor also receives is cancelled rather than sent twice.
pub(crate) fn merge_contacts(
    conn: &Connection,
    keep: ContactId,
    absorb: ContactId,
    now: Timestamp,
) -> StoreResult<()> {
    let (k, a) = (keep.get(), absorb.get());
    conn.execute(
        "UPDATE outbox SET status = 'cancelled', reason = 'merged into contact ' || ?1, updated_at = ?3
         WHERE contact_id = ?2 AND status = 'queued' AND broadcast_id IN
           (SELECT broadcast_id FROM outbox WHERE contact_id = ?1 AND broadcast_id IS NOT NULL)",
        params![k, a, to_millis(now)],
    )
    .map_err(db_err)?;
    conn.execute(
        "UPDATE outbox SET contact_id = ?1 WHERE contact_id = ?2",
        params![k, a],
    )
    .map_err(db_err)?;
    // The survivor's own flag stays; otherwise it inherits the absorbed one's.
    conn.execute(
        "INSERT INTO contact_flags (contact_id, invalid_number, at)
         SELECT ?1, invalid_number, at FROM contact_flags WHERE contact_id = ?2
         ON CONFLICT (contact_id) DO NOTHING",
        params![k, a],
    )
    .map_err(db_err)?;
    conn.execute("DELETE FROM contact_flags WHERE contact_id = ?1", [a])
        .map_err(db_err)?;
    Ok(())
}
