//! Contacts, their handles, merges and the contact import.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use stoke_core::{
    Contact, ContactDraft, ContactId, ContactKind, Country, CustomValue, Handle, Language,
    TagChange, TagChangeKind, TimeZoneName, UserId,
};
use stoke_store::codec::{ProfileDoc, from_millis, to_millis};
use stoke_store::search::contact_search_text;
use stoke_store::{ContactImportOutcome, Page, PageRequest, Scope, StoreError};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use crate::people::{self, TagWrites};
use crate::{Fail, Res, Tx, allocate_ids, execute, not_found, query, query_opt};

pub(crate) const CONTACT_COLUMNS: &str = "id, kind, name, country, city, language, time_zone, owner_id, team_id, profile, created_at, updated_at";

pub(crate) fn contact_from_row(row: &Row) -> Res<Contact> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Fail::Store(StoreError::Backend(format!(
            "stored contact {what} is unreadable: {e}"
        )))
    };
    let id = ContactId::new(row.try_get(0)?);
    let mut contact = Contact::new(id, from_millis(row.try_get(10)?)?);
    contact.updated_at = from_millis(row.try_get(11)?)?;
    let kind: String = row.try_get(1)?;
    contact.kind = kind.parse::<ContactKind>().map_err(|e| bad("kind", &e))?;
    contact.name = row.try_get(2)?;
    let country: Option<String> = row.try_get(3)?;
    contact.country = country
        .map(|c| Country::parse(&c))
        .transpose()
        .map_err(|e| bad("country", &e))?;
    contact.city = row.try_get(4)?;
    let language: Option<String> = row.try_get(5)?;
    contact.language = language
        .map(|l| Language::parse(&l))
        .transpose()
        .map_err(|e| bad("language", &e))?;
    let zone: Option<String> = row.try_get(6)?;
    contact.time_zone = zone
        .map(|z| TimeZoneName::parse(&z))
        .transpose()
        .map_err(|e| bad("time zone", &e))?;
    contact.owner = row.try_get::<_, Option<i64>>(7)?.map(UserId::new);
    contact.team = row
        .try_get::<_, Option<i64>>(8)?
        .map(stoke_core::TeamId::new);
    let profile: String = row.try_get(9)?;
    ProfileDoc::decode_into(&profile, &mut contact)?;
    Ok(contact)
}

/// Follows a merge redirect: the id of the contact that `id` is now, or `None` if it never was.
pub(crate) async fn resolve(tx: &Tx<'_>, id: ContactId) -> Res<Option<ContactId>> {
    let row = query_opt(
        tx,
        "SELECT id FROM contacts WHERE id = $1
         UNION ALL SELECT into_id FROM contact_merges WHERE absorbed_id = $1 LIMIT 1",
        &[&id.get()],
    )
    .await?;
    Ok(row
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map(ContactId::new))
}

/// `resolve` for many ids at once: the ids that exist, or existed, with what they are now.
pub(crate) async fn resolve_many(tx: &Tx<'_>, ids: &[i64]) -> Res<HashMap<i64, ContactId>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = query(
        tx,
        "SELECT id, id FROM contacts WHERE id = ANY($1)
         UNION ALL SELECT absorbed_id, into_id FROM contact_merges WHERE absorbed_id = ANY($1)",
        &[&ids],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, ContactId::new(r.try_get(1)?))))
        .collect()
}

/// Locks contacts for a read-modify-write, in id order so that two transactions locking
/// overlapping sets cannot deadlock; returns the ids that exist. `FOR NO KEY UPDATE` keeps
/// other writers of these contacts out but lets foreign-key checks of new rows through.
pub(crate) async fn lock_many(tx: &Tx<'_>, ids: &[ContactId]) -> Res<HashSet<ContactId>> {
    let mut raw: Vec<i64> = ids.iter().map(|c| c.get()).collect();
    raw.sort_unstable();
    raw.dedup();
    if raw.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = query(
        tx,
        "SELECT id FROM contacts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&raw],
    )
    .await?;
    rows.iter()
        .map(|r| Ok(ContactId::new(r.try_get(0)?)))
        .collect()
}

/// Locks one contact by its own id (not following merges): `NotFound` if it does not exist.
pub(crate) async fn lock(tx: &Tx<'_>, id: ContactId) -> Res<()> {
    if lock_many(tx, &[id]).await?.contains(&id) {
        Ok(())
    } else {
        Err(not_found("contact", id))
    }
}

/// Resolves a contact through merges and locks it; a merge that commits in between is followed.
pub(crate) async fn lock_resolved(tx: &Tx<'_>, id: ContactId) -> Res<ContactId> {
    for _ in 0..3 {
        let resolved = resolve(tx, id)
            .await?
            .ok_or_else(|| not_found("contact", id))?;
        if lock_many(tx, &[resolved]).await?.contains(&resolved) {
            return Ok(resolved);
        }
    }
    Err(Fail::Raced("a contact being merged"))
}

