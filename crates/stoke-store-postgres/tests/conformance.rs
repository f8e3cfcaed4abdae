//! The store conformance suite on PostgreSQL: each test gets a database of its own on the server
//! `STOKE_TEST_POSTGRES_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`, where
//! CI has one), created for it and dropped when it ends. Without a server every test fails with
//! one message saying so.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use stoke_store_postgres::PostgresStore;

const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn server() -> String {
    std::env::var("STOKE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned())
}

/// The server URL with another database: everything up to the path is kept, and the options.
fn with_database(server: &str, name: &str) -> String {
    let (base, options) = match server.split_once('?') {
        Some((base, options)) => (base, Some(options)),
        None => (server, None),
    };
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match options {
        Some(options) => format!("{base}/{name}?{options}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs statements on the database `url` names, on a thread with its own runtime: databases are
/// dropped in `Drop`, outside async code.
fn execute_on(url: String, sql: String) -> Result<(), String> {
    query_on(url, sql).map(drop)
}

/// `execute_on`, returning the first column of every row the statements gave, as text.
fn query_on(url: String, sql: String) -> Result<Vec<String>, String> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            })?;
            let driver = tokio::spawn(connection);
            let done = client
                .simple_query(&sql)
                .await
                .map(|messages| {
                    messages
                        .iter()
                        .filter_map(|m| match m {
                            tokio_postgres::SimpleQueryMessage::Row(row) => {
                                Some(row.get(0).unwrap_or_default().to_owned())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .map_err(|e| e.to_string());
            drop(client);
            let _ = driver.await;
            done
        })
    })
    .join()
    .map_err(|_| "the admin thread panicked".to_owned())?
}

/// Runs statements on the server's own database.
fn admin(sql: String) -> Result<(), String> {
    execute_on(server(), sql)
}

/// Checks once per test process that the server answers, and says clearly when it does not:
/// the first test to find out gives the whole message, the others point to it.
fn require_server() {
    static REACHABLE: OnceLock<Result<(), String>> = OnceLock::new();
    static REPORTED: AtomicBool = AtomicBool::new(false);
    let reachable = REACHABLE.get_or_init(|| admin("SELECT 1".to_owned()));
    if let Err(e) = reachable {
        if REPORTED.swap(true, Ordering::SeqCst) {
            panic!("PostgreSQL is not reachable (see the first failure of this suite)");
        }
        panic!(
            "PostgreSQL is not reachable at {} ({e}): the conformance suite needs it. \
             Start it, or set STOKE_TEST_POSTGRES_URL to a server where this user may create \
             databases (STOKE_TEST_POSTGRES=skip makes scripts/test leave this crate out).",
            server()
        );
    }
}

/// A database that lives as long as its test: dropped, with any connection still open to it,
/// when the test ends.
#[derive(Debug)]
struct Database {
    name: String,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Err(e) = admin(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

fn create_database() -> Database {
    require_server();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "stoke_test_{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        fastrand::u32(..)
    );
    if let Err(e) = admin(format!("CREATE DATABASE \"{name}\"")) {
        panic!(
            "cannot create the test database {name} on {}: {e}",
            server()
        );
    }
    Database { name }
}

async fn fresh_store() -> (PostgresStore, Database) {
    let db = create_database();
    let store = PostgresStore::connect(&with_database(&server(), &db.name))
        .await
        .unwrap_or_else(|e| panic!("cannot open the store on {}: {e}", db.name));
    (store, db)
}

stoke_store::conformance_suite!(fresh_store);

#[test]
fn test_database_urls_keep_the_server_and_its_options() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@db:5433?sslmode=disable", "x"),
        "postgresql://u:p@db:5433/x?sslmode=disable"
    );
}

/// TLS to the server, as the URL's `sslmode` and `sslrootcert` ask, checked from the server's
/// side (`pg_stat_ssl`) and against the server's own certificate. Skipped, saying so, when the
/// server offers no TLS.
mod tls {
    use stoke_store::Store;
    use stoke_store_postgres::PostgresStore;

    use super::{create_database, query_on, server, with_database};

    /// The server's answer to one `SHOW`.
    fn show(setting: &str) -> String {
        query_on(server(), format!("SHOW {setting}"))
            .expect("SHOW")
            .pop()
            .unwrap_or_default()
    }

    /// The store's connections to `db` under `application`, and how many of them are encrypted.
    fn connections(db: &str, application: &str) -> (u32, u32) {
        let counts = query_on(
            server(),
            format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'                  AND application_name = '{application}';
                 SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)                  WHERE a.datname = '{db}' AND a.application_name = '{application}' AND s.ssl"
            ),
        )
        .expect("pg_stat_ssl");
        let count = |i: usize| counts[i].parse::<u32>().expect("a count");
        (count(0), count(1))
    }

    fn with_options(url: &str, options: &str) -> String {
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}{options}")
    }

    #[tokio::test]
    async fn connections_are_encrypted_and_verified_as_the_url_asks() {
        let db = create_database();
        if show("ssl") != "on" {
            eprintln!(
                "skipped: the PostgreSQL server at {} offers no TLS",
                server()
            );
            return;
        }
        let url = with_database(&server(), &db.name);
        for (mode, encrypted) in [("require", true), ("prefer", true), ("disable", false)] {
            let application = format!("stoke_tls_{mode}");
            let store = PostgresStore::connect(&with_options(
                &url,
                &format!("sslmode={mode}&application_name={application}"),
            ))
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
            store.get_setting("tls.check").await.expect("a query");
            let (open, secure) = connections(&db.name, &application);
            assert!(open > 0, "sslmode={mode}: no connection seen");
            assert_eq!(
                secure == open,
                encrypted,
                "sslmode={mode}: {secure} of {open} encrypted"
            );
        }

        // The certificate checks, against the server's own certificate as the trusted root.
        let root = show("ssl_cert_file");
        let local = url.replacen("@127.0.0.1:", "@localhost:", 1);
        if !url.contains("@127.0.0.1:") || std::fs::metadata(&root).is_err() {
            eprintln!("certificate checks skipped: they need the local server and {root}");
            return;
        }
        let root = format!("sslrootcert={root}");
        let by_name = with_options(&local, &format!("sslmode=verify-full&{root}"));
        let store = PostgresStore::connect(&by_name)
            .await
            .unwrap_or_else(|e| panic!("verify-full by the certificate's name: {e}"));
        store.get_setting("tls.check").await.expect("a query");
        // By address, the certificate's name does not match: verify-full refuses, verify-ca
        // (which checks only who issued it) accepts.
        let err =
            PostgresStore::connect(&with_options(&url, &format!("sslmode=verify-full&{root}")))
                .await
                .expect_err("the name does not match");
        assert!(err.to_string().contains("certificate"), "{err}");
        PostgresStore::connect(&with_options(&url, &format!("sslmode=verify-ca&{root}")))
            .await
            .unwrap_or_else(|e| panic!("verify-ca by address: {e}"));
        // Without the server's certificate as a root, no public authority vouches for it.
        let err = PostgresStore::connect(&with_options(&local, "sslmode=verify-full"))
            .await
            .expect_err("a self-signed certificate is not trusted by default");
        assert!(err.to_string().contains("certificate"), "{err}");
    }
}

