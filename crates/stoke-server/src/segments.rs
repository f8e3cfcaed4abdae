//! Segment indexes built from the store: what the CLI's `stoke segment` and, later, the
//! dashboard's segment box and broadcasts evaluate expressions on.

use std::sync::Arc;

use stoke_core::segment::SegmentIndex;
use stoke_store::{PageRequest, Store, StoreError};

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
