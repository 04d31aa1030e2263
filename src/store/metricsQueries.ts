import type { Queryable } from './database.js';

/**
 * What the cloud-wide metrics read at scrape time. They read the shared database, not process state, so every
 * replica reports the same numbers.
 */

/** A backup job as the metrics show it: its priority, its last run and the size of each of its four VM sets. */
export interface BackupJobFigures {
  id: number; name: string; priority: number; lastBackupTime: number; lastBackupDuration: number;
  outdated: number; backingUp: number; updated: number; error: number;
}

export async function backupJobFigures(q: Queryable): Promise<BackupJobFigures[]> {
  const { rows } = await q.query<{ oid: number; name: string; priority: number; last_time: number; last_duration: number;
    outdated: number; backing_up: number; updated: number; error: number }>(
    `SELECT oid, name, priority,
            COALESCE((body->>'lastBackupTime')::bigint, 0) AS last_time,
            COALESCE((body->>'lastBackupDuration')::bigint, 0) AS last_duration,
            COALESCE(jsonb_array_length(body->'outdatedVms'), 0) AS outdated,
            COALESCE(jsonb_array_length(body->'backingUpVms'), 0) AS backing_up,
            COALESCE(jsonb_array_length(body->'updatedVms'), 0) AS updated,
            COALESCE(jsonb_array_length(body->'errorVms'), 0) AS error
     FROM backupjob_pool ORDER BY oid`);
  return rows.map((r) => ({ id: r.oid, name: r.name, priority: r.priority, lastBackupTime: r.last_time,
    lastBackupDuration: r.last_duration, outdated: r.outdated, backingUp: r.backing_up, updated: r.updated, error: r.error }));
}

/**
 * The traces a VM's backups leave, for VMs not DONE that have one: when its newest surviving BACKUP image (or
 * increment) was made, and its USER_TEMPLATE/ERROR when a backup failure wrote it ("<ctime>: BACKUP: <reason>").
 */
export interface VmBackupTraces { vmId: number; vmName: string; lastSuccessAt: number | null; backupError: string | null }

export async function vmBackupTraces(q: Queryable): Promise<VmBackupTraces[]> {
  const { rows } = await q.query<{ oid: number; name: string; success_at: number | null; backup_error: string | null }>(
    `WITH successes AS (
       SELECT (i.body->'vms'->>0)::int AS vm_id,
              max(GREATEST((i.body->>'regtime')::bigint,
                  (SELECT max((inc->>'date')::bigint) FROM jsonb_array_elements(i.body->'backupIncrements') inc))) AS at
       FROM image_pool i
       WHERE (i.body->>'type')::int = 6 AND jsonb_array_length(i.body->'vms') > 0
       GROUP BY 1
     ), failures AS (
       SELECT v.oid AS vm_id, attr->>1 AS error
       FROM vm_pool v, jsonb_array_elements(v.body->'userTemplate') attr
       WHERE v.state <> 6 AND v.body->'userTemplate' @> '[["ERROR"]]'
         AND attr->>0 = 'ERROR' AND attr->>1 LIKE '%: BACKUP: %'
     )
     SELECT v.oid, v.name, s.at AS success_at, f.error AS backup_error
     FROM vm_pool v LEFT JOIN successes s ON s.vm_id = v.oid LEFT JOIN failures f ON f.vm_id = v.oid
     WHERE v.state <> 6 AND (s.at IS NOT NULL OR f.error IS NOT NULL)
     ORDER BY v.oid`);
  return rows.map((r) => ({ vmId: r.oid, vmName: r.name, lastSuccessAt: r.success_at, backupError: r.backup_error }));
}