/// What only the PostgreSQL backend has: a schema shared by restarts and by several nodes.
mod postgres_server {
    use std::sync::Arc;

    use jiff::Timestamp;
    use stoke_core::engine::Rules;
    use stoke_core::playbook::Playbook;
    use stoke_core::{Channel, ContactDraft, ContactRef, Direction, Phone};
    use stoke_store::{IncomingMessage, Store};
    use stoke_store_postgres::PostgresStore;

    use super::{create_database, execute_on, server, with_database};

    fn now() -> Timestamp {
        "2026-11-20T10:00:00Z".parse().expect("time")
    }

    #[tokio::test]
    async fn reopening_keeps_data_and_does_not_migrate_twice() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let draft = ContactDraft {
            phones: vec![Phone::parse("+966501234567", None).expect("phone")],
            ..ContactDraft::default()
        };
        {
            let store = PostgresStore::connect(&url).await.expect("open");
            store.create_contact(&draft, now()).await.expect("create");
        }
        // Opened the way the CLI opens it, from synchronous code.
        let store = tokio::task::spawn_blocking(move || PostgresStore::open(&url))
            .await
            .expect("join")
            .expect("reopen");
        assert_eq!(store.counts().await.expect("counts").contacts, 1);
        assert!(!format!("{store:?}").contains("postgres@"), "{store:?}");
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_not_guessed_at() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        drop(PostgresStore::connect(&url).await.expect("open"));
        // A migration this build does not know, as a newer Stoke would have recorded it.
        execute_on(
            url.clone(),
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)"
                .to_owned(),
        )
        .expect("bump");
        let err = PostgresStore::connect(&url)
            .await
            .expect_err("newer schema");
        assert!(
            err.to_string().contains("newer than this Stoke knows"),
            "{err}"
        );
    }

    /// A database from before search (migration 0004: the search columns, their indexes and
    /// settings, rolled back by hand over stored rows): opening it gives every contact and
    /// message its words, and search finds them; a contact whose profile cannot be read gets
    /// the words of its name.
    #[tokio::test]
    async fn upgrading_to_search_indexes_what_is_stored() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        {
            let store = PostgresStore::connect(&url).await.expect("open");
            let draft = ContactDraft {
                name: Some("أحمد الشّامي".into()),
                phones: vec![Phone::parse("+966501112233", None).expect("phone")],
                ..ContactDraft::default()
            };
            store.create_contact(&draft, now()).await.expect("create");
            let messages: Vec<IncomingMessage> = ["ما هي أسعاركم؟", "🙂", "Ёлка PRICE"]
                .iter()
                .enumerate()
                .map(|(n, text)| IncomingMessage {
                    external_id: format!("m{n}"),
                    contact: ContactRef::parse("+966501112233").expect("ref"),
                    account: "wa-1".into(),
                    channel: Channel::WhatsApp,
                    direction: Direction::In,
                    text: (*text).into(),
                    at: now(),
                    provider_id: None,
                })
                .collect();
            store
                .ingest_messages(&messages, now(), &rules)
                .await
                .expect("ingest");
        }
        execute_on(
            url.clone(),
            "DROP FUNCTION stoke_notify_change() CASCADE;
             DROP TABLE settings;
             DROP INDEX contacts_search, messages_search, contacts_unassigned, tags_by_value,
                 conversations_by_last_message;
             CREATE INDEX tags_by_value ON tags(family, value);
             ALTER TABLE contacts DROP COLUMN search;
             ALTER TABLE messages DROP COLUMN search;
             ALTER TABLE accounts DROP COLUMN config;
             DELETE FROM schema_migrations WHERE version >= 4;
             INSERT INTO contacts (kind, name, profile, created_at, updated_at)
               VALUES ('person', 'Ёлкин', '{\"x\":1}', 0, 0);"
                .to_owned(),
        )
        .expect("back to 0003");
        // 0005's change notifications went too, and come back with the upgrade.

        let store = PostgresStore::connect(&url).await.expect("upgrade");
        let all = stoke_store::Scope::Everything;
        let page = stoke_store::PageRequest::first(10);
        for text in ["احمد", "الشامي", "1122", "+966 50 111 2233"] {
            let filter = stoke_store::ContactFilter {
                text: Some(text.into()),
                ..Default::default()
            };
            let found = store
                .search_contacts(all, &filter, page)
                .await
                .expect("search");
            assert_eq!(found.items.len(), 1, "{text:?}");
            assert_eq!(found.items[0].name, "أحمد الشّامي");
        }
        for (query, text) in [("اسعار", "ما هي أسعاركم؟"), ("елка price", "Ёлка PRICE")]
        {
            let found = store
                .search_messages(all, query, None, page)
                .await
                .expect("search");
            assert_eq!(found.items.len(), 1, "{query:?}");
            assert_eq!(found.items[0].text, text);
        }
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        let driver = tokio::spawn(connection);
        let unreadable: String = client
            .query_one("SELECT search FROM contacts WHERE name = 'Ёлкин'", &[])
            .await
            .and_then(|r| r.try_get(0))
            .expect("search words");
        assert_eq!(unreadable, "елкин");
        let versions: i64 = client
            .query_one("SELECT MAX(version) FROM schema_migrations", &[])
            .await
            .and_then(|r| r.try_get(0))
            .expect("version");
        assert_eq!(versions, 7, "every migration up to the latest applied");
        drop(client);
        let _ = driver.await;
    }

    /// A message search reads the newest ids in order, in growing windows, then turns to the
    /// word index for the rest: messages far apart in id (sequence restarted) are found in
    /// order across both, page by page, in the whole workspace and in an agent's scope.
    #[tokio::test]
    async fn message_search_finds_old_messages_through_the_word_index() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let store = PostgresStore::connect(&url).await.expect("open");
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        let ingest = async |texts: &[(&str, &str)]| {
            let batch: Vec<IncomingMessage> = texts
                .iter()
                .map(|(key, text)| IncomingMessage {
                    external_id: (*key).into(),
                    contact: ContactRef::parse("+966501112233").expect("ref"),
                    account: "wa-1".into(),
                    channel: Channel::WhatsApp,
                    direction: Direction::In,
                    text: (*text).into(),
                    at: now(),
                    provider_id: None,
                })
                .collect();
            store
                .ingest_messages(&batch, now(), &rules)
                .await
                .expect("ingest");
        };
        let restart = |at: i64| {
            execute_on(
                url.clone(),
                format!("ALTER TABLE messages ALTER COLUMN id RESTART WITH {at}"),
            )
            .expect("restart ids");
        };
        ingest(&[("a1", "alpha one"), ("b", "beta"), ("a2", "alpha two")]).await;
        restart(500_000);
        ingest(&[("a3", "alpha three"), ("g", "gamma")]).await;
        restart(1_000_000);
        ingest(&[("a4", "alpha four"), ("n", "noise")]).await;

        let contact = store
            .find_contact(&stoke_core::Handle::Phone(
                Phone::parse("+966501112233", None).expect("phone"),
            ))
            .await
            .expect("find")
            .expect("contact");
        let mut owned = contact.clone();
        let team = store.create_team("Riyadh").await.expect("team");
        let agent = store
            .create_user(
                &stoke_core::UserDraft {
                    email: stoke_core::Email::parse("sara@example.com").expect("email"),
                    name: "Sara".into(),
                    role: stoke_core::Role::Agent,
                    team: Some(team.id),
                    password_hash: None,
                },
                now(),
            )
            .await
            .expect("agent");
        owned.owner = Some(agent.id);
        store.update_contact(&owned, now()).await.expect("assign");
        let sara = stoke_store::Scope::Agent {
            user: agent.id,
            team: Some(team.id),
        };
        for scope in [stoke_store::Scope::Everything, sara] {
            let texts = |page: &stoke_store::Page<stoke_core::Message>| {
                page.items
                    .iter()
                    .map(|m| m.text.clone())
                    .collect::<Vec<_>>()
            };
            let first = store
                .search_messages(scope, "alph", None, stoke_store::PageRequest::first(3))
                .await
                .expect("search");
            assert_eq!(texts(&first), ["alpha four", "alpha three", "alpha two"]);
            let rest = store
                .search_messages(
                    scope,
                    "alph",
                    None,
                    stoke_store::PageRequest {
                        after: first.next,
                        limit: 3,
                    },
                )
                .await
                .expect("search");
            assert_eq!(texts(&rest), ["alpha one"]);
            assert_eq!(rest.next, None);
            for (word, text) in [("gamma", "gamma"), ("beta", "beta"), ("noise", "noise")] {
                let found = store
                    .search_messages(scope, word, None, stoke_store::PageRequest::first(3))
                    .await
                    .expect("search");
                assert_eq!(texts(&found), [text], "{word}");
            }
        }
        let stranger = store.create_team("Elsewhere").await.expect("team");
        let none = store
            .search_messages(
                stoke_store::Scope::Team(stranger.id),
                "alpha",
                None,
                stoke_store::PageRequest::first(3),
            )
            .await
            .expect("search");
        assert!(none.items.is_empty());
    }

    /// Two nodes (two stores, two pools) take the same new customer's first messages at once:
    /// one contact is created, every message is stored once, and both batches succeed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_ingesting_one_new_contact_create_it_once() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        let message = |key: String, at: i64| IncomingMessage {
            external_id: key,
            contact: ContactRef::parse("+966501234567").expect("ref"),
            account: "wa-sales-1".into(),
            channel: Channel::WhatsApp,
            direction: Direction::In,
            text: "how much is it?".into(),
            at: Timestamp::from_second(1_795_000_000 + at).expect("time"),
            provider_id: None,
        };
        for round in 0..5 {
            // Each node's batch: its own messages and a few both have (a webhook delivered twice).
            let shared: Vec<IncomingMessage> = (0..3)
                .map(|i| message(format!("shared-{round}-{i}"), round * 100 + i))
                .collect();
            let mut batch_a = shared.clone();
            batch_a.push(message(format!("a-{round}"), round * 100 + 50));
            let mut batch_b = shared;
            batch_b.push(message(format!("b-{round}"), round * 100 + 60));
            let (ra, rb) = tokio::join!(
                a.ingest_messages(&batch_a, now(), &rules),
                b.ingest_messages(&batch_b, now(), &rules)
            );
            let (ra, rb) = (ra.expect("node a"), rb.expect("node b"));
            assert_eq!(ra.inserted + rb.inserted, 5, "{ra:?} {rb:?}");
            assert_eq!(ra.duplicates + rb.duplicates, 3, "{ra:?} {rb:?}");
        }
        let counts = a.counts().await.expect("counts");
        assert_eq!((counts.contacts, counts.messages), (1, 25), "{counts:?}");
        assert_eq!(counts.conversations, 1);
    }

    /// One node's writes reach another node's change feed: a message that changes tags, and the
    /// workspace's playbook setting, each arrive as a notification (after the `Any` a new
    /// listener starts with).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_nodes_changes_arrive_as_notifications() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        let mut feed = b.changes().expect("a change feed");
        async fn next(
            feed: &mut tokio::sync::broadcast::Receiver<stoke_store::Change>,
        ) -> stoke_store::Change {
            tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
                .await
                .expect("a notification in time")
                .expect("open")
        }
        assert_eq!(next(&mut feed).await, stoke_store::Change::Any, "listening");
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        a.ingest_messages(
            &[IncomingMessage {
                external_id: "m1".into(),
                contact: ContactRef::parse("+966501234567").expect("ref"),
                account: "wa-sales-1".into(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: "how much is it?".into(),
                at: now(),
                provider_id: None,
            }],
            now(),
            &rules,
        )
        .await
        .expect("ingest");
        assert_eq!(next(&mut feed).await, stoke_store::Change::Tags);
        a.put_setting("playbook", "# mine", now())
            .await
            .expect("setting");
        assert_eq!(next(&mut feed).await, stoke_store::Change::Settings);
    }

    /// Two nodes' schedulers refresh the same due contacts at once: each contact is
    /// re-evaluated once, by one of them, and its tag history records the change once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_refreshing_due_contacts_share_them() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        let at: Timestamp = "2026-11-20T09:00:00Z".parse().expect("time");
        let batch: Vec<IncomingMessage> = (0..40)
            .map(|i| IncomingMessage {
                external_id: format!("hello-{i}"),
                contact: ContactRef::parse(&format!("+9665012345{i:02}")).expect("ref"),
                account: "wa-sales-1".into(),
                channel: Channel::WhatsApp,
                direction: Direction::In,
                text: "hello".into(),
                at,
                provider_id: None,
            })
            .collect();
        a.ingest_messages(&batch, at, &rules).await.expect("ingest");
        let later: Timestamp = "2026-11-22T12:00:00Z".parse().expect("time");
        let (ra, rb) = tokio::join!(
            a.refresh_due(later, &rules, 1000),
            b.refresh_due(later, &rules, 1000)
        );
        assert_eq!(ra.expect("node a") + rb.expect("node b"), 40);
        assert_eq!(a.refresh_due(later, &rules, 1000).await.expect("again"), 0);
        let contact = a
            .find_contact(&stoke_core::Handle::Phone(
                Phone::parse("+966501234507", None).expect("phone"),
            ))
            .await
            .expect("find")
            .expect("contact");
        let removed_high = a
            .tag_history(contact.id)
            .await
            .expect("history")
            .iter()
            .filter(|h| h.kind == stoke_core::TagChangeKind::Removed && h.tag.value == "high")
            .count();
        assert_eq!(removed_high, 1);
    }

    fn simulator_account(name: &str) -> stoke_core::AccountDraft {
        stoke_core::AccountDraft {
            name: name.into(),
            channel: Channel::Simulator,
            address: None,
            limits: Default::default(),
        }
    }

    fn outbound(text: &str) -> stoke_store::outbox::Outbound {
        stoke_store::outbox::Outbound {
            to: "+966501230000".into(),
            kind: stoke_core::template::MediaKind::Text,
            text: text.into(),
            media_url: None,
            content_hash: stoke_core::outbox::content_hash(text, None),
            last_inbound_at: None,
            template: None,
        }
    }

    /// Two nodes' dispatchers read the same due messages and claim them at once: every message
    /// is claimed by exactly one node.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_claiming_the_same_messages_send_each_once() {
        use stoke_core::outbox::BroadcastStatus;
        use stoke_store::outbox::{BroadcastDraft, Content};

        let db = create_database();
        let url = with_database(&server(), &db.name);
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        let account = a
            .create_account(&simulator_account("wa-1"), now())
            .await
            .expect("account");
        let mut people = Vec::new();
        for i in 0..30 {
            let draft = ContactDraft {
                phones: vec![Phone::parse(&format!("+9665012340{i:02}"), None).expect("phone")],
                ..ContactDraft::default()
            };
            people.push(a.create_contact(&draft, now()).await.expect("contact").id);
        }
        let broadcast = a
            .create_broadcast(
                &BroadcastDraft {
                    name: "sale".into(),
                    audience: "all".into(),
                    account: account.id,
                    content: Content::Text("Sale".into()),
                    not_before: now(),
                    golden_window: false,
                    ignore_quiet_hours: false,
                    created_by: None,
                    daily_limit: 100_000,
                },
                &people,
                now(),
            )
            .await
            .expect("broadcast");
        a.set_broadcast_status(broadcast.id, BroadcastStatus::Running, now())
            .await
            .expect("start");
        let due_a = a.due_messages(account.id, now(), 100).await.expect("due");
        let due_b = b.due_messages(account.id, now(), 100).await.expect("due");
        assert_eq!((due_a.len(), due_b.len()), (30, 30));
        let claim = |store: PostgresStore, ids: Vec<i64>, node: &'static str| async move {
            let mut won = Vec::new();
            for id in ids {
                if store
                    .begin_send(id, &outbound("Sale"), node, now())
                    .await
                    .expect("begin")
                {
                    won.push(id);
                }
            }
            won
        };
        let (won_a, won_b) = tokio::join!(
            tokio::spawn(claim(a.clone(), due_a.iter().map(|d| d.id).collect(), "a")),
            tokio::spawn(claim(
                b.clone(),
                due_b.iter().rev().map(|d| d.id).collect(),
                "b"
            )),
        );
        let (won_a, won_b) = (won_a.expect("join"), won_b.expect("join"));
        assert_eq!(won_a.len() + won_b.len(), 30, "{won_a:?} {won_b:?}");
        assert!(won_a.iter().all(|id| !won_b.contains(id)));
    }

    /// Two nodes find an account's lease lapsed at the same moment: one takes it over.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_taking_over_a_lapsed_lease_one_wins() {
        let db = create_database();
        let url = with_database(&server(), &db.name);
        let a = PostgresStore::connect(&url).await.expect("node a");
        let b = PostgresStore::connect(&url).await.expect("node b");
        let mut accounts = Vec::new();
        for i in 0..10 {
            let account = a
                .create_account(&simulator_account(&format!("wa-{i}")), now())
                .await
                .expect("account");
            let lease = a
                .claim_account(account.id, "dead-node", now(), now())
                .await
                .expect("claim");
            assert!(lease.is_some());
            accounts.push(account.id);
        }
        let later = now() + jiff::SignedDuration::from_mins(1);
        let until = later + jiff::SignedDuration::from_mins(1);
        for account in accounts {
            let (ra, rb) = tokio::join!(
                a.claim_account(account, "node-a", until, later),
                b.claim_account(account, "node-b", until, later)
            );
            let (ra, rb) = (ra.expect("node a"), rb.expect("node b"));
            assert!(ra.is_some() != rb.is_some(), "{ra:?} {rb:?}");
        }
    }

    /// Merging a contact that has outbox messages and a flagged number moves them to the
    /// survivor (their rows reference the contact the merge deletes).
    #[tokio::test]
    async fn merging_moves_outbox_messages_and_flags() {
        use stoke_core::outbox::{FailureClass, Purpose};
        use stoke_store::outbox::{Content, OutboxDraft, SendOutcome};

        let db = create_database();
        let url = with_database(&server(), &db.name);
        let store = PostgresStore::connect(&url).await.expect("open");
        let rules =
            Arc::new(Rules::new(Playbook::default_playbook().expect("playbook")).expect("rules"));
        let account = store
            .create_account(&simulator_account("wa-1"), now())
            .await
            .expect("account");
        let mut people = Vec::new();
        for phone in ["+966501234500", "+966501234501"] {
            let draft = ContactDraft {
                phones: vec![Phone::parse(phone, None).expect("phone")],
                ..ContactDraft::default()
            };
            people.push(
                store
                    .create_contact(&draft, now())
                    .await
                    .expect("contact")
                    .id,
            );
        }
        let enqueue = |key: &str| OutboxDraft {
            key: key.into(),
            account: account.id,
            contact: people[1],
            purpose: Purpose::Service,
            content: Content::Text("hello".into()),
            not_before: now(),
        };
        let failed = store.enqueue(&enqueue("k1"), now()).await.expect("enqueue");
        assert!(
            store
                .begin_send(failed, &outbound("hello"), "n", now())
                .await
                .expect("begin")
        );
        store
            .finish_send(
                failed,
                &SendOutcome::Failed {
                    class: FailureClass::InvalidNumber,
                    detail: "131026".into(),
                    retry_at: None,
                    flag_invalid: true,
                },
                now(),
                &rules,
            )
            .await
            .expect("finish");
        let queued = store.enqueue(&enqueue("k2"), now()).await.expect("enqueue");
        store
            .merge_contacts(people[0], people[1], now())
            .await
            .expect("merge");
        let due = store
            .due_messages(account.id, now(), 10)
            .await
            .expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].id, due[0].contact.id), (queued, people[0]));
        assert!(due[0].invalid_number);
        let entries = store
            .list_outbox(None, stoke_store::PageRequest::first(10))
            .await
            .expect("entries");
        assert!(entries.items.iter().all(|e| e.contact == people[0]));
    }
}
