import { randomBytes } from 'node:crypto';
import type { App } from '../api/app.js';
import { backupImageName, flattenIncrements, imagesBeyondKeepLast, vmErrorMessage } from '../domain/backupImages.js';
import { ImageState, ImageType, newImage, type Image } from '../domain/image.js';
import { defaultPermissions } from '../domain/permissions.js';
import { Template } from '../domain/template.js';
import type { Vm } from '../domain/vm.js';
import { Lcm, VmState } from '../domain/vmState.js';
import { ctime } from '../logger.js';
import { backupJobTable } from '../store/backupJobs.js';
import type { Queryable } from '../store/database.js';
import { checkDatastoreCapacity, datastoreTable } from '../store/datastores.js';
import { OneError } from '../domain/errors.js';
import { allocateImageRow, imageByNameAndOwner, imageTable } from '../store/images.js';
import { vmTable } from '../store/vms.js';
import { templateToJson } from '../store/templateJson.js';

/** An emulated backup in flight (vm_backup_runs). Times are emulated epoch seconds. */
export interface BackupRun {
  vmId: number; dsId: number; bjId: number; reset: boolean; sizeMb: number; startedAt: number; endsAt: number;
  failReason: string | null;
}

interface RunRow { vm_id: number; ds_id: number; bj_id: number; reset: boolean; size_mb: number | string; started_at: number | string; ends_at: number | string; fail_reason: string | null }
const fromRow = (r: RunRow): BackupRun => ({ vmId: r.vm_id, dsId: r.ds_id, bjId: r.bj_id, reset: r.reset, sizeMb: Number(r.size_mb),
  startedAt: Number(r.started_at), endsAt: Number(r.ends_at), failReason: r.fail_reason });

export async function insertBackupRun(tx: Queryable, run: BackupRun): Promise<void> {
  await tx.query(`INSERT INTO vm_backup_runs (vm_id, ds_id, bj_id, reset, size_mb, started_at, ends_at, fail_reason)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [run.vmId, run.dsId, run.bjId, run.reset, run.sizeMb, run.startedAt, run.endsAt, run.failReason]);
}

export async function getBackupRun(q: Queryable, vmId: number, forUpdate = false): Promise<BackupRun | undefined> {
  const { rows } = await q.query<RunRow>(`SELECT * FROM vm_backup_runs WHERE vm_id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [vmId]);
  return rows[0] && fromRow(rows[0]);
}

/** backupcancel: the run ends now, as a failure. */
export async function cancelBackupRun(tx: Queryable, vmId: number, now: number): Promise<void> {
  await tx.query(`UPDATE vm_backup_runs SET ends_at = LEAST(ends_at, $2), fail_reason = 'backup cancelled' WHERE vm_id = $1`, [vmId, now]);
}

/** The earliest due time of a running backup, for timers that sleep until then. */
export async function nextBackupDue(q: Queryable): Promise<number | undefined> {
  const { rows } = await q.query<{ t: number | string | null }>(`SELECT min(ends_at) AS t FROM vm_backup_runs`);
  return rows[0].t === null ? undefined : Number(rows[0].t);
}

/** Disks a backup copies (Backups/VirtualMachineDisk::backup_size): DISK_IDS when set, volatile ones only with BACKUP_VOLATILE. */
export function backedUpDisks(vm: Vm): Array<{ id: number; size: number }> {
  const selected = vm.backups.config.DISK_IDS ? new Set(vm.backups.config.DISK_IDS.split(',').map(Number)) : undefined;
  const volatile = (vm.backups.config.BACKUP_VOLATILE ?? '').toUpperCase() === 'YES';
  return vm.template.getVectors('DISK')
    .map((d) => ({ id: Number(d.get('DISK_ID') ?? -1), size: Number(d.get('SIZE') ?? 0) || 0, type: (d.get('TYPE') ?? '').toUpperCase() }))
    .filter((d) => d.type !== 'SWAP' && d.type !== 'FILESYSTEM' && (d.type !== 'FS' || volatile) && (!selected || selected.has(d.id)))
    .map(({ id, size }) => ({ id, size }));
}

/** How long the emulated transfer takes: EMU_BACKUP_SECONDS of the VM, else size / EMU_BACKUP_MBPS. */
export function backupDuration(vm: Vm, sizeMb: number, mbps: number): number {
  const given = vm.userTemplate.get('EMU_BACKUP_SECONDS') ?? vm.template.get('EMU_BACKUP_SECONDS');
  if (given !== undefined && Number.isFinite(Number(given)) && Number(given) >= 0) return Math.round(Number(given));
  return Math.max(1, Math.ceil(sizeMb / mbps));
}

