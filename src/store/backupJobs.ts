import type { BackupJob } from '../domain/backupJob.js';
import type { Queryable } from './database.js';
import { renderBackupJob } from '../xml/backupJob.js';
import { escapeText } from '../rpc/codec.js';
import { commonBody, commonFromRow, PoolTable } from './poolTable.js';
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
