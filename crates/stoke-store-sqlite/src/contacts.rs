//! Contacts, their handles, merges and the contact import.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, OptionalExtension, Row, params};
use stoke_core::{
    Contact, ContactDraft, ContactId, ContactKind, Country, CustomValue, Evidence, Handle,
    Language, Tag, TagChange, TagChangeKind, TagFamily, TeamId, TimeZoneName, UserId,
};
use stoke_store::codec::{ProfileDoc, from_millis, to_millis};
use stoke_store::search::contact_search_text;
use stoke_store::{ContactImportOutcome, Page, PageRequest, Scope, StoreError, StoreResult};

use crate::{db_err, people};

pub(crate) const CONTACT_COLUMNS: &str = "id, kind, name, country, city, language, time_zone, owner_id, team_id, profile, created_at, updated_at";

pub(crate) fn contact_from_row(row: &Row<'_>) -> StoreResult<Contact> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Backend(format!("stored contact {what} is unreadable: {e}"))
    };
    let id = ContactId::new(row.get(0).map_err(db_err)?);
    let mut contact = Contact::new(id, from_millis(row.get(10).map_err(db_err)?)?);
    contact.updated_at = from_millis(row.get(11).map_err(db_err)?)?;
    let kind: String = row.get(1).map_err(db_err)?;
    contact.kind = kind.parse::<ContactKind>().map_err(|e| bad("kind", &e))?;
    contact.name = row.get(2).map_err(db_err)?;
    let country: Option<String> = row.get(3).map_err(db_err)?;
    contact.country = country
        .map(|c| Country::parse(&c))
        .transpose()
        .map_err(|e| bad("country", &e))?;
    contact.city = row.get(4).map_err(db_err)?;
    let language: Option<String> = row.get(5).map_err(db_err)?;
    contact.language = language
        .map(|l| Language::parse(&l))
        .transpose()
        .map_err(|e| bad("language", &e))?;
    let zone: Option<String> = row.get(6).map_err(db_err)?;
    contact.time_zone = zone
        .map(|z| TimeZoneName::parse(&z))
        .transpose()
        .map_err(|e| bad("time zone", &e))?;
    contact.owner = row
        .get::<_, Option<i64>>(7)
        .map_err(db_err)?
        .map(stoke_core::UserId::new);
    contact.team = row
        .get::<_, Option<i64>>(8)
        .map_err(db_err)?
        .map(stoke_core::TeamId::new);
    let profile: String = row.get(9).map_err(db_err)?;
    ProfileDoc::decode_into(&profile, &mut contact)?;
    Ok(contact)
}

/// Follows a merge redirect: the id of the contact that `id` is now, or `None` if it never was.
pub(crate) fn resolve(conn: &Connection, id: ContactId) -> StoreResult<Option<ContactId>> {
    let exists = conn
        .prepare_cached("SELECT 1 FROM contacts WHERE id = ?1")
        .and_then(|mut s| s.exists([id.get()]))
        .map_err(db_err)?;
    if exists {
        return Ok(Some(id));
    }
    conn.prepare_cached("SELECT into_id FROM contact_merges WHERE absorbed_id = ?1")
        .and_then(|mut s| s.query_row([id.get()], |r| r.get::<_, i64>(0)).optional())
        .map(|o| o.map(ContactId::new))
        .map_err(db_err)
}

pub(crate) fn load(conn: &Connection, id: ContactId) -> StoreResult<Contact> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ?1"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([id.get()]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(row) => contact_from_row(row),
        None => Err(StoreError::not_found("contact", id)),
    }
}

pub(crate) fn find_by_handle(conn: &Connection, handle: &Handle) -> StoreResult<Option<ContactId>> {
    conn.prepare_cached("SELECT contact_id FROM contact_handles WHERE kind = ?1 AND value = ?2")
        .and_then(|mut s| {
            s.query_row(params![handle.kind(), handle.key()], |r| r.get::<_, i64>(0))
                .optional()
        })
        .map(|o| o.map(ContactId::new))
        .map_err(db_err)
}

/// Refuses handles that belong to a contact other than `owner`.
fn check_handles_free(
    conn: &Connection,
    owner: Option<ContactId>,
    handles: &[Handle],
) -> StoreResult<()> {
    for handle in handles {
        if let Some(holder) = find_by_handle(conn, handle)?
            && Some(holder) != owner
        {
            return Err(StoreError::Conflict {
                entity: "contact",
                key: holder.to_string(),
                reason: format!(
                    "the {} {} already belongs to contact {holder}",
                    handle.kind(),
                    handle.key()
                ),
            });
        }
    }
    Ok(())
}

