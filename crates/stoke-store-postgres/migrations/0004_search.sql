-- Search (contacts by name, company, phone, e-mail; messages by their words) and workspace
-- settings: SQLite's migration 0007, column for column.
--
-- `search` holds the words a search matches, derived from the row in Rust on every write
-- (stoke_store::search::contact_search_text and message_search_text: normalised as the
-- classifier normalises, so that hamza and alef variants, Arabic diacritics, case and ё do not
-- matter; a contact's phones as every suffix of their digits). SQL cannot run that
-- normalisation; the words are the same text SQLite keeps, so `stoke migrate` carries them.
-- Rows stored before this migration are filled in by `schema::backfill_search` (Rust, in this
-- migration's transaction, after this file).
ALTER TABLE contacts ADD COLUMN search TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN search TEXT NOT NULL DEFAULT '';

-- GIN indexes over the words as lexemes, matched as prefixes (`'word':*`). The words are
-- already normalised and split, so they become lexemes as they are (`array_to_tsvector`):
-- `to_tsvector` would run them through the text-search parser again, whose idea of a letter
-- depends on the server's locale (Arabic-Indic digits, for one, are not letters to it), and
-- whose dictionaries would change them. A trigram index (pg_trgm) would find substrings
-- rather than word prefixes, and no query shorter than three characters.
CREATE INDEX contacts_search ON contacts USING gin (array_to_tsvector(string_to_array(search, ' ')));
CREATE INDEX messages_search ON messages USING gin (array_to_tsvector(string_to_array(search, ' ')));

-- A tag's contacts in id order, read from the index alone (SQLite's `tags_by_value` holds the
-- contact id too: its table has no rowid, so its indexes end with the primary key).
DROP INDEX tags_by_value;
CREATE INDEX tags_by_value ON tags(family, value, contact_id);

-- "Assigned to nobody", in id order, without reading the assigned ones.
CREATE INDEX contacts_unassigned ON contacts(id) WHERE owner_id IS NULL;

-- Workspace settings every node shares (the playbook set over the API).
CREATE TABLE settings (
    key         TEXT COLLATE "C" NOT NULL,
    value       TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);
