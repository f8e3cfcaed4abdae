-- Provider settings per sender account (issue 7): JSON text read by the channel's adapter, with
-- credentials sealed by the workspace key before they get here (stoke_server::secrets). Same
-- column as SQLite's 0008, so that `stoke migrate` carries it.
ALTER TABLE accounts ADD COLUMN config TEXT;
