//! Migrations shipped inside the binary, applied in order at open and recorded in
//! `schema_migrations`.

use jiff::Timestamp;
use stoke_core::{Contact, ContactId};
use stoke_store::StoreError;
use stoke_store::search::{contact_search_text, message_search_text};
use tokio_postgres::Client;

use crate::contacts::{CONTACT_COLUMNS, contact_from_row};

/// What a migration needs done in Rust after its SQL, in the same transaction: what SQL cannot
/// do, such as filling a new column with text only `stoke_core` knows how to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Nothing,
    BackfillSearch,
}

/// Every migration, in order. Never edit one that has shipped: add the next.
const MIGRATIONS: &[(&str, &str, Then)] = &[
    (
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
        Then::Nothing,
    ),
    (
        "0002_outbox",
        include_str!("../migrations/0002_outbox.sql"),
        Then::Nothing,
    ),
    (
        "0003_sessions",
        include_str!("../migrations/0003_sessions.sql"),
        Then::Nothing,
    ),
    (
        "0004_search",
        include_str!("../migrations/0004_search.sql"),
        Then::BackfillSearch,
    ),
    (
        "0005_changes",
        include_str!("../migrations/0005_changes.sql"),
        Then::Nothing,
    ),
    (
        "0006_account_config",
        include_str!("../migrations/0006_account_config.sql"),
        Then::Nothing,
    ),
    (
        "0007_inbox",
        include_str!("../migrations/0007_inbox.sql"),
        Then::Nothing,
    ),
];

/// Rows read and written per statement of a backfill.
const BACKFILL_BATCH: i64 = 5_000;

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
        let Some((name, sql, then)) = usize::try_from(applied)
            .ok()
            .and_then(|next| MIGRATIONS.get(next))
        else {
            // Up to date; the empty transaction rolls back on drop.
            return Ok(());
        };
        tx.batch_execute(sql)
            .await
            .map_err(|e| fail(&format!("migration {name} failed"), e))?;
        match then {
            Then::Nothing => {}
            Then::BackfillSearch => backfill_search(&tx).await.map_err(|e| {
                StoreError::Backend(format!("migration {name} failed: {}", e.into_store()))
            })?,
        }
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

/// Migration 0004's Rust half: gives the contacts and messages stored before it their search
/// words, a batch at a time in id order. A contact whose stored profile cannot be read (it
/// cannot be listed either) is found by name.
async fn backfill_search(tx: &tokio_postgres::Transaction<'_>) -> crate::Res<()> {
    let mut after = i64::MIN;
    loop {
        let rows = tx
            .query(
                &format!(
                    "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &BACKFILL_BATCH],
            )
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0)?;
        let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
        let mut words: Vec<String> = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let contact = match contact_from_row(row) {
                Ok(contact) => contact,
                Err(_) => {
                    let mut named = Contact::new(ContactId::new(id), Timestamp::UNIX_EPOCH);
                    named.name = row.try_get(2)?;
                    named
                }
            };
            ids.push(id);
            words.push(contact_search_text(&contact));
        }
        tx.execute(
            "UPDATE contacts c SET search = v.search
             FROM unnest($1::bigint[], $2::text[]) AS v(id, search) WHERE c.id = v.id",
            &[&ids, &words],
        )
        .await?;
    }

    let mut after = i64::MIN;
    loop {
        let rows = tx
            .query(
                "SELECT id, body FROM messages WHERE id > $1 ORDER BY id LIMIT $2",
                &[&after, &BACKFILL_BATCH],
            )
            .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.try_get(0)?;
        let mut ids: Vec<i64> = Vec::with_capacity(rows.len());
        let mut words: Vec<String> = Vec::with_capacity(rows.len());
        for row in &rows {
            let search = message_search_text(row.try_get(1)?);
            if !search.is_empty() {
                ids.push(row.try_get(0)?);
                words.push(search);
            }
        }
        tx.execute(
            "UPDATE messages m SET search = v.search
             FROM unnest($1::bigint[], $2::text[]) AS v(id, search) WHERE m.id = v.id",
            &[&ids, &words],
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use stoke_store::copy::{NOT_COPIED, TABLES};

    /// `stoke migrate` copies the tables it knows: a new table must be added to its list, or to
    /// the list of those it leaves out on purpose. Read from the migrations' text, so that this
    /// check needs no server.
    #[test]
    fn every_table_is_copied_or_left_out_on_purpose() {
        let tables: BTreeSet<String> = super::MIGRATIONS
            .iter()
            .flat_map(|(_, sql, _)| sql.split("CREATE TABLE ").skip(1))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        let known: BTreeSet<String> = TABLES
            .iter()
            .chain(NOT_COPIED.iter())
            .map(|t| (*t).to_owned())
            .collect();
        assert_eq!(tables, known);
    }
}
