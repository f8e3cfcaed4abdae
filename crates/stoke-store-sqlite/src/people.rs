//! Tags, notes, tasks, custom fields, teams, users, tokens and sessions: the low-volume side of
//! the store.

use jiff::Timestamp;
use r2d2_sqlite::rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};
use stoke_core::{
    ContactId, CustomFieldDef, CustomFieldType, Email, EventId, Evidence, MessageId, Note, NoteId,
    Role, Tag, TagChange, TagChangeKind, TagFamily, Task, TaskDraft, TaskId, Team, TeamId, User,
    UserDraft, UserId,
};
use stoke_store::codec::{from_millis, parse_column, to_millis};
use stoke_store::{ApiToken, Counts, Session, StoreError, StoreResult};

use crate::{contacts, db_err};

/// Maps a unique-constraint violation to a conflict on `key`.
fn unique_or(err: r2d2_sqlite::rusqlite::Error, entity: &'static str, key: &str) -> StoreError {
    match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict {
            entity,
            key: key.to_owned(),
            reason: format!("{entity} {key:?} already exists"),
        },
        _ => db_err(err),
    }
}

fn resolved(conn: &Connection, contact: ContactId) -> StoreResult<ContactId> {
    contacts::resolve(conn, contact)?.ok_or_else(|| StoreError::not_found("contact", contact))
}

fn tag_from_row(row: &Row<'_>, offset: usize) -> StoreResult<Tag> {
    Ok(Tag {
        family: parse_column::<TagFamily>(
            "tag family",
            &row.get::<_, String>(offset).map_err(db_err)?,
        )?,
        value: row.get(offset + 1).map_err(db_err)?,
        colour: row.get(offset + 2).map_err(db_err)?,
        rule: row.get(offset + 3).map_err(db_err)?,
        evidence: Evidence {
            message: row
                .get::<_, Option<i64>>(offset + 4)
                .map_err(db_err)?
                .map(MessageId::new),
            event: row
                .get::<_, Option<i64>>(offset + 5)
                .map_err(db_err)?
                .map(EventId::new),
            detail: row.get(offset + 6).map_err(db_err)?,
        },
        set_at: from_millis(row.get(offset + 7).map_err(db_err)?)?,
    })
}

pub(crate) fn upsert_tag(conn: &Connection, contact: ContactId, tag: &Tag) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO tags (contact_id, family, value, colour, rule, evidence_message_id, evidence_event_id, evidence_detail, set_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut s| {
        s.execute(params![
            contact.get(),
            tag.family.as_str(),
            tag.value,
            tag.colour,
            tag.rule,
            tag.evidence.message.map(MessageId::get),
            tag.evidence.event.map(EventId::get),
            tag.evidence.detail,
            to_millis(tag.set_at),
        ])
    })
    .map_err(db_err)?;
    Ok(())
}

/// Applies changes to an existing (resolved) contact's tags and records them in its history.
pub(crate) fn apply_tag_changes(
    conn: &Connection,
    contact: ContactId,
    changes: &[TagChange],
) -> StoreResult<()> {
    for change in changes {
        let tag = &change.tag;
        match change.kind {
            TagChangeKind::Set => {
                if tag.family.is_exclusive() {
                    conn.prepare_cached(
                        "DELETE FROM tags WHERE contact_id = ?1 AND family = ?2 AND value <> ?3",
                    )
                    .and_then(|mut s| {
                        s.execute(params![contact.get(), tag.family.as_str(), tag.value])
                    })
                    .map_err(db_err)?;
                }
                upsert_tag(conn, contact, tag)?;
            }
            TagChangeKind::Removed => {
                conn.prepare_cached(
                    "DELETE FROM tags WHERE contact_id = ?1 AND family = ?2 AND value = ?3",
                )
                .and_then(|mut s| s.execute(params![contact.get(), tag.family.as_str(), tag.value]))
                .map_err(db_err)?;
            }
            TagChangeKind::Refreshed => {
                // Newer evidence for the same tag: the tag row follows, the history does not.
                upsert_tag(conn, contact, tag)?;
                continue;
            }
        }
        conn.prepare_cached(
            "INSERT INTO tag_changes (contact_id, change, family, value, colour, rule, evidence_message_id, evidence_event_id, evidence_detail, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .and_then(|mut s| {
            s.execute(params![
                contact.get(),
                change.kind.as_str(),
                tag.family.as_str(),
                tag.value,
                tag.colour,
                tag.rule,
                tag.evidence.message.map(MessageId::get),
                tag.evidence.event.map(EventId::get),
                tag.evidence.detail,
                to_millis(tag.set_at),
            ])
        })
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) fn list_tags(conn: &Connection, contact: ContactId) -> StoreResult<Vec<Tag>> {
    let contact = resolved(conn, contact)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT family, value, colour, rule, evidence_message_id, evidence_event_id, evidence_detail, set_at
             FROM tags WHERE contact_id = ?1",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    let mut tags = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        tags.push(tag_from_row(row, 0)?);
    }
    // Family order is the domain's (activity first), not the alphabet's.
    tags.sort_by(|a, b| (a.family, &a.value).cmp(&(b.family, &b.value)));
    Ok(tags)
}

