//! Stoke's HTTP surface: the JSON API under `/api/v1`, `/healthz`, the provider webhooks and the
//! dashboard (`web`).
//!
//! Architecture invariant: a handler extracts, authorizes, calls the store (or the core) and maps
//! the error; there is no SQL and no business rule here. This crate is the only one that knows
//! HTTP and the API's JSON shapes (`dto`).

pub mod access;
pub mod audit;
pub mod auth;
pub mod broadcasts;
pub mod channel;
pub mod columns;
mod contacts;
pub mod dispatch;
mod dto;
pub mod email;
mod error;
pub mod gateway;
pub mod inbound;
mod ingest;
pub mod lines;
mod metrics;
pub mod people;
pub mod playbook;
pub mod queue;
pub mod scheduler;
pub mod secrets;
pub mod segments;
pub mod senders;
mod web;
pub mod whatsapp;

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use scheduler::LiveRules;
use serde::Deserialize;
use stoke_core::ContactId;
use stoke_store::{PageRequest, Scope, Store};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use access::{AccessSettings, Caller};
pub use error::ApiError;

use access::forbidden;

use dto::{ContactDto, CountsDto, EventDto, MessageDto, PageDto, TagChangeDto, TagDto};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The playbook in force (reloaded without restart).
    pub rules: Arc<LiveRules>,
    pub segments: Arc<segments::SegmentCache>,
    /// Each owner's queue for the dashboard's Today page.
    pub queues: Arc<queue::QueueCache>,
    pub throttle: Arc<access::LoginThrottle>,
    pub metrics: Arc<metrics::Metrics>,
    /// The workspace key, for provider credentials (webhook signatures, sends); without it the
    /// provider webhooks refuse every delivery.
    pub key: Option<Arc<secrets::WorkspaceKey>>,
}

/// How stale the segment index may get: when tags changed, a request rebuilds it once it is
/// older than the first (so a segment box shows a new hot lead within seconds, and a burst of
/// messages costs one rebuild, not one per message); without news, it is rebuilt after the
/// second (a write the change feed cannot hear: another process on the same SQLite file).
const SEGMENT_INDEX_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(5);
const SEGMENT_INDEX_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// How stale the dashboard's queues may get: served from memory for this long whatever happens,
/// then refreshed in the background while younger than the second (see `queue::QueueCache`).
const QUEUE_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(5);
const QUEUE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The API's routes on a store and the rules in force.
pub fn router(store: Arc<dyn Store>, rules: Arc<LiveRules>, access: AccessSettings) -> Router {
    router_with_key(store, rules, access, None)
}

/// The routes, with the workspace key that opens provider credentials.
pub fn router_with_key(
    store: Arc<dyn Store>,
    rules: Arc<LiveRules>,
    access: AccessSettings,
    key: Option<secrets::WorkspaceKey>,
) -> Router {
    let (api, document) = api_routes().split_for_parts();
    let document = Arc::new(document);
    let metrics = Arc::new(metrics::Metrics::new());
    let state = AppState {
        segments: Arc::new(segments::SegmentCache::new(
            store.clone(),
            SEGMENT_INDEX_MIN_AGE,
            SEGMENT_INDEX_MAX_AGE,
        )),
        queues: Arc::new(queue::QueueCache::new(
            store.clone(),
            QUEUE_MIN_AGE,
            QUEUE_MAX_AGE,
        )),
        store,
        rules,
        throttle: access::throttle(access),
        metrics: metrics.clone(),
        key: key.map(Arc::new),
    };
    api.route(
        "/api/openapi.json",
        get(move || {
            let document = document.clone();
            async move { Json(document.as_ref().clone()) }
        }),
    )
    .route("/metrics", get(metrics::handler))
    .merge(web::routes())
    .route(
        "/webhooks/gateway/{account}",
        axum::routing::post(gateway::inbound::receive_handler),
    )
    .route(
        "/webhooks/whatsapp",
        get(whatsapp::webhook::verify_handler).post(whatsapp::webhook::receive_handler),
    )
    // E-mail tracking and unsubscribing: public (a reader follows them from a message), every
    // token signed; not in the OpenAPI document, which describes the API.
    .route(
        "/webhooks/email/{account}",
        post(email::webhook::reports_handler),
    )
    .route("/t/o/{token}", get(email::tracking::open_handler))
    .route("/t/c/{token}", get(email::tracking::click_handler))
    .route(
        "/u/{token}",
        get(email::tracking::unsubscribe_page_handler).post(email::tracking::unsubscribe_handler),
    )
    .fallback(|| async { ApiError::not_found("no such endpoint") })
    .layer(axum::middleware::from_fn_with_state(
        metrics,
        metrics::track,
    ))
    .with_state(state)
}

