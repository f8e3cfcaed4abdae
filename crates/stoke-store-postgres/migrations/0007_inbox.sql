-- The inbox reads conversations newest message first (Store::inbox).
CREATE INDEX conversations_by_last_message ON conversations(last_message_at, id)
    WHERE last_message_at IS NOT NULL;