/// Defines the custom fields a contact uses that the workspace has not defined yet (an import's
/// unknown column), typed by the value; existing definitions stay as they are.
fn define_used_custom_fields(conn: &Connection, contact: &Contact) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO custom_fields (name, field_type, choices) VALUES (?1, ?2, '')",
        )
        .map_err(db_err)?;
    for (name, value) in &contact.custom {
        let field_type = match value {
            CustomValue::Text(_) => "text",
            CustomValue::Number(_) => "number",
            CustomValue::Date(_) => "date",
            // A choice value only exists for a defined choice field; text keeps the value usable.
            CustomValue::Choice(_) => "text",
            CustomValue::YesNo(_) => "yes/no",
        };
        stmt.execute(params![name, field_type]).map_err(db_err)?;
    }
    Ok(())
}

/// Writes a contact's row: a new one when `id` is `None`, else the row with that id (callers
/// have loaded it first, so the upsert never creates a contact by accident). Its search words
/// are derived here, the one place a contact's row is written; triggers index them.
fn write_row(
    conn: &Connection,
    id: Option<ContactId>,
    contact: &Contact,
) -> StoreResult<ContactId> {
    conn.prepare_cached(
        "INSERT INTO contacts (id, kind, name, country, city, language, time_zone, owner_id, team_id, profile, created_at, updated_at, search)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name, country = excluded.country,
           city = excluded.city, language = excluded.language, time_zone = excluded.time_zone,
           owner_id = excluded.owner_id, team_id = excluded.team_id, profile = excluded.profile,
           created_at = excluded.created_at, updated_at = excluded.updated_at, search = excluded.search",
    )
    .and_then(|mut s| {
        s.execute(params![
            id.map(ContactId::get),
            contact.kind.as_str(),
            contact.name,
            contact.country.map(|c| c.to_string()),
            contact.city,
            contact.language.as_ref().map(|l| l.as_str()),
            contact.time_zone.as_ref().map(|z| z.as_str()),
            contact.owner.map(|u| u.get()),
            contact.team.map(|t| t.get()),
            ProfileDoc::encode(contact),
            to_millis(contact.created_at),
            to_millis(contact.updated_at),
            contact_search_text(contact),
        ])
    })
    .map_err(db_err)?;
    let id = id.unwrap_or_else(|| ContactId::new(conn.last_insert_rowid()));
    define_used_custom_fields(conn, contact)?;
    Ok(id)
}

fn insert_handles(conn: &Connection, id: ContactId, handles: &[Handle]) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO contact_handles (kind, value, contact_id) VALUES (?1, ?2, ?3)",
        )
        .map_err(db_err)?;
    for handle in handles {
        stmt.execute(params![handle.kind(), handle.key(), id.get()])
            .map_err(db_err)?;
    }
    Ok(())
}

/// Inserts a new contact with its handles; the handles must be free.
fn insert(conn: &Connection, contact: &Contact) -> StoreResult<ContactId> {
    let handles = contact.handles();
    check_handles_free(conn, None, &handles)?;
    let id = write_row(conn, None, contact)?;
    insert_handles(conn, id, &handles)?;
    Ok(id)
}

pub(crate) fn create(
    conn: &Connection,
    draft: &ContactDraft,
    now: Timestamp,
) -> StoreResult<Contact> {
    if draft.handles().is_empty() && draft.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(StoreError::Invalid {
            field: "contact",
            reason: "a contact needs a name, a phone or an e-mail".into(),
        });
    }
    let owners = owners_of(conn, std::slice::from_ref(draft))?;
    let mut contact = Contact::new(ContactId::new(0), now);
    stoke_store::codec::apply_draft(draft, &owners, &mut contact);
    let id = insert(conn, &contact)?;
    add_draft_extras(conn, id, draft, now)?;
    load(conn, id)
}

/// The users the drafts assign contacts to, by e-mail key. An e-mail no user has fails the
/// whole call before anything is written: an assignment is never silently dropped.
fn owners_of(conn: &Connection, drafts: &[ContactDraft]) -> StoreResult<BTreeMap<String, UserId>> {
    let mut owners = BTreeMap::new();
    for email in drafts.iter().filter_map(|d| d.owner.as_ref()) {
        let key = email.dedup_key();
        if owners.contains_key(&key) {
            continue;
        }
        match people::find_user_by_email(conn, &key)? {
            Some(user) => {
                owners.insert(key, user.id);
            }
            None => {
                return Err(StoreError::Invalid {
                    field: "owner",
                    reason: format!("no user has the e-mail {email}"),
                });
            }
        }
    }
    Ok(owners)
}

