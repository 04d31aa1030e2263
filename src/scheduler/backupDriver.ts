import { randomBytes } from 'node:crypto';
import type { App } from '../api/app.js';
import { backupImageName, flattenIncrements, imagesBeyondKeepLast, vmErrorMessage } from '../domain/backupImages.js';
import { ImageState, ImageType, newImage, type Image } from '../domain/image.js';
import { defaultPermissions } from '../domain/permissions.js';
import { Template } from '../domain/template.js';
import type { Vm } from '../domain/vm.js';
import { Lcm, VmState } from '../domain/vmState.js';
import { ctime } from '../logger.js';
import type { BackupJob } from '../domain/backupJob.js';
import type { Datastore } from '../domain/datastore.js';
import { backupJobTable } from '../store/backupJobs.js';
import { writeBehind, type Queryable } from '../store/database.js';
import { checkCapacityOf, datastoreWithUsage, imagesMbOf } from '../store/datastores.js';
import { noExists, OneError } from '../domain/errors.js';
import { deleteImages, imageTable } from '../store/images.js';
import { nextOids, returnOids } from '../store/poolControl.js';
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

export async function insertBackupRuns(tx: Queryable, runs: readonly BackupRun[]): Promise<void> {
  if (runs.length === 0) return;
  await tx.query(`INSERT INTO vm_backup_runs (vm_id, ds_id, bj_id, reset, size_mb, started_at, ends_at, fail_reason)
    SELECT vm_id, ds_id, bj_id, reset, size_mb, started_at, ends_at, fail_reason
    FROM jsonb_populate_recordset(NULL::vm_backup_runs, $1::jsonb)`,
  [JSON.stringify(runs.map((r) => ({ vm_id: r.vmId, ds_id: r.dsId, bj_id: r.bjId, reset: r.reset, size_mb: r.sizeMb,
    started_at: r.startedAt, ends_at: r.endsAt, fail_reason: r.failReason })))]);
}

