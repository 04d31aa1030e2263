import type { BackupJob } from '../domain/backupJob.js';
import type { SchedAction } from '../domain/schedAction.js';
import type { Queryable } from './database.js';
import { schedActionFromRow, type SchedActionRow } from './schedActions.js';
import { renderBackupJob } from '../xml/backupJob.js';
import { escapeText } from '../rpc/codec.js';
import { commonBody, commonFromRow, PoolTable, type PoolRow } from './poolTable.js';
import { templateFromJson, templateToJson, type TemplateJson } from './templateJson.js';

interface BackupJobBody {
  priority: number; lastBackupTime: number; lastBackupDuration: number; schedActions: number[];
  updatedVms: number[]; outdatedVms: number[]; backingUpVms: number[]; errorVms: number[]; template: TemplateJson;
}

const sortedUnique = (ids: number[]) => [...new Set(ids)].sort((a, b) => a - b);

export const backupJobTable = new PoolTable<BackupJob>(
  'backupjob_pool',
  (j) => ({
    ...commonBody(j), priority: j.priority, lastBackupTime: j.lastBackupTime, lastBackupDuration: j.lastBackupDuration,
    schedActions: sortedUnique(j.schedActions), updatedVms: sortedUnique(j.updatedVms), outdatedVms: sortedUnique(j.outdatedVms),
    backingUpVms: sortedUnique(j.backingUpVms), errorVms: sortedUnique(j.errorVms), template: templateToJson(j.template),
  }),
  (row) => {
    const b = row.body as unknown as BackupJobBody;
    return { ...commonFromRow(row), priority: b.priority, lastBackupTime: b.lastBackupTime,
      lastBackupDuration: b.lastBackupDuration, schedActions: b.schedActions, updatedVms: b.updatedVms,
      outdatedVms: b.outdatedVms, backingUpVms: b.backingUpVms, errorVms: b.errorVms, template: templateFromJson(b.template) };
  },
  (j) => ({ priority: j.priority, outdated_vms: new Set(j.outdatedVms).size, body_wire: escapeText(renderBackupJob(j)) }),
);

/**
 * The stored documents of the jobs a pool filter lets through, in order (PoolSQL::dump), escaped for the wire:
 * each row's body_wire, rendered from its jsonb only for rows written before body_wire existed.
 */
export async function backupJobPoolBodies(q: Queryable, where: string, order: 'ASC' | 'DESC',
  page?: { offset: number; count: number }): Promise<string[]> {
  const limit = page ? ` LIMIT ${page.count} OFFSET ${page.offset}` : '';
  const { rows } = await q.query<{ body_wire: string | null; oid: number; name: string; uid: number; gid: number; body: Record<string, unknown> | null }>(
    `SELECT body_wire, oid, name, uid, gid, CASE WHEN body_wire IS NULL THEN body END AS body
     FROM backupjob_pool WHERE ${where} ORDER BY oid ${order}${limit}`);
  return rows.map((r) => r.body_wire
    ?? escapeText(renderBackupJob(backupJobTable.fromRow({ oid: r.oid, name: r.name, uid: r.uid, gid: r.gid, body: r.body! }))));
}

/** Whether a backup job with that id exists (BackupJobPool::exist). */
export async function backupJobExists(q: Queryable, id: number): Promise<boolean> {
  const { rows } = await q.query(`SELECT 1 FROM backupjob_pool WHERE oid = $1`, [id]);
  return rows.length > 0;
}

/** A job and its scheduled actions (what one.backupjob.info shows) in one read. */
export async function backupJobWithSchedActions(q: Queryable, id: number): Promise<{ job: BackupJob; schedActions: SchedAction[] } | undefined> {
  const { rows } = await q.query<PoolRow & { sched: SchedActionRow[] }>(
    `SELECT j.oid, j.name, j.uid, j.gid, j.body,
       (SELECT coalesce(json_agg(json_build_object('oid', s.oid, 'parent_id', s.parent_id, 'type', s.type, 'body', s.body,
                                                   'time', s.time, 'done', s.done) ORDER BY s.oid), '[]')
        FROM schedaction_pool s
        WHERE s.oid IN (SELECT value::int FROM jsonb_array_elements_text(j.body->'schedActions'))) AS sched
     FROM backupjob_pool j WHERE j.oid = $1`, [id]);
  if (rows.length === 0) return undefined;
  return { job: backupJobTable.fromRow(rows[0]), schedActions: rows[0].sched.map(schedActionFromRow) };
}
