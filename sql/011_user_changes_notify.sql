-- Authentication keeps users in memory, as oned's user pool does; every process sharing the database must forget
-- them when one changes. A statement on user_pool notifies after its commit (NOTIFY is transactional), by any path,
-- SQL typed by hand included.
CREATE FUNCTION notify_user_pool_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('oned_emu_users', '');
  RETURN NULL;
END $$;

CREATE TRIGGER user_pool_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_pool
  FOR EACH STATEMENT EXECUTE FUNCTION notify_user_pool_changed();
