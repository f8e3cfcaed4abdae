//! The tag scheduler: the worker that makes time-driven tag changes happen (a tier decaying after
//! 24 h, intent dropping after 3 silent days). It reads the store's due-time index, never scans
//! every contact, and calls the same store operation a test or the CLI would.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_store::Store;

/// Contacts re-evaluated per transaction: small enough to keep write locks short.
const BATCH: u32 = 500;

/// Where the playbook in force came from, and its text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookOrigin {
    pub text: String,
    /// `the built-in default`, a file's path, or the workspace's (in the database).
    pub source: String,
    /// When the workspace's playbook was set; `None` for a file or the default.
    pub updated_at: Option<Timestamp>,
}

impl PlaybookOrigin {
    pub fn built_in() -> Self {
        Self {
            text: stoke_core::playbook::DEFAULT_TOML.to_owned(),
            source: "the built-in default".to_owned(),
            updated_at: None,
        }
    }
}

/// The rules in force, swapped whole when the playbook changes: readers take a cheap `Arc`
/// and keep using the rules they took for the rest of their batch.
#[derive(Debug)]
pub struct LiveRules {
    current: std::sync::RwLock<(Arc<Rules>, Arc<PlaybookOrigin>)>,
}

impl LiveRules {
    /// Rules whose origin is the built-in default (tests, and callers that do not track it).
    pub fn new(rules: Arc<Rules>) -> Self {
        Self::with_origin(rules, PlaybookOrigin::built_in())
    }

    pub fn with_origin(rules: Arc<Rules>, origin: PlaybookOrigin) -> Self {
        Self {
            current: std::sync::RwLock::new((rules, Arc::new(origin))),
        }
    }

    pub fn get(&self) -> Arc<Rules> {
        // A poisoned lock only means a writer panicked mid-swap; the Arcs inside are whole.
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .clone()
    }

    /// Where the rules in force came from.
    pub fn origin(&self) -> Arc<PlaybookOrigin> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    pub fn replace_from(&self, rules: Arc<Rules>, origin: PlaybookOrigin) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = (rules, Arc::new(origin));
    }
}

/// Runs until the task is dropped, waking every `every` to re-evaluate the contacts due.
pub async fn run(store: Arc<dyn Store>, live: Arc<LiveRules>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = Timestamp::now();
        let rules = live.get();
        let mut total = 0;
        loop {
            match store.refresh_due(now, &rules, BATCH).await {
                Ok(n) => {
                    total += n;
                    if n < u64::from(BATCH) {
                        break;
                    }
                }
                Err(err) => {
                    tracing::error!(error = %err, "the tag scheduler could not refresh due contacts");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(contacts = total, "refreshed time-driven tags");
        }
    }
}
