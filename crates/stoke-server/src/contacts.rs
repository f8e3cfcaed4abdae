//! Contact writes over the API: create, update, merge, notes, tasks and consent, plus the privacy
//! requests (export one contact whole, erase one). Values are read by the same column parser as
//! `stoke import contacts`, so the API and the importer accept exactly the same phone numbers,
//! countries, windows and custom fields.
//!
//! Every write goes to the audit log. Contact entries name the fields that changed, never their
//! values: the audit log is kept forever, and an erasure must not leave a customer's number or
//! name behind in it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use stoke_core::{
    Channel, Consent, ConsentStatus, Contact, ContactDraft, ContactId, Email, TaskDraft, TaskKind,
};
use stoke_store::{PageRequest, Scope};
use utoipa::ToSchema;

use crate::audit::record;
use crate::columns::{Column, FieldError, changes_from_cells, draft_from_cells};
use crate::dto::{ContactDto, EventDto, MessageDto, NoteDto, TagChangeDto, TagDto, TaskDto};
use crate::{ApiError, AppState, Caller, contact_id, forbidden};

/// A contact's fields as the API takes them. Every key is optional; on update only the keys
/// present change. Lists (`phones`, `emails`, `tags`) add to what the contact has.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContactInput {
    name: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    whatsapp_id: Option<String>,
    country: Option<String>,
    city: Option<String>,
    language: Option<String>,
    time_zone: Option<String>,
    company: Option<String>,
    birthday: Option<String>,
    preferred_channel: Option<String>,
    contact_window: Option<String>,
    max_per_week: Option<u32>,
    #[serde(default)]
    tags: Vec<String>,
    /// The e-mail of the user the contact is assigned to.
    owner: Option<String>,
    /// Custom fields by key: strings, numbers or booleans.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom: BTreeMap<String, serde_json::Value>,
}

impl ContactInput {
    /// The draft these fields make, with every problem named by its key.
    fn draft(
        &self,
        custom_fields: &BTreeMap<String, stoke_core::CustomFieldDef>,
        new_contact: bool,
    ) -> Result<ContactDraft, ApiError> {
        let mut cells: Vec<(Column, String, String)> = Vec::new();
        let mut errors: Vec<FieldError> = Vec::new();
        let mut one = |column: Column, key: &str, value: &Option<String>| {
            if let Some(v) = value {
                cells.push((column, key.to_owned(), v.clone()));
            }
        };
        one(Column::Name, "name", &self.name);
        one(Column::Kind, "kind", &self.kind);
        one(Column::WhatsAppId, "whatsapp_id", &self.whatsapp_id);
        one(Column::Country, "country", &self.country);
        one(Column::City, "city", &self.city);
        one(Column::Language, "language", &self.language);
        one(Column::TimeZone, "time_zone", &self.time_zone);
        one(Column::Company, "company", &self.company);
        one(Column::Birthday, "birthday", &self.birthday);
        one(
            Column::PreferredChannel,
            "preferred_channel",
            &self.preferred_channel,
        );
        one(
            Column::ContactWindow,
            "contact_window",
            &self.contact_window,
        );
        one(Column::Owner, "owner", &self.owner);
        one(
            Column::MaxPerWeek,
            "max_per_week",
            &self.max_per_week.map(|n| n.to_string()),
        );
        for (column, key, list) in [
            (Column::Phone, "phones", &self.phones),
            (Column::Email, "emails", &self.emails),
            (Column::Tags, "tags", &self.tags),
        ] {
            for (i, item) in list.iter().enumerate() {
                if item.contains([';', ',', '|']) && column != Column::Tags {
                    errors.push(FieldError {
                        field: format!("{key}[{i}]"),
                        reason: "holds one value per item; split the list".into(),
                    });
                }
                cells.push((column.clone(), format!("{key}[{i}]"), item.clone()));
            }
        }
        for (key, value) in &self.custom {
            let field = format!("custom.{key}");
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => continue,
                _ => {
                    errors.push(FieldError {
                        field,
                        reason: "must be a string, a number or a boolean".into(),
                    });
                    continue;
                }
            };
            if key.trim().is_empty() {
                errors.push(FieldError {
                    field,
                    reason: "a custom field needs a name".into(),
                });
                continue;
            }
            cells.push((Column::Custom(key.clone()), field, text));
        }
        let cells = cells.iter().map(|(c, h, v)| (c, h.as_str(), v.as_str()));
        let draft = if new_contact {
            draft_from_cells(cells, custom_fields)
        } else {
            changes_from_cells(cells, custom_fields)
        };
        match draft {
            Ok(d) if errors.is_empty() => Ok(d),
            Ok(_) => Err(first_error(errors)),
            Err(mut e) => {
                e.extend(errors);
                Err(first_error(e))
            }
        }
    }

    /// The keys this input sets, for the audit log.
    fn keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        let mut note = |present: bool, key: &'static str| {
            if present {
                keys.push(key);
            }
        };
        note(self.name.is_some(), "name");
        note(self.kind.is_some(), "kind");
        note(!self.phones.is_empty(), "phones");
        note(!self.emails.is_empty(), "emails");
        note(self.whatsapp_id.is_some(), "whatsapp_id");
        note(self.country.is_some(), "country");
        note(self.city.is_some(), "city");
        note(self.language.is_some(), "language");
        note(self.time_zone.is_some(), "time_zone");
        note(self.company.is_some(), "company");
        note(self.birthday.is_some(), "birthday");
        note(self.preferred_channel.is_some(), "preferred_channel");
        note(self.contact_window.is_some(), "contact_window");
        note(self.max_per_week.is_some(), "max_per_week");
        note(!self.tags.is_empty(), "tags");
        note(self.owner.is_some(), "owner");
        note(!self.custom.is_empty(), "custom");
        keys
    }
}

