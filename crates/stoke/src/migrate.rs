//! `stoke migrate --from sqlite://... --to postgres://...`: moves a workspace from the embedded
//! default to PostgreSQL, table by table, ids and all, and proves it: every table is read back
//! from the target in key order and its row count and SHA-256 compared with the source's.
//!
//! The target must be empty. A copy that fails is emptied again, so a rerun starts clean; a
//! process killed mid-way leaves rows behind, and the rerun says so instead of adding to them.

use std::process::ExitCode;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use stoke_store::copy::{Cell, TABLES};
use stoke_store_postgres::PostgresStore;
use stoke_store_sqlite::SqliteStore;

use crate::settings::{Backend, StorageArgs};

/// Rows per batch read from SQLite and written to PostgreSQL.
const BATCH: usize = 5_000;

/// A table's rows folded into a count and a hash, in key order.
#[derive(Default)]
struct Digest256 {
    rows: u64,
    hash: Sha256,
}

impl Digest256 {
    fn add(&mut self, row: &[Cell]) {
        self.rows += 1;
        for cell in row {
            match cell {
                Cell::Null => self.hash.update(b"N"),
                Cell::Int(n) => {
                    self.hash.update(b"I");
                    self.hash.update(n.to_le_bytes());
                }
                Cell::Text(t) => {
                    self.hash.update(b"T");
                    self.hash.update((t.len() as u64).to_le_bytes());
                    self.hash.update(t.as_bytes());
                }
            }
        }
        self.hash.update(b"\n");
    }

    fn finish(self) -> (u64, String) {
        let bytes = self.hash.finalize();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        (self.rows, hex)
    }
}

fn backend(url: &str, data: &std::path::Path, flag: &str) -> anyhow::Result<Backend> {
    StorageArgs {
        data: data.to_owned(),
        database: Some(url.to_owned()),
    }
    .backend()
    .with_context(|| format!("{flag} {url:?}"))
}

pub async fn run(data: &std::path::Path, from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let (Backend::Sqlite(path), Backend::Postgres(url)) =
        (backend(from, data, "--from")?, backend(to, data, "--to")?)
    else {
        bail!(
            "stoke migrate moves a workspace from sqlite://FILE to postgres://...; other directions are not built yet"
        );
    };
    if !path.is_file() {
        bail!("--from: {} does not exist", path.display());
    }
    let source =
        SqliteStore::open(&path).with_context(|| format!("while opening {}", path.display()))?;
    let target = PostgresStore::connect(url.expose())
        .await
        .with_context(|| format!("while opening the PostgreSQL database {url}"))?;
    if target.holds_data().await? {
        bail!(
            "--to {url}: the database already holds a workspace; migrate into an empty database (drop and create it, then run this again)"
        );
    }
    println!("copying {} into {} ...", path.display(), target.target());
    let mut layouts = Vec::new();
    let mut digests = Vec::new();
    let copied = async {
        for table in TABLES {
            let layout = source.table_layout(table).await?;
            let columns = target.table_columns(table).await?;
            let names: Vec<&String> = columns.iter().map(|(n, _)| n).collect();
            let mut ordered = Vec::with_capacity(layout.columns.len());
            for column in &layout.columns {
                match columns.iter().find(|(n, _)| n == column) {
                    Some(c) => ordered.push(c.clone()),
                    None => bail!("{table}.{column} exists in SQLite but not in PostgreSQL"),
                }
            }
            if names.len() != ordered.len() {
                bail!("{table}: PostgreSQL has columns SQLite does not ({names:?})");
            }
            let mut digest = Digest256::default();
            let mut rows = source.stream_rows(table, &layout, BATCH);
            while let Some(batch) = rows.recv().await {
                let batch = batch?;
                for row in &batch {
                    digest.add(row);
                }
                target.append_rows(table, &ordered, &batch).await?;
            }
            layouts.push(layout);
            digests.push(digest.finish());
        }
        target.finish_copy(&source.id_high_water().await?).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = copied {
        // Leave the target as it was found: empty.
        let cleared = target.clear_copy().await;
        return Err(e.context(match cleared {
            Ok(()) => "the copy failed; the target was emptied again".to_owned(),
            Err(c) => format!("the copy failed, and emptying the target failed too ({c})"),
        }));
    }

    println!("{:<18} {:>12}  sha-256 (source = target)", "table", "rows");
    let mut mismatches = 0;
    for ((table, layout), (rows, sha)) in TABLES.iter().zip(&layouts).zip(&digests) {
        let mut back = Digest256::default();
        target
            .read_rows(table, layout, |batch: Vec<Vec<Cell>>| {
                for row in &batch {
                    back.add(row);
                }
            })
            .await?;
        let (back_rows, back_sha) = back.finish();
        let same = back_rows == *rows && back_sha == *sha;
        if !same {
            mismatches += 1;
        }
        println!(
            "{table:<18} {rows:>12}  {}{}",
            &sha[..16],
            if same {
                String::new()
            } else {
                format!(
                    "  MISMATCH: the target has {back_rows} rows, {}",
                    &back_sha[..16]
                )
            }
        );
    }
    if mismatches > 0 {
        eprintln!("{mismatches} tables differ after the copy");
        return Ok(ExitCode::FAILURE);
    }
    println!("moved every table; point Stoke at it with --database or STOKE_DATABASE_URL={url}");
    Ok(ExitCode::SUCCESS)
}
