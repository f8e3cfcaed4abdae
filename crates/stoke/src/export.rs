//! `stoke export contacts|messages`: the workspace out again, in the formats `stoke import`
//! reads, so that an export re-imported changes nothing.

use std::collections::HashMap;
use std::io::Write;

use anyhow::Context;
use serde::Serialize;
use stoke_core::{Contact, CustomValue, TagFamily, UserId};
use stoke_store::{PageRequest, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

/// Visits every contact, a page at a time.
async fn each_contact(store: &dyn Store, mut visit: impl AsyncVisit) -> anyhow::Result<()> {
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let batch = store
            .list_contacts(stoke_store::Scope::Everything, page)
            .await?;
        for contact in batch.items {
            visit.visit(contact).await?;
        }
        match batch.next {
            Some(next) => page.after = Some(next),
            None => return Ok(()),
        }
    }
}

/// A per-contact step that may call the store.
trait AsyncVisit {
    async fn visit(&mut self, contact: Contact) -> anyhow::Result<()>;
}

fn custom_text(value: &CustomValue) -> String {
    match value {
        CustomValue::Text(t) | CustomValue::Choice(t) => t.clone(),
        CustomValue::Number(n) => n.to_string(),
        CustomValue::Date(d) => d.to_string(),
        CustomValue::YesNo(b) => if *b { "yes" } else { "no" }.to_owned(),
    }
}

const CONTACT_HEADER: [&str; 17] = [
    "id",
    "kind",
    "name",
    "phone",
    "email",
    "whatsapp_id",
    "country",
    "city",
    "language",
    "timezone",
    "company",
    "birthday",
    "preferred_channel",
    "contact_window",
    "max_per_week",
    "owner",
    "tags",
];

struct CsvContacts<'a, W: Write> {
    store: &'a dyn Store,
    out: csv::Writer<W>,
    custom_keys: Vec<String>,
    owners: Owners,
}

/// Users' e-mails by id: an owner is exported as the e-mail `stoke import` resolves again.
struct Owners(HashMap<UserId, String>);

impl Owners {
    async fn load(store: &dyn Store) -> anyhow::Result<Self> {
        let users = store.list_users().await?;
        Ok(Self(
            users
                .into_iter()
                .map(|u| (u.id, u.email.to_string()))
                .collect(),
        ))
    }

    /// The owner's e-mail; `None` for a contact without one. A stored owner id always names a
    /// user (a foreign key), so a miss is a broken database, not a value to skip.
    fn email(&self, contact: &Contact) -> anyhow::Result<Option<&str>> {
        contact
            .owner
            .map(|id| {
                self.0.get(&id).map(String::as_str).with_context(|| {
                    format!(
                        "contact {}: its owner, user {id}, does not exist",
                        contact.id
                    )
                })
            })
            .transpose()
    }
}

impl<W: Write> AsyncVisit for CsvContacts<'_, W> {
    async fn visit(&mut self, c: Contact) -> anyhow::Result<()> {
        let tags = self.store.list_tags(c.id).await?;
        let static_tags: Vec<String> = tags
            .into_iter()
            .filter(|t| t.family == TagFamily::Static)
            .map(|t| t.value)
            .collect();
        let join = |items: Vec<String>| items.join(";");
        let mut row: Vec<String> = vec![
            c.id.to_string(),
            c.kind.as_str().to_owned(),
            c.name.clone(),
            join(c.phones.iter().map(ToString::to_string).collect()),
            join(c.emails.iter().map(ToString::to_string).collect()),
            c.whatsapp_id.clone().unwrap_or_default(),
            c.country.map(|x| x.to_string()).unwrap_or_default(),
            c.city.clone().unwrap_or_default(),
            c.language
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            c.time_zone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            c.company.legal_name.clone().unwrap_or_default(),
            c.relationship
                .birthday
                .map(|d| d.to_string())
                .unwrap_or_default(),
            c.reach
                .preferred_channel
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
            c.reach
                .window
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            c.reach
                .max_per_week
                .map(|n| n.to_string())
                .unwrap_or_default(),
            self.owners.email(&c)?.unwrap_or_default().to_owned(),
            join(static_tags),
        ];
        row.extend(
            self.custom_keys
                .iter()
                .map(|k| c.custom.get(k).map(custom_text).unwrap_or_default()),
        );
        self.out.write_record(&row)?;
        Ok(())
    }
}

#[derive(Serialize)]
struct TagLine {
    family: &'static str,
    value: String,
    colour: String,
    rule: String,
    reason: String,
    set_at: String,
}

#[derive(Serialize)]
struct ContactLine {
    id: i64,
    kind: &'static str,
    name: String,
    phone: Vec<String>,
    email: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whatsapp_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthday: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<String>,
    #[serde(flatten)]
    custom: std::collections::BTreeMap<String, String>,
    auto_tags: Vec<TagLine>,
    tags: Vec<String>,
}

struct JsonContacts<'a, W: Write> {
    store: &'a dyn Store,
    out: W,
    owners: Owners,
}

