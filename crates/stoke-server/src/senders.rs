//! Sender accounts, message templates and one-to-one sends, changed the same way from the CLI
//! (`stoke account`, `stoke template`) and the API: the same checks, the same audit entries.
//! A send is never made here: it is queued in the outbox, and the account's dispatcher paces it,
//! checks consent and quiet hours, and records the result (SPEC 5.2).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use stoke_core::outbox::Purpose;
use stoke_core::pacing::{AccountLimits, Pacing};
use stoke_core::playbook::Playbook;
use stoke_core::template::{ApprovedTemplate, MediaKind, Template, Variant};
use stoke_core::{Account, AccountDraft, Channel, ContactId, Language};
use stoke_store::outbox::{Content, OutboxDraft, OutboxId};
use stoke_store::{Store, StoreError};
use utoipa::ToSchema;

use crate::audit::record;
use crate::error::{ErrorBody, Refusal, refused};
use crate::{ApiError, AppState, Caller, contact_id};

/// An account's limits as the audit log and the API show them.
/// An account's effective pacing: `[pacing]`, its kind's limits profile (a WhatsApp Cloud API
/// number's own limits and messaging tier), then its own overrides. The dispatcher, the API
/// and the CLI all read it here.
pub fn pacing_of(playbook: &stoke_core::playbook::Playbook, account: &Account) -> Pacing {
    Pacing::for_kind(
        playbook,
        stoke_core::pacing::AccountKind::of(account),
        crate::whatsapp::WhatsAppSettings::tier_of(account).as_deref(),
        &account.limits,
    )
}

pub fn limits_json(l: &AccountLimits) -> serde_json::Value {
    serde_json::json!({"per_minute": l.per_minute, "per_hour": l.per_hour, "warmup": l.warmup})
}

fn check_limits(l: &AccountLimits) -> Result<(), Refusal> {
    if l.per_minute == Some(0) {
        return Err(refused("per_minute", "must be at least 1"));
    }
    if l.per_hour == Some(0) {
        return Err(refused("per_hour", "must be at least 1"));
    }
    Ok(())
}

/// Creates a sender account; returns it with the playbook's warning when its pace risks a ban.
pub async fn create_account(
    store: &dyn Store,
    playbook: &Playbook,
    draft: &AccountDraft,
    actor: &str,
    now: Timestamp,
) -> Result<(Account, Option<String>), Refusal> {
    let name = draft.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(refused(
            "name",
            "an account needs a name of 1 to 100 characters",
        ));
    }
    check_limits(&draft.limits)?;
    let draft = AccountDraft {
        name: name.to_owned(),
        ..draft.clone()
    };
    let account = store.create_account(&draft, now).await?;
    record(
        store,
        actor,
        "account.create",
        format!("account:{}", account.name),
        None,
        Some(serde_json::json!({
            "channel": account.channel.as_str(),
            "address": account.address,
            "limits": limits_json(&account.limits),
        })),
        now,
    )
    .await?;
    let warning = pacing_of(playbook, &account).risk_warning(playbook);
    Ok((account, warning))
}

/// Changes an account's limits: the values given replace the account's, the others stay.
pub async fn change_limits(
    store: &dyn Store,
    playbook: &Playbook,
    name: &str,
    change: &AccountLimits,
    actor: &str,
    now: Timestamp,
) -> Result<(Account, Option<String>), Refusal> {
    check_limits(change)?;
    let current = store.get_account(name).await?;
    let limits = AccountLimits {
        per_minute: change.per_minute.or(current.limits.per_minute),
        per_hour: change.per_hour.or(current.limits.per_hour),
        warmup: change.warmup.or(current.limits.warmup),
    };
    let account = store.set_account_limits(name, &limits).await?;
    record(
        store,
        actor,
        "account.limits",
        format!("account:{}", account.name),
        Some(limits_json(&current.limits)),
        Some(limits_json(&account.limits)),
        now,
    )
    .await?;
    let warning = pacing_of(playbook, &account).risk_warning(playbook);
    Ok((account, warning))
}

