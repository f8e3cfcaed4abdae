-- Search (contacts by name, company, phone, e-mail; messages by their words) and workspace
-- settings.
--
-- `search` holds the words a search matches, derived from the row in Rust on every write
-- (stoke_store::search::contact_search_text and message_search_text: normalised as the
-- classifier normalises, so that hamza and alef variants, Arabic diacritics, case and ё do not
-- matter; a contact's phones as every suffix of their digits, so that digits match anywhere in
-- a number). SQL cannot run that normalisation, and PostgreSQL keeps the same columns, so that
-- `stoke migrate` carries them. Rows stored before this migration are filled in by
-- `search::backfill` (Rust, in this migration's transaction, after this file), and indexed.
ALTER TABLE contacts ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN search TEXT NOT NULL DEFAULT '';

-- The full-text indexes: FTS5 over the `search` columns, external content (the words are not
-- stored a second time). `search` is already words separated by spaces, so the `ascii`
-- tokenizer (which splits on ASCII punctuation and spaces only, keeps every other character and
-- folds nothing but ASCII case) gives back exactly those words. `detail=none` keeps only which
-- rows hold a word, not where: searches are words as prefixes, never phrases, so positions
-- would only cost space and time at every insert; `columnsize=0`: nothing ranks by length.
-- `prefix='1 2'` keeps a list of the rows for every first one and two characters of a word:
-- without it FTS5 answers a prefix by merging the lists of every word that starts with it, which
-- for the first letters typed in a search box is most of the index (with 10 million messages,
-- `ال` took 0.6 s and `th` 0.15 s; one digit of a phone 0.3 s among a million contacts). It
-- cost 2.5% of ingest speed and 1.5 MB per 100,000 messages.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
    search, content = 'contacts', content_rowid = 'id',
    tokenize = 'ascii', detail = 'none', columnsize = 0, prefix = '1 2'
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    search, content = 'messages', content_rowid = 'id',
    tokenize = 'ascii', detail = 'none', columnsize = 0, prefix = '1 2'
);

-- Kept in step in two ways. FTS5 writes the words it holds in memory to disk at every statement
-- that opens a savepoint once the index is part of the transaction, which is nearly every
-- statement of an ingest: triggers writing the index row by row made one tiny segment per
-- message and halved ingest speed (and a trigger per inserted message, even one that only
-- notes the row, took ingest from 56,000 to 49,000 messages/s). So:
-- * `messages::ingest_messages`, the one place messages are inserted, indexes the batch's new
--   messages itself, in one statement at its end (a message inserted by hand is not indexed);
-- * every other change (contacts written, any row deleted, `search` rewritten) is noted by the
--   triggers below in `search_pending`, with the words the index held for the row (none for a
--   new row), and `search::sync` brings the indexes up to date from that list in a few
--   statements at the end of every write transaction (`SqliteStore::write`), and empties it.
-- The indexes hold exactly the rows whose `search` is not empty.
CREATE TABLE search_pending (
    seq     INTEGER PRIMARY KEY,
    -- 'contacts' or 'messages'
    tbl     TEXT    NOT NULL,
    id      INTEGER NOT NULL,
    -- The words the index held for the row before this change; NULL for a new row.
    old     TEXT
);

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts WHEN new.search <> '' BEGIN
    INSERT INTO search_pending (tbl, id, old) VALUES ('contacts', new.id, NULL);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts WHEN old.search <> '' BEGIN
    INSERT INTO search_pending (tbl, id, old) VALUES ('contacts', old.id, old.search);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search ON contacts
WHEN old.search IS NOT new.search BEGIN
    INSERT INTO search_pending (tbl, id, old) VALUES ('contacts', old.id, old.search);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages WHEN old.search <> '' BEGIN
    INSERT INTO search_pending (tbl, id, old) VALUES ('messages', old.id, old.search);
END;
CREATE TRIGGER messages_search_update AFTER UPDATE OF search ON messages
WHEN old.search IS NOT new.search BEGIN
    INSERT INTO search_pending (tbl, id, old) VALUES ('messages', old.id, old.search);
END;

-- "Assigned to nobody", in id order, without reading the assigned ones.
CREATE INDEX contacts_unassigned ON contacts(id) WHERE owner_id IS NULL;

-- Workspace settings every process shares (the playbook set over the API).
CREATE TABLE settings (
    key         TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
