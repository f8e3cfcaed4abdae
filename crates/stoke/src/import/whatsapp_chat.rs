//! `stoke import whatsapp-chat FILE.txt|FILE.zip|FOLDER`: WhatsApp "Export chat" files into a
//! contact and its messages, classified by the engine from the whole history at once.
//!
//! Two stages, as everywhere in the binary: the arguments are validated and every file is read
//! and parsed (`stoke_core::chat_export`) before anything is written; then each chat is
//! resolved (which author is the business, who the customer is, which zone the times are in)
//! and ingested in batches through `Store::ingest_messages`.
//!
//! Choices worth knowing:
//! - Lines the parser could not read are listed with their file and line, and the rest of the
//!   chat is imported: an export is written by WhatsApp, not typed row by row, and a years-long
//!   history should not be held back by one broken line. A chat whose people cannot be told
//!   apart is not imported at all, and fails the command.
//! - The idempotency key of a message is derived from what identifies it in any export of the
//!   same chat: account, contact, the local time shown, author, text and its occurrence among
//!   identical messages. Line numbers are left out on purpose: WhatsApp exports at most the
//!   latest tens of thousands of messages, so a later export of the same chat shifts every
//!   line; with content keys re-importing it stores only what is new.
//! - System lines (encryption notices, joins, deleted messages, missed calls) are not stored.
//!   Media is stored as a message (it is a reply all the same) with its caption as text, or the
//!   placeholder when it has none.
//! - Only one-to-one chats are imported: a group chat has no single customer.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use sha2::{Digest, Sha256};
use stoke_core::chat_export::{self, ChatEntry, ChatExport, EntryKind, OrderBasis, author_key};
use stoke_core::{Channel, Contact, ContactId, ContactRef, Direction, Handle, Phone, TimeZoneName};
use stoke_store::{IncomingMessage, IngestOutcome, Store};

use crate::settings::StorageArgs;

/// The largest chat text read from a file or a zip entry: far above any real export, low
/// enough that a hostile zip cannot exhaust memory.
const MAX_CHAT_BYTES: u64 = 512 << 20;

/// Messages per store transaction.
const BATCH: usize = 5_000;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// A chat's .txt, the .zip WhatsApp shares (its .txt is read), or a folder of them.
    pub path: PathBuf,
    /// Your name as the export shows it: your messages are stored as sent by the business.
    /// Default: the author who writes in every chat of a folder, or the one who is not the
    /// customer named by the file name or --contact.
    #[arg(long)]
    pub me: Option<String>,
    /// The customer: a +phone (or an e-mail or a contact id), for every chat given. Default: a
    /// phone number in the file name, else the customer's name in the chat when it is one.
    #[arg(long)]
    pub contact: Option<String>,
    /// The IANA zone the export's times are in. Default: the contact's zone (its own, else its
    /// phone's country's), else UTC.
    #[arg(long)]
    pub timezone: Option<String>,
    /// The WhatsApp account (the business number) the chats belong to.
    #[arg(long, default_value = "whatsapp")]
    pub account: String,
    /// Read, resolve and report; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print every entry as a JSON line {"at", "author", "text", "kind"}.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
}

/// One chat read from disk.
struct Chat {
    /// How messages name it: the path, and the entry inside a zip.
    label: String,
    /// File names that may name the customer: the zip's, then the text file's.
    names: Vec<String>,
    export: ChatExport,
}

/// Which author is who in one chat, and how the contact was found.
#[derive(Debug)]
struct Roles {
    me: Option<String>,
    /// How `me` was told apart.
    me_source: &'static str,
    customer: Option<String>,
    contact: ContactRef,
    contact_source: &'static str,
}