/// Adds (or replaces) one language's variant of a template, creating the template when new, and
/// merges the fallbacks given into the template's.
pub async fn put_variant(
    store: &dyn Store,
    name: &str,
    variant: Variant,
    fallbacks: BTreeMap<String, String>,
    actor: &str,
    now: Timestamp,
) -> Result<Template, Refusal> {
    let (mut variants, mut all_fallbacks) = match store.get_template(name).await {
        Ok(t) => (t.variants().to_vec(), t.fallbacks().clone()),
        Err(StoreError::NotFound { .. }) => (Vec::new(), BTreeMap::new()),
        Err(e) => return Err(e.into()),
    };
    variants.retain(|v| v.language != variant.language);
    variants.push(variant);
    all_fallbacks.extend(fallbacks);
    let template = Template::new(name, variants, all_fallbacks).map_err(|e| {
        // The approved WhatsApp template's parts are fields of their own in the request.
        let field = if e.field.ends_with(".whatsapp.name") {
            "whatsapp_template"
        } else if e.field.ends_with(".whatsapp.language") {
            "whatsapp_language"
        } else if e.field.contains(".whatsapp.parameters") {
            "whatsapp_parameters"
        } else {
            "text"
        };
        refused(field, format!("template {name:?}: {e}"))
    })?;
    store.put_template(&template, now).await?;
    record(
        store,
        actor,
        "template.put",
        format!("template:{}", template.name()),
        None,
        Some(template_json(&template)),
        now,
    )
    .await?;
    Ok(template)
}

