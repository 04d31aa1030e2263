-- Backup jobs (oned's backupjob_pool) and scheduled actions (schedaction_pool, shared by backup jobs and VMs).

CREATE TABLE backupjob_pool (
  oid          integer PRIMARY KEY,
  name         text     NOT NULL,
  body         jsonb    NOT NULL,
  uid          integer  NOT NULL,
  gid          integer  NOT NULL,
  owner_u      smallint NOT NULL,
  group_u      smallint NOT NULL,
  other_u      smallint NOT NULL,
  -- The scheduler picks jobs with outdated VMs at the highest priority (BackupJobPool::active).
  priority     integer  NOT NULL,
  outdated_vms integer  NOT NULL
);
-- Names are unique per owner (PoolObjectSQL::select_oid); the index also settles concurrent allocations.
CREATE UNIQUE INDEX backupjob_pool_name_owner ON backupjob_pool (uid, name);
CREATE INDEX backupjob_pool_active ON backupjob_pool (priority DESC, oid) WHERE outdated_vms > 0;

CREATE TABLE schedaction_pool (
  oid       integer PRIMARY KEY,
  parent_id integer NOT NULL,
  type      text    NOT NULL,   -- 'BACKUPJOB' or 'VM'
  body      jsonb   NOT NULL,
  time      bigint  NOT NULL,
  done      bigint  NOT NULL
);
CREATE INDEX schedaction_pool_parent ON schedaction_pool (type, parent_id);
-- Due actions are found by time (ScheduledActionPool::get_is_due_actions).
CREATE INDEX schedaction_pool_due ON schedaction_pool (type, time);
