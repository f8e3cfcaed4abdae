//! Erasing a contact (SPEC 7, the right to be forgotten): everything the store keeps about a
//! person, in one transaction, leaving counts behind for the audit log.

use stoke_core::ContactId;
use stoke_store::Erased;

use crate::{Fail, Res, Tx, contacts, execute, not_found, query};

/// Tables keyed by contact whose rows go without being counted, children before parents:
/// conversations after the messages in them, handles last before the contact itself.
const UNCOUNTED: [&str; 5] = [
    "conversations",
    "tags",
    // The engine's state, and with it the contact's place in the due-time index.
    "contact_states",
    "contact_flags",
    // Consents and custom values live in the contact's profile document; handles here.
    "contact_handles",
];

/// Erases the contact `id` is now (following merges) and the contacts merged into it: one
/// statement per table over every id at once. Rows go children first, so that every foreign
/// key holds at each step.
pub(crate) async fn erase_contact(tx: &Tx<'_>, id: ContactId) -> Res<Erased> {
    let survivor = lock_survivor(tx, id).await?;
    // A merge moves everything to the survivor, so the absorbed ids should own nothing any
    // more; they are included anyway so that a row a merge missed cannot outlive the erasure.
    let mut ids = vec![survivor.get()];
    for row in query(
        tx,
        "SELECT absorbed_id FROM contact_merges WHERE into_id = $1",
        &[&survivor.get()],
    )
    .await?
    {
        ids.push(row.try_get(0)?);
    }
    let by_contact = async |table: &str| -> Res<u64> {
        execute(
            tx,
            &format!("DELETE FROM {table} WHERE contact_id = ANY($1)"),
            &[&ids],
        )
        .await
    };

    execute(
        tx,
        "DELETE FROM message_statuses WHERE message_id IN
           (SELECT id FROM messages WHERE contact_id = ANY($1))",
        &[&ids],
    )
    .await?;
    // Before messages: a sent row references the message it became.
    let outbox = by_contact("outbox").await?;
    let messages = by_contact("messages").await?;
    let events = by_contact("events").await?;
    let tag_changes = by_contact("tag_changes").await?;
    let notes = by_contact("notes").await?;
    let tasks = by_contact("tasks").await?;
    for table in UNCOUNTED {
        by_contact(table).await?;
    }
    // The redirects go too: a merged-away id is then as unknown as the survivor's.
    execute(
        tx,
        "DELETE FROM contact_merges WHERE into_id = $1 OR absorbed_id = ANY($2)",
        &[&survivor.get(), &ids],
    )
    .await?;
    execute(tx, "DELETE FROM contacts WHERE id = $1", &[&survivor.get()]).await?;
    Ok(Erased {
        contacts: ids.len() as u64,
        messages,
        events,
        tag_changes,
        notes,
        tasks,
        outbox,
    })
}

/// Resolves a contact through merges and locks its row for deletion (`FOR UPDATE`, which also
/// waits for every writer holding it, an ingest or a merge); a merge that commits in between is
/// followed.
async fn lock_survivor(tx: &Tx<'_>, id: ContactId) -> Res<ContactId> {
    for _ in 0..3 {
        let resolved = contacts::resolve(tx, id)
            .await?
            .ok_or_else(|| not_found("contact", id))?;
        let locked = query(
            tx,
            "SELECT id FROM contacts WHERE id = $1 FOR UPDATE",
            &[&resolved.get()],
        )
        .await?;
        if !locked.is_empty() {
            return Ok(resolved);
        }
    }
    Err(Fail::Raced("a contact being merged"))
}
