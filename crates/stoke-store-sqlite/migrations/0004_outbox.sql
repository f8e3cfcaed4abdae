-- The outbound pipeline (SPEC 5.2-5.3): account pacing and leases, templates, broadcasts and the
-- outbox every outbound message is written to before it leaves.

-- Pacing overrides (JSON: per_minute, per_hour, warmup), a provider's stop, and which node
-- dispatches the account until when.
ALTER TABLE accounts ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE accounts ADD COLUMN paused_until INTEGER;
ALTER TABLE accounts ADD COLUMN pause_reason TEXT;
ALTER TABLE accounts ADD COLUMN lease_node TEXT;
ALTER TABLE accounts ADD COLUMN lease_until INTEGER;

-- A template's variants and fallbacks as one JSON document.
CREATE TABLE templates (
    name        TEXT    PRIMARY KEY,
    doc         TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    audience      TEXT    NOT NULL,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    template      TEXT,
    body          TEXT,
    not_before    INTEGER NOT NULL,
    golden_window INTEGER NOT NULL,
    ignore_quiet  INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    recipients    INTEGER NOT NULL,
    created_by    TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX broadcasts_by_created ON broadcasts(created_at);

-- One row per outbound message. A broadcast's rows take their content from the broadcast until
-- `begin_send` writes what actually left (text, media, content hash).
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    broadcast_id  INTEGER REFERENCES broadcasts(id),
    purpose       TEXT    NOT NULL,
    template      TEXT,
    body          TEXT,
    status        TEXT    NOT NULL,
    not_before    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    reason        TEXT,
    sent_text     TEXT,
    media_kind    TEXT,
    media_url     TEXT,
    content_hash  TEXT,
    node          TEXT,
    provider_id   TEXT,
    message_id    INTEGER REFERENCES messages(id),
    sent_at       INTEGER,
    updated_at    INTEGER NOT NULL
);
-- The dispatcher's question: what is due next on this account.
CREATE INDEX outbox_due ON outbox(account_id, not_before) WHERE status = 'queued';
CREATE INDEX outbox_sending ON outbox(account_id) WHERE status = 'sending';
CREATE INDEX outbox_by_broadcast ON outbox(broadcast_id, status);
-- A merge moves a contact's outbox rows (and deleting the contact checks none are left).
CREATE INDEX outbox_by_contact ON outbox(contact_id);
CREATE INDEX outbox_by_provider ON outbox(provider_id) WHERE provider_id IS NOT NULL;
-- Pacing reads an account's recent sends; the identical-content gap, a hash's latest send on
-- another account (the account in the index: a broadcast of one text on one fast account puts
-- many rows in the window, read from the index alone).
CREATE INDEX outbox_sent_by_account ON outbox(account_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_sent_by_hash ON outbox(content_hash, account_id, sent_at) WHERE sent_at IS NOT NULL;

-- Numbers a provider called invalid: cleanup candidates, skipped by later sends.
CREATE TABLE contact_flags (
    contact_id      INTEGER PRIMARY KEY REFERENCES contacts(id),
    invalid_number  TEXT    NOT NULL,
    at              INTEGER NOT NULL
);

-- The audit log (SPEC 7): who changed what, when, with the state before and after. Appended to,
-- never updated: the store has no operation that changes or deletes an entry.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    subject  TEXT    NOT NULL,
    before   TEXT,
    after    TEXT
);