pub(crate) async fn load(tx: &Tx<'_>, id: ContactId) -> Res<Contact> {
    let row = query_opt(
        tx,
        &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1"),
        &[&id.get()],
    )
    .await?;
    match row {
        Some(row) => contact_from_row(&row),
        None => Err(not_found("contact", id)),
    }
}

pub(crate) async fn find_by_handle(tx: &Tx<'_>, handle: &Handle) -> Res<Option<ContactId>> {
    let row = query_opt(
        tx,
        "SELECT contact_id FROM contact_handles WHERE kind = $1 AND value = $2",
        &[&handle.kind(), &handle.key()],
    )
    .await?;
    Ok(row
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map(ContactId::new))
}

/// A handle as the index keys it.
pub(crate) type HandleKey = (&'static str, String);

pub(crate) fn key_of(handle: &Handle) -> HandleKey {
    (handle.kind(), handle.key())
}

/// The contacts these handles belong to, in one query.
pub(crate) async fn find_handles(
    tx: &Tx<'_>,
    handles: &[Handle],
) -> Res<HashMap<HandleKey, ContactId>> {
    if handles.is_empty() {
        return Ok(HashMap::new());
    }
    let kinds: Vec<&str> = handles.iter().map(Handle::kind).collect();
    let values: Vec<String> = handles.iter().map(Handle::key).collect();
    let rows = query(
        tx,
        "SELECT h.kind, h.value, h.contact_id FROM contact_handles h
         JOIN unnest($1::text[], $2::text[]) AS q(kind, value)
           ON h.kind = q.kind AND h.value = q.value",
        &[&kinds, &values],
    )
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let kind: String = row.try_get(0)?;
        // Map the kind back to the static name the caller's keys use.
        let Some(kind) = kinds.iter().copied().find(|k| *k == kind) else {
            continue;
        };
        found.insert(
            (kind, row.try_get::<_, String>(1)?),
            ContactId::new(row.try_get(2)?),
        );
    }
    Ok(found)
}

fn handle_taken(handle: &Handle, holder: ContactId) -> Fail {
    Fail::Store(StoreError::Conflict {
        entity: "contact",
        key: holder.to_string(),
        reason: format!(
            "the {} {} already belongs to contact {holder}",
            handle.kind(),
            handle.key()
        ),
    })
}

/// Refuses handles that belong to a contact other than `owner`.
async fn check_handles_free(tx: &Tx<'_>, owner: Option<ContactId>, handles: &[Handle]) -> Res<()> {
    let found = find_handles(tx, handles).await?;
    for handle in handles {
        if let Some(holder) = found.get(&key_of(handle))
            && Some(*holder) != owner
        {
            return Err(handle_taken(handle, *holder));
        }
    }
    Ok(())
}

/// Defines the custom fields these contacts use that the workspace has not defined yet (an
/// import's unknown column), typed by the value; existing definitions stay as they are.
async fn define_used_custom_fields(tx: &Tx<'_>, contacts: &[&Contact]) -> Res<()> {
    let mut seen = HashSet::new();
    let (mut names, mut types) = (Vec::new(), Vec::new());
    for (name, value) in contacts.iter().flat_map(|c| c.custom.iter()) {
        if !seen.insert(name.as_str()) {
            continue;
        }
        names.push(name.as_str());
        types.push(match value {
            CustomValue::Text(_) => "text",
            CustomValue::Number(_) => "number",
            CustomValue::Date(_) => "date",
            // A choice value only exists for a defined choice field; text keeps the value usable.
            CustomValue::Choice(_) => "text",
            CustomValue::YesNo(_) => "yes/no",
        });
    }
    if names.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO custom_fields (name, field_type, choices)
         SELECT name, field_type, '' FROM unnest($1::text[], $2::text[]) AS f(name, field_type)
         ON CONFLICT (name) DO NOTHING",
        &[&names, &types],
    )
    .await?;
    Ok(())
}

/// Contacts' columns as arrays, one element per contact: how rows travel in bulk.
struct ContactColumns {
    ids: Vec<i64>,
    kinds: Vec<&'static str>,
    names: Vec<String>,
    countries: Vec<Option<String>>,
    cities: Vec<Option<String>>,
    languages: Vec<Option<String>>,
    zones: Vec<Option<String>>,
    owners: Vec<Option<i64>>,
    teams: Vec<Option<i64>>,
    profiles: Vec<String>,
    created: Vec<i64>,
    updated: Vec<i64>,
    searches: Vec<String>,
}

