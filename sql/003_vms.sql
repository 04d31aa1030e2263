-- Virtual machines (oned's vm_pool). The body keeps the whole VM; BACKUPS/BACKUP_CONFIG lives at
-- body->'backups'->'config' as an object of string values, which backup jobs read and write.
CREATE TABLE vm_pool (
  oid       integer  PRIMARY KEY,
  name      text     NOT NULL,
  body      jsonb    NOT NULL,
  uid       integer  NOT NULL,
  gid       integer  NOT NULL,
  state     integer  NOT NULL,
  lcm_state integer  NOT NULL,
  owner_u   smallint NOT NULL,
  group_u   smallint NOT NULL,
  other_u   smallint NOT NULL
);
CREATE INDEX vm_pool_state ON vm_pool (state, lcm_state);