pub(crate) fn tag_history(conn: &Connection, contact: ContactId) -> StoreResult<Vec<TagChange>> {
    let contact = resolved(conn, contact)?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT change, family, value, colour, rule, evidence_message_id, evidence_event_id, evidence_detail, at
             FROM tag_changes WHERE contact_id = ?1 ORDER BY at, id",
        )
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let kind = match row.get::<_, String>(0).map_err(db_err)?.as_str() {
            "set" => TagChangeKind::Set,
            "removed" => TagChangeKind::Removed,
            other => {
                return Err(StoreError::Backend(format!(
                    "stored tag change {other:?} is unreadable"
                )));
            }
        };
        out.push(TagChange {
            kind,
            tag: tag_from_row(row, 1)?,
        });
    }
    Ok(out)
}

pub(crate) fn add_note(
    conn: &Connection,
    contact: ContactId,
    author: Option<UserId>,
    text: &str,
    at: Timestamp,
) -> StoreResult<Note> {
    conn.prepare_cached(
        "INSERT INTO notes (contact_id, author_id, body, at) VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut s| {
        s.execute(params![
            contact.get(),
            author.map(UserId::get),
            text,
            to_millis(at)
        ])
    })
    .map_err(db_err)?;
    Ok(Note {
        id: NoteId::new(conn.last_insert_rowid()),
        contact,
        author,
        text: text.to_owned(),
        at,
    })
}

pub(crate) fn list_notes(conn: &Connection, contact: ContactId) -> StoreResult<Vec<Note>> {
    let contact = resolved(conn, contact)?;
    let mut stmt = conn
        .prepare_cached("SELECT id, contact_id, author_id, body, at FROM notes WHERE contact_id = ?1 ORDER BY at, id")
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(Note {
            id: NoteId::new(row.get(0).map_err(db_err)?),
            contact: ContactId::new(row.get(1).map_err(db_err)?),
            author: row
                .get::<_, Option<i64>>(2)
                .map_err(db_err)?
                .map(UserId::new),
            text: row.get(3).map_err(db_err)?,
            at: from_millis(row.get(4).map_err(db_err)?)?,
        });
    }
    Ok(out)
}

const TASK_COLUMNS: &str = "id, contact_id, kind, title, due_at, assignee_id, done_at, created_at";

fn task_from_row(row: &Row<'_>) -> StoreResult<Task> {
    let opt_time = |i: usize| -> StoreResult<Option<Timestamp>> {
        row.get::<_, Option<i64>>(i)
            .map_err(db_err)?
            .map(from_millis)
            .transpose()
    };
    Ok(Task {
        id: TaskId::new(row.get(0).map_err(db_err)?),
        contact: ContactId::new(row.get(1).map_err(db_err)?),
        kind: parse_column("task kind", &row.get::<_, String>(2).map_err(db_err)?)?,
        title: row.get(3).map_err(db_err)?,
        due_at: opt_time(4)?,
        assignee: row
            .get::<_, Option<i64>>(5)
            .map_err(db_err)?
            .map(UserId::new),
        done_at: opt_time(6)?,
        created_at: from_millis(row.get(7).map_err(db_err)?)?,
    })
}

