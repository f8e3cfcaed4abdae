//! The audit log: appended to and read, never changed.

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, params};
use stoke_store::codec::{from_millis, to_millis};
use stoke_store::{AuditDraft, AuditEntry, Page, PageRequest, StoreResult};

use crate::db_err;

pub(crate) fn append(conn: &Connection, e: &AuditDraft, at: Timestamp) -> StoreResult<i64> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![to_millis(at), e.actor, e.action, e.subject, e.before, e.after],
    )
    .map_err(db_err)?;
    Ok(conn.last_insert_rowid())
}

pub(crate) fn list(conn: &Connection, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
    let limit = page.effective_limit();
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, at, actor, action, subject, before, after FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![page.after.unwrap_or(0), i64::from(limit) + 1])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(AuditEntry {
            id: row.get(0).map_err(db_err)?,
            at: from_millis(row.get(1).map_err(db_err)?)?,
            actor: row.get(2).map_err(db_err)?,
            action: row.get(3).map_err(db_err)?,
            subject: row.get(4).map_err(db_err)?,
            before: row.get(5).map_err(db_err)?,
            after: row.get(6).map_err(db_err)?,
        });
    }
    Ok(Page::from_overfetch(items, limit, |e| e.id))
}