/// Writes a contact's columns and re-indexes its handles.
pub(crate) fn save(conn: &Connection, contact: &Contact) -> StoreResult<()> {
    let handles = contact.handles();
    check_handles_free(conn, Some(contact.id), &handles)?;
    write_row(conn, Some(contact.id), contact)?;
    conn.prepare_cached("DELETE FROM contact_handles WHERE contact_id = ?1")
        .and_then(|mut s| s.execute([contact.id.get()]))
        .map_err(db_err)?;
    insert_handles(conn, contact.id, &handles)
}

/// The condition a scope puts on `contacts`, and the values of its parameters ?3 and ?4 (every
/// condition names both: a statement is bound with exactly the parameters it names).
pub(crate) fn scope_filter(scope: Scope) -> (&'static str, Option<i64>, Option<i64>) {
    match scope {
        Scope::Everything => ("(?3 IS NULL AND ?4 IS NULL)", None, None),
        Scope::Team(team) => (
            "(?4 IS NULL AND (team_id = ?3 OR owner_id IN (SELECT id FROM users WHERE team_id = ?3)))",
            Some(team.get()),
            None,
        ),
        Scope::Agent { user, team } => (
            "(owner_id = ?3 OR (owner_id IS NULL AND ?4 IS NOT NULL AND team_id = ?4))",
            Some(user.get()),
            team.map(TeamId::get),
        ),
    }
}

pub(crate) fn list(
    conn: &Connection,
    scope: Scope,
    page: PageRequest,
) -> StoreResult<Page<Contact>> {
    let limit = page.effective_limit();
    let (filter, a, b) = scope_filter(scope);
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id > ?1 AND {filter} ORDER BY id LIMIT ?2"
        ))
        .map_err(db_err)?;
    let mut rows = stmt
        .query(params![
            page.after.unwrap_or(i64::MIN),
            i64::from(limit) + 1,
            a,
            b
        ])
        .map_err(db_err)?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        items.push(contact_from_row(row)?);
    }
    Ok(Page::from_overfetch(items, limit, |c| c.id.get()))
}

/// Whether a scope sees a (resolved) contact.
pub(crate) fn visible(conn: &Connection, scope: Scope, id: ContactId) -> StoreResult<bool> {
    let (filter, a, b) = scope_filter(scope);
    // ?2 is bound to nothing: the filter's parameters are numbered ?3 and ?4, as in `list`.
    conn.prepare_cached(&format!(
        "SELECT 1 FROM contacts WHERE id = ?1 AND ?2 IS NULL AND {filter}"
    ))
    .and_then(|mut s| s.exists(params![id.get(), Option::<i64>::None, a, b]))
    .map_err(db_err)
}

pub(crate) fn ids(conn: &Connection, page: PageRequest) -> StoreResult<Page<ContactId>> {
    let limit = page.effective_limit();
    let mut stmt = conn
        .prepare_cached("SELECT id FROM contacts WHERE id > ?1 ORDER BY id LIMIT ?2")
        .map_err(db_err)?;
    let items: Vec<ContactId> = stmt
        .query_map(
            params![page.after.unwrap_or(i64::MIN), i64::from(limit) + 1],
            |r| r.get::<_, i64>(0),
        )
        .map_err(db_err)?
        .map(|r| r.map(ContactId::new).map_err(db_err))
        .collect::<StoreResult<_>>()?;
    Ok(Page::from_overfetch(items, limit, |c| c.get()))
}

