//! Tags, notes, tasks, custom fields, teams, users, tokens and sessions: the low-volume side of
//! the store, and the bulk writer of tags the engine and imports share.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use stoke_core::{
    ContactId, CustomFieldDef, CustomFieldType, Email, EventId, Evidence, MessageId, Note, NoteId,
    Role, Tag, TagChange, TagChangeKind, TagFamily, Task, TaskDraft, TaskId, Team, TeamId, User,
    UserDraft, UserId,
};
use stoke_store::codec::{from_millis, parse_column, to_millis};
use stoke_store::{ApiToken, Counts, Session, StoreError};
use tokio_postgres::Row;

use crate::{Fail, Res, Tx, allocate_ids, contacts, execute, not_found, query, query_opt};

async fn resolved(tx: &Tx<'_>, contact: ContactId) -> Res<ContactId> {
    contacts::resolve(tx, contact)
        .await?
        .ok_or_else(|| not_found("contact", contact))
}

const TAG_COLUMNS: &str =
    "family, value, colour, rule, evidence_message_id, evidence_event_id, evidence_detail";

fn tag_from_row(row: &Row, offset: usize) -> Res<Tag> {
    Ok(Tag {
        family: parse_column::<TagFamily>("tag family", &row.try_get::<_, String>(offset)?)?,
        value: row.try_get(offset + 1)?,
        colour: row.try_get(offset + 2)?,
        rule: row.try_get(offset + 3)?,
        evidence: Evidence {
            message: row
                .try_get::<_, Option<i64>>(offset + 4)?
                .map(MessageId::new),
            event: row.try_get::<_, Option<i64>>(offset + 5)?.map(EventId::new),
            detail: row.try_get(offset + 6)?,
        },
        set_at: from_millis(row.try_get(offset + 7)?)?,
    })
}

/// The tags these (resolved) contacts hold, each contact's by family then value.
pub(crate) async fn tags_of(
    tx: &Tx<'_>,
    contacts: &[ContactId],
) -> Res<HashMap<ContactId, Vec<Tag>>> {
    let ids: Vec<i64> = contacts.iter().map(|c| c.get()).collect();
    let rows = query(
        tx,
        &format!("SELECT contact_id, {TAG_COLUMNS}, set_at FROM tags WHERE contact_id = ANY($1)"),
        &[&ids],
    )
    .await?;
    let mut out: HashMap<ContactId, Vec<Tag>> = HashMap::new();
    for row in rows {
        out.entry(ContactId::new(row.try_get(0)?))
            .or_default()
            .push(tag_from_row(&row, 1)?);
    }
    for tags in out.values_mut() {
        // Family order is the domain's (activity first), not the alphabet's.
        tags.sort_by(|a, b| (a.family, &a.value).cmp(&(b.family, &b.value)));
    }
    Ok(out)
}

/// Tag writes of a batch: applied in memory first (`apply`), then sent as one statement per
/// kind of write.
#[derive(Debug, Default)]
pub(crate) struct TagWrites {
    pub(crate) deletes: Vec<(ContactId, TagFamily, String)>,
    pub(crate) upserts: Vec<(ContactId, Tag)>,
    /// Changes for the history, in the order they happened.
    pub(crate) history: Vec<(ContactId, TagChange)>,
}

impl TagWrites {
    /// Applies `changes` to a contact holding `held`, with the store's meaning of each: setting a
    /// tag of an exclusive family replaces the family's other value; a refresh updates the tag
    /// but not the history. Queues the rows that end up different.
    pub(crate) fn apply(&mut self, contact: ContactId, held: &[Tag], changes: &[TagChange]) {
        let before: BTreeMap<(TagFamily, String), Tag> = held
            .iter()
            .map(|t| ((t.family, t.value.clone()), t.clone()))
            .collect();
        let mut after = before.clone();
        for change in changes {
            let tag = &change.tag;
            let key = (tag.family, tag.value.clone());
            match change.kind {
                TagChangeKind::Set => {
                    if tag.family.is_exclusive() {
                        after.retain(|(family, value), _| {
                            *family != tag.family || *value == tag.value
                        });
                    }
                    after.insert(key, tag.clone());
                }
                TagChangeKind::Removed => {
                    after.remove(&key);
                }
                TagChangeKind::Refreshed => {
                    // Newer evidence for the same tag: the tag row follows, the history does not.
                    after.insert(key, tag.clone());
                    continue;
                }
            }
            self.history.push((contact, change.clone()));
        }
        for (family, value) in before.keys() {
            if !after.contains_key(&(*family, value.clone())) {
                self.deletes.push((contact, *family, value.clone()));
            }
        }
        for (key, tag) in after {
            if before.get(&key) != Some(&tag) {
                self.upserts.push((contact, tag));
            }
        }
    }

