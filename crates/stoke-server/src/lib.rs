//! Stoke's HTTP surface: the JSON API under `/api/v1`, `/healthz`, and (in later issues) provider
//! webhooks and the dashboard.
//!
//! Architecture invariant: a handler extracts, authorizes, calls the store (or the core) and maps
//! the error; there is no SQL and no business rule here. This crate is the only one that knows
//! HTTP and the API's JSON shapes (`dto`).

pub mod audit;
pub mod auth;
pub mod broadcasts;
pub mod channel;
pub mod dispatch;
mod dto;
mod error;
pub mod inbound;
pub mod queue;
pub mod scheduler;
pub mod segments;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use scheduler::LiveRules;
use serde::Deserialize;
use stoke_core::{ContactId, Role, User};
use stoke_store::{ApiToken, PageRequest, Scope, Store};

pub use error::ApiError;

use dto::{AccountDto, ContactDto, CountsDto, EventDto, MessageDto, PageDto, TagChangeDto, TagDto};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The playbook in force (reloaded without restart).
    pub rules: Arc<LiveRules>,
    pub segments: Arc<segments::SegmentCache>,
}

/// How stale the segment index may get before a request rebuilds it: tags change with every
/// message, and a minute is what a segment box or a broadcast preview can live with.
const SEGMENT_INDEX_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// The API's routes on a store and the rules in force.
pub fn router(store: Arc<dyn Store>, rules: Arc<LiveRules>) -> Router {
    let api = Router::new()
        .route("/stats", get(stats))
        .route("/accounts", get(accounts))
        .route("/contacts", get(list_contacts))
        .route("/contacts/{id}", get(get_contact))
        .route("/contacts/{id}/messages", get(contact_messages))
        .route("/contacts/{id}/events", get(contact_events))
        .route("/contacts/{id}/tags", get(contact_tags))
        .route("/queue", get(queue_of))
        .route("/segments/count", get(segment_count))
        .route("/segments/distribution", get(segment_distribution))
        .route(
            "/broadcasts",
            get(broadcasts::list_handler).post(broadcasts::create_handler),
        )
        .route("/broadcasts/{id}", get(broadcasts::show_handler))
        .route(
            "/broadcasts/{id}/{action}",
            post(broadcasts::action_handler),
        )
        .fallback(|| async { ApiError::not_found("no such API endpoint") });
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .with_state(AppState {
            segments: Arc::new(segments::SegmentCache::new(
                store.clone(),
                SEGMENT_INDEX_MAX_AGE,
            )),
            store,
            rules,
        })
}

/// Serves the API until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    rules: Arc<LiveRules>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(store, rules))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A caller who presented a valid API token, and what they may see. Taking this extractor is
/// what makes a handler authenticated: there is no way to reach the store from a handler without
/// one, and the scope goes into the store's queries.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ApiToken,
    /// The user the token acts for (required for managers and agents).
    pub user: Option<User>,
    pub scope: Scope,
}

fn forbidden(message: String) -> ApiError {
    ApiError {
        status: axum::http::StatusCode::FORBIDDEN,
        code: "forbidden",
        message,
        field: None,
    }
}

impl Caller {
    /// Who this caller is in the audit log: the user a token acts for, else the token.
    pub fn actor(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{}", u.email),
            None => format!("token:{}", self.token.name),
        }
    }

    /// Workspace-wide figures and settings: admins only.
    fn require_admin(&self) -> Result<(), ApiError> {
        if self.scope == Scope::Everything {
            Ok(())
        } else {
            Err(forbidden(format!(
                "this endpoint needs an admin token; token {:?} is {}",
                self.token.name, self.token.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthenticated("send an API token: Authorization: Bearer TOKEN")
            })?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("the Authorization header is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::unauthenticated("the Authorization header must be: Bearer TOKEN")
            })?;
        let found = state.store.find_api_token(&auth::hash_token(token)).await?;
        let token = found.ok_or_else(|| ApiError::unauthenticated("the API token is not valid"))?;
        let user = match token.user {
            Some(id) => Some(state.store.get_user(id).await?),
            None => None,
        };
        // A token never carries more rights than its user has now (a demoted user's old
        // tokens shrink with them).
        let role = user.as_ref().map_or(token.role, |u| u.role.min(token.role));
        let scope = match (role, &user) {
            (Role::Admin, _) => Scope::Everything,
            (_, None) => {
                return Err(forbidden(format!(
                    "token {:?} is {} but belongs to no user, so it sees nothing: create it with --user",
                    token.name, token.role
                )));
            }
            (Role::Manager, Some(u)) => match u.team {
                Some(team) => Scope::Team(team),
                None => {
                    return Err(forbidden(format!(
                        "{} is a manager of no team, so they see nothing: put them in a team",
                        u.email
                    )));
                }
            },
            (Role::Agent, Some(u)) => Scope::Agent {
                user: u.id,
                team: u.team,
            },
        };
        Ok(Caller { token, user, scope })
    }
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.list_teams().await?;
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

#[derive(Debug, Deserialize)]
struct PageParams {
    after: Option<String>,
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
fn page_params(
    query: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<PageRequest, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    params.parse()
}

async fn stats(caller: Caller, State(state): State<AppState>) -> Result<Json<CountsDto>, ApiError> {
    caller.require_admin()?;
    Ok(Json(state.store.counts().await?.into()))
}

async fn accounts(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<AccountDto>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .list_accounts()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

async fn list_contacts(
    caller: Caller,
    State(state): State<AppState>,
    query: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PageDto<ContactDto>>, ApiError> {
    let page = state
        .store
        .list_contacts(caller.scope, page_params(query)?)
        .await?;
    Ok(Json(PageDto {
        items: page
            .items
            .into_iter()
            .map(|c| ContactDto::new(c, None))
            .collect(),
        next: page.next,
    }))
}

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

#[derive(serde::Serialize)]
struct TagsDto {
    tags: Vec<TagDto>,
    history: Vec<TagChangeDto>,
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueParams {
    agent: Option<String>,
    now: Option<String>,
}

/// `GET /api/v1/queue?agent=EMAIL&now=RFC3339`: the same queue as `stoke queue --json`.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentParams {
    expr: String,
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
