-- Contact ids are never reused. Without AUTOINCREMENT, SQLite hands out the largest id in use
-- plus one, so after the highest-numbered contact was erased (or merged away), the next new
-- contact took its id: an audit entry `contact:N`, a merge redirect or an API client's stored
-- id then named a different person. PostgreSQL's identity never goes back; now SQLite's does
-- not either.
--
-- SQLite cannot add AUTOINCREMENT to a table: this rebuilds `contacts` by the documented
-- procedure (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
-- Changes"). `schema::migrate` does its steps 1, 2, 10, 11 and 12: foreign keys off outside the
-- transaction, this file in one transaction, `PRAGMA foreign_key_check` before the commit,
-- foreign keys back on after it. Steps 3 to 9 are here. The tables that reference
-- `contacts(id)` keep their references by name: the new table takes the name over, and rows
-- keep their ids, so every reference holds as before.
--
-- Steps 3 and 9: what belongs to `contacts` besides its columns is the index
-- `contacts_by_owner` (0003); no trigger or view refers to it. No column was added to
-- `contacts` after 0001.

-- Step 4: the table as 0001 made it, column for column, with AUTOINCREMENT.
CREATE TABLE new_contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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

-- Step 5: every row, with its id.
INSERT INTO new_contacts (id, kind, name, country, city, language, time_zone, owner_id, team_id,
                          profile, created_at, updated_at)
SELECT id, kind, name, country, city, language, time_zone, owner_id, team_id,
       profile, created_at, updated_at
FROM contacts ORDER BY id;

-- Step 6: with foreign keys off, dropping deletes no row of any other table.
DROP TABLE contacts;

-- Step 7: the new table takes the name; `sqlite_sequence`'s row follows it.
ALTER TABLE new_contacts RENAME TO contacts;

-- Step 8: the index the drop took with it, as 0003 made it.
CREATE INDEX contacts_by_owner ON contacts(owner_id, id) WHERE owner_id IS NOT NULL;

-- The high-water mark: the largest id ever handed out, as far as the database still shows it.
-- Besides the rows: ids merged away (their rows are gone, their redirects are not) and contacts
-- the audit log names (an erased contact is audited as `contact:N`). An id that left no trace
-- at all may have been reused already and cannot be told from a new one.
DELETE FROM sqlite_sequence WHERE name = 'contacts';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'contacts', MAX(
    COALESCE((SELECT MAX(id) FROM contacts), 0),
    COALESCE((SELECT MAX(absorbed_id) FROM contact_merges), 0),
    COALESCE((SELECT MAX(into_id) FROM contact_merges), 0),
    COALESCE((SELECT MAX(CAST(substr(subject, 9) AS INTEGER)) FROM audit_log
              WHERE subject GLOB 'contact:[0-9]*'), 0)
);