    pub(crate) async fn write(self, tx: &Tx<'_>) -> Res<()> {
        if !self.deletes.is_empty() {
            let ids: Vec<i64> = self.deletes.iter().map(|d| d.0.get()).collect();
            let families: Vec<&str> = self.deletes.iter().map(|d| d.1.as_str()).collect();
            let values: Vec<&str> = self.deletes.iter().map(|d| d.2.as_str()).collect();
            execute(
                tx,
                "DELETE FROM tags t USING unnest($1::bigint[], $2::text[], $3::text[]) AS d(contact_id, family, value)
                 WHERE t.contact_id = d.contact_id AND t.family = d.family AND t.value = d.value",
                &[&ids, &families, &values],
            )
            .await?;
        }
        if !self.upserts.is_empty() {
            let c = TagColumns::of(self.upserts.iter().map(|(id, t)| (*id, t)));
            execute(
                tx,
                &format!(
                    "INSERT INTO tags (contact_id, {TAG_COLUMNS}, set_at)
                     SELECT * FROM {UNNEST_TAGS}
                     ON CONFLICT (contact_id, family, value) DO UPDATE SET colour = excluded.colour,
                       rule = excluded.rule, evidence_message_id = excluded.evidence_message_id,
                       evidence_event_id = excluded.evidence_event_id,
                       evidence_detail = excluded.evidence_detail, set_at = excluded.set_at"
                ),
                &c.params(),
            )
            .await?;
        }
        if !self.history.is_empty() {
            let ids = allocate_ids(tx, "tag_changes", self.history.len()).await?;
            let kinds: Vec<&str> = self.history.iter().map(|(_, c)| c.kind.as_str()).collect();
            let c = TagColumns::of(self.history.iter().map(|(id, c)| (*id, &c.tag)));
            let mut params = c.params();
            params.insert(0, &ids);
            params.insert(2, &kinds);
            execute(
                tx,
                &format!(
                    "INSERT INTO tag_changes (id, contact_id, change, {TAG_COLUMNS}, at)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],
                       $6::text[], $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[])"
                ),
                &params,
            )
            .await?;
        }
        Ok(())
    }
}

const UNNEST_TAGS: &str = "unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[])";

/// Tags' columns as arrays, for bulk writes.
struct TagColumns<'a> {
    contacts: Vec<i64>,
    families: Vec<&'static str>,
    values: Vec<&'a str>,
    colours: Vec<&'a str>,
    rules: Vec<&'a str>,
    messages: Vec<Option<i64>>,
    events: Vec<Option<i64>>,
    details: Vec<&'a str>,
    at: Vec<i64>,
}

impl<'a> TagColumns<'a> {
    fn of(tags: impl Iterator<Item = (ContactId, &'a Tag)>) -> Self {
        let mut c = TagColumns {
            contacts: Vec::new(),
            families: Vec::new(),
            values: Vec::new(),
            colours: Vec::new(),
            rules: Vec::new(),
            messages: Vec::new(),
            events: Vec::new(),
            details: Vec::new(),
            at: Vec::new(),
        };
        for (contact, tag) in tags {
            c.contacts.push(contact.get());
            c.families.push(tag.family.as_str());
            c.values.push(&tag.value);
            c.colours.push(&tag.colour);
            c.rules.push(&tag.rule);
            c.messages.push(tag.evidence.message.map(MessageId::get));
            c.events.push(tag.evidence.event.map(EventId::get));
            c.details.push(&tag.evidence.detail);
            c.at.push(to_millis(tag.set_at));
        }
        c
    }

    fn params(&self) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
        vec![
            &self.contacts,
            &self.families,
            &self.values,
            &self.colours,
            &self.rules,
            &self.messages,
            &self.events,
            &self.details,
            &self.at,
        ]
    }
}

/// The static tag an import sets.
pub(crate) fn import_tag(value: String, at: Timestamp) -> Tag {
    Tag {
        family: TagFamily::Static,
        value,
        colour: "grey".into(),
        rule: "import".into(),
        evidence: Evidence {
            message: None,
            event: None,
            detail: "set by an import".into(),
        },
        set_at: at,
    }
}

