//! The agent's pages: today's queue, the inbox, a conversation with its reply box, and the
//! contact card. Every read goes through the viewer's scope.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use stoke_core::planner::contact_zone;
use stoke_core::{
    Contact, ContactId, Direction, EventKind, MessageStatus, Role, TagChangeKind, TagFamily, UserId,
};
use stoke_store::outbox::Content;
use stoke_store::{InboxCursor, InboxFilter, PageRequest, Scope};

use super::{Viewer, url_escape};
use crate::{ApiError, AppState};

/// Conversations on one inbox page.
const INBOX_PAGE: u32 = 50;
/// Messages shown in a conversation: the latest ones.
const CONVERSATION_MESSAGES: usize = 200;

#[derive(Debug, Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// The people a viewer may look at the queue or the inbox of: managers their team, admins
/// everyone, agents only themselves.
async fn colleagues(state: &AppState, viewer: &Viewer) -> Result<Vec<(UserId, String)>, ApiError> {
    let users = match viewer.caller.scope {
        Scope::Agent { .. } => return Ok(vec![(viewer.user.id, viewer.user.name.clone())]),
        Scope::Team(team) => state
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.team == Some(team))
            .collect::<Vec<_>>(),
        Scope::Everything => state.store.list_users().await?,
    };
    Ok(users
        .into_iter()
        .filter(|u| u.role != Role::Admin || u.id == viewer.user.id)
        .map(|u| (u.id, u.name))
        .collect())
}

#[derive(Debug, Deserialize)]
pub(crate) struct TodayQuery {
    agent: Option<String>,
}

#[derive(Debug, Serialize)]
struct QueueLine {
    contact: i64,
    name: String,
    phone: Option<String>,
    action: String,
    due: String,
    zone: String,
    overdue: bool,
    reason: String,
}

/// `GET /today`: whom to contact and when, most valuable first; due times in the contact's
/// own time, overdue lines marked.
pub(crate) async fn today(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<TodayQuery>,
) -> Response {
    match today_page(&viewer, &state, query).await {
        Ok(page) => viewer.render("today.html", page),
        Err(e) => viewer.fail(e),
    }
}

async fn today_page(
    viewer: &Viewer,
    state: &AppState,
    query: TodayQuery,
) -> Result<Value, ApiError> {
    let people = colleagues(state, viewer).await?;
    let asked = match query
        .agent
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        Some(raw) => {
            let id = raw
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("agent", format!("{raw:?} is not a user id")))?;
            let id = UserId::new(id);
            if !people.iter().any(|(u, _)| *u == id) {
                return Err(ApiError::not_found("no such agent here"));
            }
            id
        }
        None => viewer.user.id,
    };
    let now = Timestamp::now();
    let rules = state.rules.get();
    let items = state.queues.get(Some(asked), rules.clone()).await?;
    let words = viewer.words();
    let lines: Vec<QueueLine> = items
        .iter()
        .map(|item| {
            let zone = TimeZone::get(zone_name(&item.action.zone)).unwrap_or(TimeZone::UTC);
            QueueLine {
                contact: item.contact.get(),
                name: item.name.clone(),
                phone: item.phone.clone(),
                action: words.text(&format!("action-{}", item.action.kind.as_str())),
                due: item
                    .action
                    .due
                    .map(|d| words.date_time(d, &zone))
                    .unwrap_or_default(),
                zone: zone_name(&item.action.zone).to_owned(),
                overdue: item.action.overdue(now),
                reason: item.action.reason.clone(),
            }
        })
        .collect();
    let agents: Vec<Choice> = people
        .iter()
        .map(|(id, name)| Choice {
            value: id.get().to_string(),
            label: name.clone(),
            selected: *id == asked,
        })
        .collect();
    let overdue = lines.iter().filter(|l| l.overdue).count();
    Ok(context! {
        count => lines.len(),
        overdue,
        lines => Value::from(Serde(&lines)),
        agents => Value::from(Serde(if agents.len() > 1 { &agents[..] } else { &[] })),
    })
}