/// One error for the response: the first, with the others' fields listed in its message.
fn first_error(errors: Vec<FieldError>) -> ApiError {
    let mut iter = errors.into_iter();
    match iter.next() {
        None => ApiError::invalid("body", "the contact is not valid"),
        Some(first) => {
            let rest: Vec<String> = iter.map(|e| format!("{}: {}", e.field, e.reason)).collect();
            let message = if rest.is_empty() {
                first.reason
            } else {
                format!("{} (also {})", first.reason, rest.join("; "))
            };
            ApiError::invalid(&first.field, message)
        }
    }
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b).map_err(ApiError::from)
}

/// The user an e-mail names, when the caller may assign a contact to them: admins anyone,
/// managers their team's users, agents themselves only.
async fn check_owner(
    state: &AppState,
    caller: &Caller,
    owner: &Email,
) -> Result<stoke_core::User, ApiError> {
    let Some(user) = state.store.find_user_by_email(owner.as_str()).await? else {
        return Err(ApiError::invalid(
            "owner",
            format!("no user has the e-mail {owner}"),
        ));
    };
    match caller.scope {
        Scope::Everything => Ok(user),
        Scope::Team(team) if user.team == Some(team) => Ok(user),
        Scope::Team(_) => Err(forbidden(format!("{} is not in your team", user.email))),
        Scope::Agent { user: me, .. } if me == user.id => Ok(user),
        Scope::Agent { .. } => Err(forbidden(
            "agents cannot assign contacts to someone else; ask a manager".to_owned(),
        )),
    }
}

async fn custom_fields(
    state: &AppState,
) -> Result<BTreeMap<String, stoke_core::CustomFieldDef>, ApiError> {
    Ok(state
        .store
        .list_custom_fields()
        .await?
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect())
}

