import type { Queryable } from './database.js';

/** An emulated backup in flight (a vm_backup_runs row) with what a viewer needs of its VM. Times are emulated epoch s. */
export interface RunningBackup {
  vmId: number; vmName: string; hostId: number; jobId: number; datastoreId: number; sizeMb: number;
  startedAt: number; endsAt: number;
}

/** Every backup in flight, oldest first. */
export async function runningBackups(q: Queryable): Promise<RunningBackup[]> {
  const { rows } = await q.query<{ vm_id: number; name: string | null; hid: number | null; bj_id: number; ds_id: number;
    size_mb: number; started_at: number; ends_at: number }>(
    `SELECT r.vm_id, v.name, (v.body->'history'->-1->>'hid')::int AS hid, r.bj_id, r.ds_id, r.size_mb, r.started_at, r.ends_at
     FROM vm_backup_runs r LEFT JOIN vm_pool v ON v.oid = r.vm_id
     ORDER BY r.started_at, r.vm_id`);
  return rows.map((r) => ({ vmId: r.vm_id, vmName: r.name ?? '', hostId: r.hid ?? -1, jobId: r.bj_id, datastoreId: r.ds_id,
    sizeMb: r.size_mb, startedAt: r.started_at, endsAt: r.ends_at }));
}
