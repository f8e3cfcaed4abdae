//! Migrations shipped inside the binary, applied in order at open and recorded in
//! `schema_migrations`.

use jiff::Timestamp;
use stoke_store::StoreError;
use tokio_postgres::Client;

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    ("0002_outbox", include_str!("../migrations/0002_outbox.sql")),
];

/// The advisory lock key that serialises migrations: several nodes may start at once, and only
/// one of them may apply a migration ("stoke" in ASCII).
const MIGRATION_LOCK: i64 = 0x73_74_6f_6b_65;

/// Applies the migrations the database has not seen, each in its own transaction under an
/// advisory lock. Refuses a database written by a newer Stoke rather than guess at its schema.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let fail = |what: &str, e: tokio_postgres::Error| {
        StoreError::Backend(format!("{what}: {}", crate::describe_db_error(&e)))
    };
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(|e| fail("cannot start a migration", e))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(|e| fail("cannot lock the schema", e))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    BIGINT PRIMARY KEY,
                name       TEXT   NOT NULL,
                applied_at BIGINT NOT NULL
            )",
        )
        .await
        .map_err(|e| fail("cannot create schema_migrations", e))?;
        let applied: i64 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| fail("cannot read schema_migrations", e))?;
        let known = MIGRATIONS.len() as i64;
        if applied > known {
            return Err(StoreError::Backend(format!(
                "the database has schema version {applied}, newer than this Stoke knows ({known}): upgrade Stoke"
            )));
        }
        let Some((name, sql)) = usize::try_from(applied)
            .ok()
            .and_then(|next| MIGRATIONS.get(next))
        else {
            // Up to date; the empty transaction rolls back on drop.
            return Ok(());
        };
        tx.batch_execute(sql)
            .await
            .map_err(|e| fail(&format!("migration {name} failed"), e))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&(applied + 1), name, &Timestamp::now().as_millisecond()],
        )
        .await
        .map_err(|e| fail(&format!("cannot record migration {name}"), e))?;
        tx.commit()
            .await
            .map_err(|e| fail(&format!("cannot commit migration {name}"), e))?;
    }
}
