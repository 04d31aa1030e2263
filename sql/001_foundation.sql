-- Foundation: id counters, users, groups, ACL rules, clusters and datastores of a fresh oned.
-- Every pool table keeps oned's filter columns (uid, gid, owner_u, group_u, other_u) beside the object body,
-- so pool filters are plain WHERE clauses, as in oned's PoolSQL.

-- last_oid per pool, like oned's pool_control; ids are never reused after a delete.
CREATE TABLE pool_control (
  tablename text PRIMARY KEY,
  last_oid  integer NOT NULL
);

CREATE TABLE user_pool (
  oid     integer PRIMARY KEY,
  name    text    NOT NULL,
  body    jsonb   NOT NULL,
  uid     integer NOT NULL,
  gid     integer NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);
-- User names are unique cloud-wide (and case-sensitive, as on oned's sqlite backend).
CREATE UNIQUE INDEX user_pool_name ON user_pool (name);

CREATE TABLE group_pool (
  oid     integer PRIMARY KEY,
  name    text    NOT NULL,
  body    jsonb   NOT NULL,
  uid     integer NOT NULL,
  gid     integer NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);
CREATE UNIQUE INDEX group_pool_name ON group_pool (name);

-- ACL rules with oned's 64-bit encodings (AclRule).
CREATE TABLE acl (
  oid      integer PRIMARY KEY,
  user_sel bigint NOT NULL,
  resource bigint NOT NULL,
  rights   bigint NOT NULL,
  zone     bigint NOT NULL,
  UNIQUE (user_sel, resource, rights, zone)
);

CREATE TABLE cluster_pool (
  oid     integer PRIMARY KEY,
  name    text    NOT NULL,
  body    jsonb   NOT NULL,
  uid     integer NOT NULL,
  gid     integer NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);

CREATE TABLE datastore_pool (
  oid     integer PRIMARY KEY,
  name    text    NOT NULL,
  body    jsonb   NOT NULL,
  uid     integer NOT NULL,
  gid     integer NOT NULL,
  owner_u smallint NOT NULL,
  group_u smallint NOT NULL,
  other_u smallint NOT NULL
);

-- Values generated once per cloud (ONE_KEY, serveradmin's secret) that must survive restarts.
CREATE TABLE system_attributes (
  name  text PRIMARY KEY,
  value text NOT NULL
);
