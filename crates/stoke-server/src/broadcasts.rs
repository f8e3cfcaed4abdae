//! Broadcasts, created and steered the same way from the API and the CLI: the audience
//! evaluated on a segment index, the limits of one send and of a day, the content checked, the
//! change written to the audit log.

use jiff::Timestamp;
use stoke_core::ContactId;
use stoke_core::outbox::{BroadcastStatus, OutboxStatus};
use stoke_core::playbook::Playbook;
use stoke_core::segment::{Segment, SegmentIndex};
use stoke_core::template;
use stoke_store::outbox::{Broadcast, BroadcastDraft, BroadcastId, BroadcastReport, Content};
use stoke_store::{Store, StoreError, StoreResult};

use crate::audit::record;

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct NewBroadcast {
    pub name: String,
    pub audience: String,
    pub account: String,
    pub text: Option<String>,
    pub template: Option<String>,
    pub at: Option<Timestamp>,
    pub golden_window: bool,
    /// Urgent service notices only; recorded in the audit log.
    pub no_quiet_hours: bool,
    pub start: bool,
}

pub use crate::error::Refusal as CreateError;
use crate::error::refused;

/// A created broadcast and how long its enqueue took in the store.
#[derive(Debug)]
pub struct Created {
    pub broadcast: Broadcast,
    pub account: String,
    pub enqueue: std::time::Duration,
}

