-- Stoke's first schema. Times are milliseconds since the Unix epoch (UTC); JSON columns hold the
-- documents of stoke_store::codec.

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    country     TEXT,
    city        TEXT,
    language    TEXT,
    time_zone   TEXT,
    owner_id    INTEGER REFERENCES users(id),
    team_id     INTEGER REFERENCES teams(id),
    profile     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- The handles contacts are de-duplicated by; one handle belongs to one contact.
CREATE TABLE contact_handles (
    kind        TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX contact_handles_by_contact ON contact_handles(contact_id);

-- Ids of contacts merged away, so that old references still resolve.
CREATE TABLE contact_merges (
    absorbed_id INTEGER PRIMARY KEY,
    into_id     INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX contact_merges_by_into ON contact_merges(into_id);

CREATE TABLE custom_fields (
    name        TEXT PRIMARY KEY,
    field_type  TEXT NOT NULL,
    choices     TEXT NOT NULL
);

CREATE TABLE teams (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL,
    email_key     TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    team_id       INTEGER REFERENCES teams(id),
    password_hash TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    user_id     INTEGER REFERENCES users(id),
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    channel     TEXT    NOT NULL,
    address     TEXT,
    created_at  INTEGER NOT NULL
);

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    contact_id      INTEGER NOT NULL REFERENCES contacts(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    channel         TEXT    NOT NULL,
    assignee_id     INTEGER REFERENCES users(id),
    last_message_at INTEGER,
    created_at      INTEGER NOT NULL,
    UNIQUE (contact_id, account_id)
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    external_id     TEXT    NOT NULL UNIQUE,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    contact_id      INTEGER NOT NULL REFERENCES contacts(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    channel         TEXT    NOT NULL,
    direction       TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    provider_id     TEXT,
    initial_status  TEXT    NOT NULL
);
CREATE INDEX messages_by_contact ON messages(contact_id, at);
CREATE INDEX messages_by_conversation ON messages(conversation_id, at);

-- Status steps after the initial one, oldest first by id.
CREATE TABLE message_statuses (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    status      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    detail      TEXT
);
CREATE INDEX message_statuses_by_message ON message_statuses(message_id);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT    NOT NULL UNIQUE,
    contact_id    INTEGER NOT NULL REFERENCES contacts(id),
    kind          TEXT    NOT NULL,
    at            INTEGER NOT NULL,
    amount_minor  INTEGER,
    currency      TEXT,
    payload       TEXT    NOT NULL
);
CREATE INDEX events_by_contact ON events(contact_id, at);

CREATE TABLE tags (
    contact_id          INTEGER NOT NULL REFERENCES contacts(id),
    family              TEXT    NOT NULL,
    value               TEXT    NOT NULL,
    colour              TEXT    NOT NULL,
    rule                TEXT    NOT NULL,
    evidence_message_id INTEGER,
    evidence_event_id   INTEGER,
    evidence_detail     TEXT    NOT NULL,
    set_at              INTEGER NOT NULL,
    PRIMARY KEY (contact_id, family, value)
) WITHOUT ROWID;
CREATE INDEX tags_by_value ON tags(family, value);

CREATE TABLE tag_changes (
    id                  INTEGER PRIMARY KEY,
    contact_id          INTEGER NOT NULL REFERENCES contacts(id),
    change              TEXT    NOT NULL,
    family              TEXT    NOT NULL,
    value               TEXT    NOT NULL,
    colour              TEXT    NOT NULL,
    rule                TEXT    NOT NULL,
    evidence_message_id INTEGER,
    evidence_event_id   INTEGER,
    evidence_detail     TEXT    NOT NULL,
    at                  INTEGER NOT NULL
);
CREATE INDEX tag_changes_by_contact ON tag_changes(contact_id, id);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    author_id   INTEGER REFERENCES users(id),
    body        TEXT    NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX notes_by_contact ON notes(contact_id, id);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    due_at      INTEGER,
    assignee_id INTEGER REFERENCES users(id),
    done_at     INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tasks_by_contact ON tasks(contact_id, id);