fn load_task(conn: &Connection, id: TaskId) -> StoreResult<Task> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))
        .map_err(db_err)?;
    let mut rows = stmt.query([id.get()]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(row) => task_from_row(row),
        None => Err(StoreError::not_found("task", id)),
    }
}

pub(crate) fn add_task(conn: &Connection, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task> {
    let contact = resolved(conn, draft.contact)?;
    if draft.title.trim().is_empty() {
        return Err(StoreError::Invalid {
            field: "title",
            reason: "a task needs a title".into(),
        });
    }
    conn.execute(
        "INSERT INTO tasks (contact_id, kind, title, due_at, assignee_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            contact.get(),
            draft.kind.as_str(),
            draft.title,
            draft.due_at.map(to_millis),
            draft.assignee.map(UserId::get),
            to_millis(now)
        ],
    )
    .map_err(db_err)?;
    load_task(conn, TaskId::new(conn.last_insert_rowid()))
}

pub(crate) fn complete_task(conn: &Connection, id: TaskId, at: Timestamp) -> StoreResult<Task> {
    let changed = conn
        .execute(
            "UPDATE tasks SET done_at = ?2 WHERE id = ?1",
            params![id.get(), to_millis(at)],
        )
        .map_err(db_err)?;
    if changed == 0 {
        return Err(StoreError::not_found("task", id));
    }
    load_task(conn, id)
}

pub(crate) fn list_tasks(conn: &Connection, contact: ContactId) -> StoreResult<Vec<Task>> {
    let contact = resolved(conn, contact)?;
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {TASK_COLUMNS} FROM tasks WHERE contact_id = ?1 ORDER BY id"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([contact.get()]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(task_from_row(row)?);
    }
    Ok(out)
}

pub(crate) fn define_custom_field(conn: &Connection, def: &CustomFieldDef) -> StoreResult<()> {
    let name = def.name.trim().to_lowercase();
    if name.is_empty() {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "a custom field needs a name".into(),
        });
    }
    let choices = match &def.field_type {
        CustomFieldType::Choice(c) => c.join("\n"),
        _ => String::new(),
    };
    conn.execute(
        "INSERT INTO custom_fields (name, field_type, choices) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET field_type = excluded.field_type, choices = excluded.choices",
        params![name, def.field_type.as_str(), choices],
    )
    .map_err(db_err)?;
    Ok(())
}

pub(crate) fn list_custom_fields(conn: &Connection) -> StoreResult<Vec<CustomFieldDef>> {
    let mut stmt = conn
        .prepare_cached("SELECT name, field_type, choices FROM custom_fields ORDER BY name")
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        let name: String = row.get(0).map_err(db_err)?;
        let kind: String = row.get(1).map_err(db_err)?;
        let choices: String = row.get(2).map_err(db_err)?;
        let field_type = match kind.as_str() {
            "text" => CustomFieldType::Text,
            "number" => CustomFieldType::Number,
            "date" => CustomFieldType::Date,
            "choice" => CustomFieldType::Choice(choices.lines().map(str::to_owned).collect()),
            "yes/no" => CustomFieldType::YesNo,
            other => {
                return Err(StoreError::Backend(format!(
                    "stored custom field type {other:?} is unreadable"
                )));
            }
        };
        out.push(CustomFieldDef { name, field_type });
    }
    Ok(out)
}

pub(crate) fn create_team(conn: &Connection, name: &str) -> StoreResult<Team> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StoreError::Invalid {
            field: "name",
            reason: "a team needs a name".into(),
        });
    }
    conn.execute("INSERT INTO teams (name) VALUES (?1)", [name])
        .map_err(|e| unique_or(e, "team", name))?;
    Ok(Team {
        id: TeamId::new(conn.last_insert_rowid()),
        name: name.to_owned(),
    })
}

