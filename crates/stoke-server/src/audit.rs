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
