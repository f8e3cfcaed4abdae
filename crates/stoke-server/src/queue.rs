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

/// Each owner's queue, kept for the dashboard's Today page: planning a large book (tens of
/// thousands of customers) takes longer than a page may, and the queue changes by the minute,
/// not by the millisecond. An owner's queue is built on first use; later it is served from
/// memory while younger than `min_age`, or younger than `max_age` when nothing was written since
/// (the store's change feed). Between the two, the last queue is served and a new one is built
/// in the background, so the page stays fast while a busy workspace writes all the time. Older
/// than `max_age`, it is rebuilt before answering. `forget` drops an owner's queue after they
/// acted on it (a reply, a note), so their next look is exact.
#[derive(Debug)]
pub struct QueueCache {
    store: Arc<dyn Store>,
    min_age: std::time::Duration,
    max_age: std::time::Duration,
    entries: Arc<std::sync::Mutex<std::collections::HashMap<Option<UserId>, Cached>>>,
    /// Counts the store's writes seen on its change feed.
    writes: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, Clone)]
struct Cached {
    items: Arc<Vec<QueueItem>>,
    built: std::time::Instant,
    /// `writes` when the build started.
    writes: u64,
    refreshing: bool,
}

impl QueueCache {
    pub fn new(
        store: Arc<dyn Store>,
        min_age: std::time::Duration,
        max_age: std::time::Duration,
    ) -> Self {
        let writes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        if tokio::runtime::Handle::try_current().is_ok()
            && let Some(mut feed) = store.changes()
        {
            let counter = Arc::downgrade(&writes);
            tokio::spawn(async move {
                loop {
                    if let Err(tokio::sync::broadcast::error::RecvError::Closed) = feed.recv().await
                    {
                        return;
                    }
                    let Some(counter) = counter.upgrade() else {
                        return;
                    };
                    counter.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                }
            });
        }
        Self {
            store,
            min_age,
            max_age,
            entries: Arc::default(),
            writes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Option<UserId>, Cached>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The owner's queue (the whole workspace's with `None`), at most `max_age` old.
    pub async fn get(
        &self,
        owner: Option<UserId>,
        rules: Arc<Rules>,
    ) -> Result<Arc<Vec<QueueItem>>, StoreError> {
        let writes = self.writes.load(std::sync::atomic::Ordering::Acquire);
        let cached = self.lock().get(&owner).cloned();
        if let Some(cached) = cached {
            let age = cached.built.elapsed();
            if age < self.min_age || (age < self.max_age && cached.writes == writes) {
                return Ok(cached.items);
            }
            if age < self.max_age {
                if !cached.refreshing {
                    self.refresh_in_background(owner, rules, writes);
                }
                return Ok(cached.items);
            }
        }
        let items = Arc::new(build(self.store.clone(), rules, owner, Timestamp::now()).await?);
        self.lock().insert(
            owner,
            Cached {
                items: items.clone(),
                built: std::time::Instant::now(),
                writes,
                refreshing: false,
            },
        );
        Ok(items)
    }

    fn refresh_in_background(&self, owner: Option<UserId>, rules: Arc<Rules>, writes: u64) {
        if let Some(entry) = self.lock().get_mut(&owner) {
            entry.refreshing = true;
        }
        let store = self.store.clone();
        let entries = self.entries.clone();
        tokio::spawn(async move {
            let built = build(store, rules, owner, Timestamp::now()).await;
            let mut entries = entries.lock().unwrap_or_else(|p| p.into_inner());
            match built {
                Ok(items) => {
                    entries.insert(
                        owner,
                        Cached {
                            items: Arc::new(items),
                            built: std::time::Instant::now(),
                            writes,
                            refreshing: false,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a queue could not be refreshed");
                    if let Some(entry) = entries.get_mut(&owner) {
                        entry.refreshing = false;
                    }
                }
            }
        });
    }

    /// Drops an owner's queue: their next look plans it afresh.
    pub fn forget(&self, owner: Option<UserId>) {
        self.lock().remove(&owner);
    }
}
