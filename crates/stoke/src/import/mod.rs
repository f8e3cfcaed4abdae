//! `stoke import`: contacts (CSV or JSON lines), messages and events (JSON lines).
//!
//! Every import reads its file twice. The first pass validates every row and collects every
//! problem as `line N: field: reason`; if there is any and `--skip-invalid` was not given, nothing
//! is written. The second pass parses again on a blocking thread and hands batches to the store
//! through a small channel, so parsing and writing overlap on two cores. Each batch is one
//! transaction and every write is idempotent, so an import that is interrupted is completed by
//! running it again.

use stoke_server::lines;
pub mod users;
pub mod whatsapp_chat;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use std::sync::Arc;

use anyhow::Context;
use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::{ContactDraft, CustomFieldDef};
use stoke_store::{ContactImportOutcome, IncomingEvent, IncomingMessage, IngestOutcome, Store};

use stoke_server::columns::{Column, FieldError, draft_from_cells, parse_contact_object};

/// One problem with one row, as the user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.field, self.reason)
    }
}

/// A row as read: its line number and either its value or what is wrong with it.
type Row<T> = (u64, Result<T, Vec<FieldError>>);

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport<O> {
    /// Rows read, blank lines excluded.
    pub rows: u64,
    /// Every bad row's problems, in file order.
    pub problems: Vec<RowProblem>,
    /// Whether anything was written: false when bad rows stopped the import.
    pub written: bool,
    pub outcome: O,
}

impl<O> ImportReport<O> {
    /// Lines with at least one problem.
    pub fn bad_rows(&self) -> u64 {
        let mut lines: Vec<u64> = self.problems.iter().map(|p| p.line).collect();
        lines.dedup();
        lines.len() as u64
    }
}

fn problems_of(line: u64, errors: Vec<FieldError>) -> impl Iterator<Item = RowProblem> {
    errors.into_iter().map(move |e| RowProblem {
        line,
        field: e.field,
        reason: e.reason,
    })
}

/// The file formats a contact list may come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContactFormat {
    Csv,
    JsonLines,
}

fn contact_format(path: &Path) -> anyhow::Result<ContactFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv" | "txt" | "tsv") => return Ok(ContactFormat::Csv),
        Some("jsonl" | "ndjson" | "json") => return Ok(ContactFormat::JsonLines),
        _ => {}
    }
    // No telling extension: look at the first non-blank character.
    let mut reader = BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut first = String::new();
    while first.trim().is_empty() {
        if reader.read_line(&mut first)? == 0 {
            break;
        }
    }
    Ok(if first.trim_start().starts_with('{') {
        ContactFormat::JsonLines
    } else {
        ContactFormat::Csv
    })
}

/// A CSV reader for a file whose separator (comma, semicolon or tab) is detected from the
/// header line, as spreadsheets export all three.
fn csv_reader(path: &Path) -> anyhow::Result<csv::Reader<BufReader<File>>> {
    let open = || File::open(path).with_context(|| format!("cannot open {}", path.display()));
    let mut header_line = String::new();
    BufReader::new(open()?).read_line(&mut header_line)?;
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 20, open()?)))
}

/// Reads contact rows from a CSV file.
fn csv_contact_rows(
    path: &Path,
    custom: BTreeMap<String, CustomFieldDef>,
) -> anyhow::Result<Box<dyn Iterator<Item = Row<ContactDraft>> + Send>> {
    let mut reader = csv_reader(path)?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header line of {}", path.display()))?
        .iter()
        .map(str::to_owned)
        .collect();
    if !headers.iter().any(|h| {
        matches!(
            Column::from_header(h),
            Column::Phone | Column::Email | Column::WhatsAppId
        )
    }) {
        anyhow::bail!(
            "{}: line 1: the header has no phone or e-mail column (found: {})",
            path.display(),
            headers.join(", ")
        );
    }
    let columns: Vec<Column> = headers.iter().map(|h| Column::from_header(h)).collect();
    let rows = reader.into_records().map(move |record| match record {
        Ok(record) => {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() > headers.len() {
                return (
                    line,
                    Err(vec![FieldError {
                        field: "row".into(),
                        reason: format!(
                            "has {} cells but the header has {} columns",
                            record.len(),
                            headers.len()
                        ),
                    }]),
                );
            }
            let cells = columns
                .iter()
                .zip(headers.iter())
                .zip(record.iter())
                .map(|((c, h), v)| (c, h.as_str(), v));
            (line, draft_from_cells(cells, &custom))
        }
        Err(err) => {
            let line = err.position().map_or(0, |p| p.line());
            (
                line,
                Err(vec![FieldError {
                    field: "row".into(),
                    reason: format!("unreadable CSV: {err}"),
                }]),
            )
        }
    });
    Ok(Box::new(rows.filter(
        |(_, r)| !matches!(r, Ok(d) if *d == ContactDraft::default()),
    )))
}

