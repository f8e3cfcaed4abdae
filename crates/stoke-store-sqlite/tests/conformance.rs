//! The store conformance suite on the SQLite backend: each test gets a fresh database file in a
//! temporary directory that is removed when the test ends.

use stoke_store_sqlite::SqliteStore;

async fn fresh_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("stoke.db")).expect("open store");
    (store, dir)
}

stoke_store::conformance_suite!(fresh_store);
