//! The admin's pages: segments (the distribution of tags, the weekly health check, a live
//! expression box) and broadcasts (create from a segment and a template, progress live).
//! Both span the whole workspace, so both are for admins, as their API endpoints are.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use stoke_core::TagFamily;
use stoke_core::outbox::BroadcastStatus;
use stoke_core::segment::Segment;
use stoke_store::PageRequest;

use super::Viewer;
use super::i18n::Arg;
use crate::broadcasts::{self, CreateError, NewBroadcast};
use crate::{ApiError, AppState};

/// Contacts listed under a segment's count.
const SEGMENT_SAMPLE: usize = 20;

/// The refusal of a page for admins when the viewer is not one; `None` when they are.
fn refuse_unless_admin(viewer: &Viewer) -> Option<Response> {
    if viewer.is_admin() {
        None
    } else {
        Some(viewer.fail(ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: viewer.words().text("seg-admins"),
            field: None,
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SegmentQuery {
    expr: Option<String>,
}

#[derive(Debug, Serialize)]
struct Bar {
    value: String,
    label: String,
    colour: String,
    count: String,
    percent: f64,
}

#[derive(Debug, Serialize)]
struct Family {
    label: String,
    bars: Vec<Bar>,
}

/// `GET /segments`: how the base is spread over tiers and interests, the weekly health check,
/// and the expression box with what it matches.
pub(crate) async fn segments(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<SegmentQuery>,
) -> Response {
    if let Some(refused) = refuse_unless_admin(&viewer) {
        return refused;
    }
    let built = match state.segments.get().await {
        Ok(b) => b,
        Err(e) => return viewer.fail(e),
    };
    let words = viewer.words();
    let total = built.index.len();
    let rules = state.rules.get();
    let colours = &rules.playbook;
    let mut families = Vec::new();
    for family in [
        TagFamily::Activity,
        TagFamily::Intent,
        TagFamily::Interest,
        TagFamily::Temperature,
        TagFamily::Lifecycle,
    ] {
        let mut bars: Vec<Bar> = built
            .index
            .counts()
            .into_iter()
            .filter(|(f, _, _)| *f == family)
            .map(|(_, value, count)| Bar {
                label: match family {
                    TagFamily::Activity => words.text(&format!("tier-{value}")),
                    _ => value.to_owned(),
                },
                colour: colour_class(&tag_colour(colours, family, value)),
                value: value.to_owned(),
                count: words.number(count as i64),
                percent: if total == 0 {
                    0.0
                } else {
                    (count as f64 * 1000.0 / total as f64).round() / 10.0
                },
            })
            .collect();
        bars.sort_by(|a, b| b.percent.total_cmp(&a.percent));
        if !bars.is_empty() {
            families.push(Family {
                label: words.text(&format!("family-{}", family.as_str())),
                bars,
            });
        }
    }
    let min_share = rules.playbook.activity.min_high_share;
    let high = built.index.count(TagFamily::Activity, "high");
    let mut warnings = Vec::new();
    if total > 0 {
        let share = high as f64 / total as f64;
        if share < min_share {
            warnings.push(words.text_with(
                "seg-low-high",
                &[
                    ("share", Arg::Str(&format!("{:.1}", share * 100.0))),
                    ("min", Arg::Str(&format!("{:.0}", min_share * 100.0))),
                ],
            ));
        }
    }
    let expr = query.expr.unwrap_or_default();
    let preview = preview(&viewer, &state, &expr).await;
    viewer.render(
        "segments.html",
        context! {
            total => words.number(total as i64),
            families => Value::from(Serde(&families)),
            warnings,
            expr,
            preview,
        },
    )
}

/// What a segment expression matches now: its count and the first contacts, or the problem.
async fn preview(viewer: &Viewer, state: &AppState, expr: &str) -> Value {
    let words = viewer.words();
    if expr.trim().is_empty() {
        return Value::UNDEFINED;
    }
    let segment = match Segment::parse(expr) {
        Ok(s) => s,
        Err(e) => {
            return context! {
                problem => words.text_with("seg-invalid", &[("problem", Arg::Str(&e.to_string()))]),
            };
        }
    };
    let built = match state.segments.get().await {
        Ok(b) => b,
        Err(e) => return context! { problem => e.to_string() },
    };
    let matched = built.index.evaluate(&segment, Timestamp::now());
    let mut contacts = Vec::new();
    for id in matched.iter().take(SEGMENT_SAMPLE) {
        let id = stoke_core::ContactId::new(i64::from(id));
        if let Ok(c) = state.store.get_contact(id).await {
            contacts.push(context! { id => c.id.get(), name => c.name });
        }
    }
    context! {
        count => words.text_with(
            "seg-count",
            &[
                ("count", Arg::Str(&words.number(matched.len() as i64))),
                ("of", Arg::Str(&words.number(built.index.len() as i64))),
            ],
        ),
        contacts,
    }
}

/// `GET /segments/preview?expr=`: the count and contacts alone, for the box to update as the
/// admin types (`assets/app.js`).
pub(crate) async fn segment_preview(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(query): Query<SegmentQuery>,
) -> Response {
    if let Some(refused) = refuse_unless_admin(&viewer) {
        return refused;
    }
    let preview = preview(&viewer, &state, query.expr.as_deref().unwrap_or_default()).await;
    viewer.render("segment_preview.html", context! { preview })
}

/// The colour the playbook gives a tag value, for the chart (the engine writes the same colour
/// on each tag it sets).
fn tag_colour(playbook: &stoke_core::playbook::Playbook, family: TagFamily, value: &str) -> String {
    let a = &playbook.activity;
    let i = &playbook.intent;
    let colour = match (family, value) {
        (TagFamily::Activity, "high") => &a.high.colour,
        (TagFamily::Activity, "medium") => &a.medium.colour,
        (TagFamily::Activity, "low") => &a.low.colour,
        (TagFamily::Activity, "dormant") => &a.dormant.colour,
        (TagFamily::Intent, "high") => &i.high_colour,
        (TagFamily::Intent, "medium") => &i.medium_colour,
        (TagFamily::Intent, "potential") => &i.potential_colour,
        (TagFamily::Intent, "none") => &i.none_colour,
        (TagFamily::Interest, name) => match playbook.interests.iter().find(|x| x.name == name) {
            Some(interest) => &interest.colour,
            None => return "blue".into(),
        },
        _ => return "blue".into(),
    };
    colour.clone()
}

/// A playbook colour as a CSS class suffix: letters only.
fn colour_class(colour: &str) -> String {
    let clean: String = colour.chars().filter(char::is_ascii_alphabetic).collect();
    if clean.is_empty() {
        "grey".into()
    } else {
        clean.to_ascii_lowercase()
    }
}

#[derive(Debug, Serialize)]
struct BroadcastLine {
    id: i64,
    name: String,
    status: &'static str,
    recipients: String,
    audience: String,
    created: String,
}

/// `GET /broadcasts`: every broadcast, newest first, and the form for a new one.
pub(crate) async fn broadcasts(viewer: Viewer, State(state): State<AppState>) -> Response {
    if let Some(refused) = refuse_unless_admin(&viewer) {
        return refused;
    }
    match broadcasts_page(&viewer, &state, None, &NewBroadcast::default()).await {
        Ok(page) => viewer.render("broadcasts.html", page),
        Err(e) => viewer.fail(e),
    }
}

async fn broadcasts_page(
    viewer: &Viewer,
    state: &AppState,
    problem: Option<(String, String)>,
    asked: &NewBroadcast,
) -> Result<Value, ApiError> {
    let words = viewer.words();
    let list = state.store.list_broadcasts(PageRequest::first(100)).await?;
    let mut lines: Vec<BroadcastLine> = list
        .items
        .into_iter()
        .map(|b| BroadcastLine {
            id: b.id,
            name: b.name,
            status: b.status.as_str(),
            recipients: words.number(b.recipients as i64),
            audience: b.audience,
            created: words.date_time(b.created_at, &viewer.zone),
        })
        .collect();
    lines.sort_by_key(|b| std::cmp::Reverse(b.id));
    let templates: Vec<String> = state
        .store
        .list_templates()
        .await?
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    let accounts: Vec<String> = state
        .store
        .list_accounts()
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    Ok(context! {
        lines => Value::from(Serde(&lines)),
        templates,
        accounts,
        problem => problem.map(|(field, message)| context! { field, message }),
        asked => context! {
            name => asked.name.clone(),
            audience => asked.audience.clone(),
            template => asked.template.clone(),
            account => asked.account.clone(),
        },
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct BroadcastForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    template: String,
    #[serde(default)]
    account: String,
    start: Option<String>,
}

/// `POST /broadcasts`: creates a broadcast from a segment and a template through the same rules
/// as the API and the CLI; a refusal shows the form again with the field named.
pub(crate) async fn create_broadcast(
    viewer: Viewer,
    State(state): State<AppState>,
    axum::Form(form): axum::Form<BroadcastForm>,
) -> Response {
    if let Some(refused) = refuse_unless_admin(&viewer) {
        return refused;
    }
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    let request = NewBroadcast {
        name: form.name.trim().to_owned(),
        audience: form.audience.trim().to_owned(),
        account: form.account.trim().to_owned(),
        template: Some(form.template.trim().to_owned()).filter(|t| !t.is_empty()),
        start: form.start.is_some(),
        ..Default::default()
    };
    let built = match state.segments.get().await {
        Ok(b) => b,
        Err(e) => return viewer.fail(e),
    };
    let rules = state.rules.get();
    let created = broadcasts::create(
        state.store.as_ref(),
        &rules.playbook,
        &built.index,
        &request,
        &viewer.caller.actor(),
        Timestamp::now(),
    )
    .await;
    match created {
        Ok(created) => {
            Redirect::to(&format!("/broadcasts/{}", created.broadcast.id)).into_response()
        }
        Err(CreateError::Refused { field, message }) => {
            match broadcasts_page(&viewer, &state, Some((field.to_owned(), message)), &request)
                .await
            {
                Ok(page) => {
                    let mut response = viewer.render("broadcasts.html", page);
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                    response
                }
                Err(e) => viewer.fail(e),
            }
        }
        Err(CreateError::Store(e)) => viewer.fail(e),
    }
}

fn broadcast_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("no broadcast {raw:?}")))
}

/// The counts a progress bar shows, in order.
const PROGRESS: [&str; 6] = ["queued", "sent", "delivered", "read", "failed", "skipped"];

async fn progress(viewer: &Viewer, state: &AppState, raw: &str) -> Result<Value, ApiError> {
    let id = broadcast_id(raw)?;
    let report = state.store.get_broadcast(id, Timestamp::now()).await?;
    let json = broadcasts::report_json(&report);
    let words = viewer.words();
    let total = report.broadcast.recipients.max(1) as f64;
    let counts: Vec<Value> = PROGRESS
        .iter()
        .map(|k| {
            let n = json["counts"][k].as_u64().unwrap_or(0);
            context! {
                key => *k,
                label => words.text(&format!("count-{k}")),
                count => words.number(n as i64),
                percent => (n as f64 * 1000.0 / total).round() / 10.0,
            }
        })
        .collect();
    let b = &report.broadcast;
    Ok(context! {
        id => b.id,
        name => b.name.clone(),
        status => b.status.as_str(),
        audience => b.audience.clone(),
        recipients => words.number(b.recipients as i64),
        counts,
        live => matches!(b.status, BroadcastStatus::Running),
        can_pause => matches!(b.status, BroadcastStatus::Running),
        can_start => matches!(b.status, BroadcastStatus::Draft | BroadcastStatus::Paused),
        can_cancel => !matches!(b.status, BroadcastStatus::Cancelled | BroadcastStatus::Completed),
    })
}

/// `GET /broadcasts/{id}`: one broadcast's progress, refreshed live by `assets/app.js`.
pub(crate) async fn broadcast(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Response {
    progress_in(&viewer, &state, &raw, "broadcast.html").await
}

/// `GET /broadcasts/{id}/progress`: the progress block alone, for the live refresh.
pub(crate) async fn broadcast_progress(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Response {
    progress_in(&viewer, &state, &raw, "broadcast_progress.html").await
}

/// A broadcast's progress in `template` (the whole page or the block), for admins.
async fn progress_in(viewer: &Viewer, state: &AppState, raw: &str, template: &str) -> Response {
    if let Some(refused) = refuse_unless_admin(viewer) {
        return refused;
    }
    match progress(viewer, state, raw).await {
        Ok(page) => viewer.render(template, context! { b => page }),
        Err(e) => viewer.fail(e),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /broadcasts/{id}/{start|pause|cancel}`.
pub(crate) async fn broadcast_action(
    viewer: Viewer,
    State(state): State<AppState>,
    Path((raw, action)): Path<(String, String)>,
    axum::Form(form): axum::Form<ActionForm>,
) -> Response {
    if let Some(refused) = refuse_unless_admin(&viewer) {
        return refused;
    }
    if let Some(refused) = viewer.refuse_form(&form.csrf) {
        return refused;
    }
    let next = match action.as_str() {
        "start" => BroadcastStatus::Running,
        "pause" => BroadcastStatus::Paused,
        "cancel" => BroadcastStatus::Cancelled,
        _ => return viewer.fail(ApiError::not_found("no such action")),
    };
    let id = match broadcast_id(&raw) {
        Ok(id) => id,
        Err(e) => return viewer.fail(e),
    };
    match broadcasts::set_status(
        state.store.as_ref(),
        id,
        next,
        &viewer.caller.actor(),
        Timestamp::now(),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/broadcasts/{id}")).into_response(),
        Err(e) => viewer.fail(e),
    }
}