export async function getBackupRun(q: Queryable, vmId: number, forUpdate = false): Promise<BackupRun | undefined> {
  const { rows } = await q.query<RunRow>(`SELECT * FROM vm_backup_runs WHERE vm_id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [vmId]);
  return rows[0] && fromRow(rows[0]);
}

/** backupcancel: the run ends now, as a failure. */
export async function cancelBackupRun(tx: Queryable, vmId: number, now: number): Promise<void> {
  await tx.query(`UPDATE vm_backup_runs SET ends_at = LEAST(ends_at, $2), fail_reason = 'backup cancelled' WHERE vm_id = $1`, [vmId, now]);
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

/**
 * Completions that share one transaction: the VMs and their jobs are locked and read once and written back in one
 * statement each, image names are looked up together, snapshots are inserted together.
 */
class Completions {
  private readonly snapshots: unknown[] = [];
  private readonly touchedJobs = new Set<number>();

  private constructor(readonly tx: Queryable, readonly app: App, readonly vms: Map<number, Vm>,
    private readonly jobs: Map<number, BackupJob>, private readonly takenNames: Map<string, number>) {}

  static async open(tx: Queryable, app: App, runs: Array<{ run: BackupRun; at: number }>): Promise<Completions> {
    const vms = await vmTable.getMany(tx, runs.map(({ run }) => run.vmId), true);
    const jobIds = [...vms.values()].map(jobIdOf).filter((id): id is number => id !== undefined);
    const jobs = await backupJobTable.getMany(tx, [...new Set(jobIds)], true);
    const owned = runs.flatMap(({ run, at }) => {
      const vm = vms.get(run.vmId);
      return vm ? [{ uid: vm.uid, name: backupImageName(run.vmId, at) }] : [];
    });
    const { rows } = await tx.query<{ oid: number; name: string; uid: number }>(
      `SELECT oid, name, uid FROM image_pool WHERE (uid, name) IN (SELECT * FROM unnest($1::int[], $2::text[]))`,
      [owned.map((o) => o.uid), owned.map((o) => o.name)]);
    return new Completions(tx, app, vms, jobs, new Map(rows.map((r) => [`${r.uid}/${r.name}`, r.oid])));
  }

  private readonly datastores = new Map<number, Datastore | undefined>();
  /** Image megabytes per datastore as the database has them (forgotten when this batch changes them there)... */
  private readonly storedMb = new Map<number, number>();
  /** ...and those of the new images this batch inserts at flush. */
  private readonly pendingMb = new Map<number, number>();
  private readonly newImages: Image[] = [];
  private reservedIds: number[] = [];

  async datastore(id: number): Promise<Datastore | undefined> {
    if (!this.datastores.has(id)) {
      const read = await datastoreWithUsage(this.tx, id);
      this.datastores.set(id, read?.ds);
      if (read) this.storedMb.set(id, read.imagesMb);
    }
    return this.datastores.get(id);
  }

  /** The datastore may have filled up while the backup ran: the same check as at launch, on today's usage. */
  async checkCapacity(dsId: number, sizeMb: number): Promise<void> {
    const ds = await this.datastore(dsId);
    if (!ds) throw noExists('DATASTORE', dsId);
    if (!this.storedMb.has(dsId)) this.storedMb.set(dsId, await imagesMbOf(this.tx, dsId));
    checkCapacityOf(ds, this.storedMb.get(dsId)! + (this.pendingMb.get(dsId) ?? 0), sizeMb, 'backup');
  }

  /** The usage of these datastores changed in the database. */
  forgetUsage(...dsIds: number[]): void { for (const id of dsIds) this.storedMb.delete(id); }

  /**
   * A new image, inserted at flush. Ids are reserved for every run that may need one in one statement; those left
   * over go back at flush (this transaction holds the counter's row, so nobody took any after them).
   */
  async addImage(image: Image, mayFollow: number): Promise<number> {
    if (this.reservedIds.length === 0) this.reservedIds = await nextOids(this.tx, 'image_pool', 1 + mayFollow);
    image.id = this.reservedIds.shift()!;
    this.newImages.push(image);
    this.pendingMb.set(image.datastoreId, (this.pendingMb.get(image.datastoreId) ?? 0) + image.size);
    return image.id;
  }

  imageNamed(name: string, uid: number): number | undefined { return this.takenNames.get(`${uid}/${name}`); }

  /** BackupJob::backup_finished for the job the VM belongs to now (read at completion), when it still exists. */
  jobFinished(vm: Vm, success: boolean, now: number): void {
    const id = jobIdOf(vm);
    const job = id === undefined ? undefined : this.jobs.get(id);
    if (!job) return;
    job.backingUpVms = job.backingUpVms.filter((v) => v !== vm.id);
    if (success) job.updatedVms = [...job.updatedVms, vm.id]; else job.errorVms = [...job.errorVms, vm.id];
    job.lastBackupDuration = now - job.lastBackupTime;
    this.touchedJobs.add(job.id);
  }

  /** The vm.xml a backup keeps beside the disks: what one.image.restore rebuilds the VM template from. */
  keepSnapshot(vm: Vm, imageId: number, incrementId: number): void {
    this.snapshots.push({ image_id: imageId, increment_id: incrementId, vm_id: vm.id, template: templateToJson(vm.template),
      user_template: templateToJson(vm.userTemplate), disks: backedUpDisks(vm) });
  }

  async flush(changedVms: Vm[]): Promise<void> {
    const { writes, flush } = writeBehind(this.tx);
    await imageTable.insertMany(writes, this.newImages);
    await returnOids(writes, 'image_pool', this.reservedIds.length);
    if (this.snapshots.length > 0) {
      await writes.query(
        `INSERT INTO backup_vm_snapshots (image_id, increment_id, vm_id, template, user_template, disks)
         SELECT image_id, increment_id, vm_id, template, user_template, disks
         FROM jsonb_populate_recordset(NULL::backup_vm_snapshots, $1::jsonb)
         ON CONFLICT (image_id, increment_id) DO UPDATE
           SET template = EXCLUDED.template, user_template = EXCLUDED.user_template, disks = EXCLUDED.disks`,
        [JSON.stringify(this.snapshots)]);
    }
    await vmTable.saveMany(writes, changedVms);
    await backupJobTable.saveMany(writes, [...this.touchedJobs].map((id) => this.jobs.get(id)!));
    await flush();
  }
}

function jobIdOf(vm: Vm): number | undefined {
  const id = Number.parseInt(vm.backups.config.BACKUP_JOB_ID ?? '', 10);
  return Number.isInteger(id) ? id : undefined;
}

/**
 * LifeCycleManager::backup_success with the emulated driver's answer: the BACKUP image (or a new increment), the
 * KEEP_LAST retention, the VM back to its state, the job told. Returns the VM log lines.
 */
async function succeed(batch: Completions, vm: Vm, run: BackupRun, now: number, laterRuns: number): Promise<string[]> {
  const { tx, app } = batch;
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
    const taken = batch.imageNamed(name, vm.uid);
    if (taken !== undefined) {
      lines.push(`backup_success, NAME is already taken by IMAGE ${taken}.`);
      return lines;
    }
    const ds = await batch.datastore(run.dsId);
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
    const imageId = await batch.addImage(image, laterRuns);
    batch.keepSnapshot(vm, imageId, increment ? 0 : -1);
    vm.backups.ids = [...vm.backups.ids, imageId];
    if (increment) { cfg.INCREMENTAL_BACKUP_ID = String(imageId); cfg.LAST_INCREMENT_ID = '0'; }
    removedImages = imagesBeyondKeepLast(vm.backups.ids, keepLast);
    if (removedImages.length > 0) {
      lines.push(`Removing backup snapshots: ${removedImages.join(', ')}`);
      batch.forgetUsage(...await deleteImages(tx, removedImages));
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
    batch.keepSnapshot(vm, chain, last + 1);
    if (keepLast > 0 && image.backupIncrements.length > keepLast) {
      lines.push(`Removing ${image.backupIncrements.length - keepLast} backup increments`);
      // The emulated flatten finishes at once, so ACTIVE_FLATTEN is never seen set.
      image.backupIncrements = flattenIncrements(image.backupIncrements, keepLast);
    }
    image.size = image.backupIncrements.reduce((s, i) => s + i.size, 0);
    await imageTable.save(tx, image);
    batch.forgetUsage(image.datastoreId);
  }
  batch.jobFinished(vm, true, now);
  lines.push('VM backup successfully created.');
  return lines;
}

/** backup_failure: the VM goes back, USER_TEMPLATE/ERROR says why, the job counts it as an error. */
function fail(batch: Completions, vm: Vm, reason: string, now: number): string[] {
  leaveBackupState(vm);
  vm.userTemplate.replace('ERROR', vmErrorMessage(ctime(now * 1000), `BACKUP: ${reason}`));
  batch.jobFinished(vm, false, now);
  return [`Error creating backup: ${reason}`];
}

/** Finishes these runs, in order, each at its own time, inside the caller's transaction. */
export async function completeBackupRuns(tx: Queryable, app: App, runs: Array<{ run: BackupRun; at: number }>): Promise<void> {
  await tx.query('DELETE FROM vm_backup_runs WHERE vm_id = ANY($1::int[])', [runs.map(({ run }) => run.vmId)]);
  await finishRuns(tx, app, runs);
}

/** completeBackupRuns for runs already taken out of vm_backup_runs. */
async function finishRuns(tx: Queryable, app: App, runs: Array<{ run: BackupRun; at: number }>): Promise<void> {
  if (runs.length === 0) return;
  const batch = await Completions.open(tx, app, runs);
  const changed: Vm[] = [];
  for (const [index, { run, at }] of runs.entries()) {
    const vm = batch.vms.get(run.vmId);
    // A VM that left BACKUP meanwhile (deleted, recovered) is not reported, as oned does not.
    if (!vm || vm.state !== VmState.ACTIVE || (vm.lcmState !== Lcm.BACKUP && vm.lcmState !== Lcm.BACKUP_POWEROFF)) continue;
    let reason = run.failReason;
    if (reason === null) {
      // The datastore may have filled up while the backup ran.
      try {
        await batch.checkCapacity(run.dsId, run.sizeMb);
      } catch (err) {
        if (!(err instanceof OneError)) throw err;
        reason = err.detail || `Error getting datastore [${run.dsId}].`;
      }
    }
    const lines = reason === null ? await succeed(batch, vm, run, at, runs.length - index - 1) : fail(batch, vm, reason, at);
    changed.push(vm);
    for (const line of lines) app.log.info('VMM', `VM ${vm.id}: ${line}`);
  }
  await batch.flush(changed);
}

/** Runs finished together in one transaction: the few a tick usually ends, without an unbounded transaction. */
const COMPLETION_BATCH = 64;

/** Completes every backup due by `now`, oldest first; several processes may run this at once. */
export async function completeDueBackups(app: App, now: number): Promise<number> {
  let done = 0;
  for (;;) {
    const finished = await app.db.transaction(async (tx) => {
      const { rows } = await tx.query<RunRow>(
        `DELETE FROM vm_backup_runs WHERE vm_id IN (SELECT vm_id FROM vm_backup_runs WHERE ends_at <= $1
           ORDER BY ends_at, vm_id LIMIT ${COMPLETION_BATCH} FOR UPDATE SKIP LOCKED) RETURNING *`, [now]);
      const runs = rows.map(fromRow).sort((a, b) => a.endsAt - b.endsAt || a.vmId - b.vmId);
      await finishRuns(tx, app, runs.map((run) => ({ run, at: Math.max(run.endsAt, run.startedAt) })));
      return rows.length;
    });
    done += finished;
    if (finished < COMPLETION_BATCH) return done;
  }
}
