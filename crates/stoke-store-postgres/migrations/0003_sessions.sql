-- Dashboard sign-ins, shared by every node through the database: SQLite's migration 0005
-- column for column. The cookie holds a random secret; only its hash is kept, so a copy of the
-- database lets nobody in. Sessions are ephemeral: `stoke migrate` does not copy them
-- (stoke_store::copy::NOT_COPIED), users sign in again.
CREATE TABLE sessions (
    token_hash  TEXT COLLATE "C" NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    csrf_token  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (token_hash)
);
-- Ending a user's sessions (password or role change), and purging the expired ones.
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

-- Erasing a contact deletes its messages, and each deleted message is checked against the
-- outbox rows that reference it (a foreign key): without this index, one scan of the whole
-- outbox per message.
CREATE INDEX outbox_by_message ON outbox(message_id) WHERE message_id IS NOT NULL;