pub async fn run(storage: &StorageArgs, args: ChatArgs) -> anyhow::Result<ExitCode> {
    // Stage one: arguments, then every file, before anything is written.
    let contact_flag = args
        .contact
        .as_deref()
        .map(|raw| {
            ContactRef::parse(raw).map_err(|e| {
                anyhow::anyhow!(
                    "--contact {raw:?}: {e} (expected a +phone, an e-mail or a contact id)"
                )
            })
        })
        .transpose()?;
    let zone_flag = args
        .timezone
        .as_deref()
        .map(|raw| {
            TimeZoneName::parse(raw).map_err(|e| {
                anyhow::anyhow!("--timezone {raw:?}: {e} (expected a name like Asia/Dubai)")
            })
        })
        .transpose()?;
    let account = args.account.trim().to_owned();
    if account.is_empty() {
        anyhow::bail!("--account: the account needs a name");
    }
    let me_flag = args.me.as_deref().map(str::trim).filter(|m| !m.is_empty());
    if args.me.is_some() && me_flag.is_none() {
        anyhow::bail!("--me: give your name as the export shows it");
    }

    let path = args.path.clone();
    let chats = tokio::task::spawn_blocking(move || read_all(&path))
        .await
        .context("reading the chats failed")??;

    let mut err = std::io::stderr().lock();
    for chat in &chats {
        for problem in &chat.export.problems {
            writeln!(err, "{}: {problem}", chat.label)?;
        }
    }
    drop(err);

    if args.json {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for chat in &chats {
            for entry in &chat.export.entries {
                serde_json::to_writer(&mut out, &JsonEntry::of(entry, chat.export.has_seconds))?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        let entries: usize = chats.iter().map(|c| c.export.entries.len()).sum();
        let problems: usize = chats.iter().map(|c| c.export.problems.len()).sum();
        eprintln!(
            "{} chats: {entries} entries, {problems} unreadable lines; nothing written (dry run)",
            chats.len()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let (me, me_source) = match me_flag {
        Some(me) => (Some(me.to_owned()), "--me"),
        None => (everyones_author(&chats), "writes in every chat"),
    };

    let mut plans = Vec::new();
    let mut failed = 0;
    for chat in &chats {
        match resolve(
            chat,
            me.as_deref().map(|m| (m, me_source)),
            contact_flag.as_ref(),
        ) {
            Ok(Some(roles)) => plans.push((chat, roles)),
            Ok(None) => println!(
                "{}: no messages, only system lines; nothing to import",
                chat.label
            ),
            Err(reason) => {
                eprintln!("{}: {reason}", chat.label);
                failed += 1;
            }
        }
    }

    // Stage two: the store.
    let store = if args.dry_run {
        None
    } else {
        let store = storage.open()?;
        let rules = storage.rules_for(store.as_ref()).await?;
        Some((store, rules))
    };
    // A dry run reads the playbook in force (for the countries' zones) but opens no store.
    let dry_playbook = match &store {
        None => crate::classify::effective_playbook(&storage.data)
            .ok()
            .map(|(playbook, _, _)| playbook),
        Some(_) => None,
    };
    let now = Timestamp::now();
    for (chat, roles) in plans {
        let existing = match &store {
            Some((store, _)) => find(store.as_ref(), &roles.contact).await?,
            None => None,
        };
        let playbook = store
            .as_ref()
            .map(|(_, rules)| &rules.playbook)
            .or(dry_playbook.as_ref());
        let (zone, zone_source) = match (&zone_flag, playbook) {
            (Some(tz), _) => (tz.zone(), format!("{tz} (--timezone)")),
            (None, Some(playbook)) => zone_of(existing.as_ref(), &roles.contact, playbook),
            (None, None) => (TimeZone::UTC, "UTC (no playbook to tell)".to_owned()),
        };
        let (messages, bad_times) = messages_of(chat, &roles, &account, &zone);
        for line in &bad_times {
            eprintln!(
                "{}: line {line}: this local time does not exist in {zone_source}; skipped",
                chat.label
            );
        }
        let mut summary = describe(chat, &roles, &messages, &zone_source);
        match &store {
            None => summary.push_str("; nothing written (dry run)"),
            Some((store, rules)) => {
                let mut outcome = IngestOutcome::default();
                for batch in messages.chunks(BATCH) {
                    outcome += store
                        .ingest_messages(batch, now, rules)
                        .await
                        .with_context(|| format!("while importing {}", chat.label))?;
                }
                if !outcome.unknown_contacts.is_empty() {
                    eprintln!(
                        "{}: --contact {}: no contact has this id",
                        chat.label,
                        args.contact.as_deref().unwrap_or_default()
                    );
                    failed += 1;
                    continue;
                }
                name_contact(store.as_ref(), &roles, now).await?;
                summary.push_str(&format!(
                    "; {} stored, {} already there, {} new contacts",
                    outcome.inserted, outcome.duplicates, outcome.contacts_created
                ));
            }
        }
        println!("{summary}");
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The dry run's JSON line.
#[derive(Debug, Serialize)]
struct JsonEntry<'a> {
    at: String,
    author: Option<&'a str>,
    text: &'a str,
    kind: &'static str,
}

impl<'a> JsonEntry<'a> {
    fn of(entry: &'a ChatEntry, seconds: bool) -> Self {
        let format = if seconds {
            "%Y-%m-%dT%H:%M:%S"
        } else {
            "%Y-%m-%dT%H:%M"
        };
        JsonEntry {
            at: entry.at.strftime(format).to_string(),
            author: entry.author.as_deref(),
            text: &entry.text,
            kind: entry.kind.as_str(),
        }
    }
}

/// The files a path names: itself, or every .txt and .zip in a folder.
fn sources(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot open {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
    {
        let file = entry?.path();
        if file.is_file() && matches!(extension(&file).as_deref(), Some("txt" | "zip")) {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{}: the folder holds no .txt or .zip chat", path.display());
    }
    Ok(files)
}

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

fn stem(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_all(path: &Path) -> anyhow::Result<Vec<Chat>> {
    sources(path)?.iter().map(|p| read_chat(p)).collect()
}

fn read_chat(path: &Path) -> anyhow::Result<Chat> {
    let display = path.display().to_string();
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (label, names, bytes) = if extension(path).as_deref() == Some("zip") {
        let (inner, bytes) = read_zip(path)?;
        (
            format!("{display}:{inner}"),
            vec![stem(&file_name), stem(&inner)],
            bytes,
        )
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {display}"))?;
        let bytes = read_limited(file).with_context(|| format!("cannot read {display}"))?;
        (display, vec![stem(&file_name)], bytes)
    };
    let (text, undecodable) = decode(bytes);
    let mut export = chat_export::parse(&text);
    if undecodable {
        export.problems.insert(
            0,
            chat_export::ChatProblem {
                line: 1,
                last_line: 1,
                reason: "the file is not UTF-8 text: unreadable bytes were replaced with \u{fffd}"
                    .into(),
            },
        );
    }
    Ok(Chat {
        label,
        names,
        export,
    })
}

fn read_limited(reader: impl Read) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(MAX_CHAT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CHAT_BYTES {
        anyhow::bail!(
            "larger than {} MiB: not a chat export",
            MAX_CHAT_BYTES >> 20
        );
    }
    Ok(bytes)
}

/// The chat's text file inside a WhatsApp zip (the rest is media): the only .txt, else the one
/// named like a chat (`_chat.txt` on iOS, `WhatsApp Chat with ….txt` on Android), else the
/// largest.
fn read_zip(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let display = path.display();
    let file = File::open(path).with_context(|| format!("cannot open {display}"))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{display} is not a readable zip"))?;
    let mut texts: Vec<(usize, String, u64)> = Vec::new();
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .with_context(|| format!("{display}: entry {i} is unreadable"))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .with_context(|| format!("{display}: entry {i} has an unreadable name"))?;
        if !entry.is_dir() && !name.starts_with("__MACOSX") && name.to_lowercase().ends_with(".txt")
        {
            texts.push((i, name, entry.size()));
        }
    }
    let chatty = |name: &str| {
        let n = stem(name).to_lowercase();
        n == "_chat" || n.contains("whatsapp") || n.contains("чат") || n.contains("واتساب")
    };
    let chosen = if texts.len() == 1 {
        texts.first()
    } else {
        texts
            .iter()
            .find(|(_, name, _)| chatty(name))
            .or_else(|| texts.iter().max_by_key(|(_, _, size)| *size))
    };
    let Some((index, name, _)) = chosen.cloned() else {
        anyhow::bail!("{display}: the zip holds no .txt chat");
    };
    let entry = archive
        .by_index(index)
        .with_context(|| format!("{display}: {name} is unreadable"))?;
    let bytes = read_limited(entry).with_context(|| format!("{display}: cannot read {name}"))?;
    Ok((name, bytes))
}

/// UTF-8 (with or without a byte-order mark), or UTF-16 with one, which some tools that
/// move exports around write. Anything else is read lossily and reported.
fn decode(bytes: Vec<u8>) -> (String, bool) {
    let utf16 = |units: Vec<u16>| {
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect();
        (text, false)
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(
            rest.chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .collect(),
        ),
        [0xFE, 0xFF, rest @ ..] => utf16(
            rest.chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect(),
        ),
        _ => match String::from_utf8(bytes) {
            Ok(text) => (text, false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
        },
    }
}

/// The people who wrote messages in a chat (not system lines), in order of appearance.
fn authors(export: &ChatExport) -> Vec<String> {
    let mut seen = BTreeSet::new();
    export
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::System)
        .filter_map(|e| e.author.clone())
        .filter(|a| seen.insert(author_key(a)))
        .collect()
}

/// In a folder of chats, the business is the one author who writes in all of them.
fn everyones_author(chats: &[Chat]) -> Option<String> {
    let with_authors: Vec<Vec<String>> = chats
        .iter()
        .map(|c| authors(&c.export))
        .filter(|a| !a.is_empty())
        .collect();
    if with_authors.len() < 2 {
        return None;
    }
    let mut common: Vec<&String> = with_authors[0]
        .iter()
        .filter(|a| {
            let key = author_key(a);
            with_authors[1..]
                .iter()
                .all(|other| other.iter().any(|o| author_key(o) == key))
        })
        .collect();
    (common.len() == 1).then(|| common.remove(0).clone())
}

/// A phone number written with its country code in a file name
/// (`WhatsApp Chat with +971 50 123 4567`).
fn phone_in_name(name: &str) -> Option<Phone> {
    name.match_indices('+').find_map(|(at, _)| {
        let candidate: String = name[at..]
            .chars()
            .enumerate()
            .take_while(|(i, c)| {
                (*i == 0 && *c == '+')
                    || c.is_ascii_digit()
                    || matches!(c, ' ' | '-' | '(' | ')' | '.' | '\u{a0}')
            })
            .map(|(_, c)| c)
            .collect();
        Phone::parse(candidate.trim_end_matches([' ', '-', '(', '.']), None).ok()
    })
}

/// The other person a file name says the chat is with: `WhatsApp Chat with NAME`,
/// `WhatsApp Chat - NAME` (iOS), `Чат WhatsApp с NAME`, `دردشة واتساب مع NAME` and the like.
fn partner_in_name(name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    let mention = ["whatsapp", "واتساب"]
        .iter()
        .filter_map(|w| lower.find(w).map(|i| i + w.len()))
        .min()?;
    // Byte offsets of `lower` match `name` only while lower-casing kept lengths.
    if lower.len() != name.len() {
        return None;
    }
    let connectors = [
        " with ", " - ", " mit ", " con ", " com ", " avec ", " met ", " с ", " مع ",
    ];
    let rest = &name[mention..];
    let rest_lower = &lower[mention..];
    let start = connectors
        .iter()
        .filter_map(|c| rest_lower.find(c).map(|i| i + c.len()))
        .min()?;
    let mut partner = rest[start..].trim();
    // Browsers number repeated downloads: "… Ahmed (1)".
    if let Some(open) = partner.rfind(" (")
        && partner[open + 2..]
            .strip_suffix(')')
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    {
        partner = partner[..open].trim();
    }
    (!partner.is_empty()).then(|| partner.to_owned())
}

fn phone_of_author(author: &str) -> Option<Phone> {
    Phone::parse(&author.replace(['\u{202a}', '\u{202c}'], ""), None).ok()
}

/// Decides who is who in one chat; `Ok(None)` when it has no messages at all.
fn resolve(
    chat: &Chat,
    me_given: Option<(&str, &'static str)>,
    contact_flag: Option<&ContactRef>,
) -> Result<Option<Roles>, String> {
    let me = me_given.map(|(m, _)| m);
    let authors = authors(&chat.export);
    if authors.is_empty() {
        return Ok(None);
    }
    let name_phone = chat.names.iter().find_map(|n| phone_in_name(n));
    let partner = chat.names.iter().find_map(|n| partner_in_name(n));
    let known_phone = match contact_flag {
        Some(ContactRef::Handle(Handle::Phone(p))) => Some(p.clone()),
        _ => name_phone.clone(),
    };
    // Whether an author is the customer by what the file name or --contact says.
    let is_named_customer = |author: &str| {
        known_phone
            .as_ref()
            .is_some_and(|p| phone_of_author(author).as_ref() == Some(p))
            || partner
                .as_deref()
                .is_some_and(|p| author_key(p) == author_key(author))
    };
    let list = authors.join(", ");

    let (me_author, me_source) = match me_given {
        Some((me, source)) => (
            authors
                .iter()
                .find(|a| author_key(a) == author_key(me))
                .cloned(),
            source,
        ),
        None if authors.len() == 2 => {
            let named: Vec<&String> = authors.iter().filter(|a| is_named_customer(a)).collect();
            match named.as_slice() {
                [customer] => (
                    authors.iter().find(|a| a != customer).cloned(),
                    if contact_flag.is_some() {
                        "the other author is --contact"
                    } else {
                        "the file name names the other author"
                    },
                ),
                _ => (None, ""),
            }
        }
        None => (None, ""),
    };
    let others: Vec<&String> = authors
        .iter()
        .filter(|a| Some(*a) != me_author.as_ref())
        .collect();
    let customer = match (me, &me_author, others.as_slice()) {
        (_, _, []) => None,
        (_, Some(_), [one]) => Some((*one).clone()),
        (None, None, [one]) if is_named_customer(one) => Some((*one).clone()),
        (Some(me), None, [one]) if is_named_customer(one) => {
            eprintln!(
                "{}: --me {me:?} never writes here; every message is {one}'s",
                chat.label
            );
            Some((*one).clone())
        }
        (None, None, [one]) => {
            return Err(format!(
                "only {one} writes in this chat: cannot tell whether that is you or the \
                 customer; pass --me NAME (your name as the export shows it)"
            ));
        }
        (Some(me), None, [one]) => {
            return Err(format!(
                "--me {me:?} is not an author of this chat (its only author is {one}); \
                 nothing imported"
            ));
        }
        (None, None, [a, b]) => {
            return Err(format!(
                "cannot tell which of {a} and {b} is you: pass --me NAME (your name as the \
                 export shows it)"
            ));
        }
        (Some(me), None, _) => {
            return Err(format!(
                "--me {me:?} is not an author of this chat (authors: {list}); nothing imported"
            ));
        }
        (_, _, many) => {
            return Err(format!(
                "{} people besides you write in this chat ({list}): group chats have no single \
                 customer; export the one-to-one chats instead",
                many.len()
            ));
        }
    };

    let customer_phone = customer.as_deref().and_then(phone_of_author);
    let (contact, contact_source) = match (contact_flag, name_phone, customer_phone) {
        (Some(c), _, _) => (c.clone(), "--contact"),
        (None, Some(a), Some(b)) if a != b => {
            return Err(format!(
                "the file name says {a} but the customer writes as {b}: pass --contact to say \
                 which"
            ));
        }
        (None, Some(p), _) => (ContactRef::Handle(Handle::Phone(p)), "from the file name"),
        (None, None, Some(p)) => (
            ContactRef::Handle(Handle::Phone(p)),
            "the customer's name in the chat",
        ),
        (None, None, None) => {
            let who = customer.as_deref().unwrap_or("the customer");
            return Err(format!(
                "cannot tell who the customer is: {who:?} is not a phone number and the file \
                 name has none; pass --contact +PHONE"
            ));
        }
    };
    Ok(Some(Roles {
        me: me_author,
        me_source,
        customer,
        contact,
        contact_source,
    }))
}

async fn find(store: &dyn Store, contact: &ContactRef) -> anyhow::Result<Option<Contact>> {
    Ok(match contact {
        ContactRef::Id(id) => match store.get_contact(*id).await {
            Ok(c) => Some(c),
            Err(stoke_store::StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        ContactRef::Handle(h) => store.find_contact(h).await?,
    })
}

/// The contact's zone as the planner sees it (its own, else its phone's country's), for a
/// contact not stored yet too; UTC when nothing tells.
fn zone_of(
    existing: Option<&Contact>,
    contact: &ContactRef,
    playbook: &stoke_core::playbook::Playbook,
) -> (TimeZone, String) {
    let probe;
    let contact = match (existing, contact) {
        (Some(c), _) => c,
        (None, ContactRef::Handle(Handle::Phone(p))) => {
            let mut c = Contact::new(ContactId::new(0), Timestamp::UNIX_EPOCH);
            c.phones.push(p.clone());
            probe = c;
            &probe
        }
        (None, _) => return (TimeZone::UTC, "UTC (the contact's zone is unknown)".into()),
    };
    let (zone, name) = stoke_core::planner::contact_zone(contact, playbook);
    (zone, format!("the contact's zone, {name}"))
}

/// The chat's messages as the store takes them; also the lines whose local time cannot be
/// placed in the zone (a time a clock change skipped is moved forward, as clocks do, so only a
/// date out of the representable range ends up here).
fn messages_of(
    chat: &Chat,
    roles: &Roles,
    account: &str,
    zone: &TimeZone,
) -> (Vec<IncomingMessage>, Vec<usize>) {
    let me_key = roles.me.as_deref().map(author_key);
    let contact_key = match &roles.contact {
        ContactRef::Id(id) => format!("id:{id}"),
        ContactRef::Handle(h) => h.key(),
    };
    let mut seen: HashMap<[u8; 32], u32> = HashMap::new();
    let mut messages = Vec::new();
    let mut bad = Vec::new();
    for entry in &chat.export.entries {
        let Some(author) = entry.author.as_deref() else {
            continue;
        };
        if entry.kind == EntryKind::System {
            continue;
        }
        let direction = if me_key.as_deref() == Some(author_key(author).as_str()) {
            Direction::Out
        } else {
            Direction::In
        };
        let Ok(at) = zone.to_timestamp(entry.at) else {
            bad.push(entry.line);
            continue;
        };
        let shown = entry.at.to_string();
        let identity: [u8; 32] = Sha256::new()
            .chain_update(account)
            .chain_update([0])
            .chain_update(&contact_key)
            .chain_update([0])
            .chain_update(&shown)
            .chain_update([0])
            .chain_update(author)
            .chain_update([0])
            .chain_update(&entry.text)
            .finalize()
            .into();
        let occurrence = seen.entry(identity).or_insert(0);
        *occurrence += 1;
        let key = Sha256::new()
            .chain_update(identity)
            .chain_update(occurrence.to_le_bytes())
            .finalize();
        let hex: String = key.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let text = match entry.kind {
            EntryKind::Media { .. } if !entry.caption().is_empty() => entry.caption().to_owned(),
            EntryKind::Media { .. } => entry.text.lines().next().unwrap_or("").to_owned(),
            _ => entry.text.clone(),
        };
        messages.push(IncomingMessage {
            external_id: format!("wa-chat:{hex}"),
            contact: roles.contact.clone(),
            account: account.to_owned(),
            channel: Channel::WhatsApp,
            direction,
            text,
            at,
            provider_id: None,
        });
    }
    (messages, bad)
}

/// Gives a new contact the name the chat shows for them, when it is a name and the contact
/// has none; never overwrites one.
async fn name_contact(store: &dyn Store, roles: &Roles, now: Timestamp) -> anyhow::Result<()> {
    let Some(name) = roles
        .customer
        .as_deref()
        .filter(|n| phone_of_author(n).is_none())
    else {
        return Ok(());
    };
    if let Some(mut contact) = find(store, &roles.contact).await?
        && contact.name.trim().is_empty()
    {
        contact.name = name.to_owned();
        store.update_contact(&contact, now).await?;
    }
    Ok(())
}

fn describe(chat: &Chat, roles: &Roles, messages: &[IncomingMessage], zone_source: &str) -> String {
    let export = &chat.export;
    let inbound = messages
        .iter()
        .filter(|m| m.direction == Direction::In)
        .count();
    let outbound = messages.len() - inbound;
    let system = export
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::System)
        .count();
    let customer = roles.customer.as_deref().unwrap_or("the customer");
    let me = match &roles.me {
        Some(me) if roles.me_source == "--me" => format!("{me} (you)"),
        Some(me) => format!("{me} (you: {})", roles.me_source),
        None => "you".to_owned(),
    };
    let basis = match export.order_basis {
        OrderBasis::Values { line } => format!("line {line} decides"),
        OrderBasis::Chronology => "the only chronological reading".to_owned(),
        OrderBasis::Assumed => {
            "assumed: every day and month in the file is 12 or less, check the dates".to_owned()
        }
    };
    let contact = match &roles.contact {
        ContactRef::Id(id) => format!("contact {id}"),
        ContactRef::Handle(h) => h.key(),
    };
    format!(
        "{}: {} messages ({inbound} from {customer}, {outbound} from {me}), {system} system \
         lines skipped, {} unreadable lines; contact {contact} ({}); dates read as {} ({basis}); \
         times read in {zone_source}",
        chat.label,
        messages.len(),
        export.problems.len(),
        roles.contact_source,
        export.date_order.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_name_the_customer() {
        let phone = phone_in_name("WhatsApp Chat with +971 50 123 4567").expect("phone");
        assert_eq!(phone.as_str(), "+971501234567");
        assert!(phone_in_name("WhatsApp Chat with Ahmed").is_none());
        assert_eq!(
            partner_in_name("WhatsApp Chat with Ahmed Khan (1)").as_deref(),
            Some("Ahmed Khan")
        );
        assert_eq!(
            partner_in_name("WhatsApp Chat - Lena Schmidt").as_deref(),
            Some("Lena Schmidt")
        );
        assert_eq!(
            partner_in_name("Чат WhatsApp с Ольгой").as_deref(),
            Some("Ольгой")
        );
        assert_eq!(
            partner_in_name("دردشة واتساب مع محمد").as_deref(),
            Some("محمد")
        );
        assert!(partner_in_name("_chat").is_none());
    }

    #[test]
    fn decodes_what_exports_are_written_in() {
        assert_eq!(
            decode("héllo".as_bytes().to_vec()),
            ("héllo".to_owned(), false)
        );
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("hi".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(utf16), ("hi".to_owned(), false));
        assert!(decode(vec![b'a', 0xFF, b'b']).1);
    }
}