impl ContactColumns {
    fn of(contacts: &[&Contact]) -> Self {
        Self {
            ids: contacts.iter().map(|c| c.id.get()).collect(),
            kinds: contacts.iter().map(|c| c.kind.as_str()).collect(),
            names: contacts.iter().map(|c| c.name.clone()).collect(),
            countries: contacts
                .iter()
                .map(|c| c.country.map(|x| x.to_string()))
                .collect(),
            cities: contacts.iter().map(|c| c.city.clone()).collect(),
            languages: contacts
                .iter()
                .map(|c| c.language.as_ref().map(|l| l.as_str().to_owned()))
                .collect(),
            zones: contacts
                .iter()
                .map(|c| c.time_zone.as_ref().map(|z| z.as_str().to_owned()))
                .collect(),
            owners: contacts.iter().map(|c| c.owner.map(UserId::get)).collect(),
            teams: contacts.iter().map(|c| c.team.map(|t| t.get())).collect(),
            profiles: contacts.iter().map(|c| ProfileDoc::encode(c)).collect(),
            created: contacts.iter().map(|c| to_millis(c.created_at)).collect(),
            updated: contacts.iter().map(|c| to_millis(c.updated_at)).collect(),
            searches: contacts.iter().map(|c| contact_search_text(c)).collect(),
        }
    }
}

const UNNEST_CONTACTS: &str = "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[], $12::bigint[], $13::text[])";

/// Writes contacts' rows in one statement: new rows (`insert`, with ids already taken from the
/// sequence) or existing ones. Their search words are derived here, the one place a contact's
/// row is written.
async fn write_rows(tx: &Tx<'_>, contacts: &[&Contact], insert: bool) -> Res<()> {
    if contacts.is_empty() {
        return Ok(());
    }
    let c = ContactColumns::of(contacts);
    let sql = if insert {
        format!("INSERT INTO contacts ({CONTACT_COLUMNS}, search) SELECT * FROM {UNNEST_CONTACTS}")
    } else {
        format!(
            "UPDATE contacts c SET kind = v.kind, name = v.name, country = v.country,
               city = v.city, language = v.language, time_zone = v.time_zone,
               owner_id = v.owner_id, team_id = v.team_id, profile = v.profile,
               created_at = v.created_at, updated_at = v.updated_at, search = v.search
             FROM {UNNEST_CONTACTS} AS v({CONTACT_COLUMNS}, search) WHERE c.id = v.id"
        )
    };
    execute(
        tx,
        &sql,
        &[
            &c.ids,
            &c.kinds,
            &c.names,
            &c.countries,
            &c.cities,
            &c.languages,
            &c.zones,
            &c.owners,
            &c.teams,
            &c.profiles,
            &c.created,
            &c.updated,
            &c.searches,
        ],
    )
    .await?;
    define_used_custom_fields(tx, contacts).await
}

/// Indexes handles. A handle another transaction has just taken fails on the primary key, and
/// the transaction runs again (see `Fail::retryable`).
async fn insert_handles(tx: &Tx<'_>, handles: &[(Handle, ContactId)]) -> Res<()> {
    let mut seen = HashSet::new();
    let (mut kinds, mut values, mut ids) = (Vec::new(), Vec::new(), Vec::new());
    for (handle, id) in handles {
        let key = key_of(handle);
        if seen.insert(key.clone()) {
            kinds.push(key.0);
            values.push(key.1);
            ids.push(id.get());
        }
    }
    if ids.is_empty() {
        return Ok(());
    }
    execute(
        tx,
        "INSERT INTO contact_handles (kind, value, contact_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])",
        &[&kinds, &values, &ids],
    )
    .await?;
    Ok(())
}

fn handles_of(contact: &Contact) -> Vec<(Handle, ContactId)> {
    contact
        .handles()
        .into_iter()
        .map(|h| (h, contact.id))
        .collect()
}

/// Inserts new contacts (ids taken from the sequence here) with their handles.
async fn insert_new(tx: &Tx<'_>, contacts: &mut [Contact]) -> Res<()> {
    let ids = allocate_ids(tx, "contacts", contacts.len()).await?;
    for (contact, id) in contacts.iter_mut().zip(ids) {
        contact.id = ContactId::new(id);
    }
    let refs: Vec<&Contact> = contacts.iter().collect();
    write_rows(tx, &refs, true).await?;
    let handles: Vec<(Handle, ContactId)> = contacts.iter().flat_map(handles_of).collect();
    insert_handles(tx, &handles).await
}

pub(crate) async fn create(tx: &Tx<'_>, draft: &ContactDraft, now: Timestamp) -> Res<Contact> {
    if draft.handles().is_empty() && draft.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Fail::Store(StoreError::Invalid {
            field: "contact",
            reason: "a contact needs a name, a phone or an e-mail".into(),
        }));
    }
    let owners = owners_of(tx, std::slice::from_ref(draft)).await?;
    let mut contact = Contact::new(ContactId::new(0), now);
    stoke_store::codec::apply_draft(draft, &owners, &mut contact);
    check_handles_free(tx, None, &contact.handles()).await?;
    let mut created = [contact];
    insert_new(tx, &mut created).await?;
    let [contact] = created;
    let mut extras = Extras::default();
    extras.add(contact.id, draft, &mut Held::default(), now);
    extras.write(tx).await?;
    load(tx, contact.id).await
}

