//! Read marks: when an agent opens a conversation, the customer's latest WhatsApp message is
//! marked read on WhatsApp (the blue ticks), once. Customers see that someone looked, and the
//! mark is recorded on the message's status timeline so that the next opening sends nothing.
//!
//! The dashboard asks for it in the background (`mark_read_soon`): an unreachable Graph API
//! never fails a page, it is logged.

use std::sync::Arc;

use jiff::Timestamp;
use stoke_core::conversation::{Direction, MessageStatus, StatusChange};
use stoke_core::engine::Rules;
use stoke_core::{Channel, ContactId};
use stoke_store::{PageRequest, Scope, Store, StoreError};

use super::WhatsAppSettings;
use super::send::WhatsAppCloud;
use crate::AppState;
use crate::channel::AccountSettings;
use crate::channel::Refused;
use crate::secrets::WorkspaceKey;

/// The detail recorded with the read status, which also says it was sent.
const MARKED: &str = "marked read on WhatsApp";

/// Why a read mark was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("account {account:?}: {reason}")]
    Settings { account: String, reason: String },
    #[error("the workspace key is not loaded on this node: WhatsApp credentials cannot be opened")]
    NoKey,
    #[error("the Graph API refused the read mark: {}", .0.detail)]
    Refused(Refused),
}

/// Marks the contact's latest inbound WhatsApp message read on WhatsApp, unless it already
/// is. Returns its wamid when a mark was sent. Without the workspace key, a contact with
/// nothing to mark is still answered.
pub async fn mark_read(
    store: &dyn Store,
    key: Option<&WorkspaceKey>,
    rules: &Arc<Rules>,
    contact: ContactId,
    now: Timestamp,
) -> Result<Option<String>, ReadError> {
    let mut latest = None;
    let mut after = None;
    loop {
        let page = store
            .list_messages(
                contact,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        if let Some(m) = page.items.into_iter().rev().find(|m| {
            m.direction == Direction::In
                && m.channel == Channel::WhatsApp
                && m.provider_id.is_some()
        }) {
            latest = Some(m);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    let Some(message) = latest else {
        return Ok(None);
    };
    if message
        .statuses
        .iter()
        .any(|s| s.status == MessageStatus::Read)
    {
        return Ok(None);
    }
    let Some(account) = store
        .list_accounts()
        .await?
        .into_iter()
        .find(|a| a.id == message.account)
    else {
        return Ok(None);
    };
    let key = key.ok_or(ReadError::NoKey)?;
    let settings = WhatsAppSettings::of(&account, key).map_err(|e| ReadError::Settings {
        account: account.name.clone(),
        reason: e.to_string(),
    })?;
    let wamid = message.provider_id.clone().unwrap_or_default();
    let cloud = WhatsAppCloud::new(key.clone()).map_err(|e| ReadError::Settings {
        account: account.name.clone(),
        reason: e.to_string(),
    })?;
    cloud
        .mark_read(&settings, &wamid)
        .await
        .map_err(ReadError::Refused)?;
    store
        .add_message_status(
            message.id,
            &StatusChange {
                status: MessageStatus::Read,
                at: now,
                detail: Some(MARKED.to_owned()),
            },
            rules,
        )
        .await?;
    Ok(Some(wamid))
}

/// Marks the contact (`id` as the caller wrote it, resolved in `scope`) read in the
/// background: for a page that must not wait for, or fail with, the Graph API.
pub fn mark_read_soon(state: &AppState, scope: Scope, id: &str) {
    let key = state.key.clone();
    let Ok(id) = crate::contact_id(id) else {
        return;
    };
    let store = state.store.clone();
    let rules = state.rules.get();
    tokio::spawn(async move {
        let contact = match store.get_contact_in(scope, id).await {
            Ok(c) => c.id,
            Err(_) => return,
        };
        let key = key.as_deref();
        if let Err(e) = mark_read(store.as_ref(), key, &rules, contact, Timestamp::now()).await {
            tracing::warn!(contact = %contact, error = %e, "WhatsApp read mark not sent");
        }
    });
}
