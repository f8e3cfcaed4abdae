//! The audit log's writer for every edge (API handlers, CLI commands): one shape of entry.

use jiff::Timestamp;
use stoke_store::{AuditDraft, Store, StoreResult};

/// Records a change in the audit log. The change is already made: a failure here is the
/// caller's error to report, so that nobody believes the log holds it.
pub async fn record(
    store: &dyn Store,
    actor: &str,
    action: &str,
    subject: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    now: Timestamp,
) -> StoreResult<()> {
    store
        .append_audit(
            &AuditDraft {
                actor: actor.to_owned(),
                action: action.to_owned(),
                subject,
                before: before.map(|v| v.to_string()),
                after: after.map(|v| v.to_string()),
            },
            now,
        )
        .await
        .map(|_| ())
}

/// `GET /api/v1/audit?after=&limit=` (admins): the log, oldest first, a page at a time. There is
/// no route that changes or deletes an entry.
#[utoipa::path(get, path = "/audit", tag = "workspace", params(crate::PageParams), responses((status = 200, description = "a page of entries, oldest first", body = Object), (status = "4XX", description = "the caller's mistake, named", body = crate::error::ErrorBody)))]
pub(crate) async fn list_handler(
    caller: crate::Caller,
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    query: Result<
        axum::extract::Query<crate::PageParams>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Result<axum::Json<serde_json::Value>, crate::ApiError> {
    caller.require_admin()?;
    let page = state.store.list_audit(crate::page_params(query)?).await?;
    let parse = |doc: Option<String>| {
        doc.map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d)))
    };
    let items: Vec<serde_json::Value> = page
        .items
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "at": e.at.to_string(),
                "actor": e.actor,
                "action": e.action,
                "subject": e.subject,
                "before": parse(e.before),
                "after": parse(e.after),
            })
        })
        .collect();
    Ok(axum::Json(
        serde_json::json!({ "items": items, "next": page.next }),
    ))
}