/// The users the drafts assign contacts to, by e-mail key. An e-mail no user has fails the
/// whole call before anything is written: an assignment is never silently dropped.
async fn owners_of(tx: &Tx<'_>, drafts: &[ContactDraft]) -> Res<BTreeMap<String, UserId>> {
    let mut wanted: Vec<String> = drafts
        .iter()
        .filter_map(|d| d.owner.as_ref())
        .map(|e| e.dedup_key())
        .collect();
    if wanted.is_empty() {
        return Ok(BTreeMap::new());
    }
    wanted.sort();
    wanted.dedup();
    let rows = query(
        tx,
        "SELECT email_key, id FROM users WHERE email_key = ANY($1)",
        &[&wanted],
    )
    .await?;
    let mut owners = BTreeMap::new();
    for row in rows {
        owners.insert(row.try_get::<_, String>(0)?, UserId::new(row.try_get(1)?));
    }
    for email in drafts.iter().filter_map(|d| d.owner.as_ref()) {
        if !owners.contains_key(&email.dedup_key()) {
            return Err(Fail::Store(StoreError::Invalid {
                field: "owner",
                reason: format!("no user has the e-mail {email}"),
            }));
        }
    }
    Ok(owners)
}

/// Writes a contact's columns and re-indexes its handles.
pub(crate) async fn save(tx: &Tx<'_>, contact: &Contact) -> Res<()> {
    let handles = contact.handles();
    check_handles_free(tx, Some(contact.id), &handles).await?;
    write_rows(tx, &[contact], false).await?;
    execute(
        tx,
        "DELETE FROM contact_handles WHERE contact_id = $1",
        &[&contact.id.get()],
    )
    .await?;
    insert_handles(tx, &handles_of(contact)).await
}

/// The condition a scope puts on `contacts`, with its parameters numbered from `$first`, and
/// their values.
pub(crate) fn scope_filter(scope: Scope, first: usize) -> (String, Vec<i64>) {
    let (a, b) = (first, first + 1);
    match scope {
        Scope::Everything => ("TRUE".to_owned(), Vec::new()),
        Scope::Team(team) => (
            format!("(team_id = ${a} OR owner_id IN (SELECT id FROM users WHERE team_id = ${a}))"),
            vec![team.get()],
        ),
        Scope::Agent { user, team: None } => (format!("owner_id = ${a}"), vec![user.get()]),
        Scope::Agent {
            user,
            team: Some(team),
        } => (
            format!("(owner_id = ${a} OR (owner_id IS NULL AND team_id = ${b}))"),
            vec![user.get(), team.get()],
        ),
    }
}

pub(crate) async fn list(tx: &Tx<'_>, scope: Scope, page: PageRequest) -> Res<Page<Contact>> {
    let limit = page.effective_limit();
    let (filter, values) = scope_filter(scope, 3);
    let (after, fetch) = (page.after.unwrap_or(i64::MIN), i64::from(limit) + 1);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&after, &fetch];
    params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
    let rows = query(
        tx,
        &format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id > $1 AND {filter} ORDER BY id LIMIT $2"
        ),
        &params,
    )
    .await?;
    let items = rows.iter().map(contact_from_row).collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, |c| c.id.get()))
}

/// Whether a scope sees a (resolved) contact.
pub(crate) async fn visible(tx: &Tx<'_>, scope: Scope, id: ContactId) -> Res<bool> {
    let (filter, values) = scope_filter(scope, 2);
    let id = id.get();
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&id];
    params.extend(values.iter().map(|v| v as &(dyn ToSql + Sync)));
    let row = query_opt(
        tx,
        &format!("SELECT 1 FROM contacts WHERE id = $1 AND {filter}"),
        &params,
    )
    .await?;
    Ok(row.is_some())
}

pub(crate) async fn ids(tx: &Tx<'_>, page: PageRequest) -> Res<Page<ContactId>> {
    let limit = page.effective_limit();
    let rows = query(
        tx,
        "SELECT id FROM contacts WHERE id > $1 ORDER BY id LIMIT $2",
        &[&page.after.unwrap_or(i64::MIN), &(i64::from(limit) + 1)],
    )
    .await?;
    let items = rows
        .iter()
        .map(|r| Ok(ContactId::new(r.try_get(0)?)))
        .collect::<Res<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, limit, |c| c.get()))
}