/// Folds `absorb` into `keep` and everything that pointed at `absorb` with it.
pub(crate) fn merge(
    conn: &Connection,
    keep: ContactId,
    absorb: ContactId,
    now: Timestamp,
) -> StoreResult<Contact> {
    let keep = resolve(conn, keep)?.ok_or_else(|| StoreError::not_found("contact", keep))?;
    let absorb = resolve(conn, absorb)?.ok_or_else(|| StoreError::not_found("contact", absorb))?;
    if keep == absorb {
        return Err(StoreError::Invalid {
            field: "contact",
            reason: format!("contact {keep} cannot be merged into itself"),
        });
    }
    let mut survivor = load(conn, keep)?;
    let absorbed = load(conn, absorb)?;
    survivor.absorb(absorbed);
    survivor.updated_at = now;

    // Conversations: one per (contact, account). Where both have one on the same account, the
    // absorbed one's messages join the survivor's and the empty conversation goes.
    let pairs: Vec<(i64, i64)> = conn
        .prepare_cached(
            "SELECT a.id, k.id FROM conversations a JOIN conversations k
             ON k.account_id = a.account_id AND k.contact_id = ?1 WHERE a.contact_id = ?2",
        )
        .and_then(|mut s| {
            s.query_map(params![keep.get(), absorb.get()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect()
        })
        .map_err(db_err)?;
    for (from, into) in pairs {
        conn.execute(
            "UPDATE messages SET conversation_id = ?2 WHERE conversation_id = ?1",
            params![from, into],
        )
        .map_err(db_err)?;
        conn.execute(
            "UPDATE conversations SET last_message_at = (SELECT MAX(at) FROM messages WHERE conversation_id = ?1) WHERE id = ?1",
            [into],
        )
        .map_err(db_err)?;
        conn.execute("DELETE FROM conversations WHERE id = ?1", [from])
            .map_err(db_err)?;
    }
    crate::outbox::merge_contacts(conn, keep, absorb, now)?;
    for table in [
        "conversations",
        "messages",
        "events",
        "tag_changes",
        "notes",
        "tasks",
    ] {
        conn.execute(
            &format!("UPDATE {table} SET contact_id = ?1 WHERE contact_id = ?2"),
            params![keep.get(), absorb.get()],
        )
        .map_err(db_err)?;
    }

    // Tags: the survivor holds the union; where both hold a value of an exclusive family, or
    // the same tag, the more recently set one stays.
    let mut tags = people::list_tags(conn, keep)?;
    for tag in people::list_tags(conn, absorb)? {
        let clash = tags.iter().position(|t| {
            t.family == tag.family && (t.value == tag.value || tag.family.is_exclusive())
        });
        match clash {
            Some(i) if tags[i].set_at >= tag.set_at => {}
            Some(i) => tags[i] = tag,
            None => tags.push(tag),
        }
    }
    conn.execute(
        "DELETE FROM tags WHERE contact_id IN (?1, ?2)",
        params![keep.get(), absorb.get()],
    )
    .map_err(db_err)?;
    for tag in &tags {
        people::upsert_tag(conn, keep, tag)?;
    }

    // The engine's memory of either is now partial: dropping it makes the next event replay
    // the merged history.
    conn.execute(
        "DELETE FROM contact_states WHERE contact_id IN (?1, ?2)",
        params![keep.get(), absorb.get()],
    )
    .map_err(db_err)?;
    conn.execute(
        "DELETE FROM contact_handles WHERE contact_id = ?1",
        [absorb.get()],
    )
    .map_err(db_err)?;
    conn.execute("DELETE FROM contacts WHERE id = ?1", [absorb.get()])
        .map_err(db_err)?;
    conn.execute(
        "UPDATE contact_merges SET into_id = ?1 WHERE into_id = ?2",
        params![keep.get(), absorb.get()],
    )
    .map_err(db_err)?;
    conn.execute(
        "INSERT INTO contact_merges (absorbed_id, into_id, at) VALUES (?1, ?2, ?3)",
        params![absorb.get(), keep.get(), to_millis(now)],
    )
    .map_err(db_err)?;
    save(conn, &survivor)?;
    load(conn, keep)
}

/// Static tags and notes a draft carries, added once each. Returns whether anything was added.
fn add_draft_extras(
    conn: &Connection,
    id: ContactId,
    draft: &ContactDraft,
    now: Timestamp,
) -> StoreResult<bool> {
    let mut added = false;
    for value in &draft.tags {
        let exists = conn
            .prepare_cached(
                "SELECT 1 FROM tags WHERE contact_id = ?1 AND family = ?2 AND value = ?3",
            )
            .and_then(|mut s| s.exists(params![id.get(), TagFamily::Static.as_str(), value]))
            .map_err(db_err)?;
        if !exists {
            let tag = Tag {
                family: TagFamily::Static,
                value: value.clone(),
                colour: "grey".into(),
                rule: "import".into(),
                evidence: Evidence {
                    message: None,
                    event: None,
                    detail: "set by an import".into(),
                },
                set_at: now,
            };
            people::apply_tag_changes(
                conn,
                id,
                &[TagChange {
                    kind: TagChangeKind::Set,
                    tag,
                }],
            )?;
            added = true;
        }
    }
    for note in &draft.notes {
        let exists = conn
            .prepare_cached("SELECT 1 FROM notes WHERE contact_id = ?1 AND body = ?2")
            .and_then(|mut s| s.exists(params![id.get(), note]))
            .map_err(db_err)?;
        if !exists {
            people::add_note(conn, id, None, note, now)?;
            added = true;
        }
    }
    Ok(added)
}

/// Imports a batch. Each touched contact is changed in memory first and written once at the end
/// of the batch, and only if its final state differs from what was stored: a file that names the
/// same person twice, or a re-import of the same file, writes nothing that is already there.
pub(crate) fn import(
    conn: &Connection,
    drafts: &[ContactDraft],
    now: Timestamp,
) -> StoreResult<ContactImportOutcome> {
    let mut outcome = ContactImportOutcome::default();
    // contact id -> (as stored, as the batch leaves it, whether tags or notes were added)
    let mut touched: BTreeMap<ContactId, (Contact, Contact, bool)> = BTreeMap::new();
    let mut created: BTreeSet<ContactId> = BTreeSet::new();
    let owners = owners_of(conn, drafts)?;
    for draft in drafts {
        let handles = draft.handles();
        if handles.is_empty() {
            return Err(StoreError::Invalid {
                field: "contact",
                reason: "an imported contact needs a phone or an e-mail".into(),
            });
        }
        let mut matches = BTreeSet::new();
        for handle in &handles {
            if let Some(id) = find_by_handle(conn, handle)? {
                matches.insert(id);
            }
        }
        let mut ids = matches.into_iter();
        let Some(keep) = ids.next() else {
            let mut contact = Contact::new(ContactId::new(0), now);
            stoke_store::codec::apply_draft(draft, &owners, &mut contact);
            let id = insert(conn, &contact)?;
            add_draft_extras(conn, id, draft, now)?;
            created.insert(id);
            outcome.created += 1;
            continue;
        };
        let others: Vec<ContactId> = ids.collect();
        if !others.is_empty() {
            // A merge works on stored rows: write what the batch changed so far first.
            for id in std::iter::once(keep).chain(others.iter().copied()) {
                if let Some((stored, working, extras)) = touched.remove(&id) {
                    flush(conn, stored, working, extras, now, &created, &mut outcome)?;
                }
            }
            for other in others {
                merge(conn, keep, other, now)?;
                outcome.merged += 1;
            }
        }
        let entry = match touched.entry(keep) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let stored = load(conn, keep)?;
                e.insert((stored.clone(), stored, false))
            }
        };
        // Handles the draft adds must be indexed before the next row looks them up.
        let before = entry.1.handles();
        stoke_store::codec::apply_draft(draft, &owners, &mut entry.1);
        let new_handles: Vec<Handle> = entry
            .1
            .handles()
            .into_iter()
            .filter(|h| !before.contains(h))
            .collect();
        check_handles_free(conn, Some(keep), &new_handles)?;
        insert_handles(conn, keep, &new_handles)?;
        entry.2 |= add_draft_extras(conn, keep, draft, now)?;
    }
    for (_, (stored, working, extras)) in touched {
        flush(conn, stored, working, extras, now, &created, &mut outcome)?;
    }
    Ok(outcome)
}

/// Writes one contact an import touched, if it changed, and counts it.
fn flush(
    conn: &Connection,
    stored: Contact,
    mut working: Contact,
    extras: bool,
    now: Timestamp,
    created: &BTreeSet<ContactId>,
    outcome: &mut ContactImportOutcome,
) -> StoreResult<()> {
    let changed = working != stored;
    if changed {
        working.updated_at = now;
        save(conn, &working)?;
    }
    if created.contains(&working.id) {
        return Ok(());
    }
    if changed || extras {
        outcome.updated += 1;
    } else {
        outcome.unchanged += 1;
    }
    Ok(())
}

/// Creates a contact known only by a handle (a message from a new number).
pub(crate) fn create_from_handle(
    conn: &Connection,
    handle: &Handle,
    now: Timestamp,
) -> StoreResult<ContactId> {
    let contact = Contact::from_handle(ContactId::new(0), handle, now);
    insert(conn, &contact)
}