/// Every documented route, with the OpenAPI document built from the same handlers (so the
/// document cannot describe a route that does not exist, or miss one that does).
fn api_routes() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .routes(routes!(access::login_handler))
        .routes(routes!(access::logout_handler))
        .routes(routes!(access::me_handler))
        .routes(routes!(stats))
        .routes(routes!(
            senders::list_accounts,
            senders::create_account_handler
        ))
        .routes(routes!(senders::change_account_handler))
        .routes(routes!(senders::list_templates))
        .routes(routes!(
            senders::show_template,
            senders::put_template_handler
        ))
        .routes(routes!(senders::send_handler))
        .routes(routes!(list_contacts, contacts::create_handler))
        .routes(routes!(
            get_contact,
            contacts::update_handler,
            contacts::erase_handler
        ))
        .routes(routes!(contacts::merge_handler))
        .routes(routes!(contacts::notes_handler, contacts::add_note_handler))
        .routes(routes!(contacts::read_handler))
        .routes(routes!(contacts::tasks_handler, contacts::add_task_handler))
        .routes(routes!(contacts::complete_task_handler))
        .routes(routes!(contacts::consent_handler))
        .routes(routes!(contacts::export_handler))
        .routes(routes!(contacts::custom_fields_handler))
        .routes(routes!(contacts::conversations_handler))
        .routes(routes!(contacts::define_custom_field_handler))
        .routes(routes!(contact_messages))
        .routes(routes!(contact_events))
        .routes(routes!(contact_tags))
        .routes(routes!(ingest::events_handler))
        .routes(routes!(ingest::messages_handler, search_messages))
        .routes(routes!(audit::list_handler))
        .routes(routes!(queue_of))
        .routes(routes!(segment_count))
        .routes(routes!(segment_distribution))
        .routes(routes!(
            broadcasts::list_handler,
            broadcasts::create_handler
        ))
        .routes(routes!(broadcasts::show_handler))
        .routes(routes!(broadcasts::action_handler))
        .routes(routes!(people::list_users, people::create_user_handler))
        .routes(routes!(people::list_teams))
        .routes(routes!(people::list_tokens, people::create_token_handler))
        .routes(routes!(people::revoke_token_handler))
        .routes(routes!(people::change_password_handler))
        .routes(routes!(playbook::show_handler, playbook::replace_handler))
        .fallback(|| async { ApiError::not_found("no such API endpoint") });
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .nest("/api/v1", v1)
}

/// The document's frame: title, version and how callers authenticate.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Stoke API", description = "Customers, conversations, tags with their reasons, queues, segments and broadcasts."),
    modifiers(&Security),
    security(("token" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme,
        };
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                access::SESSION_COOKIE,
                "from POST /api/v1/login; changes also need the X-CSRF-Token header",
            ))),
        );
    }
}

/// Serves the API until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    rules: Arc<LiveRules>,
    access: AccessSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_key(listener, store, rules, access, None, shutdown).await
}

/// Serves the API and the provider webhooks, which open credentials with `key`.
pub async fn serve_with_key(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    rules: Arc<LiveRules>,
    access: AccessSettings,
    key: Option<secrets::WorkspaceKey>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connection info gives the login throttle each client's address.
    let app = router_with_key(store, rules, access, key)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "the server and its database answer", body = Object), (status = 503, body = crate::error::ErrorBody)))]
async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.list_teams().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