/// `merge_contacts`: resolves both ids, locks both rows (one is deleted, so `FOR UPDATE`) in id
/// order, then merges.
pub(crate) async fn merge_locked(
    tx: &Tx<'_>,
    keep: ContactId,
    absorb: ContactId,
    now: Timestamp,
) -> Res<Contact> {
    let keep = resolve(tx, keep)
        .await?
        .ok_or_else(|| not_found("contact", keep))?;
    let absorb = resolve(tx, absorb)
        .await?
        .ok_or_else(|| not_found("contact", absorb))?;
    if keep == absorb {
        return Err(Fail::Store(StoreError::Invalid {
            field: "contact",
            reason: format!("contact {keep} cannot be merged into itself"),
        }));
    }
    let mut ids = vec![keep.get(), absorb.get()];
    ids.sort_unstable();
    let locked = query(
        tx,
        "SELECT id FROM contacts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    if locked.len() != 2 {
        return Err(Fail::Raced("a contact being merged"));
    }
    merge(tx, keep, absorb, now).await
}

/// Folds `absorb` into `keep` (both resolved, distinct and locked) and everything that pointed
/// at `absorb` with it.
async fn merge(tx: &Tx<'_>, keep: ContactId, absorb: ContactId, now: Timestamp) -> Res<Contact> {
    let mut survivor = load(tx, keep).await?;
    let absorbed = load(tx, absorb).await?;
    survivor.absorb(absorbed);
    survivor.updated_at = now;
    let (k, a) = (keep.get(), absorb.get());

    // Conversations: one per (contact, account). Where both have one on the same account, the
    // absorbed one's messages join the survivor's and the empty conversation goes.
    let pairs = query(
        tx,
        "SELECT a.id, k.id FROM conversations a JOIN conversations k
           ON k.account_id = a.account_id AND k.contact_id = $1
         WHERE a.contact_id = $2",
        &[&k, &a],
    )
    .await?;
    for pair in pairs {
        let (from, into): (i64, i64) = (pair.try_get(0)?, pair.try_get(1)?);
        execute(
            tx,
            "UPDATE messages SET conversation_id = $2 WHERE conversation_id = $1",
            &[&from, &into],
        )
        .await?;
        execute(
            tx,
            "UPDATE conversations SET last_message_at =
               (SELECT MAX(at) FROM messages WHERE conversation_id = $1) WHERE id = $1",
            &[&into],
        )
        .await?;
        execute(tx, "DELETE FROM conversations WHERE id = $1", &[&from]).await?;
    }
    for table in [
        "conversations",
        "messages",
        "events",
        "tag_changes",
        "notes",
        "tasks",
    ] {
        execute(
            tx,
            &format!("UPDATE {table} SET contact_id = $1 WHERE contact_id = $2"),
            &[&k, &a],
        )
        .await?;
    }

    // Tags: the survivor holds the union; where both hold a value of an exclusive family, or
    // the same tag, the more recently set one stays.
    let mut held = people::tags_of(tx, &[keep, absorb]).await?;
    let mut tags = held.remove(&keep).unwrap_or_default();
    for tag in held.remove(&absorb).unwrap_or_default() {
        let clash = tags.iter().position(|t| {
            t.family == tag.family && (t.value == tag.value || tag.family.is_exclusive())
        });
        match clash {
            Some(i) if tags[i].set_at >= tag.set_at => {}
            Some(i) => tags[i] = tag,
            None => tags.push(tag),
        }
    }
    execute(
        tx,
        "DELETE FROM tags WHERE contact_id IN ($1, $2)",
        &[&k, &a],
    )
    .await?;
    let mut writes = TagWrites::default();
    writes.upserts.extend(tags.into_iter().map(|t| (keep, t)));
    writes.write(tx).await?;

    // The engine's memory of either is now partial: dropping it makes the next event replay
    // the merged history.
    execute(
        tx,
        "DELETE FROM contact_states WHERE contact_id IN ($1, $2)",
        &[&k, &a],
    )
    .await?;
    // Outbox rows and number flags reference the contact about to be deleted.
    crate::outbox::merge_contacts(tx, keep, absorb, now).await?;
    execute(
        tx,
        "DELETE FROM contact_handles WHERE contact_id = $1",
        &[&a],
    )
    .await?;
    execute(tx, "DELETE FROM contacts WHERE id = $1", &[&a]).await?;
    execute(
        tx,
        "UPDATE contact_merges SET into_id = $1 WHERE into_id = $2",
        &[&k, &a],
    )
    .await?;
    execute(
        tx,
        "INSERT INTO contact_merges (absorbed_id, into_id, at) VALUES ($1, $2, $3)",
        &[&a, &k, &to_millis(now)],
    )
    .await?;
    save(tx, &survivor).await?;
    load(tx, keep).await
}

/// The static tags and notes a contact holds, as far as an import needs to know: a draft's are
/// added once each.
#[derive(Debug, Default, Clone)]
struct Held {
    tags: HashSet<String>,
    notes: HashSet<String>,
}

/// Static tags and notes drafts add, in the order of their rows, written in bulk.
#[derive(Debug, Default)]
struct Extras {
    tags: Vec<(ContactId, String, Timestamp)>,
    notes: Vec<(ContactId, String, Timestamp)>,
}

