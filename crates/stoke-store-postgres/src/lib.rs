//! The scale-out store: PostgreSQL, which several Stoke nodes can share.
//!
//! Architecture invariant: all PostgreSQL SQL lives in this crate; callers see only
//! `stoke_store::Store`. Its semantics are the SQLite store's, written down once as the
//! conformance suite both run.
//!
//! Concurrency: SQLite has one writer at a time; here several transactions, possibly on several
//! nodes, write at once, so what SQLite gets from its single writer this crate gets from locks.
//! Every write runs in one READ COMMITTED transaction. Work that reads a contact and writes it back
//! (the engine's state and tags, a profile, a merge) first locks the contact's row, several
//! contacts in id order so that two batches cannot deadlock each other: `FOR NO KEY UPDATE`,
//! which still lets other transactions' foreign-key checks through, or `FOR UPDATE` where the row
//! may be deleted (merges, contact imports). A new handle is claimed by the unique index on
//! `contact_handles`: of two nodes creating a contact for the same new number, the second waits
//! for the first to commit, fails, and runs its batch again, finding the first one's contact. Such
//! retries (and deadlocks or serialisation failures that slip through) re-run the whole
//! transaction, a few times at most. Reads run in a read-only REPEATABLE READ transaction so that
//! a page and its details come from one snapshot.
//!
//! The outbox (`outbox.rs`) is shared by every node's dispatcher: `begin_send` claims a message
//! with one conditional update (`queued` to `sending`), so a message leaves at most once however
//! many nodes read it as due; `claim_account` reads and takes an account's lease under the row's
//! lock, so two nodes cannot both take a lapsed one.
//!
//! Bulk paths (message and event ingest, contact imports, the engine's writes, reclassify, a
//! broadcast's recipients) send one statement per table and batch (or chunk), with arrays
//! unnested into rows, not one per row; ids are taken from the sequences first so that they
//! follow the order of the batch, as SQLite's do.
//!
//! Migrations are SQL files compiled into the binary (`migrations/`), applied in order at open
//! and recorded in `schema_migrations`; one that must compute in Rust (0004 fills the search
//! columns) does so in its transaction, after its SQL (`schema::Then`).
//!
//! Search (`search.rs`): contacts and messages keep their words in a `search` column written
//! with the row (`stoke_store::copy`, the same text SQLite keeps, so a copy carries it), under a
//! GIN index of the words as lexemes, queried with prefix `tsquery`s.

mod audit;
mod changes;
mod contacts;
mod copy;
mod engine;
mod messages;
mod outbox;
mod people;
mod privacy;
mod schema;
mod search;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use jiff::Timestamp;
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
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

/// A transaction on a pooled connection: what every function below works in.
pub(crate) type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Connections per store (per node). Bulk work holds one for a batch; API reads are short.
const POOL_SIZE: usize = 16;

/// How many times a transaction that lost a race is run again before the error is returned.
const ATTEMPTS: u32 = 5;

/// The PostgreSQL store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Host, port and database, never the password.
    target: String,
    /// Rows this process wrote in bulk, and how many more until the planner's statistics are
    /// refreshed (shared by clones).
    bulk: Arc<BulkStats>,
    /// The change feed: notifications every node's writes raise, read on a connection of its
    /// own once someone asks for them (shared by clones).
    changes: Arc<changes::Feed>,
}

/// Bulk writes make a table's statistics stale long before autovacuum (when it runs at all)
/// analyses it, and a stale table of "a few rows" is planned as a scan per batch: an import of a
/// million contacts' history slowed from minutes to hours that way. So the store analyses its
/// tables itself after every doubling of what it wrote.
#[derive(Debug)]
struct BulkStats {
    written: std::sync::atomic::AtomicU64,
    next_analyze: std::sync::atomic::AtomicU64,
}

/// Rows written in bulk before the first refresh of the statistics.
const FIRST_ANALYZE_AFTER: u64 = 20_000;

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish()
    }
}

