//! Migrations shipped inside the binary, applied in order at open.

use r2d2_sqlite::rusqlite::{Connection, TransactionBehavior};
use stoke_store::StoreError;

/// One step of the schema: SQL, then, when SQL cannot do all of it, Rust in the same
/// transaction (filling a new column with text only `stoke_core` knows how to compute).
#[derive(Clone, Copy)]
struct Migration {
    name: &'static str,
    sql: &'static str,
    then: Option<Backfill>,
}

/// Rust work a migration does after its SQL, on the migration's transaction.
type Backfill = fn(&Connection) -> Result<(), StoreError>;

const fn sql(name: &'static str, sql: &'static str) -> Migration {
    Migration {
        name,
        sql,
        then: None,
    }
}

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[Migration] = &[
    sql(
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    sql(
        "0002_engine_state",
        include_str!("../migrations/0002_engine_state.sql"),
    ),
    sql(
        "0003_contact_owner",
        include_str!("../migrations/0003_contact_owner.sql"),
    ),
    sql("0004_outbox", include_str!("../migrations/0004_outbox.sql")),
    sql(
        "0005_sessions",
        include_str!("../migrations/0005_sessions.sql"),
    ),
    sql(
        "0006_contact_ids",
        include_str!("../migrations/0006_contact_ids.sql"),
    ),
    Migration {
        name: "0007_search",
        sql: include_str!("../migrations/0007_search.sql"),
        then: Some(crate::search::backfill),
    },
    sql(
        "0008_account_config",
        include_str!("../migrations/0008_account_config.sql"),
    ),
    sql("0009_inbox", include_str!("../migrations/0009_inbox.sql")),
];

/// Applies the migrations the database has not seen. Refuses a database written by a newer Stoke
/// rather than guess at its schema.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_with(conn, MIGRATIONS)
}

/// The schema version a database is at: how many migrations it has seen.
fn version(conn: &Connection) -> Result<usize, StoreError> {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(StoreError::backend)?
        .try_into()
        .map_err(|_| StoreError::Backend("negative schema version".into()))
}

/// Applies `migrations` past the database's version, each in its own transaction, with foreign
/// keys off: the steps of SQLite's table rebuild procedure that a migration file cannot take
/// itself (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
/// Changes", steps 1, 2, 10, 11 and 12). A rebuild drops a table others refer to, which with
/// foreign keys on fails (or, with an `ON DELETE` action, changes the rows that refer to it);
/// `PRAGMA foreign_keys` is ignored inside a transaction, so it is switched off here, before
/// each transaction begins, and every reference is checked before each commit instead.
fn migrate_with(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let applied = version(conn)?;
    if applied > migrations.len() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {applied}, newer than this Stoke knows ({}): upgrade Stoke",
            migrations.len()
        )));
    }
    if applied == migrations.len() {
        return Ok(());
    }
    let enforced: bool = conn
        .pragma_query_value(None, "foreign_keys", |row| row.get(0))
        .map_err(StoreError::backend)?;
    conn.pragma_update(None, "foreign_keys", false)
        .map_err(StoreError::backend)?;
    let outcome = apply(conn, migrations, applied);
    // Back as it was whether the migrations went through or not: the connection may be used.
    let restored = conn
        .pragma_update(None, "foreign_keys", enforced)
        .map_err(StoreError::backend);
    outcome.and(restored)
}

fn apply(
    conn: &mut Connection,
    migrations: &[Migration],
    applied: usize,
) -> Result<(), StoreError> {
    for (index, migration) in migrations.iter().enumerate().skip(applied) {
        let name = migration.name;
        // Immediate: of two processes opening one file at once, the second waits for the
        // first's migration and then sees its version, instead of applying it a second time.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::backend)?;
        if version(&tx)? > index {
            continue;
        }
        tx.execute_batch(migration.sql)
            .map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        if let Some(then) = migration.then {
            then(&tx).map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        }
        let broken = broken_references(&tx)?;
        if !broken.is_empty() {
            // Dropping the transaction rolls the migration back. The rows may have been broken
            // before it (a file edited by hand with foreign keys off): either way, the
            // database is left as it was, and the message names them.
            return Err(StoreError::Backend(format!(
                "migration {name} not applied: after it, {} row(s) would refer to rows that do not exist (first: {})",
                broken.len(),
                broken[..broken.len().min(5)].join(", ")
            )));
        }
        tx.pragma_update(None, "user_version", (index + 1) as i64)
            .map_err(StoreError::backend)?;
        tx.commit().map_err(StoreError::backend)?;
    }
    Ok(())
}

