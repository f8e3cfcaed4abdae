//! Batch ingest over the API: `POST /api/v1/events` and `POST /api/v1/messages` take a JSON array
//! of the same objects `stoke import events|messages` reads one per line, and store them through
//! the same store calls (and so the same engine). A batch is all or nothing: one bad item and the
//! answer names every bad item by position and field, and nothing is written. Items are
//! idempotent by their `id`, so an integrator retries a batch safely.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::value::RawValue;
use stoke_core::ContactRef;
use stoke_store::{IngestOutcome, StoreError};

use crate::lines::{FieldError, parse_event, parse_message};
use crate::{ApiError, AppState, Caller};

/// The most items one request may carry: large enough for a busy integration, small enough that
/// one request is one short transaction.
pub const MAX_BATCH: usize = 1000;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct IngestReply {
    inserted: u64,
    duplicates: u64,
    contacts_created: u64,
    /// Items whose contact id vanished between the check and the write (erased meanwhile): not
    /// stored.
    unknown_contacts: Vec<usize>,
}

impl From<IngestOutcome> for IngestReply {
    fn from(o: IngestOutcome) -> Self {
        Self {
            inserted: o.inserted,
            duplicates: o.duplicates,
            contacts_created: o.contacts_created,
            unknown_contacts: o.unknown_contacts,
        }
    }
}

/// Parses every item with `parse`; on any failure, one 400 naming the first bad item's field
/// (`[3].contact`) and listing the rest in its message.
fn parse_all<T>(
    items: Vec<Box<RawValue>>,
    parse: impl Fn(&str) -> Result<T, Vec<FieldError>>,
) -> Result<Vec<T>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid("body", "the batch is empty"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::invalid(
            "body",
            format!(
                "the batch holds {} items; send at most {MAX_BATCH} per request",
                items.len()
            ),
        ));
    }
    let mut parsed = Vec::with_capacity(items.len());
    let mut problems: Vec<(String, String)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        // Each item is parsed once, from its own text, as an import parses a line (so an item
        // without an id gets the id its text would get there).
        let text = item.get().trim();
        if !text.starts_with('{') {
            problems.push((format!("[{i}]"), "must be a JSON object".into()));
            continue;
        }
        match parse(text) {
            Ok(v) => parsed.push(v),
            Err(errors) => problems.extend(
                errors
                    .into_iter()
                    .map(|e| (format!("[{i}].{}", e.field), e.reason)),
            ),
        }
    }
    let mut problems = problems.into_iter();
    match problems.next() {
        None => Ok(parsed),
        Some((field, reason)) => {
            let rest: Vec<String> = problems.map(|(f, r)| format!("{f}: {r}")).collect();
            let message = if rest.is_empty() {
                format!("{reason}; nothing was stored")
            } else {
                format!("{reason}; also {}; nothing was stored", rest.join("; "))
            };
            Err(ApiError::invalid(&field, message))
        }
    }
}

/// Items naming a contact by id are checked before anything is written, so that a batch with an
/// id that does not exist is refused whole, like a bad field.
async fn check_contact_ids<'a>(
    state: &AppState,
    contacts: impl Iterator<Item = &'a ContactRef>,
) -> Result<(), ApiError> {
    let mut missing = Vec::new();
    for (i, contact) in contacts.enumerate() {
        if let ContactRef::Id(id) = contact {
            match state.store.get_contact(*id).await {
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => missing.push(i),
                Err(e) => return Err(e.into()),
            }
        }
    }
    match missing.first() {
        None => Ok(()),
        Some(first) => Err(ApiError::invalid(
            &format!("[{first}].contact"),
            format!(
                "names a contact id that does not exist (items {missing:?}); nothing was stored"
            ),
        )),
    }
}

fn batch(
    body: Result<Json<Vec<Box<RawValue>>>, JsonRejection>,
) -> Result<Vec<Box<RawValue>>, ApiError> {
    body.map(|Json(b)| b).map_err(|e| {
        let mut error = ApiError::from(e);
        error.message.push_str(" (send a JSON array of objects)");
        error
    })
}

/// `POST /api/v1/events` (admins: an integration's token): orders, clicks, opens, custom events.
#[utoipa::path(post, path = "/events", tag = "ingest", request_body(content = Vec<Object>, description = "at most 1000 events: orders, clicks, opens, custom events, as `stoke import events` reads them"), responses((status = 200, body = IngestReply), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn events_handler(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<Vec<Box<RawValue>>>, JsonRejection>,
) -> Result<Json<IngestReply>, ApiError> {
    caller.require_admin()?;
    let events = parse_all(batch(body)?, parse_event)?;
    check_contact_ids(&state, events.iter().map(|e| &e.contact)).await?;
    let outcome = state
        .store
        .ingest_events(&events, Timestamp::now(), &state.rules.get())
        .await?;
    Ok(Json(outcome.into()))
}

/// `POST /api/v1/messages` (admins): messages from channels Stoke does not connect to itself.
#[utoipa::path(post, path = "/messages", tag = "ingest", request_body(content = Vec<Object>, description = "at most 1000 messages, as `stoke import messages` reads them"), responses((status = 200, body = IngestReply), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn messages_handler(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<Vec<Box<RawValue>>>, JsonRejection>,
) -> Result<Json<IngestReply>, ApiError> {
    caller.require_admin()?;
    let messages = parse_all(batch(body)?, parse_message)?;
    check_contact_ids(&state, messages.iter().map(|m| &m.contact)).await?;
    let outcome = state
        .store
        .ingest_messages(&messages, Timestamp::now(), &state.rules.get())
        .await?;
    Ok(Json(outcome.into()))
}
