//! Segment indexes built from the store: what `stoke segment`, the API's segment endpoints and,
//! later, broadcasts evaluate expressions on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use stoke_core::segment::SegmentIndex;
use stoke_store::{PageRequest, Store, StoreError};
use tokio::sync::{Mutex, RwLock};

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

/// The server's segment index: built on first use and rebuilt when older than `max_age`, by one
/// request at a time while the others keep answering from the index they have.
#[derive(Debug)]
pub struct SegmentCache {
    store: Arc<dyn Store>,
    max_age: Duration,
    current: RwLock<Option<Arc<BuiltIndex>>>,
    building: Mutex<()>,
}

impl SegmentCache {
    pub fn new(store: Arc<dyn Store>, max_age: Duration) -> Self {
        Self {
            store,
            max_age,
            current: RwLock::new(None),
            building: Mutex::new(()),
        }
    }

    pub async fn get(&self) -> Result<Arc<BuiltIndex>, StoreError> {
        let current = self.current.read().await.clone();
        if let Some(built) = &current
            && built.built.elapsed() < self.max_age
        {
            return Ok(built.clone());
        }
        // Stale: one request rebuilds; while it does, others answer from the stale index.
        let Ok(_guard) = self.building.try_lock() else {
            if let Some(built) = current {
                return Ok(built);
            }
            let _wait = self.building.lock().await;
            if let Some(built) = self.current.read().await.clone() {
                return Ok(built);
            }
            return self.rebuild().await;
        };
        self.rebuild().await
    }

    async fn rebuild(&self) -> Result<Arc<BuiltIndex>, StoreError> {
        let built_at = Timestamp::now();
        let started = Instant::now();
        let index = build_index(self.store.clone()).await?;
        let built = Arc::new(BuiltIndex {
            index,
            built_at,
            built: started,
        });
        *self.current.write().await = Some(built.clone());
        Ok(built)
    }
}