/// The zone name in a plan's `zone` ("Asia/Riyadh (from country SA)").
fn zone_name(described: &str) -> &str {
    described.split(' ').next().unwrap_or("UTC")
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct InboxQuery {
    q: Option<String>,
    account: Option<String>,
    tag: Option<String>,
    tier: Option<String>,
    assignee: Option<String>,
    before: Option<String>,
}

#[derive(Debug, Serialize)]
struct InboxLine {
    contact: i64,
    name: String,
    account: String,
    channel: &'static str,
    ours: bool,
    text: String,
    at: String,
}

/// `GET /inbox`: conversations across every account, newest first, narrowed by account, tag,
/// activity tier and assignee; with `q`, the words searched through all history instead.
pub(crate) async fn inbox(
    viewer: Viewer,
    State(state): State<AppState>,
    query: Result<Query<InboxQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(q)) => q,
        Err(e) => return viewer.fail(ApiError::invalid("query", e.body_text())),
    };
    match inbox_page(&viewer, &state, query).await {
        Ok(page) => viewer.render("inbox.html", page),
        Err(e) => viewer.fail(e),
    }
}

fn tag_param(raw: &str) -> Result<(TagFamily, String), ApiError> {
    let (family, value) = raw.split_once(':').ok_or_else(|| {
        ApiError::invalid(
            "tag",
            format!("{raw:?} is not family:value, like intent:high"),
        )
    })?;
    let family = TagFamily::ALL
        .into_iter()
        .find(|f| f.as_str() == family.trim())
        .ok_or_else(|| ApiError::invalid("tag", format!("{family:?} is not a tag family")))?;
    Ok((family, value.trim().to_owned()))
}

