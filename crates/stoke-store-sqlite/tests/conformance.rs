//! The store conformance suite on the SQLite backend: each test gets a fresh database file in a
//! temporary directory that is removed when the test ends.

use stoke_store_sqlite::SqliteStore;

async fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("stoke.db")).expect("open store");
    (store, dir)
}

stoke_store::conformance_suite!(fresh_store);

/// What only the SQLite backend has: a file that survives a restart, and a schema version.
mod sqlite_file {
    use jiff::Timestamp;
    use stoke_core::{ContactDraft, Phone};
    use stoke_store::Store;
    use stoke_store_sqlite::SqliteStore;

    #[tokio::test]
    async fn reopening_keeps_data_and_does_not_migrate_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested").join("stoke.db");
        let draft = ContactDraft {
            phones: vec![Phone::parse("+966501234567", None).expect("phone")],
            ..ContactDraft::default()
        };
        let now: Timestamp = "2026-11-20T10:00:00Z".parse().expect("time");
        {
            let store = SqliteStore::open(&path).expect("open");
            store.create_contact(&draft, now).await.expect("create");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(store.counts().await.expect("counts").contacts, 1);
        let wal = r2d2_sqlite::rusqlite::Connection::open(&path)
            .and_then(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0)))
            .expect("pragma");
        assert_eq!(wal, "wal");
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused_not_guessed_at() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stoke.db");
        drop(SqliteStore::open(&path).expect("open"));
        r2d2_sqlite::rusqlite::Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "user_version", 999))
            .expect("bump version");
        let err = SqliteStore::open(&path).expect_err("newer schema");
        assert!(
            err.to_string().contains("newer than this Stoke knows"),
            "{err}"
        );
    }
}
