//! Segment indexes built from the store: what `stoke segment`, the API's segment endpoints and,
//! later, broadcasts evaluate expressions on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use stoke_core::segment::SegmentIndex;
use stoke_store::{Change, PageRequest, Store, StoreError};
use tokio::sync::{Mutex, RwLock, broadcast};

/// Reads every contact's tags, last reply and opt-out into a fresh index, a page at a time.
pub async fn build_index(store: Arc<dyn Store>) -> Result<SegmentIndex, StoreError> {
    let mut index = SegmentIndex::new();
    let mut after = None;
    loop {
        let page = store
            .segment_page(PageRequest {
                after,
                limit: PageRequest::MAX_LIMIT,
            })
            .await?;
        for row in &page.items {
            let tags = row.tags.iter().map(|(f, v)| (*f, v.as_str()));
            if !index.add(row.contact.get(), tags, row.last_reply, row.opted_out) {
                return Err(StoreError::Backend(format!(
                    "contact id {} is beyond what a segment index holds",
                    row.contact
                )));
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(index),
        }
    }
}

/// An index and when it was read.
#[derive(Debug)]
pub struct BuiltIndex {
    pub index: SegmentIndex,
    pub built_at: Timestamp,
    built: Instant,
}

/// The server's segment index: built on first use, rebuilt when the store's change feed says
/// tags changed (here or, on PostgreSQL, on any node) and the index is older than `min_age`, and
/// in any case when older than `max_age` (the only rule for a store without a feed). A change
/// seen after `min_age` is read in the background while requests keep answering from the index
/// they have; only an index older than `max_age` (or none) makes a request wait. A burst of
/// changes costs one rebuild per `min_age`, not one per change.
#[derive(Debug)]
pub struct SegmentCache {
    store: Arc<dyn Store>,
    max_age: Duration,
    min_age: Duration,
    current: Arc<RwLock<Option<Arc<BuiltIndex>>>>,
    building: Arc<Mutex<()>>,
    /// Tags changed since the current index was read.
    changed: Arc<AtomicBool>,
}

impl SegmentCache {
    /// A cache that follows the store's change feed, when it has one and a runtime is running.
    pub fn new(store: Arc<dyn Store>, min_age: Duration, max_age: Duration) -> Self {
        let changed = Arc::new(AtomicBool::new(false));
        if tokio::runtime::Handle::try_current().is_ok()
            && let Some(mut feed) = store.changes()
        {
            let flag = Arc::downgrade(&changed);
            tokio::spawn(async move {
                loop {
                    let relevant = match feed.recv().await {
                        Ok(Change::Tags | Change::Any) => true,
                        Ok(Change::Settings) => false,
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    // The cache is gone: stop following.
                    let Some(flag) = flag.upgrade() else { return };
                    if relevant {
                        flag.store(true, Ordering::Release);
                    }
                }
            });
        }
        Self {
            store,
            max_age,
            min_age,
            current: Arc::new(RwLock::new(None)),
            building: Arc::new(Mutex::new(())),
            changed,
        }
    }

    pub async fn get(&self) -> Result<Arc<BuiltIndex>, StoreError> {
        let current = self.current.read().await.clone();
        if let Some(built) = &current {
            let age = built.built.elapsed();
            if age < self.min_age || (age < self.max_age && !self.changed.load(Ordering::Acquire)) {
                return Ok(built.clone());
            }
            if age < self.max_age {
                // Changed since: answer from this index while one task reads the next (a
                // request never waits for a rebuild the index's age allows it to skip).
                if let Ok(guard) = self.building.clone().try_lock_owned() {
                    let (store, current, changed) = (
                        self.store.clone(),
                        self.current.clone(),
                        self.changed.clone(),
                    );
                    tokio::spawn(async move {
                        let _guard = guard;
                        if let Err(e) = Self::read_into(store, &current, &changed).await {
                            tracing::warn!(error = %e, "the segment index could not be rebuilt");
                        }
                    });
                }
                return Ok(built.clone());
            }
        }
        // None yet, or too old to show: one request rebuilds and the others wait for it.
        let _guard = self.building.lock().await;
        if let Some(built) = self.current.read().await.clone()
            && built.built.elapsed() < self.max_age
            && current.as_ref().is_none_or(|c| !Arc::ptr_eq(c, &built))
        {
            return Ok(built);
        }
        self.rebuild().await
    }

    async fn rebuild(&self) -> Result<Arc<BuiltIndex>, StoreError> {
        Self::read_into(self.store.clone(), &self.current, &self.changed).await
    }

    /// Reads a fresh index into `current`.
    async fn read_into(
        store: Arc<dyn Store>,
        current: &RwLock<Option<Arc<BuiltIndex>>>,
        changed: &AtomicBool,
    ) -> Result<Arc<BuiltIndex>, StoreError> {
        // Cleared before reading: a change made while the index is read marks it again.
        changed.store(false, Ordering::Release);
        let built_at = Timestamp::now();
        let started = Instant::now();
        let index = build_index(store).await?;
        let built = Arc::new(BuiltIndex {
            index,
            built_at,
            built: started,
        });
        *current.write().await = Some(built.clone());
        Ok(built)
    }
}
