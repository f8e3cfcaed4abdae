-- Change notifications: every node LISTENs on `stoke_changes` and refreshes its caches (the
-- segment index, the playbook) when another node changes what they hold, instead of polling.
-- One notification per statement, not per row; PostgreSQL folds identical notifications of one
-- transaction into one and delivers them at commit.

CREATE FUNCTION stoke_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stoke_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$;

CREATE TRIGGER tags_changed AFTER INSERT OR UPDATE OR DELETE ON tags
    FOR EACH STATEMENT EXECUTE FUNCTION stoke_notify_change('tags');

CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION stoke_notify_change('settings');