pub(crate) fn list_teams(conn: &Connection) -> StoreResult<Vec<Team>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name FROM teams ORDER BY id")
        .map_err(db_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(Team {
                id: TeamId::new(r.get(0)?),
                name: r.get(1)?,
            })
        })
        .map_err(db_err)?;
    rows.collect::<Result<_, _>>().map_err(db_err)
}

const USER_COLUMNS: &str = "id, email, name, role, team_id, created_at";

fn user_from_row(row: &Row<'_>) -> StoreResult<User> {
    Ok(User {
        id: UserId::new(row.get(0).map_err(db_err)?),
        email: Email::from_stored(&row.get::<_, String>(1).map_err(db_err)?)
            .map_err(|e| StoreError::Backend(format!("stored user e-mail is unreadable: {e}")))?,
        name: row.get(2).map_err(db_err)?,
        role: parse_column("role", &row.get::<_, String>(3).map_err(db_err)?)?,
        team: row
            .get::<_, Option<i64>>(4)
            .map_err(db_err)?
            .map(TeamId::new),
        created_at: from_millis(row.get(5).map_err(db_err)?)?,
    })
}

pub(crate) fn create_user(
    conn: &Connection,
    draft: &UserDraft,
    now: Timestamp,
) -> StoreResult<User> {
    let key = draft.email.dedup_key();
    conn.execute(
        "INSERT INTO users (email, email_key, name, role, team_id, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            draft.email.as_str(),
            key,
            draft.name,
            draft.role.as_str(),
            draft.team.map(TeamId::get),
            draft.password_hash,
            to_millis(now)
        ],
    )
    .map_err(|e| unique_or(e, "user", draft.email.as_str()))?;
    find_user_by_email(conn, &key)?
        .ok_or_else(|| StoreError::Backend("user vanished after insert".into()))
}

/// The `email_key` a looked-up address is compared with: every lookup by e-mail (a login
/// too) matches the same way.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

pub(crate) fn find_user_by_email(conn: &Connection, email: &str) -> StoreResult<Option<User>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([email_key(email)]).map_err(db_err)?;
    rows.next().map_err(db_err)?.map(user_from_row).transpose()
}

pub(crate) fn login_lookup(
    conn: &Connection,
    email: &str,
) -> StoreResult<Option<(User, Option<String>)>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email_key = ?1"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([email_key(email)]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(row) => Ok(Some((user_from_row(row)?, row.get(6).map_err(db_err)?))),
        None => Ok(None),
    }
}

pub(crate) fn set_password_hash(
    conn: &Connection,
    user: UserId,
    hash: Option<&str>,
) -> StoreResult<()> {
    let changed = conn
        .execute(
            "UPDATE users SET password_hash = ?2 WHERE id = ?1",
            params![user.get(), hash],
        )
        .map_err(db_err)?;
    if changed == 0 {
        return Err(StoreError::not_found("user", user));
    }
    Ok(())
}

pub(crate) fn get_user(conn: &Connection, id: UserId) -> StoreResult<User> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
        .map_err(db_err)?;
    let mut rows = stmt.query([id.get()]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        Some(row) => user_from_row(row),
        None => Err(StoreError::not_found("user", id)),
    }
}

pub(crate) fn list_users(conn: &Connection) -> StoreResult<Vec<User>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(user_from_row(row)?);
    }
    Ok(out)
}

pub(crate) fn create_api_token(
    conn: &Connection,
    name: &str,
    role: Role,
    user: Option<UserId>,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<ApiToken> {
    conn.execute(
        "INSERT INTO api_tokens (name, role, user_id, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, role.as_str(), user.map(UserId::get), token_hash, to_millis(now)],
    )
    .map_err(|e| unique_or(e, "token", name))?;
    Ok(ApiToken {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        role,
        user,
        created_at: now,
    })
}

const TOKEN_COLUMNS: &str = "id, name, role, user_id, created_at";

fn api_token(row: &r2d2_sqlite::rusqlite::Row<'_>) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.get(0).map_err(db_err)?,
        name: row.get(1).map_err(db_err)?,
        role: parse_column("role", &row.get::<_, String>(2).map_err(db_err)?)?,
        user: row
            .get::<_, Option<i64>>(3)
            .map_err(db_err)?
            .map(UserId::new),
        created_at: from_millis(row.get(4).map_err(db_err)?)?,
    })
}

