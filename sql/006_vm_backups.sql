-- Emulated VM backups in flight: one row per VM while it is in BACKUP / BACKUP_POWEROFF. The row is the
-- driver's state, so a backup survives a restart and completes (or fails) at its due time.
CREATE TABLE vm_backup_runs (
  vm_id       integer PRIMARY KEY,
  ds_id       integer NOT NULL,
  bj_id       integer NOT NULL,
  reset       boolean NOT NULL,
  size_mb     bigint  NOT NULL,
  started_at  bigint  NOT NULL,
  ends_at     bigint  NOT NULL,
  -- The reason it will fail (EMU_BACKUP_FAIL, backupcancel), or NULL for success.
  fail_reason text
);
CREATE INDEX vm_backup_runs_due ON vm_backup_runs (ends_at);

-- What each backup saved besides the disks: the VM's TEMPLATE and USER_TEMPLATE (oned's backups keep a vm.xml),
-- used by one.image.restore to rebuild a VM template. One row per image and increment (-1 for FULL images).
CREATE TABLE backup_vm_snapshots (
  image_id     integer NOT NULL,
  increment_id integer NOT NULL,
  vm_id        integer NOT NULL,
  template     jsonb   NOT NULL,
  user_template jsonb  NOT NULL,
  disks        jsonb   NOT NULL,
  PRIMARY KEY (image_id, increment_id)
);
