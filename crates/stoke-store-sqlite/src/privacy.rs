//! Erasing a contact (SPEC 7, the right to be forgotten): everything the store keeps about a
//! person, in one transaction, leaving counts behind for the audit log.

use r2d2_sqlite::rusqlite::Connection;
use stoke_core::ContactId;
use stoke_store::{Erased, StoreError, StoreResult};

use crate::{contacts, db_err};

/// The survivor (`?1`) and every id merged into it. A merge moves everything to the survivor,
/// so the absorbed ids should own nothing any more; they are included anyway so that a row a
/// merge missed cannot outlive the erasure.
const ERASED_IDS: &str =
    "(SELECT ?1 UNION ALL SELECT absorbed_id FROM contact_merges WHERE into_id = ?1)";

/// Erases the contact `id` is now (following merges) and the contacts merged into it. Rows go
/// children first, so that every foreign key holds at each step.
pub(crate) fn erase_contact(conn: &Connection, id: ContactId) -> StoreResult<Erased> {
    let survivor =
        contacts::resolve(conn, id)?.ok_or_else(|| StoreError::not_found("contact", id))?;
    let absorbed: u64 = conn
        .query_row(
            "SELECT COUNT(*) FROM contact_merges WHERE into_id = ?1",
            [survivor.get()],
            |r| r.get::<_, i64>(0),
        )
        .map_err(db_err)?
        .max(0)
        .unsigned_abs();
    let delete = |sql: String| -> StoreResult<u64> {
        conn.execute(&sql, [survivor.get()])
            .map(|n| n as u64)
            .map_err(db_err)
    };
    let by_contact = |table: &str| {
        delete(format!(
            "DELETE FROM {table} WHERE contact_id IN {ERASED_IDS}"
        ))
    };

    delete(format!(
        "DELETE FROM message_statuses WHERE message_id IN
           (SELECT id FROM messages WHERE contact_id IN {ERASED_IDS})"
    ))?;
    // Before messages: a sent row references the message it became.
    let outbox = by_contact("outbox")?;
    let messages = by_contact("messages")?;
    by_contact("conversations")?;
    let events = by_contact("events")?;
    by_contact("tags")?;
    let tag_changes = by_contact("tag_changes")?;
    // The engine's state, and with it the contact's place in the due-time index.
    by_contact("contact_states")?;
    let notes = by_contact("notes")?;
    let tasks = by_contact("tasks")?;
    by_contact("contact_flags")?;
    // Handles, consents and custom values: the handles table and the profile document.
    by_contact("contact_handles")?;
    // The redirects go too: a merged-away id is then as unknown as the survivor's.
    delete("DELETE FROM contact_merges WHERE into_id = ?1 OR absorbed_id = ?1".to_owned())?;
    let contacts = delete("DELETE FROM contacts WHERE id = ?1".to_owned())?;
    if contacts == 0 {
        // A redirect to a contact that no longer exists: nothing to erase (and the transaction,
        // with the redirect's removal, rolls back).
        return Err(StoreError::not_found("contact", id));
    }
    Ok(Erased {
        contacts: contacts + absorbed,
        messages,
        events,
        tag_changes,
        notes,
        tasks,
        outbox,
    })
}
