//! Migrations shipped inside the binary, applied in order at open.

use r2d2_sqlite::rusqlite::Connection;
use stoke_store::StoreError;

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    (
        "0002_engine_state",
        include_str!("../migrations/0002_engine_state.sql"),
    ),
    (
        "0003_contact_owner",
        include_str!("../migrations/0003_contact_owner.sql"),
    ),
    ("0004_outbox", include_str!("../migrations/0004_outbox.sql")),
];

/// Applies the migrations the database has not seen, each in its own transaction. Refuses a
/// database written by a newer Stoke rather than guess at its schema.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = conn
        .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
        .map_err(StoreError::backend)?
        .try_into()
        .map_err(|_| StoreError::Backend("negative schema version".into()))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database has schema version {applied}, newer than this Stoke knows ({}): upgrade Stoke",
            MIGRATIONS.len()
        )));
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(StoreError::backend)?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::Backend(format!("migration {name} failed: {e}")))?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)
            .map_err(StoreError::backend)?;
        tx.commit().map_err(StoreError::backend)?;
    }
    Ok(())
}