/// What went wrong inside a transaction: the store's error, or the database's, kept whole until
/// the transaction ends so that a lost race can be told apart and the transaction run again.
#[derive(Debug)]
pub(crate) enum Fail {
    Store(StoreError),
    Db(tokio_postgres::Error),
    /// Another transaction changed what this one read before it could lock it: run it again.
    Raced(&'static str),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

/// Unique keys whose violation means another transaction created the same thing first: running
/// the transaction again finds it.
const RACE_CONSTRAINTS: &[&str] = &[
    "contact_handles_pkey",
    "accounts_name_key",
    "conversations_contact_account_key",
];

impl Fail {
    fn retryable(&self) -> bool {
        match self {
            Fail::Raced(_) => true,
            Fail::Store(_) => false,
            Fail::Db(e) => e.as_db_error().is_some_and(|db| {
                let code = db.code();
                *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE
                    || (*code == SqlState::UNIQUE_VIOLATION
                        && db
                            .constraint()
                            .is_some_and(|c| RACE_CONSTRAINTS.contains(&c)))
            }),
        }
    }

    fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Db(e) => StoreError::Backend(describe_db_error(&e)),
            Fail::Raced(what) => {
                StoreError::Backend(format!("{what} kept changing under concurrent writes"))
            }
        }
    }

    /// Maps an integrity violation (a unique key taken, a reference to nothing) to a conflict on
    /// `key`, as SQLite's store does for people and tokens.
    fn or_conflict(self, entity: &'static str, key: &str) -> Fail {
        match &self {
            Fail::Db(e)
                if e.code()
                    .is_some_and(|c| c.code().starts_with("23") && !self.retryable()) =>
            {
                Fail::Store(StoreError::Conflict {
                    entity,
                    key: key.to_owned(),
                    reason: format!("{entity} {key:?} already exists"),
                })
            }
            _ => self,
        }
    }
}

/// The database's message with its detail, without the driver's generic prefix.
fn describe_db_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

pub(crate) type Res<T> = Result<T, Fail>;

/// Runs one statement, prepared once per connection.
pub(crate) async fn query(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Res<Vec<Row>> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query(&statement, params).await?)
}

pub(crate) async fn query_opt(
    tx: &Tx<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Res<Option<Row>> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.query_opt(&statement, params).await?)
}

pub(crate) async fn execute(tx: &Tx<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Res<u64> {
    let statement = tx.prepare_cached(sql).await?;
    Ok(tx.execute(&statement, params).await?)
}

/// `count` new ids from `table`'s identity (a table of this crate, never input), in increasing order: rows written in bulk get ids in
/// the order of their batch, whatever order the server inserts them in.
pub(crate) async fn allocate_ids(tx: &Tx<'_>, table: &str, count: usize) -> Res<Vec<i64>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    // The identity's sequence by name, so that it is looked up once per statement, not per row.
    let rows = query(
        tx,
        &format!("SELECT nextval('{table}_id_seq') FROM generate_series(1, $1::bigint)"),
        &[&(count as i64)],
    )
    .await?;
    let mut ids = rows
        .iter()
        .map(|r| r.try_get::<_, i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    Ok(ids)
}

/// Runs `$body` (which sees the transaction as `$tx` and evaluates to a `Res`) in one
/// transaction, committed when it succeeds and run again when it lost a race.
macro_rules! transaction {
    ($store:expr, $mode:ident, |$tx:ident| $body:expr) => {{
        let mut attempt = 1;
        loop {
            let result: Res<_> = async {
                let mut client = $store.client().await?;
                let $tx = $crate::begin(&mut client, $crate::Mode::$mode).await?;
                let value = {
                    let $tx = &$tx;
                    $body
                }?;
                $tx.commit().await?;
                Ok(value)
            }
            .await;
            match result {
                Err(fail) if fail.retryable() && attempt < ATTEMPTS => {
                    // A short, growing pause lets the winner of the race commit.
                    tokio::time::sleep(Duration::from_millis(
                        u64::from(attempt) * 10 + jitter_ms(),
                    ))
                    .await;
                    attempt += 1;
                }
                other => break other.map_err(Fail::into_store),
            }
        }
    }};
}

/// Spreads retries of two racing nodes apart: a few milliseconds from the clock's low bits.
fn jitter_ms() -> u64 {
    u64::from(Timestamp::now().subsec_nanosecond().unsigned_abs() % 7)
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    Read,
    Write,
}

pub(crate) async fn begin(client: &mut deadpool_postgres::Client, mode: Mode) -> Res<Tx<'_>> {
    let builder = client.build_transaction();
    let builder = match mode {
        Mode::Read => builder
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true),
        Mode::Write => builder,
    };
    Ok(builder.start().await?)
}