/// Rows whose foreign key names a row that does not exist, as `table row N -> parent`. Reads
/// every row that refers to another once, paid only by an open that applies a migration: 0.7 s
/// for 5 million messages and 500,000 contacts on a developer's machine with a warm cache
/// (0006's rebuild of those contacts took 0.4 s); not benchmarked further.
fn broken_references(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA foreign_key_check")
        .map_err(StoreError::backend)?;
    stmt.query_map([], |row| {
        Ok(format!(
            "{} row {} -> {}",
            row.get::<_, String>(0)?,
            row.get::<_, Option<i64>>(1)?
                .map_or_else(|| "?".to_owned(), |r| r.to_string()),
            row.get::<_, String>(2)?
        ))
    })
    .and_then(|rows| rows.collect())
    .map_err(StoreError::backend)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use r2d2_sqlite::rusqlite::Connection;
    use stoke_store::copy::{NOT_COPIED, TABLES};

    use super::{MIGRATIONS, migrate, migrate_with, version};

    /// Every row `sql` returns, each value as `Debug` shows it: to compare before and after.
    fn rows(conn: &Connection, sql: &str) -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).expect(sql);
        let width = stmt.column_count();
        stmt.query_map([], |row| {
            (0..width)
                .map(|i| row.get_ref(i).map(|v| format!("{v:?}")))
                .collect()
        })
        .and_then(|rows| rows.collect())
        .expect(sql)
    }

    fn one(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// A connection as `SqliteStore::open` sets it up: foreign keys enforced.
    fn enforcing() -> Connection {
        let conn = Connection::open_in_memory().expect("in-memory database");
        conn.pragma_update(None, "foreign_keys", true)
            .expect("foreign keys");
        conn
    }

    /// What `contacts` is besides its rows, and what refers to it.
    const CONTACTS_SHAPE: [&str; 4] = [
        "SELECT * FROM pragma_table_info('contacts')",
        "SELECT * FROM pragma_foreign_key_list('contacts')",
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'contacts' AND type <> 'table' ORDER BY name",
        "SELECT m.name, f.* FROM sqlite_master m, pragma_foreign_key_list(m.name) f
         WHERE m.type = 'table' AND f.\"table\" = 'contacts' ORDER BY m.name, f.id",
    ];

    /// Tables the upgrade test fills that refer to contacts.
    const REFERRING: [&str; 7] = [
        "contact_handles",
        "contact_merges",
        "conversations",
        "messages",
        "contact_states",
        "notes",
        "outbox",
    ];

    /// A table's rows in a stable order (some have no rowid).
    fn everything(conn: &Connection, table: &str) -> Vec<Vec<String>> {
        rows(conn, &format!("SELECT * FROM {table} ORDER BY 1, 2"))
    }

    /// A database at 0005 (before contact ids were never reused), with contacts 1 to 3, the
    /// rows that refer to them, contact 4 merged into 2 and contact 6 erased (gone but for the
    /// audit log): upgraded to 0006, every row keeps its id and every reference holds, and the
    /// next new contact is 7.
    #[test]
    fn upgrading_keeps_every_contact_and_reference_and_never_hands_an_id_out_again() {
        let mut conn = enforcing();
        migrate_with(&mut conn, &MIGRATIONS[..5]).expect("migrate to 0005");
        conn.execute_batch(
            "INSERT INTO teams (id, name) VALUES (1, 'north');
             INSERT INTO users (id, email, email_key, name, role, team_id, created_at)
               VALUES (1, 'a@example.com', 'a@example.com', 'Agent', 'agent', 1, 0);
             INSERT INTO contacts (id, kind, name, country, city, language, time_zone, owner_id,
                                   team_id, profile, created_at, updated_at) VALUES
               (1, 'person', 'Amal', 'SA', 'Riyadh', 'ar', 'Asia/Riyadh', 1, 1, '{}', 10, 11),
               (2, 'person', 'Badr', NULL, NULL, NULL, NULL, NULL, NULL, '{\"x\":1}', 20, 21),
               (3, 'company', 'Cedar', NULL, NULL, 'en', NULL, 1, NULL, '{}', 30, 31);
             INSERT INTO contact_handles (kind, value, contact_id) VALUES
               ('phone', '+966501234567', 1), ('email', 'c@example.com', 3);
             INSERT INTO contact_merges (absorbed_id, into_id, at) VALUES (4, 2, 40);
             INSERT INTO accounts (id, name, channel, created_at) VALUES (1, 'wa', 'whatsapp', 0);
             INSERT INTO conversations (id, contact_id, account_id, channel, created_at)
               VALUES (1, 3, 1, 'whatsapp', 0);
             INSERT INTO messages (id, external_id, conversation_id, contact_id, account_id,
                                   channel, direction, body, at, initial_status)
               VALUES (1, 'm1', 1, 3, 1, 'whatsapp', 'in', 'hello', 50, 'received');
             INSERT INTO contact_states (contact_id, state, wake_at) VALUES (3, '{}', 60);
             INSERT INTO notes (contact_id, body, at) VALUES (1, 'VIP', 70);
             INSERT INTO outbox (key, account_id, contact_id, purpose, status, not_before,
                                 message_id, updated_at)
               VALUES ('k1', 1, 3, 'service', 'sent', 0, 1, 80);
             INSERT INTO audit_log (at, actor, action, subject) VALUES
               (90, 'user:a@example.com', 'contact.erase', 'contact:6'),
               (91, 'user:a@example.com', 'contact.update', 'contact:2');",
        )
        .expect("rows at 0005");
        let contacts = "SELECT * FROM contacts ORDER BY id";
        let before = rows(&conn, contacts);
        let shape: Vec<_> = CONTACTS_SHAPE.iter().map(|q| rows(&conn, q)).collect();
        let referring: Vec<_> = REFERRING.iter().map(|t| everything(&conn, t)).collect();

        // To 0006, whose work this checks: 0007 adds a column to `contacts` (checked below).
        migrate_with(&mut conn, &MIGRATIONS[..6]).expect("upgrade");

        assert_eq!(version(&conn).expect("version"), 6);
        assert_eq!(rows(&conn, contacts), before);
        let after: Vec<_> = CONTACTS_SHAPE.iter().map(|q| rows(&conn, q)).collect();
        assert_eq!(after, shape, "columns, constraints, indexes, references");
        let referring_after: Vec<_> = REFERRING.iter().map(|t| everything(&conn, t)).collect();
        assert_eq!(referring_after, referring);
        assert!(rows(&conn, "PRAGMA foreign_key_check").is_empty());
        assert_eq!(one(&conn, "PRAGMA foreign_keys"), 1, "enforced again");
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'contacts'",
                [],
                |r| r.get(0),
            )
            .expect("contacts");
        assert!(sql.contains("AUTOINCREMENT"), "{sql}");
        assert_eq!(
            one(
                &conn,
                "SELECT seq FROM sqlite_sequence WHERE name = 'contacts'"
            ),
            6,
            "past the rows (3), the merged-away id (4) and the audited one (6)"
        );

        let insert = "INSERT INTO contacts (kind, name, profile, created_at, updated_at)
                      VALUES ('person', 'New', '{}', 100, 100)";
        conn.execute(insert, []).expect("new contact");
        assert_eq!(conn.last_insert_rowid(), 7);
        // Erasing the highest frees nothing: the next is 8, not 7 again.
        conn.execute("DELETE FROM contacts WHERE id = 7", [])
            .expect("erase");
        conn.execute(insert, []).expect("new contact");
        assert_eq!(conn.last_insert_rowid(), 8);
        // References are enforced on the rebuilt table.
        assert!(
            conn.execute("DELETE FROM contacts WHERE id = 3", [])
                .is_err()
        );
    }

    /// The rows of `sql`'s first column, as integers.
    fn ids(conn: &Connection, sql: &str) -> Vec<i64> {
        let mut stmt = conn.prepare(sql).expect(sql);
        stmt.query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .expect(sql)
    }

    /// FTS5's own check that an index holds exactly what its content table says it should.
    fn fts_consistent(conn: &Connection, table: &str) {
        conn.execute(
            &format!("INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)"),
            [],
        )
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    }

    /// A database at 0006 with contacts and messages: 0007 gives them their search words and
    /// indexes them, a contact whose profile cannot be read by its name; the indexes then
    /// follow deletions.
    #[test]
    fn upgrading_to_search_indexes_what_is_stored() {
        let mut conn = enforcing();
        migrate_with(&mut conn, &MIGRATIONS[..6]).expect("migrate to 0006");
        conn.execute_batch(
            "INSERT INTO contacts (id, kind, name, profile, created_at, updated_at) VALUES
               (1, 'person', 'أحمد الشّامي',
                '{\"legal_name\":\"Cedar LLC\",\"phones\":[\"+966501112233\"]}', 10, 11),
               (2, 'person', 'Ёлкин', '{\"x\":1}', 20, 21),
               (3, 'person', '', '{}', 30, 31);
             INSERT INTO contact_handles (kind, value, contact_id) VALUES
               ('phone', '+966501112233', 1);
             INSERT INTO accounts (id, name, channel, created_at) VALUES (1, 'wa', 'whatsapp', 0);
             INSERT INTO conversations (id, contact_id, account_id, channel, created_at)
               VALUES (1, 1, 1, 'whatsapp', 0);
             INSERT INTO messages (id, external_id, conversation_id, contact_id, account_id,
                                   channel, direction, body, at, initial_status) VALUES
               (1, 'm1', 1, 1, 1, 'whatsapp', 'in', 'ما هي أسعاركم؟', 50, 'received'),
               (2, 'm2', 1, 1, 1, 'whatsapp', 'in', '🙂', 51, 'received'),
               (3, 'm3', 1, 1, 1, 'whatsapp', 'in', 'Ёлка PRICE', 52, 'received');",
        )
        .expect("rows at 0006");

        migrate(&mut conn).expect("upgrade");

        assert_eq!(version(&conn).expect("version"), MIGRATIONS.len());
        let mut ahmed =
            stoke_core::Contact::new(stoke_core::ContactId::new(1), jiff::Timestamp::UNIX_EPOCH);
        ahmed.name = "أحمد الشّامي".into();
        ahmed.company.legal_name = Some("Cedar LLC".into());
        ahmed.phones = vec![stoke_core::Phone::parse("+966501112233", None).expect("phone")];
        let mut stmt = conn
            .prepare("SELECT search FROM contacts ORDER BY id")
            .expect("prepare");
        let search: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .expect("search");
        drop(stmt);
        let expected = [
            stoke_store::search::contact_search_text(&ahmed),
            // Its profile is unreadable: found by its name.
            "елкин".to_owned(),
            String::new(),
        ];
        assert_eq!(search, expected);
        assert!(expected[0].starts_with("احمد الشامي شامي cedar llc 966501112233 "));
        let contacts = |q: &str| {
            ids(
                &conn,
                &format!(
                    "SELECT rowid FROM contacts_fts WHERE contacts_fts MATCH '{q}' ORDER BY rowid"
                ),
            )
        };
        assert_eq!(contacts("\"احمد\"*"), [1]);
        assert_eq!(contacts("\"cedar\"*"), [1]);
        assert_eq!(contacts("\"1122\"*"), [1]);
        assert_eq!(contacts("\"елк\"*"), [2]);
        let messages = |q: &str| {
            ids(
                &conn,
                &format!(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH '{q}' ORDER BY rowid"
                ),
            )
        };
        assert_eq!(messages("\"اسعار\"*"), [1]);
        assert_eq!(messages("\"елка\"* AND \"price\"*"), [3]);
        assert_eq!(
            one(&conn, "SELECT search = '' FROM messages WHERE id = 2"),
            1
        );
        fts_consistent(&conn, "contacts_fts");
        fts_consistent(&conn, "messages_fts");

        // Rows changed several times over before the indexes take the changes (as in one write
        // transaction): the indexes end up exact. New messages are indexed as an ingest does.
        conn.execute_batch(
            "INSERT INTO messages (id, external_id, conversation_id, contact_id, account_id,
                                   channel, direction, body, at, initial_status, search)
               VALUES (4, 'm4', 1, 1, 1, 'whatsapp', 'in', 'x', 53, 'received', 'first'),
                      (5, 'm5', 1, 1, 1, 'whatsapp', 'in', 'x', 54, 'received', 'gone');",
        )
        .expect("new messages");
        crate::search::index_messages_from(&conn, stoke_core::MessageId::new(4)).expect("index");
        conn.execute_batch(
            "DELETE FROM messages WHERE id IN (1, 2);
             UPDATE contacts SET search = 'badr' WHERE id = 2;
             UPDATE contacts SET search = 'badr ali' WHERE id = 2;
             INSERT INTO contacts (id, kind, name, profile, created_at, updated_at, search)
               VALUES (4, 'person', 'Dana', '{}', 0, 0, 'dana');
             UPDATE contacts SET search = 'dana x' WHERE id = 4;
             UPDATE messages SET search = 'second' WHERE id = 4;
             UPDATE messages SET search = 'third' WHERE id = 3;
             DELETE FROM messages WHERE id = 5;",
        )
        .expect("changes");
        assert!(one(&conn, "SELECT COUNT(*) FROM search_pending") > 0);
        crate::search::sync(&conn).expect("sync");
        assert_eq!(one(&conn, "SELECT COUNT(*) FROM search_pending"), 0);
        assert!(messages("\"اسعار\"*").is_empty());
        assert!(messages("\"елка\"*").is_empty());
        assert!(messages("\"first\"*").is_empty());
        assert!(messages("\"gone\"*").is_empty());
        assert_eq!(messages("\"second\"*"), [4]);
        assert_eq!(messages("\"third\"*"), [3]);
        assert!(contacts("\"елк\"*").is_empty());
        assert_eq!(contacts("\"badr\"* AND \"ali\"*"), [2]);
        assert_eq!(contacts("\"dana\"* AND \"x\"*"), [4]);
        fts_consistent(&conn, "contacts_fts");
        fts_consistent(&conn, "messages_fts");
        conn.execute_batch(
            "DELETE FROM contact_handles WHERE contact_id = 1;
             DELETE FROM messages WHERE contact_id = 1;
             DELETE FROM conversations WHERE contact_id = 1;
             DELETE FROM contacts WHERE id = 1;",
        )
        .expect("erase");
        crate::search::sync(&conn).expect("sync");
        assert!(messages("\"second\"*").is_empty());
        assert!(contacts("\"cedar\"*").is_empty());
        assert_eq!(contacts("\"badr\"*"), [2]);
        fts_consistent(&conn, "contacts_fts");
        fts_consistent(&conn, "messages_fts");
    }

    /// A fresh database gets the same `contacts` as an upgraded one, and nothing in it yet.
    #[test]
    fn a_fresh_database_counts_contact_ids_from_one() {
        let mut conn = enforcing();
        migrate(&mut conn).expect("migrate");
        assert_eq!(one(&conn, "PRAGMA foreign_keys"), 1);
        assert_eq!(
            one(
                &conn,
                "SELECT seq FROM sqlite_sequence WHERE name = 'contacts'"
            ),
            0
        );
        assert_eq!(
            one(
                &conn,
                "SELECT COUNT(*) FROM sqlite_master WHERE name = 'contacts' AND sql LIKE '%AUTOINCREMENT%'"
            ),
            1
        );
    }

    /// A migration that leaves a reference dangling is rolled back, and the connection enforces
    /// foreign keys again.
    #[test]
    fn a_migration_that_breaks_a_reference_is_refused() {
        let mut conn = enforcing();
        migrate(&mut conn).expect("migrate");
        conn.execute_batch(
            "INSERT INTO contacts (kind, name, profile, created_at, updated_at)
               VALUES ('person', 'Amal', '{}', 0, 0);
             INSERT INTO contact_handles (kind, value, contact_id) VALUES ('phone', '+1', 1);",
        )
        .expect("rows");
        let mut broken = MIGRATIONS.to_vec();
        broken.push(super::sql("0099_broken", "DELETE FROM contacts;"));
        let err = migrate_with(&mut conn, &broken).expect_err("dangling handle");
        assert!(
            err.to_string()
                .contains("0099_broken not applied: after it, 1 row(s) would refer to rows that do not exist (first: contact_handles row"),
            "{err}"
        );
        assert_eq!(version(&conn).expect("version"), MIGRATIONS.len());
        assert_eq!(one(&conn, "SELECT COUNT(*) FROM contacts"), 1);
        assert_eq!(one(&conn, "PRAGMA foreign_keys"), 1);
    }

    /// `stoke migrate` copies the tables it knows: a new table must be added to its list, or to
    /// the list of those it leaves out on purpose. Full-text indexes (virtual tables and their
    /// shadow tables, and `search_pending`, the rows they have yet to take, empty between
    /// transactions) are indexes over copied columns, not tables of their own.
    #[test]
    fn every_table_is_copied_or_left_out_on_purpose() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        migrate(&mut conn).expect("migrate");
        let mut stmt = conn
            .prepare(
                "SELECT name FROM pragma_table_list
                 WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'
                   AND name <> 'search_pending'",
            )
            .expect("prepare");
        let tables: BTreeSet<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .expect("tables");
        let known: BTreeSet<String> = TABLES
            .iter()
            .chain(NOT_COPIED.iter())
            .map(|t| (*t).to_owned())
            .collect();
        assert_eq!(tables, known);
    }
}