impl<W: Write> AsyncVisit for JsonContacts<'_, W> {
    async fn visit(&mut self, c: Contact) -> anyhow::Result<()> {
        let tags = self.store.list_tags(c.id).await?;
        let (static_tags, auto): (Vec<_>, Vec<_>) = tags
            .into_iter()
            .partition(|t| t.family == TagFamily::Static);
        let owner = self.owners.email(&c)?.map(str::to_owned);
        let line = ContactLine {
            id: c.id.get(),
            kind: c.kind.as_str(),
            name: c.name,
            phone: c.phones.iter().map(ToString::to_string).collect(),
            email: c.emails.iter().map(ToString::to_string).collect(),
            whatsapp_id: c.whatsapp_id,
            country: c.country.map(|x| x.to_string()),
            city: c.city,
            language: c.language.map(|l| l.to_string()),
            timezone: c.time_zone.map(|z| z.to_string()),
            birthday: c.relationship.birthday.map(|d| d.to_string()),
            owner,
            custom: c
                .custom
                .iter()
                .map(|(k, v)| (k.clone(), custom_text(v)))
                .collect(),
            auto_tags: auto
                .into_iter()
                .map(|t| TagLine {
                    family: t.family.as_str(),
                    value: t.value,
                    colour: t.colour,
                    rule: t.rule,
                    reason: t.evidence.detail,
                    set_at: t.set_at.to_string(),
                })
                .collect(),
            tags: static_tags.into_iter().map(|t| t.value).collect(),
        };
        serde_json::to_writer(&mut self.out, &line)?;
        self.out.write_all(b"\n")?;
        Ok(())
    }
}

pub async fn contacts(store: &dyn Store, format: Format, out: impl Write) -> anyhow::Result<()> {
    match format {
        Format::Csv => {
            // Every custom value's field is defined in the workspace (the store defines the
            // ones an import brings), so the definitions are the header: one pass over contacts.
            let custom_keys: Vec<String> = store
                .list_custom_fields()
                .await?
                .into_iter()
                .map(|d| d.name)
                .filter(|k| !CONTACT_HEADER.contains(&k.as_str()))
                .collect();
            let mut writer = csv::Writer::from_writer(out);
            let mut header: Vec<&str> = CONTACT_HEADER.to_vec();
            header.extend(custom_keys.iter().map(String::as_str));
            writer.write_record(&header)?;
            let mut visit = CsvContacts {
                store,
                out: writer,
                custom_keys,
                owners: Owners::load(store).await?,
            };
            each_contact(store, &mut visit).await?;
            visit.out.flush().context("while writing the export")?;
        }
        Format::Jsonl => {
            let mut visit = JsonContacts {
                store,
                out,
                owners: Owners::load(store).await?,
            };
            each_contact(store, &mut visit).await?;
            visit.out.flush().context("while writing the export")?;
        }
    }
    Ok(())
}

impl<T: AsyncVisit> AsyncVisit for &mut T {
    async fn visit(&mut self, contact: Contact) -> anyhow::Result<()> {
        (**self).visit(contact).await
    }
}

#[derive(Serialize)]
struct MessageLine<'a> {
    id: &'a str,
    contact: &'a str,
    direction: &'static str,
    channel: &'static str,
    account: &'a str,
    text: &'a str,
    at: String,
}

/// Where exported messages go, in the format asked for.
enum Sink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Jsonl(W),
}

struct Messages<'a, W: Write> {
    store: &'a dyn Store,
    accounts: HashMap<i64, String>,
    sink: Sink<W>,
}

impl<W: Write> AsyncVisit for Messages<'_, W> {
    async fn visit(&mut self, c: Contact) -> anyhow::Result<()> {
        let contact = c
            .phones
            .first()
            .map(ToString::to_string)
            .or_else(|| c.emails.first().map(ToString::to_string))
            .unwrap_or_else(|| c.id.to_string());
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let batch = self.store.list_messages(c.id, page).await?;
            for m in &batch.items {
                let line = MessageLine {
                    id: &m.external_id,
                    contact: &contact,
                    direction: m.direction.as_str(),
                    channel: m.channel.as_str(),
                    account: self
                        .accounts
                        .get(&m.account.get())
                        .map_or("", String::as_str),
                    text: &m.text,
                    at: m.at.to_string(),
                };
                match &mut self.sink {
                    Sink::Csv(w) => w.serialize(&line)?,
                    Sink::Jsonl(w) => {
                        serde_json::to_writer(&mut *w, &line)?;
                        w.write_all(b"\n")?;
                    }
                }
            }
            match batch.next {
                Some(next) => page.after = Some(next),
                None => return Ok(()),
            }
        }
    }
}

pub async fn messages(store: &dyn Store, format: Format, out: impl Write) -> anyhow::Result<()> {
    let accounts = store
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| (a.id.get(), a.name))
        .collect();
    let sink = match format {
        Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
        Format::Jsonl => Sink::Jsonl(out),
    };
    let mut visit = Messages {
        store,
        accounts,
        sink,
    };
    each_contact(store, &mut visit).await?;
    match &mut visit.sink {
        Sink::Csv(w) => w.flush()?,
        Sink::Jsonl(w) => w.flush()?,
    }
    Ok(())
}
