import type { Queryable } from './database.js';

/** What a backup job needs to know of a VM: whether it exists and its BACKUPS/BACKUP_CONFIG. */
export interface VmBackupLink { vmId: number; config: Record<string, string> }

/** The VM's backup configuration, row-locked for the rest of the transaction; undefined when there is no such VM. */
export async function lockVmBackupConfig(tx: Queryable, vmId: number): Promise<VmBackupLink | undefined> {
  if (!Number.isInteger(vmId) || vmId < 0 || vmId > 2 ** 31 - 1) return undefined;
  const { rows } = await tx.query<{ config: Record<string, string> | null }>(
    `SELECT body->'backups'->'config' AS config FROM vm_pool WHERE oid = $1 FOR UPDATE`, [vmId]);
  if (rows.length === 0) return undefined;
  return { vmId, config: rows[0].config ?? {} };
}

export async function saveVmBackupConfig(tx: Queryable, link: VmBackupLink): Promise<void> {
  await tx.query(
    `UPDATE vm_pool SET body = body || jsonb_build_object('backups',
       COALESCE(body->'backups', '{}'::jsonb) || jsonb_build_object('config', $2::jsonb)) WHERE oid = $1`,
    [link.vmId, JSON.stringify(link.config)]);
}

/** The job a VM belongs to (BACKUP_CONFIG/BACKUP_JOB_ID), -1 when none. */
export const backupJobOf = (link: VmBackupLink) => {
  const id = link.config.BACKUP_JOB_ID;
  return id === undefined || id === '' ? -1 : Number.parseInt(id, 10);
};
