-- The engine's memory of each contact (stoke_store::codec::StateDoc) and the due-time index:
-- `wake_at` is when the contact's tags change next with no new event.
CREATE TABLE contact_states (
    contact_id  INTEGER PRIMARY KEY REFERENCES contacts(id),
    state       TEXT    NOT NULL,
    wake_at     INTEGER
);
CREATE INDEX contact_states_due ON contact_states(wake_at) WHERE wake_at IS NOT NULL;
