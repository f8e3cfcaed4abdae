//! The embedded default store: one SQLite file in the data directory.
//!
//! Architecture invariant: all SQLite SQL lives in this crate; callers see only `stoke_store::Store`.
//!
//! Concurrency: SQLite allows one writer at a time. Reads run on a small pool of connections (WAL
//! lets them proceed while a write is in progress); writes take a process-wide lock and then a
//! `BEGIN IMMEDIATE` transaction, so two writers never deadlock on a lock upgrade. All database work
//! runs on Tokio's blocking pool so that async callers are never stalled by disk IO.
//!
//! Migrations are SQL files compiled into the binary (`migrations/`), applied in order at open and
//! recorded in `PRAGMA user_version`; one that must compute in Rust (0007 fills the search
//! columns) runs that step in the migration's transaction, after its SQL.
//!
//! Search (`search.rs`): contacts and messages keep their words in a `search` column (written
//! with the row, `stoke_store::copy`), indexed by FTS5 tables that take each write
//! transaction's changes at its end (`search::sync`, called by `write`), not row by row: FTS5
//! writes its buffer to disk at every statement savepoint, which made per-row triggers halve
//! ingest speed.

mod audit;
mod contacts;
mod copy;
mod engine;
mod messages;
mod outbox;
mod people;
mod privacy;
mod schema;
mod search;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::Timestamp;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use r2d2_sqlite::rusqlite::{self, Connection, Transaction, TransactionBehavior};
use stoke_core::engine::{ContactState, Rules};
use stoke_core::outbox::{BroadcastStatus, OutboxStatus};
use stoke_core::pacing::AccountLimits;
use stoke_core::template::Template;
use stoke_core::{
    Account, AccountDraft, AccountId, Consent, Contact, ContactDraft, ContactId, Conversation,
    CustomFieldDef, Event, Handle, Message, MessageId, Note, Role, StatusChange, Tag, TagChange,
    Task, TaskDraft, TaskId, Team, User, UserDraft, UserId,
};
use stoke_store::outbox::{
    Broadcast, BroadcastDraft, BroadcastId, BroadcastReport, DueMessage, Outbound, OutboxDraft,
    OutboxEntry, OutboxId, SendOutcome, Takeover,
};
use stoke_store::{
    ApiToken, AuditDraft, AuditEntry, ContactFilter, ContactImportOutcome, Counts, Erased,
    InboxCursor, InboxFilter, InboxPage, IncomingEvent, IncomingMessage, IngestOutcome, Page,
    PageRequest, Scope, SegmentRow, Session, Store, StoreError, StoreResult,
};

/// The SQLite store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    write_lock: Arc<Mutex<()>>,
    path: PathBuf,
    /// Every committed write, for this process's caches (`Store::changes`). Another process
    /// writing the same file (a CLI import beside a server) is not heard: caches expire by age.
    changes: tokio::sync::broadcast::Sender<stoke_store::Change>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Settings every connection gets. `synchronous=NORMAL` in WAL mode loses no committed data on
/// a process crash (only on power loss, the last transactions), at a fraction of FULL's cost.
const CONNECTION_PRAGMAS: &str = "
    PRAGMA foreign_keys = ON;
    PRAGMA busy_timeout = 10000;
    PRAGMA synchronous = NORMAL;
    PRAGMA cache_size = -65536;
    PRAGMA temp_store = MEMORY;
";

