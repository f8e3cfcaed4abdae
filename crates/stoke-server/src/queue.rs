//! Each agent's day (SPEC 4), for the API and the CLI alike: one pass over the contacts (one
//! owner's through the owner index) plans every contact with the domain planner and keeps what
//! is due within the playbook's horizon, in queue order.

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use stoke_core::engine::Rules;
use stoke_core::planner::{NextAction, next_action, queue_order};
use stoke_core::{Contact, ContactId, UserId};
use stoke_store::{PageRequest, Store, StoreError};

/// One line of a queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub contact: ContactId,
    pub name: String,
    pub phone: Option<String>,
    pub owner: Option<UserId>,
    pub action: NextAction,
}

/// The queue at `now`: every contact (or one owner's) whose next action is individual and due
/// within the horizon, most valuable first. Pages are planned on the blocking pool while the next
/// ones are read, so reading and planning use every core.
pub async fn build(
    store: Arc<dyn Store>,
    rules: Arc<Rules>,
    owner: Option<UserId>,
    now: Timestamp,
) -> Result<Vec<QueueItem>, StoreError> {
    // Pages planned at once: enough to keep every core busy, few enough to bound memory.
    let in_flight = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let mut planning = VecDeque::new();
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .planning_page(
                owner,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.next;
        let rules = rules.clone();
        planning.push_back(tokio::task::spawn_blocking(move || {
            page.items
                .into_iter()
                .filter_map(|(contact, state)| {
                    let action = next_action(&contact, &state, now, &rules.playbook);
                    action
                        .in_queue(now, &rules.playbook)
                        .then(|| item(contact, action))
                })
                .collect::<Vec<_>>()
        }));
        while planning.len() >= in_flight || (after.is_none() && !planning.is_empty()) {
            if let Some(done) = planning.pop_front() {
                items.extend(done.await.map_err(StoreError::backend)?);
            }
        }
        if after.is_none() {
            break;
        }
    }
    items.sort_by(|a, b| queue_order((&a.action, a.contact), (&b.action, b.contact)));
    Ok(items)
}

fn item(contact: Contact, action: NextAction) -> QueueItem {
    QueueItem {
        contact: contact.id,
        phone: contact.phones.first().map(|p| p.as_str().to_owned()),
        name: contact.name,
        owner: contact.owner,
        action,
    }
}

/// A queue line as the API and `stoke queue --json` write it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueItemDto {
    pub contact: QueueContactDto,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due: Option<Timestamp>,
    pub action: &'static str,
    pub reason: String,
    pub priority: u32,
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueContactDto {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
}

impl QueueItemDto {
    pub fn new(item: &QueueItem, now: Timestamp) -> Self {
        Self {
            contact: QueueContactDto {
                id: item.contact.get(),
                name: item.name.clone(),
                phone: item.phone.clone(),
            },
            due: item.action.due,
            action: item.action.kind.as_str(),
            reason: item.action.reason.clone(),
            priority: item.action.priority,
            overdue: item.action.overdue(now),
        }
    }
}
