//! Messages from live channels (the simulator, provider webhooks): stored through the engine
//! like an import, and a customer's STOP answered once (SPEC 5.3).

use std::sync::Arc;

use jiff::Timestamp;
use stoke_core::engine::Rules;
use stoke_core::{Contact, ContactRef, Direction, TagFamily};
use stoke_store::{IncomingMessage, IngestOutcome, Store, StoreResult};

use crate::dispatch::confirm_opt_out;

async fn contact_of(store: &dyn Store, reference: &ContactRef) -> StoreResult<Option<Contact>> {
    match reference {
        ContactRef::Id(id) => match store.get_contact(*id).await {
            Ok(c) => Ok(Some(c)),
            Err(stoke_store::StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        },
        ContactRef::Handle(h) => store.find_contact(h).await,
    }
}

/// Stores live inbound messages; each new opt-out (a STOP from a contact not opted out before)
/// gets one confirmation on the account it came in on.
pub async fn receive(
    store: &dyn Store,
    rules: &Arc<Rules>,
    messages: &[IncomingMessage],
    now: Timestamp,
) -> StoreResult<IngestOutcome> {
    let mut stops = Vec::new();
    for m in messages.iter().filter(|m| m.direction == Direction::In) {
        if !rules.analyzer.classify(&m.text, None).opt_out {
            continue;
        }
        let already = match contact_of(store, &m.contact).await? {
            Some(c) => store
                .list_tags(c.id)
                .await?
                .iter()
                .any(|t| t.family == TagFamily::Intent && t.rule == "opt_out"),
            None => false,
        };
        if !already
            && !stops
                .iter()
                .any(|s: &&IncomingMessage| s.contact == m.contact)
        {
            stops.push(m);
        }
    }
    let outcome = store.ingest_messages(messages, now, rules).await?;
    for m in stops {
        let (Some(contact), Ok(account)) = (
            contact_of(store, &m.contact).await?,
            store.get_account(&m.account).await,
        ) else {
            continue;
        };
        confirm_opt_out(
            store,
            &rules.playbook,
            account.id,
            &contact,
            &m.external_id,
            now,
        )
        .await?;
    }
    Ok(outcome)
}