impl SqliteStore {
    /// Opens (creating when missing) the database file and applies pending migrations.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Backend(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let mut first = Connection::open(path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        first
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(StoreError::backend)?;
        first
            .execute_batch(CONNECTION_PRAGMAS)
            .map_err(StoreError::backend)?;
        schema::migrate(&mut first)?;
        drop(first);
        let manager =
            SqliteConnectionManager::file(path).with_init(|c| c.execute_batch(CONNECTION_PRAGMAS));
        let pool = Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            .build(manager)
            .map_err(StoreError::backend)?;
        Ok(Self {
            pool,
            write_lock: Arc::new(Mutex::new(())),
            path: path.to_owned(),
            changes: tokio::sync::broadcast::channel(256).0,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on a pooled connection on the blocking pool.
    async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(StoreError::backend)?;
            work(&conn)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs `work` in one write transaction: committed if it returns `Ok`, rolled back otherwise.
    async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let lock = self.write_lock.clone();
        let changes = self.changes.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(StoreError::backend)?;
            // A poisoned lock only means another writer panicked; its transaction rolled back.
            let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(StoreError::backend)?;
            let value = work(&tx)?;
            // The full-text indexes take the transaction's changes at its end, all at once.
            search::sync(&tx)?;
            tx.commit().map_err(StoreError::backend)?;
            // Nobody listening is not an error.
            let _ = changes.send(stoke_store::Change::Any);
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }
}

/// Maps SQLite's errors to the store's: constraint violations are conflicts, the rest failures.
pub(crate) fn db_err(err: rusqlite::Error) -> StoreError {
    StoreError::Backend(err.to_string())
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_contact(&self, draft: &ContactDraft, now: Timestamp) -> StoreResult<Contact> {
        let draft = draft.clone();
        self.write(move |tx| contacts::create(tx, &draft, now))
            .await
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Contact> {
        self.read(move |c| {
            let resolved =
                contacts::resolve(c, id)?.ok_or_else(|| StoreError::not_found("contact", id))?;
            contacts::load(c, resolved)
        })
        .await
    }

    async fn find_contact(&self, handle: &Handle) -> StoreResult<Option<Contact>> {
        let handle = handle.clone();
        self.read(move |c| match contacts::find_by_handle(c, &handle)? {
            Some(id) => contacts::load(c, id).map(Some),
            None => Ok(None),
        })
        .await
    }

    async fn update_contact(&self, contact: &Contact, now: Timestamp) -> StoreResult<Contact> {
        let mut contact = contact.clone();
        self.write(move |tx| {
            contacts::load(tx, contact.id)?;
            contact.updated_at = now;
            contacts::save(tx, &contact)?;
            contacts::load(tx, contact.id)
        })
        .await
    }

    async fn list_contacts(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<Contact>> {
        self.read(move |c| contacts::list(c, scope, page)).await
    }

    async fn get_contact_in(&self, scope: Scope, id: ContactId) -> StoreResult<Contact> {
        self.read(move |c| {
            let not_found = || StoreError::not_found("contact", id);
            let resolved = contacts::resolve(c, id)?.ok_or_else(not_found)?;
            if !contacts::visible(c, scope, resolved)? {
                return Err(not_found());
            }
            contacts::load(c, resolved)
        })
        .await
    }

    async fn merge_contacts(
        &self,
        keep: ContactId,
        absorb: ContactId,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        self.write(move |tx| contacts::merge(tx, keep, absorb, now))
            .await
    }

    async fn import_contacts(
        &self,
        drafts: &[ContactDraft],
        now: Timestamp,
    ) -> StoreResult<ContactImportOutcome> {
        let drafts = drafts.to_vec();
        self.write(move |tx| contacts::import(tx, &drafts, now))
            .await
    }

    async fn record_consent(&self, contact: ContactId, consent: &Consent) -> StoreResult<()> {
        let consent = consent.clone();
        self.write(move |tx| {
            let id = contacts::resolve(tx, contact)?
                .ok_or_else(|| StoreError::not_found("contact", contact))?;
            let mut c = contacts::load(tx, id)?;
            c.consents.push(consent);
            contacts::save(tx, &c)
        })
        .await
    }

    async fn define_custom_field(&self, def: &CustomFieldDef) -> StoreResult<()> {
        let def = def.clone();
        self.write(move |tx| people::define_custom_field(tx, &def))
            .await
    }

    async fn list_custom_fields(&self) -> StoreResult<Vec<CustomFieldDef>> {
        self.read(people::list_custom_fields).await
    }

    async fn ensure_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account> {
        let draft = draft.clone();
        self.write(move |tx| messages::ensure_account(tx, &draft, now))
            .await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        self.read(messages::list_accounts).await
    }

    async fn create_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account> {
        let draft = draft.clone();
        self.write(move |tx| outbox::create_account(tx, &draft, now))
            .await
    }

    async fn get_account(&self, name: &str) -> StoreResult<Account> {
        let name = name.to_owned();
        self.read(move |c| outbox::get_account(c, &name)).await
    }

    async fn set_account_limits(&self, name: &str, limits: &AccountLimits) -> StoreResult<Account> {
        let (name, limits) = (name.to_owned(), *limits);
        self.write(move |tx| outbox::set_limits(tx, &name, &limits))
            .await
    }

    async fn set_account_config(&self, name: &str, config: Option<&str>) -> StoreResult<Account> {
        let (name, config) = (name.to_owned(), config.map(str::to_owned));
        self.write(move |tx| outbox::set_config(tx, &name, config.as_deref()))
            .await
    }

    async fn pause_account(
        &self,
        account: AccountId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        let reason = reason.map(str::to_owned);
        self.write(move |tx| outbox::pause(tx, account, until, reason.as_deref()))
            .await
    }

    async fn put_template(&self, template: &Template, now: Timestamp) -> StoreResult<()> {
        let template = template.clone();
        self.write(move |tx| outbox::put_template(tx, &template, now))
            .await
    }

    async fn get_template(&self, name: &str) -> StoreResult<Template> {
        let name = name.to_owned();
        self.read(move |c| outbox::get_template(c, &name)).await
    }

    async fn list_templates(&self) -> StoreResult<Vec<Template>> {
        self.read(outbox::list_templates).await
    }

    async fn create_broadcast(
        &self,
        draft: &BroadcastDraft,
        recipients: &[ContactId],
        now: Timestamp,
    ) -> StoreResult<Broadcast> {
        let (draft, recipients) = (draft.clone(), recipients.to_vec());
        self.write(move |tx| outbox::create_broadcast(tx, &draft, &recipients, now))
            .await
    }

    async fn get_broadcast(&self, id: BroadcastId, now: Timestamp) -> StoreResult<BroadcastReport> {
        let report = self.read(move |c| outbox::broadcast_report(c, id)).await?;
        if outbox::broadcast_finished(&report) {
            return self
                .write(move |tx| outbox::complete_broadcast(tx, id, now))
                .await;
        }
        Ok(report)
    }

    async fn list_broadcasts(&self, page: PageRequest) -> StoreResult<Page<Broadcast>> {
        self.read(move |c| outbox::list_broadcasts(c, page)).await
    }

    async fn set_broadcast_status(
        &self,
        id: BroadcastId,
        next: BroadcastStatus,
        now: Timestamp,
    ) -> StoreResult<Broadcast> {
        self.write(move |tx| outbox::set_broadcast_status(tx, id, next, now))
            .await
    }

    async fn enqueue(&self, draft: &OutboxDraft, now: Timestamp) -> StoreResult<OutboxId> {
        let draft = draft.clone();
        self.write(move |tx| outbox::enqueue(tx, &draft, now)).await
    }

    async fn due_messages(
        &self,
        account: AccountId,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueMessage>> {
        self.read(move |c| outbox::due_messages(c, account, now, limit))
            .await
    }

    async fn next_due_at(&self, account: AccountId) -> StoreResult<Option<Timestamp>> {
        self.read(move |c| outbox::next_due_at(c, account)).await
    }

    async fn defer_message(&self, id: OutboxId, until: Timestamp, reason: &str) -> StoreResult<()> {
        let reason = reason.to_owned();
        self.write(move |tx| outbox::defer(tx, id, until, &reason))
            .await
    }

    async fn skip_message(&self, id: OutboxId, reason: &str, now: Timestamp) -> StoreResult<()> {
        let reason = reason.to_owned();
        self.write(move |tx| outbox::skip(tx, id, &reason, now))
            .await
    }

    async fn begin_send(
        &self,
        id: OutboxId,
        outbound: &Outbound,
        node: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let (outbound, node) = (outbound.clone(), node.to_owned());
        self.write(move |tx| outbox::begin_send(tx, id, &outbound, &node, now))
            .await
    }

    async fn finish_send(
        &self,
        id: OutboxId,
        outcome: &SendOutcome,
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<()> {
        let (outcome, rules) = (outcome.clone(), rules.clone());
        self.write(move |tx| outbox::finish_send(tx, id, &outcome, now, &rules))
            .await
    }

    async fn contact_of_provider_message(
        &self,
        provider_id: &str,
    ) -> StoreResult<Option<ContactId>> {
        let provider_id = provider_id.to_owned();
        self.read(move |c| {
            use r2d2_sqlite::rusqlite::OptionalExtension;
            c.prepare_cached("SELECT contact_id FROM outbox WHERE provider_id = ?1 LIMIT 1")
                .map_err(db_err)?
                .query_row([&provider_id], |r| r.get::<_, i64>(0))
                .optional()
                .map_err(db_err)
                .map(|id| id.map(ContactId::new))
        })
        .await
    }

    async fn record_receipt(
        &self,
        provider_id: &str,
        status: OutboxStatus,
        at: Timestamp,
        detail: Option<&str>,
        flag_invalid: bool,
        rules: &Arc<Rules>,
    ) -> StoreResult<bool> {
        let (provider_id, detail, rules) = (
            provider_id.to_owned(),
            detail.map(str::to_owned),
            rules.clone(),
        );
        self.write(move |tx| {
            outbox::record_receipt(
                tx,
                &provider_id,
                status,
                at,
                detail.as_deref(),
                flag_invalid,
                &rules,
            )
        })
        .await
    }

    async fn account_sends(
        &self,
        account: AccountId,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>> {
        self.read(move |c| outbox::account_sends(c, account, since))
            .await
    }

    async fn identical_sent_at(
        &self,
        content_hash: &str,
        other_than: AccountId,
        since: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        let hash = content_hash.to_owned();
        self.read(move |c| outbox::identical_sent_at(c, &hash, other_than, since))
            .await
    }

    async fn claim_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Takeover>> {
        let node = node.to_owned();
        self.write(move |tx| outbox::claim_account(tx, account, &node, until, now))
            .await
    }

    async fn renew_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<bool> {
        let node = node.to_owned();
        self.write(move |tx| outbox::renew_account(tx, account, &node, until))
            .await
    }

    async fn release_account(&self, account: AccountId, node: &str) -> StoreResult<()> {
        let node = node.to_owned();
        self.write(move |tx| outbox::release_account(tx, account, &node))
            .await
    }

    async fn list_outbox(
        &self,
        broadcast: Option<BroadcastId>,
        page: PageRequest,
    ) -> StoreResult<Page<OutboxEntry>> {
        self.read(move |c| outbox::list_outbox(c, broadcast, page))
            .await
    }

    async fn ingest_messages(
        &self,
        batch: &[IncomingMessage],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome> {
        let batch = batch.to_vec();
        let rules = rules.clone();
        self.write(move |tx| messages::ingest_messages(tx, &batch, now, &rules))
            .await
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Message> {
        self.read(move |c| messages::get_message(c, id)).await
    }

    async fn add_message_status(
        &self,
        id: MessageId,
        change: &StatusChange,
        rules: &Arc<Rules>,
    ) -> StoreResult<()> {
        let change = change.clone();
        let rules = rules.clone();
        self.write(move |tx| messages::add_status(tx, id, &change, &rules))
            .await
    }

    async fn list_messages(
        &self,
        contact: ContactId,
        page: PageRequest,
    ) -> StoreResult<Page<Message>> {
        self.read(move |c| messages::list_messages(c, contact, page))
            .await
    }

    async fn list_conversations(&self, contact: ContactId) -> StoreResult<Vec<Conversation>> {
        self.read(move |c| messages::list_conversations(c, contact))
            .await
    }

    async fn ingest_events(
        &self,
        batch: &[IncomingEvent],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome> {
        let batch = batch.to_vec();
        let rules = rules.clone();
        self.write(move |tx| messages::ingest_events(tx, &batch, now, &rules))
            .await
    }

    async fn refresh_due(
        &self,
        now: Timestamp,
        rules: &Arc<Rules>,
        limit: u32,
    ) -> StoreResult<u64> {
        let rules = rules.clone();
        self.write(move |tx| {
            let due = engine::due(tx, now, limit)?;
            for contact in &due {
                if let Some(state) = engine::load_state(tx, *contact)? {
                    engine::write_evaluation(tx, *contact, &state, now, &rules)?;
                }
            }
            Ok(due.len() as u64)
        })
        .await
    }

    async fn segment_page(&self, page: PageRequest) -> StoreResult<Page<SegmentRow>> {
        self.read(move |c| engine::segment_page(c, page)).await
    }

    async fn planning_page(
        &self,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Page<(Contact, ContactState)>> {
        self.read(move |c| engine::planning_page(c, owner, page))
            .await
    }

    async fn reclassify(
        &self,
        contacts: &[ContactId],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<u64> {
        let ids = contacts.to_vec();
        let computing = rules.clone();
        // Read and replay on a read connection, outside the write lock, so that calls overlap.
        let states = self
            .read(move |c| {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let history = engine::history(c, id)?;
                    if !history.is_empty() {
                        let last_at = history.last().map(|e| e.at());
                        out.push((id, computing.replay(&history), last_at));
                    }
                }
                Ok(out)
            })
            .await?;
        let rules = rules.clone();
        self.write(move |tx| {
            let mut done = 0;
            for (id, state, last_at) in states {
                // A contact that gained an event since it was read is replayed again here.
                let state = match engine::load_state(tx, id)? {
                    Some(current) if current.last_event_at > last_at => {
                        rules.replay(&engine::history(tx, id)?)
                    }
                    _ => state,
                };
                engine::write_evaluation(tx, id, &state, now, &rules)?;
                done += 1;
            }
            Ok(done)
        })
        .await
    }

    async fn contact_ids(&self, page: PageRequest) -> StoreResult<Page<ContactId>> {
        self.read(move |c| contacts::ids(c, page)).await
    }

    async fn list_events(&self, contact: ContactId, page: PageRequest) -> StoreResult<Page<Event>> {
        self.read(move |c| messages::list_events(c, contact, page))
            .await
    }

    async fn apply_tag_changes(
        &self,
        contact: ContactId,
        changes: &[TagChange],
    ) -> StoreResult<()> {
        let changes = changes.to_vec();
        self.write(move |tx| {
            let id = contacts::resolve(tx, contact)?
                .ok_or_else(|| StoreError::not_found("contact", contact))?;
            people::apply_tag_changes(tx, id, &changes)
        })
        .await
    }

    async fn list_tags(&self, contact: ContactId) -> StoreResult<Vec<Tag>> {
        self.read(move |c| people::list_tags(c, contact)).await
    }

    async fn tag_history(&self, contact: ContactId) -> StoreResult<Vec<TagChange>> {
        self.read(move |c| people::tag_history(c, contact)).await
    }

    async fn add_note(
        &self,
        contact: ContactId,
        author: Option<UserId>,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<Note> {
        let text = text.to_owned();
        self.write(move |tx| {
            let id = contacts::resolve(tx, contact)?
                .ok_or_else(|| StoreError::not_found("contact", contact))?;
            people::add_note(tx, id, author, &text, at)
        })
        .await
    }

    async fn list_notes(&self, contact: ContactId) -> StoreResult<Vec<Note>> {
        self.read(move |c| people::list_notes(c, contact)).await
    }

    async fn add_task(&self, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task> {
        let draft = draft.clone();
        self.write(move |tx| people::add_task(tx, &draft, now))
            .await
    }

    async fn complete_task(&self, id: TaskId, at: Timestamp) -> StoreResult<Task> {
        self.write(move |tx| people::complete_task(tx, id, at))
            .await
    }

    async fn list_tasks(&self, contact: ContactId) -> StoreResult<Vec<Task>> {
        self.read(move |c| people::list_tasks(c, contact)).await
    }

    async fn create_team(&self, name: &str) -> StoreResult<Team> {
        let name = name.to_owned();
        self.write(move |tx| people::create_team(tx, &name)).await
    }

    async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        self.read(people::list_teams).await
    }

    async fn create_user(&self, draft: &UserDraft, now: Timestamp) -> StoreResult<User> {
        let draft = draft.clone();
        self.write(move |tx| people::create_user(tx, &draft, now))
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let email = email.to_owned();
        self.read(move |c| people::find_user_by_email(c, &email))
            .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        self.read(move |c| people::get_user(c, id)).await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(people::list_users).await
    }

    async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        user: Option<UserId>,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<ApiToken> {
        let (name, token_hash) = (name.to_owned(), token_hash.to_owned());
        self.write(move |tx| people::create_api_token(tx, &name, role, user, &token_hash, now))
            .await
    }

    async fn find_api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| people::find_api_token(c, &token_hash))
            .await
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        self.read(people::list_api_tokens).await
    }

    async fn revoke_api_token(&self, id: i64) -> StoreResult<ApiToken> {
        self.write(move |tx| people::revoke_api_token(tx, id)).await
    }

    async fn login_lookup(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        let email = email.to_owned();
        self.read(move |c| people::login_lookup(c, &email)).await
    }

    async fn set_password_hash(&self, user: UserId, hash: Option<&str>) -> StoreResult<()> {
        let hash = hash.map(str::to_owned);
        self.write(move |tx| people::set_password_hash(tx, user, hash.as_deref()))
            .await
    }

    async fn search_contacts(
        &self,
        scope: Scope,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Contact>> {
        let filter = filter.clone();
        self.read(move |c| search::search_contacts(c, scope, &filter, page))
            .await
    }

    async fn search_messages(
        &self,
        scope: Scope,
        query: &str,
        account: Option<AccountId>,
        page: PageRequest,
    ) -> StoreResult<Page<Message>> {
        let query = query.to_owned();
        self.read(move |c| search::search_messages(c, scope, &query, account, page))
            .await
    }

    async fn inbox(
        &self,
        scope: Scope,
        filter: &InboxFilter,
        after: Option<InboxCursor>,
        limit: u32,
    ) -> StoreResult<InboxPage> {
        let filter = filter.clone();
        self.read(move |c| search::inbox(c, scope, &filter, after, limit))
            .await
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<(String, Timestamp)>> {
        let key = key.to_owned();
        self.read(move |c| search::get_setting(c, &key)).await
    }

    async fn put_setting(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |tx| search::put_setting(tx, &key, &value, now))
            .await
    }

    async fn delete_setting(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.write(move |tx| search::delete_setting(tx, &key)).await
    }

    async fn create_session(&self, token_hash: &str, session: &Session) -> StoreResult<()> {
        let (token_hash, session) = (token_hash.to_owned(), session.clone());
        self.write(move |tx| people::create_session(tx, &token_hash, &session))
            .await
    }

    async fn find_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Session>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| people::find_session(c, &token_hash, now))
            .await
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| people::delete_session(tx, &token_hash))
            .await
    }

    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<u64> {
        self.write(move |tx| people::delete_user_sessions(tx, user))
            .await
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(move |tx| people::purge_sessions(tx, now)).await
    }

    async fn erase_contact(&self, id: ContactId) -> StoreResult<Erased> {
        self.write(move |tx| privacy::erase_contact(tx, id)).await
    }

    async fn append_audit(&self, entry: &AuditDraft, at: Timestamp) -> StoreResult<i64> {
        let entry = entry.clone();
        self.write(move |tx| audit::append(tx, &entry, at)).await
    }

    async fn list_audit(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        self.read(move |c| audit::list(c, page)).await
    }

    async fn counts(&self) -> StoreResult<Counts> {
        self.read(people::counts).await
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<stoke_store::Change>> {
        Some(self.changes.subscribe())
    }
}