/// A template as the API and the audit log show it.
pub fn template_json(t: &Template) -> serde_json::Value {
    serde_json::json!({
        "name": t.name(),
        "variants": t.variants().iter().map(|v| serde_json::json!({
            "language": v.language.as_ref().map(|l| l.as_str()),
            "kind": v.kind.as_str(),
            "body": v.body,
            "media_url": v.media_url,
            "whatsapp_template": v.whatsapp.as_ref().map(|a| &a.name),
            "whatsapp_language": v.whatsapp.as_ref().map(|a| &a.language),
            "whatsapp_parameters": v.whatsapp.as_ref().map(|a| &a.parameters),
        })).collect::<Vec<_>>(),
        "fallbacks": t.fallbacks(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AccountDto {
    id: i64,
    name: String,
    channel: &'static str,
    address: Option<String>,
    created_at: String,
    /// The account's own limits (absent: the playbook's).
    #[schema(value_type = Object)]
    limits: serde_json::Value,
    /// The pace in force: its kind's profile (`personal`, `cloud_api`), gaps in seconds, per
    /// second, minute and hour, warm-up per day, the messaging tier's unique contacts a day.
    #[schema(value_type = Object)]
    pacing: serde_json::Value,
    paused_until: Option<String>,
    pause_reason: Option<String>,
    /// Set when the pace risks the number being banned.
    warning: Option<String>,
}

impl AccountDto {
    fn new(a: &Account, playbook: &Playbook) -> Self {
        let pacing = pacing_of(playbook, a);
        Self {
            id: a.id.get(),
            name: a.name.clone(),
            channel: a.channel.as_str(),
            address: a.address.clone(),
            created_at: a.created_at.to_string(),
            limits: limits_json(&a.limits),
            pacing: serde_json::json!({
                "min_gap_s": pacing.min_gap.as_secs_f64(),
                "max_gap_s": pacing.max_gap.as_secs_f64(),
                "kind": pacing.kind.as_str(),
                "per_second": pacing.per_second,
                "per_minute": pacing.per_minute,
                "per_hour": pacing.per_hour,
                "warmup_per_day": pacing.warmup_per_day,
                "unique_per_day": pacing.unique_per_day,
            }),
            paused_until: a.paused_until.map(|t| t.to_string()),
            pause_reason: a.pause_reason.clone(),
            warning: pacing.risk_warning(playbook),
        }
    }
}

/// `GET /api/v1/accounts` (admins).
#[utoipa::path(get, path = "/accounts", tag = "senders",
    responses((status = 200, body = Vec<AccountDto>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_accounts(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<AccountDto>>, ApiError> {
    caller.require_admin()?;
    let rules = state.rules.get();
    Ok(Json(
        state
            .store
            .list_accounts()
            .await?
            .iter()
            .map(|a| AccountDto::new(a, &rules.playbook))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccountInput {
    name: String,
    /// `whatsapp`, `email`, `sms`, `simulator`, ...
    channel: String,
    /// The sending number (E.164), address or URL.
    address: Option<String>,
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    /// `false` for an established number: no warm-up cap.
    warmup: Option<bool>,
}

/// `POST /api/v1/accounts` (admins).
#[utoipa::path(post, path = "/accounts", tag = "senders", request_body = AccountInput,
    responses((status = 201, body = AccountDto), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn create_account_handler(
    caller: Caller,
    State(state): State<AppState>,
    input: Result<Json<AccountInput>, JsonRejection>,
) -> Result<(StatusCode, Json<AccountDto>), ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let channel = input
        .channel
        .parse::<Channel>()
        .map_err(|e| ApiError::invalid("channel", e.to_string()))?;
    let rules = state.rules.get();
    let (account, _) = create_account(
        state.store.as_ref(),
        &rules.playbook,
        &AccountDraft {
            name: input.name,
            channel,
            address: input.address.filter(|a| !a.trim().is_empty()),
            limits: AccountLimits {
                per_minute: input.per_minute,
                per_hour: input.per_hour,
                warmup: input.warmup,
            },
        },
        &caller.actor(),
        Timestamp::now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountDto::new(&account, &rules.playbook)),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsInput {
    per_minute: Option<u32>,
    per_hour: Option<u32>,
    warmup: Option<bool>,
}

/// `PATCH /api/v1/accounts/{name}` (admins): the limits given change, the others stay.
#[utoipa::path(patch, path = "/accounts/{name}", tag = "senders", request_body = LimitsInput,
    params(("name" = String, Path, description = "the account's name")),
    responses((status = 200, body = AccountDto), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn change_account_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(name): Path<String>,
    input: Result<Json<LimitsInput>, JsonRejection>,
) -> Result<Json<AccountDto>, ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let rules = state.rules.get();
    let (account, _) = change_limits(
        state.store.as_ref(),
        &rules.playbook,
        &name,
        &AccountLimits {
            per_minute: input.per_minute,
            per_hour: input.per_hour,
            warmup: input.warmup,
        },
        &caller.actor(),
        Timestamp::now(),
    )
    .await?;
    Ok(Json(AccountDto::new(&account, &rules.playbook)))
}

/// `GET /api/v1/templates` (admins).
#[utoipa::path(get, path = "/templates", tag = "senders",
    responses((status = 200, body = Vec<Object>), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn list_templates(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require_admin()?;
    Ok(Json(
        state
            .store
            .list_templates()
            .await?
            .iter()
            .map(template_json)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewParams {
    /// Render the template for this contact (their language, their fields).
    #[param(value_type = Option<i64>)]
    contact: Option<String>,
}

/// `GET /api/v1/templates/{name}` (admins), rendered for one contact with `?contact=ID`.
#[utoipa::path(get, path = "/templates/{name}", tag = "senders", params(("name" = String, Path, description = "the template's name"), PreviewParams),
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn show_template(
    caller: Caller,
    State(state): State<AppState>,
    Path(name): Path<String>,
    query: Result<Query<PreviewParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let Query(params) = query.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let template = state.store.get_template(&name).await?;
    let mut shown = template_json(&template);
    if let Some(raw) = params.contact {
        let contact = state.store.get_contact(contact_id(&raw)?).await?;
        let rules = state.rules.get();
        let rendered = template
            .render(&contact, &rules.playbook.default_language)
            .map_err(|e| ApiError::invalid("contact", e.to_string()))?;
        shown["rendered"] = serde_json::json!({
            "contact": contact.id.get(),
            "language": rendered.language.as_ref().map(|l| l.as_str()),
            "kind": rendered.kind.as_str(),
            "text": rendered.text,
            "media_url": rendered.media_url,
        });
    }
    Ok(Json(shown))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VariantInput {
    /// `ar`, `ru`, `en`, ...; absent: the default variant.
    language: Option<String>,
    /// `text`, `image`, `video`, `document`, `audio`.
    #[serde(default)]
    kind: Option<String>,
    /// The body, with `{{ name }}`-style variables.
    text: String,
    /// Required for media kinds: an http(s) URL.
    media_url: Option<String>,
    /// Values for variables a contact lacks.
    #[serde(default)]
    fallbacks: BTreeMap<String, String>,
    /// The name of the Meta-approved WhatsApp template this variant goes out as outside the
    /// 24-hour customer service window (`order_update`).
    #[serde(default)]
    whatsapp_template: Option<String>,
    /// The approved template's language code in WhatsApp Manager (`ar`, `en_US`, `ru`);
    /// required with `whatsapp_template`.
    #[serde(default)]
    whatsapp_language: Option<String>,
    /// The variables that fill the approved template's `{{1}}`, `{{2}}`, ... in order
    /// (`["first_name", "order_id"]`).
    #[serde(default)]
    whatsapp_parameters: Vec<String>,
}

/// A variant's approved WhatsApp template from its three fields, all or none.
pub fn approved_template(
    name: Option<String>,
    language: Option<String>,
    parameters: Vec<String>,
) -> Result<Option<ApprovedTemplate>, (&'static str, String)> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let language = language
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty());
    match (name, language) {
        (Some(name), Some(language)) => Ok(Some(ApprovedTemplate {
            name,
            language,
            parameters: parameters
                .into_iter()
                .map(|p| p.trim().to_owned())
                .collect(),
        })),
        (Some(_), None) => Err((
            "whatsapp_language",
            "the approved template's language code (ar, en_US, ru) is required with its name"
                .into(),
        )),
        (None, Some(_)) => Err((
            "whatsapp_template",
            "the approved template's name is required with its language".into(),
        )),
        (None, None) if !parameters.is_empty() => Err((
            "whatsapp_template",
            "parameters without an approved template's name".into(),
        )),
        (None, None) => Ok(None),
    }
}

/// `PUT /api/v1/templates/{name}` (admins): adds or replaces one language's variant.
#[utoipa::path(put, path = "/templates/{name}", tag = "senders", request_body = VariantInput,
    params(("name" = String, Path, description = "the template's name")),
    responses((status = 200, body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn put_template_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(name): Path<String>,
    input: Result<Json<VariantInput>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require_admin()?;
    let Json(input) = input?;
    let language = input
        .language
        .as_deref()
        .map(Language::parse)
        .transpose()
        .map_err(|e| ApiError::invalid("language", e.to_string()))?;
    let kind: MediaKind = input.kind.as_deref().unwrap_or("text").parse().map_err(
        |e: stoke_core::template::TemplateError| ApiError::invalid("kind", e.to_string()),
    )?;
    let whatsapp = approved_template(
        input.whatsapp_template,
        input.whatsapp_language,
        input.whatsapp_parameters,
    )
    .map_err(|(field, message)| ApiError::invalid(field, message))?;
    let template = put_variant(
        state.store.as_ref(),
        name.trim(),
        Variant {
            language,
            kind,
            body: input.text,
            media_url: input.media_url,
            whatsapp,
        },
        input.fallbacks,
        &caller.actor(),
        Timestamp::now(),
    )
    .await?;
    Ok(Json(template_json(&template)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendInput {
    /// The sender account's name.
    account: String,
    /// Free text, or
    text: Option<String>,
    /// a template's name (rendered in the contact's language).
    template: Option<String>,
    /// The caller's idempotency key: the same key twice queues one message.
    key: Option<String>,
}

/// The longest free-text message: WhatsApp's limit for a text body.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;

/// `POST /api/v1/contacts/{id}/messages`: queues a message to one contact on an account, as a
/// service message (an answer, a follow-up): the account's dispatcher sends it at its pace,
/// after the consent and quiet-hours checks, and it then appears in the contact's messages.
#[utoipa::path(post, path = "/contacts/{id}/messages", tag = "contacts", request_body = SendInput,
    params(("id" = i64, Path, description = "a contact id")),
    responses((status = 202, description = "queued", body = Object), (status = "4XX", body = ErrorBody)))]
pub(crate) async fn send_handler(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    input: Result<Json<SendInput>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let id = contact_id(&id)?;
    let Json(input) = input?;
    let content = match (&input.text, &input.template) {
        (Some(text), None) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(ApiError::invalid(
                    "text",
                    format!("a message holds 1 to {MAX_TEXT_CHARS} characters"),
                ));
            }
            stoke_core::template::check_text(text)
                .map_err(|e| ApiError::invalid("text", e.to_string()))?;
            Content::Text(text.to_owned())
        }
        (None, Some(name)) => {
            state.store.get_template(name).await.map_err(|e| match e {
                StoreError::NotFound { .. } => {
                    ApiError::invalid("template", format!("no template is named {name:?}"))
                }
                e => e.into(),
            })?;
            Content::Template(name.clone())
        }
        _ => {
            return Err(ApiError::invalid(
                "text",
                "give either text or template, not both",
            ));
        }
    };
    let key = match input.key.as_deref().map(str::trim) {
        Some("") => return Err(ApiError::invalid("key", "is empty: leave it out")),
        Some(k) if k.chars().count() > 200 => {
            return Err(ApiError::invalid("key", "holds at most 200 characters"));
        }
        Some(k) => format!("api:{k}"),
        None => crate::auth::new_secret("api:").map_err(|e| {
            tracing::error!(%e, "no randomness for an outbox key");
            ApiError::unavailable("cannot queue the message now; try again")
        })?,
    };
    let queued = queue_message(&state, &caller, id, &input.account, content, key.clone()).await?;
    let account = queued.1;
    let queued = queued.0;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({
            "outbox": queued,
            "key": key,
            "account": account,
            "status": "queued",
        })),
    ))
}

/// Queues one message to a contact the caller sees, through an account, with its audit entry:
/// the API's send and the dashboard's reply alike. Gives the outbox id and the account's name.
pub(crate) async fn queue_message(
    state: &AppState,
    caller: &Caller,
    id: ContactId,
    account: &str,
    content: Content,
    key: String,
) -> Result<(OutboxId, String), ApiError> {
    let contact = state.store.get_contact_in(caller.scope, id).await?.id;
    let account = state
        .store
        .get_account(account.trim())
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => {
                ApiError::invalid("account", format!("no account is named {account:?}"))
            }
            e => e.into(),
        })?;
    let now = Timestamp::now();
    let queued = state
        .store
        .enqueue(
            &OutboxDraft {
                key,
                account: account.id,
                contact,
                purpose: Purpose::Service,
                content,
                not_before: now,
            },
            now,
        )
        .await?;
    record(
        state.store.as_ref(),
        &caller.actor(),
        "message.queue",
        format!("contact:{contact}"),
        None,
        Some(serde_json::json!({ "account": account.name, "outbox": queued })),
        now,
    )
    .await?;
    Ok((queued, account.name))
}
