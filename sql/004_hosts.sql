-- Hosts (oned's host_pool). Hosts are owned by oneadmin; placement reads state and cluster.
CREATE TABLE host_pool (
  oid        integer  PRIMARY KEY,
  name       text     NOT NULL,
  body       jsonb    NOT NULL,
  state      integer  NOT NULL,
  cid        integer  NOT NULL,
  uid        integer  NOT NULL,
  gid        integer  NOT NULL,
  owner_u    smallint NOT NULL,
  group_u    smallint NOT NULL,
  other_u    smallint NOT NULL
);
-- Host names are unique cloud-wide.
CREATE UNIQUE INDEX host_pool_name ON host_pool (name);
-- Placement lists the monitored hosts.
CREATE INDEX host_pool_state ON host_pool (state);

-- Monitoring records of hosts (oned's host_monitoring): one.host.info shows the last one, one.host.monitoring all.
CREATE TABLE host_monitoring (
  hid           integer NOT NULL,
  last_mon_time bigint  NOT NULL,
  body          jsonb   NOT NULL,
  PRIMARY KEY (hid, last_mon_time)
);

-- Datastore names are unique cloud-wide too (DatastorePool::allocate); the index settles concurrent allocations.
CREATE UNIQUE INDEX datastore_pool_name ON datastore_pool (name);