/// A page of a list: `limit` items (1 to 1000, 50 by default) after the cursor `after`, which
/// is the `next` of the previous page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl PageParams {
    fn parse(self) -> Result<PageRequest, ApiError> {
        let after = self
            .after
            .map(|a| {
                a.parse::<i64>().map_err(|_| {
                    ApiError::invalid(
                        "after",
                        format!("{a:?} is not a cursor from a previous page's \"next\""),
                    )
                })
            })
            .transpose()?;
        let limit = match self.limit {
            None => 50,
            Some(l) => match l.parse::<u32>() {
                Ok(n) if (1..=PageRequest::MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid(
                        "limit",
                        format!("{l:?} is not a number from 1 to {}", PageRequest::MAX_LIMIT),
                    ));
                }
            },
        };
        Ok(PageRequest { after, limit })
    }
}

/// The contact a path names, when the caller's scope sees it (merged ids resolved); otherwise
/// not found, exactly as if it did not exist.
async fn visible_contact(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> Result<ContactId, ApiError> {
    let contact = state
        .store
        .get_contact_in(caller.scope, contact_id(raw)?)
        .await?;
    Ok(contact.id)
}

fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    raw.parse::<ContactId>()
        .map_err(|_| ApiError::invalid("id", format!("{raw:?} is not a contact id")))
}

/// Query-string rejections become JSON 400s like every other client mistake.
pub(crate) fn page_params(
    query: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<PageRequest, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    params.parse()
}

#[utoipa::path(get, path = "/stats", tag = "workspace", responses((status = 200, body = CountsDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn stats(caller: Caller, State(state): State<AppState>) -> Result<Json<CountsDto>, ApiError> {
    caller.require_admin()?;
    Ok(Json(state.store.counts().await?.into()))
}

/// A contact list's page and filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ContactsParams {
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// Words in the name, company, phones or e-mails (each a word's prefix; any script).
    q: Option<String>,
    /// A tag the contact holds: `family:value`, like `intent:high`.
    tag: Option<String>,
    /// The e-mail of the user the contact is assigned to.
    owner: Option<String>,
    /// `true`: only contacts assigned to nobody.
    #[param(value_type = Option<bool>)]
    unassigned: Option<String>,
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactsParams), responses((status = 200, description = "a page of the contacts the caller sees that match the filters, in id order", body = PageDto<ContactDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn list_contacts(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<ContactsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PageDto<ContactDto>>, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let page = PageParams {
        after: params.after,
        limit: params.limit,
    }
    .parse()?;
    let mut filter = stoke_store::ContactFilter::default();
    if let Some(q) = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 200 {
            return Err(ApiError::invalid("q", "search with at most 200 characters"));
        }
        filter.text = Some(q.to_owned());
    }
    if let Some(raw) = &params.tag {
        let (family, value) = raw
            .split_once(':')
            .and_then(|(f, v)| Some((f.parse::<stoke_core::TagFamily>().ok()?, v.trim())))
            .filter(|(_, v)| !v.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "tag",
                    format!("{raw:?} is not a tag like intent:high or interest:discount"),
                )
            })?;
        filter.tag = Some((family, value.to_owned()));
    }
    if let Some(email) = &params.owner {
        let user = state
            .store
            .find_user_by_email(email.trim())
            .await?
            .ok_or_else(|| {
                ApiError::invalid("owner", format!("no user has the e-mail {email:?}"))
            })?;
        filter.owner = Some(user.id);
    }
    filter.unassigned = match params.unassigned.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "unassigned",
                format!("{other:?} is not true or false"),
            ));
        }
    };
    let page = if filter == stoke_store::ContactFilter::default() {
        state.store.list_contacts(caller.scope, page).await?
    } else {
        state
            .store
            .search_contacts(caller.scope, &filter, page)
            .await?
    };
    Ok(Json(PageDto {
        items: page
            .items
            .into_iter()
            .map(|c| ContactDto::new(c, None))
            .collect(),
        next: page.next,
    }))
}

