import type { BackupJob } from '../domain/backupJob.js';
import { backupJobTable } from './backupJobs.js';
import type { Queryable } from './database.js';
import type { PoolRow } from './poolTable.js';

/**
 * VMs in BACKUP (69) or BACKUP_POWEROFF (70) per host of their last history record (VirtualMachinePool::get_backup):
 * what update_backup_counters counts, whoever started the backups.
 */
export async function activeBackupsByHost(q: Queryable): Promise<Map<number, number>> {
  const { rows } = await q.query<{ hid: number | null; n: number }>(
    `SELECT (body->'history'->-1->>'hid')::int AS hid, count(*)::int AS n FROM vm_pool
     WHERE state = 3 AND lcm_state IN (69, 70) GROUP BY 1`, []);
  return new Map(rows.map((r) => [r.hid ?? -1, r.n]));
}

/**
 * BackupJobPool::active, a page at a time: jobs with OUTDATED VMs at the single highest priority among them, by id,
 * after `after` (the previous page's priority and last id; the first page finds the priority).
 */
export async function topPriorityJobs(q: Queryable, after: { priority: number; id: number } | undefined, limit: number):
  Promise<{ jobs: BackupJob[]; priority: number | undefined }> {
  const { rows } = await q.query<PoolRow & { priority: number }>(after
    ? `SELECT oid, name, uid, gid, body, priority FROM backupjob_pool WHERE outdated_vms > 0 AND priority = $1 AND oid > $2
       ORDER BY oid LIMIT $3`
    : `SELECT oid, name, uid, gid, body, priority FROM backupjob_pool WHERE outdated_vms > 0
         AND priority = (SELECT max(priority) FROM backupjob_pool WHERE outdated_vms > 0) ORDER BY oid LIMIT $1`,
  after ? [after.priority, after.id, limit] : [limit]);
  return { jobs: rows.map((r) => backupJobTable.fromRow(r)), priority: rows[0]?.priority ?? after?.priority };
}

/**
 * When the next tick can do something: the earliest scheduled action still to run (TIME > DONE) and backup end, whether any VM
 * waits for placement and whether a job has OUTDATED VMs and a backup slot is free. Lets a simulation skip ticks
 * that would do nothing.
 */
export async function schedulerOutlook(q: Queryable, maxBackups: number):
  Promise<{ nextActionTime: number | undefined; nextBackupEnd: number | undefined; busy: boolean }> {
  const { rows } = await q.query<{ next: number | string | null; ends: number | string | null; pending: boolean; outdated: boolean; active: number }>(
    `SELECT (SELECT min(time) FROM schedaction_pool WHERE time > done) AS next,
            (SELECT min(ends_at) FROM vm_backup_runs) AS ends,
            EXISTS (SELECT 1 FROM vm_pool WHERE state = 1) AS pending,
            EXISTS (SELECT 1 FROM backupjob_pool WHERE outdated_vms > 0) AS outdated,
            (SELECT count(*)::int FROM vm_pool WHERE state = 3 AND lcm_state IN (69, 70)) AS active`, []);
  const r = rows[0];
  // OUTDATED VMs wait for a free slot: with all MAX_BACKUPS taken only a completion can change anything.
  const canLaunch = r.outdated && (maxBackups === 0 || r.active < maxBackups);
  return { nextActionTime: r.next === null ? undefined : Number(r.next), nextBackupEnd: r.ends === null ? undefined : Number(r.ends),
    busy: r.pending || canLaunch };
}