/// Creates a broadcast (and starts it when asked), recording both in the audit log as `actor`.
pub async fn create(
    store: &dyn Store,
    playbook: &Playbook,
    index: &SegmentIndex,
    req: &NewBroadcast,
    actor: &str,
    now: Timestamp,
) -> Result<Created, CreateError> {
    if req.name.trim().is_empty() {
        return Err(refused("name", "a broadcast needs a name"));
    }
    let segment = Segment::parse(&req.audience)
        .map_err(|e| refused("audience", format!("{:?}: {e}", req.audience)))?;
    let account = match store.get_account(&req.account).await {
        Ok(a) => a,
        Err(StoreError::NotFound { .. }) => {
            return Err(refused(
                "account",
                format!(
                    "no account named {:?}; add one with `stoke account add`",
                    req.account
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let content = match (&req.text, &req.template) {
        (Some(_), Some(_)) => return Err(refused("text", "give a text or a template, not both")),
        (Some(t), None) => {
            template::check_text(t).map_err(|e| refused("text", e.message))?;
            Content::Text(t.clone())
        }
        (None, Some(name)) => match store.get_template(name).await {
            Ok(_) => Content::Template(name.clone()),
            Err(StoreError::NotFound { .. }) => {
                return Err(refused(
                    "template",
                    format!("no template named {name:?}; add one with `stoke template add`"),
                ));
            }
            Err(e) => return Err(e.into()),
        },
        (None, None) => return Err(refused("text", "give the message: a text or a template")),
    };
    if req.at.is_some() && req.golden_window {
        return Err(refused(
            "at",
            "a start time and the golden window exclude each other",
        ));
    }
    let recipients: Vec<ContactId> = index
        .evaluate(&segment, now)
        .iter()
        .map(|id| ContactId::new(i64::from(id)))
        .collect();
    let max = playbook.count("broadcasts.max_recipients");
    if recipients.len() as u64 > u64::from(max) {
        return Err(refused(
            "audience",
            format!(
                "{segment} holds {} contacts, more than {max} in one send (broadcasts.max_recipients): narrow it or split it",
                recipients.len()
            ),
        ));
    }
    let draft = BroadcastDraft {
        name: req.name.trim().to_owned(),
        audience: segment.to_string(),
        account: account.id,
        content,
        not_before: req.at.unwrap_or(now),
        golden_window: req.golden_window,
        ignore_quiet_hours: req.no_quiet_hours,
        created_by: Some(actor.to_owned()),
        daily_limit: u64::from(playbook.count("broadcasts.max_per_day")),
    };
    let started = std::time::Instant::now();
    let mut b = store.create_broadcast(&draft, &recipients, now).await?;
    let enqueue = started.elapsed();
    record(
        store,
        actor,
        "broadcast.create",
        format!("broadcast:{}", b.id),
        None,
        Some(serde_json::json!({
            "name": b.name,
            "audience": b.audience,
            "account": account.name,
            "recipients": b.recipients,
            "not_before": b.not_before.to_string(),
            "golden_window": b.golden_window,
            // An override for urgent service notices (SPEC 5.3).
            "ignore_quiet_hours": b.ignore_quiet_hours,
        })),
        now,
    )
    .await?;
    if req.start {
        b = set_status(store, b.id, BroadcastStatus::Running, actor, now).await?;
    }
    Ok(Created {
        broadcast: b,
        account: account.name,
        enqueue,
    })
}

/// Starts, pauses or cancels a broadcast, recording it in the audit log as `actor`.
pub async fn set_status(
    store: &dyn Store,
    id: BroadcastId,
    next: BroadcastStatus,
    actor: &str,
    now: Timestamp,
) -> StoreResult<Broadcast> {
    let b = store.set_broadcast_status(id, next, now).await?;
    let action = match next {
        BroadcastStatus::Running => "broadcast.start",
        BroadcastStatus::Paused => "broadcast.pause",
        BroadcastStatus::Cancelled => "broadcast.cancel",
        BroadcastStatus::Draft | BroadcastStatus::Completed => "broadcast.status",
    };
    record(
        store,
        actor,
        action,
        format!("broadcast:{id}"),
        None,
        Some(serde_json::json!({"status": b.status.as_str()})),
        now,
    )
    .await?;
    Ok(b)
}

/// A broadcast's report as `broadcast show --json` and the API give it: each recipient counted
/// once at its furthest status (`queued` includes the one being sent).
pub fn report_json(r: &BroadcastReport) -> serde_json::Value {
    let n = |s| r.count(s);
    let b = &r.broadcast;
    serde_json::json!({
        "id": b.id,
        "name": b.name,
        "status": b.status.as_str(),
        "recipients": b.recipients,
        "audience": b.audience,
        "not_before": b.not_before.to_string(),
        "counts": {
            "queued": n(OutboxStatus::Queued) + n(OutboxStatus::Sending),
            "sent": n(OutboxStatus::Sent),
            "delivered": n(OutboxStatus::Delivered),
            "read": n(OutboxStatus::Read),
            "failed": n(OutboxStatus::Failed),
            "skipped": n(OutboxStatus::Skipped),
            "unknown": n(OutboxStatus::Unknown),
            "cancelled": n(OutboxStatus::Cancelled),
        },
    })
}

// The API: `/api/v1/broadcasts`, admins only (a broadcast reaches the whole workspace).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::{ApiError, AppState, Caller};

/// `POST /api/v1/broadcasts`'s body.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateBody {
    name: String,
    audience: String,
    account: String,
    text: Option<String>,
    template: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    at: Option<Timestamp>,
    #[serde(default)]
    golden_window: bool,
    #[serde(default)]
    no_quiet_hours: bool,
    #[serde(default)]
    start: bool,
}

#[utoipa::path(post, path = "/broadcasts", tag = "broadcasts", request_body = CreateBody, responses((status = 201, body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn create_handler(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require_admin()?;
    let Json(body) = body?;
    let request = NewBroadcast {
        name: body.name,
        audience: body.audience,
        account: body.account,
        text: body.text,
        template: body.template,
        at: body.at,
        golden_window: body.golden_window,
        no_quiet_hours: body.no_quiet_hours,
        start: body.start,
    };
    let now = Timestamp::now();
    let rules = state.rules.get();
    let built = state.segments.get().await?;
    let created = create(
        state.store.as_ref(),
        &rules.playbook,
        &built.index,
        &request,
        &caller.actor(),
        now,
    )
    .await
    .map_err(|e| match e {
        CreateError::Refused { field, message } => ApiError::invalid(field, message),
        CreateError::Store(e) => e.into(),
    })?;
    let report = state.store.get_broadcast(created.broadcast.id, now).await?;
    Ok((StatusCode::CREATED, Json(report_json(&report))))
}

#[utoipa::path(get, path = "/broadcasts", tag = "broadcasts", responses((status = 200, body = Vec<Object>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn list_handler(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require_admin()?;
    let now = Timestamp::now();
    let mut out = Vec::new();
    for b in state
        .store
        .list_broadcasts(stoke_store::PageRequest::first(100))
        .await?
        .items
    {
        out.push(report_json(&state.store.get_broadcast(b.id, now).await?));
    }
    Ok(Json(out))
}

fn broadcast_id(raw: &str) -> Result<BroadcastId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a broadcast id")))
}

#[utoipa::path(get, path = "/broadcasts/{id}", tag = "broadcasts", params(("id" = i64, Path, description = "a broadcast id")), responses((status = 200, body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn show_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let report = state
        .store
        .get_broadcast(broadcast_id(&id)?, Timestamp::now())
        .await?;
    Ok(Json(report_json(&report)))
}

/// `POST /api/v1/broadcasts/{id}/start|pause|cancel`.
#[utoipa::path(post, path = "/broadcasts/{id}/{action}", tag = "broadcasts", params(("id" = i64, Path, description = "a broadcast id"), ("action" = String, Path, description = "start, pause or cancel")), responses((status = 200, body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn action_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let next = match action.as_str() {
        "start" => BroadcastStatus::Running,
        "pause" => BroadcastStatus::Paused,
        "cancel" => BroadcastStatus::Cancelled,
        _ => {
            return Err(ApiError::not_found(
                "no such broadcast action (start, pause, cancel)",
            ));
        }
    };
    let id = broadcast_id(&id)?;
    let now = Timestamp::now();
    set_status(state.store.as_ref(), id, next, &caller.actor(), now).await?;
    Ok(Json(report_json(
        &state.store.get_broadcast(id, now).await?,
    )))
}