/// Host, port and database of a connection configuration, for messages: never the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// Reads the URL and brings the database's schema up to date on a connection of its own.
async fn migrate(url: &str) -> StoreResult<(tls::Connection, String)> {
    let connection = tls::parse(url)?;
    let target = format!(
        "{} (sslmode {})",
        describe(&connection.config),
        connection.mode.as_str()
    );
    let (mut client, driver) = connection
        .config
        .connect(connection.tls.clone())
        .await
        .map_err(|e| {
            StoreError::Backend(format!(
                "cannot connect to PostgreSQL at {target}: {}",
                describe_db_error(&e)
            ))
        })?;
    let driver = tokio::spawn(driver);
    let migrated = schema::migrate(&mut client).await;
    drop(client);
    // The connection ends with its client; a failure of its own has reached the client already.
    let _ = driver.await;
    migrated.map(|()| (connection, target))
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/database`) and
    /// applies pending migrations. Connections are then opened as needed, up to a pool's worth.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let (connection, target) = migrate(url).await?;
        Self::with_pool(connection, target)
    }

    /// `connect` for callers outside async code, or on a runtime they must not block on (the
    /// CLI's settings): the migrations run on a thread of their own, and the pool opens its
    /// connections later, on the caller's runtime.
    pub fn open(url: &str) -> StoreResult<Self> {
        let url = url.to_owned();
        let (connection, target) = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Backend(format!("cannot start a runtime: {e}")))?
                .block_on(migrate(&url))
        })
        .join()
        .map_err(|_| StoreError::Backend("the database setup thread panicked".into()))??;
        Self::with_pool(connection, target)
    }

    fn with_pool(connection: tls::Connection, target: String) -> StoreResult<Self> {
        let changes = Arc::new(changes::Feed::new(connection.clone(), target.clone()));
        let manager = Manager::from_config(
            connection.config,
            connection.tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        Ok(Self {
            pool,
            target,
            bulk: Arc::new(BulkStats {
                written: std::sync::atomic::AtomicU64::new(0),
                next_analyze: std::sync::atomic::AtomicU64::new(FIRST_ANALYZE_AFTER),
            }),
            changes,
        })
    }

    /// Counts rows written in bulk and, after every doubling, refreshes the statistics of the
    /// tables bulk writes grow, before the next batch is planned.
    async fn wrote(&self, rows: usize) -> StoreResult<()> {
        use std::sync::atomic::Ordering;
        let total = self.bulk.written.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64;
        let due = self.bulk.next_analyze.load(Ordering::Relaxed);
        if total < due
            || self
                .bulk
                .next_analyze
                .compare_exchange(due, total * 2, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return Ok(());
        }
        let run = async {
            let client = self.client().await?;
            client
                .batch_execute(
                    "ANALYZE contacts, contact_handles, conversations, messages, events, tags, \
                     tag_changes, contact_states, notes, outbox",
                )
                .await?;
            Res::Ok(())
        };
        run.await.map_err(Fail::into_store)
    }

    /// Host, port and database this store writes to.
    pub fn target(&self) -> &str {
        &self.target
    }

    async fn client(&self) -> Res<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| {
            Fail::Store(StoreError::Backend(format!(
                "no connection to PostgreSQL at {}: {e}",
                self.target
            )))
        })
    }
}

fn not_found(entity: &'static str, key: impl ToString) -> Fail {
    Fail::Store(StoreError::not_found(entity, key))
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_contact(&self, draft: &ContactDraft, now: Timestamp) -> StoreResult<Contact> {
        transaction!(self, Write, |tx| contacts::create(tx, draft, now).await)
    }

    async fn get_contact(&self, id: ContactId) -> StoreResult<Contact> {
        transaction!(self, Read, |tx| {
            match contacts::resolve(tx, id).await? {
                Some(resolved) => contacts::load(tx, resolved).await,
                None => Err(not_found("contact", id)),
            }
        })
    }

    async fn find_contact(&self, handle: &Handle) -> StoreResult<Option<Contact>> {
        transaction!(self, Read, |tx| {
            match contacts::find_by_handle(tx, handle).await? {
                Some(id) => contacts::load(tx, id).await.map(Some),
                None => Ok(None),
            }
        })
    }

    async fn update_contact(&self, contact: &Contact, now: Timestamp) -> StoreResult<Contact> {
        transaction!(self, Write, |tx| {
            contacts::lock(tx, contact.id).await?;
            let mut updated = contact.clone();
            updated.updated_at = now;
            contacts::save(tx, &updated).await?;
            contacts::load(tx, contact.id).await
        })
    }

    async fn list_contacts(&self, scope: Scope, page: PageRequest) -> StoreResult<Page<Contact>> {
        transaction!(self, Read, |tx| contacts::list(tx, scope, page).await)
    }

    async fn get_contact_in(&self, scope: Scope, id: ContactId) -> StoreResult<Contact> {
        transaction!(self, Read, |tx| {
            // One the scope does not see is not found, exactly like one that does not exist.
            match contacts::resolve(tx, id).await? {
                Some(resolved) if contacts::visible(tx, scope, resolved).await? => {
                    contacts::load(tx, resolved).await
                }
                _ => Err(not_found("contact", id)),
            }
        })
    }

    async fn merge_contacts(
        &self,
        keep: ContactId,
        absorb: ContactId,
        now: Timestamp,
    ) -> StoreResult<Contact> {
        transaction!(self, Write, |tx| {
            contacts::merge_locked(tx, keep, absorb, now).await
        })
    }

    async fn import_contacts(
        &self,
        drafts: &[ContactDraft],
        now: Timestamp,
    ) -> StoreResult<ContactImportOutcome> {
        let outcome = transaction!(self, Write, |tx| contacts::import(tx, drafts, now).await)?;
        self.wrote(drafts.len()).await?;
        Ok(outcome)
    }

    async fn record_consent(&self, contact: ContactId, consent: &Consent) -> StoreResult<()> {
        transaction!(self, Write, |tx| {
            let id = contacts::lock_resolved(tx, contact).await?;
            let mut c = contacts::load(tx, id).await?;
            c.consents.push(consent.clone());
            contacts::save(tx, &c).await
        })
    }

    async fn define_custom_field(&self, def: &CustomFieldDef) -> StoreResult<()> {
        transaction!(self, Write, |tx| people::define_custom_field(tx, def).await)
    }

    async fn list_custom_fields(&self) -> StoreResult<Vec<CustomFieldDef>> {
        transaction!(self, Read, |tx| people::list_custom_fields(tx).await)
    }

    async fn ensure_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account> {
        transaction!(self, Write, |tx| messages::ensure_account(tx, draft, now)
            .await)
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        transaction!(self, Read, |tx| messages::list_accounts(tx).await)
    }

    async fn create_account(&self, draft: &AccountDraft, now: Timestamp) -> StoreResult<Account> {
        transaction!(self, Write, |tx| outbox::create_account(tx, draft, now)
            .await)
    }

    async fn get_account(&self, name: &str) -> StoreResult<Account> {
        transaction!(self, Read, |tx| outbox::get_account(tx, name).await)
    }

    async fn set_account_limits(&self, name: &str, limits: &AccountLimits) -> StoreResult<Account> {
        transaction!(self, Write, |tx| outbox::set_limits(tx, name, limits).await)
    }

    async fn set_account_config(&self, name: &str, config: Option<&str>) -> StoreResult<Account> {
        transaction!(self, Write, |tx| outbox::set_config(tx, name, config).await)
    }

    async fn pause_account(
        &self,
        account: AccountId,
        until: Option<Timestamp>,
        reason: Option<&str>,
    ) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::pause(tx, account, until, reason)
            .await)
    }

    async fn put_template(&self, template: &Template, now: Timestamp) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::put_template(tx, template, now)
            .await)
    }

    async fn get_template(&self, name: &str) -> StoreResult<Template> {
        transaction!(self, Read, |tx| outbox::get_template(tx, name).await)
    }

    async fn list_templates(&self) -> StoreResult<Vec<Template>> {
        transaction!(self, Read, |tx| outbox::list_templates(tx).await)
    }

    async fn create_broadcast(
        &self,
        draft: &BroadcastDraft,
        recipients: &[ContactId],
        now: Timestamp,
    ) -> StoreResult<Broadcast> {
        let broadcast = transaction!(self, Write, |tx| outbox::create_broadcast(
            tx, draft, recipients, now
        )
        .await)?;
        self.wrote(recipients.len()).await?;
        Ok(broadcast)
    }

    async fn get_broadcast(&self, id: BroadcastId, now: Timestamp) -> StoreResult<BroadcastReport> {
        let report = transaction!(self, Read, |tx| outbox::broadcast_report(tx, id).await)?;
        if outbox::broadcast_finished(&report) {
            // Decided again under the broadcast's lock before it is stored.
            return transaction!(self, Write, |tx| outbox::complete_broadcast(tx, id, now)
                .await);
        }
        Ok(report)
    }

    async fn list_broadcasts(&self, page: PageRequest) -> StoreResult<Page<Broadcast>> {
        transaction!(self, Read, |tx| outbox::list_broadcasts(tx, page).await)
    }

    async fn set_broadcast_status(
        &self,
        id: BroadcastId,
        next: BroadcastStatus,
        now: Timestamp,
    ) -> StoreResult<Broadcast> {
        transaction!(self, Write, |tx| outbox::set_broadcast_status(
            tx, id, next, now
        )
        .await)
    }

    async fn enqueue(&self, draft: &OutboxDraft, now: Timestamp) -> StoreResult<OutboxId> {
        transaction!(self, Write, |tx| outbox::enqueue(tx, draft, now).await)
    }

    async fn due_messages(
        &self,
        account: AccountId,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<DueMessage>> {
        transaction!(self, Read, |tx| outbox::due_messages(
            tx, account, now, limit
        )
        .await)
    }

    async fn next_due_at(&self, account: AccountId) -> StoreResult<Option<Timestamp>> {
        transaction!(self, Read, |tx| outbox::next_due_at(tx, account).await)
    }

    async fn defer_message(&self, id: OutboxId, until: Timestamp, reason: &str) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::defer(tx, id, until, reason).await)
    }

    async fn skip_message(&self, id: OutboxId, reason: &str, now: Timestamp) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::skip(tx, id, reason, now).await)
    }

    async fn begin_send(
        &self,
        id: OutboxId,
        outbound: &Outbound,
        node: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        transaction!(self, Write, |tx| outbox::begin_send(
            tx, id, outbound, node, now
        )
        .await)
    }

    async fn finish_send(
        &self,
        id: OutboxId,
        outcome: &SendOutcome,
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::finish_send(
            tx, id, outcome, now, rules
        )
        .await)
    }

    async fn contact_of_provider_message(
        &self,
        provider_id: &str,
    ) -> StoreResult<Option<ContactId>> {
        transaction!(self, Read, |tx| outbox::contact_of_provider_message(
            tx,
            provider_id
        )
        .await)
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
        transaction!(self, Write, |tx| outbox::record_receipt(
            tx,
            provider_id,
            status,
            at,
            detail,
            flag_invalid,
            rules
        )
        .await)
    }

    async fn account_sends(
        &self,
        account: AccountId,
        since: Timestamp,
    ) -> StoreResult<Vec<Timestamp>> {
        transaction!(self, Read, |tx| outbox::account_sends(tx, account, since)
            .await)
    }

    async fn identical_sent_at(
        &self,
        content_hash: &str,
        other_than: AccountId,
        since: Timestamp,
    ) -> StoreResult<Option<Timestamp>> {
        transaction!(self, Read, |tx| outbox::identical_sent_at(
            tx,
            content_hash,
            other_than,
            since
        )
        .await)
    }

    async fn claim_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<Option<Takeover>> {
        transaction!(self, Write, |tx| outbox::claim_account(
            tx, account, node, until, now
        )
        .await)
    }

    async fn renew_account(
        &self,
        account: AccountId,
        node: &str,
        until: Timestamp,
        _now: Timestamp,
    ) -> StoreResult<bool> {
        transaction!(self, Write, |tx| outbox::renew_account(
            tx, account, node, until
        )
        .await)
    }

    async fn release_account(&self, account: AccountId, node: &str) -> StoreResult<()> {
        transaction!(self, Write, |tx| outbox::release_account(tx, account, node)
            .await)
    }

    async fn list_outbox(
        &self,
        broadcast: Option<BroadcastId>,
        page: PageRequest,
    ) -> StoreResult<Page<OutboxEntry>> {
        transaction!(self, Read, |tx| outbox::list_outbox(tx, broadcast, page)
            .await)
    }

    async fn ingest_messages(
        &self,
        batch: &[IncomingMessage],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome> {
        let outcome = transaction!(self, Write, |tx| messages::ingest_messages(
            tx, batch, now, rules
        )
        .await)?;
        self.wrote(batch.len()).await?;
        Ok(outcome)
    }

    async fn get_message(&self, id: MessageId) -> StoreResult<Message> {
        transaction!(self, Read, |tx| messages::get_message(tx, id).await)
    }

    async fn add_message_status(
        &self,
        id: MessageId,
        change: &StatusChange,
        rules: &Arc<Rules>,
    ) -> StoreResult<()> {
        transaction!(self, Write, |tx| messages::add_status(
            tx, id, change, rules
        )
        .await)
    }

    async fn list_messages(
        &self,
        contact: ContactId,
        page: PageRequest,
    ) -> StoreResult<Page<Message>> {
        transaction!(self, Read, |tx| messages::list_messages(tx, contact, page)
            .await)
    }

    async fn list_conversations(&self, contact: ContactId) -> StoreResult<Vec<Conversation>> {
        transaction!(self, Read, |tx| messages::list_conversations(tx, contact)
            .await)
    }

    async fn ingest_events(
        &self,
        batch: &[IncomingEvent],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<IngestOutcome> {
        let outcome = transaction!(self, Write, |tx| messages::ingest_events(
            tx, batch, now, rules
        )
        .await)?;
        self.wrote(batch.len()).await?;
        Ok(outcome)
    }

    async fn refresh_due(
        &self,
        now: Timestamp,
        rules: &Arc<Rules>,
        limit: u32,
    ) -> StoreResult<u64> {
        transaction!(self, Write, |tx| engine::refresh_due(tx, now, rules, limit)
            .await)
    }

    async fn reclassify(
        &self,
        contacts: &[ContactId],
        now: Timestamp,
        rules: &Arc<Rules>,
    ) -> StoreResult<u64> {
        // Read and replay in a read-only snapshot, outside any lock, so that calls overlap; the
        // write transaction replays again a contact that gained an event in between.
        let computed = transaction!(self, Read, |tx| {
            let histories = engine::histories(tx, contacts).await?;
            let mut out = Vec::with_capacity(histories.len());
            for id in contacts {
                if let Some(history) = histories.get(id).filter(|h| !h.is_empty()) {
                    let last_at = history.last().map(|e| e.at());
                    out.push((*id, rules.replay(history), last_at));
                }
            }
            Res::Ok(out)
        })?;
        transaction!(self, Write, |tx| engine::write_reclassified(
            tx, &computed, now, rules
        )
        .await)
    }

    async fn planning_page(
        &self,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> StoreResult<Page<(Contact, ContactState)>> {
        transaction!(self, Read, |tx| engine::planning_page(tx, owner, page)
            .await)
    }

    async fn segment_page(&self, page: PageRequest) -> StoreResult<Page<SegmentRow>> {
        transaction!(self, Read, |tx| engine::segment_page(tx, page).await)
    }

    async fn contact_ids(&self, page: PageRequest) -> StoreResult<Page<ContactId>> {
        transaction!(self, Read, |tx| contacts::ids(tx, page).await)
    }

    async fn list_events(&self, contact: ContactId, page: PageRequest) -> StoreResult<Page<Event>> {
        transaction!(self, Read, |tx| messages::list_events(tx, contact, page)
            .await)
    }

    async fn apply_tag_changes(
        &self,
        contact: ContactId,
        changes: &[TagChange],
    ) -> StoreResult<()> {
        transaction!(self, Write, |tx| {
            let id = contacts::lock_resolved(tx, contact).await?;
            people::apply_tag_changes(tx, id, changes).await
        })
    }

    async fn list_tags(&self, contact: ContactId) -> StoreResult<Vec<Tag>> {
        transaction!(self, Read, |tx| people::list_tags(tx, contact).await)
    }

    async fn tag_history(&self, contact: ContactId) -> StoreResult<Vec<TagChange>> {
        transaction!(self, Read, |tx| people::tag_history(tx, contact).await)
    }

    async fn add_note(
        &self,
        contact: ContactId,
        author: Option<UserId>,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<Note> {
        transaction!(self, Write, |tx| {
            let id = contacts::lock_resolved(tx, contact).await?;
            people::add_note(tx, id, author, text, at).await
        })
    }

    async fn list_notes(&self, contact: ContactId) -> StoreResult<Vec<Note>> {
        transaction!(self, Read, |tx| people::list_notes(tx, contact).await)
    }

    async fn add_task(&self, draft: &TaskDraft, now: Timestamp) -> StoreResult<Task> {
        transaction!(self, Write, |tx| people::add_task(tx, draft, now).await)
    }

    async fn complete_task(&self, id: TaskId, at: Timestamp) -> StoreResult<Task> {
        transaction!(self, Write, |tx| people::complete_task(tx, id, at).await)
    }

    async fn list_tasks(&self, contact: ContactId) -> StoreResult<Vec<Task>> {
        transaction!(self, Read, |tx| people::list_tasks(tx, contact).await)
    }

    async fn create_team(&self, name: &str) -> StoreResult<Team> {
        transaction!(self, Write, |tx| people::create_team(tx, name).await)
    }

    async fn list_teams(&self) -> StoreResult<Vec<Team>> {
        transaction!(self, Read, |tx| people::list_teams(tx).await)
    }

    async fn create_user(&self, draft: &UserDraft, now: Timestamp) -> StoreResult<User> {
        transaction!(self, Write, |tx| people::create_user(tx, draft, now).await)
    }

    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        transaction!(self, Read, |tx| people::find_user_by_email(tx, email).await)
    }

    async fn get_user(&self, id: UserId) -> StoreResult<User> {
        transaction!(self, Read, |tx| people::get_user(tx, id).await)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        transaction!(self, Read, |tx| people::list_users(tx).await)
    }

    async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        user: Option<UserId>,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<ApiToken> {
        transaction!(self, Write, |tx| people::create_api_token(
            tx, name, role, user, token_hash, now
        )
        .await)
    }

    async fn find_api_token(&self, token_hash: &str) -> StoreResult<Option<ApiToken>> {
        transaction!(self, Read, |tx| people::find_api_token(tx, token_hash)
            .await)
    }

    async fn list_api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        transaction!(self, Read, |tx| people::list_api_tokens(tx).await)
    }

    async fn revoke_api_token(&self, id: i64) -> StoreResult<ApiToken> {
        transaction!(self, Write, |tx| people::revoke_api_token(tx, id).await)
    }

    async fn login_lookup(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>> {
        transaction!(self, Read, |tx| people::login_lookup(tx, email).await)
    }

    async fn set_password_hash(&self, user: UserId, hash: Option<&str>) -> StoreResult<()> {
        transaction!(self, Write, |tx| people::set_password_hash(tx, user, hash)
            .await)
    }

    async fn search_contacts(
        &self,
        scope: Scope,
        filter: &ContactFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Contact>> {
        transaction!(self, Read, |tx| search::search_contacts(
            tx, scope, filter, page
        )
        .await)
    }

    async fn search_messages(
        &self,
        scope: Scope,
        query: &str,
        account: Option<AccountId>,
        page: PageRequest,
    ) -> StoreResult<Page<Message>> {
        transaction!(self, Read, |tx| search::search_messages(
            tx, scope, query, account, page
        )
        .await)
    }

    async fn inbox(
        &self,
        scope: Scope,
        filter: &InboxFilter,
        after: Option<InboxCursor>,
        limit: u32,
    ) -> StoreResult<InboxPage> {
        transaction!(self, Read, |tx| search::inbox(
            tx, scope, filter, after, limit
        )
        .await)
    }

    async fn get_setting(&self, key: &str) -> StoreResult<Option<(String, Timestamp)>> {
        transaction!(self, Read, |tx| search::get_setting(tx, key).await)
    }

    async fn put_setting(&self, key: &str, value: &str, now: Timestamp) -> StoreResult<()> {
        transaction!(self, Write, |tx| search::put_setting(tx, key, value, now)
            .await)
    }

    async fn delete_setting(&self, key: &str) -> StoreResult<()> {
        transaction!(self, Write, |tx| search::delete_setting(tx, key).await)
    }

    async fn create_session(&self, token_hash: &str, session: &Session) -> StoreResult<()> {
        transaction!(self, Write, |tx| people::create_session(
            tx, token_hash, session
        )
        .await)
    }

    async fn find_session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Session>> {
        transaction!(self, Read, |tx| people::find_session(tx, token_hash, now)
            .await)
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        transaction!(self, Write, |tx| people::delete_session(tx, token_hash)
            .await)
    }

    async fn delete_user_sessions(&self, user: UserId) -> StoreResult<u64> {
        transaction!(self, Write, |tx| people::delete_user_sessions(tx, user)
            .await)
    }

    async fn purge_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        transaction!(self, Write, |tx| people::purge_sessions(tx, now).await)
    }

    async fn erase_contact(&self, id: ContactId) -> StoreResult<Erased> {
        transaction!(self, Write, |tx| privacy::erase_contact(tx, id).await)
    }

    async fn append_audit(&self, entry: &AuditDraft, at: Timestamp) -> StoreResult<i64> {
        transaction!(self, Write, |tx| audit::append(tx, entry, at).await)
    }

    async fn list_audit(&self, page: PageRequest) -> StoreResult<Page<AuditEntry>> {
        transaction!(self, Read, |tx| audit::list(tx, page).await)
    }

    async fn counts(&self) -> StoreResult<Counts> {
        transaction!(self, Read, |tx| people::counts(tx).await)
    }

    fn changes(&self) -> Option<tokio::sync::broadcast::Receiver<stoke_store::Change>> {
        Some(self.changes.subscribe())
    }
}
