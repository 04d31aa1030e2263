import { Op, type AuthItem } from '../domain/authorization.js';
import { actionError, internalError, noExists } from '../domain/errors.js';
import { objectAuth } from '../domain/poolObject.js';
import { DatastoreType } from '../domain/image.js';
import type { Datastore } from '../domain/datastore.js';
import type { Vm } from '../domain/vm.js';
import { closeCopyHistory, SCHEDULER_ACTOR, type Actor } from '../domain/vmLifecycle.js';
import { Lcm, stateName, VmAction, VmState } from '../domain/vmState.js';
import { nowSeconds } from '../clock.js';
import type { RpcValue } from '../rpc/values.js';
import { backedUpDisks, backupDuration, cancelBackupRun, completeBackupRuns, getBackupRun, insertBackupRun, type BackupRun } from '../scheduler/backupDriver.js';
import { checkCapacityOf, datastoreWithUsage } from '../store/datastores.js';
import { imageTable } from '../store/images.js';
import { vmTable } from '../store/vms.js';
import type { Queryable } from '../store/database.js';
import type { ApiMethod, App, Request } from './app.js';
import { requireAuthorization } from './authorize.js';
import { lockedObject } from './shared.js';
import { vmKind } from './vm.js';

const int = (v: RpcValue) => v as number;

/** Who starts a backup: a caller (checked for ADMIN on the VM and USE on the datastore), or the scheduler as oneadmin
 *  for a backup job (its id) or a VM scheduled action (job id -1). */
export type BackupRequester = { req: Request } | { jobId: number };

/** Where and how much a backup will write, decided before the VM is locked. */
export interface BackupPlan { dsId: number; ds: Datastore; sizeMb: number }

/** Datastores and their usage read once per caller: a scheduler tick plans many backups to the same one, and
 *  starting a backup changes no datastore's usage. */
export interface DatastoreCache { datastores: Map<number, Datastore | undefined>; imagesMb: Map<number, number> }

export const newDatastoreCache = (): DatastoreCache => ({ datastores: new Map(), imagesMb: new Map() });

/**
 * The checks oned makes before it locks the VM (VirtualMachineAPI::backup), in its order: FILESYSTEM disks, the
 * datastore (the increment chain's, when an increment follows), its type and free space. Throws the OneError.
 */
export async function planVmBackup(q: Queryable, vm: Vm, dsIdParam: number, reset: boolean, cache = newDatastoreCache()): Promise<BackupPlan> {
  const cfg = vm.backups.config;
  if (vm.template.getVectors('DISK').some((d) => (d.get('TYPE') ?? '').toUpperCase() === 'FILESYSTEM')) {
    throw actionError('Cannot backup VM with FILESYSTEM disks');
  }
  let dsId = dsIdParam;
  if (cfg.MODE === 'INCREMENT' && !reset && Number(cfg.LAST_INCREMENT_ID ?? -1) !== -1) {
    const chain = Number(cfg.INCREMENTAL_BACKUP_ID ?? -1);
    const image = await imageTable.get(q, chain);
    if (!image) throw noExists('IMAGE', chain);
    dsId = image.datastoreId;
  }
  if (dsId >= 0 && !cache.datastores.has(dsId)) {
    const read = await datastoreWithUsage(q, dsId);
    cache.datastores.set(dsId, read?.ds);
    if (read) cache.imagesMb.set(dsId, read.imagesMb);
  }
  const ds = dsId >= 0 ? cache.datastores.get(dsId) : undefined;
  if (!ds) throw noExists('DATASTORE', dsId);
  if (ds.type !== DatastoreType.BACKUP_DS) throw actionError('Datastore needs to be of type BACKUP');
  const sizeMb = backedUpDisks(vm).reduce((s, d) => s + d.size, 0);
  checkCapacityOf(ds, cache.imagesMb.get(dsId)!, sizeMb, 'backup');
  return { dsId, ds, sizeMb };
}

/**
 * DispatchManager::backup on the locked VM: the checks made under the lock, then the VM enters BACKUP /
 * BACKUP_POWEROFF. Returns the emulated transfer to record; throws the OneError.
 */