impl Extras {
    /// Queues what `draft` adds to contact `id` that it does not hold yet; returns whether it
    /// added anything.
    fn add(
        &mut self,
        id: ContactId,
        draft: &ContactDraft,
        held: &mut Held,
        now: Timestamp,
    ) -> bool {
        let mut added = false;
        for value in &draft.tags {
            if held.tags.insert(value.clone()) {
                self.tags.push((id, value.clone(), now));
                added = true;
            }
        }
        for note in &draft.notes {
            if held.notes.insert(note.clone()) {
                self.notes.push((id, note.clone(), now));
                added = true;
            }
        }
        added
    }

    fn remap(&mut self, ids: &HashMap<ContactId, ContactId>) {
        for (id, _, _) in self.tags.iter_mut().chain(self.notes.iter_mut()) {
            if let Some(real) = ids.get(id) {
                *id = *real;
            }
        }
    }

    /// Takes out what is queued for these contacts.
    fn take(&mut self, ids: &[ContactId]) -> Extras {
        let (tags, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.tags)
            .into_iter()
            .partition(|(id, _, _)| ids.contains(id));
        self.tags = keep;
        let (notes, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut self.notes)
            .into_iter()
            .partition(|(id, _, _)| ids.contains(id));
        self.notes = keep;
        Extras { tags, notes }
    }

    async fn write(self, tx: &Tx<'_>) -> Res<()> {
        let mut writes = TagWrites::default();
        for (id, value, at) in self.tags {
            let change = TagChange {
                kind: TagChangeKind::Set,
                tag: people::import_tag(value, at),
            };
            writes.history.push((id, change.clone()));
            writes.upserts.push((id, change.tag));
        }
        writes.write(tx).await?;
        people::insert_notes(
            tx,
            &self
                .notes
                .into_iter()
                .map(|(id, body, at)| (id, None, body, at))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok(())
    }
}

/// Ids for contacts an import creates, until it takes real ones from the sequence: above every
/// real id, so that the oldest of several contacts is still the one with the smallest id.
const PROVISIONAL: i64 = 1 << 62;

/// One contact a batch touched: as stored (`None` if the batch created it) and as the batch
/// leaves it.
#[derive(Debug)]
struct Touched {
    stored: Option<Contact>,
    working: Contact,
    /// Whether the batch added static tags or notes.
    extras: bool,
    held: Held,
}

/// A contact import in progress: rows are applied in memory, in order, against handles and
/// contacts read in bulk up front; the result is written in bulk at the end.
struct Import {
    now: Timestamp,
    handles: HashMap<HandleKey, ContactId>,
    touched: BTreeMap<ContactId, Touched>,
    /// Contacts this batch created (not counted as updated or unchanged).
    created: HashSet<ContactId>,
    next_provisional: i64,
    extras: Extras,
    outcome: ContactImportOutcome,
    /// Read and locked up front; taken out on first touch.
    stored: HashMap<ContactId, (Contact, Held)>,
}

/// Imports a batch. Each touched contact is changed in memory first and written once at the end
/// of the batch, and only if its final state differs from what was stored: a file that names the
/// same person twice, or a re-import of the same file, writes nothing that is already there.
pub(crate) async fn import(
    tx: &Tx<'_>,
    drafts: &[ContactDraft],
    now: Timestamp,
) -> Res<ContactImportOutcome> {
    let owners = owners_of(tx, drafts).await?;
    if drafts.iter().any(|d| d.handles().is_empty()) {
        return Err(Fail::Store(StoreError::Invalid {
            field: "contact",
            reason: "an imported contact needs a phone or an e-mail".into(),
        }));
    }
    let mut seen = HashSet::new();
    let all: Vec<Handle> = drafts
        .iter()
        .flat_map(ContactDraft::handles)
        .filter(|h| seen.insert(key_of(h)))
        .collect();
    let handles = find_handles(tx, &all).await?;
    let mut ids: Vec<i64> = handles.values().map(|c| c.get()).collect();
    ids.sort_unstable();
    ids.dedup();
    // Lock (a merge deletes rows: FOR UPDATE) and read every contact the batch names, then check
    // that no handle moved before the locks were taken.
    let rows = query(
        tx,
        &format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = ANY($1) ORDER BY id FOR UPDATE"
        ),
        &[&ids],
    )
    .await?;
    if rows.len() != ids.len() || find_handles(tx, &all).await? != handles {
        return Err(Fail::Raced("the contacts of an import"));
    }
    let mut stored = HashMap::with_capacity(rows.len());
    for row in &rows {
        let contact = contact_from_row(row)?;
        stored.insert(contact.id, (contact, Held::default()));
    }
    let mut note_texts: Vec<&str> = drafts
        .iter()
        .flat_map(|d| d.notes.iter().map(String::as_str))
        .collect();
    note_texts.sort_unstable();
    note_texts.dedup();
    for (id, held) in held_extras(tx, &ids, &note_texts).await? {
        if let Some((_, h)) = stored.get_mut(&id) {
            *h = held;
        }
    }
    let mut import = Import {
        now,
        handles,
        touched: BTreeMap::new(),
        created: HashSet::new(),
        next_provisional: 0,
        extras: Extras::default(),
        outcome: ContactImportOutcome::default(),
        stored,
    };
    for draft in drafts {
        import.row(tx, draft, &owners).await?;
    }
    import.finish(tx).await
}