const LAST_KEYS = ['LAST_DATASTORE_ID', 'LAST_BRIDGE', 'LAST_BACKUP_ID', 'LAST_BACKUP_SIZE', 'LAST_BACKUP_FORMAT'];

/** Back to where the backup started from (LifeCycleManager backup_success/failure). */
function leaveBackupState(vm: Vm): void {
  if (vm.lcmState === Lcm.BACKUP_POWEROFF) { vm.state = VmState.POWEROFF; vm.lcmState = 0; } else { vm.lcmState = Lcm.RUNNING; }
  for (const k of LAST_KEYS) delete vm.backups.config[k];
}

/** BackupJob::backup_finished for the job the VM belongs to now (read at completion), when it still exists. */
async function notifyJob(tx: Queryable, vm: Vm, success: boolean, now: number): Promise<void> {
  const id = Number.parseInt(vm.backups.config.BACKUP_JOB_ID ?? '', 10);
  if (!Number.isInteger(id)) return;
  const job = await backupJobTable.get(tx, id, true);
  if (!job) return;
  job.backingUpVms = job.backingUpVms.filter((v) => v !== vm.id);
  if (success) job.updatedVms = [...job.updatedVms, vm.id]; else job.errorVms = [...job.errorVms, vm.id];
  job.lastBackupDuration = now - job.lastBackupTime;
  await backupJobTable.save(tx, job);
}

/**
 * LifeCycleManager::backup_success with the emulated driver's answer: the BACKUP image (or a new increment), the
 * KEEP_LAST retention, the VM back to its state, the job told. Returns the VM log lines.
 */
async function succeed(tx: Queryable, app: App, vm: Vm, run: BackupRun, now: number): Promise<string[]> {
  const lines: string[] = [];
  const cfg = vm.backups.config;
  leaveBackupState(vm);
  const increment = cfg.MODE === 'INCREMENT';
  const chain = Number(cfg.INCREMENTAL_BACKUP_ID ?? -1);
  const keepLast = Number(cfg.KEEP_LAST ?? 0) || 0;
  const source = randomBytes(4).toString('hex');
  let removedImages: number[] = [];
  if (!increment || chain === -1) {
    const name = backupImageName(vm.id, now);
    const taken = await imageByNameAndOwner(tx, name, vm.uid);
    if (taken) {
      lines.push(`backup_success, NAME is already taken by IMAGE ${taken.id}.`);
      return lines;
    }
    const ds = await datastoreTable.get(tx, run.dsId);
    const image: Image = newImage({ uid: vm.uid, gid: vm.gid, uname: vm.uname, gname: vm.gname, now,
      permissions: defaultPermissions(vm.uid, vm.gid, 0o177, app.config.ENABLE_OTHER_PERMISSIONS) });
    image.name = name;
    image.type = ImageType.BACKUP;
    image.persistent = 1;
    image.state = ImageState.READY;
    image.source = source;
    image.size = run.sizeMb;
    image.format = 'raw';
    image.datastoreId = run.dsId;
    image.datastore = ds?.name ?? '';
    image.vms = [vm.id];
    image.runningVms = 1;
    image.backupDiskIds = backedUpDisks(vm).map((d) => d.id);
    const template = new Template();
    if (cfg.BACKUP_JOB_ID !== undefined) template.set('BACKUP_JOB_ID', cfg.BACKUP_JOB_ID);
    if (cfg.DISK_IDS) template.set('BACKUP_SELECTED_DISKS', 'YES');
    image.template = template;
    if (increment) image.backupIncrements = [{ id: 0, parentId: -1, type: 'FULL', date: now, size: run.sizeMb, source }];
    const imageId = await allocateImageRow(tx, image);
    await saveBackupSnapshot(tx, vm, imageId, increment ? 0 : -1);
    vm.backups.ids = [...vm.backups.ids, imageId];
    if (increment) { cfg.INCREMENTAL_BACKUP_ID = String(imageId); cfg.LAST_INCREMENT_ID = '0'; }
    removedImages = imagesBeyondKeepLast(vm.backups.ids, keepLast);
    if (removedImages.length > 0) {
      lines.push(`Removing backup snapshots: ${removedImages.join(', ')}`);
      for (const id of removedImages) await imageTable.delete(tx, id);
      vm.backups.ids = vm.backups.ids.filter((id) => !removedImages.includes(id));
    }
  } else {
    const image = await imageTable.get(tx, chain, true);
    if (!image) {
      lines.push(`backup_success, Error getting image [${chain}].`);
      return lines;
    }
    const last = image.backupIncrements.reduce((m, i) => Math.max(m, i.id), -1);
    image.backupIncrements = [...image.backupIncrements, { id: last + 1, parentId: last, type: 'INCREMENT', date: now, size: run.sizeMb, source }];
    cfg.LAST_INCREMENT_ID = String(last + 1);
    await saveBackupSnapshot(tx, vm, chain, last + 1);
    if (keepLast > 0 && image.backupIncrements.length > keepLast) {
      lines.push(`Removing ${image.backupIncrements.length - keepLast} backup increments`);
      // The emulated flatten finishes at once, so ACTIVE_FLATTEN is never seen set.
      image.backupIncrements = flattenIncrements(image.backupIncrements, keepLast);
    }
    image.size = image.backupIncrements.reduce((s, i) => s + i.size, 0);
    await imageTable.save(tx, image);
  }
  await notifyJob(tx, vm, true, now);
  lines.push('VM backup successfully created.');
  return lines;
}