/// Applies changes to an existing (resolved, locked) contact's tags and records them in its
/// history.
pub(crate) async fn apply_tag_changes(
    tx: &Tx<'_>,
    contact: ContactId,
    changes: &[TagChange],
) -> Res<()> {
    let held = tags_of(tx, &[contact])
        .await?
        .remove(&contact)
        .unwrap_or_default();
    let mut writes = TagWrites::default();
    writes.apply(contact, &held, changes);
    writes.write(tx).await
}

pub(crate) async fn list_tags(tx: &Tx<'_>, contact: ContactId) -> Res<Vec<Tag>> {
    let contact = resolved(tx, contact).await?;
    Ok(tags_of(tx, &[contact])
        .await?
        .remove(&contact)
        .unwrap_or_default())
}

pub(crate) async fn tag_history(tx: &Tx<'_>, contact: ContactId) -> Res<Vec<TagChange>> {
    let contact = resolved(tx, contact).await?;
    let rows = query(
        tx,
        &format!(
            "SELECT change, {TAG_COLUMNS}, at FROM tag_changes WHERE contact_id = $1 ORDER BY at, id"
        ),
        &[&contact.get()],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let kind = match row.try_get::<_, &str>(0)? {
            "set" => TagChangeKind::Set,
            "removed" => TagChangeKind::Removed,
            other => {
                return Err(Fail::Store(StoreError::Backend(format!(
                    "stored tag change {other:?} is unreadable"
                ))));
            }
        };
        out.push(TagChange {
            kind,
            tag: tag_from_row(&row, 1)?,
        });
    }
    Ok(out)
}

/// Inserts notes in order, with ids in that order.
pub(crate) async fn insert_notes(
    tx: &Tx<'_>,
    notes: &[(ContactId, Option<UserId>, String, Timestamp)],
) -> Res<Vec<i64>> {
    let ids = allocate_ids(tx, "notes", notes.len()).await?;
    if ids.is_empty() {
        return Ok(ids);
    }
    let contacts: Vec<i64> = notes.iter().map(|n| n.0.get()).collect();
    let authors: Vec<Option<i64>> = notes.iter().map(|n| n.1.map(UserId::get)).collect();
    let bodies: Vec<&str> = notes.iter().map(|n| n.2.as_str()).collect();
    let at: Vec<i64> = notes.iter().map(|n| to_millis(n.3)).collect();
    execute(
        tx,
        "INSERT INTO notes (id, contact_id, author_id, body, at)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[])",
        &[&ids, &contacts, &authors, &bodies, &at],
    )
    .await?;
    Ok(ids)
}

pub(crate) async fn add_note(
    tx: &Tx<'_>,
    contact: ContactId,
    author: Option<UserId>,
    text: &str,
    at: Timestamp,
) -> Res<Note> {
    let row = query_opt(
        tx,
        "INSERT INTO notes (contact_id, author_id, body, at) VALUES ($1, $2, $3, $4) RETURNING id",
        &[
            &contact.get(),
            &author.map(UserId::get),
            &text,
            &to_millis(at),
        ],
    )
    .await?
    .ok_or_else(|| Fail::Store(StoreError::Backend("a note insert returned nothing".into())))?;
    Ok(Note {
        id: NoteId::new(row.try_get(0)?),
        contact,
        author,
        text: text.to_owned(),
        at,
    })
}

pub(crate) async fn list_notes(tx: &Tx<'_>, contact: ContactId) -> Res<Vec<Note>> {
    let contact = resolved(tx, contact).await?;
    let rows = query(
        tx,
        "SELECT id, contact_id, author_id, body, at FROM notes WHERE contact_id = $1 ORDER BY at, id",
        &[&contact.get()],
    )
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Note {
                id: NoteId::new(row.try_get(0)?),
                contact: ContactId::new(row.try_get(1)?),
                author: row.try_get::<_, Option<i64>>(2)?.map(UserId::new),
                text: row.try_get(3)?,
                at: from_millis(row.try_get(4)?)?,
            })
        })
        .collect()
}

const TASK_COLUMNS: &str = "id, contact_id, kind, title, due_at, assignee_id, done_at, created_at";