async fn inbox_page(viewer: &Viewer, state: &AppState, q: InboxQuery) -> Result<Value, ApiError> {
    let accounts = state.store.list_accounts().await?;
    let names: HashMap<i64, String> = accounts
        .iter()
        .map(|a| (a.id.get(), a.name.clone()))
        .collect();
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut filter = InboxFilter::default();
    let account = blank(&q.account);
    if let Some(name) = &account {
        filter.account = Some(
            accounts
                .iter()
                .find(|a| &a.name == name)
                .map(|a| a.id)
                .ok_or_else(|| {
                    ApiError::invalid("account", format!("no account is named {name:?}"))
                })?,
        );
    }
    let tag = blank(&q.tag);
    let tier = blank(&q.tier);
    match (&tag, &tier) {
        (Some(tag), _) => filter.tag = Some(tag_param(tag)?),
        (None, Some(tier)) => filter.tag = Some((TagFamily::Activity, tier.clone())),
        (None, None) => {}
    }
    let people = colleagues(state, viewer).await?;
    let assignee = blank(&q.assignee);
    match assignee.as_deref() {
        None => {}
        Some("none") => filter.unassigned = true,
        Some(raw) => {
            let id = raw
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("assignee", format!("{raw:?} is not a user id")))?;
            filter.owner = Some(UserId::new(id));
        }
    }
    let words = viewer.words();
    let text = blank(&q.q);
    let mut lines = Vec::new();
    let mut contacts_found = Vec::new();
    let mut next = None;
    if let Some(text) = &text {
        let found = state
            .store
            .search_messages(
                viewer.caller.scope,
                text,
                filter.account,
                PageRequest::first(INBOX_PAGE),
            )
            .await?;
        let mut who: HashMap<ContactId, String> = HashMap::new();
        for m in &found.items {
            if !who.contains_key(&m.contact)
                && let Ok(c) = state
                    .store
                    .get_contact_in(viewer.caller.scope, m.contact)
                    .await
            {
                who.insert(m.contact, c.name);
            }
        }
        for m in found.items {
            lines.push(InboxLine {
                contact: m.contact.get(),
                name: who.get(&m.contact).cloned().unwrap_or_default(),
                account: names.get(&m.account.get()).cloned().unwrap_or_default(),
                channel: m.channel.as_str(),
                ours: m.direction == Direction::Out,
                text: preview(&m.text),
                at: words.date_time(m.at, &viewer.zone),
            });
        }
        let people_found = state
            .store
            .search_contacts(
                viewer.caller.scope,
                &stoke_store::ContactFilter {
                    text: Some(text.clone()),
                    ..Default::default()
                },
                PageRequest::first(10),
            )
            .await?;
        contacts_found = people_found
            .items
            .into_iter()
            .map(|c| context! { id => c.id.get(), name => c.name })
            .collect();
    } else {
        let after = match blank(&q.before) {
            None => None,
            Some(raw) => Some(cursor(&raw)?),
        };
        let page = state
            .store
            .inbox(viewer.caller.scope, &filter, after, INBOX_PAGE)
            .await?;
        for row in page.items {
            let (ours, text) = match row.last {
                Some((direction, text)) => (direction == Direction::Out, text),
                None => (false, String::new()),
            };
            lines.push(InboxLine {
                contact: row.conversation.contact.get(),
                name: row.contact_name,
                account: names
                    .get(&row.conversation.account.get())
                    .cloned()
                    .unwrap_or_default(),
                channel: row.conversation.channel.as_str(),
                ours,
                text: preview(&text),
                at: row
                    .conversation
                    .last_message_at
                    .map(|at| words.date_time(at, &viewer.zone))
                    .unwrap_or_default(),
            });
        }
        next = page.next.map(|c| {
            let mut link = format!(
                "/inbox?before={}.{}",
                c.at.as_millisecond(),
                c.conversation.get()
            );
            for (key, value) in [
                ("account", &account),
                ("tag", &tag),
                ("tier", &tier),
                ("assignee", &assignee),
            ] {
                if let Some(v) = value {
                    link.push_str(&format!("&{key}={}", url_escape(v)));
                }
            }
            link
        });
    }
    let account_choices: Vec<Choice> = accounts
        .iter()
        .map(|a| Choice {
            value: a.name.clone(),
            label: a.name.clone(),
            selected: account.as_deref() == Some(a.name.as_str()),
        })
        .collect();
    let tier_choices: Vec<Choice> = ["high", "medium", "low", "dormant"]
        .into_iter()
        .map(|t| Choice {
            value: t.to_owned(),
            label: words.text(&format!("tier-{t}")),
            selected: tier.as_deref() == Some(t),
        })
        .collect();
    let mut assignee_choices = vec![Choice {
        value: "none".into(),
        label: words.text("inbox-unassigned"),
        selected: assignee.as_deref() == Some("none"),
    }];
    assignee_choices.extend(people.iter().map(|(id, name)| Choice {
        value: id.get().to_string(),
        label: name.clone(),
        selected: assignee.as_deref() == Some(id.get().to_string().as_str()),
    }));
    Ok(context! {
        q => text.unwrap_or_default(),
        searching => q.q.as_deref().is_some_and(|t| !t.trim().is_empty()),
        tag => tag.unwrap_or_default(),
        accounts => Value::from(Serde(&account_choices)),
        tiers => Value::from(Serde(&tier_choices)),
        assignees => Value::from(Serde(&assignee_choices)),
        count => lines.len(),
        lines => Value::from(Serde(&lines)),
        contacts_found,
        next,
    })
}