/// Reads the non-blank lines of a JSON-lines file through `parse`.
fn jsonl_rows<T: Send + 'static>(
    path: &Path,
    parse: impl Fn(&str) -> Result<T, Vec<FieldError>> + Send + 'static,
) -> anyhow::Result<Box<dyn Iterator<Item = Row<T>> + Send>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let display = path.display().to_string();
    let lines = BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .filter_map(move |(i, line)| {
            let number = i as u64 + 1;
            match line {
                Ok(text) if text.trim().is_empty() => None,
                Ok(text) => Some((number, parse(text.trim_start_matches('\u{feff}')))),
                Err(err) => Some((
                    number,
                    Err(vec![FieldError {
                        field: "line".into(),
                        reason: format!("unreadable in {display}: {err}"),
                    }]),
                )),
            }
        });
    Ok(Box::new(lines))
}

fn contact_rows(
    path: &Path,
    custom: BTreeMap<String, CustomFieldDef>,
) -> anyhow::Result<Box<dyn Iterator<Item = Row<ContactDraft>> + Send>> {
    match contact_format(path)? {
        ContactFormat::Csv => csv_contact_rows(path, custom),
        ContactFormat::JsonLines => {
            jsonl_rows(path, move |line| parse_contact_object(line, &custom))
        }
    }
}

/// The shared two-pass driver: validate everything, then (unless bad rows forbid it) stream the
/// valid rows to `write` in batches.
async fn two_pass<T, O, W, Fut>(
    path: &Path,
    skip_invalid: bool,
    batch_size: usize,
    open: impl Fn(&Path) -> anyhow::Result<Box<dyn Iterator<Item = Row<T>> + Send>>
    + Send
    + Sync
    + Clone
    + 'static,
    mut write: W,
) -> anyhow::Result<ImportReport<O>>
where
    T: Send + 'static,
    O: Default + std::ops::AddAssign,
    W: FnMut(Vec<(u64, T)>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<(O, Vec<RowProblem>)>>,
{
    let owned: PathBuf = path.to_owned();
    let validate = open.clone();
    let (rows, problems) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, Vec<RowProblem>)> {
            let mut rows = 0;
            let mut problems = Vec::new();
            for (line, parsed) in validate(&owned)? {
                rows += 1;
                if let Err(errors) = parsed {
                    problems.extend(problems_of(line, errors));
                }
            }
            Ok((rows, problems))
        })
        .await
        .context("the validation pass failed")??;

    let mut report = ImportReport {
        rows,
        problems,
        written: false,
        outcome: O::default(),
    };
    if !report.problems.is_empty() && !skip_invalid {
        return Ok(report);
    }

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<(u64, T)>>(2);
    let owned: PathBuf = path.to_owned();
    let producer = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut batch = Vec::with_capacity(batch_size);
        for (line, parsed) in open(&owned)? {
            if let Ok(value) = parsed {
                batch.push((line, value));
                if batch.len() == batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    if sender.blocking_send(full).is_err() {
                        return Ok(()); // The writer stopped; its error is reported.
                    }
                }
            }
        }
        if !batch.is_empty() {
            let _ = sender.blocking_send(batch);
        }
        Ok(())
    });
    report.written = true;
    let mut late_problems = Vec::new();
    while let Some(batch) = receiver.recv().await {
        let (outcome, problems) = write(batch).await?;
        report.outcome += outcome;
        late_problems.extend(problems);
    }
    producer.await.context("the reading pass failed")??;
    report.problems.extend(late_problems);
    report.problems.sort_by_key(|p| p.line);
    Ok(report)
}

/// `stoke import contacts FILE`.
pub async fn contacts(
    store: &dyn Store,
    path: &Path,
    skip_invalid: bool,
    now: Timestamp,
) -> anyhow::Result<ImportReport<ContactImportOutcome>> {
    let custom: BTreeMap<String, CustomFieldDef> = store
        .list_custom_fields()
        .await?
        .into_iter()
        .map(|d| (d.name.clone(), d))
        .collect();
    // Owners are named by e-mail. One that no user has is found here, in the validation pass,
    // so that it is reported with its line (the store would refuse the whole batch).
    let users: Arc<BTreeSet<String>> = Arc::new(
        store
            .list_users()
            .await?
            .into_iter()
            .map(|u| u.email.dedup_key())
            .collect(),
    );
    let open =
        move |p: &Path| -> anyhow::Result<Box<dyn Iterator<Item = Row<ContactDraft>> + Send>> {
            let users = users.clone();
            let rows = contact_rows(p, custom.clone())?;
            Ok(Box::new(rows.map(move |(line, row)| {
                (line, with_known_owner(row, &users))
            })))
        };
    two_pass(path, skip_invalid, 2_000, open, |batch| {
        let drafts: Vec<ContactDraft> = batch.into_iter().map(|(_, d)| d).collect();
        async move { Ok((store.import_contacts(&drafts, now).await?, Vec::new())) }
    })
    .await
}

