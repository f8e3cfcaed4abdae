//! The workspace's playbook over the API: admins read the playbook in force and replace it; the
//! replacement is kept in the database (setting `playbook`), so every node sharing the database
//! picks it up, and it takes effect at once on the node that received it. Which playbook is in
//! force: the workspace's (set here or with `stoke playbook set`), else the node's
//! `DATA/playbook.toml`, else the built-in default.
//!
//! Replacing the playbook changes how new events are tagged; existing tags are recomputed from
//! history by `stoke reclassify`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use jiff::Timestamp;
use serde::Deserialize;
use stoke_core::engine::Rules;
use stoke_core::playbook::Playbook;
use stoke_store::Store;
use utoipa::ToSchema;

use crate::audit::record;
use crate::error::{ErrorBody, Refusal, refused};
use crate::scheduler::PlaybookOrigin;
use crate::{ApiError, AppState, Caller};

/// The setting that holds the workspace's playbook, as TOML.
pub const PLAYBOOK_SETTING: &str = "playbook";

/// The largest playbook accepted: the default is about 30 KB; lexicons can grow, not tenfold.
const MAX_PLAYBOOK_BYTES: usize = 1 << 20;

/// Compiles playbook text, naming every problem with its key path.
pub fn compile(text: &str) -> Result<Arc<Rules>, Refusal> {
    if text.len() > MAX_PLAYBOOK_BYTES {
        return Err(refused(
            "toml",
            format!("the playbook is larger than {MAX_PLAYBOOK_BYTES} bytes"),
        ));
    }
    let playbook = Playbook::parse(text).map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        refused("toml", listed.join("; "))
    })?;
    Rules::new(playbook)
        .map(Arc::new)
        .map_err(|e| refused("toml", e.to_string()))
}

/// The workspace's playbook from the database, compiled, with when it was set; `None` when the
/// workspace has none. A stored playbook that no longer compiles is an error naming it.
pub async fn workspace_playbook(
    store: &dyn Store,
) -> Result<Option<(Arc<Rules>, String, Timestamp)>, Refusal> {
    match store.get_setting(PLAYBOOK_SETTING).await? {
        None => Ok(None),
        Some((text, at)) => {
            let rules = compile(&text)?;
            Ok(Some((rules, text, at)))
        }
    }
}

/// Stores a new workspace playbook after checking it compiles; records the change.
pub async fn replace(
    store: &dyn Store,
    text: &str,
    actor: &str,
    now: Timestamp,
) -> Result<Arc<Rules>, Refusal> {
    let rules = compile(text)?;
    let before = store.get_setting(PLAYBOOK_SETTING).await?;
    store.put_setting(PLAYBOOK_SETTING, text, now).await?;
    record(
        store,
        actor,
        "playbook.replace",
        "playbook".to_owned(),
        before.map(|(t, _)| serde_json::Value::String(t)),
        Some(serde_json::Value::String(text.to_owned())),
        now,
    )
    .await?;
    Ok(rules)
}

/// `GET /api/v1/playbook` (admins): the playbook in force, as TOML, and where it comes from.
#[utoipa::path(get, path = "/playbook", tag = "workspace",
    responses((status = 200, description = "`toml`, `source` and, for the workspace's, `updated_at`", body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn show_handler(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let origin = state.rules.origin();
    Ok(Json(serde_json::json!({
        "toml": origin.text,
        "source": origin.source,
        "updated_at": origin.updated_at.map(|t| t.to_string()),
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaybookInput {
    /// The whole playbook, as TOML (what `stoke playbook show` prints).
    toml: String,
}

/// `PUT /api/v1/playbook` (admins): replaces the workspace's playbook; every node follows within
/// seconds, this one at once.
#[utoipa::path(put, path = "/playbook", tag = "workspace", request_body = PlaybookInput,
    responses((status = 200, body = Object), (status = "4XX", description = "the playbook's problems, each with its key path", body = ErrorBody)))]
pub(crate) async fn replace_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<PlaybookInput>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let now = Timestamp::now();
    let rules = replace(state.store.as_ref(), &input.toml, &caller.actor(), now).await?;
    state.rules.replace_from(
        rules,
        PlaybookOrigin {
            text: input.toml,
            source: WORKSPACE_SOURCE.to_owned(),
            updated_at: Some(now),
        },
    );
    Ok(Json(serde_json::json!({
        "source": WORKSPACE_SOURCE,
        "updated_at": now.to_string(),
        "note": "new events are tagged by this playbook; run `stoke reclassify` to recompute existing tags",
    })))
}

/// How the playbook kept in the database is named where its source is shown.
pub const WORKSPACE_SOURCE: &str = "the workspace's playbook (in the database)";