fn task_from_row(row: &Row) -> Res<Task> {
    let opt_time = |i: usize| -> Res<Option<Timestamp>> {
        Ok(row
            .try_get::<_, Option<i64>>(i)?
            .map(from_millis)
            .transpose()?)
    };
    Ok(Task {
        id: TaskId::new(row.try_get(0)?),
        contact: ContactId::new(row.try_get(1)?),
        kind: parse_column("task kind", row.try_get::<_, &str>(2)?)?,
        title: row.try_get(3)?,
        due_at: opt_time(4)?,
        assignee: row.try_get::<_, Option<i64>>(5)?.map(UserId::new),
        done_at: opt_time(6)?,
        created_at: from_millis(row.try_get(7)?)?,
    })
}

pub(crate) async fn add_task(tx: &Tx<'_>, draft: &TaskDraft, now: Timestamp) -> Res<Task> {
    let contact = contacts::lock_resolved(tx, draft.contact).await?;
    if draft.title.trim().is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "title",
            reason: "a task needs a title".into(),
        }));
    }
    let row = query_opt(
        tx,
        &format!(
            "INSERT INTO tasks (contact_id, kind, title, due_at, assignee_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {TASK_COLUMNS}"
        ),
        &[
            &contact.get(),
            &draft.kind.as_str(),
            &draft.title,
            &draft.due_at.map(to_millis),
            &draft.assignee.map(UserId::get),
            &to_millis(now),
        ],
    )
    .await?
    .ok_or_else(|| Fail::Store(StoreError::Backend("a task insert returned nothing".into())))?;
    task_from_row(&row)
}

pub(crate) async fn complete_task(tx: &Tx<'_>, id: TaskId, at: Timestamp) -> Res<Task> {
    let row = query_opt(
        tx,
        &format!("UPDATE tasks SET done_at = $2 WHERE id = $1 RETURNING {TASK_COLUMNS}"),
        &[&id.get(), &to_millis(at)],
    )
    .await?;
    match row {
        Some(row) => task_from_row(&row),
        None => Err(not_found("task", id)),
    }
}

pub(crate) async fn list_tasks(tx: &Tx<'_>, contact: ContactId) -> Res<Vec<Task>> {
    let contact = resolved(tx, contact).await?;
    let rows = query(
        tx,
        &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE contact_id = $1 ORDER BY id"),
        &[&contact.get()],
    )
    .await?;
    rows.iter().map(task_from_row).collect()
}

pub(crate) async fn define_custom_field(tx: &Tx<'_>, def: &CustomFieldDef) -> Res<()> {
    let name = def.name.trim().to_lowercase();
    if name.is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "name",
            reason: "a custom field needs a name".into(),
        }));
    }
    let choices = match &def.field_type {
        CustomFieldType::Choice(c) => c.join("\n"),
        _ => String::new(),
    };
    execute(
        tx,
        "INSERT INTO custom_fields (name, field_type, choices) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET field_type = excluded.field_type, choices = excluded.choices",
        &[&name, &def.field_type.as_str(), &choices],
    )
    .await?;
    Ok(())
}

pub(crate) async fn list_custom_fields(tx: &Tx<'_>) -> Res<Vec<CustomFieldDef>> {
    let rows = query(
        tx,
        "SELECT name, field_type, choices FROM custom_fields ORDER BY name",
        &[],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(0)?;
        let choices: &str = row.try_get(2)?;
        let field_type = match row.try_get::<_, &str>(1)? {
            "text" => CustomFieldType::Text,
            "number" => CustomFieldType::Number,
            "date" => CustomFieldType::Date,
            "choice" => CustomFieldType::Choice(choices.lines().map(str::to_owned).collect()),
            "yes/no" => CustomFieldType::YesNo,
            other => {
                return Err(Fail::Store(StoreError::Backend(format!(
                    "stored custom field type {other:?} is unreadable"
                ))));
            }
        };
        out.push(CustomFieldDef { name, field_type });
    }
    Ok(out)
}

pub(crate) async fn create_team(tx: &Tx<'_>, name: &str) -> Res<Team> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Fail::Store(StoreError::Invalid {
            field: "name",
            reason: "a team needs a name".into(),
        }));
    }
    let row = query_opt(
        tx,
        "INSERT INTO teams (name) VALUES ($1) RETURNING id",
        &[&name],
    )
    .await
    .map_err(|e| e.or_conflict("team", name))?
    .ok_or_else(|| Fail::Store(StoreError::Backend("a team insert returned nothing".into())))?;
    Ok(Team {
        id: TeamId::new(row.try_get(0)?),
        name: name.to_owned(),
    })
}

