-- Images (image_pool) and VM templates (template_pool).
CREATE TABLE image_pool (
  oid     integer  PRIMARY KEY,
  name    text     NOT NULL,
  body    jsonb    NOT NULL,
  uid     integer  NOT NULL,
  gid     integer  NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);
CREATE UNIQUE INDEX image_pool_name_owner ON image_pool (uid, name);

CREATE TABLE template_pool (
  oid     integer  PRIMARY KEY,
  name    text     NOT NULL,
  body    jsonb    NOT NULL,
  uid     integer  NOT NULL,
  gid     integer  NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);
CREATE UNIQUE INDEX template_pool_name_owner ON template_pool (uid, name);

-- The datastore code sums image sizes per datastore (TOTAL/FREE/USED_MB, IMAGES) from body->'datastoreId'.
CREATE INDEX image_pool_datastore ON image_pool (((body->>'datastoreId')::int));