pub(crate) fn find_api_token(conn: &Connection, token_hash: &str) -> StoreResult<Option<ApiToken>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = ?1"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([token_hash]).map_err(db_err)?;
    match rows.next().map_err(db_err)? {
        None => Ok(None),
        Some(row) => api_token(row).map(Some),
    }
}

pub(crate) fn list_api_tokens(conn: &Connection) -> StoreResult<Vec<ApiToken>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
        ))
        .map_err(db_err)?;
    let mut rows = stmt.query([]).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(api_token(row)?);
    }
    Ok(out)
}

pub(crate) fn revoke_api_token(conn: &Connection, id: i64) -> StoreResult<ApiToken> {
    let found = {
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?1"
            ))
            .map_err(db_err)?;
        let mut rows = stmt.query([id]).map_err(db_err)?;
        match rows.next().map_err(db_err)? {
            None => return Err(StoreError::not_found("API token", id)),
            Some(row) => api_token(row)?,
        }
    };
    conn.execute("DELETE FROM api_tokens WHERE id = ?1", [id])
        .map_err(db_err)?;
    Ok(found)
}

pub(crate) fn create_session(
    conn: &Connection,
    token_hash: &str,
    session: &Session,
) -> StoreResult<()> {
    // Checked first so that an unknown user is named as such, not reported as a taken hash.
    get_user(conn, session.user)?;
    let inserted = conn
        .execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token_hash) DO NOTHING",
            params![
                token_hash,
                session.user.get(),
                session.csrf_token,
                to_millis(session.created_at),
                to_millis(session.expires_at)
            ],
        )
        .map_err(db_err)?;
    if inserted == 0 {
        // The key names the user, never the hash: error messages end up in logs.
        return Err(StoreError::Conflict {
            entity: "session",
            key: format!("of user {}", session.user),
            reason: "a session with this token hash already exists".into(),
        });
    }
    Ok(())
}

pub(crate) fn find_session(
    conn: &Connection,
    token_hash: &str,
    now: Timestamp,
) -> StoreResult<Option<Session>> {
    let row = conn
        .prepare_cached(
            "SELECT user_id, csrf_token, created_at, expires_at FROM sessions
             WHERE token_hash = ?1 AND expires_at > ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![token_hash, to_millis(now)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()
        })
        .map_err(db_err)?;
    row.map(|(user, csrf_token, created_at, expires_at)| {
        Ok(Session {
            user: UserId::new(user),
            csrf_token,
            created_at: from_millis(created_at)?,
            expires_at: from_millis(expires_at)?,
        })
    })
    .transpose()
}

pub(crate) fn delete_session(conn: &Connection, token_hash: &str) -> StoreResult<()> {
    conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])
        .map_err(db_err)?;
    Ok(())
}

pub(crate) fn delete_user_sessions(conn: &Connection, user: UserId) -> StoreResult<u64> {
    let deleted = conn
        .execute("DELETE FROM sessions WHERE user_id = ?1", [user.get()])
        .map_err(db_err)?;
    Ok(deleted as u64)
}

pub(crate) fn purge_sessions(conn: &Connection, now: Timestamp) -> StoreResult<u64> {
    let deleted = conn
        .execute(
            "DELETE FROM sessions WHERE expires_at <= ?1",
            [to_millis(now)],
        )
        .map_err(db_err)?;
    Ok(deleted as u64)
}

pub(crate) fn counts(conn: &Connection) -> StoreResult<Counts> {
    let count = |table: &str| -> StoreResult<u64> {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0).unsigned_abs())
        .map_err(db_err)
    };
    Ok(Counts {
        contacts: count("contacts")?,
        accounts: count("accounts")?,
        conversations: count("conversations")?,
        messages: count("messages")?,
        events: count("events")?,
        tags: count("tags")?,
        users: count("users")?,
    })
}