/// The static tags of these contacts, and which of `notes` they hold.
async fn held_extras(tx: &Tx<'_>, ids: &[i64], notes: &[&str]) -> Res<HashMap<ContactId, Held>> {
    let mut held: HashMap<ContactId, Held> = HashMap::new();
    if ids.is_empty() {
        return Ok(held);
    }
    let rows = query(
        tx,
        "SELECT contact_id, value FROM tags WHERE contact_id = ANY($1) AND family = 'static'",
        &[&ids],
    )
    .await?;
    for row in rows {
        let id = ContactId::new(row.try_get(0)?);
        held.entry(id).or_default().tags.insert(row.try_get(1)?);
    }
    if !notes.is_empty() {
        let rows = query(
            tx,
            "SELECT contact_id, body FROM notes WHERE contact_id = ANY($1) AND body = ANY($2)",
            &[&ids, &notes],
        )
        .await?;
        for row in rows {
            let id = ContactId::new(row.try_get(0)?);
            held.entry(id).or_default().notes.insert(row.try_get(1)?);
        }
    }
    Ok(held)
}

impl Import {
    async fn row(
        &mut self,
        tx: &Tx<'_>,
        draft: &ContactDraft,
        owners: &BTreeMap<String, UserId>,
    ) -> Res<()> {
        let matches: BTreeSet<ContactId> = draft
            .handles()
            .iter()
            .filter_map(|h| self.handles.get(&key_of(h)).copied())
            .collect();
        let mut matched = matches.into_iter();
        let Some(mut keep) = matched.next() else {
            let id = ContactId::new(PROVISIONAL + self.next_provisional);
            self.next_provisional += 1;
            let mut contact = Contact::new(id, self.now);
            stoke_store::codec::apply_draft(draft, owners, &mut contact);
            for handle in contact.handles() {
                self.handles.insert(key_of(&handle), id);
            }
            let mut held = Held::default();
            self.extras.add(id, draft, &mut held, self.now);
            self.touched.insert(
                id,
                Touched {
                    stored: None,
                    working: contact,
                    extras: false,
                    held,
                },
            );
            self.created.insert(id);
            self.outcome.created += 1;
            return Ok(());
        };
        let mut others: Vec<ContactId> = matched.collect();
        if !others.is_empty() {
            // A merge works on stored rows: write what the batch did so far to these contacts
            // first, with real ids for the ones it created.
            let real = self.materialize(tx).await?;
            for id in std::iter::once(&mut keep).chain(others.iter_mut()) {
                if let Some(new) = real.get(id) {
                    *id = *new;
                }
            }
            for id in std::iter::once(keep).chain(others.iter().copied()) {
                if let Some(touched) = self.touched.remove(&id) {
                    self.flush_one(tx, touched).await?;
                }
            }
            for other in others {
                merge(tx, keep, other, self.now).await?;
                self.outcome.merged += 1;
                for holder in self.handles.values_mut() {
                    if *holder == other {
                        *holder = keep;
                    }
                }
                self.stored.remove(&other);
            }
            // What was read of the survivor before the merge is out of date.
            self.stored.remove(&keep);
        }
        if !self.touched.contains_key(&keep) {
            let touched = self.enter(tx, keep).await?;
            self.touched.insert(keep, touched);
        }
        let Some(touched) = self.touched.get_mut(&keep) else {
            return Err(Fail::Raced("an imported contact"));
        };
        let before: HashSet<HandleKey> = touched.working.handles().iter().map(key_of).collect();
        stoke_store::codec::apply_draft(draft, owners, &mut touched.working);
        // Handles the draft adds must be indexed before the next row looks them up.
        for handle in touched.working.handles() {
            let key = key_of(&handle);
            if before.contains(&key) {
                continue;
            }
            match self.handles.get(&key) {
                Some(holder) if *holder != keep => return Err(handle_taken(&handle, *holder)),
                _ => {
                    self.handles.insert(key, keep);
                }
            }
        }
        touched.extras |= self.extras.add(keep, draft, &mut touched.held, self.now);
        Ok(())
    }