export function enterBackup(app: App, vm: Vm, plan: BackupPlan, bjId: number, reset: boolean, actor: Actor, now: number): BackupRun {
  const c = vm.backups.config;
  if ((c.ACTIVE_FLATTEN ?? '').toUpperCase() === 'YES') {
    throw internalError(`Could not create a new backup for VM ${vm.id}, consolidating backup increments`);
  }
  const running = vm.state === VmState.ACTIVE && vm.lcmState === Lcm.RUNNING;
  if (!running && vm.state !== VmState.POWEROFF) {
    throw internalError(`Could not create a new backup for VM ${vm.id}, wrong state ${stateName(vm.state, vm.lcmState)}.`);
  }
  c.LAST_DATASTORE_ID = String(plan.dsId);
  if (reset) { c.LAST_INCREMENT_ID = '-1'; c.INCREMENTAL_BACKUP_ID = '-1'; }
  closeCopyHistory(vm, VmAction.BACKUP, actor, now);
  vm.state = VmState.ACTIVE;
  vm.lcmState = running ? Lcm.BACKUP : Lcm.BACKUP_POWEROFF;
  const failReason = vm.userTemplate.get('EMU_BACKUP_FAIL') ?? vm.template.get('EMU_BACKUP_FAIL') ?? null;
  return { vmId: vm.id, dsId: plan.dsId, bjId, reset, sizeMb: plan.sizeMb, startedAt: now,
    endsAt: now + backupDuration(vm, plan.sizeMb, app.config.EMU_BACKUP_MBPS), failReason };
}

/**
 * VirtualMachineAPI::backup + DispatchManager::backup (scheduler.md §4.3), checks in oned's order; on success the
 * VM is in BACKUP / BACKUP_POWEROFF and an emulated transfer runs until its due time.
 */
export async function startVmBackup(app: App, who: BackupRequester, vmId: number, dsIdParam: number, reset: boolean,
  /** Runs in the transaction that starts the backup, so the caller's bookkeeping commits with it or not at all. */
  afterStart?: (tx: Queryable) => Promise<void>): Promise<void> {
  const db = app.db;
  const bjId = 'jobId' in who ? who.jobId : -1;
  const vm = await vmTable.get(db, vmId);
  if (!vm) throw noExists('VM', vmId);
  if (bjId === -1 && vm.backups.config.BACKUP_JOB_ID !== undefined) {
    // oned 7.4 prints the call's job id here (-1), not the VM's.
    throw internalError('Unable to start an individual backup for the Virtual Machine, it is part of Backup Job ID -1');
  }
  const plan = await planVmBackup(db, vm, dsIdParam, reset);
  if ('req' in who) {
    const items: AuthItem[] = [
      { op: Op.ADMIN, object: objectAuth('VM', vm) },
      { op: Op.USE, object: objectAuth('DATASTORE', plan.ds) },
    ];
    await requireAuthorization(who.req, items);
  }
  const now = nowSeconds(app.clock);
  const actor = 'req' in who ? { uid: who.req.caller.uid, gid: who.req.caller.gid, reqId: who.req.reqId } : SCHEDULER_ACTOR;
  await db.transaction(async (tx) => {
    const current = await lockedObject(tx, vmKind, vmId);
    await insertBackupRun(tx, enterBackup(app, current, plan, bjId, reset, actor, now));
    await vmTable.save(tx, current);
    await afterStart?.(tx);
  });
}

const backup: ApiMethod = {
  name: 'one.vm.backup', signature: 'A:siib', required: 2, object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    await startVmBackup(req.app, { req }, id, p.length > 2 ? int(p[2]) : -1, p.length > 3 ? (p[3] as boolean) : false);
    return id;
  },
};

/** backup_cancel: the emulated transfer stops now and the backup fails (the job, if any, records an error). */
export async function cancelVmBackup(app: App, vmId: number): Promise<boolean> {
  return app.db.transaction(async (tx) => {
    const vm = await vmTable.get(tx, vmId, true);
    if (!vm || vm.state !== VmState.ACTIVE || (vm.lcmState !== Lcm.BACKUP && vm.lcmState !== Lcm.BACKUP_POWEROFF)) return false;
    const now = nowSeconds(app.clock);
    await cancelBackupRun(tx, vmId, now);
    const run = await getBackupRun(tx, vmId, true);
    if (run) await completeBackupRuns(tx, app, [{ run, at: now }]);
    return true;
  });
}

const backupcancel: ApiMethod = {
  name: 'one.vm.backupcancel', signature: 'A:si', object: 'VM',
  async run(req, p) {
    const id = int(p[1]);
    const vm = await vmTable.get(req.app.db, id);
    if (!vm) throw noExists('VM', id);
    await requireAuthorization(req, [{ op: Op.ADMIN, object: objectAuth('VM', vm) }]);
    if (!(await cancelVmBackup(req.app, id))) throw internalError(`Could not cancel backup for VM ${id}, no backup in progress`);
    return id;
  },
};

export const vmBackupMethods: ApiMethod[] = [backup, backupcancel];