/** The vm.xml a backup keeps beside the disks: what one.image.restore rebuilds the VM template from. */
async function saveBackupSnapshot(tx: Queryable, vm: Vm, imageId: number, incrementId: number): Promise<void> {
  const disks = backedUpDisks(vm);
  await tx.query(
    `INSERT INTO backup_vm_snapshots (image_id, increment_id, vm_id, template, user_template, disks) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (image_id, increment_id) DO UPDATE SET template = EXCLUDED.template, user_template = EXCLUDED.user_template, disks = EXCLUDED.disks`,
    [imageId, incrementId, vm.id, JSON.stringify(templateToJson(vm.template)), JSON.stringify(templateToJson(vm.userTemplate)), JSON.stringify(disks)]);
}

/** backup_failure: the VM goes back, USER_TEMPLATE/ERROR says why, the job counts it as an error. */
async function fail(tx: Queryable, vm: Vm, reason: string, now: number): Promise<string[]> {
  leaveBackupState(vm);
  vm.userTemplate.replace('ERROR', vmErrorMessage(ctime(now * 1000), `BACKUP: ${reason}`));
  await notifyJob(tx, vm, false, now);
  return [`Error creating backup: ${reason}`];
}

/** Finishes one due backup inside the caller's transaction. */
export async function completeBackupRun(tx: Queryable, app: App, run: BackupRun, now: number): Promise<void> {
  await tx.query('DELETE FROM vm_backup_runs WHERE vm_id = $1', [run.vmId]);
  const vm = await vmTable.get(tx, run.vmId, true);
  // A VM that left BACKUP meanwhile (deleted, recovered) is not reported, as oned does not.
  if (!vm || vm.state !== VmState.ACTIVE || (vm.lcmState !== Lcm.BACKUP && vm.lcmState !== Lcm.BACKUP_POWEROFF)) return;
  let reason = run.failReason;
  if (reason === null) {
    // The datastore may have filled up while the backup ran.
    try {
      await checkDatastoreCapacity(tx, run.dsId, run.sizeMb, 'backup');
    } catch (err) {
      if (!(err instanceof OneError)) throw err;
      reason = err.detail || `Error getting datastore [${run.dsId}].`;
    }
  }
  const lines = reason === null ? await succeed(tx, app, vm, run, now) : await fail(tx, vm, reason, now);
  await vmTable.save(tx, vm);
  for (const line of lines) app.log.info('VMM', `VM ${vm.id}: ${line}`);
}

/** Completes every backup due by `now`, oldest first; several processes may run this at once. */
export async function completeDueBackups(app: App, now: number): Promise<number> {
  let done = 0;
  for (;;) {
    const finished = await app.db.transaction(async (tx) => {
      const { rows } = await tx.query<RunRow>(
        `SELECT * FROM vm_backup_runs WHERE ends_at <= $1 ORDER BY ends_at, vm_id LIMIT 1 FOR UPDATE SKIP LOCKED`, [now]);
      if (rows.length === 0) return false;
      const run = fromRow(rows[0]);
      await completeBackupRun(tx, app, run, Math.max(run.endsAt, run.startedAt));
      return true;
    });
    if (!finished) return done;
    done++;
  }
}