    /// A contact's first touch in this batch (or the first since a merge).
    async fn enter(&mut self, tx: &Tx<'_>, id: ContactId) -> Res<Touched> {
        let (contact, held) = match self.stored.remove(&id) {
            Some(found) => found,
            None => {
                let contact = load(tx, id).await?;
                let notes: Vec<String> = query(
                    tx,
                    "SELECT body FROM notes WHERE contact_id = $1",
                    &[&id.get()],
                )
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
                let notes: Vec<&str> = notes.iter().map(String::as_str).collect();
                let held = held_extras(tx, &[id.get()], &notes)
                    .await?
                    .remove(&id)
                    .unwrap_or_default();
                (contact, held)
            }
        };
        Ok(Touched {
            stored: Some(contact.clone()),
            working: contact,
            extras: false,
            held,
        })
    }

    /// Gives every contact this batch created so far a real id, in the order they were created;
    /// returns the mapping.
    async fn materialize(&mut self, tx: &Tx<'_>) -> Res<HashMap<ContactId, ContactId>> {
        let provisional: Vec<ContactId> = self
            .touched
            .keys()
            .copied()
            .filter(|id| id.get() >= PROVISIONAL)
            .collect();
        let real = allocate_ids(tx, "contacts", provisional.len()).await?;
        let ids: HashMap<ContactId, ContactId> = provisional
            .into_iter()
            .zip(real.into_iter().map(ContactId::new))
            .collect();
        if ids.is_empty() {
            return Ok(ids);
        }
        for (old, new) in &ids {
            if let Some(mut touched) = self.touched.remove(old) {
                touched.working.id = *new;
                self.touched.insert(*new, touched);
            }
            if self.created.remove(old) {
                self.created.insert(*new);
            }
        }
        for holder in self.handles.values_mut() {
            if let Some(new) = ids.get(holder) {
                *holder = *new;
            }
        }
        self.extras.remap(&ids);
        Ok(ids)
    }

    /// Writes one touched contact (real id) and what the batch added to it, and counts it.
    async fn flush_one(&mut self, tx: &Tx<'_>, touched: Touched) -> Res<()> {
        let id = touched.working.id;
        let changed = self.write(tx, vec![touched]).await?;
        self.extras.take(&[id]).write(tx).await?;
        self.count(id, changed.first().copied().unwrap_or_default());
        Ok(())
    }

    fn count(&mut self, id: ContactId, (changed, extras): (bool, bool)) {
        if self.created.contains(&id) {
            return;
        }
        if changed || extras {
            self.outcome.updated += 1;
        } else {
            self.outcome.unchanged += 1;
        }
    }

    /// Writes touched contacts (real ids): new ones inserted, changed ones updated, with the
    /// handles they gained. Returns, per contact, whether it changed and whether it gained
    /// tags or notes.
    async fn write(&self, tx: &Tx<'_>, touched: Vec<Touched>) -> Res<Vec<(bool, bool)>> {
        let mut new = Vec::new();
        let mut updated = Vec::new();
        let mut handles = Vec::new();
        let mut flags = Vec::with_capacity(touched.len());
        for t in touched {
            match &t.stored {
                None => {
                    handles.extend(handles_of(&t.working));
                    new.push(t.working);
                    flags.push((true, t.extras));
                }
                Some(stored) if *stored != t.working => {
                    let had: HashSet<HandleKey> = stored.handles().iter().map(key_of).collect();
                    handles.extend(
                        handles_of(&t.working)
                            .into_iter()
                            .filter(|(h, _)| !had.contains(&key_of(h))),
                    );
                    let mut working = t.working;
                    working.updated_at = self.now;
                    updated.push(working);
                    flags.push((true, t.extras));
                }
                Some(_) => flags.push((false, t.extras)),
            }
        }
        write_rows(tx, &new.iter().collect::<Vec<_>>(), true).await?;
        write_rows(tx, &updated.iter().collect::<Vec<_>>(), false).await?;
        insert_handles(tx, &handles).await?;
        Ok(flags)
    }

    async fn finish(mut self, tx: &Tx<'_>) -> Res<ContactImportOutcome> {
        self.materialize(tx).await?;
        let touched: Vec<Touched> = std::mem::take(&mut self.touched).into_values().collect();
        let ids: Vec<ContactId> = touched.iter().map(|t| t.working.id).collect();
        let flags = self.write(tx, touched).await?;
        std::mem::take(&mut self.extras).write(tx).await?;
        for (id, flags) in ids.into_iter().zip(flags) {
            self.count(id, flags);
        }
        Ok(self.outcome)
    }
}

/// Creates contacts known only by a handle each (messages from new numbers), in order.
pub(crate) async fn create_from_handles(
    tx: &Tx<'_>,
    handles: &[Handle],
    now: Timestamp,
) -> Res<Vec<ContactId>> {
    let mut contacts: Vec<Contact> = handles
        .iter()
        .map(|handle| Contact::from_handle(ContactId::new(0), handle, now))
        .collect();
    insert_new(tx, &mut contacts).await?;
    Ok(contacts.iter().map(|c| c.id).collect())
}
