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

/// The rules in force, swapped whole when the playbook changes: readers take a cheap `Arc`
/// and keep using the rules they took for the rest of their batch.
#[derive(Debug)]
pub struct LiveRules {
    current: std::sync::RwLock<Arc<Rules>>,
}

impl LiveRules {
    pub fn new(rules: Arc<Rules>) -> Self {
        Self {
            current: std::sync::RwLock::new(rules),
        }
    }

    pub fn get(&self) -> Arc<Rules> {
        // A poisoned lock only means a writer panicked mid-swap; the Arc inside is whole.
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn replace(&self, rules: Arc<Rules>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = rules;
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
