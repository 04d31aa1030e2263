import type { Queryable } from './database.js';

/**
 * VMs in BACKUP (69) or BACKUP_POWEROFF (70) per host of their last history record (VirtualMachinePool::get_backup):
 * what update_backup_counters counts, whoever started the backups.
 */
export async function activeBackupsByHost(q: Queryable): Promise<Map<number, number>> {
  const { rows } = await q.query<{ hid: number | null; n: number }>(
    `SELECT (body->'history'->-1->>'hid')::int AS hid, count(*)::int AS n FROM vm_pool
     WHERE state = 3 AND lcm_state IN (69, 70) GROUP BY 1`);
  return new Map(rows.map((r) => [r.hid ?? -1, r.n]));
}

/** BackupJobPool::active: jobs with OUTDATED VMs at the single highest priority among them, by id. */
export async function topPriorityJobIds(q: Queryable): Promise<number[]> {
  const { rows } = await q.query<{ oid: number }>(
    `SELECT oid FROM backupjob_pool WHERE outdated_vms > 0
       AND priority = (SELECT max(priority) FROM backupjob_pool WHERE outdated_vms > 0) ORDER BY oid`);
  return rows.map((r) => r.oid);
}
