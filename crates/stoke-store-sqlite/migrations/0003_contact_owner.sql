-- Each agent's queue reads the contacts assigned to them.
CREATE INDEX contacts_by_owner ON contacts(owner_id, id) WHERE owner_id IS NOT NULL;
