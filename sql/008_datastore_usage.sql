-- Megabytes of images per datastore, kept by a trigger. Every image allocation and every VM backup checks the
-- datastore's free space; summing every image of the datastore made each check O(images), and a week of emulated
-- backups O(images^2). Same rule as before: rows whose body has a numeric datastoreId count their numeric size.
CREATE TABLE datastore_usage (
  ds_id     integer PRIMARY KEY,
  images_mb numeric NOT NULL DEFAULT 0
);

CREATE FUNCTION image_usage_mb(body jsonb) RETURNS numeric LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE WHEN jsonb_typeof(body->'size') = 'number' THEN (body->>'size')::numeric ELSE 0 END $$;

CREATE FUNCTION image_pool_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Most image updates change neither: they leave the usage row unlocked.
  IF TG_OP = 'UPDATE' AND OLD.body->'datastoreId' IS NOT DISTINCT FROM NEW.body->'datastoreId'
     AND OLD.body->'size' IS NOT DISTINCT FROM NEW.body->'size' THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') AND jsonb_typeof(OLD.body->'datastoreId') = 'number' THEN
    UPDATE datastore_usage SET images_mb = images_mb - image_usage_mb(OLD.body)
    WHERE ds_id = (OLD.body->>'datastoreId')::int;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') AND jsonb_typeof(NEW.body->'datastoreId') = 'number' THEN
    INSERT INTO datastore_usage (ds_id, images_mb) VALUES ((NEW.body->>'datastoreId')::int, image_usage_mb(NEW.body))
    ON CONFLICT (ds_id) DO UPDATE SET images_mb = datastore_usage.images_mb + EXCLUDED.images_mb;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER image_pool_usage AFTER INSERT OR UPDATE OR DELETE ON image_pool
  FOR EACH ROW EXECUTE FUNCTION image_pool_usage();

INSERT INTO datastore_usage (ds_id, images_mb)
  SELECT (body->>'datastoreId')::int, sum(image_usage_mb(body)) FROM image_pool
  WHERE jsonb_typeof(body->'datastoreId') = 'number' GROUP BY 1;