pub(crate) async fn list_teams(tx: &Tx<'_>) -> Res<Vec<Team>> {
    let rows = query(tx, "SELECT id, name FROM teams ORDER BY id", &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(Team {
                id: TeamId::new(r.try_get(0)?),
                name: r.try_get(1)?,
            })
        })
        .collect()
}

const USER_COLUMNS: &str = "id, email, name, role, team_id, created_at";

fn user_from_row(row: &Row) -> Res<User> {
    Ok(User {
        id: UserId::new(row.try_get(0)?),
        email: Email::from_stored(row.try_get::<_, &str>(1)?).map_err(|e| {
            Fail::Store(StoreError::Backend(format!(
                "stored user e-mail is unreadable: {e}"
            )))
        })?,
        name: row.try_get(2)?,
        role: parse_column("role", row.try_get::<_, &str>(3)?)?,
        team: row.try_get::<_, Option<i64>>(4)?.map(TeamId::new),
        created_at: from_millis(row.try_get(5)?)?,
    })
}

pub(crate) async fn create_user(tx: &Tx<'_>, draft: &UserDraft, now: Timestamp) -> Res<User> {
    let row = query_opt(
        tx,
        &format!(
            "INSERT INTO users (email, email_key, name, role, team_id, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {USER_COLUMNS}"
        ),
        &[
            &draft.email.as_str(),
            &draft.email.dedup_key(),
            &draft.name,
            &draft.role.as_str(),
            &draft.team.map(TeamId::get),
            &draft.password_hash,
            &to_millis(now),
        ],
    )
    .await
    .map_err(|e| e.or_conflict("user", draft.email.as_str()))?
    .ok_or_else(|| Fail::Store(StoreError::Backend("a user insert returned nothing".into())))?;
    user_from_row(&row)
}

/// The `email_key` a looked-up address is compared with: every lookup by e-mail (a login
/// too) matches the same way.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(crate) async fn find_user_by_email(tx: &Tx<'_>, email: &str) -> Res<Option<User>> {
    query_opt(
        tx,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE email_key = $1"),
        &[&email_key(email)],
    )
    .await?
    .map(|row| user_from_row(&row))
    .transpose()
}

pub(crate) async fn login_lookup(tx: &Tx<'_>, email: &str) -> Res<Option<(User, Option<String>)>> {
    query_opt(
        tx,
        &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email_key = $1"),
        &[&email_key(email)],
    )
    .await?
    .map(|row| Ok((user_from_row(&row)?, row.try_get(6)?)))
    .transpose()
}

pub(crate) async fn set_password_hash(tx: &Tx<'_>, user: UserId, hash: Option<&str>) -> Res<()> {
    let changed = execute(
        tx,
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        &[&user.get(), &hash],
    )
    .await?;
    if changed == 0 {
        return Err(not_found("user", user));
    }
    Ok(())
}

pub(crate) async fn get_user(tx: &Tx<'_>, id: UserId) -> Res<User> {
    match query_opt(
        tx,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
        &[&id.get()],
    )
    .await?
    {
        Some(row) => user_from_row(&row),
        None => Err(not_found("user", id)),
    }
}

pub(crate) async fn list_users(tx: &Tx<'_>) -> Res<Vec<User>> {
    let rows = query(
        tx,
        &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
        &[],
    )
    .await?;
    rows.iter().map(user_from_row).collect()
}

pub(crate) async fn create_api_token(
    tx: &Tx<'_>,
    name: &str,
    role: Role,
    user: Option<UserId>,
    token_hash: &str,
    now: Timestamp,
) -> Res<ApiToken> {
    let row = query_opt(
        tx,
        "INSERT INTO api_tokens (name, role, user_id, token_hash, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        &[
            &name,
            &role.as_str(),
            &user.map(UserId::get),
            &token_hash,
            &to_millis(now),
        ],
    )
    .await
    .map_err(|e| e.or_conflict("token", name))?
    .ok_or_else(|| {
        Fail::Store(StoreError::Backend(
            "a token insert returned nothing".into(),
        ))
    })?;
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: name.to_owned(),
        role,
        user,
        created_at: now,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, user_id, created_at";