/// `POST /api/v1/contacts`: creates a contact. A contact created by an agent or a manager is
/// assigned to them unless it names an owner, so that they can see what they created.
#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactInput, responses((status = 201, body = ContactDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn create_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<ContactInput>, JsonRejection>,
) -> Result<(StatusCode, Json<ContactDto>), ApiError> {
    let input = body(input)?;
    let mut draft = input.draft(&custom_fields(&state).await?, true)?;
    match (&draft.owner, &caller.user) {
        (Some(owner), _) => {
            check_owner(&state, &caller, owner).await?;
        }
        (None, Some(user)) if caller.scope != Scope::Everything => {
            draft.owner = Some(user.email.clone());
        }
        (None, _) => {}
    }
    let now = Timestamp::now();
    let contact = state.store.create_contact(&draft, now).await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "contact.create",
        format!("contact:{}", contact.id),
        None,
        Some(serde_json::json!({ "fields": input.keys() })),
        now,
    )
    .await?;
    let tags = state.store.list_tags(contact.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ContactDto::new(contact, Some(tags))),
    ))
}

/// `PATCH /api/v1/contacts/{id}`: changes the fields the body names.
#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), request_body = ContactInput, responses((status = 200, body = ContactDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn update_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<ContactInput>, JsonRejection>,
) -> Result<Json<ContactDto>, ApiError> {
    let id = contact_id(&id)?;
    let input = body(input)?;
    let draft = input.draft(&custom_fields(&state).await?, false)?;
    let mut contact = state.store.get_contact_in(caller.scope, id).await?;
    let mut changed = draft.apply(&mut contact);
    if let Some(owner) = &draft.owner {
        let user = check_owner(&state, &caller, owner).await?;
        if contact.owner != Some(user.id) {
            contact.owner = Some(user.id);
            changed = true;
        }
    }
    let now = Timestamp::now();
    let contact = if changed {
        let updated = state.store.update_contact(&contact, now).await?;
        record(
            state.store.as_ref(),
            &caller.actor(),
            "contact.update",
            format!("contact:{}", updated.id),
            None,
            Some(serde_json::json!({ "fields": input.keys() })),
            now,
        )
        .await?;
        updated
    } else {
        contact
    };
    let tags = state.store.list_tags(contact.id).await?;
    Ok(Json(ContactDto::new(contact, Some(tags))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MergeInput {
    /// The contact folded into the one in the path; its id then resolves to the kept one.
    from: i64,
}

/// `POST /api/v1/contacts/{id}/merge`: folds `from` into this contact. Managers and admins only:
/// a merge cannot be undone.
#[utoipa::path(post, path = "/contacts/{id}/merge", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), request_body = MergeInput, responses((status = 200, body = ContactDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn merge_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<MergeInput>, JsonRejection>,
) -> Result<Json<ContactDto>, ApiError> {
    if matches!(caller.scope, Scope::Agent { .. }) {
        return Err(forbidden(
            "merging contacts needs a manager or an admin".to_owned(),
        ));
    }
    let keep = contact_id(&id)?;
    let input = body(input)?;
    let absorb = ContactId::new(input.from);
    let keep = state.store.get_contact_in(caller.scope, keep).await?.id;
    let absorb = state
        .store
        .get_contact_in(caller.scope, absorb)
        .await
        .map_err(|e| match e {
            stoke_store::StoreError::NotFound { .. } => {
                ApiError::invalid("from", format!("contact {} not found", input.from))
            }
            e => e.into(),
        })?
        .id;
    if keep == absorb {
        return Err(ApiError::invalid(
            "from",
            "is the same contact (or was already merged into it)",
        ));
    }
    let now = Timestamp::now();
    let merged = state.store.merge_contacts(keep, absorb, now).await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "contact.merge",
        format!("contact:{keep}"),
        Some(serde_json::json!({ "absorbed": absorb.get() })),
        None,
        now,
    )
    .await?;
    let tags = state.store.list_tags(merged.id).await?;
    Ok(Json(ContactDto::new(merged, Some(tags))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteInput {
    text: String,
}

/// The longest note accepted: a note is a few lines, not a document.
const MAX_NOTE_CHARS: usize = 10_000;

/// `POST /api/v1/contacts/{id}/read`: marks the contact's latest WhatsApp message read on
/// WhatsApp (the customer sees the blue ticks), once; 204 whether or not there was one to mark.
#[utoipa::path(post, path = "/contacts/{id}/read", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 204, description = "marked read, or nothing to mark"), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody), (status = 503, description = "no workspace key, or the Graph API refused or was unreachable", body = crate::error::ErrorBody)))]
pub(crate) async fn read_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let contact = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?;
    crate::whatsapp::mark_read(
        state.store.as_ref(),
        state.key.as_deref(),
        &state.rules.get(),
        contact.id,
        Timestamp::now(),
    )
    .await
    .map_err(|e| match e {
        crate::whatsapp::read::ReadError::Store(e) => ApiError::from(e),
        other => ApiError::unavailable(other.to_string()),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/contacts/{id}/notes", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, body = Vec<NoteDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn notes_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<NoteDto>>, ApiError> {
    let id = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?
        .id;
    let notes = state.store.list_notes(id).await?;
    Ok(Json(notes.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/contacts/{id}/notes", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), request_body = NoteInput, responses((status = 201, body = NoteDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn add_note_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<NoteInput>, JsonRejection>,
) -> Result<(StatusCode, Json<NoteDto>), ApiError> {
    let id = contact_id(&id)?;
    let input = body(input)?;
    let note = add_note(&state, &caller, id, &input.text).await?;
    Ok((StatusCode::CREATED, Json(note.into())))
}

/// Adds a note to a contact the caller sees, with its audit entry: the API's and the
/// dashboard's way alike.
pub(crate) async fn add_note(
    state: &AppState,
    caller: &Caller,
    id: ContactId,
    text: &str,
) -> Result<stoke_core::Note, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::invalid("text", "a note needs some text"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid(
            "text",
            format!("a note holds at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    let id = state.store.get_contact_in(caller.scope, id).await?.id;
    let now = Timestamp::now();
    let note = state
        .store
        .add_note(id, caller.user.as_ref().map(|u| u.id), text, now)
        .await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "note.add",
        format!("contact:{id}"),
        None,
        Some(serde_json::json!({ "note": note.id.get() })),
        now,
    )
    .await?;
    Ok(note)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaskInput {
    kind: String,
    title: String,
    due_at: Option<String>,
    /// The e-mail of the user who does it; the caller by default.
    assignee: Option<String>,
}

#[utoipa::path(get, path = "/contacts/{id}/tasks", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, body = Vec<TaskDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn tasks_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<TaskDto>>, ApiError> {
    let id = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?
        .id;
    let tasks = state.store.list_tasks(id).await?;
    Ok(Json(tasks.into_iter().map(Into::into).collect()))
}

#[utoipa::path(post, path = "/contacts/{id}/tasks", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), request_body = TaskInput, responses((status = 201, body = TaskDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn add_task_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<TaskInput>, JsonRejection>,
) -> Result<(StatusCode, Json<TaskDto>), ApiError> {
    let id = contact_id(&id)?;
    let input = body(input)?;
    let kind = input
        .kind
        .parse::<TaskKind>()
        .map_err(|e| ApiError::invalid("kind", e.to_string()))?;
    let title = input.title.trim();
    if title.is_empty() || title.chars().count() > 500 {
        return Err(ApiError::invalid(
            "title",
            "a task needs a title of 1 to 500 characters",
        ));
    }
    let due_at = input
        .due_at
        .as_deref()
        .map(|raw| {
            raw.parse::<Timestamp>().map_err(|_| {
                ApiError::invalid(
                    "due_at",
                    format!("{raw:?} is not a moment like 2026-11-23T09:00:00Z"),
                )
            })
        })
        .transpose()?;
    let assignee = match &input.assignee {
        Some(email) => {
            let email =
                Email::parse(email).map_err(|e| ApiError::invalid("assignee", e.to_string()))?;
            let user = check_owner(&state, &caller, &email)
                .await
                .map_err(|e| ApiError {
                    field: Some("assignee".into()),
                    ..e
                })?;
            Some(user.id)
        }
        None => caller.user.as_ref().map(|u| u.id),
    };
    let contact = state.store.get_contact_in(caller.scope, id).await?.id;
    let now = Timestamp::now();
    let task = state
        .store
        .add_task(
            &TaskDraft {
                contact,
                kind,
                title: title.to_owned(),
                due_at,
                assignee,
            },
            now,
        )
        .await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "task.add",
        format!("contact:{contact}"),
        None,
        Some(serde_json::json!({ "task": task.id.get(), "kind": kind.as_str() })),
        now,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(task.into())))
}

/// `POST /api/v1/contacts/{id}/tasks/{task}/complete`.
#[utoipa::path(post, path = "/contacts/{id}/tasks/{task}/complete", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)"), ("task" = i64, Path, description = "a task id of this contact")), responses((status = 200, body = TaskDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn complete_task_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, task)): Path<(String, String)>,
) -> Result<Json<TaskDto>, ApiError> {
    let contact = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?
        .id;
    let task_id: i64 = task
        .parse()
        .map_err(|_| ApiError::invalid("task", format!("{task:?} is not a task id")))?;
    let found = state
        .store
        .list_tasks(contact)
        .await?
        .into_iter()
        .find(|t| t.id.get() == task_id)
        .ok_or_else(|| ApiError::not_found(format!("contact {contact} has no task {task_id}")))?;
    if found.done_at.is_some() {
        return Ok(Json(found.into()));
    }
    let now = Timestamp::now();
    let done = state.store.complete_task(found.id, now).await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "task.complete",
        format!("contact:{contact}"),
        None,
        Some(serde_json::json!({ "task": task_id })),
        now,
    )
    .await?;
    Ok(Json(done.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentInput {
    channel: String,
    status: String,
    /// How the consent was given or withdrawn: `web form`, `phone call`, `in store`.
    source: String,
}

/// `POST /api/v1/contacts/{id}/consents`: appends a consent record for one channel.
#[utoipa::path(post, path = "/contacts/{id}/consents", tag = "privacy", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), request_body = ConsentInput, responses((status = 201, body = ContactDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn consent_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<ConsentInput>, JsonRejection>,
) -> Result<(StatusCode, Json<ContactDto>), ApiError> {
    let id = contact_id(&id)?;
    let input = body(input)?;
    let channel = input
        .channel
        .parse::<Channel>()
        .map_err(|e| ApiError::invalid("channel", e.to_string()))?;
    let status = input
        .status
        .parse::<ConsentStatus>()
        .map_err(|e| ApiError::invalid("status", e.to_string()))?;
    let source = input.source.trim();
    if source.is_empty() || source.chars().count() > 200 {
        return Err(ApiError::invalid(
            "source",
            "say how consent was given or withdrawn (1 to 200 characters)",
        ));
    }
    let contact = state.store.get_contact_in(caller.scope, id).await?.id;
    let now = Timestamp::now();
    state
        .store
        .record_consent(
            contact,
            &Consent {
                channel,
                status,
                at: now,
                source: source.to_owned(),
            },
        )
        .await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "contact.consent",
        format!("contact:{contact}"),
        None,
        Some(serde_json::json!({ "channel": channel.as_str(), "status": status.as_str() })),
        now,
    )
    .await?;
    let updated = state.store.get_contact(contact).await?;
    Ok((StatusCode::CREATED, Json(ContactDto::new(updated, None))))
}

/// Reads every page of a paged list.
async fn all_pages<T, F, Fut>(mut read: F) -> Result<Vec<T>, ApiError>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = stoke_store::StoreResult<stoke_store::Page<T>>>,
{
    let mut out = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = read(page).await?;
        out.extend(got.items);
        match got.next {
            Some(after) => {
                page = PageRequest {
                    after: Some(after),
                    limit: PageRequest::MAX_LIMIT,
                }
            }
            None => return Ok(out),
        }
    }
}

/// `GET /api/v1/contacts/{id}/export` (admins): everything Stoke holds about one contact, as one
/// JSON document, for a customer's request to see their data.
#[utoipa::path(get, path = "/contacts/{id}/export", tag = "privacy", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, description = "everything held about the contact", body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn export_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let contact: Contact = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?;
    let id = contact.id;
    let store = state.store.clone();
    let messages = all_pages(|p| {
        let store = store.clone();
        async move { store.list_messages(id, p).await }
    })
    .await?;
    let events = all_pages(|p| {
        let store = store.clone();
        async move { store.list_events(id, p).await }
    })
    .await?;
    let conversations = store.list_conversations(id).await?;
    let tags = store.list_tags(id).await?;
    let history = store.tag_history(id).await?;
    let notes = store.list_notes(id).await?;
    let tasks = store.list_tasks(id).await?;
    let now = Timestamp::now();
    record(
        store.as_ref(),
        &caller.actor(),
        "contact.export",
        format!("contact:{id}"),
        None,
        None,
        now,
    )
    .await?;
    Ok(Json(serde_json::json!({
        "exported_at": now.to_string(),
        "contact": ContactDto::new(contact, None),
        "conversations": conversations.iter().map(|c| serde_json::json!({
            "id": c.id.get(),
            "account": c.account.get(),
            "channel": c.channel.as_str(),
            "last_message_at": c.last_message_at.map(|t| t.to_string()),
            "created_at": c.created_at.to_string(),
        })).collect::<Vec<_>>(),
        "messages": messages.into_iter().map(MessageDto::from).collect::<Vec<_>>(),
        "events": events.into_iter().map(EventDto::from).collect::<Vec<_>>(),
        "tags": tags.into_iter().map(TagDto::from).collect::<Vec<_>>(),
        "tag_history": history.into_iter().map(TagChangeDto::from).collect::<Vec<_>>(),
        "notes": notes.into_iter().map(NoteDto::from).collect::<Vec<_>>(),
        "tasks": tasks.into_iter().map(TaskDto::from).collect::<Vec<_>>(),
    })))
}

/// `DELETE /api/v1/contacts/{id}` (admins): erases the contact and everything about it. The
/// audit entry keeps the id and the counts, nothing personal.
#[utoipa::path(delete, path = "/contacts/{id}", tag = "privacy", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, description = "what was erased, counted", body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn erase_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let id = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?
        .id;
    let erased = state.store.erase_contact(id).await?;
    let counts = serde_json::json!({
        "contacts": erased.contacts,
        "messages": erased.messages,
        "events": erased.events,
        "tag_changes": erased.tag_changes,
        "notes": erased.notes,
        "tasks": erased.tasks,
        "outbox": erased.outbox,
    });
    record(
        state.store.as_ref(),
        &caller.actor(),
        "contact.erase",
        format!("contact:{id}"),
        None,
        Some(serde_json::json!({ "erased": counts })),
        Timestamp::now(),
    )
    .await?;
    Ok(Json(serde_json::json!({ "erased": counts })))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub(crate) struct CustomFieldDto {
    name: String,
    /// `text`, `number`, `date`, `choice` or `yes/no`.
    #[serde(rename = "type")]
    kind: &'static str,
    /// The allowed values of a `choice` field.
    choices: Vec<String>,
}

impl From<stoke_core::CustomFieldDef> for CustomFieldDto {
    fn from(d: stoke_core::CustomFieldDef) -> Self {
        let choices = match &d.field_type {
            stoke_core::CustomFieldType::Choice(c) => c.clone(),
            _ => Vec::new(),
        };
        Self {
            kind: d.field_type.as_str(),
            name: d.name,
            choices,
        }
    }
}

/// `GET /api/v1/custom-fields`: the workspace's custom fields and their types.
#[utoipa::path(get, path = "/custom-fields", tag = "contacts",
    responses((status = 200, body = Vec<CustomFieldDto>), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn custom_fields_handler(
    _caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<CustomFieldDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .list_custom_fields()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomFieldInput {
    /// `text`, `number`, `date`, `choice` or `yes/no`.
    #[serde(rename = "type")]
    kind: String,
    /// For a `choice` field: the values it allows.
    #[serde(default)]
    choices: Vec<String>,
}

/// `PUT /api/v1/custom-fields/{name}` (admins): defines or redefines a custom field; values
/// written afterwards are checked against its type.
#[utoipa::path(put, path = "/custom-fields/{name}", tag = "contacts", request_body = CustomFieldInput,
    params(("name" = String, Path, description = "lower-case key, as in imports: `plan`, `customer_since`")),
    responses((status = 200, body = CustomFieldDto), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn define_custom_field_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(name): Path<String>,
    input: Result<Json<CustomFieldInput>, JsonRejection>,
) -> Result<Json<CustomFieldDto>, ApiError> {
    caller.require_admin()?;
    let input = body(input)?;
    let key = name.trim().to_lowercase();
    if key.is_empty()
        || key.chars().count() > 64
        || !key.chars().all(|c| c.is_alphanumeric() || c == '_')
    {
        return Err(ApiError::invalid(
            "name",
            "a custom field's name is 1 to 64 letters, digits or underscores",
        ));
    }
    let field_type = match input.kind.trim() {
        "text" => stoke_core::CustomFieldType::Text,
        "number" => stoke_core::CustomFieldType::Number,
        "date" => stoke_core::CustomFieldType::Date,
        "yes/no" | "yes_no" => stoke_core::CustomFieldType::YesNo,
        "choice" => {
            let choices: Vec<String> = input
                .choices
                .iter()
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty())
                .collect();
            if choices.is_empty() {
                return Err(ApiError::invalid(
                    "choices",
                    "a choice field needs the values it allows",
                ));
            }
            stoke_core::CustomFieldType::Choice(choices)
        }
        other => {
            return Err(ApiError::invalid(
                "type",
                format!("{other:?} is not text, number, date, choice or yes/no"),
            ));
        }
    };
    let def = stoke_core::CustomFieldDef {
        name: key,
        field_type,
    };
    state.store.define_custom_field(&def).await?;
    let shown = CustomFieldDto::from(def);
    record(
        state.store.as_ref(),
        &caller.actor(),
        "custom_field.define",
        format!("custom_field:{}", shown.name),
        None,
        Some(serde_json::json!({ "type": shown.kind, "choices": shown.choices })),
        Timestamp::now(),
    )
    .await?;
    Ok(Json(shown))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub(crate) struct ConversationDto {
    id: i64,
    account: i64,
    channel: &'static str,
    assignee: Option<i64>,
    last_message_at: Option<String>,
    created_at: String,
}

/// `GET /api/v1/contacts/{id}/conversations`: the contact's threads, one per sender account.
#[utoipa::path(get, path = "/contacts/{id}/conversations", tag = "contacts",
    params(("id" = i64, Path, description = "a contact id")),
    responses((status = 200, body = Vec<ConversationDto>), (status = "4XX", body = crate::error::ErrorBody)))]
pub(crate) async fn conversations_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConversationDto>>, ApiError> {
    let id = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?
        .id;
    Ok(Json(
        state
            .store
            .list_conversations(id)
            .await?
            .into_iter()
            .map(|c| ConversationDto {
                id: c.id.get(),
                account: c.account.get(),
                channel: c.channel.as_str(),
                assignee: c.assignee.map(|u| u.get()),
                last_message_at: c.last_message_at.map(|t| t.to_string()),
                created_at: c.created_at.to_string(),
            })
            .collect(),
    ))
}
