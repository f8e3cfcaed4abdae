//! The audit log: appended to and read, never changed.

use jiff::Timestamp;
use stoke_store::codec::{from_millis, to_millis};
use stoke_store::{AuditDraft, AuditEntry, Page, PageRequest};

use crate::{Res, Tx, query};

pub(crate) async fn append(tx: &Tx<'_>, e: &AuditDraft, at: Timestamp) -> Res<i64> {
    let rows = query(
        tx,
        "INSERT INTO audit_log (at, actor, action, subject, before, after)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[
            &to_millis(at),
            &e.actor,
            &e.action,
            &e.subject,
            &e.before,
            &e.after,
        ],
    )
    .await?;
    let id = match rows.first() {
        Some(row) => row.try_get(0)?,
        None => 0,
    };
    Ok(id)
}

pub(crate) async fn list(tx: &Tx<'_>, page: PageRequest) -> Res<Page<AuditEntry>> {
    let limit = page.effective_limit();
    let rows = query(
        tx,
        "SELECT id, at, actor, action, subject, before, after FROM audit_log
         WHERE id > $1 ORDER BY id LIMIT $2",
        &[&page.after.unwrap_or(0), &(i64::from(limit) + 1)],
    )
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        items.push(AuditEntry {
            id: row.try_get(0)?,
            at: from_millis(row.try_get(1)?)?,
            actor: row.try_get(2)?,
            action: row.try_get(3)?,
            subject: row.try_get(4)?,
            before: row.try_get(5)?,
            after: row.try_get(6)?,
        });
    }
    Ok(Page::from_overfetch(items, limit, |e| e.id))
}