fn api_token(row: &tokio_postgres::Row) -> Res<ApiToken> {
    Ok(ApiToken {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        role: parse_column("role", row.try_get::<_, &str>(2)?)?,
        user: row.try_get::<_, Option<i64>>(3)?.map(UserId::new),
        created_at: from_millis(row.try_get(4)?)?,
    })
}

pub(crate) async fn find_api_token(tx: &Tx<'_>, token_hash: &str) -> Res<Option<ApiToken>> {
    let row = query_opt(
        tx,
        &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"),
        &[&token_hash],
    )
    .await?;
    row.as_ref().map(api_token).transpose()
}

pub(crate) async fn list_api_tokens(tx: &Tx<'_>) -> Res<Vec<ApiToken>> {
    let rows = tx
        .query(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"),
            &[],
        )
        .await?;
    rows.iter().map(api_token).collect()
}

pub(crate) async fn revoke_api_token(tx: &Tx<'_>, id: i64) -> Res<ApiToken> {
    let row = query_opt(
        tx,
        &format!("DELETE FROM api_tokens WHERE id = $1 RETURNING {TOKEN_COLUMNS}"),
        &[&id],
    )
    .await?;
    match row {
        Some(row) => api_token(&row),
        None => Err(crate::not_found("API token", id)),
    }
}

pub(crate) async fn create_session(tx: &Tx<'_>, token_hash: &str, session: &Session) -> Res<()> {
    // Checked first so that an unknown user is named as such, not reported as a taken hash.
    get_user(tx, session.user).await?;
    // ON CONFLICT rather than a caught violation: a failed statement would abort the transaction.
    let inserted = execute(
        tx,
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_hash) DO NOTHING",
        &[
            &token_hash,
            &session.user.get(),
            &session.csrf_token,
            &to_millis(session.created_at),
            &to_millis(session.expires_at),
        ],
    )
    .await?;
    if inserted == 0 {
        // The key names the user, never the hash: error messages end up in logs.
        return Err(Fail::Store(StoreError::Conflict {
            entity: "session",
            key: format!("of user {}", session.user),
            reason: "a session with this token hash already exists".into(),
        }));
    }
    Ok(())
}

pub(crate) async fn find_session(
    tx: &Tx<'_>,
    token_hash: &str,
    now: Timestamp,
) -> Res<Option<Session>> {
    query_opt(
        tx,
        "SELECT user_id, csrf_token, created_at, expires_at FROM sessions
         WHERE token_hash = $1 AND expires_at > $2",
        &[&token_hash, &to_millis(now)],
    )
    .await?
    .map(|row| {
        Ok(Session {
            user: UserId::new(row.try_get(0)?),
            csrf_token: row.try_get(1)?,
            created_at: from_millis(row.try_get(2)?)?,
            expires_at: from_millis(row.try_get(3)?)?,
        })
    })
    .transpose()
}

pub(crate) async fn delete_session(tx: &Tx<'_>, token_hash: &str) -> Res<()> {
    execute(
        tx,
        "DELETE FROM sessions WHERE token_hash = $1",
        &[&token_hash],
    )
    .await?;
    Ok(())
}

pub(crate) async fn delete_user_sessions(tx: &Tx<'_>, user: UserId) -> Res<u64> {
    execute(
        tx,
        "DELETE FROM sessions WHERE user_id = $1",
        &[&user.get()],
    )
    .await
}

pub(crate) async fn purge_sessions(tx: &Tx<'_>, now: Timestamp) -> Res<u64> {
    execute(
        tx,
        "DELETE FROM sessions WHERE expires_at <= $1",
        &[&to_millis(now)],
    )
    .await
}

pub(crate) async fn counts(tx: &Tx<'_>) -> Res<Counts> {
    let row = query_opt(
        tx,
        "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM accounts),
                (SELECT count(*) FROM conversations), (SELECT count(*) FROM messages),
                (SELECT count(*) FROM events), (SELECT count(*) FROM tags),
                (SELECT count(*) FROM users)",
        &[],
    )
    .await?
    .ok_or_else(|| Fail::Store(StoreError::Backend("counts returned nothing".into())))?;
    let n = |i: usize| -> Res<u64> { Ok(row.try_get::<_, i64>(i)?.max(0).unsigned_abs()) };
    Ok(Counts {
        contacts: n(0)?,
        accounts: n(1)?,
        conversations: n(2)?,
        messages: n(3)?,
        events: n(4)?,
        tags: n(5)?,
        users: n(6)?,
    })
}