/// A message search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MessageSearchParams {
    /// Words the message holds (each a word's prefix; Arabic, Russian, English alike).
    q: String,
    /// Only this account's messages (its name).
    account: Option<String>,
    /// The `next` of the previous page (newest first: later pages are older).
    #[param(value_type = Option<i64>)]
    after: Option<String>,
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// `GET /api/v1/messages?q=...`: one search over every conversation the caller sees, on every
/// account, newest first.
#[utoipa::path(get, path = "/messages", tag = "contacts", params(MessageSearchParams), responses((status = 200, body = PageDto<MessageDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn search_messages(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<MessageSearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PageDto<MessageDto>>, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let q = params.q.trim();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(ApiError::invalid("q", "search with 1 to 200 characters"));
    }
    let page = PageParams {
        after: params.after,
        limit: params.limit,
    }
    .parse()?;
    let account = match params.account.as_deref().map(str::trim) {
        None => None,
        Some(name) => Some(
            state
                .store
                .get_account(name)
                .await
                .map_err(|e| match e {
                    stoke_store::StoreError::NotFound { .. } => {
                        ApiError::invalid("account", format!("no account is named {name:?}"))
                    }
                    e => e.into(),
                })?
                .id,
        ),
    };
    let page = state
        .store
        .search_messages(caller.scope, q, account, page)
        .await?;
    Ok(Json(PageDto {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, body = ContactDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn get_contact(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ContactDto>, ApiError> {
    let contact = state
        .store
        .get_contact_in(caller.scope, contact_id(&id)?)
        .await?;
    let tags = state.store.list_tags(contact.id).await?;
    Ok(Json(ContactDto::new(contact, Some(tags))))
}

#[utoipa::path(get, path = "/contacts/{id}/messages", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)"), PageParams), responses((status = 200, body = PageDto<MessageDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn contact_messages(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PageDto<MessageDto>>, ApiError> {
    let contact = visible_contact(&state, &caller, &id).await?;
    let page = state
        .store
        .list_messages(contact, page_params(query)?)
        .await?;
    Ok(Json(PageDto {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[utoipa::path(get, path = "/contacts/{id}/events", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)"), PageParams), responses((status = 200, body = PageDto<EventDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn contact_events(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PageDto<EventDto>>, ApiError> {
    let contact = visible_contact(&state, &caller, &id).await?;
    let page = state
        .store
        .list_events(contact, page_params(query)?)
        .await?;
    Ok(Json(PageDto {
        items: page.items.into_iter().map(Into::into).collect(),
        next: page.next,
    }))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct TagsDto {
    tags: Vec<TagDto>,
    history: Vec<TagChangeDto>,
}

#[utoipa::path(get, path = "/contacts/{id}/tags", tag = "contacts", params(("id" = i64, Path, description = "a contact id (a merged-away id resolves to the contact it was merged into)")), responses((status = 200, body = TagsDto), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn contact_tags(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TagsDto>, ApiError> {
    let id = visible_contact(&state, &caller, &id).await?;
    let tags = state.store.list_tags(id).await?;
    let history = state.store.tag_history(id).await?;
    Ok(Json(TagsDto {
        tags: tags.into_iter().map(Into::into).collect(),
        history: history.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct QueueParams {
    /// The agent's e-mail (admins: any; managers: their team's; agents: their own).
    agent: Option<String>,
    /// The moment to plan for (RFC 3339); now by default.
    now: Option<String>,
}

/// `GET /api/v1/queue?agent=EMAIL&now=RFC3339`: the same queue as `stoke queue --json`.
#[utoipa::path(get, path = "/queue", tag = "planner", params(QueueParams), responses((status = 200, body = Vec<queue::QueueItemDto>), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn queue_of(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<QueueParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<queue::QueueItemDto>>, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let now = match params.now {
        None => jiff::Timestamp::now(),
        Some(raw) => raw.parse().map_err(|_| {
            ApiError::invalid(
                "now",
                format!("{raw:?} is not a moment like 2026-11-23T09:00:00Z"),
            )
        })?,
    };
    let named = match &params.agent {
        None => None,
        Some(email) => match state.store.find_user_by_email(email.trim()).await? {
            Some(user) => Some(user),
            None => {
                return Err(ApiError::invalid(
                    "agent",
                    format!("no user has the e-mail {email:?}"),
                ));
            }
        },
    };
    // Admins read any queue or the workspace's; managers their team's agents'; agents their own.
    let owner = match (caller.scope, named) {
        (Scope::Everything, named) => named.map(|u| u.id),
        (Scope::Team(team), Some(u)) if u.team == Some(team) => Some(u.id),
        (Scope::Team(_), Some(u)) => {
            return Err(forbidden(format!("{} is not in your team", u.email)));
        }
        (Scope::Team(_), None) => {
            return Err(ApiError::invalid(
                "agent",
                "name the agent whose queue to read: ?agent=EMAIL",
            ));
        }
        (Scope::Agent { user, .. }, Some(u)) if u.id != user => {
            return Err(forbidden("agents read their own queue only".to_owned()));
        }
        (Scope::Agent { user, .. }, _) => Some(user),
    };
    let items = queue::build(state.store.clone(), state.rules.get(), owner, now).await?;
    Ok(Json(
        items
            .iter()
            .map(|i| queue::QueueItemDto::new(i, now))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct SegmentParams {
    /// A segment expression: `intent:high and interest:discount and not opted_out`.
    expr: String,
    /// The moment to evaluate at (RFC 3339); now by default.
    now: Option<String>,
}

fn moment(raw: Option<String>) -> Result<jiff::Timestamp, ApiError> {
    match raw {
        None => Ok(jiff::Timestamp::now()),
        Some(raw) => raw.parse().map_err(|_| {
            ApiError::invalid(
                "now",
                format!("{raw:?} is not a moment like 2026-11-23T09:00:00Z"),
            )
        }),
    }
}

/// Contact ids returned with a count: enough for a preview, never the whole base.
const SEGMENT_SAMPLE: usize = 50;

/// `GET /api/v1/segments/count?expr=...`: how many contacts a segment expression holds, and the
/// first of them, from the server's index (at most a minute old).
#[utoipa::path(get, path = "/segments/count", tag = "segments", params(SegmentParams), responses((status = 200, description = "count, total and the first ids", body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn segment_count(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<SegmentParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    // Counts span the whole base: admins only until segment indexes are scoped.
    caller.require_admin()?;
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let segment = stoke_core::segment::Segment::parse(&params.expr)
        .map_err(|e| ApiError::invalid("expr", e.to_string()))?;
    let now = moment(params.now)?;
    let built = state.segments.get().await?;
    let matched = built.index.evaluate(&segment, now);
    let sample: Vec<u32> = matched.iter().take(SEGMENT_SAMPLE).collect();
    Ok(Json(serde_json::json!({
        "expression": segment.to_string(),
        "count": matched.len(),
        "of": built.index.len(),
        "contacts": sample,
        "index_built_at": built.built_at,
    })))
}

/// `GET /api/v1/segments/distribution`: contacts per tag value, by family, and the weekly
/// health warnings (SPEC 3.1: too few highly active contacts).
#[utoipa::path(get, path = "/segments/distribution", tag = "segments", responses((status = 200, description = "contacts per tag value by family, and the weekly health warnings", body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
async fn segment_distribution(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let built = state.segments.get().await?;
    let mut families = serde_json::Map::new();
    for (family, value, count) in built.index.counts() {
        let entry = families
            .entry(family.as_str())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(values) = entry {
            values.insert(value.to_owned(), count.into());
        }
    }
    let contacts = built.index.len();
    let rules = state.rules.get();
    let min_share = rules.playbook.activity.min_high_share;
    let high = built.index.count(stoke_core::TagFamily::Activity, "high");
    let mut warnings = Vec::new();
    if contacts > 0 {
        let share = high as f64 / contacts as f64;
        if share < min_share {
            warnings.push(format!(
                "only {:.1}% of contacts are highly active (replied within 24 h), under {:.0}%: strengthen acquisition and reactivation",
                share * 100.0,
                min_share * 100.0
            ));
        }
    }
    Ok(Json(serde_json::json!({
        "contacts": contacts,
        "families": families,
        "warnings": warnings,
        "index_built_at": built.built_at,
    })))
}