/// The start of a message, for one line of the inbox.
fn preview(text: &str) -> String {
    const LENGTH: usize = 140;
    match text.char_indices().nth(LENGTH) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// An inbox cursor as written in an "older" link: `MILLIS.ID`.
fn cursor(raw: &str) -> Result<InboxCursor, ApiError> {
    let bad = || ApiError::invalid("before", format!("{raw:?} is not an inbox position"));
    let (at, id) = raw.split_once('.').ok_or_else(bad)?;
    let at = at
        .parse::<i64>()
        .ok()
        .and_then(|ms| Timestamp::from_millisecond(ms).ok())
        .ok_or_else(bad)?;
    let id = id.parse::<i64>().map_err(|_| bad())?;
    Ok(InboxCursor {
        at,
        conversation: stoke_core::ConversationId::new(id),
    })
}

fn contact_param(raw: &str) -> Result<ContactId, ApiError> {
    raw.parse::<ContactId>()
        .map_err(|_| ApiError::not_found(format!("no contact {raw:?}")))
}

#[derive(Debug, Serialize)]
struct Bubble {
    ours: bool,
    text: String,
    at: String,
    account: String,
    status: &'static str,
    status_label: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    done: Option<String>,
}

/// `GET /inbox/{contact}`: the messages with a contact across every account, with their status
/// ticks, and the reply box.
pub(crate) async fn conversation(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    crate::whatsapp::mark_read_soon(&state, viewer.caller.scope, &raw);
    match conversation_page(&viewer, &state, &raw, flash, None).await {
        Ok(page) => viewer.render("conversation.html", page),
        Err(e) => viewer.fail(e),
    }
}

async fn conversation_page(
    viewer: &Viewer,
    state: &AppState,
    raw: &str,
    flash: Flash,
    problem: Option<String>,
) -> Result<Value, ApiError> {
    let contact = state
        .store
        .get_contact_in(viewer.caller.scope, contact_param(raw)?)
        .await?;
    let accounts = state.store.list_accounts().await?;
    let names: HashMap<i64, String> = accounts
        .iter()
        .map(|a| (a.id.get(), a.name.clone()))
        .collect();
    let words = viewer.words();
    let mut messages = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_messages(
                contact.id,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        messages.extend(page.items);
        if messages.len() > CONVERSATION_MESSAGES {
            let drop = messages.len() - CONVERSATION_MESSAGES;
            messages.drain(..drop);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let bubbles: Vec<Bubble> = messages
        .into_iter()
        .map(|m| {
            let status = m.status().unwrap_or(MessageStatus::Received);
            let key = match status {
                MessageStatus::Queued => "queued",
                MessageStatus::Sent => "sent",
                MessageStatus::Delivered => "delivered",
                MessageStatus::Read | MessageStatus::Replied | MessageStatus::Clicked => "read",
                MessageStatus::Failed | MessageStatus::Unknown => "failed",
                MessageStatus::Received => "received",
            };
            Bubble {
                ours: m.direction == Direction::Out,
                text: m.text,
                at: words.date_time(m.at, &viewer.zone),
                account: names.get(&m.account.get()).cloned().unwrap_or_default(),
                status: key,
                status_label: words.text(&format!("status-{key}")),
            }
        })
        .collect();
    // The account to answer through: the one the customer last wrote on, else the first.
    let conversations = state.store.list_conversations(contact.id).await?;
    let latest = conversations
        .iter()
        .filter(|c| c.last_message_at.is_some())
        .max_by_key(|c| c.last_message_at)
        .and_then(|c| names.get(&c.account.get()).cloned());
    let reply_accounts: Vec<Choice> = accounts
        .iter()
        .map(|a| Choice {
            value: a.name.clone(),
            label: a.name.clone(),
            selected: latest.as_deref() == Some(a.name.as_str()),
        })
        .collect();
    let tags = card_tags(state, viewer, contact.id).await?;
    Ok(context! {
        contact => context! { id => contact.id.get(), name => contact.name.clone() },
        bubbles => Value::from(Serde(&bubbles)),
        accounts => Value::from(Serde(&reply_accounts)),
        tags => Value::from(Serde(&tags)),
        queued => flash.done,
        problem,
        max => crate::senders::MAX_TEXT_CHARS,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    account: String,
    /// The form's own key: a double click or a resubmitted form queues the reply once.
    #[serde(default)]
    key: String,
}

/// `POST /inbox/{contact}/reply`: queues the reply in the outbox of the chosen account (the same
/// path as the API's send), then shows the conversation again.
pub(crate) async fn reply(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<ReplyForm>,
) -> Response {
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    let words = viewer.words();
    let text = form.text.trim();
    let problem = if text.is_empty() {
        Some(words.text("conv-empty-reply"))
    } else if text.chars().count() > crate::senders::MAX_TEXT_CHARS {
        Some(words.text_with(
            "conv-too-long",
            &[(
                "max",
                super::Arg::Num(crate::senders::MAX_TEXT_CHARS as i64),
            )],
        ))
    } else if let Err(e) = stoke_core::template::check_text(text) {
        Some(e.to_string())
    } else {
        None
    };
    if let Some(problem) = problem {
        return match conversation_page(&viewer, &state, &raw, Flash::default(), Some(problem)).await
        {
            Ok(page) => {
                let mut response = viewer.render("conversation.html", page);
                *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
                response
            }
            Err(e) => viewer.fail(e),
        };
    }
    let contact = match contact_param(&raw) {
        Ok(c) => c,
        Err(e) => return viewer.fail(e),
    };
    let key = match form.key.trim() {
        k if !k.is_empty() && k.len() <= 100 => format!("web:{}:{k}", viewer.user.id),
        _ => match crate::auth::new_secret("web:") {
            Ok(k) => k,
            Err(_) => {
                return viewer.fail(ApiError::unavailable(
                    "cannot queue the reply now; try again",
                ));
            }
        },
    };
    match crate::senders::queue_message(
        &state,
        &viewer.caller,
        contact,
        &form.account,
        Content::Text(text.to_owned()),
        key,
    )
    .await
    {
        Ok((_, account)) => {
            // Their queue changed with this touch: the next look at it is planned afresh.
            state.queues.forget(Some(viewer.user.id));
            Redirect::to(&format!(
                "/inbox/{}?done={}",
                contact.get(),
                url_escape(&account)
            ))
            .into_response()
        }
        Err(e) => viewer.fail(e),
    }
}

#[derive(Debug, Serialize)]
struct TagView {
    family: &'static str,
    family_label: String,
    value: String,
    colour: String,
    rule: String,
    why: String,
    message: Option<String>,
    at: String,
}

/// Every tag a contact holds, in its colour, with the rule and the evidence that set it (and
/// the words of the message when a message set it).
async fn card_tags(
    state: &AppState,
    viewer: &Viewer,
    contact: ContactId,
) -> Result<Vec<TagView>, ApiError> {
    let words = viewer.words();
    let tags = state.store.list_tags(contact).await?;
    let mut views = Vec::with_capacity(tags.len());
    for tag in tags {
        let message = match tag.evidence.message {
            Some(id) => state.store.get_message(id).await.ok().map(|m| m.text),
            None => None,
        };
        views.push(TagView {
            family: tag.family.as_str(),
            family_label: words.text(&format!("family-{}", tag.family.as_str())),
            value: tag.value,
            colour: safe_colour(&tag.colour),
            rule: tag.rule,
            why: tag.evidence.detail,
            message,
            at: words.date_time(tag.set_at, &viewer.zone),
        });
    }
    Ok(views)
}

/// A playbook colour as a CSS class suffix: letters only, so it cannot break out of the class.
fn safe_colour(colour: &str) -> String {
    let clean: String = colour.chars().filter(char::is_ascii_alphabetic).collect();
    if clean.is_empty() {
        "grey".into()
    } else {
        clean.to_ascii_lowercase()
    }
}

/// `GET /contacts/{contact}`: the contact card.
pub(crate) async fn contact_card(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    match card_page(&viewer, &state, &raw, flash.done.is_some(), None).await {
        Ok(page) => viewer.render("contact.html", page),
        Err(e) => viewer.fail(e),
    }
}

async fn card_page(
    viewer: &Viewer,
    state: &AppState,
    raw: &str,
    saved: bool,
    problem: Option<String>,
) -> Result<Value, ApiError> {
    let contact: Contact = state
        .store
        .get_contact_in(viewer.caller.scope, contact_param(raw)?)
        .await?;
    let words = viewer.words();
    let rules = state.rules.get();
    let (zone, zone_label) = contact_zone(&contact, &rules.playbook);
    let owner = match contact.owner {
        Some(id) => state.store.get_user(id).await.ok().map(|u| u.name),
        None => None,
    };
    let tags = card_tags(state, viewer, contact.id).await?;
    let history: Vec<Value> = state
        .store
        .tag_history(contact.id)
        .await?
        .into_iter()
        .rev()
        .take(50)
        .map(|c| {
            context! {
                change => words.text(match c.kind {
                    TagChangeKind::Removed => "card-removed",
                    _ => "card-set",
                }),
                removed => c.kind == TagChangeKind::Removed,
                family => words.text(&format!("family-{}", c.tag.family.as_str())),
                value => c.tag.value,
                colour => safe_colour(&c.tag.colour),
                rule => c.tag.rule,
                why => c.tag.evidence.detail,
                at => words.date_time(c.tag.set_at, &viewer.zone),
            }
        })
        .collect();
    let notes: Vec<Value> = state
        .store
        .list_notes(contact.id)
        .await?
        .into_iter()
        .rev()
        .map(|n| context! { text => n.text, at => words.date_time(n.at, &viewer.zone) })
        .collect();
    let tasks: Vec<Value> = state
        .store
        .list_tasks(contact.id)
        .await?
        .into_iter()
        .map(|t| {
            context! {
                title => t.title,
                kind => t.kind.as_str(),
                due => t.due_at.map(|d| words.date_time(d, &zone)),
                done => t.done_at.is_some(),
            }
        })
        .collect();
    let mut orders = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .list_events(
                contact.id,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        for e in &page.items {
            if let EventKind::Order {
                order_id, amount, ..
            } = &e.kind
            {
                orders.push(context! {
                    id => order_id.clone(),
                    amount => amount.to_string(),
                    at => words.date_time(e.at, &zone),
                });
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    orders.reverse();
    let reach = &contact.reach;
    let preferences: Vec<(String, String)> = [
        (
            "channel",
            reach.preferred_channel.map(|c| c.as_str().to_owned()),
        ),
        ("window", reach.window.as_ref().map(ToString::to_string)),
        ("format", reach.format.map(|f| f.as_str().to_owned())),
        (
            "max per week",
            reach.max_per_week.map(|n| words.number(i64::from(n))),
        ),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect();
    let consents: Vec<Value> = contact
        .consents
        .iter()
        .map(|c| {
            context! {
                channel => c.channel.as_str(),
                status => c.status.as_str(),
                source => c.source.clone(),
                at => words.date_time(c.at, &viewer.zone),
            }
        })
        .collect();
    Ok(context! {
        contact => context! {
            id => contact.id.get(),
            name => contact.name.clone(),
            phones => contact.phones.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>(),
            emails => contact.emails.iter().map(ToString::to_string).collect::<Vec<_>>(),
            language => contact.language.map(|l| l.to_string()),
            country => contact.country.map(|c| c.as_str().to_owned()),
            city => contact.city.clone(),
            zone => zone_label,
            owner,
        },
        tags => Value::from(Serde(&tags)),
        history,
        notes,
        tasks,
        orders,
        preferences,
        consents,
        saved,
        problem,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /contacts/{contact}/notes`: adds a note (the API's rules and audit entry).
pub(crate) async fn add_note(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    axum::Form(form): axum::Form<NoteForm>,
) -> Response {
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    let contact = match contact_param(&raw) {
        Ok(c) => c,
        Err(e) => return viewer.fail(e),
    };
    match crate::contacts::add_note(&state, &viewer.caller, contact, &form.text).await {
        Ok(_) => Redirect::to(&format!("/contacts/{}?done=note", contact.get())).into_response(),
        Err(e) if e.status == axum::http::StatusCode::BAD_REQUEST => {
            let problem = viewer.words().text("card-note-empty");
            match card_page(&viewer, &state, &raw, false, Some(problem)).await {
                Ok(page) => {
                    let mut response = viewer.render("contact.html", page);
                    *response.status_mut() = axum::http::StatusCode::BAD_REQUEST;
                    response
                }
                Err(e) => viewer.fail(e),
            }
        }
        Err(e) => viewer.fail(e),
    }
}