/// Refuses a row whose owner e-mail no user has.
fn with_known_owner(
    row: Result<ContactDraft, Vec<FieldError>>,
    users: &BTreeSet<String>,
) -> Result<ContactDraft, Vec<FieldError>> {
    let draft = row?;
    match &draft.owner {
        Some(owner) if !users.contains(&owner.dedup_key()) => Err(vec![FieldError {
            field: "owner".into(),
            reason: format!(
                "no user with e-mail {owner}; create it with `stoke admin create-user` or `stoke import users`"
            ),
        }]),
        _ => Ok(draft),
    }
}

/// Turns the rows of a batch that named unknown contact ids into problems with line numbers.
fn unknown_contacts(outcome: &mut IngestOutcome, lines: &[u64]) -> Vec<RowProblem> {
    std::mem::take(&mut outcome.unknown_contacts)
        .into_iter()
        .map(|index| RowProblem {
            line: lines.get(index).copied().unwrap_or(0),
            field: "contact".into(),
            reason: "no contact has this id".into(),
        })
        .collect()
}

/// A kind of JSON line the store ingests in batches: messages or events.
trait IngestLine: Send + Sized + 'static {
    fn parse(line: &str) -> Result<Self, Vec<FieldError>>;

    fn ingest<'a>(
        store: &'a dyn Store,
        rows: &'a [Self],
        now: Timestamp,
        rules: &'a Arc<Rules>,
    ) -> impl std::future::Future<Output = stoke_store::StoreResult<IngestOutcome>> + 'a;
}

impl IngestLine for IncomingMessage {
    fn parse(line: &str) -> Result<Self, Vec<FieldError>> {
        lines::parse_message(line)
    }

    fn ingest<'a>(
        store: &'a dyn Store,
        rows: &'a [Self],
        now: Timestamp,
        rules: &'a Arc<Rules>,
    ) -> impl std::future::Future<Output = stoke_store::StoreResult<IngestOutcome>> + 'a {
        store.ingest_messages(rows, now, rules)
    }
}

impl IngestLine for IncomingEvent {
    fn parse(line: &str) -> Result<Self, Vec<FieldError>> {
        lines::parse_event(line)
    }

    fn ingest<'a>(
        store: &'a dyn Store,
        rows: &'a [Self],
        now: Timestamp,
        rules: &'a Arc<Rules>,
    ) -> impl std::future::Future<Output = stoke_store::StoreResult<IngestOutcome>> + 'a {
        store.ingest_events(rows, now, rules)
    }
}

/// Imports a JSON-lines file of messages or events through the engine.
async fn ingest_file<T: IngestLine>(
    store: &dyn Store,
    path: &Path,
    skip_invalid: bool,
    now: Timestamp,
    rules: &Arc<Rules>,
) -> anyhow::Result<ImportReport<IngestOutcome>> {
    two_pass(
        path,
        skip_invalid,
        10_000,
        |p: &Path| jsonl_rows(p, T::parse),
        |batch| {
            let (numbers, rows): (Vec<u64>, Vec<T>) = batch.into_iter().unzip();
            async move {
                let mut outcome = T::ingest(store, &rows, now, rules).await?;
                let problems = unknown_contacts(&mut outcome, &numbers);
                Ok((outcome, problems))
            }
        },
    )
    .await
}

/// `stoke import messages FILE.jsonl`.
pub async fn messages(
    store: &dyn Store,
    path: &Path,
    skip_invalid: bool,
    now: Timestamp,
    rules: &Arc<Rules>,
) -> anyhow::Result<ImportReport<IngestOutcome>> {
    ingest_file::<IncomingMessage>(store, path, skip_invalid, now, rules).await
}

/// `stoke import events FILE.jsonl`.
pub async fn events(
    store: &dyn Store,
    path: &Path,
    skip_invalid: bool,
    now: Timestamp,
    rules: &Arc<Rules>,
) -> anyhow::Result<ImportReport<IngestOutcome>> {
    ingest_file::<IncomingEvent>(store, path, skip_invalid, now, rules).await
}
